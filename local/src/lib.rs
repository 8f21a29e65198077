//! `hdoc-local`: the whole hdoc API on one machine.
//!
//! It plays API Gateway's part (request ids, dev JWT checks, claims in the
//! request context, CORS via the shared layer) in front of the very routers
//! the Lambda functions run, on the same repository, talking to an embedded
//! DynamoDB engine (dynoxide, on SQLite) or to any DynamoDB endpoint.

pub mod jwt;

use axum::Json;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::post;
use hdoc_shared::caller::request_context;
use hdoc_shared::store::schema;
use hdoc_shared::{ApiError, AppState, Config, JsonBody, Repository};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Where the local API keeps its data.
#[derive(Clone, Debug)]
pub enum Storage {
    /// The embedded engine, persisted in `dir` (kept between runs).
    Dir(PathBuf),
    /// The embedded engine, in memory (for tests).
    Memory,
    /// Any DynamoDB-compatible endpoint, such as moto or DynamoDB Local.
    Endpoint(String),
}

/// How to start the local API.
#[derive(Clone, Debug)]
pub struct Options {
    pub addr: SocketAddr,
    pub storage: Storage,
    /// The settings the functions would read in Lambda (table, CORS, ...).
    pub config: Config,
    /// The secret dev tokens are signed with.
    pub jwt_secret: String,
}

/// A running local API.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The state its handlers share (its repository's usage, for tests).
    pub state: AppState,
    stop: Vec<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting requests, lets running ones finish, and closes the store.
    pub async fn shutdown(self) {
        for stop in self.stop {
            let _ = stop.send(());
        }
        let _ = self.server.await;
    }
}

/// Errors that stop the local API from starting.
pub type StartError = Box<dyn std::error::Error + Send + Sync>;

/// Starts the store, creates the table if it is missing, and serves the API.
pub async fn start(options: Options) -> Result<Running, StartError> {
    let mut stop = Vec::new();
    let endpoint = match &options.storage {
        Storage::Endpoint(url) => url.clone(),
        Storage::Dir(dir) => {
            std::fs::create_dir_all(dir)?;
            let path = dir.join("dynamodb.sqlite");
            let db = dynoxide::Database::new(&path.to_string_lossy())?;
            serve_dynamodb(db, &mut stop).await?
        }
        Storage::Memory => serve_dynamodb(dynoxide::Database::memory()?, &mut stop).await?,
    };
    let mut config = options.config;
    config.dynamodb_endpoint = Some(endpoint.clone());
    let client = aws_sdk_dynamodb::Client::from_conf(local_sdk_config(&endpoint));
    let repo = Repository::new(client, &config.table);
    schema::create_table(repo.client(), repo.table())
        .await
        .map_err(|err| format!("could not create table {}: {err:?}", config.table))?;
    let state = AppState::new(config, repo);

    let secret: Arc<str> = options.jwt_secret.into();
    let routes = users::routes()
        .merge(leaderboard::routes())
        .merge(articles::routes())
        .merge(tags::routes())
        .merge(reviews::routes())
        .merge(ratings::routes())
        .route("/_dev/token", post(mint));
    let app = hdoc_shared::http::app(routes, state.clone())
        .layer(middleware::from_fn_with_state(secret.clone(), gateway))
        .layer(axum::Extension(secret));

    let listener = TcpListener::bind(options.addr).await?;
    let addr = listener.local_addr()?;
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
        state,
        stop,
        server,
    })
}

/// Serves the embedded engine's DynamoDB API on a free loopback port.
async fn serve_dynamodb(
    db: dynoxide::Database,
    stop: &mut Vec<oneshot::Sender<()>>,
) -> Result<String, StartError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    let (tx, rx) = oneshot::channel::<()>();
    stop.push(tx);
    tokio::spawn(dynoxide::server::serve_with_shutdown(listener, db, async {
        let _ = rx.await;
    }));
    Ok(endpoint)
}

/// The SDK configuration for a local endpoint: emulators take any
/// credentials, so none are looked up (no profile files, no instance metadata).
fn local_sdk_config(endpoint: &str) -> aws_sdk_dynamodb::Config {
    aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "hdoc-local",
            "hdoc-local",
            None,
            None,
            "hdoc-local",
        ))
        .build()
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
    if request.sub.is_empty() || request.sub.len() > 128 {
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
