//! Configuration, read once at start-up from the environment.

use crate::clock::Clock;
use std::env;

/// Where the API stores things and how it talks to browsers.
#[derive(Clone, Debug)]
pub struct Config {
    /// The single DynamoDB table (`HDOC_TABLE`).
    pub table: String,
    /// The photo bucket (`HDOC_BUCKET`), used by the reviews function.
    pub bucket: Option<String>,
    /// Public base URL under which photos are served (`HDOC_MEDIA_BASE_URL`).
    pub media_base_url: Option<String>,
    /// Deployment stage: `local`, `dev`, `staging` or `prod` (`HDOC_STAGE`).
    pub stage: String,
    /// Origins allowed by CORS (`HDOC_CORS_ORIGINS`, comma separated; `*` for any).
    pub cors_origins: Vec<String>,
    /// DynamoDB endpoint override (`AWS_ENDPOINT_URL_DYNAMODB`), for local runs and tests.
    pub dynamodb_endpoint: Option<String>,
    /// S3 endpoint override (`AWS_ENDPOINT_URL_S3`).
    pub s3_endpoint: Option<String>,
    /// The X-Ray daemon (`AWS_XRAY_DAEMON_ADDRESS`, which Lambda sets when
    /// tracing is active): DynamoDB and S3 calls are sent to it as subsegments.
    pub xray_daemon: Option<String>,
    /// Key that signs pagination cursors (`HDOC_CURSOR_SECRET`).
    pub cursor_secret: String,
    /// Fixed keys for the SDK instead of its default chain: `hdoc-local`
    /// sets these for its emulators. `None` in Lambda (the function's role).
    pub static_credentials: Option<StaticCredentials>,
    /// Base URL of GitHub's REST API (`HDOC_GITHUB_API`, default
    /// [`GITHUB_API`]), read by the activity job.
    pub github_api: String,
    /// Token for GitHub's API (`HDOC_GITHUB_TOKEN`), optional: sent as
    /// `Authorization: Bearer` by the activity job. Without one GitHub allows
    /// 60 requests an hour and counts its 304s (docs/activity.md).
    pub github_token: Option<GitHubToken>,
    /// The Journey Template (`HDOC_JOURNEY_TEMPLATE`, `owner/name`, default
    /// [`JOURNEY_TEMPLATE`]): the journey job reads its placeholder page's
    /// blob SHAs from it (docs/journey.md).
    pub journey_template: String,
    /// The secret of GitHub's push webhook (`HDOC_GITHUB_WEBHOOK_SECRET`;
    /// in AWS resolved from Secrets Manager into the function's
    /// environment). Without one, every webhook delivery is a 401.
    pub webhook_secret: Option<GitHubToken>,
    /// What time it is for what the API stamps and decides by: the system's
    /// clock; tests set one they move on ([`Clock::manual`]).
    pub clock: Clock,
    /// The public base path of the API's `Link` headers
    /// (`HDOC_LINK_BASE_PATH`, default empty: the API's root), such as
    /// `/api` when clients reach the API behind the front end's `/api`
    /// rewrites, so that a client following a link stays under it.
    pub link_base_path: String,
    /// How long a write may take to show in the public reads that shared
    /// caches (CloudFront, nginx) hold, in seconds (`HDOC_CACHE_SECONDS`,
    /// default [`DEFAULT_CACHE_SECONDS`]; 0: every read is revalidated).
    /// See `http/caching.rs`.
    pub cache_seconds: u32,
}

/// [`Config::cache_seconds`] when `HDOC_CACHE_SECONDS` is not set.
pub const DEFAULT_CACHE_SECONDS: u32 = 60;

/// The most [`Config::cache_seconds`] may be: a day.
pub const MAX_CACHE_SECONDS: u32 = 86_400;

/// GitHub's public REST API.
pub const GITHUB_API: &str = "https://api.github.com";

/// A GitHub token: its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct GitHubToken(pub String);

impl std::fmt::Debug for GitHubToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GitHubToken(..)")
    }
}

/// Fixed AWS keys and region, for emulators that check signatures.
#[derive(Clone, Debug)]
pub struct StaticCredentials {
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
}

/// The community's Journey Template repository.
pub const JOURNEY_TEMPLATE: &str = "100DaysOfCloud/100DaysOfCloud";

/// The cursor key used when none is configured; only allowed on the `local` stage.
pub const DEV_CURSOR_SECRET: &str = "hdoc-local-cursor-secret";

impl Config {
    /// Reads the configuration from the process environment.
    ///
    /// Panics with a clear message when a deployed stage lacks a required
    /// setting: a Lambda that cannot be configured should fail its cold start.
    pub fn from_env() -> Self {
        Self::from_lookup(|key| env::var(key).ok().filter(|v| !v.is_empty()))
    }

    /// Builds a configuration from any key lookup (the environment, or a test's map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let stage = get("HDOC_STAGE").unwrap_or_else(|| "local".to_owned());
        let local = stage == "local";
        let required = |key: &str, local_default: &str| match get(key) {
            Some(value) => value,
            None if local => local_default.to_owned(),
            None => panic!("{key} must be set on stage {stage}"),
        };
        Self {
            table: required("HDOC_TABLE", "hdoc"),
            bucket: get("HDOC_BUCKET"),
            media_base_url: get("HDOC_MEDIA_BASE_URL"),
            cors_origins: required("HDOC_CORS_ORIGINS", "*")
                .split(',')
                .map(|origin| origin.trim().to_owned())
                .filter(|origin| !origin.is_empty())
                .collect(),
            dynamodb_endpoint: get("AWS_ENDPOINT_URL_DYNAMODB"),
            s3_endpoint: get("AWS_ENDPOINT_URL_S3"),
            xray_daemon: get("AWS_XRAY_DAEMON_ADDRESS"),
            cursor_secret: required("HDOC_CURSOR_SECRET", DEV_CURSOR_SECRET),
            static_credentials: None,
            github_api: get("HDOC_GITHUB_API")
                .unwrap_or_else(|| GITHUB_API.to_owned())
                .trim_end_matches('/')
                .to_owned(),
            github_token: get("HDOC_GITHUB_TOKEN").map(GitHubToken),
            journey_template: get("HDOC_JOURNEY_TEMPLATE")
                .unwrap_or_else(|| JOURNEY_TEMPLATE.to_owned()),
            webhook_secret: get("HDOC_GITHUB_WEBHOOK_SECRET").map(GitHubToken),
            clock: Clock::system(),
            link_base_path: get("HDOC_LINK_BASE_PATH")
                .map(|raw| link_base_path(&raw))
                .unwrap_or_default(),
            cache_seconds: get("HDOC_CACHE_SECONDS")
                .map(|raw| cache_seconds(&raw))
                .unwrap_or(DEFAULT_CACHE_SECONDS),
            stage,
        }
    }
}

/// `HDOC_LINK_BASE_PATH` as links use it: a leading `/`, no trailing one.
/// Panics (at start-up) on a value a `Link` header cannot carry.
fn link_base_path(raw: &str) -> String {
    let path = raw.trim().trim_end_matches('/');
    let valid = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-._~%!$&'()*+,;=:@".contains(&b));
    assert!(
        valid,
        "HDOC_LINK_BASE_PATH must be a URL path such as /api, not {raw:?}"
    );
    match path {
        "" => String::new(),
        path if path.starts_with('/') => path.to_owned(),
        path => format!("/{path}"),
    }
}

/// `HDOC_CACHE_SECONDS`: whole seconds up to [`MAX_CACHE_SECONDS`]. Panics
/// (at start-up) on anything else.
fn cache_seconds(raw: &str) -> u32 {
    raw.trim()
        .parse()
        .ok()
        .filter(|seconds| *seconds <= MAX_CACHE_SECONDS)
        .unwrap_or_else(|| {
            panic!("HDOC_CACHE_SECONDS must be whole seconds from 0 to {MAX_CACHE_SECONDS}, not {raw:?}")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Config {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|key| map.get(key).cloned())
    }

    #[test]
    fn local_stage_has_defaults() {
        let config = config(&[]);
        assert_eq!(config.stage, "local");
        assert_eq!(config.table, "hdoc");
        assert_eq!(config.cors_origins, vec!["*"]);
        assert_eq!(config.cursor_secret, DEV_CURSOR_SECRET);
        assert_eq!(config.github_api, GITHUB_API);
        assert_eq!(config.github_token, None);
        assert_eq!(config.link_base_path, "");
        assert_eq!(config.cache_seconds, DEFAULT_CACHE_SECONDS);
    }

    #[test]
    fn the_link_base_path_is_a_path_without_a_trailing_slash() {
        for (raw, path) in [
            ("/api", "/api"),
            ("/api/", "/api"),
            ("api/v1", "/api/v1"),
            ("/", ""),
        ] {
            let config = config(&[("HDOC_LINK_BASE_PATH", raw)]);
            assert_eq!(config.link_base_path, path, "{raw}");
        }
    }

    #[test]
    #[should_panic(expected = "HDOC_LINK_BASE_PATH must be a URL path")]
    fn a_link_base_path_a_header_cannot_carry_is_refused() {
        config(&[("HDOC_LINK_BASE_PATH", "/api>; rel=\"evil\"")]);
    }

    #[test]
    fn cache_seconds_are_whole_seconds_up_to_a_day() {
        assert_eq!(config(&[("HDOC_CACHE_SECONDS", "0")]).cache_seconds, 0);
        assert_eq!(config(&[("HDOC_CACHE_SECONDS", "120")]).cache_seconds, 120);
        for bad in ["-1", "1.5", "86401", "soon"] {
            let refused = std::panic::catch_unwind(|| config(&[("HDOC_CACHE_SECONDS", bad)]));
            assert!(refused.is_err(), "{bad}");
        }
    }

    #[test]
    fn the_github_token_is_never_shown() {
        let config = config(&[
            ("HDOC_GITHUB_TOKEN", "ghp_secret"),
            ("HDOC_GITHUB_API", "http://127.0.0.1:9/"),
        ]);
        assert_eq!(config.github_api, "http://127.0.0.1:9");
        assert!(!format!("{config:?}").contains("ghp_secret"));
    }

    #[test]
    fn origins_are_split_and_trimmed() {
        let config = config(&[("HDOC_CORS_ORIGINS", "https://a.example, https://b.example,")]);
        assert_eq!(
            config.cors_origins,
            vec!["https://a.example", "https://b.example"]
        );
    }

    #[test]
    #[should_panic(expected = "HDOC_TABLE must be set on stage prod")]
    fn deployed_stage_requires_its_settings() {
        config(&[("HDOC_STAGE", "prod")]);
    }
}
