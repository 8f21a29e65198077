//! A fault-injecting DynamoDB endpoint: a proxy in front of a real engine
//! (the embedded one or moto) that answers some requests the way DynamoDB
//! does under load or failure, on the wire as DynamoDB would.
//!
//! Per operation (`X-Amz-Target`) and from a seed, it can answer
//! `ThrottlingException` / `ProvisionedThroughputExceededException` (400),
//! `InternalServerError` (500), `TransactionCanceledException` with
//! `TransactionConflict` reasons (transactions) or
//! `TransactionConflictException` (single-item writes), add latency, reset
//! the connection before forwarding, or forward a write and then lose its
//! answer (reset after the engine applied it). Like DynamoDB it honours
//! `ClientRequestToken` on `TransactWriteItems` for 10 minutes: a repeat of
//! an applied transaction answers its first answer and applies nothing.
//! It can also go down (connections refused) and come back on the same port.
//!
//! It speaks HTTP/1.1 itself (keep-alive, `Content-Length` bodies, which is
//! what the SDK sends) so that a reset is a real reset.

use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How long DynamoDB remembers a `ClientRequestToken`.
const TOKEN_LIFETIME: Duration = Duration::from_secs(600);

/// What to inject, as chances per request (0.0 to 1.0), checked in this
/// order; the rest of the requests are forwarded untouched.
#[derive(Clone, Debug, Default)]
pub struct Mix {
    pub name: &'static str,
    /// The operations faults apply to (`PutItem`, `TransactWriteItems`...);
    /// empty: every operation.
    pub operations: Vec<&'static str>,
    pub throttle: f64,
    pub internal_error: f64,
    /// Transactions cancelled for a conflict (and single-item writes refused
    /// with `TransactionConflictException`).
    pub conflict: f64,
    /// Connections reset before the request reaches the engine.
    pub reset: f64,
    /// Writes applied by the engine whose answer is lost (connection reset).
    pub lost_answer: f64,
    /// Latency added to every request, up to this much.
    pub latency: Duration,
}

/// An answer to replay: when it was given, its content type and body.
type Answer = (Instant, String, Vec<u8>);

/// What the proxy did, by kind.
pub type Counts = BTreeMap<&'static str, u64>;

struct State {
    upstream: String,
    client: reqwest::Client,
    mix: Mutex<Mix>,
    rng: Mutex<u64>,
    counts: Mutex<Counts>,
    /// Applied transactions by `ClientRequestToken`: their answer and when.
    tokens: Mutex<HashMap<String, Answer>>,
    /// Whether the endpoint is up; while down, every request is answered
    /// with a TCP reset.
    up: AtomicBool,
    /// Requests that arrived while it was down.
    refused: AtomicU64,
}

/// A running fault-injecting proxy.
pub struct FaultProxy {
    pub endpoint: String,
    state: Arc<State>,
    server: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

const WRITES: &[&str] = &[
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "TransactWriteItems",
    "BatchWriteItem",
];

fn next(seed: &mut u64) -> u64 {
    // SplitMix64: small, seedable, good enough to pick faults.
    *seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *seed;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A fault's answer: status and DynamoDB's JSON error body.
fn error(kind: &str, message: &str) -> Value {
    json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": message})
}

enum Action {
    Answer(u16, Value),
    Reset,
    Forward { lose_answer: bool },
}

impl State {
    fn chance(&self) -> f64 {
        let mut seed = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        (next(&mut seed) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn count(&self, kind: &'static str) {
        *self
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(kind)
            .or_default() += 1;
    }

    fn decide(&self, operation: &str, body: &[u8]) -> (Duration, Action) {
        let mix = self.mix.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let latency = if mix.latency.is_zero() {
            Duration::ZERO
        } else {
            mix.latency.mul_f64(self.chance())
        };
        let applies = mix.operations.is_empty() || mix.operations.contains(&operation);
        if !applies {
            return (latency, Action::Forward { lose_answer: false });
        }
        let write = WRITES.contains(&operation);
        let action = if self.chance() < mix.throttle {
            self.count("throttled");
            let kind = if self.chance() < 0.5 {
                "ThrottlingException"
            } else {
                "ProvisionedThroughputExceededException"
            };
            Action::Answer(
                400,
                error(kind, "Rate of requests exceeds the allowed throughput."),
            )
        } else if self.chance() < mix.internal_error {
            self.count("internal error");
            Action::Answer(500, error("InternalServerError", "Internal server error"))
        } else if write && self.chance() < mix.conflict {
            self.count("conflict");
            Action::Answer(400, conflict(operation, body))
        } else if self.chance() < mix.reset {
            self.count("reset");
            Action::Reset
        } else if write && self.chance() < mix.lost_answer {
            Action::Forward { lose_answer: true }
        } else {
            Action::Forward { lose_answer: false }
        };
        (latency, action)
    }

    /// Sends the request on to the engine; a repeated transaction token is
    /// answered from memory, as DynamoDB does.
    async fn forward(
        &self,
        operation: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> (u16, String, Vec<u8>) {
        let token = (operation == "TransactWriteItems")
            .then(|| serde_json::from_slice::<Value>(&body).ok())
            .flatten()
            .and_then(|v| v["ClientRequestToken"].as_str().map(str::to_owned));
        if let Some(token) = &token {
            let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, content_type, answer)) = tokens.get(token)
                && at.elapsed() < TOKEN_LIFETIME
            {
                self.count("token replayed");
                return (200, content_type.clone(), answer.clone());
            }
        }
        let mut request = self.client.post(&self.upstream).body(body);
        for (name, value) in headers {
            if !["host", "content-length", "connection"].contains(&name.as_str()) {
                request = request.header(name, value);
            }
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let content_type = response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("application/x-amz-json-1.0")
                    .to_owned();
                let answer = response
                    .bytes()
                    .await
                    .map(|b| b.to_vec())
                    .unwrap_or_default();
                if let (Some(token), 200) = (token, status) {
                    self.tokens
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(
                            token,
                            (Instant::now(), content_type.clone(), answer.clone()),
                        );
                }
                (status, content_type, answer)
            }
            Err(_) => {
                let body = error("InternalServerError", "the engine did not answer");
                (
                    500,
                    "application/x-amz-json-1.0".to_owned(),
                    body.to_string().into_bytes(),
                )
            }
        }
    }
}

/// The cancellation of a transaction for a conflict, with one reason per
/// item as DynamoDB gives them; for a single-item write, its exception.
fn conflict(operation: &str, body: &[u8]) -> Value {
    if operation != "TransactWriteItems" {
        return error(
            "TransactionConflictException",
            "Transaction is ongoing for the item",
        );
    }
    let items = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["TransactItems"].as_array().map(Vec::len))
        .unwrap_or(1);
    let mut reasons = vec![json!({"Code": "None"}); items];
    reasons[0] =
        json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"});
    let codes: Vec<&str> = reasons
        .iter()
        .map(|r| r["Code"].as_str().unwrap_or("None"))
        .collect();
    json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{}]", codes.join(", ")),
        "CancellationReasons": reasons,
    })
}

/// One HTTP/1.1 request off a connection: its headers and body; `None` at
/// the end of the connection.
async fn read_request(
    reader: &mut BufReader<TcpStream>,
) -> Option<(Vec<(String, String)>, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line).await.ok()?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed.split_once(':')?;
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_owned());
        if name == "content-length" {
            length = value.parse().ok()?;
        }
        headers.push((name, value));
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    Some((headers, body))
}

async fn serve_connection(state: Arc<State>, stream: TcpStream) {
    let mut reader = BufReader::new(stream);
    while let Some((headers, body)) = read_request(&mut reader).await {
        if !state.up.load(Ordering::SeqCst) {
            state.refused.fetch_add(1, Ordering::SeqCst);
            return reset(reader.into_inner());
        }
        let operation = headers
            .iter()
            .find(|(name, _)| name == "x-amz-target")
            .and_then(|(_, value)| value.split('.').nth(1))
            .unwrap_or("")
            .to_owned();
        let (latency, action) = state.decide(&operation, &body);
        tokio::time::sleep(latency).await;
        let (status, content_type, answer) = match action {
            Action::Reset => return reset(reader.into_inner()),
            Action::Answer(status, body) => (
                status,
                "application/x-amz-json-1.0".to_owned(),
                body.to_string().into_bytes(),
            ),
            Action::Forward { lose_answer } => {
                let answer = state.forward(&operation, &headers, body).await;
                if lose_answer {
                    state.count("answer lost");
                    return reset(reader.into_inner());
                }
                answer
            }
        };
        let reason = if status == 200 { "OK" } else { "Error" };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nx-amzn-requestid: fault-proxy\r\n\r\n",
            answer.len()
        );
        let stream = reader.get_mut();
        if stream.write_all(head.as_bytes()).await.is_err()
            || stream.write_all(&answer).await.is_err()
        {
            return;
        }
    }
}

/// Drops the connection with a TCP reset (no FIN, no answer).
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
}

impl FaultProxy {
    /// Starts a proxy in front of the DynamoDB endpoint `upstream`,
    /// injecting nothing until [`FaultProxy::set`] is called.
    pub async fn start(upstream: &str, seed: u64) -> Self {
        let state = Arc::new(State {
            upstream: upstream.to_owned(),
            client: reqwest::Client::new(),
            mix: Mutex::new(Mix::default()),
            rng: Mutex::new(seed),
            counts: Mutex::new(Counts::new()),
            tokens: Mutex::new(HashMap::new()),
            up: AtomicBool::new(true),
            refused: AtomicU64::new(0),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let addr = listener.local_addr().expect("address");
        let proxy = Self {
            endpoint: format!("http://{addr}"),
            state,
            server: Mutex::new(None),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let state = self.state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_connection(state.clone(), stream));
            }
        });
        *self.server.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
    }

    /// Injects `mix` from now on.
    pub fn set(&self, mix: Mix) {
        *self.state.mix.lock().unwrap_or_else(|p| p.into_inner()) = mix;
    }

    /// What was injected since the last call.
    pub fn take_counts(&self) -> Counts {
        std::mem::take(&mut *self.state.counts.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Goes down: every request is answered with a TCP reset (and counted),
    /// as by an endpoint that is down, until [`FaultProxy::up`].
    pub fn down(&self) {
        self.state.up.store(false, Ordering::SeqCst);
    }

    /// Serves again.
    pub async fn up(&self) {
        self.state.up.store(true, Ordering::SeqCst);
    }

    /// How many requests arrived while it was down: how often a client tried.
    pub fn refused(&self) -> u64 {
        self.state.refused.load(Ordering::SeqCst)
    }

    /// Stops listening for good.
    fn stop(&self) {
        if let Some(task) = self.server.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop();
    }
}
