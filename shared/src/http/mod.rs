//! The HTTP edge: everything that knows a request or an answer. What every
//! function's router gets around it (fallbacks, CORS, the telemetry of each
//! request), and what its handlers parse requests and make answers with.
//! Nothing below this module (the domain, the store, the jobs) names it.
//!
//! | file | holds |
//! |---|---|
//! | `error.rs` | [`ApiError`]: every answer that is not a success, and `From<StoreError>` |
//! | `extract.rs` | [`JsonBody`], [`Query`], [`Id`] and the [`PathParam`] of each domain id |
//! | `caller.rs` | [`Caller`]: who is asking, from the authorizer's claims |
//! | `cursor.rs` | signed, opaque cursors around a store's `page::Position` |
//! | `idempotency.rs` | `Idempotency-Key`: [`create_once`] |
//! | `limits.rs` | per-caller write limits: a token per write, or 429 |
//! | `observe.rs` | the telemetry layer: one log line and one metrics line per request |
//! | `routes.rs` | [`Route`]: the route table each function exports |
//! | `state.rs` | [`AppState`]: the repository and photo store, built once on one SDK configuration |
//! | `pages.rs` | [`PageQuery`] and the `Link: rel="next"` of list answers |
//! | `lambda.rs` | [`run_lambda`]: an HTTP function's `main` |
//! | `caching.rs` | `ETag`, 304 and `Cache-Control` of every answer |

pub mod caching;
pub mod caller;
pub mod cursor;
pub mod error;
pub mod extract;
pub mod idempotency;
mod lambda;
pub mod limits;
mod observe;
mod pages;
mod routes;
mod state;

pub use caller::Caller;
pub use error::{ApiError, Result};
pub use extract::{Id, JsonBody, PathParam, Query};
pub use idempotency::{Create, create_once};
pub use lambda::{
    LambdaError, run_event_lambda, run_lambda, run_lambda_from, run_lambda_with_photos,
    run_trigger_lambda,
};
pub use observe::Observer;
pub use pages::{CursorScope, PageLimits, PageQuery, PageRequest};
pub use routes::{Access, Route};
pub use state::{AppState, WarmUp, sdk_config};

use crate::config::Config;
use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use http::{HeaderName, HeaderValue, Method, StatusCode, header};
use observe::observe;
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
/// telemetry (`observe.rs`), outermost so that its latency is the
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
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            limits::limit_writes,
        ))
        .fallback(|| async { ApiError::NotFound("no such resource".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        .layer(cors)
        .layer(middleware::from_fn_with_state(cache, caching::caching))
        .layer(middleware::from_fn(preflight_no_content))
        .layer(middleware::from_fn_with_state(observer, observe))
}
