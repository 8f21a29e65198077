//! `/github/webhook`: GitHub's push webhook. A push to a verified
//! journeyer's journey repository recounts that journeyer at once, by the
//! journey job's own code (`activity::recount`); the hourly job stays the
//! safety net for a delivery that is lost.
//!
//! - Every delivery is signed: `X-Hub-Signature-256: sha256=<hex>`, the
//!   HMAC-SHA256 of the raw body with the webhook's secret
//!   (`HDOC_GITHUB_WEBHOOK_SECRET`; in AWS resolved from Secrets Manager).
//!   A missing or wrong signature (or no secret configured) is a 401, and
//!   nothing changes. The comparison is constant-time (`Mac::verify_slice`).
//! - `X-GitHub-Event: ping` is a 200; a `push` to the default branch of a
//!   verified journeyer's `journeyRepo` is recounted (202, with what it
//!   found); anything else is a 202, ignored.
//! - The push is dated when it arrives: the files its commits added or
//!   modified that the recount finds documented get today's date, without
//!   waiting for the events API to list the push.

use activity::github::GitHub;
use activity::journey::{Placeholders, PushHint};
use activity::{Counted, recount};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use bytes::Bytes;
use hdoc_shared::domain::UserId;
use hdoc_shared::http::Route;
use hdoc_shared::{ApiError, AppState, Result};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

/// The routes this function serves, for `template.yaml` and its tests.
pub const ROUTES: &[Route] = &[Route::signed("POST", "/github/webhook")];

/// The router for [`ROUTES`].
pub fn routes() -> Router<AppState> {
    Router::new().route("/github/webhook", post(webhook))
}

/// The signature header GitHub sends.
pub const SIGNATURE: &str = "x-hub-signature-256";
/// The event header GitHub sends.
pub const EVENT: &str = "x-github-event";

/// `sha256=<hex>` of `body` with `secret`, as GitHub signs a delivery.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Whether `header` is GitHub's signature of `body` with `secret`
/// (compared in constant time).
pub fn is_signed(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(given) = header
        .and_then(|value| value.strip_prefix("sha256="))
        .and_then(decode_hex)
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// The fields of a push delivery the webhook reads.
#[derive(Deserialize)]
struct Push {
    #[serde(rename = "ref")]
    git_ref: String,
    repository: PushRepository,
    #[serde(default)]
    commits: Vec<PushCommit>,
    #[serde(default)]
    deleted: bool,
}

#[derive(Deserialize)]
struct PushRepository {
    full_name: String,
    default_branch: Option<String>,
    owner: PushOwner,
}

/// A push delivery's owner has `login` (and, in older payloads, `name`).
#[derive(Deserialize)]
struct PushOwner {
    login: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct PushCommit {
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    modified: Vec<String>,
}

/// What the webhook did with a delivery.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// `X-GitHub-Event`.
    pub event: String,
    /// Whether a journeyer was recounted.
    pub recounted: bool,
    /// Days recorded for the first time (when recounted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_days: Option<u64>,
    /// Why nothing was recounted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
}

fn ignored(event: &str, why: &str) -> Delivery {
    Delivery {
        event: event.to_owned(),
        recounted: false,
        new_days: None,
        ignored: Some(why.to_owned()),
    }
}

/// The template's placeholders, read once a process for each API and
/// template (a webhook's recount would otherwise cost two more requests).
fn placeholders(api: &str, template: &str) -> Arc<Placeholders> {
    static KNOWN: OnceLock<Mutex<HashMap<String, Arc<Placeholders>>>> = OnceLock::new();
    let mut known = KNOWN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    known
        .entry(format!("{api} {template}"))
        .or_insert_with(|| Arc::new(Placeholders::new(template)))
        .clone()
}

/// `POST /github/webhook`.
#[tracing::instrument(skip_all)]
async fn webhook(
    State(state): State<AppState>,
    github: Option<Extension<GitHub>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let signed = state
        .config
        .webhook_secret
        .as_ref()
        .is_some_and(|secret| is_signed(secret.0.as_bytes(), &body, header(SIGNATURE)));
    if !signed {
        return Err(ApiError::Unauthorized);
    }
    let event = header(EVENT).unwrap_or_default().to_owned();
    match event.as_str() {
        "ping" => return Ok((StatusCode::OK, Json(ignored(&event, "pong"))).into_response()),
        "push" => {}
        _ => {
            let delivery = ignored(&event, "not a push");
            return Ok((StatusCode::ACCEPTED, Json(delivery)).into_response());
        }
    }
    let push: Push = serde_json::from_slice(&body)
        .map_err(|_| ApiError::bad_request("a push delivery must be GitHub's push payload"))?;
    let delivery = push_delivery(&state, github, &event, push).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)).into_response())
}

async fn push_delivery(
    state: &AppState,
    github: Option<Extension<GitHub>>,
    event: &str,
    push: Push,
) -> Result<Delivery> {
    let owner = push.repository.owner.login.or(push.repository.owner.name);
    let Some(id) = owner.and_then(|login| UserId::parse(&login).ok()) else {
        return Ok(ignored(event, "not a journeyer's repository"));
    };
    let Some(journeyer) = state.repo.journeyer(&id).await? else {
        return Ok(ignored(event, "not a journeyer's repository"));
    };
    let user = &journeyer.record.user;
    let journey_repo = user
        .journey_repo
        .as_ref()
        .filter(|repo| repo.is(&push.repository.full_name));
    if journey_repo.is_none() || !user.journey.verified {
        return Ok(ignored(
            event,
            "not a verified journeyer's journey repository",
        ));
    }
    let branch = push.repository.default_branch.as_deref().unwrap_or("main");
    if push.deleted || push.git_ref != format!("refs/heads/{branch}") {
        return Ok(ignored(event, "not a push to the default branch"));
    }
    let github = match github {
        Some(Extension(github)) => github,
        None => GitHub::new(&state.config),
    };
    let now = state.config.clock.now().to_offset(time::UtcOffset::UTC);
    let files: BTreeSet<String> = push
        .commits
        .into_iter()
        .flat_map(|commit| commit.added.into_iter().chain(commit.modified))
        .collect();
    let hint = PushHint {
        at: Some(now),
        files,
    };
    let template = placeholders(github.api(), &state.config.journey_template);
    let counted = recount(
        &state.repo,
        &github,
        &template,
        &id,
        Some(&hint),
        now.date(),
        None,
    )
    .await?;
    tracing::info!(
        id = id.as_str(),
        requests = counted.requests,
        result = ?counted.result,
        "a push recounted"
    );
    Ok(match counted.result {
        Counted::Recorded { new_days, .. } => Delivery {
            event: event.to_owned(),
            recounted: true,
            new_days: Some(new_days),
            ignored: None,
        },
        Counted::Skipped => ignored(event, "not a verified journeyer's journey repository"),
        // The hourly job will read it again.
        Counted::Failed { message, .. } => ignored(event, &message),
        Counted::Limited { .. } => {
            ignored(event, "GitHub's rate limit: the hourly job will count it")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_githubs() {
        // GitHub's documented example: secret "It's a Secret to Everybody",
        // body "Hello, World!".
        let sig = signature(b"It's a Secret to Everybody", b"Hello, World!");
        assert_eq!(
            sig,
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
        assert!(is_signed(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            Some(&sig)
        ));
        assert!(!is_signed(b"another secret", b"Hello, World!", Some(&sig)));
        assert!(!is_signed(
            b"It's a Secret to Everybody",
            b"Hello, World?",
            Some(&sig)
        ));
        assert!(!is_signed(b"k", b"b", None));
        assert!(!is_signed(b"k", b"b", Some("sha1=00")));
        assert!(!is_signed(b"k", b"b", Some("sha256=zz")));
    }
}
