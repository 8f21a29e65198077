//! Per-caller write limits (docs/api.md, "Write limits"): a token bucket per
//! caller and kind of write, kept in the table, on a clock the tests move on.

use hdoc_shared::clock::Clock;
use hdoc_tests::{TestApp, dynamodb_endpoint, json_of, problem};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use std::time::Duration;

/// The API on a manual clock, with the write limits `spec` changes.
async fn limited(spec: &str) -> TestApp {
    TestApp::spawn_configured(dynamodb_endpoint(), |config| {
        config.clock = Clock::manual();
        config.write_limits = config.write_limits.clone().with(spec).expect("limits");
    })
    .await
}

async fn post_article(app: &TestApp, token: &str, title: &str) -> Response {
    app.send_json(
        Method::POST,
        "/articles",
        Some(token),
        &json!({"title": title, "subtitle": "s", "body": "b", "tags": ["aws"]}),
    )
    .await
}

async fn rate(app: &TestApp, token: &str, subject: &str, stars: u8) -> Response {
    app.send_json(
        Method::PUT,
        &format!("/ratings/{subject}"),
        Some(token),
        &json!({"stars": stars}),
    )
    .await
}

/// The `Retry-After` of a 429, in seconds, after checking its problem.
async fn refused(response: Response) -> u64 {
    assert_eq!(response.status(), 429);
    let wait = response
        .headers()
        .get("retry-after")
        .expect("Retry-After on a 429")
        .to_str()
        .expect("ASCII")
        .parse()
        .expect("whole seconds");
    let body = problem(response, 429).await;
    assert_eq!(body["title"], "Too Many Requests", "{body}");
    wait
}

async fn titles(app: &TestApp) -> Vec<Value> {
    let (articles, _) = app.all_pages("/articles").await;
    articles.iter().map(|a| a["title"].clone()).collect()
}

#[tokio::test]
async fn a_caller_over_its_create_limit_gets_429_and_nothing_is_written() {
    // Three creates an hour: the profile and two articles, one back every 20 minutes.
    let app = limited("create=3").await;
    let alice = app.user("alice-sub", "alice").await;
    json_of(post_article(&app, &alice, "One").await, 201).await;
    json_of(post_article(&app, &alice, "Two").await, 201).await;

    let wait = refused(post_article(&app, &alice, "Three").await).await;
    // One token's interval, less the moments the test took so far.
    assert!((1..=1200).contains(&wait), "Retry-After {wait}");
    assert!(wait > 1200 - 60, "Retry-After {wait}");
    assert_eq!(titles(&app).await, [json!("Two"), json!("One")]);
    problem(app.get("/articles/three").await, 404).await;
    assert_eq!(
        json_of(app.get("/tags/aws").await, 200).await["count"],
        2,
        "the refused article's tag is not counted"
    );

    // Another caller has a bucket of its own.
    let bob = app.user("bob-sub", "bob").await;
    json_of(post_article(&app, &bob, "Bob's").await, 201).await;
    // And another kind of write of the same caller has its own too.
    json_of(rate(&app, &alice, "park:yosemite", 5).await, 200).await;
    app.assert_no_drift().await;
    app.shutdown().await;
}

#[tokio::test]
async fn after_the_clock_moves_on_by_retry_after_the_caller_writes_again_once() {
    let app = limited("rating=2").await;
    let alice = app.token("alice-sub", &[]).await;
    json_of(rate(&app, &alice, "park:a", 5).await, 200).await;
    json_of(rate(&app, &alice, "park:b", 4).await, 200).await;
    let wait = refused(rate(&app, &alice, "park:c", 3).await).await;
    let summary = json_of(app.get("/ratings/park:c").await, 200).await;
    assert_eq!(
        summary["count"], 0,
        "the refused rating is not counted: {summary}"
    );

    app.state().config.clock.advance(Duration::from_secs(wait));
    json_of(rate(&app, &alice, "park:c", 3).await, 200).await;
    // One token came back, not two.
    let again = refused(rate(&app, &alice, "park:d", 3).await).await;
    assert!(again > 1800 - 60 && again <= 1800, "Retry-After {again}");

    // An idle hour fills the bucket: a whole burst again, then a refusal.
    app.state().config.clock.advance(Duration::from_secs(3600));
    json_of(rate(&app, &alice, "park:d", 2).await, 200).await;
    json_of(rate(&app, &alice, "park:e", 2).await, 200).await;
    refused(rate(&app, &alice, "park:f", 2).await).await;
    app.shutdown().await;
}

#[tokio::test]
async fn an_admin_is_not_limited() {
    let app = limited("create=1,rating=1").await;
    let admin = app.admin().await;
    json_of(
        app.send_json(
            Method::POST,
            "/users",
            Some(&admin),
            &json!({"githubProfile": "root", "name": "Root"}),
        )
        .await,
        201,
    )
    .await;
    for (i, subject) in ["park:a", "park:b", "park:c"].iter().enumerate() {
        json_of(rate(&app, &admin, subject, 5).await, 200).await;
        json_of(post_article(&app, &admin, &format!("Admin {i}")).await, 201).await;
    }
    // The same limits hold for anyone else.
    let alice = app.token("alice-sub", &[]).await;
    json_of(rate(&app, &alice, "park:a", 1).await, 200).await;
    refused(rate(&app, &alice, "park:b", 1).await).await;
    app.shutdown().await;
}
