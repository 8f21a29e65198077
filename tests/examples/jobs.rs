//! Figures for the two background jobs, on `hdoc-local` as a developer runs it
//! (embedded DynamoDB engine on a SQLite file in a temporary data dir):
//!
//! - deleting a user who owns 1,000 things (400 articles, 300 reviews, 300
//!   ratings, sharing tags and subjects with another user), from the
//!   `DELETE /users/{id}` request to the end of the purge;
//! - one reconcile run over a table of about 10,000 items.
//!
//! `cargo run -p hdoc-tests --example jobs` (add `--release` for an optimized
//! build). It prints figures and checks the results; it times nothing in tests.

use futures_util::stream::{self, StreamExt, TryStreamExt};
use hdoc_local::{Options, Running, jwt};
use hdoc_shared::domain::{
    NewArticle, NewReview, NewUser, Slug, Stars, Subject, Timestamp, UserId,
};
use hdoc_shared::http::extract::parse_json;
use hdoc_shared::store::StoreError;
use hdoc_shared::{Config, Repository};
use std::time::{Duration, Instant};

async fn start(dir: &std::path::Path) -> Running {
    let config = Config::from_lookup(|_| None);
    hdoc_local::start(Options {
        addr: "127.0.0.1:0".parse().expect("address"),
        data_dir: Some(dir.to_owned()),
        dynamodb_endpoint: None,
        engines: None,
        config,
        jwt_secret: jwt::DEFAULT_SECRET.to_owned(),
    })
    .await
    .expect("hdoc-local starts")
}

async fn user(repo: &Repository, sub: &str, id: &str) -> Result<UserId, StoreError> {
    let body = format!(r#"{{"githubProfile":"{id}","name":"{id}"}}"#);
    let new = parse_json::<NewUser>(body.as_bytes()).expect("valid user");
    Ok(repo
        .create_user(sub, new.into_user(Timestamp::now()), None)
        .await?
        .id)
}

async fn articles(
    repo: &Repository,
    author: &UserId,
    n: usize,
    tags: usize,
) -> Result<(), StoreError> {
    for i in 0..n {
        let body = format!(
            r#"{{"title":"{} {i}","subtitle":"d","body":"b","tags":["t{}","t{}"]}}"#,
            author.as_str(),
            i % tags,
            (i + 1) % tags
        );
        let new = parse_json::<NewArticle>(body.as_bytes()).expect("valid article");
        let slug = Slug::from_title(new.title.as_str());
        repo.create_article(
            new.into_article(slug, author.clone(), Timestamp::now()),
            None,
        )
        .await?;
    }
    Ok(())
}

async fn reviews(
    repo: &Repository,
    author: &UserId,
    n: usize,
    subjects: usize,
) -> Result<(), StoreError> {
    stream::iter(0..n)
        .map(Ok)
        .try_for_each_concurrent(8, |i| async move {
            let body = format!(
                r#"{{"subject":"park:p{}","title":"t","body":"b"}}"#,
                i % subjects
            );
            let new = parse_json::<NewReview>(body.as_bytes()).expect("valid review");
            repo.create_review(new.into_review(author.clone(), Timestamp::now()), None)
                .await
                .map(|_| ())
        })
        .await
}

async fn ratings(repo: &Repository, sub: &str, n: usize) -> Result<(), StoreError> {
    stream::iter(0..n)
        .map(Ok)
        .try_for_each_concurrent(8, |i| async move {
            let subject = Subject::parse(&format!("park:p{i}")).expect("subject");
            let stars = Stars::try_from((i % 5 + 1) as u8).expect("stars");
            repo.rate(&subject, sub, stars).await
        })
        .await
}

/// Waits for `hdoc-local`'s purger to finish every pending deletion.
async fn purged(repo: &Repository) -> Result<(), StoreError> {
    while !repo.pending_purges(1).await?.is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

async fn deletion(dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let running = start(dir).await;
    let repo = running.state.repo.clone();
    let alice = user(&repo, "sub-alice", "alice").await?;
    let bob = user(&repo, "sub-bob", "bob").await?;
    let seeding = Instant::now();
    articles(&repo, &alice, 400, 20).await?;
    articles(&repo, &bob, 50, 20).await?;
    reviews(&repo, &alice, 300, 50).await?;
    reviews(&repo, &bob, 50, 50).await?;
    ratings(&repo, "sub-alice", 300).await?;
    ratings(&repo, "sub-bob", 100).await?;
    println!(
        "seeded alice's 1,000 things (and bob's 200) in {:.1?}",
        seeding.elapsed()
    );

    let client = reqwest::Client::new();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let now = i64::try_from(now.as_secs())?;
    let token = jwt::mint(jwt::DEFAULT_SECRET, "sub-alice", &[], now);
    let started = Instant::now();
    let response = client
        .delete(format!("http://{}/users/alice", running.addr))
        .bearer_auth(token)
        .send()
        .await?;
    assert_eq!(response.status(), 204);
    let answered = started.elapsed();
    purged(&repo).await?;
    let total = started.elapsed();
    println!(
        "DELETE /users/alice answered 204 in {answered:.1?}; everything alice owned was purged after {total:.1?} \
         (its last pass starts at least {:?} after the deletion)",
        hdoc_shared::jobs::SETTLE
    );
    let run = hdoc_local::reconcile_now(&running.state)
        .await?
        .expect("a run");
    assert_eq!(run.repairs.total(), 0, "drift after the deletion: {run:?}");
    println!(
        "reconcile after the deletion: {} items, no drift",
        run.scanned
    );
    running.shutdown().await;
    Ok(())
}

async fn reconcile(dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let running = start(dir).await;
    let repo = running.state.repo.clone();
    let seeding = Instant::now();
    let mut authors = Vec::new();
    for i in 0..20 {
        authors.push(user(&repo, &format!("sub-{i}"), &format!("user{i}")).await?);
    }
    // 1,000 articles with 2 tags: 7,000 items (article, 6 list entries), plus counts.
    stream::iter(&authors)
        .map(Ok)
        .try_for_each_concurrent(4, |author| articles(&repo, author, 50, 40))
        .await?;
    // 2,000 ratings over 400 subjects, 250 reviews: about 3,000 items more.
    stream::iter(0..5)
        .map(Ok)
        .try_for_each_concurrent(5, |i| {
            let repo = &repo;
            async move { ratings(repo, &format!("sub-{i}"), 400).await }
        })
        .await?;
    reviews(&repo, &authors[0], 250, 100).await?;
    println!("seeded in {:.1?}", seeding.elapsed());

    let started = Instant::now();
    let run = hdoc_local::reconcile_now(&running.state)
        .await?
        .expect("a run");
    let took = started.elapsed();
    assert_eq!(run.repairs.total(), 0, "{run:?}");
    println!(
        "reconcile: {} items scanned, {} aggregates recounted, {} repaired, in {took:.1?} ({:.0} items/s)",
        run.scanned,
        run.checked,
        run.repairs.total(),
        run.scanned as f64 / took.as_secs_f64()
    );
    running.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::env::temp_dir().join(format!("hdoc-jobs-{}", uuid::Uuid::new_v4().simple()));
    let result = async {
        deletion(&root.join("deletion")).await?;
        reconcile(&root.join("reconcile")).await
    }
    .await;
    let _ = std::fs::remove_dir_all(&root);
    result
}
