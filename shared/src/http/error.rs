//! The HTTP edge's error type, rendered as RFC 9457 problem details: the one
//! place where a store failure becomes a client's answer.

use crate::store::{BoxError, Missing, Precondition, StoreError};
use crate::telemetry::{Failure, chain};
use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use std::time::Duration;

/// `Result` with [`ApiError`] as the default error.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// One invalid input field, listed in a 400's `errors`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Every way a request can fail. Converted to a response only in `into_response`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: malformed or invalid input.
    #[error("{detail}")]
    BadRequest {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// 401: no or bad credentials.
    #[error("authentication required")]
    Unauthorized,
    /// 403: authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such resource.
    #[error("{0}")]
    NotFound(String),
    /// 405: the path exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the request conflicts with the current state (taken id, duplicate).
    #[error("{0}")]
    Conflict(String),
    /// 409 with `Retry-After`: a request with the same `Idempotency-Key` is
    /// being answered at this moment; asking again soon gets its answer.
    #[error(
        "a request with this Idempotency-Key is still being answered; retry after Retry-After seconds to get its answer"
    )]
    IdempotencyKeyInUse,
    /// 422: the `Idempotency-Key` was used for another request (another
    /// body or path) within the last 24 hours.
    #[error(
        "this Idempotency-Key was used for another request (another body or path) in the last 24 hours; send a new key"
    )]
    IdempotencyKeyReused,
    /// 422: understood, but not possible as things stand (a verification
    /// check that finds something missing); says what.
    #[error("{0}")]
    Unprocessable(String),
    /// 503 with `Retry-After`: GitHub could not be read (down, or its rate
    /// limit spent); nothing changed.
    #[error("{0}")]
    GitHubUnavailable(String),
    /// 413: the body is over the limit.
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 415: the body is not JSON.
    #[error("request body must be application/json")]
    UnsupportedMediaType,
    /// 429 with `Retry-After` (whole seconds, rounded up): the caller has
    /// used up its writes of this kind for now (docs/api.md, "Write limits").
    #[error("too many writes of this kind; try again in {} seconds", retry_after_secs(.0))]
    TooManyRequests(Duration),
    /// 503: storage is throttled or unreachable; the client should retry.
    #[error("storage is unavailable; try again shortly")]
    Unavailable(#[source] BoxError),
    /// 500: anything else. The cause is logged, never sent.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl ApiError {
    /// A 400 about one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::BadRequest {
            detail: format!("{field}: {message}"),
            errors: vec![FieldError {
                field: field.to_owned(),
                message,
            }],
        }
    }

    /// A 400 that is not about one field.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::BadRequest {
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// A 500 carrying its cause for the log.
    pub fn internal(cause: impl Into<BoxError>) -> Self {
        Self::Internal(cause.into())
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) | Self::IdempotencyKeyInUse => StatusCode::CONFLICT,
            Self::IdempotencyKeyReused | Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::GitHubUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A quoted value (between backticks or double quotes, as serde and the
/// parsers quote what they refuse) longer than this is cut to it.
const QUOTE_EXCERPT: usize = 40;
/// And a whole message (a field name included) to this many characters.
const MESSAGE_EXCERPT: usize = 400;

/// What an error may echo of the input it refuses: each quoted value cut to
/// [`QUOTE_EXCERPT`] characters and the whole to [`MESSAGE_EXCERPT`], each
/// cut marked with `…`, so that a 64 KiB body yields a short answer (and a
/// short log line), never the body again.
pub fn excerpt(text: &str) -> String {
    cut(text, MESSAGE_EXCERPT)
}

/// [`excerpt`] with the whole cut to `max` characters.
pub fn cut(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max + 8));
    let mut kept = 0;
    let mut quote: Option<(char, usize)> = None;
    for ch in text.chars() {
        if kept == max {
            out.push('…');
            return out;
        }
        match quote {
            Some((close, _)) if ch == close => quote = None,
            Some((close, inside)) => {
                quote = Some((close, inside + 1));
                if inside == QUOTE_EXCERPT {
                    out.push('…');
                }
                if inside >= QUOTE_EXCERPT {
                    continue;
                }
            }
            None if ch == '`' || ch == '"' => quote = Some((ch, 0)),
            None => {}
        }
        out.push(ch);
        kept += 1;
    }
    out
}

/// A field's name as an error may show it (an unknown field's name is the
/// caller's).
pub const FIELD_EXCERPT: usize = 64;

/// `Retry-After` for a wait: whole seconds, rounded up, at least 1.
fn retry_after_secs(wait: &Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    status: u16,
    detail: &'a str,
    /// The same text as `detail`: the site's front end shows `data.message`
    /// of any answer that is not a 200, as API Gateway's own errors carry it.
    message: &'a str,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Not logged here: the request's one log line says why (telemetry::request).
        let failure = match &self {
            Self::Internal(cause) | Self::Unavailable(cause) => {
                format!("{self}: {}", chain(cause.as_ref()))
            }
            _ => self.to_string(),
        };
        let errors: Vec<FieldError> = match &self {
            Self::BadRequest { errors, .. } => errors
                .iter()
                .map(|error| FieldError {
                    field: cut(&error.field, FIELD_EXCERPT),
                    message: excerpt(&error.message),
                })
                .collect(),
            _ => Vec::new(),
        };
        let detail = excerpt(&self.to_string());
        let problem = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: &detail,
            message: &detail,
            errors: &errors,
        };
        let mut response = (status, Json(problem)).into_response();
        response.extensions_mut().insert(Failure(excerpt(&failure)));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if matches!(self, Self::Unavailable(_) | Self::IdempotencyKeyInUse) {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let Self::TooManyRequests(wait) = &self {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs(wait)),
            );
        }
        if matches!(self, Self::GitHubUnavailable(_)) {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(missing) => Self::NotFound(match missing {
                Missing::User(id) => format!("no user {}", id.as_str()),
                Missing::Article(slug) => format!("no article {}", slug.as_str()),
                Missing::Review(id) => format!("no review {}", id.as_str()),
                Missing::Tag(tag) => format!("no article is tagged {}", tag.as_str()),
                Missing::Rating(_) => "the caller has not rated this subject".to_owned(),
            }),
            StoreError::ConditionFailed(guarded) => match guarded {
                Precondition::TakenId => Self::Conflict(
                    "the id is taken (a deleted user's id is free once its deletion has finished)"
                        .into(),
                ),
                Precondition::CallerClaim => Self::Conflict(
                    "the caller already has a profile, or its deletion has not finished yet".into(),
                ),
                Precondition::WriterProfile => Self::Forbidden(
                    "the caller has no profile (POST /users makes one), or it is being deleted"
                        .into(),
                ),
                Precondition::DeletingCaller => Self::Conflict(
                    "the caller's profile is being deleted; rate again once it is gone".into(),
                ),
                Precondition::Owned => Self::Conflict(
                    "the profile has an owner already; only an imported profile that no caller owns is handed over"
                        .into(),
                ),
                Precondition::IdempotencyKey => Self::IdempotencyKeyInUse,
            },
            StoreError::Contended => {
                Self::Conflict("too many concurrent changes to the same items; try again".into())
            }
            StoreError::Limited(wait) => Self::TooManyRequests(wait),
            StoreError::Unavailable(cause) => Self::Unavailable(cause),
            err @ (StoreError::Corrupt(_) | StoreError::Failed(_)) => Self::Internal(Box::new(err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    async fn render(err: ApiError) -> (StatusCode, http::HeaderMap, serde_json::Value) {
        let response = err.into_response();
        let status = response.status();
        let headers = response.headers().clone();
        let body = to_bytes(response.into_body(), 1 << 16).await.expect("body");
        (
            status,
            headers,
            serde_json::from_slice(&body).expect("json"),
        )
    }

    #[tokio::test]
    async fn bad_request_lists_the_field() {
        let (status, headers, body) = render(ApiError::invalid("stars", "must be 1 to 5")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(body["title"], "Bad Request");
        assert_eq!(body["status"], 400);
        assert_eq!(body["errors"][0]["field"], "stars");
        assert_eq!(body["errors"][0]["message"], "must be 1 to 5");
        assert_eq!(body["detail"], "stars: must be 1 to 5");
        assert_eq!(body["message"], body["detail"]);
    }

    #[tokio::test]
    async fn a_refused_value_is_quoted_in_a_short_excerpt() {
        let huge = "x".repeat(65_000);
        let (_, _, body) = render(ApiError::invalid(
            "tags[0]",
            format!("invalid type: string \"{huge}\", expected a tag"),
        ))
        .await;
        let message = body["errors"][0]["message"].as_str().expect("message");
        assert_eq!(
            message,
            format!(
                "invalid type: string \"{}…\", expected a tag",
                "x".repeat(40)
            )
        );
        assert!(body["detail"].as_str().expect("detail").len() < 200);
        // Nothing quoted, but long: cut as a whole.
        let (_, _, body) = render(ApiError::bad_request(huge)).await;
        assert_eq!(
            body["detail"].as_str().expect("detail").chars().count(),
            401
        );
        // Short messages are left as they are.
        assert_eq!(excerpt("unknown field `x`"), "unknown field `x`");
    }

    #[tokio::test]
    async fn internal_errors_hide_their_cause() {
        let (status, _, body) = render(ApiError::internal(
            "table hdoc-prod: ResourceNotFoundException",
        ))
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["detail"], "internal error");
        assert_eq!(body["message"], "internal error");
        assert!(!body.to_string().contains("hdoc-prod"));
        assert!(body.get("errors").is_none());
    }

    #[test]
    fn a_logged_cause_shows_its_whole_chain() {
        let err = ApiError::from(StoreError::Failed(Box::new(std::io::Error::other(
            "socket closed",
        ))));
        let ApiError::Internal(cause) = err else {
            panic!("a 500");
        };
        assert_eq!(chain(cause.as_ref()), "storage call failed: socket closed");
    }

    #[test]
    fn store_outcomes_become_their_statuses() {
        let cases = [
            (
                StoreError::ConditionFailed(Precondition::TakenId),
                StatusCode::CONFLICT,
            ),
            (
                StoreError::ConditionFailed(Precondition::WriterProfile),
                StatusCode::FORBIDDEN,
            ),
            (StoreError::Contended, StatusCode::CONFLICT),
            (
                StoreError::Unavailable("throttled".into()),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (StoreError::corrupt("x"), StatusCode::INTERNAL_SERVER_ERROR),
        ];
        for (err, status) in cases {
            assert_eq!(ApiError::from(err).status(), status);
        }
    }

    #[tokio::test]
    async fn a_write_limit_says_when_to_retry_in_whole_seconds() {
        let err = ApiError::from(StoreError::Limited(Duration::from_millis(119_001)));
        let (status, headers, body) = render(err).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(headers[header::RETRY_AFTER], "120");
        assert_eq!(
            body["detail"],
            "too many writes of this kind; try again in 120 seconds"
        );
    }

    #[tokio::test]
    async fn unavailable_says_when_to_retry() {
        let (status, headers, _) = render(ApiError::Unavailable("throttled".into())).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers[header::RETRY_AFTER], "1");
    }
}
