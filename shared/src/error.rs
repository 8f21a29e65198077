//! The one error type of the API, rendered as RFC 9457 problem details.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

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
    /// 413: the body is over the limit.
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 415: the body is not JSON.
    #[error("request body must be application/json")]
    UnsupportedMediaType,
    /// 503: storage is throttled or unreachable; the client should retry.
    #[error("storage is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// 500: anything else. The cause is logged, never sent.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
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
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
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
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Self::Internal(cause) => {
                tracing::error!(error = %cause, debug = ?cause, "request failed")
            }
            Self::Unavailable(cause) => tracing::warn!(error = %cause, "storage unavailable"),
            _ => tracing::info!(status = status.as_u16(), error = %self, "request refused"),
        }
        let errors = match &self {
            Self::BadRequest { errors, .. } => errors.as_slice(),
            _ => &[],
        };
        let problem = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: self.to_string(),
            errors,
        };
        let mut response = (status, Json(problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// Error codes DynamoDB uses when it is throttling or briefly unavailable.
const TRANSIENT_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
];

impl<E, R> From<SdkError<E, R>> for ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn from(err: SdkError<E, R>) -> Self {
        let transient = match &err {
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
            SdkError::ServiceError(service) => service
                .err()
                .code()
                .is_some_and(|code| TRANSIENT_CODES.contains(&code)),
            _ => false,
        };
        let cause = aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string();
        if transient {
            Self::Unavailable(cause.into())
        } else {
            Self::Internal(cause.into())
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
    }

    #[tokio::test]
    async fn internal_errors_hide_their_cause() {
        let (status, _, body) = render(ApiError::internal(
            "table hdoc-prod: ResourceNotFoundException",
        ))
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["detail"], "internal error");
        assert!(!body.to_string().contains("hdoc-prod"));
        assert!(body.get("errors").is_none());
    }

    #[tokio::test]
    async fn unavailable_says_when_to_retry() {
        let (status, headers, _) = render(ApiError::Unavailable("throttled".into())).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers[header::RETRY_AFTER], "1");
    }
}
