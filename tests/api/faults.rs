//! Faults as DynamoDB has them, injected by `hdoc_tests::faults::FaultProxy`
//! between the API and the engine: throttling, 500s, transaction conflicts,
//! resets, lost answers of applied writes, latency, and the endpoint down.
//! Under concurrent writers every answer is a documented status, a 2xx
//! happened exactly once, and afterwards every aggregate equals a recount.

use hdoc_local::EmbeddedDynamoDb;
use hdoc_local::import::{self, Document, Kind};
use hdoc_tests::faults::{Counts, FaultProxy, Mix};
use hdoc_tests::{TestApp, dynamodb_endpoint, json_of};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The API behind a fault-injecting proxy in front of the suite's engine.
struct Faulty {
    app: TestApp,
    proxy: FaultProxy,
    _engine: Option<EmbeddedDynamoDb>,
}

async fn faulty(seed: u64) -> Faulty {
    let (upstream, engine) = match dynamodb_endpoint() {
        Some(url) => (url, None),
        None => {
            let engine = hdoc_local::embedded_dynamodb().await.expect("engine");
            (engine.endpoint.clone(), Some(engine))
        }
    };
    let proxy = FaultProxy::start(&upstream, seed).await;
    let app = TestApp::spawn_on(Some(proxy.endpoint.clone())).await;
    Faulty {
        app,
        proxy,
        _engine: engine,
    }
}

/// Each kind of fault alone, then all at once. On moto, which copies every
/// table it holds on each transaction (a storm there takes a minute), only
/// the last, which has every kind in it; each alone runs on the embedded
/// engine.
fn mixes() -> Vec<Mix> {
    let mut mixes = every_mix();
    if dynamodb_endpoint().is_some() {
        mixes.drain(..mixes.len() - 1);
    }
    mixes
}

fn every_mix() -> Vec<Mix> {
    let latency = Duration::from_millis(15);
    vec![
        Mix {
            name: "throttling",
            throttle: 0.15,
            ..Mix::default()
        },
        Mix {
            name: "500s",
            internal_error: 0.15,
            ..Mix::default()
        },
        Mix {
            name: "transaction conflicts",
            conflict: 0.3,
            ..Mix::default()
        },
        Mix {
            name: "resets and latency",
            reset: 0.1,
            latency,
            ..Mix::default()
        },
        Mix {
            name: "lost answers",
            lost_answer: 0.25,
            ..Mix::default()
        },
        Mix {
            name: "everything",
            throttle: 0.05,
            internal_error: 0.05,
            conflict: 0.1,
            reset: 0.05,
            lost_answer: 0.1,
            latency,
            ..Mix::default()
        },
    ]
}

/// Every answer, by what was asked: `"POST /articles" -> {201: 12, 503: 1}`.
#[derive(Clone, Default)]
struct Statuses(Arc<Mutex<BTreeMap<String, BTreeMap<u16, u32>>>>);

impl Statuses {
    fn record(&self, what: &str, status: u16) {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *all.entry(what.to_owned())
            .or_default()
            .entry(status)
            .or_default() += 1;
    }

    fn all(&self) -> BTreeMap<String, BTreeMap<u16, u32>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The statuses each request may answer (docs/openapi.yaml): never a 500
/// or a 502, under any fault.
fn documented(what: &str, status: u16) -> bool {
    matches!(
        (what, status),
        (_, 503 | 409)
            | ("POST /articles" | "POST /reviews", 201)
            | ("PUT /articles/{slug}" | "PUT /ratings/{subject}", 200)
            | ("DELETE /articles/{slug}" | "DELETE /users/{id}", 204 | 404)
    )
}

/// One request, answered; a 503 must say when to retry.
async fn send(
    app: &TestApp,
    statuses: &Statuses,
    what: &str,
    (method, path, key): (Method, &str, Option<&str>),
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.request(method, path, Some(token));
    if let Some(body) = &body {
        request = request.json(body);
    }
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.expect("the API answers");
    let status = response.status().as_u16();
    if status == 503 {
        assert_eq!(
            response.headers().get("retry-after").map(|v| v.as_bytes()),
            Some(&b"1"[..]),
            "{what}: a 503 says when to retry"
        );
    }
    statuses.record(what, status);
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// What one writer did, to be checked against what the table holds.
#[derive(Default)]
struct Ledger {
    /// Each article create: its title, its slug if it answered 201, and how
    /// many of its attempts answered 503 (each may have been applied).
    creates: Vec<(String, Option<String>, usize)>,
    /// Slugs deleted for sure (204, or 404 after a retry), and maybe (503).
    deleted: Vec<String>,
    maybe_deleted: Vec<String>,
    /// The caller's rating of each subject, where the last PUT answered 200.
    ratings: HashMap<String, u64>,
}

/// A request sent once, or (`retry`) again after each 503 or 409, with the
/// same `Idempotency-Key` if it has one: the last answer, and how many 503s
/// came before it.
async fn until_done(
    app: &TestApp,
    statuses: &Statuses,
    token: &str,
    retry: bool,
    (what, method, path): (&str, Method, &str),
    (body, key): (Option<Value>, Option<&str>),
) -> (u16, Value, usize) {
    let mut unavailable = 0;
    loop {
        let asked = (method.clone(), path, key);
        let (status, answer) = send(app, statuses, what, asked, token, body.clone()).await;
        if !retry || !matches!(status, 503 | 409) || unavailable > 30 {
            return (status, answer, unavailable);
        }
        unavailable += usize::from(status == 503);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One writer: articles with tags shared with the others, an update, a
/// delete, ratings and a review; retrying 503s and 409s when `retry`.
async fn writer(
    app: &TestApp,
    statuses: &Statuses,
    token: &str,
    (me, tag): (usize, &str),
    rounds: usize,
    retry: bool,
) -> Ledger {
    let mut ledger = Ledger::default();
    let tags = ["aws", "rust", "cloud", "open-system"];
    for round in 0..rounds {
        let title = format!("{tag} w{me} r{round}");
        let body =
            json!({"title": title, "body": "b", "tags": [tags[round % 4], tags[(round + me) % 4]]});
        let asked = ("POST /articles", Method::POST, "/articles");
        // A client that retries sends its creates with an Idempotency-Key.
        let key = retry.then_some(title.as_str());
        let (status, article, unsure) =
            until_done(app, statuses, token, retry, asked, (Some(body), key)).await;
        let unsure = unsure + usize::from(status == 503);
        let slug = (status == 201).then(|| article["slug"].as_str().expect("slug").to_owned());
        ledger.creates.push((title, slug.clone(), unsure));
        if let Some(slug) = slug {
            let path = format!("/articles/{slug}");
            let change = json!({"tags": [tags[(round + 1) % 4]]});
            let asked = ("PUT /articles/{slug}", Method::PUT, path.as_str());
            until_done(app, statuses, token, retry, asked, (Some(change), None)).await;
            if round % 3 == 0 {
                let asked = ("DELETE /articles/{slug}", Method::DELETE, path.as_str());
                match until_done(app, statuses, token, retry, asked, (None, None))
                    .await
                    .0
                {
                    204 | 404 => ledger.deleted.push(slug),
                    _ => ledger.maybe_deleted.push(slug),
                }
            }
        }
        let subject = format!("park:p{}", round % 3);
        let stars = (me + round) as u64 % 5 + 1;
        let path = format!("/ratings/{subject}");
        let asked = ("PUT /ratings/{subject}", Method::PUT, path.as_str());
        let body = json!({"stars": stars});
        if until_done(app, statuses, token, retry, asked, (Some(body), None))
            .await
            .0
            == 200
        {
            ledger.ratings.insert(subject.clone(), stars);
        } else {
            ledger.ratings.remove(&subject);
        }
        if round % 4 == 0 {
            let body = json!({"subject": subject, "title": "t", "body": "b"});
            let asked = ("POST /reviews", Method::POST, "/reviews");
            let key = format!("review {tag} w{me} r{round}");
            let key = retry.then_some(key.as_str());
            until_done(app, statuses, token, retry, asked, (Some(body), key)).await;
        }
    }
    ledger
}

/// Profiles and articles sharing the writers' tags, imported at once.
fn import_docs(run: usize) -> Vec<Document> {
    let users = (0..30)
        .map(|n| json!({"githubProfile": format!("imp-{run}-{n}"), "name": "I", "githubScore": n}))
        .collect();
    let articles = (0..8)
        .map(|n| json!({"id": format!("imported-{run}-{n}"), "title": "T", "author": format!("imp-{run}-{n}"), "tags": ["aws", "cloud"]}))
        .collect();
    vec![
        Document {
            name: "users".into(),
            kind: Kind::Users,
            rows: users,
        },
        Document {
            name: "articles".into(),
            kind: Kind::Articles,
            rows: articles,
        },
    ]
}

/// Runs writers, an import and a user's deletion at once under `mix`, then
/// checks every answer, every acknowledged write, and every aggregate.
async fn storm(
    faulty: &Faulty,
    run: usize,
    mix: Mix,
    retry: bool,
) -> (BTreeMap<String, BTreeMap<u16, u32>>, Counts) {
    let app = &faulty.app;
    let writers = if dynamodb_endpoint().is_some() { 3 } else { 4 };
    let rounds = if dynamodb_endpoint().is_some() { 4 } else { 6 };
    faulty.proxy.take_counts();
    let mut tokens = Vec::new();
    for me in 0..writers {
        tokens.push(
            app.user(
                &format!("sub-{}-{me}", mix.name),
                &format!("w{run}-{me}-{retry}"),
            )
            .await,
        );
    }
    // A user with things of its own, deleted in the storm.
    let doomed = app
        .user(
            &format!("sub-doomed-{}", mix.name),
            &format!("doomed{run}{retry}"),
        )
        .await;
    for n in 0..3 {
        let body = json!({"title": format!("doomed {n}"), "body": "b", "tags": ["aws"]});
        json_of(
            app.send_json(Method::POST, "/articles", Some(&doomed), &body)
                .await,
            201,
        )
        .await;
    }
    json_of(
        app.send_json(
            Method::PUT,
            "/ratings/park:p0",
            Some(&doomed),
            &json!({"stars": 1}),
        )
        .await,
        200,
    )
    .await;

    let statuses = Statuses::default();
    faulty.proxy.set(mix.clone());
    let started = Instant::now();
    let writers_done = futures_util::future::join_all(
        tokens
            .iter()
            .enumerate()
            .map(|(me, token)| writer(app, &statuses, token, (me, mix.name), rounds, retry)),
    );
    let deletion = async {
        let path = format!("/users/doomed{run}{retry}");
        let mut retried = false;
        for _ in 0..30 {
            let asked = (Method::DELETE, path.as_str(), None);
            let (status, _) =
                send(app, &statuses, "DELETE /users/{id}", asked, &doomed, None).await;
            // A 404 after a 503: the first went through and its answer was
            // lost, as the articles' ledger counts a 404 after a retry.
            if status == 404 && retried {
                return 204;
            }
            if status != 503 && status != 409 {
                return status;
            }
            retried = true;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        0
    };
    let docs = import_docs(run + usize::from(retry));
    let importing = async {
        // An import stopped by a fault is run again, as an operator would.
        for _ in 0..30 {
            match import::import(&app.state().repo, &docs).await {
                Ok(report) => return Some(report),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        None
    };
    let (ledgers, deleted, imported) = tokio::join!(writers_done, deletion, importing);
    let elapsed = started.elapsed();
    faulty.proxy.set(Mix::default());
    let injected = faulty.proxy.take_counts();
    let seen = statuses.all();
    eprintln!(
        "{} (retry: {retry}) in {elapsed:?}: injected {injected:?}; answers {seen:?}",
        mix.name
    );

    for (what, by_status) in &seen {
        for status in by_status.keys() {
            assert!(
                documented(what, *status),
                "{}: {what} answered {status}: {seen:?}",
                mix.name
            );
        }
    }
    // Every acknowledged create exists (unless its own delete took it), and
    // every create exists at most once, plus once for each of its attempts
    // that answered 503 (those may have been applied: docs/faults.md);
    // a retrying client's, sent with an Idempotency-Key, exactly once.
    let everything: Vec<Value> = app.all_pages("/articles?limit=100").await.0;
    let mut by_title: HashMap<&str, usize> = HashMap::new();
    for article in &everything {
        *by_title
            .entry(article["title"].as_str().unwrap_or_default())
            .or_default() += 1;
    }
    for ledger in &ledgers {
        for (title, slug, unsure) in &ledger.creates {
            let found = by_title.get(title.as_str()).copied().unwrap_or(0);
            let acknowledged = usize::from(slug.is_some());
            let at_most = if retry { 1 } else { acknowledged + unsure };
            assert!(found <= at_most, "{}: {title} {found} times", mix.name);
            let Some(slug) = slug else { continue };
            if ledger.maybe_deleted.contains(slug) {
                continue;
            }
            let status = app.get(&format!("/articles/{slug}")).await.status();
            let expected = if ledger.deleted.contains(slug) {
                404
            } else {
                200
            };
            assert_eq!(status, expected, "{}: {title} ({slug})", mix.name);
        }
    }
    // Every acknowledged rating is the caller's rating now.
    for (ledger, token) in ledgers.iter().zip(&tokens) {
        for (subject, stars) in &ledger.ratings {
            let mine = app
                .request(
                    Method::GET,
                    &format!("/ratings/{subject}/mine"),
                    Some(token),
                )
                .send()
                .await
                .expect("GET");
            assert_eq!(
                json_of(mine, 200).await["stars"],
                *stars,
                "{}: {subject}",
                mix.name
            );
        }
    }
    if retry {
        // A client that retries 503s and 409s gets every write done.
        for ledger in &ledgers {
            assert!(
                ledger.creates.iter().all(|(_, slug, _)| slug.is_some()),
                "{}",
                mix.name
            );
            assert!(ledger.maybe_deleted.is_empty(), "{}", mix.name);
        }
        assert_eq!(deleted, 204, "{}: the deletion went through", mix.name);
        let report = imported.expect("the import ends");
        assert!(
            report
                .files
                .iter()
                .all(|f| f.imported + f.present == f.rows),
            "{report}"
        );
    }
    app.purges_finished().await;
    app.assert_no_drift().await;
    (seen, injected)
}

#[tokio::test]
async fn every_fault_mix_leaves_documented_answers_and_exact_aggregates() {
    let faulty = faulty(13).await;
    for (run, mix) in mixes().into_iter().enumerate() {
        storm(&faulty, run, mix, false).await;
    }
    faulty.app.shutdown().await;
}

#[tokio::test]
async fn a_client_that_retries_503_and_409_gets_every_write_done() {
    let faulty = faulty(31).await;
    for (run, mix) in mixes().into_iter().enumerate() {
        storm(&faulty, run, mix, true).await;
    }
    faulty.app.shutdown().await;
}

#[tokio::test]
async fn dynamodb_down_is_a_503_with_retry_after_and_the_api_recovers_by_itself() {
    let faulty = faulty(7).await;
    let app = &faulty.app;
    let token = app.user("sub-down", "down").await;
    faulty.proxy.down();
    for (method, path, body) in [
        (Method::GET, "/users/down", None),
        (Method::GET, "/leaderboard", None),
        (
            Method::POST,
            "/articles",
            Some(json!({"title": "t", "body": "b"})),
        ),
    ] {
        let (started, tried) = (Instant::now(), faulty.proxy.refused());
        let mut request = app.request(method.clone(), path, Some(&token));
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.expect("answered");
        let (waited, tried) = (started.elapsed(), faulty.proxy.refused() - tried);
        assert_eq!(response.status(), 503, "{method} {path}");
        assert_eq!(response.headers()["retry-after"], "1");
        // Bounded by the SDK's attempts (store/mod.rs: 3), not by a clock.
        assert!(
            (1..=3).contains(&tried),
            "{method} {path}: {tried} attempts"
        );
        eprintln!("{method} {path} with DynamoDB down: 503 after {tried} attempts, {waited:?}");
    }
    faulty.proxy.up().await;
    let response = app.get("/users/down").await;
    assert_eq!(json_of(response, 200).await["id"], "down");
    let body = json!({"title": "back", "body": "b"});
    json_of(
        app.send_json(Method::POST, "/articles", Some(&token), &body)
            .await,
        201,
    )
    .await;
    faulty.app.shutdown().await;
}

/// S3 out of reach: no request waits on it (presigning is local; a review's
/// DELETE removes its photo objects after the fact, best effort), and a
/// deleted user's purge, which removes photo objects before their review,
/// stops with a store error in bounded time and finishes once S3 is back.
#[tokio::test]
async fn s3_down_stops_no_request_and_the_purge_finishes_when_it_is_back() {
    use hdoc_shared::domain::UserId;
    use hdoc_shared::http::caller::request_context;
    use hdoc_shared::jobs::{self, Ended};
    use lambda_http::tower::ServiceExt;

    let app = TestApp::spawn().await;
    let token = app.user("sub-shutter", "shutter").await;
    let body = json!({"subject": "park:zion", "title": "t", "body": "b"});
    let review = json_of(
        app.send_json(Method::POST, "/reviews", Some(&token), &body)
            .await,
        201,
    )
    .await;
    let review = format!("/reviews/{}", review["id"].as_str().expect("id"));
    let upload = app.presign_photo(&token, &review, "image/png", 64).await;
    assert_eq!(
        app.upload_photo(&upload, "image/png", vec![1; 64]).await,
        200
    );
    let photos = &json_of(app.get(&review).await, 200).await["photos"];
    assert_eq!(photos.as_array().map(Vec::len), Some(1), "the photo joined");

    // The reviews function's state with S3 down: a port that drops every
    // connection it accepts, and counts them.
    let (s3, tried) = s3_down().await;
    let mut config = (*app.state().config).clone();
    config.s3_endpoint = Some(s3);
    let down = hdoc_shared::AppState::connect(config).await.with_photos();
    let call = |method: &str, path: &str, body: Option<Value>| {
        let mut request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(
                body.map(|b| b.to_string()).unwrap_or_default(),
            ))
            .expect("request");
        let claims = json!({"sub": "sub-shutter"});
        request
            .extensions_mut()
            .insert(request_context("r-s3", method, path, Some(claims)));
        let service = hdoc_shared::http::app(reviews::routes(), down.clone());
        async move {
            let status = service.oneshot(request).await.expect("infallible").status();
            status.as_u16()
        }
    };
    let ask = json!({"contentType": "image/png", "contentLength": 64});
    let status = call("POST", &format!("{review}/photos"), Some(ask)).await;
    assert_eq!(status, 201, "presigning needs no S3");
    assert_eq!(
        tried.load(Ordering::SeqCst),
        0,
        "presigning asked S3 nothing"
    );

    // The user's purge with S3 down: stopped, the review (and so the object's
    // only record) kept for the next run.
    let id = UserId::parse("shutter").expect("id");
    let purge = app
        .state()
        .repo
        .delete_user(&id, |_| Ok::<_, hdoc_shared::store::StoreError>(()))
        .await
        .expect("deleted");
    let stopped = jobs::purge_user(&down.repo, down.photos().ok(), &purge, None).await;
    assert!(stopped.is_err(), "the purge cannot finish without S3");
    // It stops after the SDK's attempts at the first delete, not by a clock.
    let attempts = tried.load(Ordering::SeqCst);
    assert!((1..=3).contains(&attempts), "{attempts} attempts");
    assert_eq!(
        app.get(&review).await.status(),
        200,
        "kept until its photo is gone"
    );

    // S3 back: the same purge finishes.
    let done = jobs::purge_user(&app.state().repo, app.state().photos().ok(), &purge, None).await;
    assert!(matches!(done, Ok(Ended::Finished(_))), "{done:?}");
    assert_eq!(app.get(&review).await.status(), 404);
    let url = upload["photoUrl"].as_str().expect("url");
    assert_eq!(app.http.get(url).send().await.expect("GET").status(), 404);
    app.shutdown().await;
}

/// An S3 endpoint that is down: it accepts each connection and drops it at
/// once, counting them.
async fn s3_down() -> (String, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    let tried = Arc::new(AtomicU64::new(0));
    let counted = tried.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (endpoint, tried)
}
