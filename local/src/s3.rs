//! The embedded S3 server: s3s on an s3s-fs directory, checking SigV4
//! signatures (so a presigned URL is honoured exactly as S3 would: another
//! content type or length breaks the signature), and playing S3's event
//! notification: each object stored under `reviews/` is reported to the
//! reviews function's `photos_uploaded`, as the bucket notification does in AWS.

use crate::StartError;
use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use hdoc_shared::AppState;
use http::{Method, StatusCode};
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use std::path::Path;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The credentials the local S3 server accepts, and the SDK signs with.
pub const ACCESS_KEY: &str = "hdoc-local";
pub const SECRET_KEY: &str = "hdoc-local-secret";
/// The local photo bucket.
pub const BUCKET: &str = "hdoc-photos";

#[derive(Clone)]
struct S3State {
    service: S3Service,
    /// The API, told of each upload.
    api: AppState,
}

/// A bound, not yet serving, S3 server.
pub struct LocalS3 {
    listener: TcpListener,
    service: S3Service,
    pub endpoint: String,
}

impl LocalS3 {
    /// Binds a free loopback port over the objects in `root`, with the photo
    /// bucket created (s3s-fs keeps a bucket as a directory of the root).
    pub async fn bind(root: &Path) -> Result<Self, StartError> {
        Self::bind_on(root, (std::net::Ipv4Addr::LOCALHOST, 0).into()).await
    }

    /// [`Self::bind`] on `addr` (Docker's bridge, for functions run by
    /// `sam local`; port 0: a free one).
    pub async fn bind_on(root: &Path, addr: std::net::SocketAddr) -> Result<Self, StartError> {
        std::fs::create_dir_all(root.join(BUCKET))?;
        let fs = s3s_fs::FileSystem::new(root).map_err(|err| format!("local S3 store: {err:?}"))?;
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let listener = TcpListener::bind(addr).await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        Ok(Self {
            listener,
            service: builder.build(),
            endpoint,
        })
    }

    /// Serves until `stop`, reporting uploads to `api`.
    pub fn serve(self, api: AppState, stop: oneshot::Receiver<()>) {
        let app = Router::new().fallback(s3).with_state(S3State {
            service: self.service,
            api,
        });
        tokio::spawn(async move {
            let serve = axum::serve(self.listener, app).with_graceful_shutdown(async {
                let _ = stop.await;
            });
            if let Err(err) = serve.await {
                tracing::error!(error = %err, "local S3 stopped");
            }
        });
    }
}

async fn s3(State(state): State<S3State>, request: Request) -> Response {
    let put = request.method() == Method::PUT;
    let path = request.uri().path().to_owned();
    let mut service = state.service.clone();
    let response = match tower::Service::call(&mut service, request).await {
        Ok(response) => response.map(axum::body::Body::new),
        Err(err) => {
            tracing::error!(error = ?err, "local S3 failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    if put && response.status().is_success() {
        // Only `reviews/`, as the bucket's notification in template.yaml.
        let key = path
            .strip_prefix(&format!("/{BUCKET}/"))
            .and_then(percent_decode)
            .filter(|key| key.starts_with("reviews/"));
        if let Some(key) = key
            && let Err(err) = reviews::photos_uploaded(&state.api, [key]).await
        {
            tracing::error!(error = %err, "reporting an upload failed");
        }
    }
    response
}

/// Decodes `%XX` escapes of a path (object keys of photos are plain, but be exact).
fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = raw.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Creates the bucket `name` unless it exists.
pub async fn create_bucket_named(
    client: &aws_sdk_s3::Client,
    name: &str,
) -> Result<(), StartError> {
    match client.create_bucket().bucket(name).send().await {
        Ok(_) => Ok(()),
        Err(err)
            if err.as_service_error().is_some_and(|e| {
                e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()
            }) =>
        {
            Ok(())
        }
        Err(err) => Err(aws_sdk_s3::error::DisplayErrorContext(err)
            .to_string()
            .into()),
    }
}
