//! The telemetry layer around every request (`http::app`): one JSON log line and one
//! EMF line per request, written after the answer is ready, and a span that
//! puts the request id and the trace id on every other line the request logs.

use super::caller::Caller;
use crate::telemetry::xray::{self, TraceHeader};
use crate::telemetry::{self, Failure, Process, Sink, emf};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use hmac::{Hmac, Mac};
use lambda_http::request::RequestContext;
use serde::Serialize;
use sha2::Sha256;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Instant;
use tracing::Instrument;

/// Whether this process has served no request yet: its next is its cold start.
static COLD: LazyLock<Arc<AtomicBool>> = LazyLock::new(|| Arc::new(AtomicBool::new(true)));

/// What the layer needs: who this process is, where lines go, whether no
/// request came yet, and the key that makes a caller's `sub` an opaque hash.
#[derive(Clone)]
pub struct Observer {
    process: Arc<Process>,
    cold: Arc<AtomicBool>,
    callers: Hmac<Sha256>,
    sink: Sink,
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observer")
            .field("process", &self.process)
            .field("sink", &self.sink)
            .finish_non_exhaustive()
    }
}

impl Observer {
    /// This process's: its environment, its output, and one cold start for
    /// the whole process (what `http::app` uses).
    pub fn for_process(secret: &str) -> Self {
        let mut observer = Self::new(
            telemetry::process().clone(),
            secret,
            telemetry::sink().clone(),
        );
        observer.cold = Arc::clone(&COLD);
        observer
    }

    /// An observer of its own (tests): `process` names the lines, `secret`
    /// keys the callers' hashes, `sink` gets the lines, and its first request
    /// is a cold start.
    pub fn new(process: Process, secret: &str, sink: Sink) -> Self {
        let mut key = b"hdoc caller log hash\0".to_vec();
        key.extend_from_slice(secret.as_bytes());
        Self {
            process: Arc::new(process),
            cold: Arc::new(AtomicBool::new(true)),
            callers: Hmac::new_from_slice(&key).expect("HMAC takes a key of any length"),
            sink,
        }
    }

    /// A caller's `sub` as 16 hex digits of a keyed hash: the same caller
    /// has the same hash on a stage, and neither the `sub` nor anything
    /// else about the caller can be read back from it.
    fn caller_hash(&self, sub: &str) -> String {
        let mut mac = self.callers.clone();
        mac.update(sub.as_bytes());
        mac.finalize().into_bytes()[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

/// The request's log line (the JSON shape of every other line, with the
/// request's fields at the top level).
#[derive(Serialize)]
struct RequestLine<'a> {
    timestamp: String,
    level: &'static str,
    message: &'static str,
    /// The route template (`/users/{id}`), never the path.
    route: &'a str,
    method: &'a str,
    status: u16,
    latency_ms: f64,
    /// API Gateway's request id (the `apigw-requestid` answer header).
    request_id: &'a str,
    /// The Lambda invocation's request id.
    #[serde(skip_serializing_if = "Option::is_none")]
    lambda_request_id: Option<&'a str>,
    /// The X-Ray trace id (`1-...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_id: Option<&'a str>,
    cold_start: bool,
    function: &'a str,
    version: &'a str,
    stage: &'a str,
    /// The caller's keyed hash, when the request has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    caller: Option<String>,
    /// The error chain of a 5xx, the detail of a 4xx.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

fn gateway_request_id(request: &Request) -> Option<&str> {
    match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.as_deref(),
        _ => None,
    }
}

/// The layer itself (`axum::middleware::from_fn_with_state`).
pub(crate) async fn observe(
    State(observer): State<Observer>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let cold_start = observer.cold.swap(false, Ordering::Relaxed);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().clone();
    let lambda = request.extensions().get::<lambda_http::Context>();
    let lambda_request_id = lambda.map(|context| context.request_id.clone());
    // The invocation's trace (Lambda's, with the function's segment as
    // parent), else the header API Gateway gives the request.
    let trace = lambda
        .and_then(|context| context.xray_trace_id.as_deref())
        .or_else(|| {
            request
                .headers()
                .get("x-amzn-trace-id")
                .and_then(|value| value.to_str().ok())
        })
        .and_then(TraceHeader::parse);
    let request_id = gateway_request_id(&request).unwrap_or("-").to_owned();
    let caller = Caller::from_extensions(request.extensions())
        .map(|caller| observer.caller_hash(&caller.sub));
    let trace_id = trace.as_ref().map(|trace| trace.root.clone());

    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        trace_id = trace_id.as_deref().unwrap_or("-"),
    );
    let served = xray::with_trace(trace, next.run(request).instrument(span));
    let (response, counts) = telemetry::counted(served).await;

    let latency_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
    let status = response.status().as_u16();
    let failure = response.extensions().get::<Failure>();
    let server_error = status >= 500;
    let process = &observer.process;
    let enabled = if server_error {
        tracing::enabled!(tracing::Level::ERROR)
    } else {
        tracing::enabled!(tracing::Level::INFO)
    };
    if enabled {
        let line = RequestLine {
            timestamp: now_rfc3339(),
            level: if server_error { "ERROR" } else { "INFO" },
            message: "request",
            route: &route,
            method: method.as_str(),
            status,
            latency_ms,
            request_id: &request_id,
            lambda_request_id: lambda_request_id.as_deref(),
            trace_id: trace_id.as_deref(),
            cold_start,
            function: &process.function,
            version: &process.version,
            stage: &process.stage,
            caller,
            error: failure.map(|failure| failure.0.as_str()),
        };
        if let Ok(text) = serde_json::to_string(&line) {
            observer.sink.write_line(&text);
        }
    }

    let mut metrics = emf::Line::new();
    metrics
        .field("Stage", process.stage.as_str())
        .field("Function", process.function.as_str())
        .field("Route", format!("{method} {route}"))
        .field("requestId", request_id.as_str())
        .figure(emf::REQUESTS, 1.0)
        .figure(emf::LATENCY, latency_ms)
        .figure(
            emf::CLIENT_ERRORS,
            f64::from(u8::from((400..500).contains(&status))),
        )
        .figure(emf::SERVER_ERRORS, f64::from(u8::from(server_error)))
        .figure(emf::COLD_STARTS, f64::from(u8::from(cold_start)));
    if let Some(trace_id) = &trace_id {
        metrics.field("traceId", trace_id.as_str());
    }
    for (metric, n) in counts {
        metrics.figure(metric, n as f64);
    }
    metrics.emit_to(&observer.sink);
    response
}

/// Now, to the microsecond, as the other lines' `timestamp`.
fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.replace_microsecond(now.microsecond())
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
