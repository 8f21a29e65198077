//! What every function's router gets around it: fallbacks, CORS, a traced
//! span per request.
//!
//! | file | holds |
//! |---|---|
//! | `routes.rs` | [`Route`]: the route table each function exports |
//! | `state.rs` | [`AppState`]: the repository and photo store, built once on one SDK configuration |
//! | `pages.rs` | [`PageQuery`] and the `Link: rel="next"` of list answers |
//! | `lambda.rs` | [`run_lambda`]: an HTTP function's `main` |

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
use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, Method, StatusCode, header};
use lambda_http::request::RequestContext;
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

/// A `201 Created` answer: `body` as JSON, with its `Location`.
pub fn created<T: serde::Serialize>(location: String, body: T) -> Response {
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        axum::Json(body),
    )
        .into_response()
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
