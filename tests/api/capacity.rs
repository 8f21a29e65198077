//! Cost that stays flat as the table grows: read from the consumed capacity
//! DynamoDB reports for each call the repository makes.

use futures_util::stream::{self, StreamExt};
use hdoc_shared::domain::{NewArticle, NewUser, Slug, Timestamp, UserId};
use hdoc_shared::request::parse_json;
use hdoc_tests::{TestApp, json_of};

/// Adds users `from..to` straight through the repository (seeding over HTTP
/// would only make the test slower, not truer).
async fn seed(app: &TestApp, from: usize, to: usize) {
    stream::iter(from..to)
        .for_each_concurrent(16, |i| async move {
            let body = format!(
                r#"{{"githubProfile":"user{i}","name":"User {i}","githubScore":{},"twitterScore":{}}}"#,
                i * 7 % 1000,
                i % 13
            );
            let user = parse_json::<NewUser>(body.as_bytes()).expect("valid user").into_user(Timestamp::now());
            app.state().repo.create_user(&format!("sub-{i}"), user).await.expect("seeded");
        })
        .await;
}

/// The capacity and calls one GET costs.
async fn cost(app: &TestApp, path: &str) -> (f64, Vec<(&'static str, u32)>) {
    let before = app.usage();
    let body = json_of(app.get(path).await, 200).await;
    assert_eq!(body.as_array().map(Vec::len), Some(10), "{path}");
    let after = app.usage();
    let calls = after
        .calls
        .iter()
        .map(|(op, n)| (*op, n - before.calls.get(op).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    (after.capacity - before.capacity, calls)
}

#[tokio::test]
async fn leaderboard_and_user_pages_cost_the_same_with_50_or_2000_users() {
    let app = TestApp::spawn().await;
    seed(&app, 0, 50).await;
    let small_board = cost(&app, "/leaderboard?limit=10").await;
    let small_users = cost(&app, "/users?limit=10").await;
    seed(&app, 50, 2000).await;
    let large_board = cost(&app, "/leaderboard?limit=10").await;
    let large_users = cost(&app, "/users?limit=10").await;
    println!("GET /leaderboard?limit=10: {small_board:?} with 50 users, {large_board:?} with 2000");
    println!("GET /users?limit=10: {small_users:?} with 50 users, {large_users:?} with 2000");
    assert_eq!(small_board.1, [("Query", 1)], "one Query, nothing else");
    assert_eq!(small_users.1, [("Query", 1)], "one Query, nothing else");
    assert!(small_board.0 > 0.0, "the engine reports capacity");
    assert_eq!(small_board, large_board);
    assert_eq!(small_users, large_users);
}

/// Adds articles `from..to`, all tagged `aws` and one of 15 other tags,
/// through the repository, one after another (they all touch `aws`'s count).
async fn seed_articles(app: &TestApp, from: usize, to: usize) {
    seed_tagged(app, from, to, "aws", 200).await;
}

/// Adds articles `from..to` tagged `tag` and one of 15 others, with bodies
/// of `body` characters.
async fn seed_tagged(app: &TestApp, from: usize, to: usize, tag: &str, body: usize) {
    let author = UserId::parse("author").expect("id");
    for i in from..to {
        let body = format!(
            r#"{{"title":"Article {i:05}","subtitle":"d","body":"{}","tags":["{tag}","t{}"]}}"#,
            "b".repeat(body),
            i % 15
        );
        let new = parse_json::<NewArticle>(body.as_bytes()).expect("valid article");
        let slug = Slug::from_title(new.title.as_str());
        let article = new.into_article(slug, author.clone(), Timestamp::now());
        app.state()
            .repo
            .create_article(article)
            .await
            .expect("seeded");
    }
}

#[tokio::test]
async fn tag_and_article_pages_cost_the_same_with_20_or_2000_articles() {
    let app = TestApp::spawn().await;
    app.user("sub-author", "author").await;
    seed_articles(&app, 0, 20).await;
    let small_tags = cost(&app, "/tags?limit=10").await;
    let small_articles = cost(&app, "/articles?tag=aws&limit=10").await;
    seed_articles(&app, 20, 2000).await;
    let large_tags = cost(&app, "/tags?limit=10").await;
    let large_articles = cost(&app, "/articles?tag=aws&limit=10").await;
    println!("GET /tags?limit=10: {small_tags:?} with 20 articles, {large_tags:?} with 2000");
    println!(
        "GET /articles?tag=aws&limit=10: {small_articles:?} with 20 articles, {large_articles:?} with 2000"
    );
    assert_eq!(small_tags.1, [("Query", 1)], "one Query, nothing else");
    assert_eq!(
        small_articles.1,
        [("Query", 1)],
        "one Query: the list's entries hold the summaries"
    );
    assert_eq!(small_tags, large_tags);
    assert_eq!(small_articles, large_articles);
}

#[tokio::test]
async fn an_article_page_costs_the_same_whatever_the_bodies_hold() {
    let app = TestApp::spawn().await;
    app.user("sub-author", "author").await;
    seed_tagged(&app, 0, 10, "short", 10).await;
    seed_tagged(&app, 10, 20, "long", 50_000).await;
    let short = cost(&app, "/articles?tag=short&limit=10").await;
    let long = cost(&app, "/articles?tag=long&limit=10").await;
    println!(
        "GET /articles?tag=..&limit=10: {short:?} with 10-character bodies, {long:?} with 50,000"
    );
    assert_eq!(short.1, [("Query", 1)]);
    assert_eq!(short, long);
}

/// No request path may scan: the repository is the only code that talks to
/// DynamoDB, and neither it nor any function calls Scan. The one exception is
/// the nightly reconcile job's walk of the table, which serves no request.
#[test]
fn no_code_path_scans_the_table() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut stack = vec![root.join("shared/src"), root.join("functions")];
    let mut files = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.ends_with("shared/src/store/jobs.rs") {
                continue;
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let text = std::fs::read_to_string(&path).expect("source");
                files += 1;
                for needle in [
                    ".scan()",
                    "ScanInput",
                    "ScanFluentBuilder",
                    "execute_statement",
                ] {
                    assert!(!text.contains(needle), "{} uses {needle}", path.display());
                }
            }
        }
    }
    assert!(files > 5, "looked at the sources ({files} files)");
}
