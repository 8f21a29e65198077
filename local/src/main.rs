//! `cargo run -p hdoc-local`: the whole API on 127.0.0.1:3000.
//! `cargo run -p hdoc-local -- reconcile`: the nightly reconcile job, once.
//! `cargo run -p hdoc-local -- import FILE...`: the community's data, imported.
//! `cargo run -p hdoc-local -- --demo`: the API over a generated community.

use hdoc_local::import::{self, Document, Report};
use hdoc_local::{Options, demo, jwt};
use hdoc_shared::{AppState, Config};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

const USAGE: &str = "\
hdoc-local: the whole hdoc API on one machine

USAGE: hdoc-local [--demo] [--port PORT] [--data-dir DIR] [--dynamodb-endpoint URL]
                  [--github-api URL] [--engines ADDR:PORT]
       hdoc-local reconcile [--data-dir DIR] [--dynamodb-endpoint URL]
       hdoc-local import [--aws] [--json] [--data-dir DIR] [--dynamodb-endpoint URL] FILE...

  (no command)              serve the API
  --demo                    on an empty data dir, first fill it with a generated
                            community (journeyers, articles, reviews, ratings)

  reconcile                 instead of serving, run the nightly reconcile job
                            once over the data (recount every aggregate, repair
                            drift), print its run as JSON and exit. While the
                            API is serving, use POST /_dev/reconcile instead.

  import FILE...            import the community's data from files shaped like
                            the front end's data/users.json ({\"users\": [...]})
                            and data/articles.json ({\"articles\": [...]});
                            print what was imported, refused and dropped, and
                            exit (docs/import.md). Into the embedded data dir
                            (stop a server using it first), the endpoint of
                            --dynamodb-endpoint, or with --aws the table HDOC_TABLE
                            of the AWS environment's account and region (your
                            own credentials: AWS_PROFILE, AWS_REGION, ...).
  --json                    print the import's report as JSON

  --port PORT               port on 127.0.0.1 (env HDOC_PORT, default 3000)
  --data-dir DIR            where the embedded DynamoDB engine and S3 server
                            keep their data (env HDOC_DATA_DIR, default ./.data)
  --dynamodb-endpoint URL   use this DynamoDB endpoint instead of the embedded
                            engine (env AWS_ENDPOINT_URL_DYNAMODB)
  --github-api URL          the GitHub REST API that POST /_dev/journey (the
                            journey job), the verification check and the push
                            webhook read (env HDOC_GITHUB_API, default
                            https://api.github.com; HDOC_GITHUB_TOKEN, if set,
                            is sent as its token)
  --engines ADDR:PORT       serve the embedded engine's DynamoDB API on
                            ADDR:PORT, the S3 server on the next port and a
                            stand-in Secrets Manager holding the cursor key on
                            the one after (env HDOC_ENGINES; default: free
                            loopback ports, no Secrets Manager), e.g.
                            172.17.0.1:8000, Docker's bridge, so that functions
                            run by `sam local` use this data (README, sam local;
                            local/sam-env-vars.json)

Other settings: HDOC_GITHUB_WEBHOOK_SECRET (POST /github/webhook's secret),
HDOC_JOURNEY_TEMPLATE (default 100DaysOfCloud/100DaysOfCloud), HDOC_DEV_JWT_SECRET (dev token secret), HDOC_TABLE,
HDOC_CORS_ORIGINS, HDOC_LINK_BASE_PATH (the path Link headers start with, such
as /api behind the front end's rewrites), HDOC_CACHE_SECONDS (how long a write
may take to show through a shared cache, default 60), RUST_LOG. Mint a token with
  curl -X POST localhost:3000/_dev/token -H 'content-type: application/json' -d '{\"sub\":\"alice\"}'
";

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|value| !value.is_empty())
}

/// What the command line asks for.
enum Command {
    Serve { demo: bool },
    Reconcile,
    Import { files: Vec<PathBuf>, json: bool },
}

struct Args {
    command: Command,
    port: u16,
    data_dir: PathBuf,
    endpoint: Option<String>,
    /// Where the embedded engines listen (`--engines`), if not on loopback.
    engines: Option<SocketAddr>,
    /// Import into the real AWS table `HDOC_TABLE` with the environment's credentials.
    aws: bool,
    /// The GitHub API of the activity job, if not the configured one.
    github_api: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut port = env("HDOC_PORT");
    let mut data_dir = env("HDOC_DATA_DIR");
    let mut endpoint = env("AWS_ENDPOINT_URL_DYNAMODB");
    let mut github_api = None;
    let mut engines = env("HDOC_ENGINES");
    let (mut demo, mut json, mut aws) = (false, false, false);
    let mut command: Option<&str> = None;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let slot = match arg.as_str() {
            "reconcile" | "import" if command.is_none() && files.is_empty() => {
                command = Some(if arg == "import" {
                    "import"
                } else {
                    "reconcile"
                });
                continue;
            }
            "--demo" => {
                demo = true;
                continue;
            }
            "--json" => {
                json = true;
                continue;
            }
            "--aws" => {
                aws = true;
                continue;
            }
            "--port" => &mut port,
            "--data-dir" => &mut data_dir,
            "--dynamodb-endpoint" => &mut endpoint,
            "--github-api" => &mut github_api,
            "--engines" => &mut engines,
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            file if command == Some("import") && !file.starts_with("--") => {
                files.push(PathBuf::from(file));
                continue;
            }
            other => return Err(format!("unknown argument {other}")),
        };
        *slot = Some(args.next().ok_or_else(|| format!("{arg} needs a value"))?);
    }
    let command = match command {
        None => Command::Serve { demo },
        Some("reconcile") => Command::Reconcile,
        Some(_) if files.is_empty() => return Err("import needs at least one FILE".into()),
        Some(_) => Command::Import { files, json },
    };
    if demo && !matches!(command, Command::Serve { .. }) {
        return Err("--demo is for serving".into());
    }
    if (json || aws) && !matches!(command, Command::Import { .. }) {
        return Err("--json and --aws are for import".into());
    }
    if aws && endpoint.is_some() {
        return Err("--aws and --dynamodb-endpoint exclude each other".into());
    }
    let port = match port {
        Some(port) => port.parse().map_err(|_| format!("bad port {port}"))?,
        None => 3000,
    };
    let data_dir = data_dir.map_or_else(|| PathBuf::from(".data"), PathBuf::from);
    if github_api.is_some() && !matches!(command, Command::Serve { .. }) {
        return Err("--github-api is for serving".into());
    }
    let engines = match engines {
        Some(addr) => Some(
            addr.parse::<SocketAddr>()
                .map_err(|_| format!("--engines {addr}: not an ADDR:PORT"))?,
        ),
        None => None,
    };
    Ok(Args {
        command,
        port,
        data_dir,
        endpoint,
        engines,
        aws,
        github_api,
    })
}

/// Reads the import's files; a file that cannot be read or is not in the
/// import's shape stops everything before anything is written.
fn read_documents(files: &[PathBuf]) -> Result<Vec<Document>, String> {
    files
        .iter()
        .map(|path| {
            let name = path.display().to_string();
            let bytes = std::fs::read(path).map_err(|err| format!("{name}: {err}"))?;
            Document::parse(&name, &bytes)
        })
        .collect()
}

/// Imports into the table `HDOC_TABLE` of the AWS account and region the
/// environment's credentials name: what an operator runs against a stage.
async fn import_into_aws(
    docs: &[Document],
) -> Result<Report, Box<dyn std::error::Error + Send + Sync>> {
    if env("HDOC_TABLE").is_none() {
        return Err("--aws needs HDOC_TABLE: the stage's table, such as hdoc-backend-dev".into());
    }
    let state = AppState::connect(Config::from_env()).await;
    let repo = state.repo.with_write_budget(IMPORT_WRITE_BUDGET);
    Ok(import::import(&repo, docs)
        .await
        .map_err(|err| format!("import stopped: {err:?}"))?)
}

/// How long one import write may retry lost races (a throttled table, a
/// busy tag): there is no Lambda timeout here.
const IMPORT_WRITE_BUDGET: std::time::Duration = std::time::Duration::from_secs(30);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let Args {
        command,
        port,
        data_dir,
        endpoint,
        engines,
        aws,
        github_api,
    } = parse_args().map_err(|err| format!("{err}\n\n{USAGE}"))?;
    hdoc_shared::telemetry::init_local(!matches!(command, Command::Serve { .. }));
    if let Command::Import { files, json } = &command {
        let docs = read_documents(files)?;
        let report = if aws {
            import_into_aws(&docs).await?
        } else {
            let running = start(0, &data_dir, &endpoint, None, None).await?;
            let repo = running
                .state
                .repo
                .clone()
                .with_write_budget(IMPORT_WRITE_BUDGET);
            let report = import::import(&repo, &docs).await;
            running.shutdown().await;
            report.map_err(|err| format!("import stopped (run it again to go on): {err:?}"))?
        };
        if *json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            println!("{report}");
        }
        return Ok(());
    }
    // The job alone needs no fixed port: the API it starts alongside is unused.
    let reconcile = matches!(command, Command::Reconcile);
    let running = start(
        if reconcile { 0 } else { port },
        &data_dir,
        &endpoint,
        github_api,
        engines,
    )
    .await?;
    if reconcile {
        let run = hdoc_local::reconcile_now(&running.state).await;
        running.shutdown().await;
        let run = run.map_err(|err| format!("reconcile failed: {err:?}"))?;
        let run = run.ok_or("a reconcile run is in progress elsewhere")?;
        println!("{}", serde_json::to_string_pretty(&run)?);
        return Ok(());
    }
    if let Command::Serve { demo: true } = command {
        match demo::fill(&running.state.repo, demo::Size::DEMO).await {
            Ok(Some(report)) => eprintln!("hdoc-local: demo community imported\n{report}"),
            Ok(None) => {
                eprintln!("hdoc-local: --demo left the data as it is: it has profiles already")
            }
            Err(err) => return Err(format!("the demo import failed: {err:?}").into()),
        }
    }
    let dynamodb = endpoint.unwrap_or_else(|| "embedded".to_owned());
    let data = data_dir.display();
    let github = running.github.api();
    tracing::info!(address = %running.addr, %data, dynamodb, github, "hdoc-local is serving the API");
    if engines.is_some() {
        let config = &running.state.config;
        let (dynamodb, s3) = (&config.dynamodb_endpoint, &config.s3_endpoint);
        let (dynamodb, s3) = (
            dynamodb.as_deref().unwrap_or("?"),
            s3.as_deref().unwrap_or("?"),
        );
        let secrets = running.secrets_endpoint.as_deref().unwrap_or("?");
        eprintln!(
            "hdoc-local: DynamoDB at {dynamodb}, S3 at {s3}, Secrets Manager at {secrets} \
             (for sam local: README)"
        );
    }
    eprintln!(
        "hdoc-local: http://{} (data in {data}, DynamoDB: {dynamodb}, GitHub API: {github}); Ctrl-C stops",
        running.addr
    );
    tokio::signal::ctrl_c().await?;
    running.shutdown().await;
    Ok(())
}

/// Starts the local API on `port` (0: any) over the data dir or endpoint,
/// its activity job reading `github_api` (if given, else the configured one).
async fn start(
    port: u16,
    data_dir: &std::path::Path,
    endpoint: &Option<String>,
    github_api: Option<String>,
    engines: Option<SocketAddr>,
) -> Result<hdoc_local::Running, hdoc_local::StartError> {
    let mut config = Config::from_env();
    if env("HDOC_CORS_ORIGINS").is_none() {
        // Browsers on this machine only, unless told otherwise.
        config.cors_origins = hdoc_local::loopback_origins(port);
    }
    if let Some(api) = github_api {
        config.github_api = api.trim_end_matches('/').to_owned();
    }
    hdoc_local::start(Options {
        addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
        data_dir: Some(data_dir.to_owned()),
        dynamodb_endpoint: endpoint.clone(),
        engines,
        config,
        jwt_secret: env("HDOC_DEV_JWT_SECRET").unwrap_or_else(|| jwt::DEFAULT_SECRET.to_owned()),
    })
    .await
}
