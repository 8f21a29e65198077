//! Per-caller write limits at the edge: before a write's handler runs, the
//! caller takes a token from its bucket of that kind of write
//! (`store/limits.rs`); without one the answer is 429 with `Retry-After` and
//! the handler never runs, so nothing is written. Admins are not limited,
//! and the jobs do not come through here.

use super::caller::Caller;
use super::error::ApiError;
use super::state::AppState;
use crate::config::WriteKind;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::Method;

/// The kind of write a route is, or `None` for a read.
pub fn write_kind(method: &Method, route: &str) -> Option<WriteKind> {
    match (method.as_str(), route) {
        // hdoc-local's own routes (a dev token, the jobs on demand).
        (_, route) if route.starts_with("/_dev/") => None,
        ("POST", "/users" | "/articles" | "/reviews") => Some(WriteKind::Create),
        ("POST", "/reviews/{id}/photos") => Some(WriteKind::Photo),
        ("PUT" | "DELETE", "/ratings/{subject}") => Some(WriteKind::Rating),
        ("PUT" | "PATCH", _) => Some(WriteKind::Update),
        ("DELETE", _) => Some(WriteKind::Delete),
        ("POST", _) => Some(WriteKind::Create),
        _ => None,
    }
}

/// The middleware: a route layer, so only requests that a route matched
/// (not 404s, 405s or preflights) take a token.
pub async fn limit_writes(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let kind = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|route| write_kind(request.method(), route.as_str()));
    let caller = Caller::from_extensions(request.extensions());
    if let (Some(kind), Some(caller)) = (kind, caller)
        && !caller.admin
    {
        let rate = state.config.write_limits.rate(kind);
        let now = state.config.clock.now();
        if let Err(err) = state
            .repo
            .take_write_token(&caller.sub, kind, rate, now)
            .await
        {
            return ApiError::from(err).into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_write_route_has_its_kind_and_reads_have_none() {
        let cases = [
            ("POST", "/users", Some(WriteKind::Create)),
            ("POST", "/articles", Some(WriteKind::Create)),
            ("POST", "/reviews", Some(WriteKind::Create)),
            ("POST", "/reviews/{id}/photos", Some(WriteKind::Photo)),
            // Each check reads GitHub with the stage's token: limited as creates.
            ("POST", "/users/{id}/verification", Some(WriteKind::Create)),
            (
                "POST",
                "/users/{id}/verification/check",
                Some(WriteKind::Create),
            ),
            ("PUT", "/users/{id}", Some(WriteKind::Update)),
            ("PUT", "/users/{id}/owner", Some(WriteKind::Update)),
            ("PUT", "/articles/{slug}", Some(WriteKind::Update)),
            ("DELETE", "/reviews/{id}", Some(WriteKind::Delete)),
            ("PUT", "/ratings/{subject}", Some(WriteKind::Rating)),
            ("DELETE", "/ratings/{subject}", Some(WriteKind::Rating)),
            ("GET", "/ratings/{subject}/mine", None),
            ("GET", "/users", None),
            ("POST", "/_dev/reconcile", None),
        ];
        for (method, route, kind) in cases {
            let method = Method::from_bytes(method.as_bytes()).expect("method");
            assert_eq!(write_kind(&method, route), kind, "{method} {route}");
        }
    }
}
