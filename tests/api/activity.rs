//! The activity job (`functions/activity`, docs/activity.md) against a
//! GitHub-compatible server the suite starts (`hdoc_tests::github`): scores
//! and streaks from known histories, the ETag path, rate limits (primary and
//! secondary), failures, two runs at once, admins' corrections, and what a
//! run costs in requests.
//!
//! Most tests fix "today" (2026-03-02, just after February's 28 days) so
//! that the histories are exact; one goes through `POST /_dev/activity`,
//! whose today is the clock's.

use activity::github::GitHub;
use activity::{ActivityRun, Settings};
use aws_sdk_dynamodb::types::AttributeValue;
use hdoc_shared::clock::Clock;
use hdoc_shared::domain::{Progress, Timestamp, User, UserId};
use hdoc_shared::jobs::Ended;
use hdoc_shared::store::{Fetched, Journeyer};
use hdoc_tests::github::{Account, Event, FakeGitHub, Planned, event, pushes};
use hdoc_tests::{TestApp, json_of};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use time::macros::date;
use time::{Date, OffsetDateTime};

const TODAY: Date = date!(2026 - 03 - 02);
const JOINED: &str = "2026-01-01T00:00:00Z";

fn user(id: &str, joined: &str) -> User {
    let at = Timestamp::parse(joined).expect("a time");
    User {
        id: UserId::parse(id).expect("an id"),
        name: format!("{id} name").try_into().expect("a name"),
        twitter_profile: None,
        linkedin_profile: None,
        bio: None,
        avatar_image: None,
        progress: Progress::default(),
        date_joined: at.clone(),
        updated_at: at,
        journey_repo: None,
        blog_url: None,
        journey: Default::default(),
    }
}

/// Imported profiles (as `hdoc-local import` makes them), joined at `joined`.
async fn import(app: &TestApp, ids: &[&str], joined: &str) {
    let users: Vec<User> = ids.iter().map(|id| user(id, joined)).collect();
    let created = app
        .state()
        .repo
        .import_profiles(&users)
        .await
        .expect("imported");
    assert_eq!(created.len(), ids.len());
}

fn settings(today: Date) -> Settings {
    Settings {
        today: Some(today),
        ..Settings::new("test")
    }
}

async fn run_with(app: &TestApp, github: &GitHub, today: Date) -> Ended<ActivityRun> {
    activity::run(app.state(), github, None, &settings(today))
        .await
        .expect("the activity job runs")
}

/// One invocation as of `today`, which must finish the run.
async fn finished(app: &TestApp, today: Date) -> ActivityRun {
    finished_by(app, app.github(), today).await
}

async fn finished_by(app: &TestApp, github: &GitHub, today: Date) -> ActivityRun {
    match run_with(app, github, today).await {
        Ended::Finished(run) => run,
        other => panic!("the run did not finish: {other:?}"),
    }
}

async fn paused_by(app: &TestApp, github: &GitHub, today: Date) -> ActivityRun {
    match run_with(app, github, today).await {
        Ended::Paused(run) => run,
        other => panic!("the run did not pause: {other:?}"),
    }
}

/// The test's GitHub client on a clock the test moves on, and that clock.
fn on_manual_clock(app: &TestApp) -> (GitHub, Clock) {
    let clock = Clock::manual();
    (app.github().clone().with_clock(clock.clone()), clock)
}

async fn get(app: &TestApp, path: &str) -> Value {
    json_of(app.get(path).await, 200).await
}

/// `(githubScore, githubStreak, daysCompleted)` of `id`, as the API shows it.
async fn numbers(app: &TestApp, id: &str) -> (u64, u64, u64) {
    let user = get(app, &format!("/users/{id}")).await;
    let field = |name: &str| {
        user[name]
            .as_u64()
            .unwrap_or_else(|| panic!("{name}: {user}"))
    };
    assert_eq!(
        field("totalScore"),
        field("githubScore") + field("twitterScore"),
        "{user}"
    );
    (
        field("githubScore"),
        field("githubStreak"),
        field("daysCompleted"),
    )
}

/// The leaderboard as served equals every user sorted by total (then id):
/// a recount of the ranking, from the profiles themselves.
async fn assert_leaderboard_is_a_recount(app: &TestApp) {
    let (users, _) = app.all_pages("/users?limit=100").await;
    let mut expected: Vec<(u64, String)> = users
        .iter()
        .map(|user| {
            (
                user["totalScore"].as_u64().expect("total"),
                user["id"].as_str().expect("id").to_lowercase(),
            )
        })
        .collect();
    expected.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let (board, _) = app.all_pages("/leaderboard?limit=100").await;
    let served: Vec<(u64, String)> = board
        .iter()
        .map(|row| {
            (
                row["totalScore"].as_u64().expect("total"),
                row["id"].as_str().expect("id").to_lowercase(),
            )
        })
        .collect();
    assert_eq!(served, expected, "the leaderboard vs a recount");
    for (rank, row) in board.iter().enumerate() {
        assert_eq!(row["rank"], rank as u64 + 1);
    }
    app.assert_no_drift().await;
}

/// One `PushEvent` a day from `first`, `count` days, at noon.
fn daily(first: Date, count: usize) -> Vec<Event> {
    let mut day = first;
    (0..count)
        .map(|i| {
            let at = format!("{}T12:00:00Z", day);
            day = day.next_day().expect("a day");
            event(10_000 + i as u64, "PushEvent", &at)
        })
        .collect()
}

async fn activity_item(
    app: &TestApp,
    id: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    let repo = &app.state().repo;
    repo.client()
        .get_item()
        .table_name(repo.table())
        .key(
            "PK",
            AttributeValue::S(format!("USER#{}", id.to_lowercase())),
        )
        .key("SK", AttributeValue::S("ACTIVITY".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("read")
        .item
}

async fn journeyer(app: &TestApp, id: &str) -> Journeyer {
    app.state()
        .repo
        .journeyer(&UserId::parse(id).expect("id"))
        .await
        .expect("read")
        .expect("a live profile")
}

#[tokio::test]
async fn scores_and_streaks_come_from_known_histories() {
    let github = FakeGitHub::start().await;
    let app = TestApp::spawn_with_github(&github.base, None).await;
    let ids = [
        "monthend",
        "gap",
        "yesterday",
        "today",
        "midnight",
        "stars",
        "quiet",
        "busy",
    ];
    import(&app, &ids, JOINED).await;
    import(&app, &["late"], "2026-02-28T09:00:00Z").await;
    // Across February's end into March, up to today.
    github.set(
        "monthend",
        Account::Events(pushes(&[
            "2026-02-27T12:00:00Z",
            "2026-02-28T12:00:00Z",
            "2026-03-01T12:00:00Z",
            "2026-03-02T08:00:00Z",
        ])),
    );
    // A gap on the 22nd, and nothing since the 25th: no streak.
    github.set(
        "gap",
        Account::Events(pushes(&[
            "2026-02-20T10:00:00Z",
            "2026-02-21T10:00:00Z",
            "2026-02-23T10:00:00Z",
            "2026-02-24T10:00:00Z",
            "2026-02-25T10:00:00Z",
        ])),
    );
    // Active until yesterday, not yet today: the streak still counts.
    github.set(
        "yesterday",
        Account::Events(pushes(&["2026-02-28T18:00:00Z", "2026-03-01T18:00:00Z"])),
    );
    github.set("today", Account::Events(pushes(&["2026-03-02T09:00:00Z"])));
    // Days are UTC: 23:59Z and 00:01Z are two days; +02:00 at 01:30 is the
    // day before in UTC; three events on one day are one day.
    github.set(
        "midnight",
        Account::Events(vec![
            event(1, "PushEvent", "2026-03-01T23:59:00Z"),
            event(2, "PullRequestEvent", "2026-03-02T00:01:00Z"),
            event(3, "IssuesEvent", "2026-03-02T01:30:00+02:00"),
            event(4, "PushEvent", "2026-03-02T07:00:00Z"),
        ]),
    );
    // Stars and forks are not contributions.
    github.set(
        "stars",
        Account::Events(vec![
            event(1, "WatchEvent", "2026-03-02T10:00:00Z"),
            event(2, "ForkEvent", "2026-03-01T10:00:00Z"),
            event(3, "PushEvent", "2026-02-10T10:00:00Z"),
        ]),
    );
    // 250 events, every 6 hours: three pages by Link.
    let busy: Vec<Event> = (0..250)
        .map(|i| {
            let at = OffsetDateTime::new_utc(TODAY, time::Time::from_hms(6, 0, 0).expect("t"))
                - time::Duration::hours(6 * i);
            let at = at
                .format(&time::format_description::well_known::Rfc3339)
                .expect("formats");
            event(i as u64 + 1, "PushEvent", &at)
        })
        .collect();
    github.set("busy", Account::Events(busy));
    // Joined on the 28th: the days before do not count.
    github.set("late", Account::Events(daily(date!(2026 - 02 - 25), 6)));

    let run = finished(&app, TODAY).await;
    assert_eq!(numbers(&app, "monthend").await, (40, 4, 4));
    assert_eq!(numbers(&app, "gap").await, (50, 0, 5));
    assert_eq!(numbers(&app, "yesterday").await, (20, 2, 2));
    assert_eq!(numbers(&app, "today").await, (10, 1, 1));
    assert_eq!(numbers(&app, "midnight").await, (20, 2, 2));
    assert_eq!(numbers(&app, "stars").await, (10, 0, 1));
    assert_eq!(numbers(&app, "quiet").await, (0, 0, 0));
    // 2026-01-01 .. 2026-03-02: 61 days, every one active.
    assert_eq!(numbers(&app, "busy").await, (610, 61, 61));
    assert_eq!(numbers(&app, "late").await, (30, 3, 3));

    assert_eq!(run.users, 9, "{run:?}");
    assert_eq!(run.failed, 0, "{run:?}");
    assert_eq!(run.fetched, 9, "{run:?}");
    assert_eq!(run.updated, 8, "{run:?}");
    // One page each, three for busy.
    assert_eq!(run.requests, 11, "{run:?}");
    assert_eq!(github.requests(), 11);
    let seen = github.seen();
    assert!(
        seen.iter().all(|s| s
            .user_agent
            .as_deref()
            .is_some_and(|ua| ua.starts_with("hdoc-backend-activity/"))),
        "a User-Agent on every request"
    );
    let busy_pages: Vec<usize> = seen
        .iter()
        .filter(|s| s.login == "busy")
        .map(|s| s.page)
        .collect();
    assert_eq!(busy_pages, [1, 2, 3]);
    assert_leaderboard_is_a_recount(&app).await;
    let board = get(&app, "/leaderboard?limit=3").await;
    let top: Vec<&str> = board
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| row["id"].as_str().expect("id"))
        .collect();
    assert_eq!(top, ["busy", "gap", "monthend"]);

    // The next day, with nothing new: the streaks that ended yesterday are
    // broken, today's continue from yesterday; the days stay.
    let run = finished(&app, date!(2026 - 03 - 03)).await;
    assert_eq!(run.not_modified, 9, "{run:?}");
    assert_eq!(numbers(&app, "monthend").await, (40, 4, 4));
    assert_eq!(numbers(&app, "yesterday").await, (20, 0, 2));
    assert_eq!(numbers(&app, "today").await, (10, 1, 1));
    assert_leaderboard_is_a_recount(&app).await;
    app.shutdown().await;
}

#[tokio::test]
async fn recorded_days_outlive_githubs_window_and_days_completed_stops_at_100() {
    let github = FakeGitHub::start().await;
    let app = TestApp::spawn_with_github(&github.base, None).await;
    import(&app, &["long"], "2025-10-01T08:00:00Z").await;
    // In December, GitHub shows October to December: 91 days.
    github.set("long", Account::Events(daily(date!(2025 - 10 - 01), 91)));
    finished(&app, date!(2025 - 12 - 30)).await;
    assert_eq!(numbers(&app, "long").await, (910, 91, 91));
    // In March, it shows only the last 90 days; the recorded ones stay.
    github.set("long", Account::Events(daily(date!(2025 - 12 - 03), 90)));
    let run = finished(&app, TODAY).await;
    assert_eq!(run.new_days, 62, "{run:?}");
    // 2025-10-01 .. 2026-03-02: 153 days.
    assert_eq!(numbers(&app, "long").await, (1530, 153, 100));
    let recorded = journeyer(&app, "long").await.activity.days;
    assert_eq!(recorded.len(), 153);
    assert_leaderboard_is_a_recount(&app).await;
    app.shutdown().await;
}

#[tokio::test]
async fn the_etag_path_spends_no_rate_limit() {
    let github = FakeGitHub::start().await;
    let app = TestApp::spawn_with_github(&github.base, Some("ghp_test_token")).await;
    let ids = ["ann", "ben", "cy"];
    import(&app, &ids, JOINED).await;
    for (i, id) in ids.iter().enumerate() {
        github.set(id, Account::Events(daily(date!(2026 - 02 - 20), 5 + i)));
    }
    let first = finished(&app, TODAY).await;
    assert_eq!((first.requests, first.fetched), (3, 3), "{first:?}");
    assert_eq!(github.counted(), 3);

    // Nothing changed: one conditional request each, all 304, none counted,
    // and no write but the checkpoint's.
    github.clear_seen();
    let writes = |app: &TestApp| {
        app.usage()
            .calls
            .get("TransactWriteItems")
            .copied()
            .unwrap_or(0)
    };
    let before = writes(&app);
    let again = finished(&app, TODAY).await;
    assert_eq!(
        (
            again.requests,
            again.not_modified,
            again.fetched,
            again.updated
        ),
        (3, 3, 0, 0),
        "{again:?}"
    );
    assert_eq!(github.by_status(), [(304, 3)].into());
    assert_eq!(
        github.counted(),
        0,
        "a 304 to an authorized request is free"
    );
    assert!(
        github.seen().iter().all(|s| s.authorized
            && s.if_none_match
                .as_deref()
                .is_some_and(|e| e.starts_with("W/\""))),
        "{:?}",
        github.seen()
    );
    assert_eq!(writes(&app), before, "nothing changed, nothing written");
    assert_eq!(
        again.rate_limit.as_ref().and_then(|r| r.remaining),
        Some(4997)
    );

    // Without a token GitHub counts its 304s too (docs/activity.md).
    github.clear_seen();
    let anonymous = GitHub::with_api(&github.base, None);
    let Ended::Finished(run) = run_with(&app, &anonymous, TODAY).await else {
        panic!("the run finished")
    };
    assert_eq!(run.not_modified, 3);
    assert_eq!(github.counted(), 3);
    assert!(github.seen().iter().all(|s| !s.authorized));

    // A new event: one request for that journeyer (the first page reaches
    // the newest event seen before), and one more day.
    github.clear_seen();
    github.add("ben", pushes(&["2026-03-02T10:00:00Z"]));
    let run = finished(&app, TODAY).await;
    assert_eq!(
        (run.requests, run.fetched, run.new_days, run.updated),
        (3, 1, 1, 1),
        "{run:?}"
    );
    assert_eq!(numbers(&app, "ben").await, (70, 1, 7));
    app.shutdown().await;
}

#[tokio::test]
async fn a_run_stopped_by_the_rate_limit_is_finished_by_the_next() {
    let github = FakeGitHub::start().await;
    let app = TestApp::spawn_with_github(&github.base, Some("ghp_test_token")).await;
    let ids = ["u1", "u2", "u3", "u4", "u5"];
    import(&app, &ids, JOINED).await;
    for id in ids {
        github.set(id, Account::Events(daily(date!(2026 - 02 - 27), 4)));
    }
    // Three requests left until the reset, two seconds away.
    github.set_rate(3, 2);
    let (github_client, clock) = on_manual_clock(&app);
    github.set_clock(clock.clone());
    let run = paused_by(&app, &github_client, TODAY).await;
    assert_eq!(run.stopped_by.as_deref(), Some("rateLimit"), "{run:?}");
    assert_eq!((run.users, run.requests), (3, 3), "{run:?}");
    assert!(
        run.waiting_until.is_some() && run.finished_at.is_none(),
        "{run:?}"
    );
    assert_eq!(numbers(&app, "u3").await, (40, 4, 4));
    assert_eq!(numbers(&app, "u4").await, (0, 0, 0));

    // Before the reset, an invocation asks GitHub nothing.
    let waiting = paused_by(&app, &github_client, TODAY).await;
    assert_eq!(waiting, run);
    assert_eq!(github.requests(), 3);

    clock.advance(Duration::from_secs(3));
    let done = finished_by(&app, &github_client, TODAY).await;
    assert_eq!(
        (done.users, done.requests, done.slices),
        (5, 5, 2),
        "{done:?}"
    );
    assert_eq!(done.stopped_by, None);
    assert_eq!(github.requests(), 5, "no journeyer was asked for twice");
    for id in ids {
        assert_eq!(numbers(&app, id).await, (40, 4, 4), "{id}");
    }

    // Spent by another client: the first answer is GitHub's 403; the run
    // stops before that journeyer, and the next one after the reset does it.
    github.set_rate(0, 2);
    let run = paused_by(&app, &github_client, TODAY).await;
    assert_eq!((run.users, run.requests), (0, 1), "{run:?}");
    assert_eq!(run.stopped_by.as_deref(), Some("rateLimit"));
    assert_eq!(github.by_status().get(&403), Some(&1));
    clock.advance(Duration::from_secs(3));
    let done = finished_by(&app, &github_client, TODAY).await;
    assert_eq!((done.users, done.not_modified), (5, 5), "{done:?}");
    assert_leaderboard_is_a_recount(&app).await;
    app.shutdown().await;
}

#[tokio::test]
async fn secondary_rate_limits_are_waited_out_or_stop_the_run() {
    let github = FakeGitHub::start().await;
    let app = TestApp::spawn_with_github(&github.base, None).await;
    import(&app, &["ada", "bob"], JOINED).await;
    github.set("ada", Account::Events(daily(date!(2026 - 03 - 01), 2)));
    github.set("bob", Account::Events(daily(date!(2026 - 03 - 01), 2)));
    // A short Retry-After is waited out, and the request made again.
    github.plan("bob", Planned::Secondary { retry_after: 1 });
    let (github_client, clock) = on_manual_clock(&app);
    let run = finished_by(&app, &github_client, TODAY).await;
    let waited = clock.advanced();
    assert!(
        (Duration::from_millis(900)..=Duration::from_secs(1)).contains(&waited),
        "Retry-After: 1 waited out on the clock: {waited:?}"
    );
    assert_eq!((run.users, run.requests, run.failed), (2, 3, 0), "{run:?}");
    assert_eq!(numbers(&app, "bob").await, (20, 2, 2));

    // A long one stops the run until then, before that journeyer.
    github.plan("ada", Planned::Secondary { retry_after: 3600 });
    let run = paused_by(&app, &github_client, TODAY).await;
    assert_eq!(
        run.stopped_by.as_deref(),
        Some("secondaryRateLimit"),
        "{run:?}"
    );
    assert_eq!((run.users, run.requests), (0, 1), "{run:?}");
    let until = OffsetDateTime::parse(
        run.waiting_until.as_deref().expect("until"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("a time");
    let wait = until - clock.now();
    assert!(
        wait > time::Duration::minutes(55) && wait <= time::Duration::minutes(60),
        "{wait}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_failed_journeyer_is_recorded_and_does_not_stop_the_others() {
    let github = FakeGitHub::start().await;
    let app = TestApp::spawn_with_github(&github.base, None).await;
    import(&app, &["gone", "broken", "fine", "flaky"], JOINED).await;
    github.set("gone", Account::Status(404));
    github.set("broken", Account::Status(500));
    github.set("fine", Account::Events(daily(date!(2026 - 03 - 01), 2)));
    github.set("flaky", Account::Events(daily(date!(2026 - 03 - 01), 2)));
    github.plan("flaky", Planned::Status(502));
    let run = finished(&app, TODAY).await;
    assert_eq!((run.users, run.failed), (4, 3), "{run:?}");
    let failures: BTreeSet<(String, Option<u16>)> = run
        .failures
        .iter()
        .map(|f| (f.id.clone(), f.status))
        .collect();
    assert_eq!(
        failures,
        [
            ("broken".to_owned(), Some(500)),
            ("flaky".to_owned(), Some(502)),
            ("gone".to_owned(), Some(404)),
        ]
        .into()
    );
    assert!(
        run.failures
            .iter()
            .any(|f| f.error.contains("renamed or deleted"))
    );
    assert_eq!(numbers(&app, "fine").await, (20, 2, 2));
    let gone = journeyer(&app, "gone")
        .await
        .activity
        .error
        .expect("an error");
    assert_eq!(gone.status, Some(404));
    assert!(
        activity_item(&app, "broken")
            .await
            .is_some_and(|item| item.contains_key("errorAt"))
    );

    // Back on GitHub: the next run records it and clears the error.
    github.set("gone", Account::Events(daily(date!(2026 - 02 - 28), 3)));
    let run = finished(&app, TODAY).await;
    assert_eq!((run.failed, run.failures.len()), (1, 1), "{run:?}");
    assert_eq!(numbers(&app, "gone").await, (30, 3, 3));
    assert_eq!(numbers(&app, "flaky").await, (20, 2, 2));
    assert_eq!(journeyer(&app, "gone").await.activity.error, None);
    assert_leaderboard_is_a_recount(&app).await;

    // GitHub unreachable: failures with no status, and after three in a
    // row the run stops for a while rather than time out on everyone.
    let nowhere = GitHub::with_api("http://127.0.0.1:9", None);
    import(&app, &["zed"], JOINED).await;
    let Ended::Paused(run) = run_with(&app, &nowhere, TODAY).await else {
        panic!("the run paused")
    };
    assert_eq!(run.stopped_by.as_deref(), Some("unreachable"), "{run:?}");
    assert_eq!((run.users, run.failed), (3, 3), "{run:?}");
    assert!(run.failures.iter().all(|f| f.status.is_none()), "{run:?}");
    assert_eq!(numbers(&app, "fine").await, (20, 2, 2), "numbers stay");
    app.shutdown().await;
}

#[tokio::test]
async fn two_runs_at_once_do_not_count_a_day_twice() {
    let github = FakeGitHub::start().await;
    let app = TestApp::spawn_with_github(&github.base, None).await;
    let ids = ["p1", "p2", "p3", "p4", "p5", "p6"];
    import(&app, &ids, JOINED).await;
    for (i, id) in ids.iter().enumerate() {
        github.set(id, Account::Events(daily(date!(2026 - 02 - 20), 3 + i)));
    }
    // Two invocations at once, saving their checkpoint every two profiles:
    // one stops when it finds the other's save; both may do the same profile.
    let small = Settings {
        stretch: 2,
        ..settings(TODAY)
    };
    let state = app.state();
    let (a, b) = tokio::join!(
        activity::run(state, app.github(), None, &small),
        activity::run(state, app.github(), None, &small)
    );
    let ended = [a.expect("a runs"), b.expect("b runs")];
    assert!(
        ended.iter().any(|e| matches!(e, Ended::Held)),
        "one of two invocations at once stops: {ended:?}"
    );
    // The run goes on to the end, as the next invocation would.
    while !matches!(
        run_with(&app, app.github(), TODAY).await,
        Ended::Finished(_)
    ) {}
    for (i, id) in ids.iter().enumerate() {
        let days = 3 + i as u64;
        // Consecutive days from Feb 20: the streak ends before today unless long enough.
        let last = date!(2026 - 02 - 20) + time::Duration::days(days as i64 - 1);
        let streak = if last >= TODAY.previous_day().expect("day") {
            days
        } else {
            0
        };
        assert_eq!(numbers(&app, id).await, (10 * days, streak, days), "{id}");
    }

    // The same events recorded twice at once, from the same reading: each
    // day is added once, and the second write finds nothing left to do.
    github.add(
        "p1",
        pushes(&["2026-03-01T10:00:00Z", "2026-03-02T10:00:00Z"]),
    );
    let seen = journeyer(&app, "p1").await;
    let fetched = Fetched::Events {
        days: [date!(2026 - 03 - 01), date!(2026 - 03 - 02)].into(),
        etag: Some("W/\"x\"".into()),
        newest: Some("2026-03-02T10:00:00Z".into()),
    };
    let repo = &app.state().repo;
    let (one, two) = tokio::join!(
        repo.record_activity(seen.clone(), &fetched, TODAY),
        repo.record_activity(seen, &fetched, TODAY)
    );
    let (one, two) = (
        one.expect("one").expect("live"),
        two.expect("two").expect("live"),
    );
    assert_eq!(one.new_days + two.new_days, 2, "{one:?} {two:?}");
    assert_eq!(one.progress, two.progress);
    assert_eq!(numbers(&app, "p1").await, (50, 2, 5));
    let run = finished(&app, TODAY).await;
    assert_eq!((run.new_days, run.updated), (0, 0), "{run:?}");
    assert_leaderboard_is_a_recount(&app).await;
    app.shutdown().await;
}

#[tokio::test]
async fn an_admins_correction_lives_on_with_the_job() {
    let github = FakeGitHub::start().await;
    let app = TestApp::spawn_with_github(&github.base, None).await;
    import(&app, &["fixme"], JOINED).await;
    github.set("fixme", Account::Events(daily(date!(2026 - 02 - 28), 3)));
    finished(&app, TODAY).await;
    assert_eq!(numbers(&app, "fixme").await, (30, 3, 3));

    // Two days of work in a private repository, credited by an admin.
    let admin = app.admin().await;
    let body = json!({"githubScore": 50, "daysCompleted": 5, "githubStreak": 5, "twitterScore": 7});
    json_of(
        app.send_json(Method::PUT, "/users/fixme", Some(&admin), &body)
            .await,
        200,
    )
    .await;
    finished(&app, TODAY).await;
    assert_eq!(
        numbers(&app, "fixme").await,
        (50, 5, 5),
        "the correction stands"
    );
    // A new day adds to it; the streak goes on from the admin's.
    github.add("fixme", pushes(&["2026-03-03T09:00:00Z"]));
    finished(&app, date!(2026 - 03 - 03)).await;
    assert_eq!(numbers(&app, "fixme").await, (60, 6, 6));
    assert_eq!(
        get(&app, "/users/fixme").await["twitterScore"],
        7,
        "admin-set"
    );
    // Two days without activity: the streak (and its correction) ends.
    finished(&app, date!(2026 - 03 - 05)).await;
    assert_eq!(numbers(&app, "fixme").await, (60, 0, 6));

    // A profile imported with the old site's numbers keeps them when the
    // job first meets it, and new days add to them.
    import(&app, &["imported"], JOINED).await;
    let body = json!({"githubScore": 500, "daysCompleted": 40});
    json_of(
        app.send_json(Method::PUT, "/users/imported", Some(&admin), &body)
            .await,
        200,
    )
    .await;
    let tracked = journeyer(&app, "imported").await;
    assert!(
        tracked.activity.ledger.applied.is_none(),
        "never written by the job"
    );
    github.set("imported", Account::Events(daily(date!(2026 - 03 - 04), 2)));
    finished(&app, date!(2026 - 03 - 05)).await;
    assert_eq!(numbers(&app, "imported").await, (500, 2, 40));
    github.add("imported", pushes(&["2026-03-06T09:00:00Z"]));
    finished(&app, date!(2026 - 03 - 06)).await;
    assert_eq!(numbers(&app, "imported").await, (510, 3, 41));
    assert_leaderboard_is_a_recount(&app).await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_deleted_journeyers_activity_goes_with_the_purge() {
    let github = FakeGitHub::start().await;
    let app = TestApp::spawn_with_github(&github.base, None).await;
    import(&app, &["leaver", "stayer"], JOINED).await;
    github.set("leaver", Account::Events(daily(date!(2026 - 03 - 01), 2)));
    finished(&app, TODAY).await;
    assert!(activity_item(&app, "leaver").await.is_some());
    let admin = app.admin().await;
    let response = app
        .request(Method::DELETE, "/users/leaver", Some(&admin))
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), 204);
    app.purges_finished().await;
    assert!(activity_item(&app, "leaver").await.is_none());
    // A run after the deletion records nothing for it.
    let run = finished(&app, TODAY).await;
    assert_eq!(run.users, 1, "{run:?}");
    assert!(activity_item(&app, "leaver").await.is_none());
    app.assert_no_drift().await;
    app.shutdown().await;
}

#[tokio::test]
async fn post_dev_activity_runs_the_job_as_of_today() {
    let github = FakeGitHub::start().await;
    let app = TestApp::spawn_with_github(&github.base, None).await;
    app.user("sub-nia", "nia").await;
    let now = OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("now");
    github.set("nia", Account::Events(pushes(&[&now])));
    let run = app.activity().await;
    assert_eq!(run["users"], 1, "{run}");
    assert!(run["finishedAt"].is_string(), "{run}");
    assert_eq!(numbers(&app, "nia").await, (10, 1, 1));
    let again = app.activity().await;
    assert_eq!(again["notModified"], 1, "{again}");
    assert_eq!(again["updated"], 0, "{again}");
    app.assert_no_drift().await;
    app.shutdown().await;
}

/// What a run costs GitHub and DynamoDB per 1,000 journeyers (the figures
/// of docs/activity.md): 1,000 on the embedded engine, 40 on moto (which
/// serves one request at a time), the same per journeyer.
#[tokio::test]
async fn requests_per_thousand_journeyers() {
    let users = if hdoc_tests::dynamodb_endpoint().is_some() {
        40
    } else {
        1000
    };
    let github = FakeGitHub::start().await;
    let app = TestApp::spawn_with_github(&github.base, Some("ghp_test_token")).await;
    let ids: Vec<String> = (0..users).map(|i| format!("j{i:04}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    for chunk in refs.chunks(100) {
        import(&app, chunk, JOINED).await;
    }
    // 70% with at most 100 events in GitHub's 90 days (one page), 20% with
    // 150 (two), 10% with 280 (three): every 8 hours back from today.
    let mut pages = 0;
    for (i, id) in ids.iter().enumerate() {
        let count = match i % 10 {
            0..=6 => 20 + i % 80,
            7 | 8 => 150,
            _ => 280,
        };
        pages += count.div_ceil(100);
        let events: Vec<Event> = (0..count)
            .map(|k| {
                let at = OffsetDateTime::new_utc(TODAY, time::Time::from_hms(7, 0, 0).expect("t"))
                    - time::Duration::hours(8 * k as i64);
                let at = at
                    .format(&time::format_description::well_known::Rfc3339)
                    .expect("formats");
                event(
                    k as u64 + 1,
                    if k % 5 == 4 {
                        "WatchEvent"
                    } else {
                        "PushEvent"
                    },
                    &at,
                )
            })
            .collect();
        github.set(id, Account::Events(events));
    }
    let calls = |app: &TestApp| {
        let usage = app.usage();
        usage.calls.values().map(|n| u64::from(*n)).sum::<u64>()
    };

    let (dynamodb, started) = (calls(&app), Instant::now());
    let first = finished(&app, TODAY).await;
    let first_time = started.elapsed();
    let first_calls = calls(&app) - dynamodb;
    assert_eq!(first.users, users as u64);
    assert_eq!(first.requests, pages as u64, "{first:?}");
    assert_eq!(github.counted(), pages);

    github.clear_seen();
    let (dynamodb, started) = (calls(&app), Instant::now());
    let unchanged = finished(&app, TODAY).await;
    let unchanged_time = started.elapsed();
    let unchanged_calls = calls(&app) - dynamodb;
    assert_eq!(unchanged.requests, users as u64);
    assert_eq!(unchanged.not_modified, users as u64);
    assert_eq!(github.counted(), 0);

    // The next day, one new event each: one page each.
    github.clear_seen();
    for id in &ids {
        github.add(id, pushes(&["2026-03-03T08:00:00Z"]));
    }
    let (dynamodb, started) = (calls(&app), Instant::now());
    let next_day = finished(&app, date!(2026 - 03 - 03)).await;
    let next_day_time = started.elapsed();
    let next_day_calls = calls(&app) - dynamodb;
    assert_eq!(next_day.requests, users as u64, "{next_day:?}");
    assert_eq!(next_day.new_days, users as u64);

    let per_thousand = |n: u64| n * 1000 / users as u64;
    println!(
        "activity job, {users} journeyers (figures per 1,000):\n\
         first run:          {} GitHub requests ({} counted), {} DynamoDB calls, {first_time:?}\n\
         nothing changed:    {} GitHub requests (304; 0 counted with a token), {} DynamoDB calls, {unchanged_time:?}\n\
         one new event each: {} GitHub requests, {} DynamoDB calls, {next_day_time:?}",
        per_thousand(first.requests),
        per_thousand(pages as u64),
        per_thousand(first_calls),
        per_thousand(unchanged.requests),
        per_thousand(unchanged_calls),
        per_thousand(next_day.requests),
        per_thousand(next_day_calls),
    );
    app.shutdown().await;
}
