//! Importing the community's data (`hdoc-local import`, `--demo`) and
//! handing imported profiles over to their owners (`PUT /users/{id}/owner`).

use hdoc_local::demo;
use hdoc_local::import::{self, Document, Kind, Problem, Report};
use hdoc_shared::page::Window;
use hdoc_shared::store::ArticleFilter;
use hdoc_tests::{TestApp, dynamodb_endpoint, json_of, problem};
use reqwest::Method;
use serde_json::{Value, json};

/// `full` rows on the embedded engine, `small` on another endpoint: moto
/// copies every table it holds on each transaction, so its cost grows with
/// all the suite's data. The same paths run at either size.
fn rows(full: usize, small: usize) -> usize {
    if dynamodb_endpoint().is_some() {
        small
    } else {
        full
    }
}

fn doc(kind: Kind, rows: Vec<Value>) -> Document {
    Document {
        name: format!("{kind:?}"),
        kind,
        rows,
    }
}

async fn run(app: &TestApp, docs: &[Document]) -> Report {
    import::import(&app.state().repo, docs)
        .await
        .expect("the import runs")
}

/// A row in the front end's `data/users.json` shape.
fn user(n: usize) -> Value {
    json!({
        "id": format!("k{n:04}"),
        "name": format!("Journeyer {n}"),
        "daysCompleted": n % 101,
        "githubProfile": format!("journeyer-{n}"),
        "githubScore": (n * 37) % 500,
        "githubStreak": n % 30,
        "twitterProfile": format!("j_{n}"),
        "twitterScore": (n * 11) % 200,
        "twitterStreak": n % 20,
        "linkedinProfile": format!("journeyer-{n}"),
        "status": true,
        "avatarImage": format!("https://robohash.org/{n}.png?size=300x300&set=set1"),
        "dateJoined": format!("2020-08-{:02}T21:01:23Z", n % 28 + 1),
    })
}

/// A row in the front end's `data/articles.json` shape.
fn article(n: usize, author: &str) -> Value {
    let tags = ["AWS", "open system", "Azure", "24 hour"];
    json!({
        "id": n,
        "title": format!("Article number {n}"),
        "subtitle": "a subtitle",
        "image": format!("http://dummyimage.com/1152x668.png/cc0000/ffffff?n={n}"),
        "tags": tags[n % tags.len()],
        "author": author,
        "createdAt": format!("2020-09-{:02}T10:00:00Z", n % 28 + 1),
    })
}

fn problems(list: &[Problem]) -> Vec<(usize, &str)> {
    list.iter().map(|p| (p.index, p.field.as_str())).collect()
}

/// Everything a visitor sees of the community: every user in both orders,
/// every article, the tags and the leaderboard.
async fn snapshot(app: &TestApp) -> Value {
    let mut seen = serde_json::Map::new();
    for path in [
        "/users?limit=100",
        "/users?order=newest&limit=100",
        "/articles?limit=100",
        "/tags",
        "/leaderboard?limit=100",
        "/reviews?subject=article:article-number-1",
    ] {
        let (items, _) = app.all_pages(path).await;
        seen.insert(path.to_owned(), Value::Array(items));
    }
    Value::Object(seen)
}

#[tokio::test]
async fn rows_are_imported_refused_or_trimmed_field_by_field() {
    let app = TestApp::spawn().await;
    let mut users: Vec<Value> = (0..5).map(user).collect();
    users.push(json!({"githubProfile": "no-name"})); // 5: no name
    users.push(json!({"githubProfile": "-bad-", "name": "Bad"})); // 6: invalid id
    users.push(json!({"githubProfile": "Journeyer-1", "name": "Twin"})); // 7: same id, other case
    users.push(json!("not a row")); // 8
    users.push(json!({
        "githubProfile": "trimmed",
        "name": "Trimmed",
        "twitterProfile": "sixteen_chars_xx",
        "avatarImage": "javascript:alert(1)",
        "githubScore": -3,
        "daysCompleted": 101,
        "dateJoined": "yesterday",
        "favouriteColour": "blue",
        "twitterScore": 7,
    })); // 9: imported without the bad fields
    let articles = vec![
        article(1, "journeyer-0"),
        article(2, "ghost"),                       // no profile
        json!({"id": 3, "author": "journeyer-0"}), // no title
        json!({"id": 4, "title": "Bad author", "author": "not valid!"}), // invalid author
        json!({"id": 5, "title": "Article number 1", "author": "journeyer-1"}), // same title
        json!({"id": 6, "title": "Tagless", "author": "journeyer-1", "tags": "!!!"}),
        json!({"id": "my-own-slug", "title": "Slugged", "author": "journeyer-2"}),
        json!({"id": "Not A Slug", "title": "Bad slug", "author": "journeyer-2"}),
    ];
    let report = run(
        &app,
        &[doc(Kind::Articles, articles), doc(Kind::Users, users)],
    )
    .await;

    // Users come first, whatever the order of the files.
    let users = &report.files[0];
    assert_eq!(users.kind, Some(Kind::Users));
    assert_eq!((users.rows, users.imported, users.present), (10, 6, 0));
    assert_eq!(
        problems(&users.refused),
        [
            (5, "name"),
            (6, "githubProfile"),
            (7, "githubProfile"),
            (8, "")
        ]
    );
    assert_eq!(
        problems(&users.dropped),
        [
            (9, "githubScore"),
            (9, "daysCompleted"),
            (9, "dateJoined"),
            (9, "twitterProfile"),
            (9, "avatarImage"),
            (9, "favouriteColour"),
        ]
    );
    let articles = &report.files[1];
    assert_eq!((articles.rows, articles.imported), (8, 5));
    assert_eq!(
        problems(&articles.refused),
        [(2, "title"), (3, "author"), (7, "id")]
    );
    assert_eq!(problems(&articles.dropped), [(5, "tags[0]")]);
    assert_eq!(report.made_profiles, ["ghost"]);
    assert!(
        report
            .to_string()
            .contains("row 7 refused: id: must be a slug")
    );

    // What was imported reads back as given.
    let one = json_of(app.get("/users/journeyer-1").await, 200).await;
    assert_eq!(one["name"], "Journeyer 1");
    assert_eq!(one["dateJoined"], "2020-08-02T21:01:23Z");
    assert_eq!(
        one["linkedinProfile"],
        "https://www.linkedin.com/in/journeyer-1"
    );
    assert_eq!(one["totalScore"], 37 + 11);
    let trimmed = json_of(app.get("/users/trimmed").await, 200).await;
    assert_eq!(trimmed["twitterProfile"], Value::Null);
    // Without an avatar of its own, a profile shows its GitHub one.
    assert_eq!(trimmed["avatarImage"], "https://github.com/trimmed.png");
    assert_eq!(
        (
            trimmed["githubScore"].as_u64(),
            trimmed["twitterScore"].as_u64()
        ),
        (Some(0), Some(7))
    );
    let ghost = json_of(app.get("/users/ghost").await, 200).await;
    assert_eq!(ghost["name"], "ghost");
    let first = json_of(app.get("/articles/article-number-1").await, 200).await;
    assert_eq!(first["tags"], json!(["open-system"]));
    assert_eq!(first["createdAt"], "2020-09-02T10:00:00Z");
    json_of(app.get("/articles/article-number-1-2").await, 200).await;
    json_of(app.get("/articles/my-own-slug").await, 200).await;
    let tagless = json_of(app.get("/articles/tagless").await, 200).await;
    assert_eq!(tagless["tags"], json!([]));
    assert_eq!(
        json_of(app.get("/tags/open-system").await, 200).await["count"],
        1
    );
    app.assert_no_drift().await;
    app.shutdown().await;
}

#[tokio::test]
async fn aggregates_equal_a_recount_and_importing_again_changes_nothing() {
    let app = TestApp::spawn().await;
    // More than one batch of profiles; articles sharing four tags.
    let (user_rows, article_rows) = (rows(250, 120), rows(60, 20));
    let users: Vec<Value> = (0..user_rows).map(user).collect();
    let articles: Vec<Value> = (0..article_rows)
        .map(|n| article(n, &format!("journeyer-{}", n % 7)))
        .collect();
    let docs = [doc(Kind::Users, users), doc(Kind::Articles, articles)];
    let first = run(&app, &docs).await;
    assert!(first.changed());
    assert_eq!(first.files[0].imported, user_rows);
    assert_eq!(first.files[1].imported, article_rows);

    // The leaderboard is the users ordered by total, ties by id.
    let (mut all, _) = app.all_pages("/users?limit=100").await;
    assert_eq!(all.len(), user_rows);
    all.sort_by(|a, b| {
        let total = |u: &Value| u["totalScore"].as_u64().expect("total");
        total(b).cmp(&total(a)).then(
            a["id"]
                .as_str()
                .expect("id")
                .to_lowercase()
                .cmp(&b["id"].as_str().expect("id").to_lowercase()),
        )
    });
    let (board, _) = app.all_pages("/leaderboard?limit=100").await;
    let ids = |rows: &[Value]| -> Vec<String> {
        rows.iter()
            .take(100)
            .map(|u| u["id"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(ids(&board), ids(&all));
    let tags = json_of(app.get("/tags").await, 200).await;
    let each = article_rows / 4;
    assert_eq!(
        tags,
        json!([
            {"tag": "24-hour", "count": each},
            {"tag": "aws", "count": each},
            {"tag": "azure", "count": each},
            {"tag": "open-system", "count": each},
        ])
    );
    app.assert_no_drift().await;

    let before = snapshot(&app).await;
    let again = run(&app, &docs).await;
    assert!(!again.changed(), "{again}");
    assert_eq!(
        (again.files[0].imported, again.files[0].present),
        (0, user_rows)
    );
    assert_eq!(
        (again.files[1].imported, again.files[1].present),
        (0, article_rows)
    );
    assert!(again.to_string().contains("nothing changed"));
    assert_eq!(snapshot(&app).await, before);
    app.shutdown().await;
}

/// Tried as a new user would, with files shaped like the front end's own
/// `data/users.json` and `data/articles.json`: every article by an author
/// who is not in `users.json`, without `createdAt`.
#[tokio::test]
async fn profiles_made_for_authors_do_not_crowd_out_the_new_journeyers() {
    let app = TestApp::spawn().await;
    let (user_rows, article_rows) = (rows(30, 12), rows(40, 14));
    let users: Vec<Value> = (0..user_rows).map(user).collect();
    let articles: Vec<Value> = (0..article_rows)
        .map(|n| {
            let mut row = article(n, &format!("writer-{n}"));
            row.as_object_mut().expect("a row").remove("createdAt");
            row
        })
        .collect();
    let report = run(
        &app,
        &[doc(Kind::Users, users), doc(Kind::Articles, articles)],
    )
    .await;
    assert_eq!(report.made_profiles.len(), article_rows);

    // "New Journeyers" are the journeyers of users.json, newest first, each
    // with an avatar; none of the authors made "now".
    let newest = json_of(app.get("/users?order=newest&limit=10").await, 200).await;
    let newest = newest.as_array().expect("array");
    assert_eq!(newest.len(), 10);
    let mut joined: Vec<&str> = newest
        .iter()
        .map(|u| u["dateJoined"].as_str().expect("dateJoined"))
        .collect();
    for user in newest {
        let id = user["id"].as_str().expect("id");
        assert!(id.starts_with("journeyer-"), "{id} is not a journeyer");
        assert!(
            user["avatarImage"]
                .as_str()
                .is_some_and(|url| url.starts_with("https://robohash.org/")),
            "{user}"
        );
    }
    let shown = joined.clone();
    joined.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(shown, joined, "newest first");
    let (listed, _) = app.all_pages("/users?limit=100").await;
    assert_eq!(listed.len(), user_rows, "only journeyers are listed");

    // The authors' profiles are still there: by id (with their GitHub
    // avatar), as their articles' authors, and on the leaderboard.
    let writer = json_of(app.get("/users/writer-3").await, 200).await;
    assert_eq!(writer["avatarImage"], "https://github.com/writer-3.png");
    let written = json_of(app.get("/articles?author=writer-3").await, 200).await;
    assert_eq!(written.as_array().map(Vec::len), Some(1));
    let (board, _) = app.all_pages("/leaderboard?limit=100").await;
    assert_eq!(board.len(), user_rows + article_rows);
    app.assert_no_drift().await;

    // Handed over to its owner, who signed in: a journeyer, listed.
    let admin = app.admin().await;
    json_of(
        app.send_json(
            Method::PUT,
            "/users/writer-3/owner",
            Some(&admin),
            &json!({"sub": "sub-writer-3"}),
        )
        .await,
        200,
    )
    .await;
    let newest = json_of(app.get("/users?order=newest&limit=1").await, 200).await;
    assert_eq!(newest[0]["id"], "writer-3");
    let (listed, _) = app.all_pages("/users?limit=100").await;
    assert_eq!(listed.len(), user_rows + 1);
    app.assert_no_drift().await;

    // Importing the same files again changes nothing, and says so.
    let again = run(
        &app,
        &[doc(Kind::Users, (0..user_rows).map(user).collect())],
    )
    .await;
    assert!(!again.changed(), "{again}");
    app.shutdown().await;
}

#[tokio::test]
async fn an_interrupted_import_run_again_ends_as_one_whole_run() {
    let article_rows = rows(120, 30);
    let users: Vec<Value> = (0..rows(300, 150)).map(user).collect();
    let articles: Vec<Value> = (0..article_rows)
        .map(|n| article(n, &format!("journeyer-{}", n % 9)))
        .collect();
    let reviews: Vec<Value> = (0..rows(20, 5))
        .map(|n| {
            json!({
                "id": format!("0190a000-0000-7000-8000-{n:012}"),
                "subject": "article:article-number-1",
                "author": format!("journeyer-{n}"),
                "title": "t",
                "body": "b",
                "createdAt": "2020-10-01T00:00:00Z",
            })
        })
        .collect();
    let docs = vec![
        doc(Kind::Users, users),
        doc(Kind::Articles, articles),
        doc(Kind::Reviews, reviews),
    ];

    let whole = TestApp::spawn().await;
    run(&whole, &docs).await;
    let expected = snapshot(&whole).await;
    whole.shutdown().await;

    // Stopped as a kill would stop it, at whatever write it was in, once the
    // articles have begun; tried on fresh tables until a stop lands before
    // the last article (the import is fast, the timing is the machine's).
    for attempt in 1.. {
        let app = TestApp::spawn().await;
        let repo = app.state().repo.clone();
        let task = {
            let (repo, docs) = (repo.clone(), docs.clone());
            tokio::spawn(async move { import::import(&repo, &docs).await })
        };
        let everything = ArticleFilter::default();
        let first = Window::first(1);
        while !task.is_finished()
            && repo
                .list_articles(&everything, &first)
                .await
                .expect("list")
                .items
                .is_empty()
        {
            tokio::task::yield_now().await;
        }
        task.abort();
        let _ = task.await;
        let partial = snapshot(&app).await;
        let written = partial["/articles?limit=100"]
            .as_array()
            .map_or(0, Vec::len);
        if written == article_rows {
            assert!(
                attempt < 5,
                "the import always finished before it could be stopped"
            );
            app.shutdown().await;
            continue;
        }
        let resumed = run(&app, &docs).await;
        assert!(
            resumed
                .files
                .iter()
                .all(|f| f.imported + f.present == f.rows),
            "{resumed}"
        );
        assert!(resumed.files[1].present >= written, "{resumed}");
        assert_eq!(snapshot(&app).await, expected, "stopped at {partial}");
        app.assert_no_drift().await;
        app.shutdown().await;
        break;
    }
}

#[tokio::test]
async fn the_demo_community_is_a_living_site() {
    let app = TestApp::spawn().await;
    let size = if dynamodb_endpoint().is_some() {
        demo::Size {
            journeyers: 40,
            articles: 15,
            reviews: 10,
            ratings: 30,
        }
    } else {
        demo::Size::DEMO
    };
    let report = demo::fill(&app.state().repo, size)
        .await
        .expect("demo")
        .expect("an empty table is filled");
    for file in &report.files {
        assert_eq!(file.imported, file.rows, "{report}");
        assert!(
            file.refused.is_empty() && file.dropped.is_empty(),
            "{report}"
        );
    }
    assert!(report.made_profiles.is_empty());
    let (users, _) = app.all_pages("/users?limit=100").await;
    assert_eq!(users.len(), size.journeyers);
    let board = json_of(app.get("/leaderboard?limit=10").await, 200).await;
    assert!(board[0]["totalScore"].as_u64() > Some(0));
    assert!(
        board[0]["avatarImage"]
            .as_str()
            .is_some_and(|url| url.starts_with("https://"))
    );
    let tags = json_of(app.get("/tags?limit=3").await, 200).await;
    assert!(tags[0]["count"].as_u64() > Some(1));
    app.assert_no_drift().await;
    // A second start leaves a filled table alone.
    assert!(
        demo::fill(&app.state().repo, size)
            .await
            .expect("demo")
            .is_none()
    );
    app.shutdown().await;
}

#[tokio::test]
async fn an_admin_hands_an_imported_profile_over_once() {
    let app = TestApp::spawn().await;
    run(&app, &[doc(Kind::Users, vec![user(1), user(2)])]).await;
    let admin = app.admin().await;
    app.user("sub-taken", "has-one").await;
    let newcomer = app.token("sub-new", &[]).await;
    let owner = |sub: &str| json!({"sub": sub});

    // Until it is handed over, only admins change it.
    let rename = json!({"name": "Mine now"});
    let response = app
        .send_json(Method::PUT, "/users/journeyer-1", Some(&newcomer), &rename)
        .await;
    problem(response, 403).await;
    let response = app
        .send_json(
            Method::PUT,
            "/users/journeyer-1",
            Some(&admin),
            &json!({"bio": "b"}),
        )
        .await;
    json_of(response, 200).await;

    // Only an admin hands over.
    let path = "/users/journeyer-1/owner";
    let response = app
        .send_json(Method::PUT, path, Some(&newcomer), &owner("sub-new"))
        .await;
    problem(response, 403).await;
    let response = app
        .send_json(Method::PUT, path, None, &owner("sub-new"))
        .await;
    problem(response, 401).await;
    for bad in [
        json!({}),
        json!({"sub": ""}),
        json!({"sub": "a b"}),
        json!({"sub": "x", "more": 1}),
    ] {
        let response = app.send_json(Method::PUT, path, Some(&admin), &bad).await;
        problem(response, 400).await;
    }
    let response = app
        .send_json(
            Method::PUT,
            "/users/nobody/owner",
            Some(&admin),
            &owner("sub-new"),
        )
        .await;
    problem(response, 404).await;
    // Not to a caller who has a profile.
    let response = app
        .send_json(Method::PUT, path, Some(&admin), &owner("sub-taken"))
        .await;
    problem(response, 409).await;
    // Not a profile made through the API (it has its owner).
    let response = app
        .send_json(
            Method::PUT,
            "/users/has-one/owner",
            Some(&admin),
            &owner("sub-new"),
        )
        .await;
    problem(response, 409).await;

    let response = app
        .send_json(Method::PUT, path, Some(&admin), &owner("sub-new"))
        .await;
    let handed = json_of(response, 200).await;
    assert_eq!(handed["id"], "journeyer-1");
    assert_eq!(handed["bio"], "b");

    // Once: not again, to anyone.
    for sub in ["sub-new", "sub-other"] {
        let response = app
            .send_json(Method::PUT, path, Some(&admin), &owner(sub))
            .await;
        problem(response, 409).await;
    }
    // Nor a second imported profile to the same caller.
    let response = app
        .send_json(
            Method::PUT,
            "/users/journeyer-2/owner",
            Some(&admin),
            &owner("sub-new"),
        )
        .await;
    problem(response, 409).await;

    // The owner now changes it and writes as it, like a profile it made.
    let response = app
        .send_json(Method::PUT, "/users/journeyer-1", Some(&newcomer), &rename)
        .await;
    assert_eq!(json_of(response, 200).await["name"], "Mine now");
    let body = json!({"title": "Mine", "body": "b"});
    let response = app
        .send_json(Method::POST, "/articles", Some(&newcomer), &body)
        .await;
    assert_eq!(json_of(response, 201).await["author"], "journeyer-1");
    let response = app
        .send_json(
            Method::POST,
            "/users",
            Some(&newcomer),
            &json!({"githubProfile": "second", "name": "S"}),
        )
        .await;
    problem(response, 409).await;
    app.shutdown().await;
}

#[tokio::test]
async fn an_imported_profile_nobody_owns_is_deleted_and_purged_by_an_admin() {
    let app = TestApp::spawn().await;
    let articles = vec![article(1, "journeyer-1")];
    run(
        &app,
        &[
            doc(Kind::Users, vec![user(1)]),
            doc(Kind::Articles, articles),
        ],
    )
    .await;
    let admin = app.admin().await;
    let response = app
        .request(Method::DELETE, "/users/journeyer-1", Some(&admin))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status(), 204);
    app.purges_finished().await;
    problem(app.get("/articles/article-number-1").await, 404).await;
    problem(app.get("/tags/open-system").await, 404).await;
    app.assert_no_drift().await;
    app.shutdown().await;
}
