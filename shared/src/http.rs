//! What every function's router gets around it: state, fallbacks, CORS,
//! a traced span per request, and the Lambda entry point.

use crate::config::Config;
use crate::cursor::CursorKey;
use crate::error::ApiError;
use crate::photos::Photos;
use crate::request::PageRequest;
use crate::store::{Page, Repository};
use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, Method, StatusCode, header};
use lambda_http::request::RequestContext;
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

/// The error a Lambda `main` returns.
pub use lambda_http::Error as LambdaError;

/// Who may call a route, as API Gateway enforces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone; API Gateway attaches no authorizer.
    Public,
    /// Only a caller with a valid token; API Gateway's JWT authorizer guards it.
    Caller,
}

/// One route a function serves: the table `template.yaml` and the tests check
/// against. `path` is written as API Gateway and axum both write it (`/users/{id}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

impl Route {
    pub const fn public(method: &'static str, path: &'static str) -> Self {
        Self {
            method,
            path,
            access: Access::Public,
        }
    }

    pub const fn caller(method: &'static str, path: &'static str) -> Self {
        Self {
            method,
            path,
            access: Access::Caller,
        }
    }
}

/// What handlers share: the repository and the configuration.
#[derive(Clone, Debug)]
pub struct AppState {
    pub repo: Repository,
    pub config: Arc<Config>,
    pub cursors: CursorKey,
    /// The photo bucket, for the functions configured with one (`HDOC_BUCKET`).
    pub photos: Option<Photos>,
}

impl AppState {
    pub fn new(config: Config, repo: Repository, photos: Option<Photos>) -> Self {
        Self {
            cursors: CursorKey::new(&config.cursor_secret),
            config: Arc::new(config),
            repo,
            photos,
        }
    }

    /// Reads the configuration and builds the DynamoDB client: once per cold start.
    pub async fn from_env() -> Self {
        let config = Config::from_env();
        let repo = Repository::connect(&config).await;
        Self::new(config, repo, None)
    }

    /// Adds the photo store the configuration names. Only the functions that
    /// handle photos call this, so the others neither build an S3 client at
    /// cold start nor link its code.
    pub async fn with_photos(mut self) -> Self {
        self.photos = Photos::from_config(&self.config).await;
        self
    }

    /// The photo store, or a 500 when this function was deployed without one.
    pub fn photos(&self) -> Result<&Photos, ApiError> {
        self.photos
            .as_ref()
            .ok_or_else(|| ApiError::internal("HDOC_BUCKET is not configured for this function"))
    }

    /// Parses `limit` and `cursor` for the list named `scope`.
    pub fn page(
        &self,
        scope: impl Into<String>,
        limit: Option<&str>,
        cursor: Option<&str>,
        limits: crate::request::PageLimits,
    ) -> Result<PageRequest, ApiError> {
        PageRequest::parse(scope, limit, cursor, limits, &self.cursors)
    }

    /// A list response: the items as a bare JSON array, and a `Link: rel="next"`
    /// header pointing at the same URL with the next page's cursor.
    pub fn page_response<T: serde::Serialize>(
        &self,
        uri: &http::Uri,
        request: &PageRequest,
        page: Page<T>,
    ) -> Response {
        let mut response = axum::Json(page.items).into_response();
        if let Some(next) = page.next {
            let cursor = self.cursors.seal(&request.scope, &next);
            let link = format!("<{}>; rel=\"next\"", with_cursor(uri, &cursor));
            if let Ok(value) = HeaderValue::from_str(&link) {
                response.headers_mut().insert(header::LINK, value);
            }
        }
        response
    }
}

/// A `201 Created` answer: `body` as JSON, with its `Location`.
pub fn created<T: serde::Serialize>(location: String, body: T) -> Response {
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        axum::Json(body),
    )
        .into_response()
}

/// `uri` with its `cursor` parameter replaced, as a relative reference.
fn with_cursor(uri: &http::Uri, cursor: &str) -> String {
    let kept = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("cursor="));
    let query: Vec<&str> = kept.collect();
    let sep = if query.is_empty() { "" } else { "&" };
    format!("{}?{}{sep}cursor={cursor}", uri.path(), query.join("&"))
}

/// Headers a browser may send, as API Gateway's CORS configuration lists them.
const ALLOWED_HEADERS: [HeaderName; 5] = [
    header::CONTENT_TYPE,
    HeaderName::from_static("x-amz-date"),
    header::AUTHORIZATION,
    HeaderName::from_static("x-api-key"),
    HeaderName::from_static("x-requested-with"),
];

fn cors(config: &Config) -> CorsLayer {
    let origins = if config.cors_origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            config
                .cors_origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers(ALLOWED_HEADERS)
        .expose_headers([header::LINK, header::LOCATION, header::RETRY_AFTER])
        .max_age(Duration::from_secs(600))
}

/// Preflights answer 204 No Content, as API Gateway's do.
async fn preflight_no_content(request: Request, next: Next) -> Response {
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = next.run(request).await;
    if preflight && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NO_CONTENT;
    }
    response
}

fn request_id(request: &Request) -> &str {
    match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.as_deref().unwrap_or("-"),
        _ => "-",
    }
}

/// Wraps function routes into the service that Lambda or `hdoc-local` runs:
/// problem+json for unknown paths and methods, CORS, and a span per request.
pub fn app(routes: Router<AppState>, state: AppState) -> Router {
    let cors = cors(&state.config);
    routes
        .fallback(|| async { ApiError::NotFound("no such resource".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        .layer(cors)
        .layer(middleware::from_fn(preflight_no_content))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    tracing::info_span!(
                        "request",
                        request_id = request_id(request),
                        method = %request.method(),
                        path = request.uri().path(),
                    )
                })
                .on_request(())
                .on_response(
                    tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO),
                ),
        )
}

/// Runs `routes` as a Lambda function behind API Gateway: the whole `main` of
/// a function crate, apart from naming its routes.
pub async fn run_lambda(routes: Router<AppState>) -> Result<(), LambdaError> {
    crate::telemetry::init();
    lambda_http::run(app(routes, AppState::from_env().await)).await
}

/// [`run_lambda`] for a function that also handles photos (`HDOC_BUCKET`).
pub async fn run_lambda_with_photos(routes: Router<AppState>) -> Result<(), LambdaError> {
    crate::telemetry::init();
    let state = AppState::from_env().await.with_photos().await;
    lambda_http::run(app(routes, state)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_replaces_the_old_one_and_keeps_the_rest() {
        let uri: http::Uri = "/articles?tag=aws&cursor=old&limit=5".parse().expect("uri");
        assert_eq!(
            with_cursor(&uri, "new"),
            "/articles?tag=aws&limit=5&cursor=new"
        );
        let uri: http::Uri = "/users".parse().expect("uri");
        assert_eq!(with_cursor(&uri, "c"), "/users?cursor=c");
    }
}
