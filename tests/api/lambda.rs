//! The Lambda shape: the API Gateway (payload v2) events in `events/`, fed
//! through `lambda_http::request::from_str` into the function each names,
//! exactly as `sam local invoke -e` or `cargo lambda invoke` would.

use hdoc_shared::domain::{NewReview, ReviewId, Timestamp, UserId};
use hdoc_shared::http::extract::parse_json;
use hdoc_tests::TestApp;
use hdoc_tests::api_gateway_event as event;
use hdoc_tests::contract::contract;
use lambda_http::tower::ServiceExt;
use serde_json::Value;

/// The function an event file is for: the file name up to its first `-`.
fn function(name: &str) -> axum::Router<hdoc_shared::AppState> {
    let prefix = name.split('-').next().unwrap_or_default();
    (hdoc_tests::function(prefix).router)()
}

#[tokio::test]
async fn event_files_drive_the_functions_in_order() {
    let app = TestApp::spawn().await;
    let script = [
        ("users-create.json", 201),
        ("users-get.json", 200),
        ("users-list.json", 200),
        ("users-update.json", 200),
        ("users-me.json", 200),
        ("leaderboard-get.json", 200),
        ("leaderboard-week.json", 200),
        ("users-journey.json", 200),
        ("users-badge.json", 200),
        ("users-verification.json", 201),
        // alice has no journey repository: the check says so.
        ("users-verification-check.json", 422),
        // Unsigned (and no secret configured here): refused.
        ("github-webhook.json", 401),
        ("articles-create.json", 201),
        ("articles-get.json", 200),
        ("articles-list.json", 200),
        ("tags-get.json", 200),
        ("tags-list.json", 200),
        ("articles-update.json", 200),
        ("articles-delete.json", 204),
        ("articles-get.json", 404),
        ("tags-get.json", 404),
        ("reviews-create.json", 201),
        ("reviews-list.json", 200),
        ("seed the review the next events name", 0),
        ("reviews-get.json", 200),
        ("reviews-update.json", 200),
        ("reviews-photos.json", 201),
        ("ratings-put.json", 200),
        ("ratings-mine.json", 200),
        ("ratings-get.json", 200),
        ("ratings-delete.json", 204),
        ("ratings-mine.json", 404),
        ("reviews-delete.json", 204),
        ("reviews-get.json", 404),
        ("users-delete.json", 204),
        ("users-get.json", 404),
        ("users-me.json", 404),
    ];
    for (name, status) in script {
        if status == 0 {
            seed_review(&app).await;
            continue;
        }
        let service = hdoc_shared::http::app(function(name), app.state().clone());
        let request = event(name);
        let (method, path) = (request.method().clone(), request.uri().path().to_owned());
        let request_headers = request.headers().clone();
        let response = service.oneshot(request).await.expect("infallible");
        let actual = response.status().as_u16();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        assert_eq!(actual, status, "{name}: {}", String::from_utf8_lossy(&body));
        if let Err(problem) = contract().check(
            method.as_str(),
            &path,
            &request_headers,
            actual,
            &headers,
            &body,
        ) {
            panic!("{name}: the answer breaks docs/openapi.yaml:\n{problem}");
        }
        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        match (name, status) {
            ("users-create.json", _) => {
                assert_eq!(json["avatarImage"], "https://avatars.example.com/alice.png");
                assert_eq!(
                    json["linkedinProfile"],
                    "https://www.linkedin.com/in/alice-clouds"
                );
            }
            ("users-list.json", _) => assert_eq!(json[0]["id"], "alice"),
            ("users-me.json", 200) => assert_eq!(json["id"], "alice"),
            ("leaderboard-get.json", _) => {
                assert_eq!(json[0]["id"], "alice");
                assert_eq!(json[0]["totalScore"], 42);
                assert_eq!(json[0]["githubStreak"], 12);
                assert_eq!(json[0]["daysCompleted"], 13);
            }
            ("articles-list.json", _) => {
                assert_eq!(json[0]["author"], "alice");
                assert_eq!(json[0]["subtitle"], "Day 1 of 100");
                assert!(json[0].get("body").is_none(), "a summary: {json}");
            }
            ("tags-get.json", 200) => {
                assert_eq!(json, serde_json::json!({"tag": "aws", "count": 1}))
            }
            ("ratings-get.json", _) => {
                assert_eq!(json["count"], 1);
                assert_eq!(json["reviewCount"], 2);
            }
            ("reviews-update.json", _) => assert_eq!(json["title"], "Half Dome at sunrise"),
            ("articles-update.json", _) => {
                assert_eq!(json["tags"], serde_json::json!(["aws", "lambda"]))
            }
            _ => {}
        }
    }
}

/// The review `events/reviews-*.json` name, by alice (the events' caller).
async fn seed_review(app: &TestApp) {
    let event = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/reviews-get.json"),
    )
    .expect("event");
    let event: Value = serde_json::from_str(&event).expect("json");
    let id = event["pathParameters"]["id"].as_str().expect("id");
    let new: NewReview =
        parse_json(br#"{"subject":"park:yosemite","title":"Seeded","body":"b"}"#).expect("valid");
    let mut review = new.into_review(UserId::parse("alice").expect("id"), Timestamp::now());
    review.id = ReviewId::parse(id).expect("review id");
    app.state()
        .repo
        .create_review(review, None)
        .await
        .expect("seeded");
}

/// Event files of the functions that no route reaches.
const BACKGROUND_EVENTS: &[&str] = &["purge-user-", "reconcile-", "activity-", "pre-token-"];

#[tokio::test]
async fn every_event_file_is_a_valid_request() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).expect("events dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        // The background functions' events (a table stream, a schedule,
        // Cognito's trigger) are not requests; `purge-user` parses its own
        // in a unit test, tests/api/admin_mfa.rs reads pre-token's.
        if BACKGROUND_EVENTS
            .iter()
            .any(|prefix| name.starts_with(prefix))
        {
            continue;
        }
        let request = event(&name);
        assert!(request.uri().path().starts_with('/'), "{name}");
        let _router = function(&name);
        count += 1;
    }
    assert!(count >= 23, "{count} event files");
}
