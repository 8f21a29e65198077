//! The journey (contract v3): `journeyRepo`, `blogUrl` and the read-only
//! journey fields of a profile; verification; the journey job against the
//! GitHub stand-in (`tests/github.rs`). The rule is docs/journey.md.

use hdoc_tests::{TestApp, json_of, problem};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_profile_carries_the_journey_fields() {
    let app = TestApp::spawn().await;
    let token = app.token("sub-ada", &[]).await;
    let body = json!({"githubProfile": "Ada", "name": "Ada",
        "journeyRepo": "ada/100DaysOfCloud", "blogUrl": "https://ada.blog"});
    let user = json_of(
        app.send_json(Method::POST, "/users", Some(&token), &body)
            .await,
        201,
    )
    .await;
    assert_eq!(user["journeyRepo"], "https://github.com/ada/100DaysOfCloud");
    assert_eq!(user["blogUrl"], "https://ada.blog");
    assert_eq!(user["verified"], false);
    assert_eq!(user["consistency"], 0.0);
    assert!(user["lastEntryAt"].is_null());
    // The URL form, the owner in another case: the same repository.
    let body = json!({"journeyRepo": "https://github.com/ADA/journey/", "blogUrl": null});
    let user = json_of(
        app.send_json(Method::PUT, "/users/ada", Some(&token), &body)
            .await,
        200,
    )
    .await;
    assert_eq!(user["journeyRepo"], "https://github.com/ADA/journey");
    assert!(user["blogUrl"].is_null());
    assert_eq!(json_of(app.get("/users/ada").await, 200).await, user);
    let me = json_of(
        app.request(Method::GET, "/me", Some(&token))
            .send()
            .await
            .expect("me"),
        200,
    )
    .await;
    assert_eq!(me, user);
}

#[tokio::test]
async fn a_journey_repo_owned_by_another_login_is_400_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let token = app.user("sub-mallory", "mallory").await;
    let before = json_of(app.get("/users/mallory").await, 200).await;
    for (body, field) in [
        (
            json!({"journeyRepo": "torvalds/100DaysOfCloud"}),
            "journeyRepo",
        ),
        (
            json!({"journeyRepo": "https://github.com/torvalds/x", "name": "M"}),
            "journeyRepo",
        ),
        (json!({"journeyRepo": "not a repo"}), "journeyRepo"),
        (json!({"blogUrl": "ftp://blog.example"}), "blogUrl"),
        (json!({"verified": true}), "verified"),
        (json!({"consistency": 1}), "consistency"),
    ] {
        let response = app
            .send_json(Method::PUT, "/users/mallory", Some(&token), &body)
            .await;
        let problem = problem(response, 400).await;
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains(field)),
            "{body}: {problem}"
        );
    }
    assert_eq!(json_of(app.get("/users/mallory").await, 200).await, before);
    // And at creation.
    let other = app.token("sub-eve", &[]).await;
    let body = json!({"githubProfile": "eve", "name": "Eve", "journeyRepo": "alice/journey"});
    let response = app
        .send_json(Method::POST, "/users", Some(&other), &body)
        .await;
    let problem = problem(response, 400).await;
    assert_eq!(problem["errors"][0]["field"], "journeyRepo");
    assert_eq!(app.get("/users/eve").await.status(), 404);
}

// ---- verification and the journey job, against the GitHub stand-in ---------

use activity::{ActivityRun, Settings};
use hdoc_shared::domain::UserId;
use hdoc_shared::jobs::Ended;
use hdoc_tests::github::FakeGitHub;
use serde_json::Value;
use time::Date;
use time::macros::date;

/// A Wednesday (ISO week 2026-W10 runs Mon Mar 2 to Sun Mar 8).
const TODAY: Date = date!(2026 - 03 - 04);
const CREATED: &str = "2026-01-01T00:00:00Z";

async fn started() -> (FakeGitHub, TestApp) {
    let github = FakeGitHub::start().await;
    github.template();
    let app = TestApp::spawn_with_github(&github.base, Some("ghp_test")).await;
    (github, app)
}

fn settings(app: &TestApp, today: Date) -> Settings {
    Settings {
        today: Some(today),
        ..Settings::of(&app.state().config)
    }
}

/// One run of the journey job as of `today`, to its end.
async fn run(app: &TestApp, today: Date) -> ActivityRun {
    match activity::run(app.state(), app.github(), None, &settings(app, today))
        .await
        .expect("the journey job runs")
    {
        Ended::Finished(run) => run,
        other => panic!("the run did not finish: {other:?}"),
    }
}

async fn post(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.request(Method::POST, path, Some(token))
        .send()
        .await
        .expect("a request")
}

/// A new code for `login`, put in the README of `login/100DaysOfCloud`.
async fn code_in_readme(app: &TestApp, github: &FakeGitHub, login: &str, token: &str) -> String {
    let path = format!("/users/{login}/verification");
    let answer = json_of(post(app, &path, token).await, 201).await;
    let code = answer["code"].as_str().expect("a code").to_owned();
    let line = format!("# Journey\n\nhdoc-verification: {code}\n");
    github.change_repo(&format!("{login}/100DaysOfCloud"), |repo| {
        repo.readme = Some(line);
    });
    code
}

/// `login`'s profile with its copy of the template, verified; its token.
async fn journeyer(app: &TestApp, github: &FakeGitHub, login: &str) -> String {
    let token = app.user(&format!("sub-{login}"), login).await;
    github.copy_template(login, "100DaysOfCloud", CREATED);
    let body = json!({"journeyRepo": format!("{login}/100DaysOfCloud")});
    let path = format!("/users/{login}");
    json_of(
        app.send_json(Method::PUT, &path, Some(&token), &body).await,
        200,
    )
    .await;
    code_in_readme(app, github, login, &token).await;
    let check = format!("/users/{login}/verification/check");
    let user = json_of(post(app, &check, &token).await, 200).await;
    assert_eq!(user["verified"], true);
    token
}

async fn profile(app: &TestApp, id: &str) -> Value {
    json_of(app.get(&format!("/users/{id}")).await, 200).await
}

/// `(githubScore, githubStreak, daysCompleted, consistency)`.
async fn numbers(app: &TestApp, id: &str) -> (u64, u64, u64, f64) {
    let user = profile(app, id).await;
    let n = |field: &str| user[field].as_u64().expect(field);
    (
        n("githubScore"),
        n("githubStreak"),
        n("daysCompleted"),
        user["consistency"].as_f64().expect("consistency"),
    )
}

/// The recorded days of `id`: day -> date.
async fn recorded(app: &TestApp, id: &str) -> Vec<(u8, String)> {
    let id = UserId::parse(id).expect("id");
    let journeyer = app
        .state()
        .repo
        .journeyer(&id)
        .await
        .expect("read")
        .expect("live");
    journeyer
        .activity
        .journey
        .days
        .iter()
        .map(|(day, date)| (day.get(), date.to_string()))
        .collect()
}

#[tokio::test]
async fn verification_by_code_names_what_is_missing() {
    let (github, app) = started().await;
    let token = app.user("sub-ada", "ada").await;
    let check = "/users/ada/verification/check";
    let missing = |problem: Value, what: &str| {
        let detail = problem["detail"].as_str().unwrap_or_default().to_owned();
        assert!(detail.contains(what), "{detail} should name {what}");
    };
    missing(
        problem(post(&app, check, &token).await, 422).await,
        "no journey repo",
    );
    let body = json!({"journeyRepo": "ada/100DaysOfCloud"});
    json_of(
        app.send_json(Method::PUT, "/users/ada", Some(&token), &body)
            .await,
        200,
    )
    .await;
    // Not on GitHub (or private).
    missing(
        problem(post(&app, check, &token).await, 422).await,
        "not public",
    );
    github.copy_template("ada", "100DaysOfCloud", CREATED);
    // No code asked for yet.
    missing(problem(post(&app, check, &token).await, 422).await, "code");
    // Only the owner asks for a code, or for the check.
    let other = app.token("sub-eve", &[]).await;
    problem(post(&app, "/users/ada/verification", &other).await, 403).await;
    problem(post(&app, check, &other).await, 403).await;
    // With an Idempotency-Key, a repeat answers the first code again.
    let keyed = || {
        app.request(Method::POST, "/users/ada/verification", Some(&token))
            .header("idempotency-key", "code-1")
            .send()
    };
    let first = json_of(keyed().await.expect("sent"), 201).await;
    let again = json_of(keyed().await.expect("sent"), 201).await;
    assert_eq!(first, again);
    // A code in the README that is not the one pending.
    let old = code_in_readme(&app, &github, "ada", &token).await;
    let fresh = json_of(post(&app, "/users/ada/verification", &token).await, 201).await;
    assert_ne!(fresh["code"], old, "a new code replaces the old");
    missing(problem(post(&app, check, &token).await, 422).await, "code");
    assert_eq!(profile(&app, "ada").await["verified"], false);
    // The pending code: verified.
    let line = format!(
        "hdoc-verification: {}",
        fresh["code"].as_str().expect("code")
    );
    github.change_repo("ada/100DaysOfCloud", |repo| repo.readme = Some(line));
    let user = json_of(post(&app, check, &token).await, 200).await;
    assert_eq!(user["verified"], true);
    assert_eq!(profile(&app, "ada").await, user);
    // Again: still verified, nothing asked of GitHub.
    github.clear_seen();
    json_of(post(&app, check, &token).await, 200).await;
    assert_eq!(github.requests(), 0);
    app.shutdown().await;
}

#[tokio::test]
async fn an_unverified_claim_of_someone_elses_login_earns_nothing() {
    let (github, app) = started().await;
    // The real torvalds documents days in their own repository ...
    github.copy_template("torvalds", "100DaysOfCloud", CREATED);
    github.push(
        "torvalds/100DaysOfCloud",
        &[1, 2, 3],
        "2026-03-04T09:00:00Z",
        "2026-03-04T09:00:00Z",
    );
    // ... and mallory makes the profile `torvalds`, naming that repository.
    let token = app.user("sub-mallory", "torvalds").await;
    let body = json!({"journeyRepo": "torvalds/100DaysOfCloud"});
    json_of(
        app.send_json(Method::PUT, "/users/torvalds", Some(&token), &body)
            .await,
        200,
    )
    .await;
    let before = profile(&app, "torvalds").await;
    github.clear_seen();
    let run = run(&app, TODAY).await;
    assert_eq!((run.users, run.new_days, run.updated), (0, 0, 0), "{run:?}");
    assert_eq!(
        github.requests(),
        0,
        "an unverified profile costs no request"
    );
    assert_eq!(profile(&app, "torvalds").await, before);
    assert_eq!(numbers(&app, "torvalds").await, (0, 0, 0, 0.0));
    // Mallory cannot put a code in torvalds's README: the check says so.
    json_of(
        post(&app, "/users/torvalds/verification", &token).await,
        201,
    )
    .await;
    let problem = problem(
        post(&app, "/users/torvalds/verification/check", &token).await,
        422,
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("code"))
    );
    app.shutdown().await;
}

#[tokio::test]
async fn honest_daily_progress_gaps_and_idempotent_reruns() {
    let (github, app) = started().await;
    journeyer(&app, &github, "ada").await;
    let repo = "ada/100DaysOfCloud";
    github.push(repo, &[1], "2026-03-02T20:00:00Z", "2026-03-02T20:00:05Z");
    github.push(repo, &[2], "2026-03-03T21:00:00Z", "2026-03-03T21:00:05Z");
    github.push(repo, &[3], "2026-03-04T07:00:00Z", "2026-03-04T07:00:05Z");
    github.clear_seen();
    let first = run(&app, TODAY).await;
    assert_eq!(
        (first.users, first.new_days, first.updated),
        (1, 3, 1),
        "{first:?}"
    );
    // Template (repo, tree), repo, tree, events, three compares.
    assert_eq!(first.requests, 8, "{first:?}");
    assert_eq!(numbers(&app, "ada").await, (30, 3, 3, 1.0));
    assert_eq!(
        profile(&app, "ada").await["lastEntryAt"],
        "2026-03-04T00:00:00Z"
    );
    assert_eq!(
        recorded(&app, "ada").await,
        [
            (1, "2026-03-02".into()),
            (2, "2026-03-03".into()),
            (3, "2026-03-04".into())
        ]
    );
    // Again, nothing new: two conditional requests, both 304, no write.
    github.clear_seen();
    let again = run(&app, TODAY).await;
    assert_eq!(
        (again.new_days, again.updated, again.not_modified),
        (0, 0, 1),
        "{again:?}"
    );
    assert_eq!(
        again.requests, 4,
        "the template again, then two 304s: {again:?}"
    );
    assert_eq!(github.by_status().get(&304), Some(&2));
    assert_eq!(numbers(&app, "ada").await, (30, 3, 3, 1.0));
    // A gap: nothing on Mar 5 and 6, day 4 on Mar 7; as of Mar 8.
    github.push(repo, &[4], "2026-03-07T10:00:00Z", "2026-03-07T10:00:00Z");
    let later = run(&app, date!(2026 - 03 - 08)).await;
    assert_eq!(later.new_days, 1, "{later:?}");
    // 4 days over Mar 2..=Mar 8: 0.57; the streak is Mar 7 alone.
    assert_eq!(numbers(&app, "ada").await, (40, 1, 4, 0.57));
    // Days later, nothing new: the streak is gone, consistency falls.
    run(&app, date!(2026 - 03 - 12)).await;
    assert_eq!(numbers(&app, "ada").await, (40, 0, 4, 0.36));
    app.shutdown().await;
}

#[tokio::test]
async fn a_bulk_push_of_backdated_commits_is_dated_by_its_push() {
    let (github, app) = started().await;
    journeyer(&app, &github, "ada").await;
    // Thirty days committed "a year ago" (before the repository existed),
    // pushed today in one push.
    let days: Vec<u32> = (1..=30).collect();
    github.push(
        "ada/100DaysOfCloud",
        &days,
        "2025-03-04T09:00:00Z",
        "2026-03-04T09:30:00Z",
    );
    let run1 = run(&app, TODAY).await;
    assert_eq!(run1.new_days, 30, "{run1:?}");
    assert_eq!(numbers(&app, "ada").await, (300, 1, 30, 1.0));
    assert!(
        recorded(&app, "ada")
            .await
            .iter()
            .all(|(_, date)| date == "2026-03-04")
    );
    // Older days, without a push GitHub still lists: the commit's date,
    // never before the repository was made.
    journeyer(&app, &github, "bob").await;
    github.commit("bob/100DaysOfCloud", &[1], "2026-01-05T12:00:00Z");
    github.commit("bob/100DaysOfCloud", &[2], "2025-06-01T12:00:00Z");
    run(&app, TODAY).await;
    assert_eq!(
        recorded(&app, "bob").await,
        [(1, "2026-01-05".into()), (2, "2026-01-01".into())]
    );
    // 2 days from Jan 1 through Mar 4 (63 dates): 0.03.
    assert_eq!(numbers(&app, "bob").await, (20, 0, 2, 0.03));
    app.shutdown().await;
}

#[tokio::test]
async fn two_recounts_at_once_count_each_day_once() {
    let (github, app) = started().await;
    journeyer(&app, &github, "ada").await;
    github.push(
        "ada/100DaysOfCloud",
        &[1, 2, 3],
        "2026-03-04T09:00:00Z",
        "2026-03-04T09:00:00Z",
    );
    let id = UserId::parse("ada").expect("id");
    let (one, two) = (
        activity::journey::Placeholders::new(hdoc_shared::config::JOURNEY_TEMPLATE),
        activity::journey::Placeholders::new(hdoc_shared::config::JOURNEY_TEMPLATE),
    );
    let repo = &app.state().repo;
    let (a, b) = tokio::join!(
        activity::recount(repo, app.github(), &one, &id, None, TODAY, None),
        activity::recount(repo, app.github(), &two, &id, None, TODAY, None)
    );
    let new_days = |recount: activity::Recount| match recount.result {
        activity::Counted::Recorded { new_days, .. } => new_days,
        other => panic!("not recorded: {other:?}"),
    };
    let total = new_days(a.expect("a")) + new_days(b.expect("b"));
    assert_eq!(total, 3, "each day is counted once");
    assert_eq!(numbers(&app, "ada").await, (30, 1, 3, 1.0));
    // And two whole runs at once: one holds the job, nothing counts twice.
    let state = app.state();
    let s = settings(&app, TODAY);
    let (x, y) = tokio::join!(
        activity::run(state, app.github(), None, &s),
        activity::run(state, app.github(), None, &s)
    );
    let _ = (x.expect("x"), y.expect("y"));
    assert_eq!(numbers(&app, "ada").await, (30, 1, 3, 1.0));
    app.assert_no_drift().await;
    app.shutdown().await;
}

#[tokio::test]
async fn the_journey_and_the_badge_show_the_days() {
    let (github, app) = started().await;
    journeyer(&app, &github, "ada").await;
    github.push(
        "ada/100DaysOfCloud",
        &[1, 2],
        "2026-03-03T09:00:00Z",
        "2026-03-03T09:00:00Z",
    );
    github.push(
        "ada/100DaysOfCloud",
        &[5],
        "2026-03-04T09:00:00Z",
        "2026-03-04T09:00:00Z",
    );
    run(&app, TODAY).await;
    let journey = json_of(app.get("/users/ADA/journey").await, 200).await;
    assert_eq!(
        journey,
        json!({
            "repo": "https://github.com/ada/100DaysOfCloud",
            "verified": true,
            "daysCompleted": 3,
            "githubStreak": 2,
            "consistency": 1.0,
            "lastEntryAt": "2026-03-04T00:00:00Z",
            "days": [
                {"day": 1, "date": "2026-03-03",
                 "url": "https://github.com/ada/100DaysOfCloud/blob/main/Journey/001/Readme.md"},
                {"day": 2, "date": "2026-03-03",
                 "url": "https://github.com/ada/100DaysOfCloud/blob/main/Journey/002/Readme.md"},
                {"day": 5, "date": "2026-03-04",
                 "url": "https://github.com/ada/100DaysOfCloud/blob/main/Journey/005/Readme.md"},
            ]
        })
    );
    // A profile without a journey: no days.
    app.user("sub-bob", "bob").await;
    let bob = json_of(app.get("/users/bob/journey").await, 200).await;
    assert_eq!(
        (bob["repo"].clone(), bob["days"].clone()),
        (Value::Null, json!([]))
    );
    assert_eq!(app.get("/users/nobody/journey").await.status(), 404);
    // The badge: SVG, the challenge, N/100 and the streak; cacheable.
    let response = app.get("/users/ada/badge.svg").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    // Opened on its own, it runs and loads nothing.
    assert_eq!(
        response.headers()["content-security-policy"],
        "default-src 'none'; style-src 'unsafe-inline'"
    );
    let etag = response.headers()["etag"].clone();
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .is_ok_and(|c| c.contains("s-maxage"))
    );
    let svg = response.text().await.expect("a body");
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    assert!(
        svg.contains("#100DaysOfCloud") && svg.contains("3/100 · streak 2"),
        "{svg}"
    );
    let again = app
        .request(Method::GET, "/users/ada/badge.svg", None)
        .header("if-none-match", etag)
        .send()
        .await
        .expect("a request");
    assert_eq!(again.status(), 304);
    assert_eq!(app.get("/users/nobody/badge.svg").await.status(), 404);
    app.shutdown().await;
}

#[tokio::test]
async fn the_weeks_leaderboard_turns_over_on_monday_utc() {
    let github = FakeGitHub::start().await;
    github.template();
    let clock = hdoc_shared::clock::Clock::manual();
    let base = github.base.clone();
    let app_clock = clock.clone();
    let app = TestApp::spawn_configured(hdoc_tests::dynamodb_endpoint(), move |config| {
        config.github_api = base;
        config.github_token = Some(hdoc_shared::config::GitHubToken("ghp_test".into()));
        config.clock = app_clock;
    })
    .await;
    // The next Sunday, at noon UTC; then the Monday after.
    let today = clock.now().date();
    let sunday = (1..=7)
        .map(|n| today + time::Duration::days(n))
        .find(|d| d.weekday() == time::Weekday::Sunday)
        .expect("a Sunday within a week");
    let monday = sunday.next_day().expect("a Monday");
    let noon = |date: Date| date.with_hms(12, 0, 0).expect("noon").assume_utc();
    let at = |date: Date, hour: u8| format!("{date}T{hour:02}:00:00Z");
    journeyer(&app, &github, "ada").await;
    journeyer(&app, &github, "bob").await;
    journeyer(&app, &github, "cy").await;
    github.push(
        "ada/100DaysOfCloud",
        &[1, 2],
        &at(sunday, 10),
        &at(sunday, 10),
    );
    github.push("bob/100DaysOfCloud", &[1], &at(sunday, 9), &at(sunday, 9));
    // Late on Sunday in UTC (Monday already east of it): still Sunday's.
    github.push("cy/100DaysOfCloud", &[1], &at(sunday, 23), &at(sunday, 23));
    run(&app, sunday).await;
    clock.advance((noon(sunday) - clock.now()).try_into().expect("ahead"));
    let board = |rows: &Value| -> Vec<(String, u64)> {
        rows.as_array()
            .expect("rows")
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().expect("id").to_owned(),
                    r["weekDays"].as_u64().expect("weekDays"),
                )
            })
            .collect()
    };
    let week = json_of(app.get("/leaderboard?period=week").await, 200).await;
    assert_eq!(
        board(&week),
        [
            ("ada".to_owned(), 2),
            ("bob".to_owned(), 1),
            ("cy".to_owned(), 1)
        ]
    );
    assert_eq!(week[0]["rank"], 1);
    assert_eq!(week[0]["totalScore"], 20);
    // Monday: bob documents two more; the new week has only what Monday brought.
    github.push(
        "bob/100DaysOfCloud",
        &[2, 3],
        &at(monday, 8),
        &at(monday, 8),
    );
    run(&app, monday).await;
    clock.advance((noon(monday) - clock.now()).try_into().expect("ahead"));
    let week = json_of(app.get("/leaderboard?period=week&limit=10").await, 200).await;
    assert_eq!(board(&week), [("bob".to_owned(), 2)]);
    let all = json_of(app.get("/leaderboard?period=all").await, 200).await;
    let ids: Vec<&str> = all
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["bob", "ada", "cy"]);
    assert!(all[0].get("weekDays").is_none());
    // Pages of one: the cursor goes on within the week.
    let first = app.get("/leaderboard?period=week&limit=1").await;
    assert_eq!(first.status(), 200);
    let problem = problem(app.get("/leaderboard?period=month").await, 400).await;
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("period"))
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_push_webhook_recounts_at_once_and_only_when_signed() {
    let github = FakeGitHub::start().await;
    github.template();
    let base = github.base.clone();
    let app = TestApp::spawn_configured(hdoc_tests::dynamodb_endpoint(), move |config| {
        config.github_api = base;
        config.github_token = Some(hdoc_shared::config::GitHubToken("ghp_test".into()));
        config.webhook_secret = Some(hdoc_shared::config::GitHubToken("whsec-test".into()));
    })
    .await;
    journeyer(&app, &github, "ada").await;
    // Committed "long ago", pushed now: the delivery arrives as it happens.
    github.commit("ada/100DaysOfCloud", &[1, 2], "2025-01-01T00:00:00Z");
    let push = json!({
        "ref": "refs/heads/main",
        "before": "0", "after": "1", "deleted": false,
        "repository": {"full_name": "ada/100DaysOfCloud", "default_branch": "main",
            "owner": {"login": "ada", "name": "ada"}, "pushed_at": 1_772_600_000},
        "commits": [{"added": [], "removed": [],
            "modified": ["Journey/001/Readme.md", "Journey/002/Readme.md"]}],
    })
    .to_string();
    let deliver = |event: &'static str, body: String, signature: Option<String>| {
        let mut request = app
            .request(Method::POST, "/github/webhook", None)
            .header("content-type", "application/json")
            .header("x-github-event", event)
            .body(body);
        if let Some(signature) = signature {
            request = request.header("x-hub-signature-256", signature);
        }
        request.send()
    };
    let sign = |body: &str| Some(::github::signature(b"whsec-test", body.as_bytes()));
    // Unsigned, or signed with another secret, or another body: 401, nothing changes.
    problem(
        deliver("push", push.clone(), None).await.expect("sent"),
        401,
    )
    .await;
    let forged = Some(::github::signature(b"guess", push.as_bytes()));
    problem(
        deliver("push", push.clone(), forged).await.expect("sent"),
        401,
    )
    .await;
    let other_body = push.replace("Journey/002", "Journey/003");
    problem(
        deliver("push", other_body, sign(&push))
            .await
            .expect("sent"),
        401,
    )
    .await;
    assert_eq!(numbers(&app, "ada").await, (0, 0, 0, 0.0));
    // A ping.
    let ping = r#"{"zen": "Keep it logically awesome.", "hook_id": 1}"#.to_owned();
    let pong = json_of(
        deliver("ping", ping.clone(), sign(&ping))
            .await
            .expect("sent"),
        200,
    )
    .await;
    assert_eq!(pong["recounted"], false);
    // The push: recounted at once, dated today (its arrival), whatever the commits say.
    github.clear_seen();
    let answer = json_of(
        deliver("push", push.clone(), sign(&push))
            .await
            .expect("sent"),
        202,
    )
    .await;
    assert_eq!(
        (answer["recounted"].clone(), answer["newDays"].clone()),
        (json!(true), json!(2))
    );
    let first_push = github.requests();
    let today = app.state().config.clock.now().date().to_string();
    assert_eq!(
        recorded(&app, "ada").await,
        [(1, today.clone()), (2, today)]
    );
    assert_eq!(numbers(&app, "ada").await, (20, 1, 2, 1.0));
    // The same delivery again: nothing counts twice.
    github.clear_seen();
    let again = json_of(
        deliver("push", push.clone(), sign(&push))
            .await
            .expect("sent"),
        202,
    )
    .await;
    assert_eq!(again["newDays"], 0);
    assert_eq!(numbers(&app, "ada").await, (20, 1, 2, 1.0));
    // Template (2, once a process), repository, tree; then two 304s.
    assert_eq!((first_push, github.requests()), (4, 2));
    assert_eq!(github.by_status().get(&304), Some(&2));
    // Another repository, another event: 202, ignored.
    let elsewhere = push.replace("ada/100DaysOfCloud", "ada/dotfiles");
    let ignored = json_of(
        deliver("push", elsewhere.clone(), sign(&elsewhere))
            .await
            .expect("sent"),
        202,
    )
    .await;
    assert_eq!(ignored["recounted"], false);
    let issue = r#"{"action": "opened"}"#.to_owned();
    let ignored = json_of(
        deliver("issues", issue.clone(), sign(&issue))
            .await
            .expect("sent"),
        202,
    )
    .await;
    assert_eq!(ignored["recounted"], false);
    assert_eq!(numbers(&app, "ada").await, (20, 1, 2, 1.0));
    app.shutdown().await;
}

#[tokio::test]
async fn a_run_stopped_by_the_rate_limit_is_finished_after_the_reset() {
    let (github, app) = started().await;
    for login in ["ada", "bob"] {
        journeyer(&app, &github, login).await;
        github.push(
            &format!("{login}/100DaysOfCloud"),
            &[1],
            "2026-03-04T09:00:00Z",
            "2026-03-04T09:00:00Z",
        );
    }
    let clock = hdoc_shared::clock::Clock::manual();
    github.set_clock(clock.clone());
    let client = app.github().clone().with_clock(clock.clone());
    // Six requests left: the template (2), then ada's repo, tree, events
    // and compare; the run stops there until the reset.
    github.set_rate(6, 600);
    let s = settings(&app, TODAY);
    let paused = match activity::run(app.state(), &client, None, &s)
        .await
        .expect("runs")
    {
        Ended::Paused(run) => run,
        other => panic!("the run did not pause: {other:?}"),
    };
    assert_eq!(
        paused.stopped_by.as_deref(),
        Some("rateLimit"),
        "{paused:?}"
    );
    assert_eq!((paused.users, paused.new_days), (1, 1), "{paused:?}");
    assert_eq!(numbers(&app, "ada").await.2, 1);
    assert_eq!(numbers(&app, "bob").await.2, 0);
    // Before the reset: nothing is asked of GitHub.
    github.clear_seen();
    assert!(matches!(
        activity::run(app.state(), &client, None, &s)
            .await
            .expect("runs"),
        Ended::Paused(_)
    ));
    assert_eq!(github.requests(), 0);
    // After it, the run goes on from bob and finishes.
    clock.advance(std::time::Duration::from_secs(601));
    let finished = match activity::run(app.state(), &client, None, &s)
        .await
        .expect("runs")
    {
        Ended::Finished(run) => run,
        other => panic!("the run did not finish: {other:?}"),
    };
    assert_eq!((finished.users, finished.new_days), (2, 2), "{finished:?}");
    assert_eq!(numbers(&app, "bob").await.2, 1);
    app.shutdown().await;
}

#[tokio::test]
async fn a_repository_gone_private_is_recorded_and_the_others_go_on() {
    let (github, app) = started().await;
    for login in ["ada", "bob"] {
        journeyer(&app, &github, login).await;
        github.push(
            &format!("{login}/100DaysOfCloud"),
            &[1],
            "2026-03-04T09:00:00Z",
            "2026-03-04T09:00:00Z",
        );
    }
    github.change_repo("ada/100DaysOfCloud", |repo| repo.private = true);
    let run1 = run(&app, TODAY).await;
    assert_eq!(
        (run1.users, run1.failed, run1.new_days),
        (2, 1, 1),
        "{run1:?}"
    );
    assert_eq!(run1.failures[0].id, "ada");
    assert!(run1.failures[0].error.contains("not public"), "{run1:?}");
    let id = UserId::parse("ada").expect("id");
    let ada = app
        .state()
        .repo
        .journeyer(&id)
        .await
        .expect("read")
        .expect("live");
    assert!(ada.activity.error.is_some());
    assert_eq!(numbers(&app, "ada").await, (0, 0, 0, 0.0));
    assert_eq!(numbers(&app, "bob").await, (10, 1, 1, 1.0));
    // Public again: counted, and the failure cleared.
    github.change_repo("ada/100DaysOfCloud", |repo| repo.private = false);
    let run2 = run(&app, TODAY).await;
    assert_eq!(run2.failed, 0, "{run2:?}");
    let ada = app
        .state()
        .repo
        .journeyer(&id)
        .await
        .expect("read")
        .expect("live");
    assert!(ada.activity.error.is_none());
    assert_eq!(numbers(&app, "ada").await, (10, 1, 1, 1.0));
    app.shutdown().await;
}

#[tokio::test]
async fn an_admins_correction_stays_an_offset_and_deletion_takes_the_week_entries() {
    let (github, app) = started().await;
    let token = journeyer(&app, &github, "ada").await;
    let repo = "ada/100DaysOfCloud";
    github.push(
        repo,
        &[1, 2, 3],
        "2026-03-04T09:00:00Z",
        "2026-03-04T09:00:00Z",
    );
    run(&app, TODAY).await;
    assert_eq!(numbers(&app, "ada").await.0, 30);
    // Work documented elsewhere: the admin adds 70 points.
    let admin = app.admin().await;
    let body = json!({"githubScore": 100});
    json_of(
        app.send_json(Method::PUT, "/users/ada", Some(&admin), &body)
            .await,
        200,
    )
    .await;
    github.push(repo, &[4], "2026-03-05T09:00:00Z", "2026-03-05T09:00:00Z");
    run(&app, date!(2026 - 03 - 05)).await;
    assert_eq!(numbers(&app, "ada").await, (110, 2, 4, 1.0));
    // The owner deletes the profile: the week's entries go with it.
    let response = app
        .request(Method::DELETE, "/users/ada", Some(&token))
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), 204);
    app.purges_finished().await;
    let client = app.state().repo.client();
    let left = client
        .query()
        .table_name(&app.state().config.table)
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S("USER#ada".into()),
        )
        .send()
        .await
        .expect("query");
    assert_eq!(left.count(), 0, "{:?}", left.items());
    app.shutdown().await;
}

/// What the job costs, per journeyer (docs/journey.md, "What a run costs"):
/// 100 verified journeyers, each with one push of two days in GitHub's window.
#[tokio::test]
async fn requests_per_journeyer() {
    let (github, app) = started().await;
    let n = 100;
    let logins: Vec<String> = (0..n).map(|i| format!("j{i:03}")).collect();
    for login in &logins {
        journeyer(&app, &github, login).await;
        github.push(
            &format!("{login}/100DaysOfCloud"),
            &[1, 2],
            "2026-03-03T09:00:00Z",
            "2026-03-03T09:00:00Z",
        );
    }
    let measure = |run: &ActivityRun, github: &FakeGitHub| {
        (run.requests, github.counted() as u64, run.new_days)
    };
    github.clear_seen();
    let first = run(&app, date!(2026 - 03 - 03)).await;
    let first = measure(&first, &github);
    // Template (2), then repo, tree, events, one compare each.
    assert_eq!(first, (2 + 4 * n, 2 + 4 * n, 2 * n));
    github.clear_seen();
    let unchanged = run(&app, date!(2026 - 03 - 03)).await;
    let unchanged = measure(&unchanged, &github);
    // Two 304s each, which cost an authorized client nothing.
    assert_eq!(unchanged, (2 + 2 * n, 2, 0));
    for login in &logins {
        github.push(
            &format!("{login}/100DaysOfCloud"),
            &[3],
            "2026-03-04T09:00:00Z",
            "2026-03-04T09:00:00Z",
        );
    }
    github.clear_seen();
    let next_day = run(&app, TODAY).await;
    let next_day = measure(&next_day, &github);
    // The repository (its `pushed_at` moved), a new tree, the events, and
    // one compare: the push seen the day before is not compared again.
    assert_eq!(next_day, (2 + 4 * n, 2 + 4 * n, n));
    println!(
        "per {n} journeyers (requests, counted, new days): first {first:?}, \
         unchanged {unchanged:?}, next day {next_day:?}"
    );
    app.shutdown().await;
}

/// A v2 activity record (the v2 job's active days, its events' ETag, and the
/// numbers it wrote, with an admin's bonus) is upgraded by reconcile: an
/// unverified profile keeps only the admin's part; verified later, the
/// journey counts from zero plus that bonus.
#[tokio::test]
async fn reconcile_upgrades_v2_activity_records() {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let (github, app) = started().await;
    let token = app.user("sub-ada", "ada").await;
    // The v2 job computed 30 (3 active days) and an admin added 50: 80.
    let admin = app.admin().await;
    let body = json!({"githubScore": 80, "daysCompleted": 5, "githubStreak": 2});
    json_of(
        app.send_json(Method::PUT, "/users/ada", Some(&admin), &body)
            .await,
        200,
    )
    .await;
    let table = app.state().config.table.clone();
    let n = |v: i64| A::N(v.to_string());
    app.state()
        .repo
        .client()
        .put_item()
        .table_name(&table)
        .item("PK", A::S("USER#ada".into()))
        .item("SK", A::S("ACTIVITY".into()))
        .item(
            "days",
            A::Ss(vec![
                "2026-02-01".into(),
                "2026-02-02".into(),
                "2026-02-03".into(),
            ]),
        )
        .item("etag", A::S("W/\"v2\"".into()))
        .item("newest", A::S("2026-03-03T23:00:00Z".into()))
        .item("appliedScore", n(80))
        .item("appliedDays", n(5))
        .item("appliedStreak", n(2))
        .item("scoreBonus", n(50))
        .item("daysBonus", n(2))
        .item("streakBonus", n(0))
        .item("rev", n(4))
        .send()
        .await
        .expect("a v2 record");
    let run = app.reconcile().await;
    assert!(run["upgraded"].as_u64().is_some_and(|u| u >= 1), "{run}");
    // What the v2 rule computed is gone; the admin's part stays.
    assert_eq!(numbers(&app, "ada").await, (50, 0, 2, 0.0));
    let id = UserId::parse("ada").expect("id");
    let ada = app
        .state()
        .repo
        .journeyer(&id)
        .await
        .expect("read")
        .expect("live");
    assert!(
        ada.activity.days.is_empty()
            && ada.activity.etag.is_none()
            && ada.activity.newest.is_none()
    );
    // Again: nothing left to upgrade.
    let again = app.reconcile().await;
    assert_eq!(again["upgraded"], 0, "{again}");
    // Verified, with a push: the journey's numbers plus the admin's bonus.
    github.copy_template("ada", "100DaysOfCloud", CREATED);
    let body = json!({"journeyRepo": "ada/100DaysOfCloud"});
    json_of(
        app.send_json(Method::PUT, "/users/ada", Some(&token), &body)
            .await,
        200,
    )
    .await;
    code_in_readme(&app, &github, "ada", &token).await;
    json_of(
        post(&app, "/users/ada/verification/check", &token).await,
        200,
    )
    .await;
    github.push(
        "ada/100DaysOfCloud",
        &[1],
        "2026-03-04T09:00:00Z",
        "2026-03-04T09:00:00Z",
    );
    run_job(&app).await;
    assert_eq!(numbers(&app, "ada").await, (60, 1, 3, 1.0));
    app.shutdown().await;
}

async fn run_job(app: &TestApp) -> ActivityRun {
    run(app, TODAY).await
}
