//! The telemetry of a request, read back as CloudWatch and X-Ray would read
//! it: the real API Gateway events of `events/` go through `lambda_http` into
//! the functions' routers under `http::app`'s layer, with the Lambda context
//! `lambda_http` adds, and the log and EMF lines they write are parsed and
//! checked field by field. The DynamoDB and S3 calls are received as the
//! X-Ray daemon receives them: UDP datagrams on a socket of the test's.
//!
//! The real bootstraps' lines (a cold start in a real process) are checked
//! by `hdoc-bench smoke` (bench/src/telemetry.rs).

use hdoc_shared::config::StaticCredentials;
use hdoc_shared::domain::UserId;
use hdoc_shared::http::Observer;
use hdoc_shared::telemetry::xray::{self, DAEMON_HEADER, TraceHeader};
use hdoc_shared::telemetry::{Process, Sink};
use hdoc_shared::{AppState, Config};
use hdoc_tests::TestApp;
use hdoc_tests::api_gateway_event as event;
use lambda_http::tower::ServiceExt;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TRACE: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
const TRACE_ID: &str = "1-5759e988-bd862e3fe1be46a994272793";
/// The `sub` of the events' caller (events/users-*.json).
const SUB: &str = "7f1c2a9e-0000-4000-8000-000000000001";

/// An event as `lambda_http` hands it to the router in Lambda: with the
/// invocation's context (its request id and trace header).
fn invocation(name: &str, lambda_request_id: &str, trace: &str) -> lambda_http::Request {
    let mut request = event(name);
    let mut context = lambda_http::Context::default();
    context.request_id = lambda_request_id.to_owned();
    context.xray_trace_id = Some(trace.to_owned());
    request.extensions_mut().insert(context);
    request
}

fn process() -> Process {
    Process {
        function: "hdoc-backend-dev-users".to_owned(),
        version: "7".to_owned(),
        stage: "dev".to_owned(),
    }
}

/// The log and EMF lines of one sink, parsed; and a log subscriber (this
/// thread's, for the `tracing::enabled!` check of the request's level).
struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn all(&self) -> Vec<Value> {
        self.0
            .lock()
            .expect("lines")
            .iter()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
            .collect()
    }

    /// The request lines (`message` = `request`), in order.
    fn requests(&self) -> Vec<Value> {
        self.all()
            .into_iter()
            .filter(|line| line["message"] == "request")
            .collect()
    }

    /// The EMF lines, in order.
    fn metrics(&self) -> Vec<Value> {
        self.all()
            .into_iter()
            .filter(|line| line.get("_aws").is_some())
            .collect()
    }
}

fn observed() -> (Sink, Lines, tracing::subscriber::DefaultGuard) {
    let (sink, lines) = Sink::memory();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_writer(sink.clone())
        .with_max_level(tracing::Level::INFO)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    (sink, Lines(lines), guard)
}

/// The figures of an EMF line by metric name, each checked to be declared
/// under the line's directives with its namespace and dimensions.
fn figures(line: &Value) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for directive in line["_aws"]["CloudWatchMetrics"]
        .as_array()
        .expect("directives")
    {
        assert_eq!(directive["Namespace"], "hdoc", "{line}");
        for set in directive["Dimensions"].as_array().expect("dimension sets") {
            for dimension in set.as_array().expect("a set") {
                let name = dimension.as_str().expect("a dimension name");
                assert!(
                    line[name].is_string(),
                    "dimension {name} has no value: {line}"
                );
            }
        }
        for metric in directive["Metrics"].as_array().expect("metrics") {
            let name = metric["Name"].as_str().expect("a name").to_owned();
            let value = line[&name]
                .as_f64()
                .unwrap_or_else(|| panic!("{name}: {line}"));
            out.push((name, value));
        }
    }
    assert!(line["_aws"]["Timestamp"].as_i64().is_some(), "{line}");
    out
}

fn figure(line: &Value, name: &str) -> Option<f64> {
    figures(line)
        .into_iter()
        .find(|(metric, _)| metric == name)
        .map(|(_, value)| value)
}

#[tokio::test]
async fn each_request_writes_one_log_line_and_one_metrics_line() {
    let app = TestApp::spawn().await;
    let (sink, lines, _guard) = observed();
    let observer = Observer::new(process(), "a stage's secret", sink);
    let service = |observer: &Observer| {
        hdoc_shared::http::app_observed(users::routes(), app.state().clone(), observer.clone())
    };

    let steps = [
        ("users-create.json", "lambda-1", 201),
        ("users-get.json", "lambda-2", 200),
        // By an admin: another caller.
        ("users-update.json", "lambda-3", 200),
        // The first caller again: its profile exists.
        ("users-create.json", "lambda-4", 409),
    ];
    for (name, lambda_id, status) in steps {
        let response = service(&observer)
            .oneshot(invocation(name, lambda_id, TRACE))
            .await
            .expect("infallible");
        assert_eq!(response.status().as_u16(), status, "{name}");
    }
    // A path no route has.
    let mut unknown = invocation("users-get.json", "lambda-5", TRACE);
    *unknown.uri_mut() = "/nothing-here".parse().expect("uri");
    let response = service(&observer)
        .oneshot(unknown)
        .await
        .expect("infallible");
    assert_eq!(response.status().as_u16(), 404);

    let requests = lines.requests();
    let metrics = lines.metrics();
    assert_eq!(requests.len(), 5, "one log line per request: {requests:#?}");
    assert_eq!(metrics.len(), 5, "one EMF line per request: {metrics:#?}");

    // The first: a cold start, the caller's profile made.
    let create = &requests[0];
    for (field, value) in [
        ("level", Value::from("INFO")),
        ("route", "/users".into()),
        ("method", "POST".into()),
        ("status", 201.into()),
        ("request_id", "JKJaXmPLvHcESHA=".into()),
        ("lambda_request_id", "lambda-1".into()),
        ("trace_id", TRACE_ID.into()),
        ("cold_start", true.into()),
        ("function", "hdoc-backend-dev-users".into()),
        ("version", "7".into()),
        ("stage", "dev".into()),
    ] {
        assert_eq!(create[field], value, "{field} of {create}");
    }
    assert!(
        create["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{create}"
    );
    // RFC 3339 in UTC to the microsecond, as tracing's own lines.
    let timestamp = create["timestamp"].as_str().expect("a timestamp");
    let fraction = timestamp
        .trim_end_matches('Z')
        .rsplit_once('.')
        .map_or(0, |(_, digits)| digits.len());
    assert!(timestamp.ends_with('Z') && fraction <= 6, "{timestamp}");
    assert!(create.get("error").is_none(), "{create}");
    // The caller is an opaque hash: 16 hex digits, the same for the same
    // caller, and nothing of the caller or its token on the line.
    let caller = create["caller"].as_str().expect("a caller hash");
    assert_eq!(caller.len(), 16);
    assert!(caller.chars().all(|c| c.is_ascii_hexdigit()), "{caller}");
    assert_eq!(
        requests[3]["caller"], caller,
        "the same caller, the same hash"
    );
    assert!(
        requests[2]["caller"]
            .as_str()
            .is_some_and(|other| other != caller),
        "another caller, another hash"
    );
    assert_eq!(
        figure(&metrics[3], "ProfilesCreated"),
        None,
        "a 409 made nothing"
    );
    assert!(
        requests[1].get("caller").is_none(),
        "a public GET has no caller"
    );
    for line in lines.all() {
        let text = line.to_string();
        for secret in [SUB, "Bearer", "eyJ", "alice@"] {
            assert!(!text.contains(secret), "{secret} is logged: {text}");
        }
    }

    // Its metrics: per route, a cold start, the profile counted.
    let emf = &metrics[0];
    assert_eq!(emf["Stage"], "dev");
    assert_eq!(emf["Function"], "hdoc-backend-dev-users");
    assert_eq!(emf["Route"], "POST /users");
    assert_eq!(emf["requestId"], "JKJaXmPLvHcESHA=");
    assert_eq!(emf["traceId"], TRACE_ID);
    let directives = emf["_aws"]["CloudWatchMetrics"]
        .as_array()
        .expect("directives");
    assert_eq!(
        directives[0]["Dimensions"],
        serde_json::json!([["Stage", "Function", "Route"], ["Stage", "Function"]])
    );
    assert_eq!(directives[1]["Dimensions"], serde_json::json!([["Stage"]]));
    assert_eq!(figure(emf, "Requests"), Some(1.0));
    assert_eq!(figure(emf, "Latency"), create["latency_ms"].as_f64());
    assert_eq!(figure(emf, "4xx"), Some(0.0));
    assert_eq!(figure(emf, "5xx"), Some(0.0));
    assert_eq!(figure(emf, "ColdStarts"), Some(1.0));
    assert_eq!(figure(emf, "ProfilesCreated"), Some(1.0));

    // After it: warm, and no business count where nothing was made.
    let get = &requests[1];
    assert_eq!(
        get["route"], "/users/{id}",
        "the route template, not /users/alice"
    );
    assert_eq!(get["cold_start"], false);
    assert_eq!(get["lambda_request_id"], "lambda-2");
    assert_eq!(metrics[1]["Route"], "GET /users/{id}");
    assert_eq!(figure(&metrics[1], "ColdStarts"), Some(0.0));
    assert_eq!(figure(&metrics[1], "ProfilesCreated"), None);
    assert_eq!(
        metrics[1]["_aws"]["CloudWatchMetrics"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert!(requests[1..].iter().all(|line| line["cold_start"] == false));

    // A refusal: its detail on the line, counted as a 4xx of no route.
    let unknown = &requests[4];
    assert_eq!(unknown["route"], "unmatched");
    assert_eq!(unknown["status"], 404);
    assert_eq!(unknown["error"], "no such resource");
    assert_eq!(metrics[4]["Route"], "GET unmatched");
    assert_eq!(figure(&metrics[4], "4xx"), Some(1.0));
    assert_eq!(figure(&metrics[4], "5xx"), Some(0.0));
}

#[tokio::test]
async fn a_5xx_logs_its_error_chain_at_error_level() {
    // A table nobody serves: every call is refused, the SDK retries, the
    // store calls it unavailable.
    let mut config = Config::from_lookup(|key| (key == "HDOC_TABLE").then(|| "gone".to_owned()));
    config.dynamodb_endpoint = Some("http://127.0.0.1:9".to_owned());
    config.static_credentials = Some(StaticCredentials {
        access_key: "AKIDEXAMPLE".to_owned(),
        secret_key: "secret".to_owned(),
        region: "us-east-1".to_owned(),
    });
    let state = AppState::connect(config).await;
    let (sink, lines, _guard) = observed();
    let observer = Observer::new(process(), "secret", sink);
    let response = hdoc_shared::http::app_observed(users::routes(), state, observer)
        .oneshot(invocation("users-get.json", "lambda-1", TRACE))
        .await
        .expect("infallible");
    assert_eq!(response.status().as_u16(), 503);

    let requests = lines.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let line = &requests[0];
    assert_eq!(line["level"], "ERROR");
    assert_eq!(line["status"], 503);
    let error = line["error"].as_str().expect("the error chain");
    assert!(
        error.starts_with("storage is unavailable; try again shortly: "),
        "{error}"
    );
    // The cause and what caused it, not only the answer's words.
    assert!(error.matches(": ").count() >= 2, "{error}");
    let metrics = lines.metrics();
    assert_eq!(figure(&metrics[0], "5xx"), Some(1.0));
    assert_eq!(figure(&metrics[0], "4xx"), Some(0.0));
}

/// A UDP socket playing the X-Ray daemon.
struct Daemon(tokio::net::UdpSocket);

impl Daemon {
    async fn start() -> (Self, String) {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("udp");
        let address = socket.local_addr().expect("address").to_string();
        (Self(socket), address)
    }

    /// The next segment document, its header checked; `None` if none comes soon.
    async fn next(&self) -> Option<Value> {
        let mut buffer = vec![0; 65_536];
        let received = tokio::time::timeout(Duration::from_secs(2), self.0.recv(&mut buffer));
        let size = received.await.ok()?.expect("recv");
        let text = std::str::from_utf8(&buffer[..size]).expect("utf-8");
        let (header, document) = text.split_once('\n').expect("a header line");
        let header: Value = serde_json::from_str(header).expect("a JSON header");
        assert_eq!(header, serde_json::json!({"format": "json", "version": 1}));
        assert_eq!(
            serde_json::from_str::<Value>(DAEMON_HEADER).expect("json"),
            header
        );
        Some(serde_json::from_str(document).expect("a JSON segment"))
    }
}

fn assert_subsegment(
    segment: &Value,
    name: &str,
    operation: &str,
    resource: (&str, &str),
    status: u16,
) {
    assert_eq!(segment["name"], name, "{segment}");
    assert_eq!(segment["type"], "subsegment");
    assert_eq!(segment["namespace"], "aws");
    assert_eq!(segment["trace_id"], TRACE_ID);
    assert_eq!(segment["parent_id"], "53995c3f42cd8ad8");
    assert_eq!(segment["aws"]["operation"], operation, "{segment}");
    assert_eq!(segment["aws"][resource.0], resource.1, "{segment}");
    assert_eq!(segment["aws"]["retries"], 0);
    let id = segment["id"].as_str().expect("an id");
    assert_eq!(id.len(), 16);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    let start = segment["start_time"].as_f64().expect("start");
    let end = segment["end_time"].as_f64().expect("end");
    assert!(start > 1.7e9 && start <= end, "{segment}");
    assert_eq!(segment["http"]["response"]["status"], status, "{segment}");
    assert!(segment.get("fault").is_none() && segment.get("error").is_none());
}

#[tokio::test]
async fn dynamodb_and_s3_calls_reach_the_xray_daemon_as_subsegments() {
    let app = TestApp::spawn().await;
    let (daemon, address) = Daemon::start().await;
    let mut config = (*app.state().config).clone();
    config.xray_daemon = Some(address);
    let state = AppState::connect(config.clone()).await.with_photos();
    app.user(SUB, "alice").await;

    // A request in a sampled invocation: its GetItem, under the function's segment.
    let (sink, _lines, _guard) = observed();
    let observer = Observer::new(process(), "secret", sink);
    let response = hdoc_shared::http::app_observed(users::routes(), state.clone(), observer)
        .oneshot(invocation("users-get.json", "lambda-1", TRACE))
        .await
        .expect("infallible");
    assert_eq!(response.status().as_u16(), 200);
    let segment = daemon.next().await.expect("a subsegment of the GetItem");
    assert_subsegment(
        &segment,
        "DynamoDB",
        "GetItem",
        ("table_name", &config.table),
        200,
    );
    assert!(segment["aws"]["request_id"].is_string(), "{segment}");

    // An S3 call of a sampled job (the purge deletes photos): its bucket.
    let photos = state.photos().expect("photos");
    let trace = TraceHeader::parse(TRACE);
    xray::with_trace(trace.clone(), photos.delete("reviews/none/x.jpg"))
        .await
        .expect("deleted");
    let segment = daemon
        .next()
        .await
        .expect("a subsegment of the DeleteObject");
    let bucket = config.bucket.as_deref().expect("a bucket");
    assert_subsegment(&segment, "S3", "DeleteObject", ("bucket_name", bucket), 204);

    // A presigned upload is signed, never sent: no subsegment; nor is a call
    // of an invocation that is not sampled.
    let request = hdoc_shared::http::extract::parse_json(
        br#"{"contentType":"image/jpeg","contentLength":1000}"#,
    )
    .expect("a photo request");
    xray::with_trace(trace, photos.presign("reviews/none/y.jpg", &request))
        .await
        .expect("presigned");
    let unsampled = TraceHeader::parse(&TRACE.replace("Sampled=1", "Sampled=0"));
    xray::with_trace(
        unsampled,
        state.repo.user(&UserId::parse("alice").expect("id")),
    )
    .await
    .expect("alice");
    assert_eq!(daemon.next().await, None, "nothing more was sent");
}
