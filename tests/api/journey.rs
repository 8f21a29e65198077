//! The journey (contract v3): `journeyRepo`, `blogUrl` and the read-only
//! journey fields of a profile; verification; the journey job against the
//! GitHub stand-in (`tests/github.rs`). The rule is docs/journey.md.

use hdoc_tests::{TestApp, json_of, problem};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_profile_carries_the_journey_fields() {
    let app = TestApp::spawn().await;
    let token = app.token("sub-ada", &[]).await;
    let body = json!({"githubProfile": "Ada", "name": "Ada",
        "journeyRepo": "ada/100DaysOfCloud", "blogUrl": "https://ada.blog"});
    let user = json_of(
        app.send_json(Method::POST, "/users", Some(&token), &body)
            .await,
        201,
    )
    .await;
    assert_eq!(user["journeyRepo"], "https://github.com/ada/100DaysOfCloud");
    assert_eq!(user["blogUrl"], "https://ada.blog");
    assert_eq!(user["verified"], false);
    assert_eq!(user["consistency"], 0.0);
    assert!(user["lastEntryAt"].is_null());
    // The URL form, the owner in another case: the same repository.
    let body = json!({"journeyRepo": "https://github.com/ADA/journey/", "blogUrl": null});
    let user = json_of(
        app.send_json(Method::PUT, "/users/ada", Some(&token), &body)
            .await,
        200,
    )
    .await;
    assert_eq!(user["journeyRepo"], "https://github.com/ADA/journey");
    assert!(user["blogUrl"].is_null());
    assert_eq!(json_of(app.get("/users/ada").await, 200).await, user);
    let me = json_of(
        app.request(Method::GET, "/me", Some(&token))
            .send()
            .await
            .expect("me"),
        200,
    )
    .await;
    assert_eq!(me, user);
}

#[tokio::test]
async fn a_journey_repo_owned_by_another_login_is_400_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-mallory", "mallory").await;
    let before = json_of(app.get("/users/mallory").await, 200).await;
    for (body, field) in [
        (
            json!({"journeyRepo": "torvalds/100DaysOfCloud"}),
            "journeyRepo",
        ),
        (
            json!({"journeyRepo": "https://github.com/torvalds/x", "name": "M"}),
            "journeyRepo",
        ),
        (json!({"journeyRepo": "not a repo"}), "journeyRepo"),
        (json!({"blogUrl": "ftp://blog.example"}), "blogUrl"),
        (json!({"verified": true}), "verified"),
        (json!({"consistency": 1}), "consistency"),
    ] {
        let response = app
            .send_json(Method::PUT, "/users/mallory", Some(&token), &body)
            .await;
        let problem = problem(response, 400).await;
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains(field)),
            "{body}: {problem}"
        );
    }
    assert_eq!(json_of(app.get("/users/mallory").await, 200).await, before);
    // And at creation.
    let other = app.token("sub-eve", &[]).await;
    let body = json!({"githubProfile": "eve", "name": "Eve", "journeyRepo": "alice/journey"});
    let response = app
        .send_json(Method::POST, "/users", Some(&other), &body)
        .await;
    let problem = problem(response, 400).await;
    assert_eq!(problem["errors"][0]["field"], "journeyRepo");
    assert_eq!(app.get("/users/eve").await.status(), 404);
}
