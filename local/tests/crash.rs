//! `hdoc-local` killed with SIGKILL in the middle of a write storm and a
//! user's purge, then started again on the same data dir: it starts, nothing
//! is corrupt, the purge finishes, and the reconcile job finds no drift.

use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    listener.local_addr().expect("address").port()
}

/// The server process, killed however the test ends.
struct Server(Child);

impl Server {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts the real binary on `dir` and waits until it answers.
async fn start(dir: &Path, port: u16, http: &reqwest::Client) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_hdoc-local"))
        .args([
            "--data-dir",
            &dir.to_string_lossy(),
            "--port",
            &port.to_string(),
        ])
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .expect("hdoc-local starts");
    let child = Server(child);
    for looks in 0.. {
        let ready = http
            .get(format!("http://127.0.0.1:{port}/users?limit=1"))
            .send()
            .await;
        if ready.is_ok_and(|r| r.status() == 200) {
            return child;
        }
        assert!(looks < 1_200, "hdoc-local did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    unreachable!("the loop returns or fails")
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: &Value,
    ) -> Option<(u16, Value)> {
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .ok()?;
        let status = response.status().as_u16();
        Some((status, response.json().await.unwrap_or(Value::Null)))
    }

    async fn token(&self, sub: &str) -> String {
        let (_, body) = self
            .send(
                reqwest::Method::POST,
                "/_dev/token",
                "",
                &json!({"sub": sub}),
            )
            .await
            .expect("a token");
        body["token"].as_str().expect("token").to_owned()
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_storm_it_starts_again_whole_and_finishes_the_purge() {
    let dir = std::env::temp_dir().join(format!("hdoc-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let port = free_port();
    let http = reqwest::Client::new();
    let mut server = start(&dir, port, &http).await;
    let api = std::sync::Arc::new(Api {
        base: format!("http://127.0.0.1:{port}"),
        http: http.clone(),
    });

    let mut tokens = Vec::new();
    for n in 0..4 {
        let token = api.token(&format!("sub-{n}")).await;
        let body = json!({"githubProfile": format!("writer-{n}"), "name": "W"});
        let (status, _) = api
            .send(reqwest::Method::POST, "/users", &token, &body)
            .await
            .expect("answered");
        assert_eq!(status, 201);
        tokens.push(token);
    }
    let doomed = api.token("sub-doomed").await;
    let body = json!({"githubProfile": "doomed", "name": "D"});
    assert_eq!(
        api.send(reqwest::Method::POST, "/users", &doomed, &body)
            .await
            .expect("answered")
            .0,
        201
    );
    for n in 0..30 {
        let body = json!({"title": format!("doomed {n}"), "body": "b", "tags": ["aws", "rust"]});
        assert_eq!(
            api.send(reqwest::Method::POST, "/articles", &doomed, &body)
                .await
                .expect("answered")
                .0,
            201
        );
    }

    // The storm: writers on shared tags and subjects, until the kill.
    let written = Arc::new(AtomicU64::new(0));
    let storm: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(me, token)| {
            let (api, token, written) = (api.clone(), token.clone(), written.clone());
            tokio::spawn(async move {
                for round in 0.. {
                    let body = json!({"title": format!("w{me} {round}"), "body": "b", "tags": ["aws", "cloud"]});
                    if api.send(reqwest::Method::POST, "/articles", &token, &body).await.is_none() {
                        return;
                    }
                    let path = format!("/ratings/park:p{}", round % 3);
                    let body = json!({"stars": round % 5 + 1});
                    if api.send(reqwest::Method::PUT, &path, &token, &body).await.is_none() {
                        return;
                    }
                    written.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // The deletion lands mid-storm: once every writer has had a few rounds.
    let mut looks = 0;
    while written.load(Ordering::Relaxed) < 20 {
        looks += 1;
        assert!(looks < 6_000, "the storm wrote nothing");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let deleted = api
        .send(
            reqwest::Method::DELETE,
            "/users/doomed",
            &doomed,
            &json!(null),
        )
        .await;
    assert_eq!(deleted.map(|(status, _)| status), Some(204));
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.kill();
    for writer in storm {
        let _ = writer.await;
    }

    let mut server = start(&dir, port, &http).await;
    assert_eq!(api.get("/users/doomed").await.0, 404);
    // Every article reads back whole (nothing corrupt answers 500); the
    // deleted user's may be purged between the list and the read.
    let (status, articles) = api.get("/articles?limit=100").await;
    assert_eq!(status, 200);
    for article in articles.as_array().expect("a list") {
        let slug = article["slug"].as_str().expect("slug");
        let status = api.get(&format!("/articles/{slug}")).await.0;
        let purged = status == 404 && article["author"] == "doomed";
        assert!(status == 200 || purged, "{slug}: {status}");
    }
    // The purge cut short by the kill is finished by the new process.
    let mut looks = 0;
    loop {
        let (status, left) = api.get("/articles?author=doomed&limit=100").await;
        assert_eq!(status, 200);
        if left.as_array().is_some_and(Vec::is_empty) {
            break;
        }
        looks += 1;
        assert!(looks < 600, "the purge did not finish after {looks} looks");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, run) = api
        .send(reqwest::Method::POST, "/_dev/reconcile", "", &json!(null))
        .await
        .expect("reconcile");
    assert_eq!(status, 200, "{run}");
    assert_eq!(
        run["repairs"],
        json!({"tagCounts": 0, "summaries": 0, "leaderboard": 0}),
        "{run}"
    );
    assert!(run["checked"].as_u64() > Some(0));
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
