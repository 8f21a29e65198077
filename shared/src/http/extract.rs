//! Parsing what a request brings: JSON bodies, query strings, path parameters.

use super::error::{ApiError, FIELD_EXCERPT, FieldError, cut};
use crate::domain::{ReviewId, Slug, Subject, Tag, UserId};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use http::header;
use http::request::Parts;
use serde::de::DeserializeOwned;

/// Bodies above this many bytes are refused with a 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON body parsed into `T`. Unknown fields and wrong types are a 400
/// that names the field; a non-JSON content type is a 415; over 64 KiB, a 413.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        parse_json(&json_bytes(request, state).await?).map(JsonBody)
    }
}

/// The bytes of a JSON body: a non-JSON content type is a 415; over 64 KiB, a 413.
pub(crate) async fn json_bytes<S: Send + Sync>(
    request: Request,
    state: &S,
) -> Result<Bytes, ApiError> {
    if !is_json(request.headers()) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|len| len.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES) {
        return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
    }
    let limited = request
        .map(|body| axum::body::Body::new(http_body_util::Limited::new(body, MAX_BODY_BYTES)));
    Bytes::from_request(limited, state)
        .await
        .map_err(|_| ApiError::PayloadTooLarge(MAX_BODY_BYTES))
}

fn is_json(headers: &http::HeaderMap) -> bool {
    let Some(content_type) = headers.get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(content_type) = content_type.to_str() else {
        return false;
    };
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.to_ascii_lowercase().ends_with("+json")
}

/// Parses a JSON object into `T`, turning serde's complaint into a 400 that
/// names the field. Valid JSON that is not an object is a 400 naming `body`:
/// serde would read an array as the struct's fields in order (`[]` as a
/// body with every field absent, `["park:x", "t", "b"]` as a review).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let first = bytes
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    if first != Some(&b'{') && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
        return Err(ApiError::invalid("body", "must be a JSON object"));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        // An unknown field's name is the caller's: cut like any echo.
        let field = cut(&err.path().to_string(), FIELD_EXCERPT);
        let inner = err.into_inner();
        let message = serde_message(&inner);
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::bad_request(format!("malformed JSON: {message}"));
        }
        let field = if field == "." {
            "body".to_owned()
        } else {
            field
        };
        ApiError::BadRequest {
            detail: format!("{field}: {message}"),
            errors: vec![FieldError { field, message }],
        }
    })
}

/// serde_json's message without its " at line 1 column 9" suffix.
fn serde_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// A query string parsed into `T` (whose fields may be domain types): a bad
/// value is a 400 naming its parameter; so is a repeated one. Unknown
/// parameters are ignored.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let pairs = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(pairs)
            .map(Query)
            .map_err(|err| {
                let field = err.path().to_string();
                let message = err.into_inner().to_string();
                match message.strip_prefix("duplicate field `") {
                    Some(rest) => {
                        let field = rest.trim_end_matches('`');
                        ApiError::invalid(field, "must be given once")
                    }
                    None if field != "." => ApiError::invalid(&field, message),
                    None => ApiError::bad_request(format!("invalid query string: {message}")),
                }
            })
    }
}

/// A domain type that a URL path parameter parses into.
pub trait PathParam: Sized {
    /// The parameter's name, as a 400 names it.
    const NAME: &'static str;
    fn parse_param(raw: &str) -> Result<Self, String>;
}

/// Each domain id a path names, by the parameter's name in the route.
macro_rules! path_params {
    ($($ty:ty => $name:literal),* $(,)?) => {$(
        impl PathParam for $ty {
            const NAME: &'static str = $name;
            fn parse_param(raw: &str) -> Result<Self, String> {
                Self::parse(raw)
            }
        }
    )*};
}

path_params!(
    UserId => "id",
    ReviewId => "id",
    Slug => "slug",
    Tag => "tag",
    Subject => "subject",
);

/// The one parameter of a route's path (`/users/{id}`), parsed into `T`; a
/// bad one is a 400 naming the parameter.
#[derive(Debug)]
pub struct Id<T>(pub T);

impl<T: PathParam, S: Send + Sync> FromRequestParts<S> for Id<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
        T::parse_param(&raw)
            .map(Id)
            .map_err(|message| ApiError::invalid(T::NAME, message))
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[allow(dead_code)]
        stars: u8,
    }

    proptest! {
        #[test]
        fn any_bytes_are_a_body_or_a_400(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            match parse_json::<Body>(&bytes) {
                Ok(_) | Err(ApiError::BadRequest { .. }) => {}
                Err(other) => prop_assert!(false, "{other:?}"),
            }
        }

        #[test]
        fn any_json_is_a_body_or_a_400(value in crate::strategies::json()) {
            match parse_json::<Body>(value.to_string().as_bytes()) {
                Ok(_) => prop_assert!(value.is_object()),
                Err(ApiError::BadRequest { .. }) => {}
                Err(other) => prop_assert!(false, "{other:?}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Body {
        #[allow(dead_code)]
        stars: u8,
    }

    fn field_of(err: ApiError) -> (String, String) {
        match err {
            ApiError::BadRequest { errors, detail } => (
                errors.first().map(|e| e.field.clone()).unwrap_or_default(),
                detail,
            ),
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn wrong_types_and_unknown_fields_name_the_field() {
        let (field, detail) =
            field_of(parse_json::<Body>(br#"{"stars":"5"}"#).expect_err("invalid"));
        assert_eq!(field, "stars");
        assert!(detail.contains("invalid type"), "{detail}");
        assert!(!detail.contains("line"), "{detail}");
        let (_, detail) =
            field_of(parse_json::<Body>(br#"{"stars":5,"x":1}"#).expect_err("invalid"));
        assert!(detail.contains("unknown field `x`"), "{detail}");
    }

    #[test]
    fn only_objects_are_bodies() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Optional {
            #[allow(dead_code)]
            a: Option<u8>,
        }
        for body in ["[]", " [1]", "[null]", "5", "\"a\"", "null", "true"] {
            let (field, detail) =
                field_of(parse_json::<Optional>(body.as_bytes()).expect_err(body));
            assert_eq!(field, "body", "{body}");
            assert_eq!(detail, "body: must be a JSON object", "{body}");
        }
        assert!(parse_json::<Optional>(b" {} ").is_ok());
        assert!(parse_json::<Optional>(b"\n{\"a\": 1}").is_ok());
        let (_, detail) = field_of(parse_json::<Optional>(b"[1,").expect_err("malformed"));
        assert!(detail.starts_with("malformed JSON"), "{detail}");
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        let (field, detail) = field_of(parse_json::<Body>(b"{\"stars\":").expect_err("invalid"));
        assert_eq!(field, "");
        assert!(detail.starts_with("malformed JSON"), "{detail}");
    }

    #[test]
    fn json_content_types() {
        let mut headers = http::HeaderMap::new();
        assert!(!is_json(&headers));
        for (value, ok) in [
            ("application/json", true),
            ("application/json; charset=utf-8", true),
            ("Application/JSON", true),
            ("application/merge-patch+json", true),
            ("text/plain", false),
            ("application/jsonp", false),
        ] {
            headers.insert(header::CONTENT_TYPE, value.parse().expect("header"));
            assert_eq!(is_json(&headers), ok, "{value}");
        }
    }
}
