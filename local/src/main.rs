//! `cargo run -p hdoc-local`: the whole API on 127.0.0.1:3000.
//! `cargo run -p hdoc-local -- reconcile`: the nightly reconcile job, once.

use hdoc_local::{Options, jwt};
use hdoc_shared::Config;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

const USAGE: &str = "\
hdoc-local: the whole hdoc API on one machine

USAGE: hdoc-local [reconcile] [--port PORT] [--data-dir DIR] [--dynamodb-endpoint URL]

  reconcile                 instead of serving, run the nightly reconcile job
                            once over the data (recount every aggregate, repair
                            drift), print its run as JSON and exit. While the
                            API is serving, use POST /_dev/reconcile instead.

  --port PORT               port on 127.0.0.1 (env HDOC_PORT, default 3000)
  --data-dir DIR            where the embedded DynamoDB engine and S3 server
                            keep their data (env HDOC_DATA_DIR, default ./.data)
  --dynamodb-endpoint URL   use this DynamoDB endpoint instead of the embedded
                            engine (env AWS_ENDPOINT_URL_DYNAMODB)

Other settings: HDOC_DEV_JWT_SECRET (dev token secret), HDOC_TABLE,
HDOC_CORS_ORIGINS, RUST_LOG. Mint a token with
  curl -X POST localhost:3000/_dev/token -H 'content-type: application/json' -d '{\"sub\":\"alice\"}'
";

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|value| !value.is_empty())
}

/// What the command line asks for.
struct Args {
    reconcile: bool,
    port: u16,
    data_dir: PathBuf,
    endpoint: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut port = env("HDOC_PORT");
    let mut data_dir = env("HDOC_DATA_DIR");
    let mut endpoint = env("AWS_ENDPOINT_URL_DYNAMODB");
    let mut reconcile = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let slot = match arg.as_str() {
            "reconcile" => {
                reconcile = true;
                continue;
            }
            "--port" => &mut port,
            "--data-dir" => &mut data_dir,
            "--dynamodb-endpoint" => &mut endpoint,
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        };
        *slot = Some(args.next().ok_or_else(|| format!("{arg} needs a value"))?);
    }
    let port = match port {
        Some(port) => port.parse().map_err(|_| format!("bad port {port}"))?,
        None => 3000,
    };
    let data_dir = data_dir.map_or_else(|| PathBuf::from(".data"), PathBuf::from);
    Ok(Args {
        reconcile,
        port,
        data_dir,
        endpoint,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    hdoc_shared::telemetry::init();
    let Args {
        reconcile,
        port,
        data_dir,
        endpoint,
    } = parse_args().map_err(|err| format!("{err}\n\n{USAGE}"))?;
    // The job alone needs no fixed port: the API it starts alongside is unused.
    let port = if reconcile { 0 } else { port };
    let running = hdoc_local::start(Options {
        addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
        data_dir: Some(data_dir.clone()),
        dynamodb_endpoint: endpoint.clone(),
        config: Config::from_env(),
        jwt_secret: env("HDOC_DEV_JWT_SECRET").unwrap_or_else(|| jwt::DEFAULT_SECRET.to_owned()),
    })
    .await?;
    if reconcile {
        let run = hdoc_local::reconcile_now(&running.state).await;
        running.shutdown().await;
        let run = run.map_err(|err| format!("reconcile failed: {err:?}"))?;
        let run = run.ok_or("a reconcile run is in progress elsewhere")?;
        println!("{}", serde_json::to_string_pretty(&run)?);
        return Ok(());
    }
    let dynamodb = endpoint.unwrap_or_else(|| "embedded".to_owned());
    let data = data_dir.display();
    tracing::info!(address = %running.addr, %data, dynamodb, "hdoc-local is serving the API");
    eprintln!(
        "hdoc-local: http://{} (data in {data}, DynamoDB: {dynamodb}); Ctrl-C stops",
        running.addr
    );
    tokio::signal::ctrl_c().await?;
    running.shutdown().await;
    Ok(())
}
