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
