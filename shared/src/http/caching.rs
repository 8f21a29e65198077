//! HTTP caching of the answers (RFC 9110, RFC 9111), the same in Lambda and
//! in `hdoc-local`: a layer of [`super::app`] around every function's routes.
//!
//! - A public read (a `GET` answered 200 whose handler did not read the
//!   caller) carries a strong `ETag`, the hash of what it sends (its body and
//!   its `Link`), so it costs no second DynamoDB read; an `If-None-Match`
//!   that holds it is answered `304 Not Modified` without a body. It also
//!   carries `Cache-Control: public, max-age=0, s-maxage=S,
//!   stale-while-revalidate=R`: a shared cache (CloudFront in AWS, nginx in
//!   `scripts/cdn-bench.sh`) serves it for `S` seconds, then for `R` more
//!   while it asks again in the background, so a write shows everywhere
//!   within `S + R` = [`Config::cache_seconds`](crate::Config::cache_seconds)
//!   (`HDOC_CACHE_SECONDS`); browsers revalidate every time (`max-age=0`),
//!   which the `ETag` makes cheap.
//! - Anything else (an answer that depends on the caller, such as `/me` and
//!   `/ratings/{subject}/mine`; a write; an error) is `private, no-store`.
//! - Every answer carries `X-Content-Type-Options: nosniff`.
//!
//! Which handlers depend on the caller is not a list to keep up to date: the
//! [`Caller`](crate::Caller) extractor marks the request ([`CallerDependent`])
//! whenever a handler reads it.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// `Cache-Control` of everything that is not a public read.
pub const PRIVATE: &str = "private, no-store";

/// Set on each request by the caching layer; the `Caller` extractor marks it,
/// so the answer of a handler that read the caller is never shared.
#[derive(Clone, Debug, Default)]
pub struct CallerDependent(Arc<AtomicBool>);

impl CallerDependent {
    /// Marks the request in `extensions` as answered for its caller (no-op
    /// outside the caching layer).
    pub fn mark(extensions: &http::Extensions) {
        if let Some(flag) = extensions.get::<Self>() {
            flag.0.store(true, Ordering::Relaxed);
        }
    }

    fn is_marked(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The `Cache-Control` of public reads, from `HDOC_CACHE_SECONDS`.
#[derive(Clone, Debug)]
pub struct CachePolicy {
    public: HeaderValue,
}

impl CachePolicy {
    /// A shared cache may serve a public read for at most `seconds` after it
    /// was answered: fresh for the first half (`s-maxage`), stale while it
    /// revalidates for the rest (`stale-while-revalidate`). With 0, every
    /// read is revalidated (`no-cache`), cheaply through its `ETag`.
    pub fn new(seconds: u32) -> Self {
        let public = if seconds == 0 {
            "public, no-cache".to_owned()
        } else {
            let fresh = seconds.div_ceil(2);
            format!(
                "public, max-age=0, s-maxage={fresh}, stale-while-revalidate={}",
                seconds - fresh
            )
        };
        Self {
            public: HeaderValue::from_str(&public).expect("ASCII digits and words"),
        }
    }

    /// The `Cache-Control` of a public read.
    pub fn public(&self) -> &HeaderValue {
        &self.public
    }
}

/// The strong entity tag of an answer: the hash of its body and its `Link`
/// (the same body on a page that has gained a next page is another answer).
pub fn entity_tag(body: &[u8], link: Option<&HeaderValue>) -> HeaderValue {
    let mut hash = Sha256::new();
    hash.update(body);
    if let Some(link) = link {
        hash.update(b"\nLink: ");
        hash.update(link.as_bytes());
    }
    let digest = hash.finalize();
    let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16]);
    HeaderValue::from_str(&format!("\"{tag}\"")).expect("base64url is a valid header value")
}

/// Whether `If-None-Match` in `headers` holds `etag` (RFC 9110 13.1.2: `*`,
/// or a list of entity tags compared weakly). A malformed one matches nothing.
pub fn none_match(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let opaque = |tag: &str| {
        tag.trim()
            .strip_prefix("W/")
            .unwrap_or(tag.trim())
            .to_owned()
    };
    let ours = opaque(etag.to_str().unwrap_or_default());
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim() == "*" || opaque(tag) == ours)
}

/// The caching layer (see the module's documentation).
pub async fn caching(
    State(policy): State<CachePolicy>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = CallerDependent::default();
    request.extensions_mut().insert(caller.clone());
    let read = request.method() == Method::GET;
    let conditions = request.headers().clone();
    let response = next.run(request).await;
    let mut response = if read && response.status() == StatusCode::OK && !caller.is_marked() {
        public_read(response, &policy, &conditions).await
    } else {
        let mut response = response;
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(PRIVATE));
        response
    };
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A public read with its `ETag` and `Cache-Control`, or the bodiless 304
/// that `conditions` (the request's headers) earn.
async fn public_read(response: Response, policy: &CachePolicy, conditions: &HeaderMap) -> Response {
    let (mut parts, body) = response.into_parts();
    // Handlers answer from memory: holding the body to hash it costs a copy.
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(err) => {
            let mut response = crate::ApiError::internal(err).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(PRIVATE));
            return response;
        }
    };
    let etag = entity_tag(&body, parts.headers.get(header::LINK));
    parts.headers.insert(header::ETAG, etag.clone());
    parts
        .headers
        .insert(header::CACHE_CONTROL, policy.public().clone());
    if none_match(conditions, &etag) {
        // RFC 9110 15.4.5: what a 200 would carry to update a cache (ETag,
        // Cache-Control, Vary), nothing that describes a body.
        parts.status = StatusCode::NOT_MODIFIED;
        for name in [header::CONTENT_TYPE, header::CONTENT_LENGTH, header::LINK] {
            parts.headers.remove(name);
        }
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifetime_is_split_between_fresh_and_stale() {
        assert_eq!(
            CachePolicy::new(60).public(),
            "public, max-age=0, s-maxage=30, stale-while-revalidate=30"
        );
        assert_eq!(
            CachePolicy::new(5).public(),
            "public, max-age=0, s-maxage=3, stale-while-revalidate=2"
        );
        assert_eq!(CachePolicy::new(0).public(), "public, no-cache");
    }

    #[test]
    fn the_tag_is_the_body_and_the_link() {
        let link = HeaderValue::from_static("</users?cursor=a>; rel=\"next\"");
        let plain = entity_tag(b"[1]", None);
        assert_eq!(plain, entity_tag(b"[1]", None));
        assert_ne!(plain, entity_tag(b"[2]", None));
        assert_ne!(plain, entity_tag(b"[1]", Some(&link)));
        let text = plain.to_str().expect("ascii");
        assert!(
            text.starts_with('"') && text.ends_with('"') && text.len() == 24,
            "{text}"
        );
    }

    #[test]
    fn if_none_match_compares_lists_weakly_and_ignores_garbage() {
        let etag = entity_tag(b"{}", None);
        let tag = etag.to_str().expect("ascii").to_owned();
        let with = |values: &[&str]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(
                    header::IF_NONE_MATCH,
                    HeaderValue::from_str(value).expect("value"),
                );
            }
            none_match(&headers, &etag)
        };
        assert!(with(&[&tag]));
        assert!(with(&[&format!("W/{tag}")]));
        assert!(with(&[&format!("\"other\", {tag}")]));
        assert!(with(&["\"other\"", &tag]));
        assert!(with(&["*"]));
        assert!(!with(&[]));
        assert!(!with(&["\"other\""]));
        assert!(!with(&[tag.trim_matches('"')]));
        assert!(!with(&["garbage, ,,"]));
    }
}
