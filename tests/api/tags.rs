use hdoc_tests::{TestApp, json_of, next_link, problem};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn tags_are_ordered_by_count_then_name_and_paged() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    let articles = [
        vec!["rust", "aws"],
        vec!["aws", "go"],
        vec!["aws", "rust"],
        vec!["zig", "c"],
    ];
    for (i, tags) in articles.iter().enumerate() {
        let body = json!({"title": format!("T{i}"), "tags": tags});
        json_of(
            app.send_json(Method::POST, "/articles", Some(&token), &body)
                .await,
            201,
        )
        .await;
    }
    let all = json_of(app.get("/tags").await, 200).await;
    assert_eq!(
        all,
        json!([{"tag": "aws", "count": 3}, {"tag": "rust", "count": 2}, {"tag": "c", "count": 1},
               {"tag": "go", "count": 1}, {"tag": "zig", "count": 1}])
    );
    let response = app.get("/tags?limit=2").await;
    let next = next_link(&response).expect("next page");
    assert_eq!(
        json_of(response, 200).await,
        json!([{"tag": "aws", "count": 3}, {"tag": "rust", "count": 2}])
    );
    let response = app.get(&next).await;
    let next = next_link(&response).expect("third page");
    assert_eq!(
        json_of(response, 200).await,
        json!([{"tag": "c", "count": 1}, {"tag": "go", "count": 1}])
    );
    let response = app.get(&next).await;
    assert_eq!(next_link(&response), None);
    assert_eq!(
        json_of(response, 200).await,
        json!([{"tag": "zig", "count": 1}])
    );
    assert_eq!(
        json_of(app.get("/tags/RUST").await, 200).await,
        json!({"tag": "rust", "count": 2})
    );
}

#[tokio::test]
async fn tag_routes_refuse_bad_input() {
    let app = TestApp::spawn().await;
    assert_eq!(json_of(app.get("/tags").await, 200).await, json!([]));
    problem(app.get("/tags/nothing-here").await, 404).await;
    problem(app.get("/tags/%3F%21").await, 400).await;
    problem(app.get("/tags/c++").await, 404).await;
    problem(app.get(&format!("/tags/{}", "a".repeat(33))).await, 400).await;
    for bad in [
        "limit=0",
        "limit=101",
        "limit=x",
        "limit=1&limit=2",
        "cursor=abc",
    ] {
        problem(app.get(&format!("/tags?{bad}")).await, 400).await;
    }
    let response = app
        .request(Method::POST, "/tags", None)
        .send()
        .await
        .expect("post");
    problem(response, 405).await;
}

#[tokio::test]
async fn without_a_limit_tags_come_100_a_page_with_a_link_to_the_next() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    // 11 articles of 10 tags each: 110 tags, `t000` on two articles.
    for i in 0..11 {
        let tags: Vec<String> = (0..10).map(|j| format!("t{:03}", i * 10 + j)).collect();
        let mut tags = tags;
        if i == 10 {
            tags[9] = "t000".into();
        }
        let body = json!({"title": format!("Tagged {i}"), "tags": tags});
        json_of(
            app.send_json(Method::POST, "/articles", Some(&token), &body)
                .await,
            201,
        )
        .await;
    }
    let response = app.get("/tags").await;
    let next = next_link(&response).expect("a Link to the rest");
    let first = json_of(response, 200).await;
    let first = first.as_array().expect("bare array");
    assert_eq!(first.len(), 100);
    assert_eq!(first[0], json!({"tag": "t000", "count": 2}));
    let response = app.get(&next).await;
    assert_eq!(next_link(&response), None);
    let rest = json_of(response, 200).await;
    assert_eq!(rest.as_array().map(Vec::len), Some(9), "{rest}");
    // The front end's own page is unchanged.
    let response = app.get("/tags?limit=20").await;
    assert!(next_link(&response).is_some());
    assert_eq!(
        json_of(response, 200).await.as_array().map(Vec::len),
        Some(20)
    );
    app.shutdown().await;
}
