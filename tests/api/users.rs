use futures_util::future::join_all;
use hdoc_shared::domain::{NewUser, Timestamp};
use hdoc_shared::http::extract::parse_json;
use hdoc_tests::{TestApp, json_of, next_link, problem};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn creating_a_profile_returns_it_with_its_location() {
    let app = TestApp::spawn().await;
    let token = app.token("sub-alice", &[]).await;
    let body = json!({"githubProfile": "Alice", "name": "Alice A", "bio": "hi",
        "twitterProfile": "alice_a", "avatarImage": "https://example.com/a.png"});
    let response = app
        .send_json(Method::POST, "/users", Some(&token), &body)
        .await;
    assert_eq!(response.headers()["location"], "/users/Alice");
    let user = json_of(response, 201).await;
    assert_eq!(user["id"], "Alice");
    assert_eq!(user["githubProfile"], "Alice");
    assert_eq!(user["name"], "Alice A");
    assert_eq!(user["bio"], "hi");
    assert_eq!(user["twitterProfile"], "alice_a");
    assert_eq!(user["avatarImage"], "https://example.com/a.png");
    assert_eq!(user["githubScore"], 0);
    assert_eq!(user["twitterScore"], 0);
    assert_eq!(user["totalScore"], 0);
    assert_eq!(user["dateJoined"], user["updatedAt"]);
    assert!(
        user["dateJoined"]
            .as_str()
            .is_some_and(|t| t.len() == 20 && t.ends_with('Z'))
    );
    let fetched = json_of(app.get("/users/Alice").await, 200).await;
    assert_eq!(fetched, user);
}

#[tokio::test]
async fn lookups_ignore_case_and_keep_the_stored_spelling() {
    let app = TestApp::spawn().await;
    app.user("sub-1", "MixedCase").await;
    for path in ["/users/mixedcase", "/users/MIXEDCASE", "/users/MixedCase"] {
        let user = json_of(app.get(path).await, 200).await;
        assert_eq!(user["id"], "MixedCase", "{path}");
    }
}

#[tokio::test]
async fn an_id_is_taken_whatever_its_case() {
    let app = TestApp::spawn().await;
    app.user("sub-1", "alice").await;
    let other = app.token("sub-2", &[]).await;
    let body = json!({"githubProfile": "ALICE", "name": "Impostor"});
    let response = app
        .send_json(Method::POST, "/users", Some(&other), &body)
        .await;
    let problem = problem(response, 409).await;
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("taken"))
    );
    assert_eq!(
        json_of(app.get("/users/alice").await, 200).await["name"],
        "alice name"
    );
    // The refused caller has no profile, so it can still create one.
    let body = json!({"githubProfile": "other", "name": "Other"});
    json_of(
        app.send_json(Method::POST, "/users", Some(&other), &body)
            .await,
        201,
    )
    .await;
}

#[tokio::test]
async fn a_caller_has_one_profile() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "first").await;
    let body = json!({"githubProfile": "second", "name": "Second"});
    let response = app
        .send_json(Method::POST, "/users", Some(&token), &body)
        .await;
    problem(response, 409).await;
    problem(app.get("/users/second").await, 404).await;
}

#[tokio::test]
async fn concurrent_creates_of_one_id_let_exactly_one_through() {
    let app = TestApp::spawn().await;
    let mut tokens = Vec::new();
    for i in 0..12 {
        tokens.push(app.token(&format!("racer-{i}"), &[]).await);
    }
    let attempts = tokens.iter().enumerate().map(|(i, token)| {
        let id = if i % 2 == 0 { "Racer" } else { "racer" };
        let body = json!({"githubProfile": id, "name": format!("racer {i}")});
        let app = &app;
        async move {
            app.send_json(Method::POST, "/users", Some(token), &body)
                .await
                .status()
                .as_u16()
        }
    });
    let mut statuses = join_all(attempts).await;
    statuses.sort_unstable();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        11,
        "{statuses:?}"
    );
    let listed = json_of(app.get("/users").await, 200).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn users_list_oldest_first_and_pages_to_the_end() {
    let app = TestApp::spawn().await;
    let ids = ["u1", "u2", "u3", "u4", "u5"];
    for (i, id) in ids.iter().enumerate() {
        app.user(&format!("sub-{i}"), id).await;
    }
    let mut seen = Vec::new();
    let mut path = "/users?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let response = app.get(&path).await;
        let next = next_link(&response);
        let page = json_of(response, 200).await;
        let page = page.as_array().expect("bare array");
        assert!(page.len() <= 2);
        seen.extend(
            page.iter()
                .map(|u| u["id"].as_str().expect("id").to_owned()),
        );
        pages += 1;
        match next {
            Some(next) => path = next,
            None => break,
        }
    }
    // Created within the same second they tie on time; the key then orders by id.
    assert_eq!(seen, ids);
    assert_eq!(pages, 3, "no empty trailing page");
    let all = json_of(app.get("/users").await, 200).await;
    assert_eq!(all.as_array().map(Vec::len), Some(5));
}

#[tokio::test]
async fn the_owner_updates_a_profile_partially() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    let body = json!({"bio": "rustacean", "twitterProfile": "alice"});
    let user = json_of(
        app.send_json(Method::PUT, "/users/ALICE", Some(&token), &body)
            .await,
        200,
    )
    .await;
    assert_eq!(user["bio"], "rustacean");
    assert_eq!(user["name"], "alice name", "absent fields are kept");
    let body = json!({"bio": null, "name": "Alice"});
    let user = json_of(
        app.send_json(Method::PUT, "/users/alice", Some(&token), &body)
            .await,
        200,
    )
    .await;
    assert_eq!(user["bio"], serde_json::Value::Null, "null clears");
    assert_eq!(user["twitterProfile"], "alice");
    assert_eq!(user["name"], "Alice");
    assert_eq!(json_of(app.get("/users/alice").await, 200).await, user);
}

#[tokio::test]
async fn only_admins_set_scores_and_the_total_is_derived() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    let before = json_of(app.get("/users/alice").await, 200).await;
    let body = json!({"githubScore": 10});
    problem(
        app.send_json(Method::PUT, "/users/alice", Some(&token), &body)
            .await,
        403,
    )
    .await;
    let body = json!({"totalScore": 10});
    problem(
        app.send_json(Method::PUT, "/users/alice", Some(&token), &body)
            .await,
        400,
    )
    .await;
    assert_eq!(json_of(app.get("/users/alice").await, 200).await, before);

    let admin = app.admin().await;
    let body = json!({"githubScore": 10, "twitterScore": 5});
    let user = json_of(
        app.send_json(Method::PUT, "/users/alice", Some(&admin), &body)
            .await,
        200,
    )
    .await;
    assert_eq!(
        (user["githubScore"].as_u64(), user["twitterScore"].as_u64()),
        (Some(10), Some(5))
    );
    assert_eq!(user["totalScore"], 15);
    let body = json!({"totalScore": 15});
    problem(
        app.send_json(Method::PUT, "/users/alice", Some(&admin), &body)
            .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn others_may_not_change_or_delete_a_profile() {
    let app = TestApp::spawn().await;
    app.user("sub-1", "alice").await;
    let mallory = app.user("sub-2", "mallory").await;
    let before = json_of(app.get("/users/alice").await, 200).await;
    let body = json!({"name": "pwned"});
    problem(
        app.send_json(Method::PUT, "/users/alice", Some(&mallory), &body)
            .await,
        403,
    )
    .await;
    let response = app
        .request(Method::DELETE, "/users/alice", Some(&mallory))
        .send()
        .await
        .expect("delete");
    problem(response, 403).await;
    assert_eq!(json_of(app.get("/users/alice").await, 200).await, before);
}

#[tokio::test]
async fn missing_users_are_404_for_every_method() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    problem(app.get("/users/nobody").await, 404).await;
    let body = json!({"name": "x"});
    problem(
        app.send_json(Method::PUT, "/users/nobody", Some(&admin), &body)
            .await,
        404,
    )
    .await;
    let response = app
        .request(Method::DELETE, "/users/nobody", Some(&admin))
        .send()
        .await
        .expect("delete");
    problem(response, 404).await;
}

#[tokio::test]
async fn deleting_a_profile_frees_its_id_and_its_caller() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    let response = app
        .request(Method::DELETE, "/users/Alice", Some(&token))
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), 204);
    problem(app.get("/users/alice").await, 404).await;
    let again = app
        .request(Method::DELETE, "/users/alice", Some(&token))
        .send()
        .await
        .expect("delete");
    problem(again, 404).await;
    assert_eq!(json_of(app.get("/leaderboard").await, 200).await, json!([]));
    // Free again once the deletion's purge has finished.
    app.purges_finished().await;
    let body = json!({"githubProfile": "alice", "name": "Alice again"});
    json_of(
        app.send_json(Method::POST, "/users", Some(&token), &body)
            .await,
        201,
    )
    .await;
}

#[tokio::test]
async fn an_admin_may_change_and_delete_anyone() {
    let app = TestApp::spawn().await;
    app.user("sub-1", "alice").await;
    let admin = app.admin().await;
    let body = json!({"name": "Renamed"});
    let user = json_of(
        app.send_json(Method::PUT, "/users/alice", Some(&admin), &body)
            .await,
        200,
    )
    .await;
    assert_eq!(user["name"], "Renamed");
    let response = app
        .request(Method::DELETE, "/users/alice", Some(&admin))
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), 204);
}

#[tokio::test]
async fn concurrent_score_changes_keep_total_and_leaderboard_consistent() {
    let app = TestApp::spawn().await;
    app.user("sub-1", "alice").await;
    let admin = app.admin().await;
    let changes = (1..=10u64).map(|i| {
        let body = if i % 2 == 0 {
            json!({"githubScore": i})
        } else {
            json!({"twitterScore": i})
        };
        let (app, admin) = (&app, &admin);
        async move {
            app.send_json(Method::PUT, "/users/alice", Some(admin), &body)
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = join_all(changes).await;
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    let user = json_of(app.get("/users/alice").await, 200).await;
    let (github, twitter) = (
        user["githubScore"].as_u64().expect("n"),
        user["twitterScore"].as_u64().expect("n"),
    );
    assert_eq!(user["totalScore"].as_u64(), Some(github + twitter));
    let board = json_of(app.get("/leaderboard").await, 200).await;
    assert_eq!(board[0]["totalScore"].as_u64(), Some(github + twitter));
    assert_eq!(board.as_array().map(Vec::len), Some(1));
    app.assert_no_drift().await;
}

#[tokio::test]
async fn a_profile_carries_every_v2_field() {
    let app = TestApp::spawn().await;
    let token = app.token("sub-ada", &[]).await;
    let body = json!({"githubProfile": "Ada", "name": "Ada L", "bio": "engines",
        "twitterProfile": "ada_l", "linkedinProfile": "https://uk.linkedin.com/in/ada-l/",
        "avatarImage": "https://img.example/ada.png"});
    let user = json_of(
        app.send_json(Method::POST, "/users", Some(&token), &body)
            .await,
        201,
    )
    .await;
    assert_eq!(user["avatarImage"], "https://img.example/ada.png");
    assert_eq!(user["linkedinProfile"], "https://www.linkedin.com/in/ada-l");
    for field in ["githubStreak", "twitterStreak", "daysCompleted"] {
        assert_eq!(user[field], 0, "{field}");
    }
    assert!(user.get("avatarUrl").is_none() && user.get("createdAt").is_none());
    let admin = app.admin().await;
    let body = json!({"githubStreak": 7, "twitterStreak": 3, "daysCompleted": 100,
        "linkedinProfile": "ada-lovelace"});
    let user = json_of(
        app.send_json(Method::PUT, "/users/ada", Some(&admin), &body)
            .await,
        200,
    )
    .await;
    assert_eq!(
        (
            &user["githubStreak"],
            &user["twitterStreak"],
            &user["daysCompleted"]
        ),
        (&json!(7), &json!(3), &json!(100))
    );
    assert_eq!(
        user["linkedinProfile"],
        "https://www.linkedin.com/in/ada-lovelace"
    );
    assert_eq!(json_of(app.get("/users/ada").await, 200).await, user);
    let body = json!({"linkedinProfile": null, "avatarImage": null});
    let user = json_of(
        app.send_json(Method::PUT, "/users/ada", Some(&token), &body)
            .await,
        200,
    )
    .await;
    // A cleared avatar is the GitHub one again: never null.
    assert!(user["linkedinProfile"].is_null());
    assert_eq!(user["avatarImage"], "https://github.com/Ada.png");
}

#[tokio::test]
async fn streaks_and_progress_are_for_admins_and_checked() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-1", "alice").await;
    let before = json_of(app.get("/users/alice").await, 200).await;
    for (field, value) in [
        ("githubStreak", json!(1)),
        ("twitterStreak", json!(1)),
        ("daysCompleted", json!(1)),
    ] {
        let problem = problem(
            app.send_json(
                Method::PUT,
                "/users/alice",
                Some(&token),
                &json!({field: value}),
            )
            .await,
            403,
        )
        .await;
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains(field)),
            "{problem}"
        );
    }
    let other = app.token("sub-2", &[]).await;
    let body = json!({"githubProfile": "bob", "name": "Bob", "daysCompleted": 3});
    problem(
        app.send_json(Method::POST, "/users", Some(&other), &body)
            .await,
        403,
    )
    .await;
    let admin = app.admin().await;
    for (field, value) in [
        ("daysCompleted", json!(101)),
        ("daysCompleted", json!(-1)),
        ("githubStreak", json!(1.5)),
        ("twitterStreak", json!("3")),
        ("githubStreak", json!(null)),
        ("linkedinProfile", json!("x")),
        ("linkedinProfile", json!("https://example.com/in/alice")),
        ("avatarImage", json!("https://img.example/a b.png")),
        ("dateJoined", json!("2020-01-01T00:00:00Z")),
    ] {
        let problem = problem(
            app.send_json(
                Method::PUT,
                "/users/alice",
                Some(&admin),
                &json!({field: value}),
            )
            .await,
            400,
        )
        .await;
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains(field)),
            "{field}: {problem}"
        );
    }
    assert_eq!(json_of(app.get("/users/alice").await, 200).await, before);
}

/// Seeds `users` (id, when it joined) through the repository, so that join
/// times (and ties within one second) are known.
async fn seed_joined(app: &TestApp, users: &[(&str, &str)]) {
    for (i, (id, joined)) in users.iter().enumerate() {
        let body = json!({"githubProfile": id, "name": id}).to_string();
        let new = parse_json::<NewUser>(body.as_bytes()).expect("valid");
        let joined = Timestamp::parse(joined).expect("timestamp");
        app.state()
            .repo
            .create_user(&format!("sub-{i}"), new.into_user(joined), None)
            .await
            .expect("seeded");
    }
}

fn ids_of(users: &[serde_json::Value]) -> Vec<&str> {
    users
        .iter()
        .map(|u| u["id"].as_str().expect("id"))
        .collect()
}

#[tokio::test]
async fn newest_first_reads_the_join_order_backwards_ties_included() {
    let app = TestApp::spawn().await;
    seed_joined(
        &app,
        &[
            ("b", "2026-03-01T10:00:00Z"),
            ("e", "2026-03-01T10:00:01Z"),
            ("a", "2026-03-01T10:00:00Z"),
            ("D", "2026-03-01T10:00:01Z"),
            ("c", "2026-03-01T10:00:00Z"),
        ],
    )
    .await;
    let (oldest, pages) = app.all_pages("/users?limit=2").await;
    assert_eq!(ids_of(&oldest), ["a", "b", "c", "D", "e"]);
    assert_eq!(pages, 3);
    let (newest, pages) = app.all_pages("/users?order=newest&limit=2").await;
    assert_eq!(ids_of(&newest), ["e", "D", "c", "b", "a"]);
    assert_eq!(pages, 3);
    assert_eq!(newest[0]["dateJoined"], "2026-03-01T10:00:01Z");
    assert_eq!(
        ids_of(
            &json_of(app.get("/users?order=oldest&limit=1").await, 200)
                .await
                .as_array()
                .cloned()
                .unwrap_or_default()
        ),
        ["a"]
    );
    // A cursor belongs to its order: one from the newest list is refused by the oldest.
    let response = app.get("/users?order=newest&limit=1").await;
    let next = next_link(&response).expect("next");
    assert!(next.contains("order=newest"), "{next}");
    let cursor = next.split("cursor=").nth(1).expect("cursor");
    problem(app.get(&format!("/users?cursor={cursor}")).await, 400).await;
    for bad in [
        "order=NEWEST",
        "order=",
        "order=random",
        "order=newest&order=oldest",
    ] {
        let problem = problem(app.get(&format!("/users?{bad}")).await, 400).await;
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("order")),
            "{bad}: {problem}"
        );
    }
}

#[tokio::test]
async fn me_is_the_callers_own_profile_from_creation_to_deletion() {
    let app = TestApp::spawn().await;
    problem(app.get("/me").await, 401).await;
    let token = app.token("sub-ada", &[]).await;
    let none = problem(
        app.request(Method::GET, "/me", Some(&token))
            .send()
            .await
            .expect("me"),
        404,
    )
    .await;
    assert_eq!(
        none["message"],
        "the caller has no profile (POST /users makes one)"
    );
    let body = json!({"githubProfile": "Ada", "name": "Ada L"});
    let made = json_of(
        app.send_json(Method::POST, "/users", Some(&token), &body)
            .await,
        201,
    )
    .await;
    // At once (read consistently), and exactly the profile.
    let me = app
        .request(Method::GET, "/me", Some(&token))
        .send()
        .await
        .expect("me");
    assert_eq!(json_of(me, 200).await, made);
    let change = json!({"bio": "settings page"});
    app.send_json(Method::PUT, "/users/ada", Some(&token), &change)
        .await;
    let me = app
        .request(Method::GET, "/me", Some(&token))
        .send()
        .await
        .expect("me");
    assert_eq!(json_of(me, 200).await["bio"], "settings page");
    // Another caller's /me is its own.
    let other = app.user("sub-bob", "bob").await;
    let me = app
        .request(Method::GET, "/me", Some(&other))
        .send()
        .await
        .expect("me");
    assert_eq!(json_of(me, 200).await["id"], "bob");
    // An imported profile handed over is the new owner's /me.
    let grace = app.token("sub-grace", &[]).await;
    let imported = parse_json::<NewUser>(br#"{"githubProfile": "grace", "name": "Grace"}"#)
        .expect("valid")
        .into_user(Timestamp::now());
    app.state()
        .repo
        .import_profiles(&[imported])
        .await
        .expect("imported");
    problem(
        app.request(Method::GET, "/me", Some(&grace))
            .send()
            .await
            .expect("me"),
        404,
    )
    .await;
    let admin = app.admin().await;
    let owner = json!({"sub": "sub-grace"});
    json_of(
        app.send_json(Method::PUT, "/users/grace/owner", Some(&admin), &owner)
            .await,
        200,
    )
    .await;
    let me = app
        .request(Method::GET, "/me", Some(&grace))
        .send()
        .await
        .expect("me");
    assert_eq!(json_of(me, 200).await["id"], "grace");
    // Gone with the profile.
    let deleted = app
        .request(Method::DELETE, "/users/ada", Some(&token))
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), 204);
    problem(
        app.request(Method::GET, "/me", Some(&token))
            .send()
            .await
            .expect("me"),
        404,
    )
    .await;
}
