use futures_util::future::join_all;
use hdoc_tests::{TestApp, json_of, next_link, problem};
use reqwest::Method;
use serde_json::{Value, json};

async fn review(app: &TestApp, token: &str, subject: &str, title: &str) -> Value {
    let body = json!({"subject": subject, "title": title, "body": "Lovely."});
    json_of(
        app.send_json(Method::POST, "/reviews", Some(token), &body)
            .await,
        201,
    )
    .await
}

#[tokio::test]
async fn creating_a_review_counts_it_in_the_summary() {
    let app = TestApp::spawn().await;
    let alice = app.user("sub-a", "Alice").await;
    let body = json!({"subject": "park:yosemite", "title": "Great", "body": "Half Dome!"});
    let response = app
        .send_json(Method::POST, "/reviews", Some(&alice), &body)
        .await;
    let location = response.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let created = json_of(response, 201).await;
    let id = created["id"].as_str().expect("id");
    assert_eq!(location, format!("/reviews/{id}"));
    assert_eq!(created["subject"], "park:yosemite");
    assert_eq!(created["author"], "Alice");
    assert_eq!(created["photos"], json!([]));
    assert_eq!(json_of(app.get(&location).await, 200).await, created);
    assert_eq!(
        json_of(app.get("/ratings/park:yosemite").await, 200).await["reviewCount"],
        1
    );
}

#[tokio::test]
async fn reviews_list_by_subject_or_author_newest_first_to_the_end() {
    let app = TestApp::spawn().await;
    let alice = app.user("sub-a", "alice").await;
    let bob = app.user("sub-b", "bob").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let token = if i % 2 == 0 { &alice } else { &bob };
        ids.push(
            review(&app, token, "park:zion", &format!("R{i}")).await["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    review(&app, &alice, "park:other", "Elsewhere").await;
    let mut seen = Vec::new();
    let mut path = "/reviews?subject=park:zion&limit=2".to_owned();
    loop {
        let response = app.get(&path).await;
        let next = next_link(&response);
        let page = json_of(response, 200).await;
        seen.extend(
            page.as_array()
                .expect("array")
                .iter()
                .map(|r| r["id"].as_str().expect("id").to_owned()),
        );
        match next {
            Some(next) => path = next,
            None => break,
        }
    }
    ids.reverse();
    // UUID v7 ids sort by creation, and entries sort by (second, id): newest first.
    assert_eq!(seen, ids);
    let by_alice = json_of(app.get("/reviews?author=ALICE").await, 200).await;
    assert_eq!(by_alice.as_array().map(Vec::len), Some(4));
    assert!(
        by_alice
            .as_array()
            .expect("array")
            .iter()
            .all(|r| r["author"] == "alice")
    );
    for bad in [
        "",
        "?subject=a&author=b",
        "?subject=Bad!",
        "?author=-x",
        "?subject=a&limit=0",
        "?subject=a&cursor=x",
    ] {
        problem(app.get(&format!("/reviews{bad}")).await, 400).await;
    }
}

#[tokio::test]
async fn only_the_author_edits_and_the_author_or_an_admin_deletes() {
    let app = TestApp::spawn().await;
    let alice = app.user("sub-a", "alice").await;
    let bob = app.user("sub-b", "bob").await;
    let admin = app.admin().await;
    let created = review(&app, &alice, "park:x", "Mine").await;
    let path = format!("/reviews/{}", created["id"].as_str().expect("id"));
    let edit = json!({"title": "Edited"});
    problem(
        app.send_json(Method::PUT, &path, Some(&bob), &edit).await,
        403,
    )
    .await;
    problem(
        app.send_json(Method::PUT, &path, Some(&admin), &edit).await,
        403,
    )
    .await;
    let edited = json_of(
        app.send_json(Method::PUT, &path, Some(&alice), &edit).await,
        200,
    )
    .await;
    assert_eq!(edited["title"], "Edited");
    assert_eq!(edited["body"], "Lovely.");
    problem(
        app.request(Method::DELETE, &path, Some(&bob))
            .send()
            .await
            .expect("delete"),
        403,
    )
    .await;
    let response = app
        .request(Method::DELETE, &path, Some(&admin))
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), 204);
    problem(app.get(&path).await, 404).await;
    problem(
        app.request(Method::DELETE, &path, Some(&alice))
            .send()
            .await
            .expect("delete"),
        404,
    )
    .await;
    assert_eq!(
        json_of(app.get("/ratings/park:x").await, 200).await["reviewCount"],
        0
    );
}

#[tokio::test]
async fn review_routes_refuse_bad_input_and_change_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.user("sub-a", "alice").await;
    let created = review(&app, &alice, "park:x", "Mine").await;
    let path = format!("/reviews/{}", created["id"].as_str().expect("id"));
    let stranger = app.token("no-profile", &[]).await;
    let valid = json!({"subject": "park:x", "title": "T", "body": "B"});
    problem(
        app.send_json(Method::POST, "/reviews", Some(&stranger), &valid)
            .await,
        403,
    )
    .await;
    problem(
        app.send_json(Method::POST, "/reviews", None, &valid).await,
        401,
    )
    .await;
    for (field, value) in [
        ("subject", json!("Park X")),
        ("subject", json!("")),
        ("title", json!("")),
        ("title", json!("t".repeat(201))),
        ("body", json!("")),
        ("body", json!("b".repeat(10_001))),
        ("title", json!(5)),
        ("photos", json!([])),
    ] {
        let mut body = valid.clone();
        body[field] = value;
        let problem = problem(
            app.send_json(Method::POST, "/reviews", Some(&alice), &body)
                .await,
            400,
        )
        .await;
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains(field)),
            "{problem}"
        );
    }
    let response = app
        .request(Method::POST, "/reviews", Some(&alice))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("post");
    problem(response, 415).await;
    let big = json!({"subject": "park:x", "title": "T", "body": "b".repeat(70_000)});
    problem(
        app.send_json(Method::POST, "/reviews", Some(&alice), &big)
            .await,
        413,
    )
    .await;
    problem(
        app.send_json(Method::PUT, &path, Some(&alice), &json!({"title": null}))
            .await,
        400,
    )
    .await;
    problem(
        app.send_json(
            Method::PUT,
            &path,
            Some(&alice),
            &json!({"subject": "park:y"}),
        )
        .await,
        400,
    )
    .await;
    problem(
        app.send_json(
            Method::PUT,
            "/reviews/not-an-id",
            Some(&alice),
            &json!({"title": "x"}),
        )
        .await,
        400,
    )
    .await;
    problem(app.get("/reviews/not-an-id").await, 400).await;
    problem(
        app.get("/reviews/0190e6b4-0000-7000-8000-000000000000")
            .await,
        404,
    )
    .await;
    assert_eq!(json_of(app.get(&path).await, 200).await, created);
    let reviews = json_of(app.get("/reviews?subject=park:x").await, 200).await;
    assert_eq!(reviews.as_array().map(Vec::len), Some(1));
    assert_eq!(
        json_of(app.get("/ratings/park:x").await, 200).await["reviewCount"],
        1
    );
}

#[tokio::test]
async fn concurrent_review_creates_and_deletes_keep_the_review_count_exact() {
    let app = TestApp::spawn().await;
    let mut tokens = Vec::new();
    for i in 0..10 {
        tokens.push(app.user(&format!("sub-{i}"), &format!("user{i}")).await);
    }
    let creates = tokens.iter().flat_map(|token| {
        let app = &app;
        [0, 1].map(|n| async move { review(app, token, "park:busy", &format!("R{n}")).await })
    });
    let created = join_all(creates).await;
    assert_eq!(
        json_of(app.get("/ratings/park:busy").await, 200).await["reviewCount"],
        20
    );
    let admin = app.admin().await;
    let deletes = created.iter().step_by(2).flat_map(|review| {
        let (app, admin) = (&app, &admin);
        let path = format!("/reviews/{}", review["id"].as_str().expect("id"));
        [0, 1].map(move |_| {
            let path = path.clone();
            async move {
                app.request(Method::DELETE, &path, Some(admin))
                    .send()
                    .await
                    .expect("delete")
                    .status()
                    .as_u16()
            }
        })
    });
    let statuses = join_all(deletes).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        10,
        "{statuses:?}"
    );
    let listed = json_of(app.get("/reviews?subject=park:busy").await, 200).await;
    let summary = json_of(app.get("/ratings/park:busy").await, 200).await;
    assert_eq!(
        summary["reviewCount"].as_u64(),
        listed.as_array().map(|a| a.len() as u64)
    );
    assert_eq!(summary["reviewCount"], 10);
    app.assert_no_drift().await;
}

#[tokio::test]
async fn review_lists_carry_summaries_with_an_excerpt() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-a", "alice").await;
    let long = format!("{} and then some", "word ".repeat(60));
    let body = json!({"subject": "park:zion", "title": "Angels Landing", "body": long});
    let created = json_of(
        app.send_json(Method::POST, "/reviews", Some(&token), &body)
            .await,
        201,
    )
    .await;
    let id = created["id"].as_str().expect("id");
    for path in ["/reviews?subject=park:zion", "/reviews?author=alice"] {
        let listed = json_of(app.get(path).await, 200).await;
        let entry = &listed[0];
        assert!(entry.get("body").is_none(), "{path}: {entry}");
        let first: String = long.chars().take(200).collect();
        assert_eq!(
            entry["excerpt"],
            format!("{}…", first.trim_end()),
            "the first 200 characters and an ellipsis"
        );
        for field in [
            "id",
            "subject",
            "author",
            "title",
            "photos",
            "createdAt",
            "updatedAt",
        ] {
            assert_eq!(entry[field], created[field], "{path}: {field}");
        }
    }
    // Edits and photos show in the lists at once.
    let body = json!({"body": "Short now."});
    json_of(
        app.send_json(Method::PUT, &format!("/reviews/{id}"), Some(&token), &body)
            .await,
        200,
    )
    .await;
    let upload = app
        .presign_photo(&token, &format!("/reviews/{id}"), "image/png", 5)
        .await;
    assert_eq!(
        app.upload_photo(&upload, "image/png", b"12345".to_vec())
            .await,
        200
    );
    let listed = json_of(app.get("/reviews?subject=park:zion").await, 200).await;
    assert_eq!(listed[0]["excerpt"], "Short now.");
    assert_eq!(listed[0]["photos"], json!([upload["photoUrl"]]));
    assert_eq!(
        listed[0]["photos"],
        json_of(app.get(&format!("/reviews/{id}")).await, 200).await["photos"]
    );
}
