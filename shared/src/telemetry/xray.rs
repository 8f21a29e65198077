//! X-Ray subsegments for every DynamoDB and S3 call, without an X-Ray SDK
//! (there is none for Rust): an interceptor on the SDK clients times each
//! call and sends a subsegment document to the X-Ray daemon that Lambda runs
//! beside the function (`AWS_XRAY_DAEMON_ADDRESS`, UDP), parented on the
//! function's segment (`Parent` of the invocation's trace header).
//!
//! Nothing is sent unless the invocation is sampled (`Sampled=1`) and a
//! daemon address is set: in `hdoc-local` and in tests without a daemon the
//! interceptor only reads the trace header. The send is one non-blocking
//! UDP datagram; its failure is ignored (traces are best effort).

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use serde_json::{Map, Value, json};
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::Arc;
use std::time::SystemTime;

/// The first line of every datagram the daemon accepts.
pub const DAEMON_HEADER: &str = r#"{"format": "json", "version": 1}"#;

/// An X-Ray trace header (`Root=1-...;Parent=...;Sampled=1`), as Lambda
/// gives it to an invocation (`_X_AMZN_TRACE_ID`, the context's
/// `xray_trace_id`) and API Gateway to a request (`X-Amzn-Trace-Id`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceHeader {
    /// The trace id (`1-5759e988-bd862e3fe1be46a994272793`).
    pub root: String,
    /// The segment that subsegments hang under: the function's, in Lambda.
    pub parent: Option<String>,
    pub sampled: bool,
}

impl TraceHeader {
    /// Parses a trace header; `None` without a `Root`.
    pub fn parse(header: &str) -> Option<Self> {
        let mut root = None;
        let mut parent = None;
        let mut sampled = false;
        for part in header.split(';') {
            let Some((key, value)) = part.trim().split_once('=') else {
                continue;
            };
            match key.trim() {
                "Root" => root = Some(value.trim().to_owned()),
                "Parent" => parent = Some(value.trim().to_owned()),
                "Sampled" => sampled = value.trim() == "1",
                _ => {}
            }
        }
        Some(Self {
            root: root.filter(|root| !root.is_empty())?,
            parent,
            sampled,
        })
    }
}

tokio::task_local! {
    /// The trace of the request being served (its Lambda context's).
    static TRACE: Option<TraceHeader>;
}

/// Runs `future` as part of `trace`: the SDK calls it makes are its subsegments.
pub async fn with_trace<F: Future>(trace: Option<TraceHeader>, future: F) -> F::Output {
    TRACE.scope(trace, future).await
}

/// The trace the current call belongs to: the request's (see [`with_trace`]),
/// else the invocation's, which `lambda_runtime` sets in `_X_AMZN_TRACE_ID`
/// (the background functions).
pub fn current() -> Option<TraceHeader> {
    match TRACE.try_with(Clone::clone) {
        Ok(trace) => trace,
        Err(_) => std::env::var("_X_AMZN_TRACE_ID")
            .ok()
            .as_deref()
            .and_then(TraceHeader::parse),
    }
}

/// The X-Ray daemon: where subsegments are sent.
#[derive(Clone, Debug)]
pub struct Daemon {
    addr: SocketAddr,
    socket: Arc<UdpSocket>,
}

impl Daemon {
    /// The daemon at `address` as `AWS_XRAY_DAEMON_ADDRESS` writes it:
    /// `host:port`, or `tcp:host:port udp:host:port`. `None` if it does not
    /// resolve or no socket can be opened (then nothing is traced).
    pub fn connect(address: &str) -> Option<Self> {
        let udp = address
            .split_whitespace()
            .find_map(|part| part.strip_prefix("udp:"))
            .unwrap_or(address)
            .trim();
        let addr = udp.to_socket_addrs().ok()?.next()?;
        let local: SocketAddr = if addr.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            ([0u16; 8], 0).into()
        };
        let socket = UdpSocket::bind(local).ok()?;
        socket.set_nonblocking(true).ok()?;
        Some(Self {
            addr,
            socket: Arc::new(socket),
        })
    }

    /// Sends one segment document (a datagram; a failure is only logged).
    pub fn send(&self, document: &Value) {
        let datagram = format!("{DAEMON_HEADER}\n{document}");
        if let Err(err) = self.socket.send_to(datagram.as_bytes(), self.addr) {
            tracing::debug!(error = %err, "sending a subsegment to the X-Ray daemon failed");
        }
    }
}

/// The SDK interceptor that makes each call of a client a subsegment named
/// after its service, with the operation and the table or bucket.
#[derive(Clone, Debug)]
pub struct Subsegments {
    daemon: Daemon,
    /// `DynamoDB` or `S3`, as X-Ray's own SDKs name them.
    service: &'static str,
    /// `table_name` or `bucket_name`, and its value.
    resource: (&'static str, String),
}

impl Subsegments {
    /// For a DynamoDB client of `table`.
    pub fn dynamodb(daemon: Daemon, table: &str) -> Self {
        Self {
            daemon,
            service: "DynamoDB",
            resource: ("table_name", table.to_owned()),
        }
    }

    /// For an S3 client of `bucket`.
    pub fn s3(daemon: Daemon, bucket: &str) -> Self {
        Self {
            daemon,
            service: "S3",
            resource: ("bucket_name", bucket.to_owned()),
        }
    }
}

/// A traced call in flight: kept in the call's config bag.
#[derive(Clone, Debug)]
struct Call {
    trace_id: String,
    parent_id: String,
    started: SystemTime,
    attempts: u32,
}

impl Storable for Call {
    type Storer = StoreReplace<Self>;
}

fn seconds(time: SystemTime) -> f64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map(|since| since.as_secs_f64())
        .unwrap_or_default()
}

/// A new segment id: 16 hex digits.
fn segment_id() -> String {
    format!("{:016x}", uuid::Uuid::new_v4().as_u128() as u64)
}

impl Intercept for Subsegments {
    fn name(&self) -> &'static str {
        "XRaySubsegments"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(TraceHeader {
            root,
            parent: Some(parent),
            sampled: true,
        }) = current()
        {
            cfg.interceptor_state().store_put(Call {
                trace_id: root,
                parent_id: parent,
                started: SystemTime::now(),
                attempts: 0,
            });
        }
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(call) = cfg.load::<Call>() {
            let mut call = call.clone();
            call.attempts += 1;
            cfg.interceptor_state().store_put(call);
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(call) = cfg.load::<Call>() else {
            return Ok(());
        };
        let response = context.response();
        let failed = matches!(context.output_or_error(), Some(Err(_)));
        // A presigned request (an upload URL) is signed, never sent.
        if response.is_none() && !failed {
            return Ok(());
        }
        let operation = cfg.load::<Metadata>().map_or("unknown", Metadata::name);
        let status = response.map(|response| response.status().as_u16());
        let mut aws = Map::new();
        aws.insert("operation".into(), operation.into());
        aws.insert(self.resource.0.into(), self.resource.1.clone().into());
        aws.insert("retries".into(), call.attempts.saturating_sub(1).into());
        if let Some(id) = response.and_then(|response| {
            let headers = response.headers();
            headers
                .get("x-amzn-requestid")
                .or_else(|| headers.get("x-amz-request-id"))
        }) {
            aws.insert("request_id".into(), id.into());
        }
        let mut document = json!({
            "name": self.service,
            "id": segment_id(),
            "trace_id": call.trace_id,
            "parent_id": call.parent_id,
            "type": "subsegment",
            "namespace": "aws",
            "start_time": seconds(call.started),
            "end_time": seconds(SystemTime::now()),
            "aws": aws,
        });
        if let Some(status) = status {
            document["http"] = json!({"response": {"status": status}});
        }
        // X-Ray's flags: error for a 4xx (throttle for a 429 or DynamoDB's
        // throttling 400s), fault for a 5xx or no answer at all.
        let error = if failed {
            format!("{:?}", context.output_or_error())
        } else {
            String::new()
        };
        let throttled = status == Some(429)
            || error.contains("Throttl")
            || error.contains("ProvisionedThroughputExceeded");
        match status {
            Some(400..=499) => {
                document["error"] = true.into();
                if throttled {
                    document["throttle"] = true.into();
                }
            }
            Some(500..) | None => document["fault"] = true.into(),
            _ => {}
        }
        self.daemon.send(&document);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_trace_headers_parse() {
        let header = TraceHeader::parse(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        )
        .expect("a header");
        assert_eq!(header.root, "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(header.parent.as_deref(), Some("53995c3f42cd8ad8"));
        assert!(header.sampled);
        // API Gateway's header to the integration: a root only, not sampled.
        let gateway =
            TraceHeader::parse("Root=1-67891233-abcdef012345678912345678").expect("a header");
        assert_eq!(gateway.parent, None);
        assert!(!gateway.sampled);
        assert_eq!(TraceHeader::parse("Parent=1;Sampled=1"), None);
        assert_eq!(TraceHeader::parse(""), None);
    }

    #[test]
    fn the_daemon_address_may_name_both_protocols() {
        let daemon = Daemon::connect("tcp:127.0.0.1:2000 udp:127.0.0.1:2001").expect("daemon");
        assert_eq!(daemon.addr, "127.0.0.1:2001".parse().expect("addr"));
        let daemon = Daemon::connect("127.0.0.1:2000").expect("daemon");
        assert_eq!(daemon.addr, "127.0.0.1:2000".parse().expect("addr"));
        assert!(Daemon::connect("not an address").is_none());
    }
}
