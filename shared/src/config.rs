//! Configuration, read once at start-up from the environment.

use crate::clock::Clock;
use std::env;
use std::time::Duration;

/// Where the API stores things and how it talks to browsers. Its `Debug`
/// shows no secret (the cursor key, the GitHub token, the emulators' keys).
#[derive(Clone)]
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
    /// Key that signs pagination cursors (`HDOC_CURSOR_SECRET`; in Lambda
    /// read from Secrets Manager at Init, [`CURSOR_SECRET`]).
    pub cursor_secret: String,
    /// Fixed keys for the SDK instead of its default chain: `hdoc-local`
    /// sets these for its emulators. `None` in Lambda (the function's role).
    pub static_credentials: Option<StaticCredentials>,
    /// Base URL of GitHub's REST API (`HDOC_GITHUB_API`, default
    /// [`GITHUB_API`]), read by the activity job.
    pub github_api: String,
    /// Token for GitHub's API (`HDOC_GITHUB_TOKEN`; in Lambda read from
    /// Secrets Manager at Init, [`GITHUB_TOKEN`]), optional: sent as
    /// `Authorization: Bearer` by the activity job. Without one GitHub allows
    /// 60 requests an hour and counts its 304s (docs/activity.md).
    pub github_token: Option<GitHubToken>,
    /// The Journey Template (`HDOC_JOURNEY_TEMPLATE`, `owner/name`, default
    /// [`JOURNEY_TEMPLATE`]): the journey job reads its placeholder page's
    /// blob SHAs from it (docs/journey.md).
    pub journey_template: String,
    /// The secret of GitHub's push webhook (`HDOC_GITHUB_WEBHOOK_SECRET`;
    /// in Lambda read from Secrets Manager at Init, [`GITHUB_WEBHOOK_SECRET`]).
    /// Without one, every webhook delivery is a 401.
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
    /// How many writes of each kind a caller may make (`HDOC_WRITE_LIMITS`).
    pub write_limits: WriteLimits,
}

/// A kind of write, each with its own bucket per caller (docs/api.md,
/// "Write limits"): what a request does, not which route it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WriteKind {
    /// `POST /users`, `POST /articles`, `POST /reviews`: something new.
    Create,
    /// `POST /reviews/{id}/photos`: an upload URL.
    Photo,
    /// `PUT` of a profile, an article, a review; `PUT /users/{id}/owner`.
    Update,
    /// `DELETE` of a profile, an article, a review.
    Delete,
    /// `PUT` and `DELETE /ratings/{subject}`.
    Rating,
}

impl WriteKind {
    pub const ALL: [Self; 5] = [
        Self::Create,
        Self::Photo,
        Self::Update,
        Self::Delete,
        Self::Rating,
    ];

    /// The kind's name in `HDOC_WRITE_LIMITS` and in its bucket's key.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Photo => "photo",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Rating => "rating",
        }
    }
}

/// A token bucket: up to `burst` writes at once, one more every
/// `period / burst` (so `burst` per `period` in the long run).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub burst: u32,
    pub period: Duration,
}

impl Rate {
    /// `per_hour` writes an hour, all of them at once if the caller was idle.
    pub const fn per_hour(per_hour: u32) -> Self {
        Self {
            burst: per_hour,
            period: Duration::from_secs(3600),
        }
    }

    /// How long one write's token takes to come back.
    pub fn interval(self) -> Duration {
        self.period / self.burst.max(1)
    }
}

/// The rate of each [`WriteKind`], per caller. Admins and the jobs are not
/// limited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteLimits([Rate; 5]);

impl WriteLimits {
    /// The deployed stages' defaults, per hour: 30 creates, 60 photos, 120
    /// updates, 30 deletes, 120 ratings.
    pub const DEPLOYED: Self = Self([
        Rate::per_hour(30),
        Rate::per_hour(60),
        Rate::per_hour(120),
        Rate::per_hour(30),
        Rate::per_hour(120),
    ]);

    /// The `local` stage's default: 1,000 an hour of each kind, so that
    /// seeding a dev server (and the suite) is not refused, while every
    /// write still goes through its bucket.
    pub const LOCAL: Self = Self([Rate::per_hour(1000); 5]);

    /// The rate of `kind`.
    pub fn rate(&self, kind: WriteKind) -> Rate {
        self.0[kind as usize]
    }

    /// Sets the rate of `kind`.
    pub fn set(&mut self, kind: WriteKind, rate: Rate) {
        self.0[kind as usize] = rate;
    }

    /// These limits with the ones `spec` names changed: `kind=N` pairs,
    /// comma separated, N writes an hour (1 to 100,000), e.g.
    /// `create=30,rating=120`.
    pub fn with(mut self, spec: &str) -> Result<Self, String> {
        for pair in spec
            .split(',')
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
        {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{pair}` is not kind=N"))?;
            let kind = WriteKind::ALL
                .into_iter()
                .find(|kind| kind.as_str() == name.trim())
                .ok_or_else(|| format!("`{}` is not a kind of write", name.trim()))?;
            let per_hour = value
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=100_000).contains(n))
                .ok_or_else(|| format!("`{}` is not a number from 1 to 100000", value.trim()))?;
            self.set(kind, Rate::per_hour(per_hour));
        }
        Ok(self)
    }
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

/// Fixed AWS keys and region, for emulators that check signatures. Its
/// `Debug` never shows the secret key.
#[derive(Clone)]
pub struct StaticCredentials {
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
}

impl std::fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"..")
            .field("region", &self.region)
            .finish()
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("table", &self.table)
            .field("bucket", &self.bucket)
            .field("media_base_url", &self.media_base_url)
            .field("stage", &self.stage)
            .field("cors_origins", &self.cors_origins)
            .field("dynamodb_endpoint", &self.dynamodb_endpoint)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("xray_daemon", &self.xray_daemon)
            .field("cursor_secret", &"..")
            .field("static_credentials", &self.static_credentials)
            .field("github_api", &self.github_api)
            .field("github_token", &self.github_token)
            .field("journey_template", &self.journey_template)
            .field("webhook_secret", &self.webhook_secret)
            .field("clock", &self.clock)
            .field("link_base_path", &self.link_base_path)
            .field("cache_seconds", &self.cache_seconds)
            .field("write_limits", &self.write_limits)
            .finish()
    }
}

/// A secret a deployed function reads at Init: the variable that holds its
/// value off Lambda (hdoc-local, tests), and the one that names its Secrets
/// Manager secret (an ARN) in Lambda.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Secret {
    pub variable: &'static str,
    pub arn_variable: &'static str,
}

/// The key that signs pagination cursors: the HTTP functions read it
/// ([`Cursors::Signed`]); the others hold a random one of their own.
pub const CURSOR_SECRET: Secret = Secret {
    variable: "HDOC_CURSOR_SECRET",
    arn_variable: "HDOC_CURSOR_SECRET_ARN",
};

/// The GitHub token (optional): users, github and activity.
pub const GITHUB_TOKEN: Secret = Secret {
    variable: "HDOC_GITHUB_TOKEN",
    arn_variable: "HDOC_GITHUB_TOKEN_ARN",
};

/// The push webhook's secret (optional): the github function.
pub const GITHUB_WEBHOOK_SECRET: Secret = Secret {
    variable: "HDOC_GITHUB_WEBHOOK_SECRET",
    arn_variable: "HDOC_GITHUB_WEBHOOK_SECRET_ARN",
};

/// Every secret [`Config::for_lambda`] reads.
pub const SECRETS: [Secret; 3] = [CURSOR_SECRET, GITHUB_TOKEN, GITHUB_WEBHOOK_SECRET];

/// Reads each secret of [`SECRETS`] whose ARN variable `get` gives, with
/// one `GetSecretValue` each (its `SecretString`); the variables and values.
async fn read_secrets(
    get: &impl Fn(&str) -> Option<String>,
    sdk: &aws_config::SdkConfig,
) -> Result<Vec<(&'static str, String)>, String> {
    use crate::aws_json::{AwsJson, SECRETS_MANAGER, endpoint_override};
    let named: Vec<(Secret, String)> = SECRETS
        .iter()
        .filter_map(|secret| get(secret.arn_variable).map(|arn| (*secret, arn)))
        .collect();
    if named.is_empty() {
        return Ok(Vec::new());
    }
    let endpoint = endpoint_override(&SECRETS_MANAGER, get);
    let client = AwsJson::new(sdk, SECRETS_MANAGER, endpoint.as_deref())
        .map_err(|err| format!("cannot read the function's secrets: {err}"))?;
    let mut read = Vec::with_capacity(named.len());
    for (secret, arn) in named {
        let answer = client
            .call("GetSecretValue", &serde_json::json!({ "SecretId": arn }))
            .await
            .map_err(|err| {
                format!(
                    "{}: cannot read the secret {arn} (at {}): {err}",
                    secret.arn_variable,
                    client.endpoint()
                )
            })?;
        let value = answer["SecretString"]
            .as_str()
            .filter(|value| !value.is_empty())
            .ok_or_else(|| {
                format!(
                    "{}: the secret {arn} has no SecretString (binary, or empty)",
                    secret.arn_variable
                )
            })?;
        read.push((secret.variable, value.to_owned()));
    }
    Ok(read)
}

/// The community's Journey Template repository.
pub const JOURNEY_TEMPLATE: &str = "100DaysOfCloud/100DaysOfCloud";

/// The cursor key used when none is configured; only allowed on the `local` stage.
pub const DEV_CURSOR_SECRET: &str = "hdoc-local-cursor-secret";

/// Whether a Lambda function hands out pagination cursors, and so needs the
/// key that signs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cursors {
    /// An HTTP function: it signs and checks cursors with the stage's key
    /// (`HDOC_CURSOR_SECRET_ARN` must name it).
    Signed,
    /// A function events invoke (a stream, a schedule, S3): it answers no
    /// request, so it is given no key and reads none; it holds a random one
    /// of its own, which no cursor anyone sees was signed with.
    Unsigned,
}

impl Config {
    /// Reads the configuration from the process environment.
    ///
    /// Panics with a clear message when a deployed stage lacks a required
    /// setting: a Lambda that cannot be configured should fail its cold start.
    pub fn from_env() -> Self {
        Self::from_lookup(|key| env::var(key).ok().filter(|v| !v.is_empty()))
    }

    /// The configuration of a Lambda function, from its environment and the
    /// secrets it names ([`SECRETS`]), read from Secrets Manager with `sdk`'s
    /// region and credentials: once, at Init.
    ///
    /// An error, with which the function fails its Init, without
    /// `HDOC_STAGE` (or with `local`), so that a function deployed without its
    /// settings does not run on the local stage's defaults; with a secret's
    /// value in the environment, where anyone who may read the function's
    /// configuration reads it; and when a secret it names cannot be read.
    pub async fn for_lambda(sdk: &aws_config::SdkConfig, cursors: Cursors) -> Result<Self, String> {
        let get = |key: &str| env::var(key).ok().filter(|v| !v.is_empty());
        Self::for_lambda_from(get, sdk, cursors).await
    }

    /// [`Self::for_lambda`] from any key lookup. Secrets Manager is called
    /// at the endpoint the lookup's `AWS_ENDPOINT_URL_SECRETS_MANAGER` (or
    /// `AWS_ENDPOINT_URL`) names, else at the region's.
    pub async fn for_lambda_from(
        get: impl Fn(&str) -> Option<String>,
        sdk: &aws_config::SdkConfig,
        cursors: Cursors,
    ) -> Result<Self, String> {
        match get("HDOC_STAGE").as_deref() {
            None => {
                return Err("HDOC_STAGE must be set in Lambda (dev, staging or prod): \
                     a function never runs on the local stage's defaults"
                    .to_owned());
            }
            Some("local") => {
                return Err("HDOC_STAGE is `local`, which is only for hdoc-local: \
                     a Lambda function runs on dev, staging or prod"
                    .to_owned());
            }
            Some(_) => {}
        }
        for secret in &SECRETS {
            if get(secret.variable).is_some() {
                return Err(format!(
                    "{} is set in the function's environment, which shows it to anyone \
                     who may read the function's configuration: a Lambda reads it from \
                     Secrets Manager at Init, from the secret {} names",
                    secret.variable, secret.arn_variable
                ));
            }
        }
        if cursors == Cursors::Signed && get(CURSOR_SECRET.arn_variable).is_none() {
            return Err(format!(
                "{} must be set in Lambda: the ARN of the secret that holds the \
                 key signing pagination cursors",
                CURSOR_SECRET.arn_variable
            ));
        }
        let read = read_secrets(&get, sdk).await?;
        // A key of its own for a function that signs no cursor.
        let own_key = (cursors == Cursors::Unsigned).then(|| {
            let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
            format!("{}{}", a.simple(), b.simple())
        });
        Ok(Self::from_lookup(|key| {
            read.iter()
                .find(|(variable, _)| *variable == key)
                .map(|(_, value)| value.clone())
                .or_else(|| get(key))
                .or_else(|| own_key.clone().filter(|_| key == CURSOR_SECRET.variable))
        }))
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
            write_limits: {
                let defaults = if local {
                    WriteLimits::LOCAL
                } else {
                    WriteLimits::DEPLOYED
                };
                match get("HDOC_WRITE_LIMITS") {
                    None => defaults,
                    Some(spec) => defaults
                        .with(&spec)
                        .unwrap_or_else(|err| panic!("HDOC_WRITE_LIMITS: {err}")),
                }
            },
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
    fn no_secret_is_ever_shown() {
        let mut config = config(&[
            ("HDOC_STAGE", "prod"),
            ("HDOC_TABLE", "t"),
            ("HDOC_CORS_ORIGINS", "https://a.example"),
            ("HDOC_CURSOR_SECRET", "cursor-secret-value"),
            ("HDOC_GITHUB_TOKEN", "ghp_token_value"),
        ]);
        config.static_credentials = Some(StaticCredentials {
            access_key: "AKIDLOCAL".into(),
            secret_key: "static-secret-value".into(),
            region: "us-east-1".into(),
        });
        let shown = format!("{config:?} {config:#?}");
        for secret in [
            "cursor-secret-value",
            "ghp_token_value",
            "static-secret-value",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("AKIDLOCAL") && shown.contains("prod"),
            "{shown}"
        );
        assert!(!format!("{:?}", self::config(&[])).contains(DEV_CURSOR_SECRET));
    }

    #[tokio::test]
    async fn a_function_that_hands_out_no_cursor_reads_no_key_and_holds_its_own() {
        let env = |key: &str| {
            [
                ("HDOC_STAGE", "dev"),
                ("HDOC_TABLE", "t"),
                ("HDOC_CORS_ORIGINS", "*"),
            ]
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| (*v).to_owned())
        };
        // No region, no credentials: nothing here reaches Secrets Manager.
        let sdk = aws_config::SdkConfig::builder().build();
        let first = Config::for_lambda_from(env, &sdk, Cursors::Unsigned)
            .await
            .expect("an event function starts without the cursor key");
        let second = Config::for_lambda_from(env, &sdk, Cursors::Unsigned)
            .await
            .expect("again");
        assert_eq!(first.cursor_secret.len(), 64);
        assert_ne!(
            first.cursor_secret, second.cursor_secret,
            "random, per process"
        );
        assert_ne!(first.cursor_secret, DEV_CURSOR_SECRET);
        let err = Config::for_lambda_from(env, &sdk, Cursors::Signed)
            .await
            .expect_err("an HTTP function needs it");
        assert!(
            err.starts_with("HDOC_CURSOR_SECRET_ARN must be set"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_lambda_without_its_stage_or_with_a_plain_secret_refuses_to_start() {
        let lookup = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        // No region, no credentials: nothing here reaches Secrets Manager.
        let sdk = aws_config::SdkConfig::builder().build();
        let refusal = async |pairs| {
            Config::for_lambda_from(lookup(pairs), &sdk, Cursors::Signed)
                .await
                .expect_err("refused")
        };
        let err = refusal(&[("HDOC_TABLE", "t")]).await;
        assert!(err.contains("HDOC_STAGE must be set"), "{err}");
        let err = refusal(&[("HDOC_STAGE", "local")]).await;
        assert!(err.contains("only for hdoc-local"), "{err}");
        let deployed = &[
            ("HDOC_STAGE", "dev"),
            ("HDOC_TABLE", "t"),
            ("HDOC_CORS_ORIGINS", "*"),
            ("HDOC_CURSOR_SECRET", "s"),
        ];
        let err = refusal(deployed).await;
        assert!(
            err.starts_with("HDOC_CURSOR_SECRET is set in the function's environment")
                && err.contains("HDOC_CURSOR_SECRET_ARN"),
            "{err}"
        );
        let err = refusal(&[("HDOC_STAGE", "dev"), ("HDOC_GITHUB_TOKEN", "ghp_x")]).await;
        assert!(err.starts_with("HDOC_GITHUB_TOKEN is set"), "{err}");
        assert!(!err.contains("ghp_x"), "{err}");
        let err = refusal(&[("HDOC_STAGE", "dev"), ("HDOC_TABLE", "t")]).await;
        assert!(
            err.starts_with("HDOC_CURSOR_SECRET_ARN must be set"),
            "{err}"
        );
        let err = refusal(&[
            ("HDOC_STAGE", "dev"),
            (
                "HDOC_CURSOR_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:1:secret:c",
            ),
        ])
        .await;
        assert_eq!(
            err,
            "cannot read the function's secrets: secretsmanager: cannot call: no region (AWS_REGION)"
        );
        // hdoc-local keeps its defaults.
        assert_eq!(self::config(&[]).stage, "local");
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
    fn write_limits_default_per_stage_and_are_changed_by_kind() {
        assert_eq!(config(&[]).write_limits, WriteLimits::LOCAL);
        let prod = config(&[
            ("HDOC_STAGE", "prod"),
            ("HDOC_TABLE", "t"),
            ("HDOC_CORS_ORIGINS", "https://a.example"),
            ("HDOC_CURSOR_SECRET", "s"),
            ("HDOC_WRITE_LIMITS", "create=5, rating=600"),
        ]);
        let limits = prod.write_limits;
        assert_eq!(limits.rate(WriteKind::Create), Rate::per_hour(5));
        assert_eq!(limits.rate(WriteKind::Rating), Rate::per_hour(600));
        assert_eq!(limits.rate(WriteKind::Photo), Rate::per_hour(60));
        assert_eq!(
            Rate::per_hour(30).interval(),
            std::time::Duration::from_secs(120)
        );
        for bad in ["create", "posts=3", "create=0", "create=x"] {
            assert!(WriteLimits::DEPLOYED.with(bad).is_err(), "{bad}");
        }
    }

    #[test]
    #[should_panic(expected = "HDOC_TABLE must be set on stage prod")]
    fn deployed_stage_requires_its_settings() {
        config(&[("HDOC_STAGE", "prod")]);
    }
}
