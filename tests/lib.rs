//! The test harness: starts the whole API (hdoc-local) on port 0 and drives
//! it over HTTP with real dev tokens.
//!
//! By default each test gets its own in-memory embedded engine. With
//! `HDOC_TEST_DYNAMODB_ENDPOINT` set (the test script points it at a moto
//! server), each test gets its own table on that endpoint instead, so the
//! same suite runs against a second, independent DynamoDB implementation.

use hdoc_local::{Options, Running};
use hdoc_shared::AppState;
use hdoc_shared::Config;
use hdoc_shared::http::Route;
use hdoc_shared::store::Usage;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A function crate: its name (the prefix of its `events/` files and its
/// `template.yaml` resource), its route table, and its router.
pub struct Function {
    pub name: &'static str,
    pub routes: &'static [Route],
    pub router: fn() -> axum::Router<AppState>,
}

/// Every function of the API. A new function crate is added here.
pub const FUNCTIONS: &[Function] = &[
    Function {
        name: "users",
        routes: users::ROUTES,
        router: users::routes,
    },
    Function {
        name: "leaderboard",
        routes: leaderboard::ROUTES,
        router: leaderboard::routes,
    },
    Function {
        name: "articles",
        routes: articles::ROUTES,
        router: articles::routes,
    },
    Function {
        name: "tags",
        routes: tags::ROUTES,
        router: tags::routes,
    },
    Function {
        name: "reviews",
        routes: reviews::ROUTES,
        router: reviews::routes,
    },
    Function {
        name: "ratings",
        routes: ratings::ROUTES,
        router: ratings::routes,
    },
];

/// The function called `name`.
pub fn function(name: &str) -> &'static Function {
    FUNCTIONS
        .iter()
        .find(|function| function.name == name)
        .unwrap_or_else(|| panic!("no function named {name}"))
}

/// A running API for one test.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    running: Running,
}

/// The DynamoDB endpoint the suite runs against, as the test script chose it
/// (`None`: the embedded engine).
pub fn dynamodb_endpoint() -> Option<String> {
    std::env::var("HDOC_TEST_DYNAMODB_ENDPOINT")
        .ok()
        .filter(|url| !url.is_empty())
}

impl TestApp {
    pub async fn spawn() -> Self {
        let table = format!("hdoc-test-{}", uuid::Uuid::new_v4().simple());
        let config = Config::from_lookup(|key| match key {
            "HDOC_TABLE" => Some(table.clone()),
            "HDOC_CORS_ORIGINS" => Some("https://app.example".to_owned()),
            _ => None,
        });
        let running = hdoc_local::start(Options {
            addr: "127.0.0.1:0".parse().expect("address"),
            data_dir: None,
            dynamodb_endpoint: dynamodb_endpoint(),
            config,
            jwt_secret: "test-secret".to_owned(),
        })
        .await
        .expect("the local API starts (is the DynamoDB endpoint up?)");
        Self {
            base: format!("http://{}", running.addr),
            http: reqwest::Client::new(),
            running,
        }
    }

    /// The app's state, shared with its handlers (its repository, for seeding).
    pub fn state(&self) -> &hdoc_shared::AppState {
        &self.running.state
    }

    /// DynamoDB usage of this app's repository so far.
    pub fn usage(&self) -> Usage {
        self.running.state.repo.usage()
    }

    /// A dev token for `sub` in `groups`, minted by the API itself.
    pub async fn token(&self, sub: &str, groups: &[&str]) -> String {
        let response = self
            .request(Method::POST, "/_dev/token", None)
            .json(&json!({"sub": sub, "groups": groups}))
            .send()
            .await
            .expect("token request");
        assert_eq!(response.status(), 200, "minting a token");
        let body: Value = response.json().await.expect("token body");
        body["token"].as_str().expect("token").to_owned()
    }

    /// A request to `path`, with a bearer token if one is given.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, None)
            .send()
            .await
            .expect("GET")
    }

    /// Follows `Link: rel="next"` from `path` to the end: every item, and
    /// how many pages it took.
    pub async fn all_pages(&self, path: &str) -> (Vec<Value>, usize) {
        let mut items = Vec::new();
        let mut path = path.to_owned();
        let mut pages = 0;
        loop {
            let response = self.get(&path).await;
            let next = next_link(&response);
            let page = json_of(response, 200).await;
            items.extend(page.as_array().expect("bare array").iter().cloned());
            pages += 1;
            match next {
                Some(next) => path = next,
                None => return (items, pages),
            }
        }
    }

    /// Sends `body` as JSON with `method` to `path`.
    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Response {
        self.request(method, path, token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Creates the profile `id` for a new caller `sub` and returns that caller's token.
    pub async fn user(&self, sub: &str, id: &str) -> String {
        let token = self.token(sub, &[]).await;
        let response = self
            .send_json(
                Method::POST,
                "/users",
                Some(&token),
                &json!({"githubProfile": id, "name": format!("{id} name")}),
            )
            .await;
        assert_eq!(response.status(), 201, "creating user {id}");
        token
    }

    /// An admin's token.
    pub async fn admin(&self) -> String {
        self.token("admin-sub", &["admin"]).await
    }

    /// Asks for a presigned upload of one photo of `review` (its path).
    pub async fn presign_photo(
        &self,
        token: &str,
        review: &str,
        content_type: &str,
        length: usize,
    ) -> Value {
        let body = json!({"contentType": content_type, "contentLength": length});
        let path = format!("{review}/photos");
        json_of(
            self.send_json(Method::POST, &path, Some(token), &body)
                .await,
            201,
        )
        .await
    }

    /// PUTs `body` to a presigned `upload`, with its signed headers but
    /// `content_type`, and returns the status.
    pub async fn upload_photo(&self, upload: &Value, content_type: &str, body: Vec<u8>) -> u16 {
        let mut request = self.http.put(upload["uploadUrl"].as_str().expect("url"));
        for (name, value) in upload["headers"].as_object().expect("headers") {
            // The client sets content-length from the body; content-type is the test's choice.
            if !name.eq_ignore_ascii_case("content-length")
                && !name.eq_ignore_ascii_case("content-type")
            {
                request = request.header(name, value.as_str().expect("value"));
            }
        }
        let response = request
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("upload");
        response.status().as_u16()
    }

    /// Waits until the purges of deleted users have finished: `hdoc-local`
    /// runs them after each deletion, as the table's stream does in AWS.
    pub async fn purges_finished(&self) {
        let started = Instant::now();
        let repo = &self.state().repo;
        while !repo
            .pending_purges(1)
            .await
            .expect("pending purges")
            .is_empty()
        {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "deletions still being purged after 2 minutes"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs the nightly reconcile job (`POST /_dev/reconcile`) and returns its run.
    pub async fn reconcile(&self) -> Value {
        let response = self
            .request(Method::POST, "/_dev/reconcile", None)
            .send()
            .await
            .expect("reconcile");
        json_of(response, 200).await
    }

    /// Checks, with the reconcile job, that every aggregate equals its recount.
    pub async fn assert_no_drift(&self) {
        let run = self.reconcile().await;
        assert_eq!(
            run["repairs"],
            json!({"tagCounts": 0, "summaries": 0, "leaderboard": 0}),
            "the reconcile job found drift: {run}"
        );
        assert!(
            run["checked"].as_u64() > Some(0),
            "it checked nothing: {run}"
        );
    }

    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}

/// The body of a response as JSON, after checking its status.
pub async fn json_of(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Checks that `response` is a problem+json with `status`, and returns it.
pub async fn problem(response: Response, status: u16) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = json_of(response, status).await;
    assert_eq!(content_type, "application/problem+json", "body: {body}");
    assert_eq!(body["status"], status, "body: {body}");
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "body: {body}"
    );
    body
}

/// The `rel="next"` target of a response's `Link` header.
pub fn next_link(response: &Response) -> Option<String> {
    let link = response.headers().get("link")?.to_str().ok()?;
    let (target, rel) = link.split_once(';')?;
    (rel.trim() == "rel=\"next\"").then(|| target.trim().trim_matches(['<', '>']).to_owned())
}
