//! The soak: 10,000 mixed operations from 16 concurrent clients, with every
//! kind of DynamoDB fault injected (`hdoc_tests::faults`), bounded in time.
//! Clients retry 503s and 409s as the API asks. At the end, with the faults
//! off, the reconcile job recounts every aggregate: the drift must be 0.
//!
//! `scripts/soak.sh` runs it on the embedded engine and on moto and prints
//! ops/s, the status counts and the drift. Not a test: it times things.
//! `cargo run -p hdoc-tests --example soak -- [OPS] [CLIENTS] [MAX_SECONDS]`;
//! the engine is `HDOC_TEST_DYNAMODB_ENDPOINT` (moto) or the embedded one.

use hdoc_tests::faults::{FaultProxy, Mix};
use hdoc_tests::{TestApp, dynamodb_endpoint};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let (ops, clients, max) = (arg(1, 10_000) as usize, arg(2, 16) as usize, arg(3, 600));
    let engine;
    let upstream = match dynamodb_endpoint() {
        Some(url) => url,
        None => {
            engine = hdoc_local::embedded_dynamodb().await.expect("engine");
            engine.endpoint.clone()
        }
    };
    let proxy = FaultProxy::start(&upstream, 2026).await;
    let app = Arc::new(TestApp::spawn_on(Some(proxy.endpoint.clone())).await);
    let mut tokens = Vec::new();
    for n in 0..clients {
        tokens.push(app.user(&format!("soak-{n}"), &format!("soaker-{n}")).await);
    }
    proxy.set(Mix {
        name: "soak",
        throttle: 0.03,
        internal_error: 0.03,
        conflict: 0.05,
        reset: 0.02,
        lost_answer: 0.05,
        latency: Duration::from_millis(5),
        ..Mix::default()
    });
    let done = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(max);
    let started = Instant::now();
    let tasks: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(me, token)| {
            let (app, done) = (app.clone(), done.clone());
            tokio::spawn(async move {
                let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
                let tags = ["aws", "rust", "cloud", "open-system", "serverless"];
                let mut mine: Vec<String> = Vec::new();
                let mut round = 0;
                while done.fetch_add(1, Ordering::Relaxed) < ops && Instant::now() < deadline {
                    round += 1;
                    let (method, path, body) = match round % 6 {
                        0 | 1 => (
                            Method::POST,
                            "/articles".to_owned(),
                            Some(json!({"title": format!("soak {me} {round}"), "body": "b", "tags": [tags[round % 5], tags[(round + me) % 5]]})),
                        ),
                        2 if !mine.is_empty() => {
                            let slug = mine.swap_remove(round % mine.len());
                            (Method::DELETE, format!("/articles/{slug}"), None)
                        }
                        3 => (
                            Method::PUT,
                            format!("/ratings/park:p{}", round % 7),
                            Some(json!({"stars": (round + me) % 5 + 1})),
                        ),
                        4 => (
                            Method::POST,
                            "/reviews".to_owned(),
                            Some(json!({"subject": format!("park:p{}", round % 7), "title": "t", "body": "b"})),
                        ),
                        _ => (Method::GET, format!("/articles?tag={}&limit=10", tags[round % 5]), None),
                    };
                    for _ in 0..50 {
                        let mut request = app.request(method.clone(), &path, Some(&token));
                        if let Some(body) = &body {
                            request = request.json(body);
                        }
                        let response = request.send().await.expect("the API answers");
                        let status = response.status().as_u16();
                        *statuses.entry(status).or_default() += 1;
                        if status == 201 && path == "/articles" {
                            let article: Value = response.json().await.unwrap_or_default();
                            if let Some(slug) = article["slug"].as_str() {
                                mine.push(slug.to_owned());
                            }
                        }
                        if status != 503 && status != 409 {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
                statuses
            })
        })
        .collect();
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    for task in tasks {
        for (status, n) in task.await.expect("a client") {
            *statuses.entry(status).or_default() += n;
        }
    }
    let elapsed = started.elapsed();
    let operations = done.load(Ordering::Relaxed).min(ops);
    proxy.set(Mix::default());
    let injected = proxy.take_counts();
    let run = app.reconcile().await;
    let engine = if dynamodb_endpoint().is_some() {
        "moto"
    } else {
        "embedded"
    };
    println!(
        "soak on {engine}: {operations} operations from {clients} clients in {:.1} s = {:.0} ops/s",
        elapsed.as_secs_f64(),
        operations as f64 / elapsed.as_secs_f64()
    );
    println!("answers (retries included): {statuses:?}");
    println!("faults injected: {injected:?}");
    println!("drift found by reconcile: {}", run["repairs"]);
    assert!(
        !statuses.contains_key(&500) && !statuses.contains_key(&502),
        "a 5xx other than 503"
    );
    assert_eq!(
        run["repairs"],
        json!({"tagCounts": 0, "summaries": 0, "leaderboard": 0})
    );
}
