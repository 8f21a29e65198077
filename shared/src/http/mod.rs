//! What every function's router gets around it: fallbacks, CORS, and the
//! telemetry of each request (one log line, one metrics line, a span).
//!
//! | file | holds |
//! |---|---|
//! | `routes.rs` | [`Route`]: the route table each function exports |
//! | `state.rs` | [`AppState`]: the repository and photo store, built once on one SDK configuration |
//! | `pages.rs` | [`PageQuery`] and the `Link: rel="next"` of list answers |
//! | `lambda.rs` | [`run_lambda`]: an HTTP function's `main` |
//! | `caching.rs` | `ETag`, 304 and `Cache-Control` of every answer |

pub mod caching;
mod lambda;
mod pages;
mod routes;
mod state;

pub use lambda::{LambdaError, run_lambda, run_lambda_with_photos};
pub use pages::PageQuery;
pub use routes::{Access, Route};
pub use state::{AppState, WarmUp, sdk_config};

use crate::config::Config;
use crate::error::ApiError;
use crate::telemetry::Observer;
use crate::telemetry::request::observe;
use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use http::{HeaderName, HeaderValue, Method, StatusCode, header};
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Headers a browser may send, as API Gateway's CORS configuration lists them.
const ALLOWED_HEADERS: [HeaderName; 6] = [
    header::CONTENT_TYPE,
    HeaderName::from_static("x-amz-date"),
    header::AUTHORIZATION,
    HeaderName::from_static("x-api-key"),
    HeaderName::from_static("x-requested-with"),
    HeaderName::from_static("idempotency-key"),
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
        .expose_headers([
            header::LINK,
            header::LOCATION,
            header::RETRY_AFTER,
            header::ETAG,
        ])
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

/// Wraps function routes into the service that Lambda or `hdoc-local` runs:
/// problem+json for unknown paths and methods, CORS, and the request's
/// telemetry (`telemetry::request`), outermost so that its latency is the
/// whole of the function's part.
pub fn app(routes: Router<AppState>, state: AppState) -> Router {
    let observer = Observer::for_process(&state.config.cursor_secret);
    app_observed(routes, state, observer)
}

/// [`app`] with the telemetry of `observer` (tests read its lines).
pub fn app_observed(routes: Router<AppState>, state: AppState, observer: Observer) -> Router {
    let cors = cors(&state.config);
    let cache = caching::CachePolicy::new(state.config.cache_seconds);
    routes
        .fallback(|| async { ApiError::NotFound("no such resource".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        .layer(cors)
        .layer(middleware::from_fn_with_state(cache, caching::caching))
        .layer(middleware::from_fn(preflight_no_content))
        .layer(middleware::from_fn_with_state(observer, observe))
}
