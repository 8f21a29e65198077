//! GitHub's REST API as the activity job uses it: one journeyer's public
//! events (`GET /users/{login}/events/public`), read as a good API citizen.
//!
//! - Conditional: the first page is asked for with `If-None-Match` and the
//!   ETag stored from last time; a 304 means nothing new (and, with a token,
//!   costs no rate limit).
//! - Paged by `Link: rel="next"`, 100 events a page, at most the 300 events
//!   (90 days) GitHub keeps; reading stops at the page that reaches the
//!   newest event seen last time.
//! - `X-RateLimit-Remaining` / `-Reset` are read from every answer: at 0 the
//!   job stops until the reset. A secondary rate limit (403 or 429 with
//!   `Retry-After`, or GitHub's message) is waited out when it is short and
//!   time allows, otherwise the job stops until then.
//! - `User-Agent` always (GitHub refuses requests without one); the token,
//!   if configured, as `Authorization: Bearer`, and only to the configured
//!   API's origin (a `Link` elsewhere is not followed).
//! - Requests are serial, as GitHub asks of an integration.

use bytes::Bytes;
use hdoc_shared::Config;
use hdoc_shared::clock::Clock;
use hdoc_shared::config::GitHubToken;
use http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// Sent with every request: GitHub refuses requests without a `User-Agent`.
pub const USER_AGENT: &str = concat!(
    "hdoc-backend-activity/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/100DaysOfCloud)"
);
/// The REST API version the job is written against.
const API_VERSION: &str = "2022-11-28";
/// Events a page (GitHub's maximum).
pub const PER_PAGE: usize = 100;
/// GitHub keeps a user's last 300 public events (of the last 90 days).
pub const MAX_EVENTS: usize = 300;
/// Pages read at most for one journeyer.
pub const MAX_PAGES: usize = MAX_EVENTS / PER_PAGE;
/// One request, from connecting to the last byte of the body.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A page of 100 events is a few hundred KB; anything near this is not one.
const BODY_LIMIT: usize = 16 << 20;
/// A secondary rate limit's `Retry-After` up to this is waited out in the
/// invocation (time allowing); a longer one stops the run until then.
pub const MAX_INLINE_WAIT: Duration = Duration::from_secs(60);
/// How many short waits one request may take before the run stops.
const MAX_WAITS: u32 = 2;
/// GitHub's advice for a secondary rate limit that names no time: wait at
/// least a minute.
const SECONDARY_DEFAULT: Duration = Duration::from_secs(60);
/// The longest a `Retry-After` is taken at its word: GitHub's limits reset
/// within the hour, and a longer one (or one too large to add to a time)
/// would stop the job for as long.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
/// GitHub's message is stored (and shown in the run) cut to this many characters.
const MAX_MESSAGE: usize = 300;

/// The client: HTTPS with the system's roots (in Lambda, Amazon Linux's;
/// `SSL_CERT_FILE` is honoured), or plain HTTP for a local or test server.
#[derive(Clone)]
pub struct GitHub {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    /// The API's base URL, without a trailing `/`.
    api: Arc<str>,
    token: Option<GitHubToken>,
    /// What time it is: the system's, or a test's.
    clock: Clock,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub")
            .field("api", &self.api)
            .field("token", &self.token.is_some())
            .finish()
    }
}

/// What GitHub said of its primary rate limit in its last answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimit {
    /// `X-RateLimit-Remaining`.
    pub remaining: Option<u64>,
    /// `X-RateLimit-Reset`, seconds since the epoch.
    pub reset: Option<i64>,
}

impl RateLimit {
    fn of(headers: &HeaderMap) -> Option<Self> {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse().ok();
        let limit = Self {
            remaining: number("x-ratelimit-remaining"),
            reset: number("x-ratelimit-reset").and_then(|reset: u64| i64::try_from(reset).ok()),
        };
        (limit != Self::default()).then_some(limit)
    }

    /// When the limit resets (at the latest a minute from now if GitHub
    /// did not say).
    pub fn reset_at(&self) -> OffsetDateTime {
        self.reset
            .and_then(|reset| OffsetDateTime::from_unix_timestamp(reset).ok())
            .unwrap_or_else(|| OffsetDateTime::now_utc() + SECONDARY_DEFAULT)
    }

    pub fn exhausted(&self) -> bool {
        self.remaining == Some(0)
    }
}

/// Why the job must stop asking GitHub for a while.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// The primary rate limit is spent until its reset.
    Primary,
    /// A secondary rate limit: `Retry-After`, or a minute.
    Secondary,
}

impl Limit {
    /// As the run reports it (`stoppedBy`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "rateLimit",
            Self::Secondary => "secondaryRateLimit",
        }
    }
}

/// Why a read of GitHub for one journeyer stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetch {
    /// Not readable: `status` is GitHub's answer (404: the account was
    /// renamed or deleted; 5xx), `None` when GitHub could not be reached.
    Failed {
        status: Option<u16>,
        message: String,
    },
    /// A rate limit: no more requests until `until`. Nothing of this
    /// journeyer was read; the next run reads it again.
    Limited { until: OffsetDateTime, why: Limit },
}

/// What one journeyer's reads of GitHub cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reading {
    /// Requests sent to GitHub (waits and retries included).
    pub requests: u64,
    /// The rate limit as of the last answer.
    pub rate: Option<RateLimit>,
}

/// GitHub's JSON media type.
const JSON: &str = "application/vnd.github+json";
/// A file's raw content.
const RAW: &str = "application/vnd.github.raw+json";

/// One answer of [`GitHub::fetch`].
#[derive(Clone, Debug)]
pub struct Page {
    pub status: u16,
    pub etag: Option<String>,
    /// The `rel="next"` page on the API's origin.
    pub next: Option<String>,
    pub body: Bytes,
    /// What a status other than 200 or 304 means, as a failure.
    pub failed: Option<Fetch>,
}

impl Page {
    pub fn not_modified(&self) -> bool {
        self.status == 304
    }

    /// This page, or the failure its status means (anything but 200 and
    /// 304, once the caller has taken the statuses it reads itself, such as
    /// a 404).
    pub fn checked(mut self) -> Result<Self, Fetch> {
        match self.failed.take() {
            Some(failure) => Err(failure),
            None => Ok(self),
        }
    }

    /// The body as JSON of `T`, or a failure saying what was expected.
    pub fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, Fetch> {
        serde_json::from_slice(&self.body).map_err(|err| Fetch::Failed {
            status: Some(self.status),
            message: format!("GitHub's answer is not {what}: {err}"),
        })
    }
}

/// One answer.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// GitHub's error body: `{"message": "...", "documentation_url": "..."}`.
#[derive(Deserialize)]
struct ErrorBody {
    message: Option<String>,
}

/// The `rel="next"` target of a `Link` header (RFC 8288).
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|link| {
            let (target, params) = link.split_once(';')?;
            let next = params.split(';').any(|param| {
                let param = param.trim();
                param == "rel=\"next\"" || param == "rel=next"
            });
            next.then(|| {
                target
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
        })
}

/// `Retry-After` in seconds (GitHub sends seconds, not dates).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

/// `now + wait`, saturating at the latest time there is rather than panicking.
fn after(now: OffsetDateTime, wait: Duration) -> OffsetDateTime {
    time::Duration::try_from(wait)
        .ok()
        .and_then(|wait| now.checked_add(wait))
        .unwrap_or(time::PrimitiveDateTime::MAX.assume_utc())
}

/// At most [`MAX_MESSAGE`] characters of `said`, marked when cut.
fn excerpt(said: &str) -> String {
    match said.char_indices().nth(MAX_MESSAGE) {
        Some((end, _)) => format!("{}...", &said[..end]),
        None => said.to_owned(),
    }
}

/// What a 403 or 429 means: a rate limit (and until when), or none.
fn limit_of(answer: &Answer, now: OffsetDateTime) -> Option<(Limit, OffsetDateTime)> {
    if !matches!(
        answer.status,
        StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
    ) {
        return None;
    }
    if let Some(wait) = retry_after(&answer.headers) {
        return Some((Limit::Secondary, after(now, wait)));
    }
    let rate = RateLimit::of(&answer.headers);
    if let Some(rate) = rate.filter(RateLimit::exhausted) {
        return Some((Limit::Primary, rate.reset_at()));
    }
    let message = String::from_utf8_lossy(&answer.body).to_lowercase();
    if answer.status == StatusCode::TOO_MANY_REQUESTS || message.contains("rate limit") {
        return Some((Limit::Secondary, after(now, SECONDARY_DEFAULT)));
    }
    None
}

fn failure(answer: &Answer) -> Fetch {
    let said = serde_json::from_slice::<ErrorBody>(&answer.body)
        .ok()
        .and_then(|body| body.message)
        .filter(|message| !message.is_empty());
    let status = answer.status;
    let message = match (status, said) {
        (StatusCode::NOT_FOUND, _) => {
            "not found on GitHub: the account was renamed or deleted".to_owned()
        }
        (_, Some(said)) => format!("GitHub answered {status}: {}", excerpt(&said)),
        (_, None) => format!("GitHub answered {status}"),
    };
    Fetch::Failed {
        status: Some(status.as_u16()),
        message,
    }
}

impl GitHub {
    /// The client for the configured API (`HDOC_GITHUB_API`) and token
    /// (`HDOC_GITHUB_TOKEN`).
    pub fn new(config: &Config) -> Self {
        Self::with_api(&config.github_api, config.github_token.clone())
    }

    /// The client for the API at `api`, with `token` if given.
    pub fn with_api(api: &str, token: Option<GitHubToken>) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.set_nodelay(true);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let builder = match builder.with_provider_and_native_roots(provider.clone()) {
            Ok(builder) => builder,
            // No readable roots: HTTPS will fail, each failure recorded as
            // GitHub unreachable; plain HTTP (a local server) still works.
            Err(err) => {
                tracing::warn!(error = %err, "no TLS roots found; HTTPS to GitHub will fail");
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .expect("ring supports the default protocol versions")
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth();
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
            }
        };
        let https = builder.https_or_http().enable_http1().wrap_connector(http);
        Self {
            client: Client::builder(TokioExecutor::new()).build(https),
            api: api.trim_end_matches('/').into(),
            token,
            clock: Clock::system(),
        }
    }

    /// The same client on `clock` (tests: a clock they move on).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The clock the client and the job go by.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The API's base URL.
    pub fn api(&self) -> &str {
        &self.api
    }

    /// One GET of `url`, asking for the media type `accept`; `Err` when no
    /// answer came (connection, TLS, timeout).
    async fn get_as(&self, url: &str, etag: Option<&str>, accept: &str) -> Result<Answer, String> {
        let mut request = Request::get(url)
            .header(header::USER_AGENT, USER_AGENT)
            .header(header::ACCEPT, accept)
            .header("x-github-api-version", API_VERSION);
        if let Some(token) = &self.token {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", token.0))
                .map_err(|_| "the GitHub token is not a valid header value".to_owned())?;
            value.set_sensitive(true);
            request = request.header(header::AUTHORIZATION, value);
        }
        if let Some(etag) = etag.and_then(|etag| HeaderValue::from_str(etag).ok()) {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        let request = request
            .body(Empty::new())
            .map_err(|err| format!("a bad request URL {url}: {err}"))?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|err| {
                format!(
                    "GitHub could not be reached: {}",
                    hdoc_shared::telemetry::chain(&err)
                )
            })?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, BODY_LIMIT)
                .collect()
                .await
                .map_err(|err| format!("GitHub's answer was cut off: {err}"))?
                .to_bytes();
            Ok(Answer {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("GitHub did not answer within {REQUEST_TIMEOUT:?}"))?
    }

    async fn get_patiently_as(
        &self,
        url: &str,
        etag: Option<&str>,
        accept: &str,
        deadline: Option<Instant>,
        reading: &mut Reading,
    ) -> Result<Answer, Fetch> {
        let mut waits = 0;
        loop {
            reading.requests += 1;
            let answer = self
                .get_as(url, etag, accept)
                .await
                .map_err(|message| Fetch::Failed {
                    status: None,
                    message,
                })?;
            if let Some(rate) = RateLimit::of(&answer.headers) {
                reading.rate = Some(rate);
            }
            let Some((why, until)) = limit_of(&answer, self.clock.now()) else {
                return Ok(answer);
            };
            let wait = (until - self.clock.now())
                .try_into()
                .unwrap_or(Duration::ZERO);
            let in_time = deadline.is_none_or(|deadline| Instant::now() + wait < deadline);
            if why == Limit::Primary || wait > MAX_INLINE_WAIT || waits >= MAX_WAITS || !in_time {
                return Err(Fetch::Limited { until, why });
            }
            waits += 1;
            tracing::info!(
                ?wait,
                url,
                "secondary rate limit: waiting, then asking again"
            );
            self.clock.sleep(wait).await;
        }
    }

    /// One GET of `path` (below the API's base URL, or a whole URL on the
    /// API's origin, as a `Link` gives it), conditional on `etag`, waiting
    /// out a short secondary rate limit: the answer whatever its status
    /// (200, 304, 404, ...), or `Err` for a rate limit or no answer. `raw`
    /// asks for a file's raw content (`application/vnd.github.raw+json`).
    pub async fn fetch(
        &self,
        path: &str,
        etag: Option<&str>,
        raw: bool,
        deadline: Option<Instant>,
        reading: &mut Reading,
    ) -> Result<Page, Fetch> {
        if reading.rate.is_some_and(|rate| rate.exhausted()) {
            let until = reading.rate.unwrap_or_default().reset_at();
            return Err(Fetch::Limited {
                until,
                why: Limit::Primary,
            });
        }
        let url = if path.starts_with(&format!("{}/", self.api)) {
            path.to_owned()
        } else {
            format!("{}{path}", self.api)
        };
        let accept = if raw { RAW } else { JSON };
        let answer = self
            .get_patiently_as(&url, etag, accept, deadline, reading)
            .await?;
        let next =
            next_link(&answer.headers).filter(|next| next.starts_with(&format!("{}/", self.api)));
        let etag = answer
            .headers
            .get(header::ETAG)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let failed = match answer.status {
            StatusCode::OK | StatusCode::NOT_MODIFIED => None,
            _ => Some(failure(&answer)),
        };
        Ok(Page {
            status: answer.status.as_u16(),
            etag,
            next,
            body: answer.body,
            failed,
        })
    }

    /// A new, empty [`Reading`] (no request yet).
    pub fn reading() -> Reading {
        Reading {
            requests: 0,
            rate: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    #[test]
    fn the_next_link_is_found_among_others() {
        let link = "<https://api.github.com/user/1/events/public?per_page=100&page=2>; rel=\"next\", \
                    <https://api.github.com/user/1/events/public?per_page=100&page=3>; rel=\"last\"";
        assert_eq!(
            next_link(&headers(&[("link", link)])).as_deref(),
            Some("https://api.github.com/user/1/events/public?per_page=100&page=2")
        );
        let last = "<https://api.github.com/x?page=1>; rel=\"prev\", <https://api.github.com/x?page=1>; rel=\"first\"";
        assert_eq!(next_link(&headers(&[("link", last)])), None);
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    fn answer(status: u16, pairs: &[(&str, &str)], body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).expect("status"),
            headers: headers(pairs),
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn rate_limits_are_told_from_other_refusals() {
        let primary = answer(
            403,
            &[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "2000000000"),
            ],
            r#"{"message": "API rate limit exceeded"}"#,
        );
        let (why, until) = limit_of(&primary, OffsetDateTime::now_utc()).expect("a limit");
        assert_eq!(why, Limit::Primary);
        assert_eq!(until.unix_timestamp(), 2_000_000_000);
        let secondary = answer(
            403,
            &[("retry-after", "30"), ("x-ratelimit-remaining", "10")],
            "{}",
        );
        assert_eq!(
            limit_of(&secondary, OffsetDateTime::now_utc()).map(|l| l.0),
            Some(Limit::Secondary)
        );
        let told = answer(
            403,
            &[("x-ratelimit-remaining", "10")],
            r#"{"message": "You have exceeded a secondary rate limit."}"#,
        );
        assert_eq!(
            limit_of(&told, OffsetDateTime::now_utc()).map(|l| l.0),
            Some(Limit::Secondary)
        );
        assert_eq!(
            limit_of(&answer(429, &[], ""), OffsetDateTime::now_utc()).map(|l| l.0),
            Some(Limit::Secondary)
        );
        let forbidden = answer(
            403,
            &[("x-ratelimit-remaining", "10")],
            r#"{"message": "Forbidden"}"#,
        );
        assert_eq!(limit_of(&forbidden, OffsetDateTime::now_utc()), None);
        assert_eq!(
            limit_of(&answer(404, &[], ""), OffsetDateTime::now_utc()),
            None
        );
    }

    #[test]
    fn a_retry_after_far_in_the_future_is_clamped_not_a_panic() {
        let now = OffsetDateTime::now_utc();
        for huge in ["18446744073709551615", "9999999999999"] {
            let (why, until) =
                limit_of(&answer(429, &[("retry-after", huge)], ""), now).expect("a limit");
            assert_eq!(why, Limit::Secondary);
            assert_eq!(until - now, time::Duration::days(1), "{huge}");
        }
        let reset = answer(
            403,
            &[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "18446744073709551615"),
            ],
            "{}",
        );
        let (why, until) = limit_of(&reset, now).expect("a limit");
        assert_eq!(why, Limit::Primary);
        assert!(
            until > now && until - now <= time::Duration::minutes(2),
            "{until}"
        );
        assert_eq!(
            after(now, Duration::MAX),
            time::PrimitiveDateTime::MAX.assume_utc()
        );
    }

    #[test]
    fn a_long_message_from_github_is_kept_short() {
        let said = "é".repeat(10_000);
        let body = serde_json::json!({ "message": said }).to_string();
        let Fetch::Failed { message, .. } = failure(&answer(500, &[], &body)) else {
            panic!("a failure");
        };
        assert!(
            message.chars().count() <= 360,
            "{} characters",
            message.chars().count()
        );
        assert!(message.starts_with("GitHub answered 500 Internal Server Error: éé"));
        assert!(message.ends_with("é..."), "{message}");
        let short = failure(&answer(500, &[], r#"{"message": "Boom"}"#));
        assert!(matches!(&short, Fetch::Failed { message, .. } if message.ends_with(": Boom")));
    }

    #[test]
    fn failures_say_what_github_said() {
        let gone = failure(&answer(404, &[], r#"{"message": "Not Found"}"#));
        assert!(
            matches!(&gone, Fetch::Failed { status: Some(404), message } if message.contains("renamed")),
            "{gone:?}"
        );
        let down = failure(&answer(502, &[], "<html>"));
        assert_eq!(
            down,
            Fetch::Failed {
                status: Some(502),
                message: "GitHub answered 502 Bad Gateway".into()
            }
        );
    }
}
