//! One execution environment: a function's `bootstrap` started as Lambda
//! starts it (a clean environment, the template's variables and Lambda's own,
//! `AWS_LAMBDA_RUNTIME_API` pointing at the emulator), its Init timed to its
//! first `/next`, then invoked event by event.

use crate::quota::CpuQuota;
use crate::runtime::{InitHook, Outcome, RuntimeApi};
use crate::store::{self, Stores};
use crate::template::{self, Function};
use axum::body::Bytes;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// How long Init may take before the run gives up (Lambda's limit is 10 s).
const INIT_LIMIT: Duration = Duration::from_secs(10);

/// The CPU model applied after Init: the cgroup and the share of a core.
#[derive(Clone)]
pub struct Throttle {
    pub quota: Arc<CpuQuota>,
    pub share: f64,
}

/// A running bootstrap.
pub struct Instance {
    child: Child,
    api: RuntimeApi,
    pid: u32,
    /// Its stdout and stderr (the function's logs).
    pub log: PathBuf,
    /// From the spawn to its first `/next`.
    pub init: Duration,
    timeout: Duration,
}

/// The environment Lambda gives `function`, with the stores' endpoints.
pub fn environment(
    function: &Function,
    memory_mb: u64,
    stores: &Stores,
    runtime_api: &str,
) -> BTreeMap<String, String> {
    let mut env = function.environment.clone();
    let credentials = store::credentials();
    let lambda = [
        ("AWS_LAMBDA_FUNCTION_NAME", function.name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", function.name),
        ),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!("2026/11/24/[$LATEST]{}", uuid::Uuid::new_v4().simple()),
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
        ("AWS_REGION", template::REGION.into()),
        ("AWS_DEFAULT_REGION", template::REGION.into()),
        // The role's temporary keys in Lambda; fixed keys here (the S3 server checks them).
        ("AWS_ACCESS_KEY_ID", credentials.access_key),
        ("AWS_SECRET_ACCESS_KEY", credentials.secret_key),
        ("LAMBDA_TASK_ROOT", "/var/task".into()),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime".into()),
        ("_HANDLER", "bootstrap".into()),
        ("TZ", ":UTC".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".into()),
        // What differs from AWS: the endpoints, and a CA bundle that trusts the run's CA.
        (
            "AWS_ENDPOINT_URL_DYNAMODB",
            stores.dynamodb_endpoint.clone(),
        ),
        ("AWS_ENDPOINT_URL_S3", stores.s3_endpoint.clone()),
        // The activity function's GitHub: a stand-in behind the same TLS.
        ("HDOC_GITHUB_API", stores.github_endpoint.clone()),
        // Secrets Manager, which every function reads its secrets from at
        // Init: a stand-in behind the same TLS.
        (
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            stores.secrets_endpoint.clone(),
        ),
        (
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
            store::NO_USER_POOL.into(),
        ),
        (
            "SSL_CERT_FILE",
            stores.ca_bundle.to_string_lossy().into_owned(),
        ),
    ];
    for (key, value) in lambda {
        env.insert(key.to_owned(), value);
    }
    if let Some(daemon) = &stores.xray_daemon {
        env.insert("AWS_XRAY_DAEMON_ADDRESS".to_owned(), daemon.clone());
    }
    env
}

impl Instance {
    /// Starts `binary` as `function` and waits for the end of its Init.
    pub async fn cold_start(
        binary: &Path,
        function: &Function,
        memory_mb: u64,
        stores: &Stores,
        throttle: Option<&Throttle>,
        log: PathBuf,
    ) -> Result<Self, String> {
        let arn = format!(
            "arn:aws:lambda:{}:{}:function:{}",
            template::REGION,
            template::ACCOUNT,
            function.name
        );
        let hook: Option<InitHook> = throttle.cloned().map(|t| {
            Box::new(move || {
                if let Err(err) = t.quota.limit(Some(t.share)) {
                    eprintln!("could not apply the CPU quota: {err}");
                }
            }) as InitHook
        });
        let mut api = RuntimeApi::start(arn, hook, stores.xray_daemon.is_some())
            .await
            .map_err(|e| format!("runtime API: {e}"))?;
        let env = environment(function, memory_mb, stores, &api.addr.to_string());
        let out = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        if let Some(t) = throttle {
            t.quota.limit(None)?;
        }
        let mut command = Command::new(binary);
        command
            .env_clear()
            .envs(&env)
            .current_dir(binary.parent().unwrap_or(Path::new("/")))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true);
        let start = Instant::now();
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let pid = child.id().ok_or("the bootstrap exited at once")?;
        if let Some(t) = throttle {
            t.quota.add(pid)?;
        }
        let init_done = api.init_done.take().ok_or("Init already awaited")?;
        let init_error = api.init_error.take().ok_or("Init already awaited")?;
        let init = tokio::select! {
            done = init_done => done.map_err(|_| "the runtime API stopped".to_owned())? - start,
            Ok(error) = init_error => {
                return Err(format!(
                    "Init failed: {}\n{}",
                    String::from_utf8_lossy(&error.0),
                    tail(&log)
                ));
            }
            status = child.wait() => {
                return Err(format!("the bootstrap exited during Init ({status:?})\n{}", tail(&log)));
            }
            () = tokio::time::sleep(INIT_LIMIT) => {
                return Err(format!("Init took more than {INIT_LIMIT:?}\n{}", tail(&log)));
            }
        };
        Ok(Self {
            child,
            api,
            pid,
            log,
            init,
            timeout: Duration::from_secs(function.timeout_s),
        })
    }

    /// Sends `event`; the answer and the time it took.
    pub async fn invoke(&mut self, event: Bytes) -> Result<(Outcome, Duration), String> {
        tokio::select! {
            answer = self.api.invoke(event, self.timeout) => {
                answer.map_err(|e| format!("{e}\n{}", tail(&self.log)))
            }
            status = self.child.wait() => {
                Err(format!("the bootstrap exited ({status:?})\n{}", tail(&self.log)))
            }
        }
    }

    /// The process's peak resident set so far (`VmHWM`), in bytes.
    pub fn peak_rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    }

    /// Ends the process (Lambda's Shutdown, without its grace period).
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// The end of a log, to say why something failed.
pub fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(30);
    format!(
        "--- {} (last lines)\n{}",
        log.display(),
        lines[start..].join("\n")
    )
}
