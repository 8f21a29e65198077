//! Regressions for what fuzzing the API against docs/openapi.yaml found
//! (`scripts/fuzz.sh`): each test is one bug, fixed in the code.

use hdoc_shared::domain::user::MAX_SCORE;
use hdoc_tests::{TestApp, json_of, problem};
use reqwest::Method;
use serde_json::json;

/// Each score may be 2^53 - 1, but `totalScore` is their sum: two large
/// scores made a total that JSON clients cannot hold exactly (and that the
/// document's `maximum` refuses). Such a change is now a 400, on create and
/// on update, against the stored scores.
#[tokio::test]
async fn scores_whose_total_json_cannot_hold_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let body = json!({"githubProfile": "big", "name": "Big",
        "githubScore": MAX_SCORE, "twitterScore": 1});
    let refused = problem(
        app.send_json(Method::POST, "/users", Some(&admin), &body)
            .await,
        400,
    )
    .await;
    assert_eq!(refused["errors"][0]["field"], "twitterScore", "{refused}");
    problem(app.get("/users/big").await, 404).await;

    let body = json!({"githubProfile": "big", "name": "Big", "githubScore": MAX_SCORE - 10});
    json_of(
        app.send_json(Method::POST, "/users", Some(&admin), &body)
            .await,
        201,
    )
    .await;
    let before = json_of(app.get("/users/big").await, 200).await;
    let refused = problem(
        app.send_json(
            Method::PUT,
            "/users/big",
            Some(&admin),
            &json!({"twitterScore": 11}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(refused["errors"][0]["field"], "twitterScore", "{refused}");
    assert_eq!(json_of(app.get("/users/big").await, 200).await, before);
    let user = json_of(
        app.send_json(
            Method::PUT,
            "/users/big",
            Some(&admin),
            &json!({"twitterScore": 10}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(user["totalScore"], MAX_SCORE);
    let board = json_of(app.get("/leaderboard").await, 200).await;
    assert_eq!(board[0]["totalScore"], MAX_SCORE);
    app.shutdown().await;
}

/// serde reads a struct from a JSON array too (its fields in order), so
/// `[]` was a partial update with no fields (200, `updatedAt` moved) and
/// `["park:x", "t", "b"]` a review. A body must be a JSON object.
#[tokio::test]
async fn bodies_that_are_arrays_are_refused() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    let before = json_of(app.get("/users/alice").await, 200).await;
    for (method, path, body) in [
        (Method::PUT, "/users/alice", json!([])),
        (
            Method::POST,
            "/reviews",
            json!(["park:x", "Great", "Half Dome"]),
        ),
        (Method::POST, "/articles", json!(["Day 1"])),
        (Method::PUT, "/ratings/park:x", json!([5])),
        (Method::POST, "/users", json!(["bob", "Bob"])),
    ] {
        let refused = problem(app.send_json(method, path, Some(&token), &body).await, 400).await;
        assert_eq!(refused["errors"][0]["field"], "body", "{path}: {refused}");
    }
    assert_eq!(json_of(app.get("/users/alice").await, 200).await, before);
    assert_eq!(
        json_of(app.get("/reviews?subject=park:x").await, 200).await,
        json!([])
    );
    assert_eq!(json_of(app.get("/articles").await, 200).await, json!([]));
    assert_eq!(
        json_of(app.get("/ratings/park:x").await, 200).await["count"],
        0
    );
    app.shutdown().await;
}
