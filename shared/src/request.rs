//! Parsing what a request brings: JSON bodies, query strings, pages.

use crate::cursor::{CursorKey, Position};
use crate::error::{ApiError, FieldError};
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
        let field = err.path().to_string();
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

/// The page sizes a list allows.
#[derive(Clone, Copy, Debug)]
pub struct PageLimits {
    pub default: u32,
    pub max: u32,
}

/// A page of a list the client asked for: how many items, and where to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// The list this page belongs to; cursors from other lists are refused.
    pub scope: String,
    pub limit: u32,
    /// Where to resume, from a verified cursor.
    pub start: Option<Position>,
}

impl PageRequest {
    /// Parses `limit` and `cursor` for the list named `scope`.
    pub fn parse(
        scope: impl Into<String>,
        limit: Option<&str>,
        cursor: Option<&str>,
        limits: PageLimits,
        key: &CursorKey,
    ) -> Result<Self, ApiError> {
        let limit = match limit {
            None => limits.default,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=limits.max).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid(
                        "limit",
                        format!("must be an integer from 1 to {}", limits.max),
                    )
                })?,
        };
        let scope = scope.into();
        let start = cursor
            .map(|cursor| {
                key.open(&scope, cursor)
                    .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor this list issued"))
            })
            .transpose()?;
        Ok(Self {
            scope,
            limit,
            start,
        })
    }

    /// How many items came before this page.
    pub fn offset(&self) -> u64 {
        self.start.as_ref().map_or(0, |start| start.served)
    }
}

/// Strategies for the property tests of the parsers (here and in `domain`).
#[cfg(test)]
pub(crate) mod strategies {
    use proptest::prelude::*;
    use serde_json::Value;

    /// Any place in any list: a cursor's content.
    pub fn position() -> impl Strategy<Value = crate::cursor::Position> {
        (
            prop::collection::btree_map(text(), text(), 0..4),
            any::<u64>(),
        )
            .prop_map(|(key, served)| crate::cursor::Position { key, served })
    }

    /// Any text: printable Unicode, any characters at all (controls and
    /// line breaks too), or ASCII.
    pub fn text() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), "(?s).{0,40}", "[\\x00-\\x7f]{0,40}"]
    }

    /// Any JSON value, nested a few levels.
    pub fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("JSON has no NaN", |f| f.is_finite())
                .prop_map(Value::from),
            text().prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::btree_map(text(), inner, 0..6)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    /// A JSON object of some of `fields` (and an unknown one) with any values.
    pub fn body_of(fields: &'static [&'static str]) -> impl Strategy<Value = Value> {
        let names = prop::sample::select([fields, &["unknown"]].concat());
        prop::collection::btree_map(names, json(), 0..fields.len() + 2).prop_map(|map| {
            Value::Object(map.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
        })
    }
}

#[cfg(test)]
mod properties {
    use super::strategies::{position, text};
    use super::*;
    use proptest::prelude::*;

    const LIMITS: PageLimits = PageLimits {
        default: 10,
        max: 100,
    };

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[allow(dead_code)]
        stars: u8,
    }

    proptest! {
        #[test]
        fn pages_parse_any_limit_and_cursor(
            limit in prop::option::of(text()),
            cursor in prop::option::of(text()),
        ) {
            let key = CursorKey::new("k");
            if let Ok(page) = PageRequest::parse("users", limit.as_deref(), cursor.as_deref(), LIMITS, &key) {
                prop_assert!((1..=LIMITS.max).contains(&page.limit));
            }
        }

        #[test]
        fn limits_are_the_integers_from_one_to_max(n in 0u64..1_000) {
            let key = CursorKey::new("k");
            let page = PageRequest::parse("users", Some(&n.to_string()), None, LIMITS, &key);
            prop_assert_eq!(page.is_ok(), (1..=100).contains(&n));
            if let Ok(page) = page {
                prop_assert_eq!(u64::from(page.limit), n);
            }
        }

        #[test]
        fn a_cursor_brings_back_its_position(scope in text(), position in position()) {
            let key = CursorKey::new("k");
            let cursor = key.seal(&scope, &position);
            let page = PageRequest::parse(scope.clone(), None, Some(&cursor), LIMITS, &key);
            prop_assert_eq!(page.ok().and_then(|page| page.start), Some(position));
        }

        #[test]
        fn any_bytes_are_a_body_or_a_400(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            match parse_json::<Body>(&bytes) {
                Ok(_) | Err(ApiError::BadRequest { .. }) => {}
                Err(other) => prop_assert!(false, "{other:?}"),
            }
        }

        #[test]
        fn any_json_is_a_body_or_a_400(value in super::strategies::json()) {
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

    #[test]
    fn limits_are_checked() {
        let key = CursorKey::new("k");
        let limits = PageLimits {
            default: 10,
            max: 100,
        };
        let parse = |limit| PageRequest::parse("users", limit, None, limits, &key);
        assert_eq!(parse(None).expect("default").limit, 10);
        assert_eq!(parse(Some("100")).expect("max").limit, 100);
        for bad in ["0", "101", "-1", "ten", "", "1.5", " 5"] {
            assert!(parse(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn cursors_are_bound_to_their_list() {
        let key = CursorKey::new("k");
        let limits = PageLimits {
            default: 10,
            max: 100,
        };
        let cursor = key.seal("users", &Position::default());
        assert!(PageRequest::parse("users", None, Some(&cursor), limits, &key).is_ok());
        assert!(PageRequest::parse("leaderboard", None, Some(&cursor), limits, &key).is_err());
    }
}
