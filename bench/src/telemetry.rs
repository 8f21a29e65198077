//! What the smoke test reads of the bootstraps' telemetry, as CloudWatch and
//! X-Ray would: every line of their output (a JSON document each), the
//! request lines and their EMF lines field by field (a cold start on each
//! process's first request only), the jobs' metrics, and the subsegments
//! the functions send to the X-Ray daemon, which a UDP socket here plays.

use crate::runtime::{TRACE_PARENT, TRACE_ROOT};
use crate::template::{Function, STAGE};
use hdoc_shared::telemetry::emf;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A UDP socket playing the X-Ray daemon: it keeps every datagram.
pub struct Daemon {
    pub address: String,
    datagrams: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Daemon {
    pub async fn start() -> Result<Self, String> {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("the X-Ray daemon's socket: {e}"))?;
        let address = socket.local_addr().map_err(|e| e.to_string())?.to_string();
        let datagrams = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&datagrams);
        let task = tokio::spawn(async move {
            let mut buffer = vec![0; 65_536];
            while let Ok(size) = socket.recv(&mut buffer).await {
                let text = String::from_utf8_lossy(&buffer[..size]).into_owned();
                kept.lock().unwrap_or_else(|p| p.into_inner()).push(text);
            }
        });
        Ok(Self {
            address,
            datagrams,
            task,
        })
    }

    /// The subsegments received, each checked to be a daemon datagram of this
    /// trace; as (service, operation).
    pub fn subsegments(&self) -> Result<Vec<(String, String)>, String> {
        let datagrams = self.datagrams.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for datagram in datagrams.iter() {
            let (header, document) = datagram
                .split_once('\n')
                .ok_or(format!("a datagram without a header line: {datagram}"))?;
            let header: Value =
                serde_json::from_str(header).map_err(|e| format!("{e}: {header}"))?;
            if header != serde_json::json!({"format": "json", "version": 1}) {
                return Err(format!("the daemon's header is not {header}"));
            }
            let segment: Value =
                serde_json::from_str(document).map_err(|e| format!("{e}: {document}"))?;
            let expect = |field: &str, value: &str| {
                if segment[field] == value {
                    Ok(())
                } else {
                    Err(format!("a subsegment's {field} is not {value}: {segment}"))
                }
            };
            expect("type", "subsegment")?;
            expect("trace_id", TRACE_ROOT)?;
            expect("parent_id", TRACE_PARENT)?;
            let name = segment["name"].as_str().unwrap_or_default().to_owned();
            let operation = segment["aws"]["operation"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let resource = match name.as_str() {
                "DynamoDB" => &segment["aws"]["table_name"],
                "S3" => &segment["aws"]["bucket_name"],
                _ => return Err(format!("a subsegment of no known service: {segment}")),
            };
            if !resource.is_string() || operation.is_empty() {
                return Err(format!(
                    "a subsegment without its operation or resource: {segment}"
                ));
            }
            out.push((name, operation));
        }
        Ok(out)
    }
}

/// The lines of a bootstrap's output, each parsed: a line that is not a
/// JSON object is an error (CloudWatch Logs Insights could not read it).
fn lines(log: &Path) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(log).map_err(|e| format!("{}: {e}", log.display()))?;
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| match serde_json::from_str::<Value>(line) {
            Ok(value) if value.is_object() => Ok(value),
            _ => Err(format!(
                "{}: a line that is not JSON: {line}",
                log.display()
            )),
        })
        .collect()
}

fn figure(line: &Value, metric: emf::Metric) -> Option<f64> {
    let declared = line["_aws"]["CloudWatchMetrics"]
        .as_array()?
        .iter()
        .flat_map(|directive| directive["Metrics"].as_array().into_iter().flatten())
        .any(|declared| declared["Name"] == metric.name);
    declared.then(|| line[metric.name].as_f64()).flatten()
}

/// Checks one function's output; what it found, in a few words.
pub fn check_function(
    function: &Function,
    log: &Path,
    route_keys: &BTreeSet<String>,
) -> Result<String, String> {
    let name = &function.name;
    let lines = lines(log)?;
    let requests: Vec<&Value> = lines
        .iter()
        .filter(|line| line["message"] == "request")
        .collect();
    let metrics: Vec<&Value> = lines
        .iter()
        .filter(|line| line.get("_aws").is_some())
        .collect();
    let fail = |what: String| Err(format!("{name}: {what}"));

    for (i, line) in requests.iter().enumerate() {
        let expected = [
            ("function", Value::from(name.as_str())),
            ("version", "$LATEST".into()),
            ("stage", STAGE.into()),
            ("trace_id", TRACE_ROOT.into()),
            // The process's first request only.
            ("cold_start", (i == 0).into()),
        ];
        for (field, value) in expected {
            if line[field] != value {
                return fail(format!("request line {i}: {field} is not {value}: {line}"));
            }
        }
        let route_key = format!(
            "{} {}",
            line["method"].as_str().unwrap_or_default(),
            line["route"].as_str().unwrap_or_default()
        );
        if !route_keys.contains(&route_key) {
            return fail(format!(
                "request line {i}: {route_key} is no event's routeKey"
            ));
        }
        let numbers = line["status"].is_u64() && line["latency_ms"].is_f64();
        let ids = line["request_id"].is_string() && line["lambda_request_id"].is_string();
        if !numbers || !ids {
            return fail(format!("request line {i} lacks a field: {line}"));
        }
        // Its metrics line: the same route, the same cold start.
        let emf = metrics
            .iter()
            .filter(|emf| figure(emf, emf::REQUESTS).is_some())
            .nth(i)
            .ok_or(format!("{name}: no EMF line for request {i}"))?;
        let cold = figure(emf, emf::COLD_STARTS) == Some(if i == 0 { 1.0 } else { 0.0 });
        if emf["Route"] != route_key.as_str() || emf["Function"] != name.as_str() || !cold {
            return fail(format!("request {i}'s EMF line: {emf} for {line}"));
        }
    }
    let request_metrics = metrics
        .iter()
        .filter(|emf| figure(emf, emf::REQUESTS).is_some())
        .count();
    if request_metrics != requests.len() {
        return fail(format!(
            "{} request lines, {request_metrics} request EMF lines",
            requests.len()
        ));
    }
    // Every line a request or a job logs carries its trace: a request's in
    // its span (HTTP functions), an invocation's in lambda_runtime's span.
    for line in &lines {
        if line["message"] == "request" || line.get("_aws").is_some() {
            continue;
        }
        let Some(span) = line.get("span") else {
            continue;
        };
        let traced = span["trace_id"] == TRACE_ROOT
            || span["xrayTraceId"]
                .as_str()
                .is_some_and(|header| header.contains(TRACE_ROOT));
        if !traced {
            return fail(format!("a line of a request without its trace id: {line}"));
        }
    }
    Ok(format!(
        "{} requests, {} EMF lines",
        requests.len(),
        metrics.len()
    ))
}

/// The figures the background functions must have written in the smoke
/// script, each with its least value.
pub fn expected_job_metrics(binary: &str) -> &'static [(emf::Metric, f64)] {
    match binary {
        // alice's purge: her profile was deleted with things of hers left.
        "purge-user" => &[(emf::USERS_PURGED, 1.0), (emf::THINGS_PURGED, 0.0)],
        "photo-uploaded" => &[(emf::PHOTOS_JOINED, 1.0)],
        "reconcile" => &[(emf::AGGREGATES_REPAIRED, 0.0), (emf::ITEMS_SCANNED, 1.0)],
        _ => &[],
    }
}

/// Checks that `log` has a metrics line for each of `wanted` on this stage
/// and function, with at least its least value.
pub fn check_job(
    function: &Function,
    log: &Path,
    wanted: &[(emf::Metric, f64)],
) -> Result<(), String> {
    let lines = lines(log)?;
    for (metric, least) in wanted {
        let found = lines.iter().find_map(|line| {
            let value = figure(line, *metric)?;
            (line["Stage"] == STAGE && line["Function"] == function.name.as_str()).then_some(value)
        });
        match found {
            None => {
                return Err(format!(
                    "{}: no EMF line with {}",
                    function.name, metric.name
                ));
            }
            Some(value) if value < *least => {
                return Err(format!("{}: {} is {value}", function.name, metric.name));
            }
            Some(_) => {}
        }
    }
    Ok(())
}
