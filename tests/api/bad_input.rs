//! Every route, fed malformed, oversized, wrongly typed and unauthorized
//! requests: each gets its documented status and changes nothing.

use hdoc_tests::{TestApp, json_of, problem};
use reqwest::Method;
use serde_json::{Value, json};

/// What the API shows of its state: users, leaderboard, articles and tags.
async fn snapshot(app: &TestApp) -> Vec<Value> {
    let mut state = Vec::new();
    for path in ["/users", "/leaderboard?limit=100", "/articles", "/tags"] {
        state.push(json_of(app.get(path).await, 200).await);
    }
    state
}

/// Sends a raw body with a content type.
async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    app.request(method, path, Some(token))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("request")
}

async fn assert_refuses_bad_bodies(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    valid: Value,
) {
    let before = snapshot(app).await;
    let json = "application/json";
    let cases: Vec<(&str, Vec<u8>, &str, u16)> = vec![
        ("malformed", b"{\"name\": ".to_vec(), json, 400),
        ("not an object", b"[1,2]".to_vec(), json, 400),
        ("empty", Vec::new(), json, 400),
        (
            "oversized",
            format!("{{\"name\": \"{}\"}}", "x".repeat(70 * 1024)).into_bytes(),
            json,
            413,
        ),
        (
            "not json",
            valid.to_string().into_bytes(),
            "text/plain",
            415,
        ),
        (
            "form",
            b"name=x".to_vec(),
            "application/x-www-form-urlencoded",
            415,
        ),
    ];
    for (case, body, content_type, status) in cases {
        let response = raw(app, method.clone(), path, token, content_type, body).await;
        let problem = problem(response, status).await;
        assert!(
            !problem.to_string().contains("hdoc-test"),
            "{case}: leaks the table: {problem}"
        );
    }
    let mut wrong_types = Vec::new();
    for (field, _) in valid.as_object().expect("object") {
        for wrong in [json!(12), json!(["x"]), json!({"a": 1}), json!(true)] {
            let mut body = valid.clone();
            body[field] = wrong;
            wrong_types.push((field.clone(), body));
        }
    }
    let mut unknown = valid.clone();
    unknown["isAdmin"] = json!(true);
    wrong_types.push(("isAdmin".into(), unknown));
    for (field, body) in wrong_types {
        let response = app
            .send_json(method.clone(), path, Some(token), &body)
            .await;
        if response.status() == 200 || response.status() == 201 {
            // A number is a valid type for no text field, but a string field given
            // a number must be refused; anything that got through is a bug.
            panic!("{field}: {body} was accepted");
        }
        let problem = problem(response, 400).await;
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains(&field)),
            "{field}: {problem}"
        );
        assert_eq!(problem["errors"][0]["field"], field.as_str());
    }
    let response = app.send_json(method.clone(), path, None, &valid).await;
    problem(response, 401).await;
    assert_eq!(
        snapshot(app).await,
        before,
        "{method} {path} changed something"
    );
}

#[tokio::test]
async fn post_users_refuses_bad_input() {
    let app = TestApp::spawn().await;
    app.user("sub-0", "existing").await;
    let token = app.token("sub-1", &[]).await;
    let valid = json!({"githubProfile": "newbie", "name": "Newbie", "bio": "b"});
    assert_refuses_bad_bodies(&app, Method::POST, "/users", &token, valid).await;
    let before = snapshot(&app).await;
    for (field, value) in [
        ("githubProfile", json!("-bad")),
        ("githubProfile", json!("a".repeat(40))),
        ("githubProfile", json!("")),
        ("name", json!("")),
        ("name", json!("n".repeat(101))),
        ("twitterProfile", json!("has space")),
        ("avatarImage", json!("ftp://x")),
        ("bio", json!("b".repeat(1001))),
        ("githubScore", json!(-1)),
    ] {
        let mut body = json!({"githubProfile": "newbie", "name": "Newbie"});
        body[field] = value;
        let response = app
            .send_json(Method::POST, "/users", Some(&token), &body)
            .await;
        let problem = problem(response, 400).await;
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let missing = json!({"name": "No id"});
    problem(
        app.send_json(Method::POST, "/users", Some(&token), &missing)
            .await,
        400,
    )
    .await;
    let scored = json!({"githubProfile": "newbie", "name": "N", "githubScore": 5});
    problem(
        app.send_json(Method::POST, "/users", Some(&token), &scored)
            .await,
        403,
    )
    .await;
    let derived = json!({"githubProfile": "newbie", "name": "N", "totalScore": 5});
    problem(
        app.send_json(Method::POST, "/users", Some(&token), &derived)
            .await,
        400,
    )
    .await;
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn put_users_refuses_bad_input() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    let valid = json!({"name": "Alice", "bio": "b", "twitterProfile": "alice"});
    assert_refuses_bad_bodies(&app, Method::PUT, "/users/alice", &token, valid).await;
    let before = snapshot(&app).await;
    for body in [
        json!({"id": "bob"}),
        json!({"githubProfile": "bob"}),
        json!({"githubScore": 1.5}),
        json!({"name": null}),
    ] {
        problem(
            app.send_json(Method::PUT, "/users/alice", Some(&token), &body)
                .await,
            400,
        )
        .await;
    }
    problem(
        app.send_json(
            Method::PUT,
            "/users/-bad-",
            Some(&token),
            &json!({"name": "x"}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn delete_and_get_users_refuse_bad_input() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    let before = snapshot(&app).await;
    problem(
        app.request(Method::DELETE, "/users/alice", None)
            .send()
            .await
            .expect("delete"),
        401,
    )
    .await;
    problem(
        app.request(Method::DELETE, "/users/alice", Some("x.y.z"))
            .send()
            .await
            .expect("delete"),
        401,
    )
    .await;
    problem(
        app.request(Method::DELETE, "/users/bad_id", Some(&token))
            .send()
            .await
            .expect("delete"),
        400,
    )
    .await;
    problem(app.get("/users/bad_id").await, 400).await;
    problem(app.get(&format!("/users/{}", "a".repeat(40))).await, 400).await;
    problem(app.get("/users/%FF").await, 400).await;
    for bad in ["0", "101", "abc", "", "5&limit=6"] {
        problem(app.get(&format!("/users?limit={bad}")).await, 400).await;
    }
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn post_articles_refuses_bad_input() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    let valid =
        json!({"title": "Hello", "subtitle": "d", "body": "b", "image": "https://x.example/c.png"});
    assert_refuses_bad_bodies(&app, Method::POST, "/articles", &token, valid).await;
    let before = snapshot(&app).await;
    let eleven: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
    for (field, value) in [
        ("title", json!("")),
        ("title", json!("t".repeat(201))),
        ("body", json!("b".repeat(50_001))),
        ("tags", json!(["?!"])),
        ("tags", json!(["x".repeat(33)])),
        ("tags", json!(eleven)),
        ("tags", json!("aws")),
        ("image", json!("not a url")),
    ] {
        let mut body = json!({"title": "Hello"});
        body[field] = value;
        let response = app
            .send_json(Method::POST, "/articles", Some(&token), &body)
            .await;
        let problem = problem(response, 400).await;
        assert!(
            problem["errors"][0]["field"]
                .as_str()
                .is_some_and(|f| f.starts_with(field)),
            "{problem}"
        );
    }
    problem(
        app.send_json(
            Method::POST,
            "/articles",
            Some(&token),
            &json!({"body": "no title"}),
        )
        .await,
        400,
    )
    .await;
    let slugged = json!({"title": "x", "slug": "chosen"});
    problem(
        app.send_json(Method::POST, "/articles", Some(&token), &slugged)
            .await,
        400,
    )
    .await;
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn put_and_delete_articles_refuse_bad_input() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    let body = json!({"title": "Hello", "tags": ["aws"]});
    json_of(
        app.send_json(Method::POST, "/articles", Some(&token), &body)
            .await,
        201,
    )
    .await;
    let valid = json!({"title": "Hello again", "subtitle": "d", "body": "b"});
    assert_refuses_bad_bodies(&app, Method::PUT, "/articles/hello", &token, valid).await;
    let before = snapshot(&app).await;
    for body in [
        json!({"slug": "new"}),
        json!({"author": "bob"}),
        json!({"title": null}),
        json!({"tags": null}),
        json!({"tags": [" "]}),
    ] {
        problem(
            app.send_json(Method::PUT, "/articles/hello", Some(&token), &body)
                .await,
            400,
        )
        .await;
    }
    problem(
        app.send_json(
            Method::PUT,
            "/articles/Bad_Slug",
            Some(&token),
            &json!({"title": "x"}),
        )
        .await,
        400,
    )
    .await;
    problem(
        app.request(Method::DELETE, "/articles/hello", None)
            .send()
            .await
            .expect("delete"),
        401,
    )
    .await;
    problem(
        app.request(Method::DELETE, "/articles/Bad_Slug", Some(&token))
            .send()
            .await
            .expect("delete"),
        400,
    )
    .await;
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn ten_thousand_tags_are_refused_without_being_read() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    let before = snapshot(&app).await;
    // 10,000 tags (256 distinct) in a body under the 64 KiB limit: refused
    // once the 41st is seen, not normalized and compared one against another.
    let tags: Vec<String> = (0..10_000).map(|i| format!("{:02x}", i % 256)).collect();
    let body = json!({"title": "Many", "tags": tags});
    assert!(body.to_string().len() < 65_536, "under the body limit");
    let response = app
        .send_json(Method::POST, "/articles", Some(&token), &body)
        .await;
    let problem = problem(response, 400).await;
    assert_eq!(problem["errors"][0]["field"], "tags", "{problem}");
    assert_eq!(
        problem["errors"][0]["message"], "at most 40 tags may be sent (10 once de-duplicated)",
        "{problem}"
    );
    assert_eq!(snapshot(&app).await, before);
    app.shutdown().await;
}

/// A refused value comes back as a short excerpt, never whole: a 60 KB
/// value of the wrong type, a 60 KB unknown field's name and a 60 KB title
/// each make an answer of well under two kilobytes (the longest is the
/// unknown field's: it lists the fields a profile has).
#[tokio::test]
async fn an_error_quotes_a_short_excerpt_of_what_it_refuses() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    let before = snapshot(&app).await;
    let huge = "z".repeat(60_000);
    let mut unknown = serde_json::Map::new();
    unknown.insert(huge.clone(), json!(1));
    for (path, body) in [
        ("/users/alice", json!({"name": 7, "bio": huge.clone()})),
        ("/users/alice", json!({"bio": [huge.clone()]})),
        ("/users/alice", Value::Object(unknown)),
        ("/articles", json!({"title": huge.clone()})),
        (
            "/articles",
            json!({"title": "Fine", "tags": [huge.clone()]}),
        ),
    ] {
        let method = if path == "/articles" {
            Method::POST
        } else {
            Method::PUT
        };
        let response = app.send_json(method, path, Some(&token), &body).await;
        let bytes = response.content_length();
        let answer = problem(response, 400).await;
        let size = answer.to_string().len();
        assert!(size < 2_000, "{path}: {size} bytes: {answer}");
        assert!(bytes.is_none_or(|n| n < 2_000), "{path}: {bytes:?}");
    }
    assert_eq!(snapshot(&app).await, before);
    app.shutdown().await;
}
