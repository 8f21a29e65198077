//! What the functions talk to: the table on the embedded engine (dynoxide),
//! behind a TLS endpoint whose CA is made at run time, the embedded S3
//! server of `hdoc-local` for the photo bucket, and stand-ins for GitHub and
//! for the Secrets Manager call of each function's Init.
//!
//! The TLS endpoint is a proxy that ends TLS and forwards each request to the
//! engine over loopback HTTP. It times every forwarded round trip, so that a
//! measurement can leave the engine's time out ([`Meter`]): in AWS that time is
//! DynamoDB's, not the function's CPU.

use crate::template;
use bytes::Bytes;
use hdoc_local::s3::LocalS3;
use hdoc_shared::config::StaticCredentials;
use hdoc_shared::store::schema;
use hdoc_shared::{AppState, Config};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Where the system keeps its CA bundle (Debian, Amazon Linux).
/// Where the functions' user pools API points: nothing listens on port 9
/// (discard), so a call is refused at once. The bench has no user pool: the
/// pre-token trigger cannot read an admin's factors and leaves `admin` out
/// (fails closed), which the smoke test checks.
pub const NO_USER_POOL: &str = "http://127.0.0.1:9";

const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
];

/// Time and round trips the engine has spent answering the functions.
#[derive(Debug, Default)]
pub struct Meter {
    nanos: AtomicU64,
    requests: AtomicU64,
}

/// A reading of the [`Meter`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Reading {
    pub engine: Duration,
    pub requests: u64,
}

impl Meter {
    fn add(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(nanos, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn read(&self) -> Reading {
        Reading {
            engine: Duration::from_nanos(self.nanos.load(Ordering::Relaxed)),
            requests: self.requests.load(Ordering::Relaxed),
        }
    }
}

impl std::ops::Sub for Reading {
    type Output = Reading;
    fn sub(self, earlier: Reading) -> Reading {
        Reading {
            engine: self.engine.saturating_sub(earlier.engine),
            requests: self.requests.saturating_sub(earlier.requests),
        }
    }
}

/// The stores, running.
pub struct Stores {
    /// The endpoint the functions are given for DynamoDB (`https://...`).
    pub dynamodb_endpoint: String,
    /// The embedded S3 server (plain HTTP: nothing measured goes there).
    pub s3_endpoint: String,
    /// A stand-in for GitHub's REST API behind TLS (the run's CA), for the
    /// activity function (`HDOC_GITHUB_API`): every journeyer has one push
    /// event, now.
    pub github_endpoint: String,
    /// The engine itself, plain HTTP on the stores' host (for `sam local`'s
    /// containers, which cannot be given the run's CA).
    pub dynamodb_plain: String,
    /// The stand-in GitHub, plain HTTP on the stores' host.
    pub github_plain: String,
    /// A stand-in for Secrets Manager behind TLS (the run's CA), which the
    /// functions read their secrets from at Init
    /// (`AWS_ENDPOINT_URL_SECRETS_MANAGER`): [`serve_secrets`].
    pub secrets_endpoint: String,
    /// The stand-in Secrets Manager, plain HTTP on the stores' host.
    pub secrets_plain: String,
    /// A PEM bundle of the system's roots and the run's CA, for `SSL_CERT_FILE`.
    pub ca_bundle: PathBuf,
    /// The engine's time, as seen through the TLS endpoint.
    pub meter: Arc<Meter>,
    /// A state on the same table, for seeding (it talks to the engine directly).
    pub state: AppState,
    /// The X-Ray daemon the functions are given (`AWS_XRAY_DAEMON_ADDRESS`);
    /// with one, every invocation is sampled. The smoke test plays it.
    pub xray_daemon: Option<String>,
    stop: Vec<oneshot::Sender<()>>,
}

impl Drop for Stores {
    fn drop(&mut self) {
        for stop in self.stop.drain(..) {
            let _ = stop.send(());
        }
    }
}

impl Stores {
    /// Starts the engine with the table created, its TLS endpoint, and the S3
    /// server with the template's bucket, keeping their files under `dir`.
    pub async fn start(dir: &Path) -> Result<Self, Error> {
        Self::start_on(dir, std::net::Ipv4Addr::LOCALHOST.into()).await
    }

    /// [`Self::start`], the engine, the S3 server and the stand-in GitHub
    /// listening on `host` (Docker's bridge, for `sam local`); the TLS
    /// endpoints stay on loopback.
    pub async fn start_on(dir: &Path, host: std::net::IpAddr) -> Result<Self, Error> {
        let mut stop = Vec::new();
        let db = dynoxide::Database::memory()?;
        let listener = TcpListener::bind((host, 0)).await?;
        let engine = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        stop.push(tx);
        tokio::spawn(dynoxide::server::serve_with_shutdown(listener, db, async {
            let _ = rx.await;
        }));

        let (tls, ca_pem) = tls_config()?;
        let mut bundle = String::new();
        for path in SYSTEM_BUNDLES {
            if let Ok(text) = std::fs::read_to_string(path) {
                bundle = text;
                break;
            }
        }
        bundle.push_str(&ca_pem);
        let ca_bundle = dir.join("ca-bundle.pem");
        std::fs::write(&ca_bundle, bundle)?;

        let meter = Arc::new(Meter::default());
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let dynamodb_endpoint = format!("https://{}", listener.local_addr()?);
        let (tx, rx) = oneshot::channel::<()>();
        stop.push(tx);
        let proxy = serve_tls(
            listener,
            tls.clone(),
            format!("http://{engine}"),
            meter.clone(),
        );
        tokio::spawn(async move {
            tokio::select! {
                _ = proxy => {}
                _ = rx => {}
            }
        });

        let (github_endpoint, github_plain) = serve_github(tls.clone(), host, &mut stop).await?;
        let (secrets_endpoint, secrets_plain) = serve_secrets(tls.clone(), host, &mut stop).await?;

        let s3_root = dir.join("s3");
        // s3s-fs keeps a bucket as a directory: the template's bucket is one.
        std::fs::create_dir_all(s3_root.join(template::BUCKET))?;
        let s3 = LocalS3::bind_on(&s3_root, (host, 0).into()).await?;
        let s3_endpoint = s3.endpoint.clone();

        let mut config = Config::from_lookup(|key| match key {
            "HDOC_TABLE" => Some(template::TABLE.to_owned()),
            "HDOC_BUCKET" => Some(template::BUCKET.to_owned()),
            "HDOC_MEDIA_BASE_URL" => Some(format!("https://{}", template::CDN_DOMAIN)),
            _ => None,
        });
        config.dynamodb_endpoint = Some(format!("http://{engine}"));
        config.s3_endpoint = Some(s3_endpoint.clone());
        config.static_credentials = Some(credentials());
        let state = AppState::connect(config).await.with_photos();
        schema::create_table(state.repo.client(), template::TABLE)
            .await
            .map_err(|err| format!("could not create the table: {err:?}"))?;
        let (tx, rx) = oneshot::channel::<()>();
        stop.push(tx);
        s3.serve(state.clone(), rx);

        Ok(Self {
            dynamodb_endpoint,
            dynamodb_plain: format!("http://{engine}"),
            github_plain,
            secrets_endpoint,
            secrets_plain,
            s3_endpoint,
            github_endpoint,
            ca_bundle,
            meter,
            state,
            xray_daemon: None,
            stop,
        })
    }
}

/// The fixed keys the functions sign with (the S3 server checks them).
pub fn credentials() -> StaticCredentials {
    StaticCredentials {
        access_key: hdoc_local::s3::ACCESS_KEY.to_owned(),
        secret_key: hdoc_local::s3::SECRET_KEY.to_owned(),
        region: template::REGION.to_owned(),
    }
}

/// A CA made for this run, and a server configuration with a certificate it
/// signed for `127.0.0.1` and `localhost`. RSA 2048, as DynamoDB's chain is.
fn tls_config() -> Result<(Arc<rustls::ServerConfig>, String), Error> {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
        KeyUsagePurpose, PKCS_RSA_SHA256,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "hdoc-bench run CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate_for(&PKCS_RSA_SHA256)?)?;
    let key = KeyPair::generate_for(&PKCS_RSA_SHA256)?;
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
    leaf.distinguished_name
        .push(DnType::CommonName, "dynamodb.hdoc-bench");
    let leaf = leaf.signed_by(&key, &ca)?;
    let chain = vec![leaf.der().clone(), ca.der().clone()];
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok((Arc::new(config), ca.pem()))
}

/// The blob SHA of the stand-in template's placeholder page.
const PLACEHOLDER: &str = "5e1c309dae7f45e0f39b1bf3ac3cd9db12e7d689";
/// The blob SHA of a documented day in the stand-in journey repositories.
const DOCUMENTED: &str = "d0c0000000000000000000000000000000000001";

/// A stand-in for the part of GitHub's REST API the journey job reads
/// (GitHub's shapes, headers and conditional answers): every account has a
/// public `<login>/100DaysOfCloud`, a copy of the template
/// (`100DaysOfCloud/100DaysOfCloud`) whose day 1 was documented by a push
/// made now. On plain HTTP behind a TLS endpoint like the table's; its
/// `https://` base URL, and the plain one on `host`.
async fn serve_github(
    tls: Arc<rustls::ServerConfig>,
    host: std::net::IpAddr,
    stop: &mut Vec<oneshot::Sender<()>>,
) -> Result<(String, String), Error> {
    use axum::extract::Path as UrlPath;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use serde_json::{Value, json};

    /// `body` as GitHub answers it: rate-limit headers, an ETag, a 304 for
    /// an `If-None-Match` that holds it; a 403 without `User-Agent`.
    fn answer(headers: &HeaderMap, body: Value) -> Response {
        if headers.get("user-agent").is_none() {
            return StatusCode::FORBIDDEN.into_response();
        }
        let text = body.to_string();
        let etag = format!("W/\"{:016x}\"", {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            text.hash(&mut hasher);
            hasher.finish()
        });
        let rate = [
            ("x-ratelimit-limit", "5000".to_owned()),
            ("x-ratelimit-remaining", "4999".to_owned()),
            (
                "x-ratelimit-reset",
                (time::OffsetDateTime::now_utc().unix_timestamp() + 3600).to_string(),
            ),
            ("etag", etag.clone()),
            ("content-type", "application/json; charset=utf-8".to_owned()),
        ];
        if headers
            .get("if-none-match")
            .is_some_and(|tag| *tag == *etag)
        {
            return (StatusCode::NOT_MODIFIED, rate).into_response();
        }
        (rate, text).into_response()
    }
    fn today() -> String {
        let now = time::OffsetDateTime::now_utc();
        format!("{}T00:00:00Z", now.date())
    }
    async fn repo(
        UrlPath((owner, name)): UrlPath<(String, String)>,
        headers: HeaderMap,
    ) -> Response {
        answer(
            &headers,
            json!({"full_name": format!("{owner}/{name}"), "default_branch": "main",
                "created_at": "2026-01-01T00:00:00Z", "private": false,
                "owner": {"login": owner}}),
        )
    }
    async fn tree(
        UrlPath((owner, _name, _branch)): UrlPath<(String, String, String)>,
        headers: HeaderMap,
    ) -> Response {
        let template = owner.eq_ignore_ascii_case("100DaysOfCloud");
        let entries: Vec<Value> = (1..=100)
            .map(|n| {
                let sha = if n == 1 && !template {
                    DOCUMENTED
                } else {
                    PLACEHOLDER
                };
                json!({"path": format!("Journey/{n:03}/Readme.md"), "type": "blob", "sha": sha})
            })
            .collect();
        answer(
            &headers,
            json!({"sha": "t1", "tree": entries, "truncated": false}),
        )
    }
    async fn events(UrlPath(login): UrlPath<String>, headers: HeaderMap) -> Response {
        answer(
            &headers,
            json!([{
                "id": "1",
                "type": "PushEvent",
                "actor": {"id": 1, "login": login},
                "repo": {"id": 1, "name": format!("{login}/100DaysOfCloud")},
                "payload": {"repository_id": 1, "push_id": 1, "ref": "refs/heads/main",
                    "head": "c1", "before": "c0"},
                "public": true,
                "created_at": today(),
            }]),
        )
    }
    async fn compare(
        UrlPath((_owner, _name, _range)): UrlPath<(String, String, String)>,
        headers: HeaderMap,
    ) -> Response {
        answer(
            &headers,
            json!({"status": "ahead", "ahead_by": 1, "files": [
                {"filename": "Journey/001/Readme.md", "sha": DOCUMENTED, "status": "modified"}
            ]}),
        )
    }
    let app = axum::Router::new()
        .route("/users/{login}/events/public", axum::routing::get(events))
        .route("/repos/{owner}/{name}", axum::routing::get(repo))
        .route(
            "/repos/{owner}/{name}/git/trees/{branch}",
            axum::routing::get(tree),
        )
        .route(
            "/repos/{owner}/{name}/compare/{range}",
            axum::routing::get(compare),
        );
    serve_behind_tls(app, tls, host, stop).await
}

/// The stand-in Secrets Manager (`hdoc_local::secrets`) with what the
/// template's functions name for the bench's stack (bench/src/template.rs),
/// taking the bench's keys in the template's region; on plain HTTP behind a
/// TLS endpoint like the table's: its `https://` base URL, and the plain one
/// on `host`.
async fn serve_secrets(
    tls: Arc<rustls::ServerConfig>,
    host: std::net::IpAddr,
    stop: &mut Vec<oneshot::Sender<()>>,
) -> Result<(String, String), Error> {
    let keys = credentials();
    let app = hdoc_local::secrets::router(hdoc_local::secrets::Secrets {
        secrets: vec![(
            template::CURSOR_SECRET_ARN.to_owned(),
            template::CURSOR_SECRET.to_owned(),
        )],
        access_key: keys.access_key,
        secret_key: keys.secret_key,
        region: template::REGION.to_owned(),
    });
    serve_behind_tls(app, tls, host, stop).await
}

/// Serves `app` on plain HTTP on `host` and behind a TLS endpoint on
/// loopback (the run's CA signs it): the `https://` base URL, and the plain
/// one (for containers, which reach `host`).
async fn serve_behind_tls(
    app: axum::Router,
    tls: Arc<rustls::ServerConfig>,
    host: std::net::IpAddr,
    stop: &mut Vec<oneshot::Sender<()>>,
) -> Result<(String, String), Error> {
    let plain = TcpListener::bind((host, 0)).await?;
    let upstream = format!("http://{}", plain.local_addr()?);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("https://{}", listener.local_addr()?);
    let (tx, rx) = oneshot::channel::<()>();
    stop.push(tx);
    let front = serve_tls(listener, tls, upstream.clone(), Arc::new(Meter::default()));
    tokio::spawn(async move {
        tokio::select! {
            _ = axum::serve(plain, app) => {}
            _ = front => {}
            _ = rx => {}
        }
    });
    Ok((endpoint, upstream))
}

/// Ends TLS on `listener` and forwards every request to `upstream`, timing
/// each round trip into `meter`.
async fn serve_tls(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    upstream: String,
    meter: Arc<Meter>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let upstream: Arc<str> = upstream.into();
    while let Ok((tcp, _)) = listener.accept().await {
        let _ = tcp.set_nodelay(true);
        let (acceptor, client, upstream, meter) = (
            acceptor.clone(),
            client.clone(),
            upstream.clone(),
            meter.clone(),
        );
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(move |request| {
                forward(request, client.clone(), upstream.clone(), meter.clone())
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn forward(
    request: hyper::Request<Incoming>,
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: Arc<str>,
    meter: Arc<Meter>,
) -> Result<hyper::Response<Full<Bytes>>, Error> {
    let (mut parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = format!("{upstream}{path}").parse()?;
    let start = Instant::now();
    let response = client
        .request(hyper::Request::from_parts(parts, Full::new(body)))
        .await?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    meter.add(start.elapsed());
    Ok(hyper::Response::from_parts(parts, Full::new(body)))
}
