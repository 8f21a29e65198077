//! Deleting a user: the profile goes at once, everything the user owned
//! follows (the purge), and every aggregate stays exact throughout.

use futures_util::future::join_all;
use hdoc_shared::domain::UserId;
use hdoc_shared::jobs::{self, Ended};
use hdoc_shared::store::StoreError;
use hdoc_tests::{TestApp, json_of, problem};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    json_of(
        app.send_json(Method::POST, path, Some(token), &body).await,
        201,
    )
    .await
}

async fn rate(app: &TestApp, token: &str, subject: &str, stars: u8) {
    let path = format!("/ratings/{subject}");
    let body = json!({"stars": stars});
    json_of(
        app.send_json(Method::PUT, &path, Some(token), &body).await,
        200,
    )
    .await;
}

async fn article(app: &TestApp, token: &str, title: &str, tags: &[&str]) {
    let body = json!({"title": title, "subtitle": "d", "body": "b", "tags": tags});
    post(app, token, "/articles", body).await;
}

async fn review(app: &TestApp, token: &str, subject: &str) -> String {
    let body = json!({"subject": subject, "title": "t", "body": "b"});
    let created = post(app, token, "/reviews", body).await;
    format!("/reviews/{}", created["id"].as_str().expect("id"))
}

async fn get(app: &TestApp, path: &str) -> Value {
    json_of(app.get(path).await, 200).await
}

/// What the rest of the site shows: every list and aggregate a deletion may touch.
async fn site(app: &TestApp) -> Value {
    let mut seen = json!({});
    for path in [
        "/tags",
        "/articles",
        "/leaderboard",
        "/users",
        "/articles?author=bob",
        "/reviews?author=bob",
        "/reviews?subject=park:zion",
        "/ratings/park:zion",
        "/ratings/park:arches",
    ] {
        seen[path] = get(app, path).await;
    }
    seen
}

/// alice and bob write articles with shared tags, reviews of a shared
/// subject, and ratings of shared subjects. Returns their tokens and the URL
/// of a photo of one of alice's reviews.
async fn alice_and_bob(app: &TestApp) -> (String, String, String) {
    let alice = app.user("sub-alice", "alice").await;
    let bob = app.user("sub-bob", "bob").await;
    article(app, &alice, "Rust on Lambda", &["rust", "aws"]).await;
    article(app, &alice, "Ownership", &["rust"]).await;
    article(app, &alice, "Solo", &["solo"]).await;
    article(app, &bob, "Rust at Bob's", &["rust"]).await;
    article(app, &bob, "Go on AWS", &["aws", "go"]).await;
    let alices = review(app, &alice, "park:zion").await;
    review(app, &alice, "park:zion").await;
    review(app, &alice, "park:solo").await;
    review(app, &bob, "park:zion").await;
    rate(app, &alice, "park:zion", 5).await;
    rate(app, &alice, "park:arches", 2).await;
    rate(app, &bob, "park:zion", 3).await;
    let upload = app.presign_photo(&alice, &alices, "image/png", 8).await;
    assert_eq!(
        app.upload_photo(&upload, "image/png", vec![7; 8]).await,
        200
    );
    let photo = upload["photoUrl"].as_str().expect("photo url").to_owned();
    (alice, bob, photo)
}

#[tokio::test]
async fn deleting_a_user_takes_everything_it_owned_and_keeps_every_aggregate_exact() {
    let app = TestApp::spawn().await;
    let (alice, bob, photo) = alice_and_bob(&app).await;
    let bobs = json!({
        "articles": get(&app, "/articles?author=bob").await,
        "reviews": get(&app, "/reviews?author=bob").await,
    });
    assert_eq!(
        app.http.get(&photo).send().await.expect("photo").status(),
        200
    );

    let response = app
        .request(Method::DELETE, "/users/alice", Some(&alice))
        .send()
        .await;
    assert_eq!(response.expect("delete").status(), 204);
    // Gone from reads at once, before the purge has finished.
    problem(app.get("/users/alice").await, 404).await;
    let ids = |list: &Value| -> Vec<Value> {
        list.as_array()
            .expect("list")
            .iter()
            .map(|u| u["id"].clone())
            .collect()
    };
    assert_eq!(ids(&get(&app, "/users").await), [json!("bob")]);
    assert_eq!(ids(&get(&app, "/leaderboard").await), [json!("bob")]);

    app.purges_finished().await;
    assert_eq!(get(&app, "/articles?author=alice").await, json!([]));
    assert_eq!(get(&app, "/reviews?author=alice").await, json!([]));
    assert_eq!(
        get(&app, "/tags").await,
        json!([{"tag": "aws", "count": 1}, {"tag": "go", "count": 1}, {"tag": "rust", "count": 1}])
    );
    problem(app.get("/tags/solo").await, 404).await;
    let zion = get(&app, "/ratings/park:zion").await;
    assert_eq!(
        zion["histogram"],
        json!({"1": 0, "2": 0, "3": 1, "4": 0, "5": 0})
    );
    assert_eq!(zion["reviewCount"], 1);
    assert_eq!(get(&app, "/ratings/park:arches").await["count"], 0);
    assert_eq!(get(&app, "/ratings/park:solo").await["reviewCount"], 0);
    let mine = app.request(Method::GET, "/ratings/park:zion/mine", Some(&alice));
    problem(mine.send().await.expect("mine"), 404).await;
    assert_eq!(
        app.http.get(&photo).send().await.expect("photo").status(),
        404
    );
    // bob's things are untouched.
    assert_eq!(get(&app, "/articles?author=bob").await, bobs["articles"]);
    assert_eq!(get(&app, "/reviews?author=bob").await, bobs["reviews"]);
    let mine = app.request(Method::GET, "/ratings/park:zion/mine", Some(&bob));
    assert_eq!(
        json_of(mine.send().await.expect("mine"), 200).await["stars"],
        3
    );
    app.assert_no_drift().await;

    // A second delete is a 404 and changes nothing.
    let before = site(&app).await;
    let again = app
        .request(Method::DELETE, "/users/alice", Some(&alice))
        .send()
        .await;
    problem(again.expect("delete"), 404).await;
    app.purges_finished().await;
    assert_eq!(site(&app).await, before);

    // Once purged, the id and the caller are free again.
    let body = json!({"githubProfile": "alice", "name": "Alice again"});
    let created = app
        .send_json(Method::POST, "/users", Some(&alice), &body)
        .await;
    assert_eq!(created.status(), 201);
    app.shutdown().await;
}

#[tokio::test]
async fn only_the_owner_or_an_admin_deletes_a_user() {
    let app = TestApp::spawn().await;
    let (_, bob, _) = alice_and_bob(&app).await;
    let response = app
        .request(Method::DELETE, "/users/alice", Some(&bob))
        .send()
        .await;
    problem(response.expect("delete"), 403).await;
    let response = app
        .request(Method::DELETE, "/users/alice", None)
        .send()
        .await;
    problem(response.expect("delete"), 401).await;
    assert_eq!(get(&app, "/users/alice").await["id"], "alice");
    let admin = app.admin().await;
    let response = app
        .request(Method::DELETE, "/users/ALICE", Some(&admin))
        .send()
        .await;
    assert_eq!(response.expect("delete").status(), 204);
    app.purges_finished().await;
    assert_eq!(get(&app, "/articles?author=alice").await, json!([]));
    app.assert_no_drift().await;
    app.shutdown().await;
}

/// A deletion begun in the repository (so that `hdoc-local` does not purge
/// it) and purged by hand, a few milliseconds per invocation, as Lambda
/// invocations that each run out of time, or crash, between two steps.
#[tokio::test]
async fn an_interrupted_deletion_completes_when_run_again_and_twice_at_once_is_harmless() {
    let app = TestApp::spawn().await;
    let (alice, bob, photo) = alice_and_bob(&app).await;
    for i in 0..12 {
        article(&app, &alice, &format!("More {i}"), &["rust", "more"]).await;
        rate(&app, &alice, &format!("park:p{i}"), 4).await;
        rate(&app, &bob, &format!("park:p{i}"), 1).await;
    }
    let repo = &app.state().repo;
    let photos = app.state().photos().ok();
    let id = UserId::parse("alice").expect("id");
    let purge = repo
        .delete_user(&id, |_| Ok::<_, StoreError>(()))
        .await
        .expect("deleted");

    // While the purge has not run, the user is gone and cannot add things.
    problem(app.get("/users/alice").await, 404).await;
    let body = json!({"title": "Late", "subtitle": "d", "body": "b", "tags": ["rust"]});
    problem(
        app.send_json(Method::POST, "/articles", Some(&alice), &body)
            .await,
        403,
    )
    .await;
    let body = json!({"subject": "park:zion", "title": "t", "body": "b"});
    problem(
        app.send_json(Method::POST, "/reviews", Some(&alice), &body)
            .await,
        403,
    )
    .await;
    let body = json!({"stars": 4});
    problem(
        app.send_json(Method::PUT, "/ratings/park:new", Some(&alice), &body)
            .await,
        409,
    )
    .await;
    let body = json!({"githubProfile": "alice2", "name": "again"});
    problem(
        app.send_json(Method::POST, "/users", Some(&alice), &body)
            .await,
        409,
    )
    .await;
    let carol = app.token("sub-carol", &[]).await;
    let body = json!({"githubProfile": "Alice", "name": "not alice"});
    problem(
        app.send_json(Method::POST, "/users", Some(&carol), &body)
            .await,
        409,
    )
    .await;

    // Interrupted runs: each stops after a few steps; aggregates are exact between them.
    let mut invocations = 0;
    let first = jobs::purge_user(
        repo,
        photos,
        &purge,
        Some(Instant::now() + Duration::from_millis(30)),
    );
    assert!(matches!(first.await, Ok(Ended::Paused(_))));
    app.assert_no_drift().await;
    loop {
        invocations += 1;
        let deadline = Instant::now() + Duration::from_millis(30);
        let progress = jobs::purge_user(repo, photos, &purge, Some(deadline)).await;
        if !matches!(progress.expect("purge"), Ended::Paused(_)) || invocations == 5 {
            break;
        }
    }
    app.assert_no_drift().await;

    // Two runs at once finish it; neither fails nor counts anything twice.
    let both = join_all([
        jobs::purge_user(repo, photos, &purge, None),
        jobs::purge_user(repo, photos, &purge, None),
    ])
    .await;
    for run in both {
        assert!(matches!(run, Ok(Ended::Finished(_))), "{run:?}");
    }
    assert!(repo.pending_purges(10).await.expect("pending").is_empty());
    assert_eq!(get(&app, "/articles?author=alice").await, json!([]));
    assert_eq!(get(&app, "/reviews?author=alice").await, json!([]));
    assert_eq!(get(&app, "/tags/rust").await["count"], 1);
    problem(app.get("/tags/more").await, 404).await;
    for i in 0..12 {
        let summary = get(&app, &format!("/ratings/park:p{i}")).await;
        assert_eq!(
            summary["histogram"],
            json!({"1": 1, "2": 0, "3": 0, "4": 0, "5": 0})
        );
    }
    assert_eq!(
        app.http.get(&photo).send().await.expect("photo").status(),
        404
    );
    app.assert_no_drift().await;
    // A purge run again after the end finds nothing to do.
    let late = jobs::purge_user(repo, photos, &purge, None).await;
    assert_eq!(late.expect("purge"), Ended::Finished(0));
    app.shutdown().await;
}
