//! An emulator of the Lambda Runtime API (the 2018-06-01 protocol a custom
//! runtime such as `lambda_runtime` speaks), for one execution environment:
//! the bootstrap long-polls `GET /runtime/invocation/next`, gets an event with
//! the `Lambda-Runtime-*` headers, and posts its answer to
//! `/runtime/invocation/{id}/response` (or `/error`); an Init failure goes to
//! `/runtime/init/error`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// What the bootstrap answered to an invocation.
#[derive(Debug)]
pub enum Outcome {
    /// `POST .../response`: the function's result (JSON).
    Response(Bytes),
    /// `POST .../error`: the function failed (an error JSON document).
    Error(Bytes),
}

/// A failure to initialise, reported by the bootstrap (`POST /runtime/init/error`).
#[derive(Debug)]
pub struct InitError(pub Bytes);

struct Invocation {
    id: String,
    event: Bytes,
    deadline: Duration,
    answer: oneshot::Sender<Outcome>,
}

/// Called once, when the bootstrap first asks for an event: the end of Init.
pub type InitHook = Box<dyn FnOnce() + Send>;

/// The trace header of every invocation: Lambda's shape, the function's
/// segment as `Parent`.
pub const TRACE_ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";
pub const TRACE_PARENT: &str = "53995c3f42cd8ad8";

struct Shared {
    function_arn: String,
    trace_header: String,
    invocations: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_done: Mutex<Option<(oneshot::Sender<Instant>, Option<InitHook>)>>,
    init_error: Mutex<Option<oneshot::Sender<InitError>>>,
}

/// The Runtime API of one execution environment.
pub struct RuntimeApi {
    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub addr: SocketAddr,
    invocations: mpsc::Sender<Invocation>,
    /// Resolves when Init ends (the first `/next`), with its instant.
    pub init_done: Option<oneshot::Receiver<Instant>>,
    /// Resolves if the bootstrap reports an Init error.
    pub init_error: Option<oneshot::Receiver<InitError>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    /// Serves the API on a free loopback port. `on_init_done` runs inside the
    /// first `/next`, before any event is handed out (the CPU quota starts there).
    /// `sampled`: whether X-Ray samples the invocations (`Sampled=1`).
    pub async fn start(
        function_arn: String,
        on_init_done: Option<InitHook>,
        sampled: bool,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = mpsc::channel(1);
        let (init_tx, init_rx) = oneshot::channel();
        let (error_tx, error_rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            function_arn,
            trace_header: format!(
                "Root={TRACE_ROOT};Parent={TRACE_PARENT};Sampled={}",
                u8::from(sampled)
            ),
            invocations: tokio::sync::Mutex::new(rx),
            pending: Mutex::new(HashMap::new()),
            init_done: Mutex::new(Some((init_tx, on_init_done))),
            init_error: Mutex::new(Some(error_tx)),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            invocations: tx,
            init_done: Some(init_rx),
            init_error: Some(error_rx),
            server,
        })
    }

    /// Hands `event` to the bootstrap and waits for its answer. The time is
    /// taken from the moment the event is ready to the moment the answer is in.
    pub async fn invoke(
        &self,
        event: Bytes,
        timeout: Duration,
    ) -> Result<(Outcome, Duration), String> {
        let (answer, answered) = oneshot::channel();
        let invocation = Invocation {
            id: uuid::Uuid::new_v4().to_string(),
            event,
            deadline: timeout,
            answer,
        };
        let start = Instant::now();
        self.invocations
            .send(invocation)
            .await
            .map_err(|_| "the runtime API stopped".to_owned())?;
        match tokio::time::timeout(timeout, answered).await {
            Ok(Ok(outcome)) => Ok((outcome, start.elapsed())),
            Ok(Err(_)) => Err("the invocation was dropped".into()),
            Err(_) => Err(format!("no answer within {timeout:?}")),
        }
    }
}

fn header(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let first = shared
        .init_done
        .lock()
        .map(|mut slot| slot.take())
        .ok()
        .flatten();
    if let Some((done, hook)) = first {
        let now = Instant::now();
        if let Some(hook) = hook {
            hook();
        }
        let _ = done.send(now);
    }
    let invocation = shared.invocations.lock().await.recv().await;
    let Some(invocation) = invocation else {
        return StatusCode::GONE.into_response();
    };
    let deadline_ms = (SystemTime::now() + invocation.deadline)
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", header(&invocation.id));
    headers.insert(
        "lambda-runtime-deadline-ms",
        header(&deadline_ms.to_string()),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        header(&shared.function_arn),
    );
    headers.insert("lambda-runtime-trace-id", header(&shared.trace_header));
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(mut pending) = shared.pending.lock() {
        pending.insert(invocation.id, invocation.answer);
    }
    (headers, invocation.event).into_response()
}

fn answer(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    let sender = shared.pending.lock().ok().and_then(|mut p| p.remove(id));
    match sender {
        Some(sender) => {
            let _ = sender.send(outcome);
            StatusCode::ACCEPTED
        }
        // Lambda answers an unknown or already answered id this way.
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    answer(&shared, &id, Outcome::Response(body))
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    answer(&shared, &id, Outcome::Error(body))
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    if let Some(sender) = shared.init_error.lock().ok().and_then(|mut s| s.take()) {
        let _ = sender.send(InitError(body));
    }
    StatusCode::ACCEPTED
}
