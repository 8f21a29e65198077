//! The nightly reconcile job: it finds nothing to repair after normal (and
//! concurrent) use, repairs drift planted on purpose, and a run spread over
//! many short invocations ends where one long run would.

use aws_sdk_dynamodb::types::AttributeValue;
use hdoc_shared::jobs::{self, Ended};
use hdoc_tests::{TestApp, json_of};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Instant;

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

async fn seed(app: &TestApp) {
    let alice = app.user("sub-alice", "alice").await;
    let bob = app.user("sub-bob", "bob").await;
    let admin = app.admin().await;
    let scores = json!({"githubScore": 5, "twitterScore": 1});
    let response = app
        .send_json(Method::PUT, "/users/alice", Some(&admin), &scores)
        .await;
    json_of(response, 200).await;
    for (token, title, tags) in [
        (&alice, "One", json!(["rust", "aws"])),
        (&alice, "Two", json!(["rust"])),
        (&bob, "Three", json!(["aws"])),
    ] {
        let body = json!({"title": title, "subtitle": "d", "body": "b", "tags": tags});
        json_of(
            app.send_json(Method::POST, "/articles", Some(token), &body)
                .await,
            201,
        )
        .await;
    }
    for (token, stars) in [(&alice, 5), (&bob, 3)] {
        let body = json!({"stars": stars});
        json_of(
            app.send_json(Method::PUT, "/ratings/park:zion", Some(token), &body)
                .await,
            200,
        )
        .await;
    }
    let body = json!({"subject": "park:zion", "title": "t", "body": "b"});
    json_of(
        app.send_json(Method::POST, "/reviews", Some(&bob), &body)
            .await,
        201,
    )
    .await;
}

async fn get(app: &TestApp, path: &str) -> Value {
    json_of(app.get(path).await, 200).await
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Changes one stored item behind the API's back (`#c` stands for `count`,
/// a reserved word).
async fn plant(app: &TestApp, key: (&str, &str), update: &str, values: &[(&str, AttributeValue)]) {
    let repo = &app.state().repo;
    let mut request = repo
        .client()
        .update_item()
        .table_name(repo.table())
        .key("PK", s(key.0))
        .key("SK", s(key.1))
        .update_expression(update);
    if update.contains("#c") {
        request = request.expression_attribute_names("#c", "count");
    }
    for (name, value) in values {
        request = request.expression_attribute_values(*name, value.clone());
    }
    request.send().await.expect("planted");
}

#[tokio::test]
async fn reconcile_finds_no_drift_after_normal_use_and_repairs_planted_drift() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    app.assert_no_drift().await;
    let tags = get(&app, "/tags").await;
    let zion = get(&app, "/ratings/park:zion").await;
    let leaderboard = get(&app, "/leaderboard").await;

    plant(&app, ("TAG#rust", "COUNT"), "SET #c = :v", &[(":v", n(99))]).await;
    let repo = &app.state().repo;
    repo.client()
        .delete_item()
        .table_name(repo.table())
        .key("PK", s("TAG#aws"))
        .key("SK", s("COUNT"))
        .send()
        .await
        .expect("planted");
    plant(
        &app,
        ("SUBJECT#park:zion", "SUMMARY"),
        "SET s5 = :five, reviewCount = :none",
        &[(":five", n(7)), (":none", n(0))],
    )
    .await;
    plant(
        &app,
        ("USER#alice", "PROFILE"),
        "SET GSI2SK = :wrong",
        &[(":wrong", s("z"))],
    )
    .await;
    assert_ne!(get(&app, "/tags").await, tags);

    let run = app.reconcile().await;
    assert_eq!(
        run["repairs"],
        json!({"tagCounts": 2, "summaries": 1, "leaderboard": 1}),
        "{run}"
    );
    assert_eq!(get(&app, "/tags").await, tags);
    assert_eq!(get(&app, "/ratings/park:zion").await, zion);
    assert_eq!(get(&app, "/leaderboard").await, leaderboard);
    app.assert_no_drift().await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_reconcile_run_goes_on_where_it_stopped() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    plant(&app, ("TAG#rust", "COUNT"), "SET #c = :v", &[(":v", n(5))]).await;
    let repo = &app.state().repo;

    // Invocations whose deadline has passed: each walks one stretch of 4 items.
    let mut invocations = 0;
    let run = loop {
        invocations += 1;
        assert!(invocations < 200, "the run never ended");
        match jobs::reconcile(repo, Some(Instant::now()), 4).await {
            Ok(Ended::Finished(run)) => break run,
            Ok(Ended::Paused(_) | Ended::Held) => {}
            Err(err) => panic!("reconcile failed: {err:?}"),
        }
    };
    assert!(invocations > 3, "{invocations} invocations");
    assert_eq!(run.slices, invocations);
    assert_eq!(run.repairs.tag_counts, 1, "{run:?}");
    assert_eq!(run.repairs.total(), 1, "{run:?}");
    assert_eq!(get(&app, "/tags/rust").await["count"], 2);

    // One uninterrupted run walks the same items and finds nothing more.
    let whole = app.reconcile().await;
    assert_eq!(whole["repairs"]["tagCounts"], 0, "{whole}");
    assert_eq!(whole["slices"], 1);
    assert_eq!(whole["scanned"].as_u64(), Some(run.scanned));
    app.shutdown().await;
}
