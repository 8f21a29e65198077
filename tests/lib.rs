//! The test harness: starts the whole API (hdoc-local) on port 0 and drives
//! it over HTTP with real dev tokens.
//!
//! By default each test gets its own in-memory embedded engine. With
//! `HDOC_TEST_DYNAMODB_ENDPOINT` set (the test script points it at a moto
//! server), each test gets its own table on that endpoint instead, so the
//! same suite runs against a second, independent DynamoDB implementation.
//!
//! Every request a test sends through [`TestApp::request`] (and the helpers
//! built on it) passes a checking proxy that holds each response to
//! `docs/openapi.yaml` ([`contract`]): a response the document does not
//! allow fails the test that received it.

pub mod contract;
pub mod faults;
pub mod github;

use hdoc_local::{Options, Running};
use hdoc_shared::AppState;
use hdoc_shared::Config;
use hdoc_shared::http::Route;
use hdoc_shared::store::Usage;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    Function {
        name: "github",
        routes: ::github::ROUTES,
        router: ::github::routes,
    },
];

/// The API Gateway (payload v2) event of `events/<name>`, as `lambda_http`
/// hands it to a function's router.
pub fn api_gateway_event(name: &str) -> lambda_http::Request {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("event file");
    lambda_http::request::from_str(&text).expect("a valid API Gateway event")
}

/// Sends `request` through `router` on `state` in process, with the request
/// context API Gateway gives it (the caller's JWT `claims`, if any), as
/// `lambda_http` hands it to the function in Lambda: the status and the body.
pub async fn invoke(
    router: axum::Router<AppState>,
    state: &AppState,
    mut request: http::Request<axum::body::Body>,
    claims: Option<Value>,
) -> (u16, axum::body::Bytes) {
    use lambda_http::tower::ServiceExt;
    let (method, path) = (
        request.method().to_string(),
        request.uri().path().to_owned(),
    );
    request
        .extensions_mut()
        .insert(hdoc_shared::http::caller::request_context(
            "r-test", &method, &path, claims,
        ));
    let response = hdoc_shared::http::app(router, state.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("a body");
    (status, body)
}

/// The function called `name`.
pub fn function(name: &str) -> &'static Function {
    FUNCTIONS
        .iter()
        .find(|function| function.name == name)
        .unwrap_or_else(|| panic!("no function named {name}"))
}

/// A running API for one test.
pub struct TestApp {
    /// Where `hdoc-local` itself listens (the photos' public URLs start with it).
    pub base: String,
    pub http: reqwest::Client,
    /// Where the checking proxy in front of it listens: tests talk to this.
    checked: Checked,
    running: Option<Running>,
}

/// A checking proxy in front of an API: every response passes
/// [`contract::Contract::check`], and what breaks the document is kept
/// (and printed at once) until [`Checked::assert_clean`] or drop.
pub struct Checked {
    /// The proxy's base URL.
    pub base: String,
    violations: Arc<Mutex<Vec<String>>>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Proxy {
    target: SocketAddr,
    client: reqwest::Client,
    violations: Arc<Mutex<Vec<String>>>,
}

/// Headers that belong to one connection, not to the request or response.
const HOP_BY_HOP: &[&str] = &["connection", "content-length", "host", "transfer-encoding"];

async fn forward(
    axum::extract::State(proxy): axum::extract::State<Proxy>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("the request body");
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = proxy
        .client
        .request(
            parts.method.clone(),
            format!("http://{}{target}", proxy.target),
        )
        .body(body);
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            outgoing = outgoing.header(name, value);
        }
    }
    let response = outgoing.send().await.expect("the API answers");
    let status = response.status();
    let mut headers = response.headers().clone();
    let body = response.bytes().await.expect("the response body");
    let verdict = contract::contract().check(
        parts.method.as_str(),
        parts.uri.path(),
        &parts.headers,
        status.as_u16(),
        &headers,
        &body,
    );
    if let Err(problem) = verdict {
        let violation = format!(
            "{} {} answered {status}, which docs/openapi.yaml does not allow:\n{problem}",
            parts.method, target
        );
        eprintln!("contract violation: {violation}");
        proxy
            .violations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(violation);
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
    let mut answer = axum::response::Response::new(axum::body::Body::from(body));
    *answer.status_mut() = status;
    *answer.headers_mut() = headers;
    answer
}

impl Checked {
    /// Starts a checking proxy in front of the API at `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let violations = Arc::new(Mutex::new(Vec::new()));
        let proxy = Proxy {
            target,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            violations: violations.clone(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the proxy");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let app = axum::Router::new().fallback(forward).with_state(proxy);
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("the proxy serves");
        });
        Self {
            base,
            violations,
            server,
        }
    }

    /// Panics with every response so far that broke the document.
    pub fn assert_clean(&self) {
        let violations = std::mem::take(
            &mut *self
                .violations
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        assert!(
            violations.is_empty(),
            "{} response(s) broke docs/openapi.yaml:\n{}",
            violations.len(),
            violations.join("\n\n")
        );
    }
}

impl Drop for Checked {
    fn drop(&mut self) {
        self.server.abort();
        if !std::thread::panicking() {
            self.assert_clean();
        }
    }
}

/// The DynamoDB endpoint the suite runs against, as the test script chose it
/// (`None`: the embedded engine).
pub fn dynamodb_endpoint() -> Option<String> {
    std::env::var("HDOC_TEST_DYNAMODB_ENDPOINT")
        .ok()
        .filter(|url| !url.is_empty())
}

impl TestApp {
    /// The API on the suite's DynamoDB (the embedded engine, or the endpoint
    /// the test script chose).
    pub async fn spawn() -> Self {
        Self::spawn_on(dynamodb_endpoint()).await
    }

    /// The API on the suite's DynamoDB, on a clock the test moves on
    /// (`app.state().config.clock.advance(...)`) rather than waits for.
    pub async fn spawn_on_manual_clock() -> Self {
        Self::spawn_configured(dynamodb_endpoint(), |config| {
            config.clock = hdoc_shared::clock::Clock::manual();
        })
        .await
    }

    /// The API on the DynamoDB endpoint `dynamodb` (`None`: the embedded engine).
    pub async fn spawn_on(dynamodb: Option<String>) -> Self {
        Self::spawn_configured(dynamodb, |_| {}).await
    }

    /// The API on the suite's DynamoDB, its activity job reading the GitHub
    /// API at `github` (a [`github::FakeGitHub`]) with `token`, if given.
    pub async fn spawn_with_github(github: &str, token: Option<&str>) -> Self {
        Self::spawn_configured(dynamodb_endpoint(), |config| {
            config.github_api = github.to_owned();
            config.github_token =
                token.map(|token| hdoc_shared::config::GitHubToken(token.to_owned()));
        })
        .await
    }

    /// The API on `dynamodb`, with its configuration changed by `configure`.
    pub async fn spawn_configured(
        dynamodb: Option<String>,
        configure: impl FnOnce(&mut Config),
    ) -> Self {
        let table = format!("hdoc-test-{}", uuid::Uuid::new_v4().simple());
        let mut config = Config::from_lookup(|key| match key {
            "HDOC_TABLE" => Some(table.clone()),
            "HDOC_CORS_ORIGINS" => Some("https://app.example".to_owned()),
            _ => None,
        });
        configure(&mut config);
        let running = hdoc_local::start(Options {
            addr: "127.0.0.1:0".parse().expect("address"),
            data_dir: None,
            dynamodb_endpoint: dynamodb,
            engines: None,
            config,
            jwt_secret: "test-secret".to_owned(),
        })
        .await
        .expect("the local API starts (is the DynamoDB endpoint up?)");
        Self {
            base: format!("http://{}", running.addr),
            http: reqwest::Client::new(),
            checked: Checked::start(running.addr).await,
            running: Some(running),
        }
    }

    fn running(&self) -> &Running {
        self.running.as_ref().expect("running until shutdown")
    }

    /// The app's state, shared with its handlers (its repository, for seeding).
    pub fn state(&self) -> &hdoc_shared::AppState {
        &self.running().state
    }

    /// DynamoDB usage of this app's repository so far.
    pub fn usage(&self) -> Usage {
        self.running().state.repo.usage()
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

    /// A request to `path`, with a bearer token if one is given, through
    /// the checking proxy.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let request = self
            .http
            .request(method, format!("{}{path}", self.checked.base));
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
        let repo = &self.state().repo;
        let mut looks = 0;
        while !repo
            .pending_purges(1)
            .await
            .expect("pending purges")
            .is_empty()
        {
            looks += 1;
            assert!(
                looks < 1_200,
                "deletions still being purged after {looks} looks"
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

    /// Runs the activity job (`POST /_dev/activity`) and returns its run.
    pub async fn activity(&self) -> Value {
        let response = self
            .request(Method::POST, "/_dev/activity", None)
            .send()
            .await
            .expect("activity");
        json_of(response, 200).await
    }

    /// The activity job's GitHub client (the API `spawn_with_github` named).
    pub fn github(&self) -> &activity::github::GitHub {
        &self.running().github
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

    pub async fn shutdown(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
        self.checked.assert_clean();
    }
}

/// The body of a response as JSON, after checking its status.
pub async fn json_of(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Checks that `response` is a problem+json with `status` whose `message`
/// is its `detail` (what the front end shows), and returns it.
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
    assert_eq!(body["message"], body["detail"], "body: {body}");
    body
}

/// The `rel="next"` target of a response's `Link` header.
pub fn next_link(response: &Response) -> Option<String> {
    let link = response.headers().get("link")?.to_str().ok()?;
    let (target, rel) = link.split_once(';')?;
    (rel.trim() == "rel=\"next\"").then(|| target.trim().trim_matches(['<', '>']).to_owned())
}
