//! `Idempotency-Key` on creates (`docs/api.md#idempotency-key`): a `POST`
//! that the same caller repeats with the same key within 24 hours gets the
//! first answer again (status, body and `Location`, byte for byte) and
//! writes nothing twice; the same key with another body or path is a 422;
//! a repeat that comes while the first is being written is a 409 with
//! `Retry-After`. The records of first answers are the store's
//! (`store/idempotency.rs`).
//!
//! A create handler takes its body as [`Create`] (a [`crate::JsonBody`]
//! with the key, if one was sent) and does its work inside [`create_once`]:
//!
//! ```ignore
//! // Create(new, key): Create<NewReview>
//! let answer = |review: &Review| {
//!     Answer::created(Some(format!("/reviews/{}", review.id.as_str())), review)
//! };
//! create_once(&state.repo, &caller, key, answer, async |once| {
//!     let author = state.repo.writer(&caller.sub).await?;
//!     let review = new.into_review(author, Timestamp::now());
//!     Ok(state.repo.create_review(review, once).await?)
//! })
//! .await
//! ```
//!
//! The store method adds the record to its write ([`KeyedCreate`]); the rest
//! (reading the record first, answering from it) is done here.

use super::caller::Caller;
use super::error::{ApiError, Result};
use super::extract::{json_bytes, parse_json};
use crate::store::{Answer, KeyedCreate, Replay, Repository};
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// The header's name, as a 400 names it.
pub const HEADER: &str = "Idempotency-Key";

/// A valid `Idempotency-Key` and the fingerprint of the request it came
/// with: a hash of its method, path and body, byte for byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey {
    key: String,
    fingerprint: String,
}

impl IdempotencyKey {
    /// The longest key.
    pub const MAX_LEN: usize = 255;

    /// Whether `raw` is a key: 1-255 printable ASCII characters (space to
    /// `~`), not starting or ending with a space, which HTTP drops.
    pub fn is_valid(raw: &[u8]) -> bool {
        (1..=Self::MAX_LEN).contains(&raw.len())
            && raw.iter().all(|b| (b' '..=b'~').contains(b))
            && raw.first() != Some(&b' ')
            && raw.last() != Some(&b' ')
    }
}

fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    for part in [method.as_bytes(), path.as_bytes(), body] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    URL_SAFE_NO_PAD.encode(hash.finalize())
}

/// The request's `Idempotency-Key`, if it has one; a key that is not
/// valid, or given twice, is a 400 naming the header.
fn key_of(headers: &http::HeaderMap) -> Result<Option<String>, ApiError> {
    let mut values = headers.get_all(HEADER).iter();
    match (values.next().map(HeaderValue::as_bytes), values.next()) {
        (None, _) => Ok(None),
        (Some(raw), None) if IdempotencyKey::is_valid(raw) => {
            Ok(Some(String::from_utf8_lossy(raw).into_owned()))
        }
        (Some(_), None) => Err(ApiError::invalid(
            HEADER,
            "must be 1 to 255 printable ASCII characters",
        )),
        (Some(_), Some(_)) => Err(ApiError::invalid(HEADER, "must be given once")),
    }
}

/// The `Idempotency-Key` of a create without a body (`POST
/// /users/{id}/verification`): its fingerprint is the method and path.
#[derive(Debug)]
pub struct CreateKey(pub Option<IdempotencyKey>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for CreateKey {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, ApiError> {
        let key = key_of(&parts.headers)?;
        let (method, path) = (parts.method.to_string(), parts.uri.path().to_owned());
        Ok(CreateKey(key.map(|key| IdempotencyKey {
            key,
            fingerprint: fingerprint(&method, &path, b""),
        })))
    }
}

/// A create's JSON body, parsed as [`crate::JsonBody`] parses it, and the
/// request's `Idempotency-Key` if it has one. A key that is not valid, or
/// given twice, is a 400 naming the header.
#[derive(Debug)]
pub struct Create<T>(pub T, pub Option<IdempotencyKey>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Create<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let key = key_of(request.headers())?;
        let method = request.method().to_string();
        let path = request.uri().path().to_owned();
        let bytes = json_bytes(request, state).await?;
        let body = parse_json(&bytes)?;
        let key = key.map(|key| IdempotencyKey {
            key,
            fingerprint: fingerprint(&method, &path, &bytes),
        });
        Ok(Create(body, key))
    }
}

impl Answer {
    /// `201 Created` with `body` as JSON, and its `Location` if it has one.
    pub fn created(location: Option<String>, body: &impl Serialize) -> Self {
        Self {
            status: StatusCode::CREATED.as_u16(),
            location,
            body: serde_json::to_string(body).expect("the API's own types serialize to JSON"),
        }
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let json = HeaderValue::from_static("application/json");
        let mut response = (status, [(header::CONTENT_TYPE, json)], self.body).into_response();
        if let Some(location) = self.location.and_then(|l| HeaderValue::try_from(l).ok()) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    }
}

/// Runs `create` once per caller and `Idempotency-Key` and answers what it
/// created with `answer`. Without a key, that is all. With one: a fresh
/// record of the key answers instead (its answer, or a 422 for another
/// request); else `create` runs, given the [`KeyedCreate`] that its store call
/// writes the record with, in the create's own transaction. A create that
/// fails (a record written meanwhile by a request with the same key stops
/// it, and so may what that request changed) looks at the record once more.
pub async fn create_once<T>(
    repo: &Repository,
    caller: &Caller,
    key: Option<IdempotencyKey>,
    answer: impl Fn(&T) -> Answer + Sync,
    create: impl AsyncFnOnce(Option<&KeyedCreate<'_, T>>) -> Result<T>,
) -> Result<Response> {
    let Some(key) = key else {
        return Ok(answer(&create(None).await?).into_response());
    };
    let once = KeyedCreate::new(&caller.sub, &key.key, &key.fingerprint, &answer);
    if let Some(first) = repo.replay(&once).await? {
        return replayed(first);
    }
    match create(Some(&once)).await {
        Ok(created) => Ok(answer(&created).into_response()),
        Err(err) => match repo.replay(&once).await {
            Ok(Some(first)) => replayed(first),
            _ => Err(err),
        },
    }
}

fn replayed(first: Replay) -> Result<Response> {
    match first {
        Replay::Same(answer) => {
            tracing::info!(
                status = answer.status,
                "replayed the first answer to an Idempotency-Key"
            );
            Ok(answer.into_response())
        }
        Replay::Other => Err(ApiError::IdempotencyKeyReused),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_1_to_255_printable_ascii_without_outer_spaces() {
        for good in [
            "a",
            "order 42",
            "~!#$%&'()*+,-./:;<=>?@[\\]^_`{|}",
            &"k".repeat(255),
        ] {
            assert!(IdempotencyKey::is_valid(good.as_bytes()), "{good:?}");
        }
        for bad in ["", " a", "a ", "a\tb", "a\u{7f}", "ключ", &"k".repeat(256)] {
            assert!(!IdempotencyKey::is_valid(bad.as_bytes()), "{bad:?}");
        }
    }

    #[test]
    fn a_fingerprint_is_of_method_path_and_body() {
        let first = fingerprint("POST", "/articles", b"{}");
        assert_eq!(first, fingerprint("POST", "/articles", b"{}"));
        assert_ne!(first, fingerprint("POST", "/reviews", b"{}"));
        assert_ne!(first, fingerprint("POST", "/articles", b"{ }"));
        // Lengths are hashed too, so parts cannot trade bytes.
        assert_ne!(
            fingerprint("POST", "/a", b"b"),
            fingerprint("POST", "/ab", b"")
        );
    }
}
