use futures_util::future::join_all;
use hdoc_tests::{TestApp, json_of, next_link, problem};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    json_of(
        app.send_json(Method::POST, "/articles", Some(token), &body)
            .await,
        201,
    )
    .await
}

fn slugs(items: &[Value]) -> Vec<&str> {
    items
        .iter()
        .map(|a| a["slug"].as_str().expect("slug"))
        .collect()
}

/// Every tag's count as `GET /tags` shows it.
async fn tag_counts(app: &TestApp) -> BTreeMap<String, u64> {
    let tags = json_of(app.get("/tags").await, 200).await;
    tags.as_array()
        .expect("array")
        .iter()
        .map(|t| {
            (
                t["tag"].as_str().expect("tag").to_owned(),
                t["count"].as_u64().expect("count"),
            )
        })
        .collect()
}

/// Every tag's count recounted from the articles themselves.
async fn recount(app: &TestApp) -> BTreeMap<String, u64> {
    let (articles, _) = app.all_pages("/articles?limit=100").await;
    let mut counts = BTreeMap::new();
    for article in &articles {
        for tag in article["tags"].as_array().expect("tags") {
            *counts
                .entry(tag.as_str().expect("tag").to_owned())
                .or_default() += 1;
        }
    }
    counts
}

#[tokio::test]
async fn creating_an_article_returns_it_with_its_location() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "Alice").await;
    let body = json!({"title": "Día 1: Café & Lambda!", "subtitle": "d", "body": "b",
        "tags": [" AWS ", "aws", "Rust"], "image": "https://example.com/c.png"});
    let response = app
        .send_json(Method::POST, "/articles", Some(&token), &body)
        .await;
    assert_eq!(
        response.headers()["location"],
        "/articles/dia-1-cafe-lambda"
    );
    let article = json_of(response, 201).await;
    assert_eq!(article["slug"], "dia-1-cafe-lambda");
    assert_eq!(article["title"], "Día 1: Café & Lambda!");
    assert_eq!(article["tags"], json!(["aws", "rust"]));
    assert_eq!(article["author"], "Alice");
    assert_eq!(article["image"], "https://example.com/c.png");
    assert_eq!(article["createdAt"], article["updatedAt"]);
    assert_eq!(
        json_of(app.get("/articles/dia-1-cafe-lambda").await, 200).await,
        article
    );
    assert_eq!(
        json_of(app.get("/tags/aws").await, 200).await,
        json!({"tag": "aws", "count": 1})
    );
    problem(app.get("/articles/no-such-article").await, 404).await;
    problem(app.get("/articles/Not_A_Slug").await, 400).await;
}

#[tokio::test]
async fn writing_needs_a_profile_and_changing_needs_the_author_or_an_admin() {
    let app = TestApp::spawn().await;
    let body = json!({"title": "Hello", "tags": ["aws"]});
    let stranger = app.token("no-profile", &[]).await;
    problem(
        app.send_json(Method::POST, "/articles", Some(&stranger), &body)
            .await,
        403,
    )
    .await;
    problem(
        app.send_json(Method::POST, "/articles", None, &body).await,
        401,
    )
    .await;
    let alice = app.user("sub-a", "alice").await;
    let bob = app.user("sub-b", "bob").await;
    create(&app, &alice, body).await;
    let edit = json!({"title": "Bob's now"});
    problem(
        app.send_json(Method::PUT, "/articles/hello", Some(&bob), &edit)
            .await,
        403,
    )
    .await;
    problem(
        app.request(Method::DELETE, "/articles/hello", Some(&bob))
            .send()
            .await
            .expect("delete"),
        403,
    )
    .await;
    problem(
        app.send_json(Method::PUT, "/articles/missing", Some(&alice), &edit)
            .await,
        404,
    )
    .await;
    problem(
        app.request(Method::DELETE, "/articles/missing", Some(&alice))
            .send()
            .await
            .expect("delete"),
        404,
    )
    .await;
    assert_eq!(
        json_of(app.get("/articles/hello").await, 200).await["title"],
        "Hello"
    );
    let admin = app.admin().await;
    let edited = json_of(
        app.send_json(Method::PUT, "/articles/hello", Some(&admin), &edit)
            .await,
        200,
    )
    .await;
    assert_eq!(edited["title"], "Bob's now");
    assert_eq!(
        edited["slug"], "hello",
        "the slug does not follow the title"
    );
    assert_eq!(edited["author"], "alice");
    let response = app
        .request(Method::DELETE, "/articles/hello", Some(&alice))
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), 204);
    problem(app.get("/articles/hello").await, 404).await;
}

#[tokio::test]
async fn editing_tags_moves_counts_and_an_unused_tag_disappears() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    create(
        &app,
        &token,
        json!({"title": "One", "tags": ["aws", "rust"]}),
    )
    .await;
    create(&app, &token, json!({"title": "Two", "tags": ["aws"]})).await;
    assert_eq!(
        tag_counts(&app).await,
        BTreeMap::from([("aws".into(), 2), ("rust".into(), 1)])
    );
    let body = json!({"tags": ["aws", "lambda"], "image": null});
    let edited = json_of(
        app.send_json(Method::PUT, "/articles/one", Some(&token), &body)
            .await,
        200,
    )
    .await;
    assert_eq!(edited["tags"], json!(["aws", "lambda"]));
    assert_eq!(
        tag_counts(&app).await,
        BTreeMap::from([("aws".into(), 2), ("lambda".into(), 1)])
    );
    problem(app.get("/tags/rust").await, 404).await;
    assert_eq!(
        json_of(app.get("/articles?tag=rust").await, 200).await,
        json!([])
    );
    assert_eq!(
        slugs(
            &json_of(app.get("/articles?tag=LAMBDA").await, 200)
                .await
                .as_array()
                .expect("a")
                .clone()
        ),
        ["one"]
    );
    let response = app
        .request(Method::DELETE, "/articles/two", Some(&token))
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), 204);
    assert_eq!(
        tag_counts(&app).await,
        BTreeMap::from([("aws".into(), 1), ("lambda".into(), 1)])
    );
    assert_eq!(tag_counts(&app).await, recount(&app).await);
}

#[tokio::test]
async fn lists_filter_by_tag_and_author_newest_first_and_page_to_the_end() {
    let app = TestApp::spawn_on_manual_clock().await;
    let alice = app.user("sub-a", "Alice").await;
    let bob = app.user("sub-b", "bob").await;
    let mut expected_all = Vec::new();
    for i in 0..7 {
        let (token, tags) = if i % 2 == 0 {
            (&alice, json!(["aws"]))
        } else {
            (&bob, json!(["aws", "rust"]))
        };
        let article = create(
            &app,
            token,
            json!({"title": format!("Post {i}"), "tags": tags}),
        )
        .await;
        expected_all.push(article["slug"].as_str().expect("slug").to_owned());
        // Distinct seconds make "newest first" observable.
        app.state()
            .config
            .clock
            .advance(std::time::Duration::from_secs(1));
    }
    expected_all.reverse();
    let (all, pages) = app.all_pages("/articles?limit=3").await;
    assert_eq!(slugs(&all), expected_all);
    assert_eq!(pages, 3);
    let (by_alice, _) = app.all_pages("/articles?author=alice&limit=2").await;
    assert_eq!(slugs(&by_alice), ["post-6", "post-4", "post-2", "post-0"]);
    let (rust, _) = app.all_pages("/articles?tag=Rust&limit=2").await;
    assert_eq!(slugs(&rust), ["post-5", "post-3", "post-1"]);
    let (both, _) = app.all_pages("/articles?tag=aws&author=BOB&limit=1").await;
    assert_eq!(slugs(&both), ["post-5", "post-3", "post-1"]);
    let unique: BTreeSet<&str> = slugs(&all).into_iter().collect();
    assert_eq!(unique.len(), 7, "no duplicates across pages");
    // A cursor from one list is refused by another.
    let response = app.get("/articles?tag=aws&limit=1").await;
    let next = next_link(&response).expect("next");
    let cursor = next.split("cursor=").nth(1).expect("cursor");
    problem(
        app.get(&format!("/articles?tag=rust&cursor={cursor}"))
            .await,
        400,
    )
    .await;
    problem(app.get(&format!("/articles?cursor={cursor}")).await, 400).await;
    problem(app.get("/articles?cursor=forged.AAAA").await, 400).await;
    for bad in [
        "tag=%3F%21",
        "tag=%20",
        "author=-x",
        "limit=0",
        "limit=101",
        "tag=a&tag=b",
    ] {
        problem(app.get(&format!("/articles?{bad}")).await, 400).await;
    }
}

#[tokio::test]
async fn thirty_concurrent_creates_with_one_title_get_distinct_slugs_and_an_exact_count() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    let started = std::time::Instant::now();
    let creates = (0..30).map(|_| {
        let (app, token) = (&app, &token);
        async move {
            let body = json!({"title": "Same Title", "tags": ["Shared", "aws"]});
            let response = app
                .send_json(Method::POST, "/articles", Some(token), &body)
                .await;
            json_of(response, 201).await["slug"]
                .as_str()
                .expect("slug")
                .to_owned()
        }
    });
    let created = join_all(creates).await;
    println!("30 concurrent creates took {:?}", started.elapsed());
    let distinct: BTreeSet<&String> = created.iter().collect();
    assert_eq!(distinct.len(), 30, "{created:?}");
    assert!(created.iter().any(|slug| slug == "same-title"));
    assert!(created.iter().all(|slug| slug.starts_with("same-title")));
    assert_eq!(
        json_of(app.get("/tags/shared").await, 200).await["count"],
        30
    );
    assert_eq!(json_of(app.get("/tags/aws").await, 200).await["count"], 30);
    assert_eq!(tag_counts(&app).await, recount(&app).await);
    app.assert_no_drift().await;
}

#[tokio::test]
async fn concurrent_edits_and_deletes_leave_counts_equal_to_a_recount() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    let admin = app.admin().await;
    let mut slugs = Vec::new();
    for i in 0..12 {
        let article = create(
            &app,
            &token,
            json!({"title": format!("A{i}"), "tags": ["aws", format!("t{}", i % 3)]}),
        )
        .await;
        slugs.push(article["slug"].as_str().expect("slug").to_owned());
    }
    let work = slugs.iter().enumerate().flat_map(|(i, slug)| {
        let (app, token, admin) = (&app, &token, &admin);
        let edit = async move {
            let body = json!({"tags": [format!("t{}", (i + 1) % 3), "edited"]});
            let path = format!("/articles/{slug}");
            app.send_json(Method::PUT, &path, Some(admin), &body)
                .await
                .status()
                .as_u16()
        };
        let delete = async move {
            let path = format!("/articles/{slug}");
            let response = app
                .request(Method::DELETE, &path, Some(token))
                .send()
                .await
                .expect("delete");
            response.status().as_u16()
        };
        let edit: std::pin::Pin<Box<dyn std::future::Future<Output = u16> + '_>> = Box::pin(edit);
        if i % 2 == 0 {
            vec![edit, Box::pin(delete)]
        } else {
            vec![edit]
        }
    });
    let statuses = join_all(work).await;
    assert!(
        statuses.iter().all(|s| [200, 204, 404].contains(s)),
        "{statuses:?}"
    );
    let counts = tag_counts(&app).await;
    assert_eq!(counts, recount(&app).await);
    let remaining = app.all_pages("/articles").await.0.len() as u64;
    assert_eq!(remaining, 6, "every even article deleted");
    assert_eq!(
        counts.get("edited").copied().unwrap_or(0) + counts.get("aws").copied().unwrap_or(0),
        remaining
    );
    app.assert_no_drift().await;
}

#[tokio::test]
async fn list_pages_carry_summaries_and_the_article_its_body() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    let article = create(
        &app,
        &token,
        json!({"title": "Day 1", "subtitle": "Lambda", "body": "the long story",
            "tags": ["AWS"], "image": "https://img.example/1.png"}),
    )
    .await;
    assert_eq!(article["id"], "day-1");
    assert_eq!(article["id"], article["slug"]);
    assert_eq!(article["body"], "the long story");
    let mut summary = article.clone();
    summary.as_object_mut().expect("object").remove("body");
    for path in [
        "/articles",
        "/articles?tag=aws",
        "/articles?author=alice",
        "/articles?tag=AWS&author=ALICE",
    ] {
        assert_eq!(
            json_of(app.get(path).await, 200).await,
            json!([summary]),
            "{path}"
        );
    }
    // An edit of the summary shows in every list at once; an edit of the body alone in none.
    let body = json!({"subtitle": "Lambda and Rust", "image": null});
    let edited = json_of(
        app.send_json(Method::PUT, "/articles/day-1", Some(&token), &body)
            .await,
        200,
    )
    .await;
    let listed = &json_of(app.get("/articles?tag=aws").await, 200).await[0];
    assert_eq!(listed["subtitle"], "Lambda and Rust");
    assert!(listed["image"].is_null());
    assert_eq!(listed["updatedAt"], edited["updatedAt"]);
    let body = json!({"body": "a longer story"});
    json_of(
        app.send_json(Method::PUT, "/articles/day-1", Some(&token), &body)
            .await,
        200,
    )
    .await;
    assert!(
        json_of(app.get("/articles").await, 200).await[0]
            .get("body")
            .is_none()
    );
    assert_eq!(
        json_of(app.get("/articles/day-1").await, 200).await["body"],
        "a longer story"
    );
}

#[tokio::test]
async fn tags_are_normalized_like_slugs() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    let article = create(
        &app,
        &token,
        json!({"title": "t", "tags": ["Open System", "24 hour", "AWS", "Día Uno", "aws", "open-system"]}),
    )
    .await;
    assert_eq!(
        article["tags"],
        json!(["open-system", "24-hour", "aws", "dia-uno"])
    );
    for path in [
        "/articles?tag=Open%20System",
        "/articles?tag=OPEN-SYSTEM",
        "/articles?tag=d%C3%ADa%20uno",
    ] {
        let listed = json_of(app.get(path).await, 200).await;
        assert_eq!(listed.as_array().map(Vec::len), Some(1), "{path}");
    }
    assert_eq!(
        json_of(app.get("/tags/Open%20System").await, 200).await,
        json!({"tag": "open-system", "count": 1})
    );
    for tags in [json!(["ok", " "]), json!(["ok", "?!"]), json!(["ok", ""])] {
        let response = app
            .send_json(
                Method::POST,
                "/articles",
                Some(&token),
                &json!({"title": "u", "tags": tags}),
            )
            .await;
        let problem = problem(response, 400).await;
        assert_eq!(problem["errors"][0]["field"], "tags[1]", "{problem}");
    }
    assert_eq!(
        app.all_pages("/articles").await.0.len(),
        1,
        "nothing written"
    );
}

#[tokio::test]
async fn a_page_of_100_of_the_largest_articles_is_under_a_megabyte() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    // The largest summary the API accepts: 4-byte characters wherever text
    // is free, the longest URL and the most, longest tags.
    let wide = |n: usize| "𝔸".repeat(n);
    let tags: Vec<String> = (0..10).map(|i| format!("{i}{}", "t".repeat(31))).collect();
    let body = "b".repeat(50_000);
    for i in 0..100 {
        let article = json!({
            "title": format!("{i:03}{}", wide(197)),
            "subtitle": wide(500),
            "body": body,
            "tags": tags,
            "image": format!("https://img.example/{}", "i".repeat(2048 - 20)),
        });
        let response = app
            .send_json(Method::POST, "/articles", Some(&token), &article)
            .await;
        assert_eq!(response.status(), 201, "article {i}");
    }
    let response = app.get("/articles?limit=100").await;
    assert_eq!(response.status(), 200);
    assert_eq!(next_link(&response), None);
    let bytes = response.bytes().await.expect("body");
    let page: Vec<Value> = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(page.len(), 100);
    assert!(page.iter().all(|article| article.get("body").is_none()));
    println!(
        "GET /articles?limit=100 with 100 of the largest articles: {} bytes",
        bytes.len()
    );
    assert!(bytes.len() < 1_000_000, "{} bytes", bytes.len());
}
