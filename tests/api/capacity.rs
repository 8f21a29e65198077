//! Cost that stays flat as the table grows: read from the consumed capacity
//! DynamoDB reports for each call the repository makes.

use futures_util::stream::{self, StreamExt};
use hdoc_shared::config::WriteLimits;
use hdoc_shared::domain::{NewArticle, NewUser, Slug, Timestamp, UserId};
use hdoc_shared::http::extract::parse_json;
use hdoc_shared::store::{Repository, Usage};
use hdoc_tests::{TestApp, json_of};
use reqwest::Method;
use serde_json::{Value, json};

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
            app.state().repo.create_user(&format!("sub-{i}"), user, None).await.expect("seeded");
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
            .create_article(article, None)
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
            } else if path.ends_with("shared/src/store/reconcile.rs") {
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

/// One request and what it cost: the calls made, read and write units.
#[derive(Debug, PartialEq)]
struct Cost {
    calls: Vec<(&'static str, u32)>,
    read: f64,
    write: f64,
}

impl Cost {
    fn since(before: &Usage, after: &Usage) -> Self {
        Self {
            calls: after
                .calls
                .iter()
                .map(|(op, n)| (*op, n - before.calls.get(op).copied().unwrap_or(0)))
                .filter(|(_, n)| *n > 0)
                .collect(),
            read: after.capacity - after.write_units - (before.capacity - before.write_units),
            write: after.write_units - before.write_units,
        }
    }

    fn calls(&self) -> String {
        let calls: Vec<String> = self
            .calls
            .iter()
            .map(|(op, n)| {
                if *n == 1 {
                    (*op).to_owned()
                } else {
                    format!("{n} {op}")
                }
            })
            .collect();
        calls.join(" + ")
    }
}

/// A route's name, its request (method, path, token, body) and the status it answers.
type Step<'a> = (
    &'static str,
    Method,
    String,
    Option<&'a str>,
    Option<Value>,
    u16,
);

/// Sends one request of every route, each on things of the same shape, and
/// returns what each cost, with the status it had to answer.
async fn every_route(app: &TestApp, round: &str) -> Vec<(&'static str, Cost)> {
    let admin = app.admin().await;
    let writer = format!("writer-{round}");
    let token = app.user(&format!("sub-{writer}"), &writer).await;
    let quiet = Repository::new(app.state().repo.client().clone(), app.state().repo.table());
    let unowned = format!("journeyer-{round}");
    let profile =
        parse_json::<NewUser>(format!(r#"{{"githubProfile":"{unowned}","name":"J"}}"#).as_bytes())
            .expect("valid user")
            .into_user(Timestamp::now());
    quiet.import_profiles(&[profile]).await.expect("imported");
    let (article, review) = (
        format!("/articles/title-{round}"),
        std::cell::RefCell::new(String::new()),
    );
    let rating = "/ratings/park:yosemite";
    let newcomer = app.token(&format!("sub-new-{round}"), &[]).await;

    let mut costs = Vec::new();
    let requests: Vec<Step> = vec![
        (
            "GET /users",
            Method::GET,
            "/users?limit=10".into(),
            None,
            None,
            200,
        ),
        (
            "POST /users",
            Method::POST,
            "/users".into(),
            Some(&newcomer),
            Some(json!({"githubProfile": format!("new-{round}"), "name": "New"})),
            201,
        ),
        (
            "GET /users/{id}",
            Method::GET,
            format!("/users/{writer}"),
            None,
            None,
            200,
        ),
        (
            "PUT /users/{id}",
            Method::PUT,
            format!("/users/{writer}"),
            Some(&token),
            Some(json!({"name": "Renamed"})),
            200,
        ),
        (
            "PUT /users/{id}/owner",
            Method::PUT,
            format!("/users/{unowned}/owner"),
            Some(&admin),
            Some(json!({"sub": format!("sub-owner-{round}")})),
            200,
        ),
        (
            "GET /leaderboard",
            Method::GET,
            "/leaderboard?limit=10".into(),
            None,
            None,
            200,
        ),
        (
            "POST /articles",
            Method::POST,
            "/articles".into(),
            Some(&token),
            Some(
                json!({"title": format!("Title {round}"), "subtitle": "s", "body": "b", "tags": ["aws", "rust"]}),
            ),
            201,
        ),
        (
            "GET /articles",
            Method::GET,
            "/articles?limit=10".into(),
            None,
            None,
            200,
        ),
        (
            "GET /articles?tag=",
            Method::GET,
            "/articles?tag=aws&limit=10".into(),
            None,
            None,
            200,
        ),
        (
            "GET /articles/{slug}",
            Method::GET,
            article.clone(),
            None,
            None,
            200,
        ),
        (
            "PUT /articles/{slug}",
            Method::PUT,
            article.clone(),
            Some(&token),
            Some(json!({"subtitle": "t"})),
            200,
        ),
        (
            "GET /tags",
            Method::GET,
            "/tags?limit=10".into(),
            None,
            None,
            200,
        ),
        (
            "GET /tags/{tag}",
            Method::GET,
            "/tags/aws".into(),
            None,
            None,
            200,
        ),
        (
            "POST /reviews",
            Method::POST,
            "/reviews".into(),
            Some(&token),
            Some(json!({"subject": "park:yosemite", "title": "T", "body": "B"})),
            201,
        ),
        (
            "GET /reviews?subject=",
            Method::GET,
            "/reviews?subject=park:yosemite&limit=10".into(),
            None,
            None,
            200,
        ),
        (
            "GET /reviews/{id}",
            Method::GET,
            String::new(),
            None,
            None,
            200,
        ),
        (
            "PUT /reviews/{id}",
            Method::PUT,
            String::new(),
            Some(&token),
            Some(json!({"title": "U"})),
            200,
        ),
        (
            "POST /reviews/{id}/photos",
            Method::POST,
            String::new(),
            Some(&token),
            Some(json!({"contentType": "image/png", "contentLength": 1000})),
            201,
        ),
        (
            "PUT /ratings/{subject}",
            Method::PUT,
            rating.into(),
            Some(&token),
            Some(json!({"stars": 4})),
            200,
        ),
        (
            "GET /ratings/{subject}",
            Method::GET,
            rating.into(),
            None,
            None,
            200,
        ),
        (
            "GET /ratings/{subject}/mine",
            Method::GET,
            format!("{rating}/mine"),
            Some(&token),
            None,
            200,
        ),
        (
            "DELETE /ratings/{subject}",
            Method::DELETE,
            rating.into(),
            Some(&token),
            None,
            204,
        ),
        (
            "DELETE /reviews/{id}",
            Method::DELETE,
            String::new(),
            Some(&token),
            None,
            204,
        ),
        (
            "DELETE /articles/{slug}",
            Method::DELETE,
            article.clone(),
            Some(&token),
            None,
            204,
        ),
        (
            "DELETE /users/{id} + purge",
            Method::DELETE,
            format!("/users/{writer}"),
            Some(&token),
            None,
            204,
        ),
    ];
    for (route, method, path, token, body, status) in requests {
        let path = if path.is_empty() {
            let review = review.borrow();
            if route.ends_with("/photos") {
                format!("{review}/photos")
            } else {
                review.clone()
            }
        } else {
            path
        };
        let before = app.usage();
        let request = app.request(method, &path, token);
        let request = match &body {
            Some(body) => request.json(body),
            None => request,
        };
        let response = request.send().await.expect("request");
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().expect("ascii").to_owned());
        let answer = response.status().as_u16();
        let text = response.text().await.expect("body");
        assert_eq!(answer, status, "{route}: {text}");
        if route == "POST /reviews" {
            *review.borrow_mut() = location.expect("a review's Location");
        }
        if route.ends_with("+ purge") {
            // The purge runs after the answer (the stream in AWS): wait for
            // it, through a repository that is not metered.
            let mut looks = 0;
            while !quiet.pending_purges(1).await.expect("pending").is_empty() {
                looks += 1;
                assert!(looks < 1_200, "purge still running after {looks} looks");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        costs.push((route, Cost::since(&before, &app.usage())));
    }
    costs
}

/// Every route's DynamoDB round trips and capacity, the same with 50 items
/// of each kind as with 2,000: the table in docs/performance.md is this
/// test's output.
#[tokio::test]
async fn routes_cost_the_same_with_50_or_2000_items() {
    // Write limits whose tokens come back slowly (one every 6 minutes), so
    // that whether a write finds its bucket full (one UpdateItem) or in a
    // burst (two) depends on the order of the writes, not on how fast the
    // machine runs them; no round makes more than 10 writes of a kind.
    let app = TestApp::spawn_configured(hdoc_tests::dynamodb_endpoint(), |config| {
        config.write_limits = WriteLimits::LOCAL
            .with("create=10,photo=10,update=10,delete=10,rating=10")
            .expect("limits");
    })
    .await;
    app.user("sub-author", "author").await;
    seed(&app, 0, 50).await;
    seed_spread(&app, 0, 50).await;
    let small = every_route(&app, "a").await;
    seed(&app, 50, 2000).await;
    seed_spread(&app, 50, 2000).await;
    let large = every_route(&app, "b").await;

    println!("| route | round trips | RCU | WCU |\n|---|---|---|---|");
    for ((route, small), (_, large)) in small.iter().zip(&large) {
        println!(
            "| `{route}` | {} | {} | {} |",
            small.calls(),
            small.read,
            small.write
        );
        if route.ends_with("+ purge") {
            // The purge reads the deleted user's lists again until a pass that
            // began `SETTLE` after the deletion finds them empty
            // (docs/deletion.md): how many passes is a matter of timing,
            // what it writes is not.
            println!(
                "| (with 2,000) | {} | {} | {} |",
                large.calls(),
                large.read,
                large.write
            );
            let without_queries = |cost: &Cost| -> Vec<_> {
                cost.calls
                    .iter()
                    .filter(|(op, _)| *op != "Query")
                    .copied()
                    .collect()
            };
            assert_eq!(without_queries(small), without_queries(large), "{route}");
            assert_eq!(small.write, large.write, "{route}");
        } else {
            assert_eq!(
                small, large,
                "{route} costs the same with 50 or 2,000 of each"
            );
        }
        assert!(!small.calls.is_empty(), "{route} reads or writes");
    }
    assert!(
        small.iter().all(|(_, cost)| cost.read + cost.write > 0.0),
        "the engine reports capacity"
    );
}

/// Adds articles `from..to`, by `author`, each in one of 40 tags, 8 at a time.
async fn seed_spread(app: &TestApp, from: usize, to: usize) {
    let author = UserId::parse("author").expect("id");
    stream::iter(from..to)
        .for_each_concurrent(8, |i| {
            let author = author.clone();
            async move {
                let body = format!(
                    r#"{{"title":"Seeded {i:05}","subtitle":"d","body":"body","tags":["s{}"]}}"#,
                    i % 40
                );
                let new = parse_json::<NewArticle>(body.as_bytes()).expect("valid article");
                let slug = Slug::from_title(new.title.as_str());
                let article = new.into_article(slug, author, Timestamp::now());
                app.state()
                    .repo
                    .create_article(article, None)
                    .await
                    .expect("seeded");
            }
        })
        .await;
}

/// What a write limit adds to a write: the bucket's UpdateItem (1 WCU) when
/// the caller's bucket is full, a second one when it is in a burst (the
/// first's failed condition, which DynamoDB bills as 1 WCU but reports no
/// capacity for), nothing for an admin. Prints the mean latency of the same
/// write with and without the bucket, for docs/performance.md; asserts only
/// on what was asked of DynamoDB.
#[tokio::test]
async fn a_write_limit_adds_one_conditional_update_item_per_write() {
    // 100 ratings an hour: a token back every 36 s, so the caller's second
    // write finds its bucket in a burst however slowly the machine runs.
    let app = TestApp::spawn_configured(hdoc_tests::dynamodb_endpoint(), |config| {
        config.write_limits = WriteLimits::LOCAL.with("rating=100").expect("limits");
    })
    .await;
    let admin = app.admin().await;
    let caller = app.token("sub-limited", &[]).await;
    let rate = |token: String, subject: String| {
        let app = &app;
        async move {
            let before = app.usage();
            let started = std::time::Instant::now();
            let response = app
                .request(Method::PUT, &format!("/ratings/{subject}"), Some(&token))
                .json(&json!({"stars": 4}))
                .send()
                .await
                .expect("rate");
            assert_eq!(response.status(), 200, "rating {subject}");
            (Cost::since(&before, &app.usage()), started.elapsed())
        }
    };
    let (admin_cost, _) = rate(admin.clone(), "park:warm-a".into()).await;
    let (first, _) = rate(caller.clone(), "park:warm-b".into()).await;
    let (in_burst, _) = rate(caller.clone(), "park:warm-c".into()).await;
    let bucket = |cost: &Cost| {
        cost.calls
            .iter()
            .find(|(op, _)| *op == "UpdateItem")
            .map(|(_, n)| *n)
    };
    assert_eq!(
        bucket(&admin_cost),
        None,
        "an admin takes no token: {admin_cost:?}"
    );
    assert_eq!(
        bucket(&first),
        Some(1),
        "a full bucket: one UpdateItem: {first:?}"
    );
    assert_eq!(bucket(&in_burst), Some(2), "in a burst: two: {in_burst:?}");
    // The embedded engine reports DynamoDB's capacity; moto's figures are
    // its own (0 WCU for a transaction), so only the calls are held to it.
    if hdoc_tests::dynamodb_endpoint().is_none() {
        assert_eq!(
            first.write - admin_cost.write,
            1.0,
            "{first:?} vs {admin_cost:?}"
        );
        assert_eq!(
            in_burst.write - admin_cost.write,
            1.0,
            "{in_burst:?} vs {admin_cost:?}"
        );
    }

    let rounds = 20u32;
    let (mut exempt, mut limited) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    for i in 0..rounds {
        exempt += rate(admin.clone(), format!("park:a{i}")).await.1;
        limited += rate(caller.clone(), format!("park:c{i}")).await.1;
    }
    println!(
        "PUT /ratings/{{subject}}: admin (no bucket) {:?}, caller (bucket, in a burst) {:?} on average over {rounds}",
        exempt / rounds,
        limited / rounds
    );
}
