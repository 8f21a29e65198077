//! `hdoc-local`: the whole hdoc API on one machine.
//!
//! It plays API Gateway's part (request ids, dev JWT checks, claims in the
//! request context, CORS via the shared layer) in front of the very routers
//! the Lambda functions run, on the same repository, talking to an embedded
//! DynamoDB engine (dynoxide, on SQLite) or to any DynamoDB endpoint.
//!
//! It also plays the part of the AWS event plumbing: its S3 server reports
//! uploads as the bucket notification would, and it runs a deleted user's
//! purge after each `DELETE /users/{id}` (and at start, for any left
//! unfinished) as the table's stream would. `POST /_dev/reconcile` runs the
//! nightly reconcile job on demand, and `POST /_dev/activity` the activity
//! job (scores from GitHub, against the API `--github-api` names).
//!
//! It serves the API's OpenAPI document (`docs/openapi.yaml`) as JSON at
//! `GET /openapi.json`, and a reference page made from it at `GET /docs`.

pub mod demo;
pub mod docs;
pub mod import;
pub mod jwt;
pub mod s3;
pub mod secrets;

use activity::ActivityRun;
use activity::github::GitHub;
use axum::Json;
use axum::extract::Request;
use axum::extract::State;
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use hdoc_shared::config::StaticCredentials;
use hdoc_shared::http::Route;
use hdoc_shared::http::caller::request_context;
use hdoc_shared::jobs::{self, Ended};
use hdoc_shared::store::{self, Run, schema};
use hdoc_shared::{ApiError, AppState, Config, JsonBody, Repository};
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};
use tower_http::services::ServeDir;

/// The name of the cursor key's secret in the stand-in Secrets Manager of
/// `--engines` (local/sam-env-vars.json names it).
pub const LOCAL_CURSOR_SECRET_NAME: &str = "hdoc-local-cursor-secret";

/// How long a write may retry lost races locally. In AWS the functions'
/// 10 s timeout bounds it (`hdoc_shared::store::WRITE_BUDGET`); here API
/// Gateway's 29 s integration timeout is what a client would meet. A slow
/// engine (moto serves one request at a time) needs the room.
const LOCAL_WRITE_BUDGET: std::time::Duration = std::time::Duration::from_secs(25);

/// The routes only `hdoc-local` serves (no deployment has them), marked
/// `x-hdoc-local-only` in the OpenAPI document.
pub const ROUTES: &[Route] = &[
    Route::public("POST", "/_dev/token"),
    Route::public("POST", "/_dev/reconcile"),
    Route::public("POST", "/_dev/activity"),
    Route::public("POST", "/_dev/journey"),
    Route::public("GET", "/openapi.json"),
    Route::public("GET", "/docs"),
];

/// The API's OpenAPI document, as the repository holds it.
pub const OPENAPI_YAML: &str = include_str!("../../docs/openapi.yaml");

/// The OpenAPI document as JSON, converted once.
pub fn openapi() -> &'static serde_json::Value {
    static DOCUMENT: OnceLock<serde_json::Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        serde_yaml::from_str(OPENAPI_YAML).expect("docs/openapi.yaml is YAML (its tests say so)")
    })
}

/// `GET /openapi.json`.
async fn openapi_json() -> Json<&'static serde_json::Value> {
    Json(openapi())
}

/// `GET /docs`: the reference page, made once from the document (read as
/// YAML, so that it keeps the document's order).
async fn docs_page() -> Html<&'static str> {
    static PAGE: OnceLock<String> = OnceLock::new();
    Html(PAGE.get_or_init(|| {
        let document = serde_yaml::from_str(OPENAPI_YAML).expect("docs/openapi.yaml is YAML");
        docs::page(&document)
    }))
}

/// How to start the local API. Its `Debug` never shows the dev token secret.
#[derive(Clone)]
pub struct Options {
    pub addr: SocketAddr,
    /// Where the embedded DynamoDB engine and S3 server keep their data
    /// (kept between runs); `None` for memory and a temporary directory (tests).
    pub data_dir: Option<PathBuf>,
    /// Any DynamoDB-compatible endpoint (moto, DynamoDB Local) to use instead
    /// of the embedded engine.
    pub dynamodb_endpoint: Option<String>,
    /// Where the embedded engine serves DynamoDB's API, the S3 server on the
    /// next port (`--engines`: Docker's bridge, so that functions run by
    /// `sam local` share the data); `None`: free loopback ports.
    pub engines: Option<SocketAddr>,
    /// The settings the functions would read in Lambda (table, CORS, ...).
    pub config: Config,
    /// The secret dev tokens are signed with.
    pub jwt_secret: String,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("addr", &self.addr)
            .field("data_dir", &self.data_dir)
            .field("dynamodb_endpoint", &self.dynamodb_endpoint)
            .field("config", &self.config)
            .field("engines", &self.engines)
            .field("jwt_secret", &"..")
            .finish()
    }
}

/// The browser origins allowed by default on a dev server listening on
/// `port`: its own (by name and by address) and the front end's dev server
/// (`http://localhost:8080`). `HDOC_CORS_ORIGINS` replaces them.
pub fn loopback_origins(port: u16) -> Vec<String> {
    let mut origins = vec![
        format!("http://localhost:{port}"),
        format!("http://127.0.0.1:{port}"),
        "http://localhost:8080".to_owned(),
    ];
    origins.dedup();
    origins
}

/// The host of an `Origin` (`http://localhost:3000`) or a `Host`
/// (`127.0.0.1:3000`, `[::1]:3000`), without its port.
fn host_of(authority: &str) -> &str {
    let authority = authority
        .split_once("://")
        .map_or(authority, |(_, rest)| rest);
    let authority = authority.split('/').next().unwrap_or_default();
    if authority.starts_with('[') {
        return authority
            .split_once(']')
            .map_or(authority, |(host, _)| &authority[..=host.len()]);
    }
    authority.split(':').next().unwrap_or_default()
}

/// Whether `host` names this machine: `localhost`, 127.0.0.0/8 or `[::1]`.
fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        || host == "[::1]"
}

/// Whether a request to `/_dev/*` may be served: its `Host` names this
/// machine, and its `Origin`, if it has one, is a page on this machine. A
/// web page elsewhere (or a DNS name rebound to 127.0.0.1) must not mint
/// tokens or run the jobs.
fn from_loopback(headers: &http::HeaderMap, uri: &http::Uri) -> bool {
    let text = |name| {
        headers
            .get(name)
            .map(|value| value.to_str().unwrap_or("\u{0}"))
    };
    let host = text(http::header::HOST).or(uri.authority().map(|a| a.as_str()));
    let host_ok = host.is_some_and(|host| is_loopback_host(host_of(host)));
    let origin_ok = match text(http::header::ORIGIN) {
        None => true,
        Some(origin) => {
            (origin.starts_with("http://") || origin.starts_with("https://"))
                && is_loopback_host(host_of(origin))
        }
    };
    host_ok && origin_ok
}

/// Refuses `/_dev/*` requests that do not come from this machine (403).
async fn dev_routes_from_loopback(request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/_dev/")
        && !from_loopback(request.headers(), request.uri())
    {
        return ApiError::Forbidden(
            "the /_dev routes answer only requests to a loopback host (localhost, 127.0.0.1, [::1]) from no origin or a loopback one"
                .into(),
        )
        .into_response();
    }
    next.run(request).await
}

/// A running local API.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The stand-in Secrets Manager's endpoint, with `--engines`.
    pub secrets_endpoint: Option<String>,
    /// The state its handlers share (its repository's usage, for tests).
    pub state: AppState,
    /// The GitHub API client of its activity job.
    pub github: GitHub,
    stop: Vec<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
    purger: tokio::task::JoinHandle<()>,
    /// A temporary directory to remove at shutdown.
    scratch: Option<PathBuf>,
}

impl Running {
    /// Stops accepting requests, lets running ones finish, and closes the store.
    pub async fn shutdown(mut self) {
        for stop in std::mem::take(&mut self.stop) {
            let _ = stop.send(());
        }
        let _ = (&mut self.server).await;
        self.purger.abort();
        let _ = (&mut self.purger).await;
    }
}

impl Drop for Running {
    /// Stops the background tasks and removes the temporary data directory of
    /// a run without one (tests), however the run ends.
    fn drop(&mut self) {
        self.server.abort();
        self.purger.abort();
        if let Some(dir) = self.scratch.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Errors that stop the local API from starting.
pub type StartError = Box<dyn std::error::Error + Send + Sync>;

/// Starts the stores, creates the table and bucket if they are missing, and serves the API.
pub async fn start(options: Options) -> Result<Running, StartError> {
    let mut stop = Vec::new();
    let scratch = match &options.data_dir {
        Some(_) => None,
        None => {
            Some(std::env::temp_dir().join(format!("hdoc-local-{}", uuid::Uuid::new_v4().simple())))
        }
    };
    let data_dir = options
        .data_dir
        .clone()
        .or_else(|| scratch.clone())
        .expect("one of the two");
    std::fs::create_dir_all(&data_dir)?;

    let endpoint = match (&options.dynamodb_endpoint, &options.data_dir) {
        (Some(url), _) => url.clone(),
        (None, Some(dir)) => {
            let path = dir.join("dynamodb.sqlite");
            let db = dynoxide::Database::new(&path.to_string_lossy())?;
            serve_dynamodb(db, options.engines, &mut stop).await?
        }
        (None, None) => {
            serve_dynamodb(dynoxide::Database::memory()?, options.engines, &mut stop).await?
        }
    };
    // The API's address comes first: the photos' public URLs are served by it.
    let listener = TcpListener::bind(options.addr).await?;
    let addr = listener.local_addr()?;
    let s3_root = data_dir.join("s3");
    let s3_addr = match options.engines {
        Some(addr) => SocketAddr::new(
            addr.ip(),
            addr.port().checked_add(1).ok_or("--engines port")?,
        ),
        None => SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)),
    };
    let local_s3 = s3::LocalS3::bind_on(&s3_root, s3_addr).await?;
    // With --engines, a stand-in Secrets Manager on the port after S3's: the
    // functions `sam local` runs read their cursor key from it at Init.
    let secrets_endpoint = match options.engines {
        Some(engines) => {
            let port = engines.port().checked_add(2).ok_or("--engines port")?;
            let secrets = secrets::Secrets {
                secrets: vec![(
                    secrets::arn_of("us-east-1", LOCAL_CURSOR_SECRET_NAME),
                    options.config.cursor_secret.clone(),
                )],
                access_key: s3::ACCESS_KEY.to_owned(),
                secret_key: s3::SECRET_KEY.to_owned(),
                region: "us-east-1".to_owned(),
            };
            let listener = TcpListener::bind(SocketAddr::new(engines.ip(), port)).await?;
            let endpoint = format!("http://{}", listener.local_addr()?);
            let (tx, rx) = oneshot::channel::<()>();
            stop.push(tx);
            let served = axum::serve(listener, secrets::router(secrets));
            tokio::spawn(async move {
                let _ = served
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
            });
            Some(endpoint)
        }
        None => None,
    };

    // What a function's environment says in AWS, pointed at the emulators;
    // the state is built by the very constructors Lambda's `main` uses.
    let mut config = options.config;
    config.dynamodb_endpoint = Some(endpoint);
    config.bucket = Some(s3::BUCKET.to_owned());
    config.media_base_url = Some(format!("http://{addr}/media"));
    config.s3_endpoint = Some(local_s3.endpoint.clone());
    config.static_credentials = Some(StaticCredentials {
        access_key: s3::ACCESS_KEY.to_owned(),
        secret_key: s3::SECRET_KEY.to_owned(),
        region: "us-east-1".to_owned(),
    });
    let mut state = AppState::connect(config).await.with_photos().metered();
    // No Lambda timeout here: hdoc-local answers within API Gateway's 29 s.
    state.repo = state.repo.with_write_budget(LOCAL_WRITE_BUDGET);
    let (repo, table) = (&state.repo, state.repo.table());
    let created = schema::create_table(repo.client(), table)
        .await
        .map_err(|err| format!("could not create table {table}: {err:?}"))?;
    upgrade_data(repo, created).await?;
    let (stop_s3, s3_stopped) = oneshot::channel::<()>();
    stop.push(stop_s3);
    local_s3.serve(state.clone(), s3_stopped);

    let (purger, deleted) = spawn_purger(state.clone());
    // The activity job's GitHub (`--github-api`, `HDOC_GITHUB_API`).
    let github = GitHub::new(&state.config);

    let secret: Arc<str> = options.jwt_secret.into();
    let routes = users::routes()
        .merge(leaderboard::routes())
        .merge(articles::routes())
        .merge(tags::routes())
        .merge(reviews::routes())
        .merge(ratings::routes())
        .merge(github::routes())
        .route("/_dev/token", post(mint))
        .route("/_dev/reconcile", post(reconcile))
        .route("/_dev/activity", post(activity_route))
        .route("/_dev/journey", post(activity_route))
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(docs_page))
        // The public photo URLs, as CloudFront serves them from the bucket in AWS.
        .nest_service("/media", ServeDir::new(s3_root.join(s3::BUCKET)));
    let app = hdoc_shared::http::app(routes, state.clone())
        .layer(middleware::from_fn_with_state(
            deleted,
            purge_after_deletion,
        ))
        .layer(middleware::from_fn_with_state(secret.clone(), gateway))
        .layer(middleware::from_fn(dev_routes_from_loopback))
        .layer(axum::Extension(secret))
        .layer(axum::Extension(github.clone()));

    let (stop_api, stopped) = oneshot::channel::<()>();
    stop.insert(0, stop_api);
    let server = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(err) = serve.await {
            tracing::error!(error = %err, "local API stopped");
        }
    });
    Ok(Running {
        addr,
        secrets_endpoint,
        state,
        github,
        stop,
        server,
        purger,
        scratch,
    })
}

/// Brings a table written by an older version of this code (contract v1: list
/// entries without summaries, v1 attribute names) into today's shape before
/// serving: one reconcile run rewrites every such item it meets.
async fn upgrade_data(repo: &Repository, created: bool) -> Result<(), StartError> {
    if !created && repo.data_version().await? < Some(store::DATA_VERSION) {
        match jobs::reconcile(repo, None, jobs::STRETCH).await? {
            Ended::Finished(run) => {
                tracing::info!(
                    upgraded = run.upgraded,
                    "data from before contract v2 upgraded"
                );
            }
            Ended::Paused(_) | Ended::Held => {
                return Err("a reconcile run holds the data; try again".into());
            }
        }
    }
    repo.mark_data_version().await?;
    Ok(())
}

/// How soon a purge that failed (DynamoDB unavailable) is tried again.
const PURGE_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs the purges of deleted users, as the table's stream does in AWS: all
/// pending ones at start (a deletion left unfinished by the last run), then
/// again each time `deleted` is notified, and again after a failure.
fn spawn_purger(state: AppState) -> (tokio::task::JoinHandle<()>, Arc<Notify>) {
    let deleted = Arc::new(Notify::new());
    let notified = deleted.clone();
    let task = tokio::spawn(async move {
        loop {
            match jobs::purge_pending(&state.repo, state.photos().ok()).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "deleted users purged"),
                // As the stream retries a failed batch: again in a moment.
                Err(err) => {
                    tracing::error!(error = ?err, "purging deleted users failed; retrying");
                    tokio::time::sleep(PURGE_RETRY).await;
                    continue;
                }
            }
            notified.notified().await;
        }
    });
    (task, deleted)
}

/// After a `DELETE /users/{id}` that may have deleted (a 204, or a 5xx: the
/// write may have landed and only its answer been lost), wakes the purger,
/// as the table's stream reports the write whatever the caller was told.
async fn purge_after_deletion(
    State(deleted): State<Arc<Notify>>,
    request: Request,
    next: Next,
) -> Response {
    let deletion =
        request.method() == Method::DELETE && request.uri().path().starts_with("/users/");
    let response = next.run(request).await;
    if deletion && !response.status().is_client_error() {
        deleted.notify_one();
    }
    response
}

/// Runs the reconcile job to the end; `None` if another run holds it.
pub async fn reconcile_now(state: &AppState) -> Result<Option<Run>, ApiError> {
    match jobs::reconcile(&state.repo, None, jobs::STRETCH).await? {
        Ended::Finished(run) => Ok(Some(run)),
        Ended::Paused(_) | Ended::Held => Ok(None),
    }
}

/// `POST /_dev/reconcile`: runs the nightly reconcile job now and answers
/// with its run (what it walked, what it repaired). Only `hdoc-local` has this route.
async fn reconcile(State(state): State<AppState>) -> Result<Json<Run>, ApiError> {
    reconcile_now(&state)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::Conflict("a reconcile run is in progress".into()))
}

/// Runs the activity job once, without a deadline: to the end of the run,
/// or until a rate limit (or GitHub unreachable) stops it.
pub async fn activity_now(
    state: &AppState,
    github: &GitHub,
) -> Result<Ended<ActivityRun>, ApiError> {
    Ok(activity::handle(state, github, None).await?)
}

/// `POST /_dev/journey` (and its v2 name `POST /_dev/activity`): runs the
/// journey job now and answers with its run
/// (finished, or stopped by a rate limit: `waitingUntil`). Only `hdoc-local`
/// has this route.
async fn activity_route(
    State(state): State<AppState>,
    axum::Extension(github): axum::Extension<GitHub>,
) -> Result<Json<ActivityRun>, ApiError> {
    match activity_now(&state, &github).await? {
        Ended::Finished(run) | Ended::Paused(run) => Ok(Json(run)),
        Ended::Held => Err(ApiError::Conflict("an activity run is in progress".into())),
    }
}

/// The embedded engine alone, in memory, on a free loopback port, until
/// dropped: for tests that put something between the API and its store (a
/// fault-injecting proxy).
pub struct EmbeddedDynamoDb {
    pub endpoint: String,
    _stop: Vec<oneshot::Sender<()>>,
}

/// Starts [`EmbeddedDynamoDb`].
pub async fn embedded_dynamodb() -> Result<EmbeddedDynamoDb, StartError> {
    let mut stop = Vec::new();
    let endpoint = serve_dynamodb(dynoxide::Database::memory()?, None, &mut stop).await?;
    Ok(EmbeddedDynamoDb {
        endpoint,
        _stop: stop,
    })
}

/// Serves the embedded engine's DynamoDB API on `addr`, or a free loopback port.
async fn serve_dynamodb(
    db: dynoxide::Database,
    addr: Option<SocketAddr>,
    stop: &mut Vec<oneshot::Sender<()>>,
) -> Result<String, StartError> {
    let addr = addr.unwrap_or_else(|| SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)));
    let listener = TcpListener::bind(addr).await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    let (tx, rx) = oneshot::channel::<()>();
    stop.push(tx);
    tokio::spawn(dynoxide::server::serve_with_shutdown(listener, db, async {
        let _ = rx.await;
    }));
    Ok(endpoint)
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// API Gateway's part: give the request an id and, when it carries a valid
/// dev token, the token's claims, in the request context Lambda would build.
/// A missing or bad token leaves no claims, so protected routes answer 401.
async fn gateway(
    axum::extract::State(secret): axum::extract::State<Arc<str>>,
    mut request: Request,
    next: Next,
) -> Response {
    let claims = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .and_then(|token| jwt::verify(&secret, token.trim(), now()))
        .map(serde_json::Value::Object);
    let request_id = uuid::Uuid::new_v4().to_string();
    let context = request_context(
        &request_id,
        request.method().as_str(),
        request.uri().path(),
        claims,
    );
    request.extensions_mut().insert(context);
    let mut response = next.run(request).await;
    if let Ok(value) = request_id.parse() {
        response.headers_mut().insert("apigw-requestid", value);
    }
    response
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    sub: String,
    #[serde(default)]
    groups: Vec<String>,
}

#[derive(Debug, Serialize)]
struct TokenResponse {
    token: String,
}

/// `POST /_dev/token {"sub", "groups"}`: a dev token. Only `hdoc-local` has this route.
async fn mint(
    axum::Extension(secret): axum::Extension<Arc<str>>,
    JsonBody(request): JsonBody<TokenRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    if request.sub.is_empty() || request.sub.chars().count() > 128 {
        return Err(ApiError::invalid("sub", "must be 1 to 128 characters"));
    }
    if request
        .groups
        .iter()
        .any(|group| group.is_empty() || group.contains(' '))
    {
        return Err(ApiError::invalid("groups", "must be names without spaces"));
    }
    let token = jwt::mint(&secret, &request.sub, &request.groups, now());
    Ok(Json(TokenResponse { token }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    http::HeaderName::from_static(name),
                    http::HeaderValue::from_static(value),
                )
            })
            .collect()
    }

    #[test]
    fn dev_routes_answer_only_loopback_hosts_and_origins() {
        let uri = http::Uri::from_static("/_dev/token");
        for allowed in [
            &[("host", "localhost:3000")][..],
            &[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://localhost:8080"),
            ],
            &[("host", "127.1.2.3"), ("origin", "http://127.0.0.1:3000")],
            &[("host", "[::1]:3000"), ("origin", "http://[::1]:3000")],
            &[("host", "LOCALHOST")],
        ] {
            assert!(from_loopback(&headers(allowed), &uri), "{allowed:?}");
        }
        for refused in [
            &[("host", "evil.example")][..],
            &[("host", "localhost.evil.example:3000")],
            &[("host", "127.0.0.1.nip.io")],
            &[
                ("host", "localhost:3000"),
                ("origin", "https://evil.example"),
            ],
            &[
                ("host", "localhost:3000"),
                ("origin", "http://localhost.evil.example"),
            ],
            &[("host", "localhost:3000"), ("origin", "null")],
            &[("host", "10.0.0.1:3000")],
            &[("host", "[::2]:3000")],
            &[],
        ] {
            assert!(!from_loopback(&headers(refused), &uri), "{refused:?}");
        }
    }

    #[test]
    fn loopback_origins_are_the_servers_own_and_the_front_ends() {
        assert_eq!(
            loopback_origins(3000),
            [
                "http://localhost:3000",
                "http://127.0.0.1:3000",
                "http://localhost:8080"
            ]
        );
    }

    #[test]
    fn options_never_show_the_dev_token_secret() {
        let options = Options {
            addr: "127.0.0.1:0".parse().expect("address"),
            data_dir: None,
            dynamodb_endpoint: None,
            config: Config::from_lookup(|_| None),
            engines: None,
            jwt_secret: "dev-jwt-secret-value".to_owned(),
        };
        let shown = format!("{options:?}");
        assert!(!shown.contains("dev-jwt-secret-value"), "{shown}");
        assert!(
            !shown.contains(hdoc_shared::config::DEV_CURSOR_SECRET),
            "{shown}"
        );
        assert!(shown.contains("127.0.0.1:0"), "{shown}");
    }
}
