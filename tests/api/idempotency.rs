//! `Idempotency-Key` on every create (`POST /users`, `/articles`,
//! `/reviews`, `/reviews/{id}/photos`): a repeat is the first answer again,
//! byte for byte, and writes nothing; another body is a 422; another
//! caller's key is its own; a record past its expiry is absent.

use futures_util::future::join_all;
use hdoc_shared::store::schema::TTL;
use hdoc_tests::{TestApp, json_of, problem};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

/// One answer, as the client saw it.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    location: Option<String>,
    content_type: Option<String>,
    retry_after: Option<String>,
    body: String,
}

/// `POST path` with `body`, and `Idempotency-Key: key` if given.
async fn post(app: &TestApp, path: &str, token: &str, key: Option<&str>, body: &Value) -> Answer {
    post_text(app, path, token, key, body.to_string()).await
}

/// `POST path` with the JSON text `body`.
async fn post_text(
    app: &TestApp,
    path: &str,
    token: &str,
    key: Option<&str>,
    body: String,
) -> Answer {
    let mut request = app
        .request(Method::POST, path, Some(token))
        .header("content-type", "application/json")
        .body(body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.expect("answered");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().expect("ascii").to_owned())
    };
    Answer {
        status: response.status().as_u16(),
        location: header("location"),
        content_type: header("content-type"),
        retry_after: header("retry-after"),
        body: response.text().await.expect("body"),
    }
}

fn json(answer: &Answer) -> Value {
    serde_json::from_str(&answer.body).expect("JSON")
}

/// How many articles have `title`.
async fn articles_titled(app: &TestApp, title: &str) -> usize {
    let (all, _) = app.all_pages("/articles?limit=100").await;
    all.iter().filter(|a| a["title"] == title).count()
}

/// Every tag's count as `GET /tags` shows it.
async fn tag_counts(app: &TestApp) -> Value {
    json_of(app.get("/tags").await, 200).await
}

/// The idempotency records in the table (a test's table is small).
async fn records(app: &TestApp) -> Vec<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let repo = &app.state().repo;
    let out = repo
        .client()
        .scan()
        .table_name(repo.table())
        .filter_expression("SK = :sk")
        .expression_attribute_values(
            ":sk",
            aws_sdk_dynamodb::types::AttributeValue::S("IDEMPOTENCY".into()),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("scan");
    out.items.unwrap_or_default()
}

#[tokio::test]
async fn a_repeated_create_answers_the_first_answer_and_creates_once() {
    let app = TestApp::spawn().await;
    let token = app.token("sub-alice", &[]).await;

    // A profile: without a key the second POST would be a 409.
    let profile = json!({"githubProfile": "alice", "name": "Alice"});
    let first = post(&app, "/users", &token, Some("profile-1"), &profile).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.location.as_deref(), Some("/users/alice"));
    assert_eq!(first.content_type.as_deref(), Some("application/json"));
    let again = post(&app, "/users", &token, Some("profile-1"), &profile).await;
    assert_eq!(again, first);
    let board = json_of(app.get("/leaderboard").await, 200).await;
    assert_eq!(board.as_array().map(Vec::len), Some(1), "{board}");

    // An article: one, counted once in its tags.
    let article = json!({"title": "Day 1", "body": "b", "tags": ["AWS", "rust"]});
    let first = post(&app, "/articles", &token, Some("article 1"), &article).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let tags = tag_counts(&app).await;
    for _ in 0..2 {
        let again = post(&app, "/articles", &token, Some("article 1"), &article).await;
        assert_eq!(again, first);
    }
    assert_eq!(articles_titled(&app, "Day 1").await, 1);
    assert_eq!(tag_counts(&app).await, tags);

    // A review: one, counted once in its subject's summary.
    let review = json!({"subject": "park:zion", "title": "Wow", "body": "Angels Landing"});
    let first = post(&app, "/reviews", &token, Some("review-1"), &review).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let again = post(&app, "/reviews", &token, Some("review-1"), &review).await;
    assert_eq!(again, first);
    let summary = json_of(app.get("/ratings/park:zion").await, 200).await;
    assert_eq!(summary["reviewCount"], 1, "{summary}");
    let listed = json_of(app.get("/reviews?subject=park:zion").await, 200).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));

    // A photo upload: one slot of the six, however often it is asked for.
    let photos = format!("{}/photos", first.location.as_deref().expect("location"));
    let photo = json!({"contentType": "image/png", "contentLength": 100});
    let first = post(&app, &photos, &token, Some("photo-1"), &photo).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.location, None);
    for _ in 0..3 {
        assert_eq!(
            post(&app, &photos, &token, Some("photo-1"), &photo).await,
            first
        );
    }
    for n in 2..=6 {
        let key = format!("photo-{n}");
        let other = post(&app, &photos, &token, Some(&key), &photo).await;
        assert_eq!(other.status, 201, "photo {n}: {}", other.body);
    }
    let seventh = post(&app, &photos, &token, Some("photo-7"), &photo).await;
    assert_eq!(seventh.status, 409, "{}", seventh.body);
    assert_eq!(
        post(&app, &photos, &token, Some("photo-1"), &photo).await,
        first,
        "the first answer, even now the review is full"
    );

    app.assert_no_drift().await;
    app.shutdown().await;
}

#[tokio::test]
async fn concurrent_repeats_create_once_and_each_answer_is_the_first_or_a_409() {
    let app = TestApp::spawn().await;
    let token = app.token("sub-alice", &[]).await;
    let cases = [
        ("/users", json!({"githubProfile": "alice", "name": "Alice"})),
        ("/articles", json!({"title": "Same", "tags": ["aws"]})),
        (
            "/reviews",
            json!({"subject": "park:zion", "title": "t", "body": "b"}),
        ),
    ];
    for (path, body) in &cases {
        let key = format!("twin {path}");
        let answers = join_all((0..8).map(|_| post(&app, path, &token, Some(&key), body))).await;
        let first = answers
            .iter()
            .find(|a| a.status == 201)
            .unwrap_or_else(|| panic!("{path}: no 201 in {answers:?}"));
        for answer in &answers {
            if answer.status == 409 {
                let detail = problem_detail(answer);
                assert!(detail.contains("Idempotency-Key"), "{path}: {detail}");
                assert_eq!(answer.retry_after.as_deref(), Some("1"), "{path}");
            } else {
                assert_eq!(answer, first, "{path}");
            }
        }
        eprintln!(
            "{path}: {} of 8 answered 201, the others 409",
            answers.iter().filter(|a| a.status == 201).count()
        );
    }
    let board = json_of(app.get("/leaderboard").await, 200).await;
    assert_eq!(board.as_array().map(Vec::len), Some(1), "one profile");
    assert_eq!(articles_titled(&app, "Same").await, 1);
    assert_eq!(tag_counts(&app).await, json!([{"tag": "aws", "count": 1}]));
    let summary = json_of(app.get("/ratings/park:zion").await, 200).await;
    assert_eq!(summary["reviewCount"], 1, "{summary}");
    app.assert_no_drift().await;
    app.shutdown().await;
}

fn problem_detail(answer: &Answer) -> String {
    assert_eq!(
        answer.content_type.as_deref(),
        Some("application/problem+json")
    );
    json(answer)["detail"].as_str().expect("detail").to_owned()
}

#[tokio::test]
async fn the_same_key_with_another_body_or_path_is_a_422_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-alice", "alice").await;
    let article = json!({"title": "First", "tags": ["aws"]});
    let first = post(&app, "/articles", &token, Some("k"), &article).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let tags = tag_counts(&app).await;

    let other = json!({"title": "Second", "tags": ["rust"]});
    let refused = post(&app, "/articles", &token, Some("k"), &other).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(problem_detail(&refused).contains("Idempotency-Key"));
    // The same JSON written otherwise is another body too: keys hash bytes.
    let respaced = r#"{ "title": "First", "tags": ["aws"] }"#.to_owned();
    let respaced = post_text(&app, "/articles", &token, Some("k"), respaced).await;
    assert_eq!(respaced.status, 422, "{}", respaced.body);
    let review = json!({"subject": "park:zion", "title": "t", "body": "b"});
    let elsewhere = post(&app, "/reviews", &token, Some("k"), &review).await;
    assert_eq!(elsewhere.status, 422, "{}", elsewhere.body);

    assert_eq!(articles_titled(&app, "Second").await, 0);
    assert_eq!(tag_counts(&app).await, tags);
    let reviews = json_of(app.get("/reviews?subject=park:zion").await, 200).await;
    assert_eq!(reviews, json!([]));
    // The key still answers its own request.
    assert_eq!(
        post(&app, "/articles", &token, Some("k"), &article).await,
        first
    );
    app.shutdown().await;
}

#[tokio::test]
async fn another_caller_with_the_same_key_makes_its_own() {
    let app = TestApp::spawn().await;
    let alice = app.user("sub-alice", "alice").await;
    let bob = app.user("sub-bob", "bob").await;
    let article = json!({"title": "Hello", "tags": ["aws"]});
    let of_alice = post(&app, "/articles", &alice, Some("shared-key"), &article).await;
    let of_bob = post(&app, "/articles", &bob, Some("shared-key"), &article).await;
    assert_eq!((of_alice.status, of_bob.status), (201, 201));
    assert_ne!(of_alice.location, of_bob.location);
    assert_eq!(json(&of_alice)["author"], "alice");
    assert_eq!(json(&of_bob)["author"], "bob");
    assert_eq!(articles_titled(&app, "Hello").await, 2);
    // Each caller's repeat is its own first answer.
    assert_eq!(
        post(&app, "/articles", &bob, Some("shared-key"), &article).await,
        of_bob
    );
    // The records' keys hold a hash of the caller, never the caller.
    for record in records(&app).await {
        let pk = record["PK"].as_s().expect("PK");
        assert!(!pk.contains("sub-"), "{pk}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn keys_that_are_not_1_to_255_printable_ascii_are_400s_naming_the_header() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-alice", "alice").await;
    let article = json!({"title": "Keyed", "tags": ["aws"]});
    let long = "k".repeat(256);
    let bad: [&[u8]; 5] = [b"", long.as_bytes(), "ключ".as_bytes(), b"a\tb", b"caf\xe9"];
    for key in bad {
        let response = app
            .request(Method::POST, "/articles", Some(&token))
            .header(
                "idempotency-key",
                reqwest::header::HeaderValue::from_bytes(key).expect("a header value"),
            )
            .json(&article)
            .send()
            .await
            .expect("answered");
        let body = problem(response, 400).await;
        assert_eq!(
            body["errors"][0]["field"], "Idempotency-Key",
            "{key:?}: {body}"
        );
    }
    let twice = app
        .request(Method::POST, "/articles", Some(&token))
        .header("idempotency-key", "a")
        .header("idempotency-key", "b")
        .json(&article)
        .send()
        .await
        .expect("answered");
    problem(twice, 400).await;
    assert_eq!(articles_titled(&app, "Keyed").await, 0, "nothing written");
    assert!(records(&app).await.is_empty());
    assert_eq!(tag_counts(&app).await, json!([]));

    let longest = format!("{} ~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{{|}}", "k".repeat(222));
    assert_eq!(longest.len(), 255);
    let created = post(&app, "/articles", &token, Some(&longest), &article).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        post(&app, "/articles", &token, Some(&longest), &article).await,
        created
    );
    app.shutdown().await;
}

#[tokio::test]
async fn without_the_header_a_create_is_as_before() {
    let app = TestApp::spawn().await;
    let token = app.token("sub-alice", &[]).await;
    let profile = json!({"githubProfile": "alice", "name": "Alice"});
    assert_eq!(
        post(&app, "/users", &token, None, &profile).await.status,
        201
    );
    assert_eq!(
        post(&app, "/users", &token, None, &profile).await.status,
        409
    );
    let article = json!({"title": "Twice", "tags": ["aws"]});
    let first = post(&app, "/articles", &token, None, &article).await;
    let second = post(&app, "/articles", &token, None, &article).await;
    assert_eq!((first.status, second.status), (201, 201));
    assert_ne!(first.location, second.location, "two articles");
    assert_eq!(articles_titled(&app, "Twice").await, 2);
    assert_eq!(tag_counts(&app).await, json!([{"tag": "aws", "count": 2}]));
    assert!(records(&app).await.is_empty(), "no record without a key");
    app.shutdown().await;
}

/// `POST path` with `body` and `key` through the articles function on
/// `state`, as `sub`: the status and the body.
async fn post_on(
    state: &hdoc_shared::AppState,
    sub: &str,
    key: &str,
    body: &Value,
) -> (u16, Value) {
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/articles")
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(axum::body::Body::from(body.to_string()))
        .expect("request");
    let claims = Some(json!({"sub": sub}));
    let (status, bytes) = hdoc_tests::invoke(articles::routes(), state, request, claims).await;
    (status, serde_json::from_slice(&bytes).expect("JSON"))
}

#[tokio::test]
async fn a_record_past_its_expiry_is_absent_and_written_over() {
    let app = TestApp::spawn().await;
    app.user("sub-alice", "alice").await;
    let ttl = app
        .state()
        .repo
        .client()
        .describe_time_to_live()
        .table_name(app.state().repo.table())
        .send()
        .await
        .expect("describe time to live");
    let ttl = ttl.time_to_live_description().expect("a description");
    assert_eq!(
        ttl.attribute_name(),
        Some(TTL),
        "the table expires records by TTL"
    );

    // The same API with a window of 0: each record is past its expiry as
    // soon as it is written, and stays in the table (TTL deletes lazily).
    let mut expiring = app.state().clone();
    expiring.repo = expiring.repo.with_idempotency_window(Duration::ZERO);
    let article = json!({"title": "Again", "tags": ["aws"]});
    let (status, first) = post_on(&expiring, "sub-alice", "k", &article).await;
    assert_eq!(status, 201, "{first}");
    let stored = records(&app).await;
    assert_eq!(stored.len(), 1, "the record is there, expired");
    let (status, second) = post_on(&expiring, "sub-alice", "k", &article).await;
    assert_eq!(status, 201, "{second}");
    assert_ne!(first["slug"], second["slug"], "a second article");
    assert_eq!(articles_titled(&app, "Again").await, 2);

    // The expired record was written over, once: it holds the second answer.
    let stored = records(&app).await;
    assert_eq!(stored.len(), 1);
    let body: Value = serde_json::from_str(stored[0]["body"].as_s().expect("body")).expect("JSON");
    assert_eq!(body, second);

    // With the real window the expired record is still absent: a third
    // article, whose record then answers for 24 hours.
    let token = app.token("sub-alice", &[]).await;
    let third = post(&app, "/articles", &token, Some("k"), &article).await;
    assert_eq!(third.status, 201, "{}", third.body);
    assert_ne!(json(&third)["slug"], second["slug"]);
    assert_eq!(
        post(&app, "/articles", &token, Some("k"), &article).await,
        third
    );
    assert_eq!(articles_titled(&app, "Again").await, 3);
    assert_eq!(tag_counts(&app).await, json!([{"tag": "aws", "count": 3}]));
    app.shutdown().await;
}
