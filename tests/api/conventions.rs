use hdoc_tests::{TestApp, json_of, problem};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn preflights_answer_204_for_allowed_origins() {
    let app = TestApp::spawn().await;
    let response = app
        .request(Method::OPTIONS, "/users", None)
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,authorization,x-amz-date,x-api-key,x-requested-with,idempotency-key",
        )
        .send()
        .await
        .expect("preflight");
    assert_eq!(response.status(), 204);
    let headers = response.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example"
    );
    let allowed = headers["access-control-allow-headers"]
        .to_str()
        .expect("ascii");
    for header in [
        "content-type",
        "x-amz-date",
        "authorization",
        "x-api-key",
        "x-requested-with",
        "idempotency-key",
    ] {
        assert!(allowed.contains(header), "{header} in {allowed}");
    }
    let methods = headers["access-control-allow-methods"]
        .to_str()
        .expect("ascii");
    for method in ["GET", "POST", "PUT", "DELETE"] {
        assert!(methods.contains(method), "{method} in {methods}");
    }
}

#[tokio::test]
async fn other_origins_get_no_cors_grant() {
    let app = TestApp::spawn().await;
    let response = app
        .request(Method::GET, "/leaderboard", None)
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let response = app
        .request(Method::GET, "/leaderboard", None)
        .header("origin", "https://app.example")
        .send()
        .await
        .expect("get");
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example"
    );
}

#[tokio::test]
async fn unknown_paths_are_404_and_unknown_methods_405_as_problems() {
    let app = TestApp::spawn().await;
    problem(app.get("/nope").await, 404).await;
    problem(app.get("/users/alice/extra").await, 404).await;
    let response = app
        .request(Method::PATCH, "/users/alice", None)
        .send()
        .await
        .expect("patch");
    problem(response, 405).await;
    let response = app
        .request(Method::DELETE, "/leaderboard", None)
        .send()
        .await
        .expect("delete");
    problem(response, 405).await;
}

#[tokio::test]
async fn protected_routes_refuse_missing_bad_and_expired_tokens() {
    let app = TestApp::spawn().await;
    let body = json!({"githubProfile": "alice", "name": "Alice"});
    problem(
        app.send_json(Method::POST, "/users", None, &body).await,
        401,
    )
    .await;
    problem(
        app.send_json(Method::POST, "/users", Some("not-a-jwt"), &body)
            .await,
        401,
    )
    .await;
    let foreign = hdoc_local::jwt::mint("another-secret", "alice", &[], 2_000_000_000);
    problem(
        app.send_json(Method::POST, "/users", Some(&foreign), &body)
            .await,
        401,
    )
    .await;
    let expired = hdoc_local::jwt::mint("test-secret", "alice", &[], 1_000_000_000);
    problem(
        app.send_json(Method::POST, "/users", Some(&expired), &body)
            .await,
        401,
    )
    .await;
    assert_eq!(json_of(app.get("/users").await, 200).await, json!([]));
    // Reads are public: a bad token on a public route is ignored, as API Gateway would.
    json_of(
        app.request(Method::GET, "/users", Some("garbage"))
            .send()
            .await
            .expect("get"),
        200,
    )
    .await;
}

#[tokio::test]
async fn dev_tokens_carry_groups_to_the_functions() {
    let app = TestApp::spawn().await;
    let user = app.user("sub-1", "alice").await;
    let body = json!({"githubScore": 1});
    problem(
        app.send_json(Method::PUT, "/users/alice", Some(&user), &body)
            .await,
        403,
    )
    .await;
    let admin = app.token("boss", &["dev", "admin"]).await;
    json_of(
        app.send_json(Method::PUT, "/users/alice", Some(&admin), &body)
            .await,
        200,
    )
    .await;
    problem(
        app.send_json(Method::POST, "/_dev/token", None, &json!({"sub": ""}))
            .await,
        400,
    )
    .await;
    problem(
        app.send_json(
            Method::POST,
            "/_dev/token",
            None,
            &json!({"sub": "a", "x": 1}),
        )
        .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn a_forged_or_foreign_cursor_is_a_400() {
    let app = TestApp::spawn().await;
    for i in 0..3 {
        app.user(&format!("sub-{i}"), &format!("user{i}")).await;
    }
    let response = app.get("/users?limit=1").await;
    let next = hdoc_tests::next_link(&response).expect("next page");
    let cursor = next.split("cursor=").nth(1).expect("cursor").to_owned();
    json_of(app.get(&next).await, 200).await;
    problem(app.get(&format!("/leaderboard?cursor={cursor}")).await, 400).await;
    let (payload, _) = cursor.split_once('.').expect("payload.tag");
    problem(
        app.get(&format!("/users?cursor={payload}.AAAAAAAAAAAAAAAAAAAAAA"))
            .await,
        400,
    )
    .await;
    problem(app.get("/users?cursor=hello").await, 400).await;
}

/// Behind the front end's `/api` rewrites, a client following `Link`
/// stays under `/api` (`HDOC_LINK_BASE_PATH`).
#[tokio::test]
async fn links_start_with_the_configured_public_base_path() {
    let app = TestApp::spawn_configured(hdoc_tests::dynamodb_endpoint(), |config| {
        config.link_base_path = "/api".to_owned();
    })
    .await;
    for i in 0..3 {
        app.user(&format!("sub-{i}"), &format!("user{i}")).await;
    }
    let response = app.get("/users?order=newest&limit=2").await;
    let next = hdoc_tests::next_link(&response).expect("next page");
    assert!(
        next.starts_with("/api/users?order=newest&limit=2&cursor="),
        "{next}"
    );
    // What the front end's rewrite of /api/users does: drop the prefix.
    let rest = next.strip_prefix("/api").expect("under /api");
    let page = json_of(app.get(rest).await, 200).await;
    assert_eq!(page[0]["id"], "user0");
}

#[tokio::test]
async fn every_problem_carries_its_detail_as_message() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    let answers = [
        app.get("/users/-bad-").await,
        app.get("/users/nobody").await,
        app.get("/no/such/path").await,
        app.request(Method::PATCH, "/users", None)
            .send()
            .await
            .expect("patch"),
        app.request(Method::POST, "/users", None)
            .send()
            .await
            .expect("post"),
        app.send_json(
            Method::POST,
            "/users",
            Some(&token),
            &json!({"githubProfile": "bob", "name": "Bob"}),
        )
        .await,
        app.request(Method::POST, "/articles", Some(&token))
            .header("content-type", "text/plain")
            .body("hi")
            .send()
            .await
            .expect("post"),
    ];
    let mut statuses = Vec::new();
    for response in answers {
        let status = response.status().as_u16();
        let body = problem(response, status).await;
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        statuses.push(status);
    }
    assert_eq!(statuses, [400, 404, 404, 405, 401, 409, 415]);
}

#[tokio::test]
async fn dev_routes_refuse_other_hosts_and_origins() {
    let app = TestApp::spawn().await;
    // Straight to hdoc-local: a Host the test chooses is sent as given.
    let dev = |path: &str| app.http.post(format!("{}{path}", app.base));
    let token = json!({"sub": "mallory"});
    for (host, origin) in [
        (Some("evil.example"), None),
        (Some("localhost.evil.example:3000"), None),
        (None, Some("https://evil.example")),
        (None, Some("null")),
    ] {
        let mut request = dev("/_dev/token").json(&token);
        if let Some(host) = host {
            request = request.header("host", host);
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.expect("request");
        let body = problem(response, 403).await;
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("loopback")),
            "{host:?} {origin:?}: {body}"
        );
    }
    let refused = dev("/_dev/reconcile")
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("request");
    problem(refused, 403).await;
    // This machine's pages, and no page at all, are served.
    for origin in [
        None,
        Some("http://localhost:8080"),
        Some("http://127.0.0.1:3000"),
    ] {
        let mut request = dev("/_dev/token").json(&token);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        json_of(request.send().await.expect("request"), 200).await;
    }
    app.shutdown().await;
}
