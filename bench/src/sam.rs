//! `hdoc-bench sam-local`: the smoke script through SAM's own local runtime
//! (`scripts/sam-local.sh` sets it up): every event file sent with
//! `sam local invoke` to the function `sam build` made, in a container on
//! Docker's bridge, then the public routes over HTTP through
//! `sam local start-api`. The stores listen on the bridge's address, and the
//! functions are pointed at them with `--env-vars`.

use crate::runtime::Outcome;
use crate::script;
use crate::store::{self, Stores};
use crate::template::{self, Function};
use axum::body::Bytes;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// How to run SAM: `sam` and the options every `sam local` command of the
/// run shares (template, image, parameters), given after `--`.
#[derive(Clone, Debug)]
pub struct Sam {
    pub program: PathBuf,
    pub options: Vec<String>,
    /// The `--env-vars` file written for the stores of the run.
    pub env_vars: PathBuf,
    /// Where each invocation's output is kept.
    pub logs: PathBuf,
}

/// The environment of every function, as `--env-vars` takes it: the
/// template's variables resolved for stage `dev` (what AWS would give them),
/// the endpoints (Secrets Manager's too: each function reads its cursor key
/// at Init) pointed at `stores` on the bridge. SAM keeps only the
/// variables the template declares, which is why the template declares the
/// endpoint variables (empty).
pub fn env_vars(functions: &[Function], stores: &Stores) -> Value {
    let mut all = serde_json::Map::new();
    for function in functions {
        let mut env: BTreeMap<String, String> = function.environment.clone();
        env.insert(
            "AWS_ENDPOINT_URL_DYNAMODB".into(),
            stores.dynamodb_plain.clone(),
        );
        env.insert("AWS_ENDPOINT_URL_S3".into(), stores.s3_endpoint.clone());
        env.insert(
            "AWS_ENDPOINT_URL_SECRETS_MANAGER".into(),
            stores.secrets_plain.clone(),
        );
        if function
            .environment
            .contains_key("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER")
        {
            env.insert(
                "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER".into(),
                store::NO_USER_POOL.into(),
            );
        }
        if function.environment.contains_key("HDOC_GITHUB_API") {
            env.insert("HDOC_GITHUB_API".into(), stores.github_plain.clone());
        }
        all.insert(
            function.logical_id.clone(),
            serde_json::to_value(env).unwrap_or_default(),
        );
    }
    Value::Object(all)
}

/// What SAM's own process is given: the keys it hands the containers (the
/// S3 server checks their signatures), the region, no telemetry.
fn sam_command(program: &Path) -> Command {
    let keys = store::credentials();
    let mut command = Command::new(program);
    command
        .env("AWS_ACCESS_KEY_ID", keys.access_key)
        .env("AWS_SECRET_ACCESS_KEY", keys.secret_key)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("AWS_DEFAULT_REGION", template::REGION)
        .env("AWS_REGION", template::REGION)
        .env("SAM_CLI_TELEMETRY", "0")
        // SAM asks STS for the account id at every start: without a network
        // that costs seconds of DNS and retries, here refused at once.
        .env("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")
        .env("AWS_MAX_ATTEMPTS", "1");
    command
}

impl Sam {
    /// `sam local invoke <function> --event -`: a new container, a cold
    /// start. The answer, the time the whole command took, and the end of
    /// SAM's output (for a failure's message).
    pub async fn invoke(
        &self,
        function: &Function,
        label: &str,
        event: Bytes,
    ) -> Result<(Outcome, Duration, String), String> {
        let mut attempt = 1;
        loop {
            match self.invoke_once(function, label, event.clone()).await? {
                Invoked::Answered(outcome, took, tail) => return Ok((outcome, took, tail)),
                // Docker's port proxy accepts SAM's connection before the
                // emulator in the container listens (slower under qemu), and
                // SAM gives up on the event, which never reached the
                // function: no request id in the output. Sent again, as once.
                Invoked::NotDelivered(_) if attempt < DELIVERY_ATTEMPTS => {
                    eprintln!(
                        "  {label}: SAM could not deliver the event (attempt {attempt}); again"
                    );
                    attempt += 1;
                }
                Invoked::NotDelivered(tail) => {
                    return Err(format!(
                        "{label}: SAM could not deliver the event to {} in {attempt} attempts\n{tail}",
                        function.logical_id
                    ));
                }
            }
        }
    }

    async fn invoke_once(
        &self,
        function: &Function,
        label: &str,
        event: Bytes,
    ) -> Result<Invoked, String> {
        let log = self.logs.join(format!(
            "{}-{}.log",
            function.binary,
            label.replace(' ', "_")
        ));
        let start = Instant::now();
        let mut child = sam_command(&self.program)
            .args(["local", "invoke"])
            .args(&self.options)
            .arg("--env-vars")
            .arg(&self.env_vars)
            .args(["--event", "-", &function.logical_id])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // SAM's messages and the function's logs, readable if it hangs.
            .stderr(std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.program.display()))?;
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        stdin
            .write_all(&event)
            .await
            .map_err(|e| format!("{label}: writing the event to sam: {e}"))?;
        drop(stdin);
        let mut out = child.stdout.take().ok_or("no stdout")?;
        let stdout = tokio::spawn(async move {
            let mut buffer = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut out, &mut buffer).await;
            buffer
        });
        // Every function answers its event in seconds. For an event SAM
        // could not deliver it waits out the template's Timeout (900 s for
        // activity): seen in its output, that ends the attempt at once.
        let undelivered = |stderr: &str| {
            stderr.contains("No response from invoke container") && !stderr.contains("RequestId")
        };
        let status = loop {
            tokio::select! {
                status = child.wait() => {
                    break status.map_err(|e| format!("{label}: sam local invoke: {e}"))?;
                }
                () = tokio::time::sleep(Duration::from_millis(500)) => {
                    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
                    let late = start.elapsed() > INVOKE_LIMIT;
                    if undelivered(&stderr) || late {
                        let _ = child.kill().await;
                        let tail = crate::lambda::tail(&log);
                        return match stderr.contains("RequestId") {
                            false => Ok(Invoked::NotDelivered(tail)),
                            true => Err(format!(
                                "{label}: sam local invoke took more than {INVOKE_LIMIT:?}\n{tail}"
                            )),
                        };
                    }
                }
            }
        };
        let took = start.elapsed();
        let stderr = std::fs::read_to_string(&log).unwrap_or_default();
        let delivered = stderr.contains("RequestId");
        let stdout = String::from_utf8_lossy(&stdout.await.unwrap_or_default()).into_owned();
        let _ = std::fs::write(&log, format!("{stderr}\n--- stdout\n{stdout}"));
        let tail = crate::lambda::tail(&log);
        if stdout.trim().is_empty()
            && stderr.contains("No response from invoke container")
            && !delivered
        {
            return Ok(Invoked::NotDelivered(tail));
        }
        if !status.success() {
            return Err(format!(
                "{label}: sam local invoke {} failed ({status})\n{tail}",
                function.logical_id
            ));
        }
        // SAM prints the function's answer as the last line of its output.
        let answer = stdout
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .unwrap_or("null")
            .trim()
            .to_owned();
        let failed = serde_json::from_str::<Value>(&answer)
            .is_ok_and(|json| json.get("errorType").is_some() && json.get("statusCode").is_none());
        let answer = Bytes::from(answer);
        let outcome = match failed {
            true => Outcome::Error(answer),
            false => Outcome::Response(answer),
        };
        Ok(Invoked::Answered(outcome, took, tail))
    }
}

/// How long one `sam local invoke` may take.
const INVOKE_LIMIT: Duration = Duration::from_secs(90);

/// How many times an event SAM could not deliver is sent.
const DELIVERY_ATTEMPTS: u32 = 3;

/// What one `sam local invoke` came to.
enum Invoked {
    /// The function's answer, the time, the end of SAM's output.
    Answered(Outcome, Duration, String),
    /// The event never reached the function; the end of SAM's output.
    NotDelivered(String),
}

/// What `sam local start-api` is asked, with the data of [`script::SEED`]:
/// the `GET` event files' paths, and one write without a token. SAM runs no
/// JWT authorizer (it cannot: the issuer is Cognito), so no request carries
/// claims: the routes that need a caller answer 401 from the function itself.
/// Those routes are covered by `sam local invoke`, whose events carry claims.
pub const OVER_HTTP: &[(&str, u16)] = &[
    ("users-get.json", 200),
    ("users-journey.json", 200),
    ("users-badge.json", 200),
    ("users-list.json", 200),
    ("leaderboard-get.json", 200),
    ("leaderboard-week.json", 200),
    ("articles-get.json", 200),
    ("articles-list.json", 200),
    ("tags-get.json", 200),
    ("tags-list.json", 200),
    ("reviews-get.json", 200),
    ("reviews-list.json", 200),
    ("ratings-get.json", 200),
    ("ratings-mine.json", 401),
    ("users-create.json", 401),
];

/// A running `sam local start-api`.
struct Api {
    child: tokio::process::Child,
}

impl Api {
    /// SIGINT, on which SAM stops and removes its warm containers; waits
    /// for that (killed after 60 s).
    async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status();
        }
        if tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// Seeds through `sam local invoke`, starts `sam local start-api` on
/// `127.0.0.1:port` and sends [`OVER_HTTP`]; each answer's status, content
/// type and body shape checked as the smoke test checks them.
pub async fn start_api(
    sam: &Sam,
    runner: &mut script::Runner<'_>,
    port: u16,
    verbose: bool,
) -> Result<usize, String> {
    runner.run(script::SEED).await?;
    let log = sam.logs.join("start-api.log");
    let file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = file.try_clone().map_err(|e| e.to_string())?;
    let child = sam_command(&sam.program)
        .args(["local", "start-api"])
        .args(&sam.options)
        .arg("--env-vars")
        .arg(&sam.env_vars)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        // Every function's container started before the first request:
        // fewer requests that meet an emulator not yet listening (below).
        .args(["--warm-containers", "EAGER"])
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", sam.program.display()))?;
    let api = Api { child };
    let asked = ask(port, &log, verbose).await;
    api.stop().await;
    asked
}

/// Sends [`OVER_HTTP`] to `sam local start-api` on `port`; SAM's log at `log`.
async fn ask(port: u16, log: &Path, verbose: bool) -> Result<usize, String> {
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest_like::Client::new();
    // SAM reads the template and mounts the routes before it listens.
    let deadline = Instant::now() + Duration::from_secs(120);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if Instant::now() > deadline {
            return Err(format!(
                "sam local start-api did not listen on {base} in 120 s\n{}",
                crate::lambda::tail(log)
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for (file, want) in OVER_HTTP {
        let event: Value = serde_json::from_slice(&script::event(file)?)
            .map_err(|e| format!("events/{file}: {e}"))?;
        let method = event["requestContext"]["http"]["method"]
            .as_str()
            .ok_or(format!("events/{file}: no method"))?;
        let mut path = event["rawPath"].as_str().unwrap_or("/").to_owned();
        if let Some(query) = event["rawQueryString"].as_str().filter(|q| !q.is_empty()) {
            path = format!("{path}?{query}");
        }
        let body = event["body"].as_str().unwrap_or_default().to_owned();
        let start = Instant::now();
        let mut attempt = 1;
        let (status, headers, text) = loop {
            let answer = client
                .send(method, &format!("{base}{path}"), body.clone())
                .await
                .map_err(|e| format!("{method} {path}: {e}\n{}", crate::lambda::tail(log)))?;
            // SAM's 502 when the request never reached the function (as
            // with `invoke`, Docker's proxy accepted before the emulator
            // listened). Every request here is a read or refused without a
            // caller, so sending it again changes nothing.
            if answer.0 == 502 && attempt < DELIVERY_ATTEMPTS {
                eprintln!("  {method} {path}: SAM answered 502 (attempt {attempt}); again");
                attempt += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            break answer;
        };
        if status != *want {
            return Err(format!(
                "{method} {path} (start-api): status {status}, expected {want}: {text}\n{}",
                crate::lambda::tail(log)
            ));
        }
        script::shape(status, &headers, &text)
            .map_err(|e| format!("{method} {path} (start-api): status {status}, but {e}"))?;
        if verbose {
            println!(
                "  {method:<6} {path:<40} -> {status} over HTTP in {:.1?}",
                start.elapsed()
            );
        }
    }
    Ok(OVER_HTTP.len())
}

/// A small HTTP/1 client on the hyper the bench already links.
mod reqwest_like {
    use axum::body::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client as Hyper;
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::TokioExecutor;
    use serde_json::Value;

    pub struct Client(Hyper<HttpConnector, Full<Bytes>>);

    impl Client {
        pub fn new() -> Self {
            Self(Hyper::builder(TokioExecutor::new()).build_http())
        }

        /// The status, the headers (as a JSON object, as API Gateway's
        /// answer has them) and the body.
        pub async fn send(
            &self,
            method: &str,
            url: &str,
            body: String,
        ) -> Result<(u16, Value, String), String> {
            let request = hyper::Request::builder()
                .method(method)
                .uri(url)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body)))
                .map_err(|e| e.to_string())?;
            let response = self.0.request(request).await.map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let headers: serde_json::Map<String, Value> = response
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.into())))
                .collect();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok((
                status,
                Value::Object(headers),
                String::from_utf8_lossy(&body).into_owned(),
            ))
        }
    }
}
