//! HTTP caching (contract v3, "Conventions"; `shared/src/http/caching.rs`):
//! strong `ETag`s and bodiless 304s on public reads, `Cache-Control` on every
//! answer, over HTTP against `hdoc-local` and through a function's router
//! with the API Gateway event Lambda gets: one code path.

use hdoc_tests::{TestApp, api_gateway_event, json_of, next_link, problem};
use lambda_http::tower::ServiceExt;
use reqwest::{Method, Response};
use serde_json::json;
use std::collections::BTreeMap;

const PUBLIC: &str = "public, max-age=0, s-maxage=30, stale-while-revalidate=30";
const PRIVATE: &str = "private, no-store";

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().expect("ASCII").to_owned())
}

/// `GET path` with `If-None-Match: tag`.
async fn get_if_none_match(app: &TestApp, path: &str, tag: &str) -> Response {
    app.request(Method::GET, path, None)
        .header("if-none-match", tag)
        .send()
        .await
        .expect("GET")
}

/// The DynamoDB calls `app` made since `before`.
fn calls_since(app: &TestApp, before: &BTreeMap<&'static str, u32>) -> Vec<(&'static str, u32)> {
    app.usage()
        .calls
        .iter()
        .map(|(op, n)| (*op, n - before.get(op).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[tokio::test]
async fn a_public_read_has_a_strong_etag_and_a_matching_one_gets_a_bodiless_304() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    let first = app.get("/users/alice").await;
    let etag = header(&first, "etag").expect("an ETag");
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "{etag}");
    assert_eq!(header(&first, "cache-control").as_deref(), Some(PUBLIC));
    assert_eq!(
        header(&first, "x-content-type-options").as_deref(),
        Some("nosniff")
    );
    let body = json_of(first, 200).await;
    // The same answer, the same tag.
    assert_eq!(
        header(&app.get("/users/alice").await, "etag"),
        Some(etag.clone())
    );

    // A matching If-None-Match: 304, no body, the same validators, and no
    // more DynamoDB than the 200 (the tag is the answer's hash, not a read).
    let before = app.usage().calls;
    let fresh = app.get("/users/alice").await;
    let read_200 = calls_since(&app, &before);
    let before = app.usage().calls;
    let not_modified = get_if_none_match(&app, "/users/alice", &etag).await;
    assert_eq!(calls_since(&app, &before), read_200);
    assert_eq!(read_200, [("GetItem", 1)]);
    assert_eq!(fresh.status(), 200);
    assert_eq!(not_modified.status(), 304);
    assert_eq!(header(&not_modified, "etag"), Some(etag.clone()));
    assert_eq!(
        header(&not_modified, "cache-control").as_deref(),
        Some(PUBLIC)
    );
    assert_eq!(header(&not_modified, "content-type"), None);
    assert!(not_modified.bytes().await.expect("body").is_empty());
    // Weakly compared, in a list, or `*`; another tag reads as usual.
    for tag in [
        format!("W/{etag}"),
        format!("\"x\", {etag}"),
        "*".to_owned(),
    ] {
        assert_eq!(
            get_if_none_match(&app, "/users/alice", &tag).await.status(),
            304,
            "{tag}"
        );
    }
    let other = get_if_none_match(&app, "/users/alice", "\"x\"").await;
    assert_eq!(json_of(other, 200).await, body);

    // A write changes the answer, so the old tag no longer holds.
    app.send_json(
        Method::PUT,
        "/users/alice",
        Some(&token),
        &json!({"bio": "new"}),
    )
    .await;
    let changed = get_if_none_match(&app, "/users/alice", &etag).await;
    let new_tag = header(&changed, "etag").expect("an ETag");
    assert_ne!(new_tag, etag);
    assert_eq!(json_of(changed, 200).await["bio"], "new");
}

#[tokio::test]
async fn every_public_list_and_item_is_cacheable() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    let article = json!({"title": "Day 1", "subtitle": "s", "body": "b", "tags": ["AWS"]});
    json_of(
        app.send_json(Method::POST, "/articles", Some(&token), &article)
            .await,
        201,
    )
    .await;
    let review = json!({"subject": "park:yosemite", "title": "Wow", "body": "Half Dome"});
    let review = json_of(
        app.send_json(Method::POST, "/reviews", Some(&token), &review)
            .await,
        201,
    )
    .await;
    let review_path = format!("/reviews/{}", review["id"].as_str().expect("id"));
    for path in [
        "/users",
        "/users?order=newest&limit=10",
        "/users/alice",
        "/leaderboard?limit=5",
        "/articles",
        "/articles?tag=aws&limit=5",
        "/articles/day-1",
        "/tags?limit=20",
        "/tags/aws",
        "/reviews?subject=park:yosemite",
        &review_path,
        "/ratings/park:yosemite",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            header(&response, "cache-control").as_deref(),
            Some(PUBLIC),
            "{path}"
        );
        let etag = header(&response, "etag").expect("an ETag");
        let again = get_if_none_match(&app, path, &etag).await;
        assert_eq!(again.status(), 304, "{path}");
    }
}

#[tokio::test]
async fn a_page_that_gains_a_next_page_is_a_new_answer() {
    let app = TestApp::spawn().await;
    app.user("sub-1", "alice").await;
    let alone = app.get("/users?limit=1").await;
    assert_eq!(next_link(&alone), None);
    let etag = header(&alone, "etag").expect("an ETag");
    let body = json_of(alone, 200).await;
    app.user("sub-2", "bob").await;
    // The same one user, but now with a Link to the next page: not a 304.
    let now = get_if_none_match(&app, "/users?limit=1", &etag).await;
    assert!(next_link(&now).is_some());
    assert_ne!(header(&now, "etag"), Some(etag));
    let etag = header(&now, "etag").expect("an ETag");
    assert_eq!(json_of(now, 200).await, body);
    // A 304 of it says nothing about a body: no Link, no content type.
    let same = get_if_none_match(&app, "/users?limit=1", &etag).await;
    assert_eq!(same.status(), 304);
    assert_eq!(header(&same, "link"), None);
}

#[tokio::test]
async fn answers_for_a_caller_writes_and_errors_are_private_and_never_304() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    app.send_json(
        Method::PUT,
        "/ratings/park:yosemite",
        Some(&token),
        &json!({"stars": 4}),
    )
    .await;
    for path in ["/me", "/ratings/park:yosemite/mine"] {
        let response = app
            .request(Method::GET, path, Some(&token))
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            header(&response, "cache-control").as_deref(),
            Some(PRIVATE),
            "{path}"
        );
        assert_eq!(header(&response, "etag"), None, "{path}");
        // Even `*` is no match: nothing is shared or validated for a caller.
        let again = app
            .request(Method::GET, path, Some(&token))
            .header("if-none-match", "*")
            .send()
            .await
            .expect("GET");
        assert_eq!(again.status(), 200, "{path}");
    }
    let write = app
        .send_json(
            Method::PUT,
            "/users/alice",
            Some(&token),
            &json!({"bio": "b"}),
        )
        .await;
    assert_eq!(header(&write, "cache-control").as_deref(), Some(PRIVATE));
    assert_eq!(header(&write, "etag"), None);
    for response in [
        app.get("/users/nobody").await,
        app.get("/users?limit=0").await,
        app.get("/me").await,
    ] {
        assert_eq!(header(&response, "cache-control").as_deref(), Some(PRIVATE));
        assert_eq!(header(&response, "etag"), None);
        let status = response.status().as_u16();
        problem(response, status).await;
    }
}

#[tokio::test]
async fn the_cache_lifetime_is_one_setting() {
    let app = TestApp::spawn_configured(hdoc_tests::dynamodb_endpoint(), |config| {
        config.cache_seconds = 300;
    })
    .await;
    let response = app.get("/leaderboard").await;
    assert_eq!(
        header(&response, "cache-control").as_deref(),
        Some("public, max-age=0, s-maxage=150, stale-while-revalidate=150")
    );
    let app = TestApp::spawn_configured(hdoc_tests::dynamodb_endpoint(), |config| {
        config.cache_seconds = 0;
    })
    .await;
    let response = app.get("/leaderboard").await;
    assert_eq!(
        header(&response, "cache-control").as_deref(),
        Some("public, no-cache")
    );
    let etag = header(&response, "etag").expect("still validated");
    assert_eq!(
        get_if_none_match(&app, "/leaderboard", &etag)
            .await
            .status(),
        304
    );
}

/// The API Gateway event Lambda hands the users function, through its
/// router: the same `ETag` as over HTTP, the same 304.
#[tokio::test]
async fn lambda_answers_with_the_same_etag_and_304_as_hdoc_local() {
    let app = TestApp::spawn().await;
    let token = app.token("7f1c2a9e-0000-4000-8000-000000000001", &[]).await;
    let alice = json!({"githubProfile": "alice", "name": "Alice"});
    json_of(
        app.send_json(Method::POST, "/users", Some(&token), &alice)
            .await,
        201,
    )
    .await;
    let over_http = header(&app.get("/users/alice").await, "etag").expect("an ETag");

    let service = || hdoc_shared::http::app(users::routes(), app.state().clone());
    let event = api_gateway_event("users-get.json");
    let response = service().oneshot(event).await.expect("infallible");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], over_http.as_str());
    assert_eq!(response.headers()["cache-control"], PUBLIC);

    let mut event = api_gateway_event("users-get.json");
    event
        .headers_mut()
        .insert("if-none-match", over_http.parse().expect("header"));
    let response = service().oneshot(event).await.expect("infallible");
    assert_eq!(response.status(), 304);
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    assert!(body.is_empty());

    let response = service()
        .oneshot(api_gateway_event("users-me.json"))
        .await
        .expect("infallible");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], PRIVATE);
    assert!(response.headers().get("etag").is_none());
}
