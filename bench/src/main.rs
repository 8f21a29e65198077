//! `hdoc-bench`: the functions' real bootstraps, run as Lambda runs them.
//!
//! ```text
//! cargo build --workspace --bins && cargo run -p hdoc-bench -- smoke
//! cargo build --release --workspace --bins && cargo run -p hdoc-bench --release -- bench
//! ```
//!
//! `smoke` sends every event file in `events/` to its function's debug
//! bootstrap and checks each answer's status; `bench` measures the release
//! bootstraps' cold starts and warm invocations under a model of Lambda's CPU
//! share (docs/performance.md).

mod bench;
mod lambda;
mod quota;
mod runtime;
mod sam;
mod script;
mod store;
mod telemetry;
mod template;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
usage: hdoc-bench smoke [--bin-dir DIR] [--verbose]
       hdoc-bench bench [--bin-dir DIR] [--runs N] [--warm N] [--gap-ms MS]
                        [--models 256,128] [--only users,hello-world] [--period-ms MS]
                        [--max-seconds S]
       hdoc-bench sam-local --sam PATH --host ADDR [--port PORT] [--verbose] -- SAM-OPTIONS...

smoke  every event file in events/ sent to its function's bootstrap (debug
       builds by default), each answer's status checked; fails on any mismatch.
bench  cold starts and warm invocations of every function's bootstrap and of a
       hello-world lambda_http bootstrap (release builds by default) under the
       CPU share of each memory size (--models; 'full' for no limit).
sam-local  the smoke's events through `sam local invoke` (SAM-OPTIONS: the
       built template, --invoke-image, ...; scripts/sam-local.sh gives them),
       then the public routes over HTTP through `sam local start-api` on
       127.0.0.1:PORT (3001); the stores listen on ADDR (Docker's bridge).
--bin-dir defaults to the directory of this program (target/<profile>).";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("smoke") => smoke(&args[1..]).await,
        Some("sam-local") => sam_local(&args[1..]).await,
        Some("bench") => match bench::Options::parse(&args[1..]) {
            Ok(options) => bench::run(options).await,
            Err(err) => Err(format!("{err}\n{USAGE}")),
        },
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("hdoc-bench: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The directory of this program: where cargo put the bootstraps of the same profile.
fn default_bin_dir() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    exe.parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| "this program has no directory".into())
}

/// The repository's `template.yaml`.
fn template_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml")
}

/// A scratch directory for a run (logs, the CA bundle, S3 objects).
fn scratch(name: &str) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("hdoc-bench-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// Every event file of `events/`, each of which the smoke script must send:
/// a new one has to be given its status there.
fn scripted_files() -> Result<Vec<String>, String> {
    let mut files: Vec<String> = std::fs::read_dir(script::events_dir())
        .map_err(|e| format!("events/: {e}"))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();
    for file in &files {
        let scripted = script::SMOKE
            .iter()
            .any(|step| matches!(step, script::Step::Event(name, _) if name == file));
        if !scripted {
            return Err(format!(
                "events/{file} is not in the smoke script (bench/src/script.rs)"
            ));
        }
    }
    Ok(files)
}

async fn smoke(args: &[String]) -> Result<(), String> {
    let mut bin_dir = default_bin_dir()?;
    let mut verbose = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bin-dir" => bin_dir = args.next().ok_or("--bin-dir needs a value")?.into(),
            "--verbose" | "-v" => verbose = true,
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let functions = template::functions(&template_path())?;
    let files = scripted_files()?;

    let dir = scratch("smoke")?;
    let mut stores = store::Stores::start(&dir)
        .await
        .map_err(|e| format!("starting the stores: {e}"))?;
    // Every invocation sampled, its subsegments sent here.
    let daemon = telemetry::Daemon::start().await?;
    stores.xray_daemon = Some(daemon.address.clone());
    println!(
        "smoke: {} functions of template.yaml, {} event files, bootstraps from {}, DynamoDB at {} (TLS)",
        functions.len(),
        files.len(),
        bin_dir.display(),
        stores.dynamodb_endpoint
    );
    let mut runner = script::Runner::new(&functions, &bin_dir, &stores, &dir);
    runner.verbose = verbose;
    let outcome = runner.run(script::SMOKE).await;
    let started: Vec<String> = runner.started().cloned().collect();
    runner.stop().await;
    outcome?;
    let missed: Vec<&str> = functions
        .iter()
        .map(|f| f.binary.as_str())
        .filter(|binary| !started.iter().any(|s| s == binary))
        .collect();
    if !missed.is_empty() {
        return Err(format!("no event reached {}", missed.join(", ")));
    }
    check_telemetry(&functions, &dir, &files, &daemon).await?;
    let steps = script::SMOKE.len();
    println!(
        "smoke: ok: {steps} invocations of {} bootstraps ({}) answered as expected",
        started.len(),
        started.join(", ")
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The bootstraps' logs, metrics and traces (bench/src/telemetry.rs).
async fn check_telemetry(
    functions: &[template::Function],
    dir: &Path,
    files: &[String],
    daemon: &telemetry::Daemon,
) -> Result<(), String> {
    let mut route_keys = std::collections::BTreeSet::new();
    for file in files {
        let event: serde_json::Value = serde_json::from_slice(&script::event(file)?)
            .map_err(|e| format!("events/{file}: {e}"))?;
        if let Some(key) = event["routeKey"].as_str() {
            route_keys.insert(key.to_owned());
        }
    }
    for function in functions {
        let log = dir.join(format!("{}.log", function.binary));
        let jobs = telemetry::expected_job_metrics(&function.binary);
        if jobs.is_empty() {
            let found = telemetry::check_function(function, &log, &route_keys)?;
            println!("smoke: {} telemetry: {found}", function.binary);
        } else {
            telemetry::check_job(function, &log, jobs)?;
            println!("smoke: {} telemetry: its metrics", function.binary);
        }
    }
    // The datagrams of the last calls may still be on their way.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let subsegments = daemon.subsegments()?;
    for wanted in [
        ("DynamoDB", "GetItem"),
        ("DynamoDB", "Query"),
        ("DynamoDB", "TransactWriteItems"),
        // Only the reconcile function scans: a background function's calls
        // are traced from _X_AMZN_TRACE_ID.
        ("DynamoDB", "Scan"),
        ("S3", "DeleteObject"),
    ] {
        if !subsegments
            .iter()
            .any(|(service, operation)| (service.as_str(), operation.as_str()) == wanted)
        {
            return Err(format!(
                "no X-Ray subsegment of {wanted:?} reached the daemon"
            ));
        }
    }
    println!(
        "smoke: telemetry ok: every line JSON, one request line and one EMF line per request, \
         cold start on each first request only, {} X-Ray subsegments",
        subsegments.len()
    );
    Ok(())
}

/// `sam-local`: the smoke script through `sam local invoke`, then the public
/// routes through `sam local start-api` (bench/src/sam.rs).
async fn sam_local(args: &[String]) -> Result<(), String> {
    let (mut program, mut host, mut port, mut verbose) = (None, None, 3001u16, false);
    let mut args = args.iter();
    let mut options = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--sam" => program = Some(PathBuf::from(args.next().ok_or("--sam needs a value")?)),
            "--host" => {
                let value = args.next().ok_or("--host needs a value")?;
                host = Some(
                    value
                        .parse::<std::net::IpAddr>()
                        .map_err(|e| format!("--host {value}: {e}"))?,
                );
            }
            "--port" => {
                let value = args.next().ok_or("--port needs a value")?;
                port = value.parse().map_err(|e| format!("--port {value}: {e}"))?;
            }
            "--verbose" | "-v" => verbose = true,
            "--" => options.extend(args.by_ref().cloned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let program = program.ok_or(format!("--sam is required\n{USAGE}"))?;
    let host = host.ok_or(format!("--host is required\n{USAGE}"))?;
    let functions = template::functions(&template_path())?;
    let files = scripted_files()?;
    let started_at = std::time::Instant::now();

    // A run of its own for each part: the script deletes alice at its end,
    // and the HTTP part reads the benchmark's seed.
    let mut invoked = Vec::new();
    let mut over_http = 0;
    for part in ["invoke", "start-api"] {
        let dir = scratch(&format!("sam-{part}"))?;
        let stores = store::Stores::start_on(&dir, host)
            .await
            .map_err(|e| format!("starting the stores on {host}: {e}"))?;
        let env_vars = dir.join("env-vars.json");
        let env = serde_json::to_vec_pretty(&sam::env_vars(&functions, &stores))
            .map_err(|e| e.to_string())?;
        std::fs::write(&env_vars, env).map_err(|e| format!("{}: {e}", env_vars.display()))?;
        let sam = sam::Sam {
            program: program.clone(),
            options: options.clone(),
            env_vars,
            logs: dir.clone(),
        };
        let mut runner = script::Runner::new(&functions, &dir, &stores, &dir);
        runner.verbose = verbose;
        runner.sam = Some(sam.clone());
        if part == "invoke" {
            println!(
                "sam-local: {} functions, {} event files through `sam local invoke`, DynamoDB at {}, S3 at {}",
                functions.len(),
                files.len(),
                stores.dynamodb_plain,
                stores.s3_endpoint
            );
            runner.run(script::SMOKE).await?;
            invoked = runner.started().cloned().collect();
        } else {
            println!(
                "sam-local: the public routes over HTTP through `sam local start-api` on 127.0.0.1:{port}"
            );
            over_http = sam::start_api(&sam, &mut runner, port, verbose).await?;
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    let missed: Vec<&str> = functions
        .iter()
        .map(|f| f.binary.as_str())
        .filter(|binary| !invoked.iter().any(|s| s == binary))
        .collect();
    if !missed.is_empty() {
        return Err(format!("no event reached {}", missed.join(", ")));
    }
    println!(
        "sam-local: ok: {} invocations of {} functions ({}) answered as expected, every file of events/ sent; \
         {over_http} requests through start-api; {:.0?}",
        script::SMOKE
            .iter()
            .filter(|s| matches!(s, script::Step::Event(..) | script::Step::PhotoUploaded))
            .count(),
        invoked.len(),
        invoked.join(", "),
        started_at.elapsed()
    );
    Ok(())
}
