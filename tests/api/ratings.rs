use futures_util::future::join_all;
use hdoc_tests::{TestApp, json_of, problem};
use reqwest::Method;
use serde_json::{Value, json};

async fn rate(app: &TestApp, token: &str, subject: &str, stars: Value) -> reqwest::Response {
    app.send_json(
        Method::PUT,
        &format!("/ratings/{subject}"),
        Some(token),
        &json!({"stars": stars}),
    )
    .await
}

/// The histogram recounted from every caller's own rating.
async fn recount(app: &TestApp, tokens: &[String], subject: &str) -> [u64; 5] {
    let mut histogram = [0; 5];
    for token in tokens {
        let response = app
            .request(
                Method::GET,
                &format!("/ratings/{subject}/mine"),
                Some(token),
            )
            .send()
            .await
            .expect("mine");
        if response.status() == 404 {
            continue;
        }
        let stars = json_of(response, 200).await["stars"]
            .as_u64()
            .expect("stars");
        histogram[stars as usize - 1] += 1;
    }
    histogram
}

fn histogram_of(summary: &Value) -> [u64; 5] {
    let h = &summary["histogram"];
    ["1", "2", "3", "4", "5"].map(|k| h[k].as_u64().expect("count"))
}

#[tokio::test]
async fn an_unknown_subject_has_a_zero_summary() {
    let app = TestApp::spawn().await;
    let summary = json_of(app.get("/ratings/park:nowhere").await, 200).await;
    assert_eq!(
        summary,
        json!({"subject": "park:nowhere", "count": 0, "average": 0.0,
               "histogram": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}, "reviewCount": 0})
    );
}

#[tokio::test]
async fn rating_twice_replaces_the_first() {
    let app = TestApp::spawn().await;
    let alice = app.token("alice", &[]).await;
    let bob = app.token("bob", &[]).await;
    let first = json_of(rate(&app, &alice, "park:yosemite", json!(5)).await, 200).await;
    assert_eq!(first["subject"], "park:yosemite");
    assert_eq!(first["stars"], 5);
    assert_eq!(first["summary"]["count"], 1);
    json_of(rate(&app, &bob, "park:yosemite", json!(2)).await, 200).await;
    let second = json_of(rate(&app, &alice, "park:yosemite", json!(3)).await, 200).await;
    assert_eq!(second["summary"]["count"], 2);
    assert_eq!(second["summary"]["average"], 2.5);
    assert_eq!(histogram_of(&second["summary"]), [0, 1, 1, 0, 0]);
    let again = json_of(rate(&app, &alice, "park:yosemite", json!(3)).await, 200).await;
    assert_eq!(
        again["summary"], second["summary"],
        "the same rating again changes nothing"
    );
    let mine = app
        .request(Method::GET, "/ratings/park:yosemite/mine", Some(&alice))
        .send()
        .await
        .expect("mine");
    assert_eq!(
        json_of(mine, 200).await,
        json!({"subject": "park:yosemite", "stars": 3})
    );
    assert_eq!(
        json_of(app.get("/ratings/park:yosemite").await, 200).await,
        second["summary"]
    );
}

#[tokio::test]
async fn deleting_a_rating_uncounts_it_and_a_second_delete_is_404() {
    let app = TestApp::spawn().await;
    let alice = app.token("alice", &[]).await;
    json_of(rate(&app, &alice, "s1", json!(4)).await, 200).await;
    let response = app
        .request(Method::DELETE, "/ratings/s1", Some(&alice))
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), 204);
    assert_eq!(json_of(app.get("/ratings/s1").await, 200).await["count"], 0);
    problem(
        app.request(Method::DELETE, "/ratings/s1", Some(&alice))
            .send()
            .await
            .expect("delete"),
        404,
    )
    .await;
    problem(
        app.request(Method::GET, "/ratings/s1/mine", Some(&alice))
            .send()
            .await
            .expect("mine"),
        404,
    )
    .await;
}

#[tokio::test]
async fn stars_must_be_an_integer_from_one_to_five_and_bad_input_changes_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.token("alice", &[]).await;
    json_of(rate(&app, &alice, "s1", json!(4)).await, 200).await;
    let before = json_of(app.get("/ratings/s1").await, 200).await;
    for bad in [
        json!(3.5),
        json!("5"),
        json!(0),
        json!(6),
        json!(-1),
        json!(null),
        json!(4.5),
        json!(1e20),
    ] {
        let problem = problem(rate(&app, &alice, "s1", bad.clone()).await, 400).await;
        assert_eq!(problem["errors"][0]["field"], "stars", "{bad}: {problem}");
    }
    let body = json!({"stars": 4, "comment": "x"});
    problem(
        app.send_json(Method::PUT, "/ratings/s1", Some(&alice), &body)
            .await,
        400,
    )
    .await;
    problem(
        app.send_json(Method::PUT, "/ratings/s1", None, &json!({"stars": 4}))
            .await,
        401,
    )
    .await;
    problem(
        app.send_json(
            Method::PUT,
            "/ratings/Bad!",
            Some(&alice),
            &json!({"stars": 4}),
        )
        .await,
        400,
    )
    .await;
    let response = app
        .request(Method::PUT, "/ratings/s1", Some(&alice))
        .header("content-type", "text/plain")
        .body("5")
        .send()
        .await
        .expect("put");
    problem(response, 415).await;
    let big = format!(r#"{{"stars": 4, "pad": "{}"}}"#, "x".repeat(70_000));
    let response = app
        .request(Method::PUT, "/ratings/s1", Some(&alice))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("put");
    problem(response, 413).await;
    problem(
        app.request(Method::DELETE, "/ratings/s1", None)
            .send()
            .await
            .expect("delete"),
        401,
    )
    .await;
    problem(app.get("/ratings/s1/mine").await, 401).await;
    problem(app.get("/ratings/UPPER").await, 400).await;
    assert_eq!(json_of(app.get("/ratings/s1").await, 200).await, before);
    // 4.0 is the integer 4 (JSON Schema's, and the document's): the same
    // rating again, which changes nothing.
    json_of(rate(&app, &alice, "s1", json!(4.0)).await, 200).await;
    assert_eq!(json_of(app.get("/ratings/s1").await, 200).await, before);
}

#[tokio::test]
async fn twenty_four_callers_rating_twice_at_once_leave_an_exact_summary() {
    let app = TestApp::spawn().await;
    let mut tokens = Vec::new();
    for i in 0..24 {
        tokens.push(app.token(&format!("rater-{i}"), &[]).await);
    }
    let started = std::time::Instant::now();
    let ratings = tokens.iter().enumerate().flat_map(|(i, token)| {
        let app = &app;
        [(i % 5 + 1) as u64, ((i * 3) % 5 + 1) as u64].map(|stars| async move {
            rate(app, token, "park:busy", json!(stars))
                .await
                .status()
                .as_u16()
        })
    });
    let statuses = join_all(ratings).await;
    println!(
        "48 concurrent ratings by 24 callers took {:?}",
        started.elapsed()
    );
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let summary = json_of(app.get("/ratings/park:busy").await, 200).await;
    assert_eq!(summary["count"], 24);
    assert_eq!(
        histogram_of(&summary),
        recount(&app, &tokens, "park:busy").await
    );

    let deletes = tokens.iter().step_by(2).flat_map(|token| {
        let app = &app;
        // Each of these callers deletes twice at once: exactly one may succeed.
        [0, 1].map(|_| async move {
            app.request(Method::DELETE, "/ratings/park:busy", Some(token))
                .send()
                .await
                .expect("delete")
                .status()
                .as_u16()
        })
    });
    let statuses = join_all(deletes).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        12,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 404).count(),
        12,
        "{statuses:?}"
    );
    let summary = json_of(app.get("/ratings/park:busy").await, 200).await;
    assert_eq!(summary["count"], 12);
    assert_eq!(
        histogram_of(&summary),
        recount(&app, &tokens, "park:busy").await
    );
    app.assert_no_drift().await;
}
