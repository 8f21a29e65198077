//! What handlers share, built once per cold start (or once by `hdoc-local`,
//! through the very same constructors).

use super::cursor::CursorKey;
use super::error::ApiError;
use crate::config::{Config, Cursors};
use crate::store::{Photos, Repository, keys, schema};
use aws_sdk_dynamodb::types::AttributeValue;
use std::sync::Arc;
use std::time::Duration;

/// What handlers share: the repository, the photo store, the configuration.
#[derive(Clone, Debug)]
pub struct AppState {
    pub repo: Repository,
    pub config: Arc<Config>,
    pub cursors: CursorKey,
    /// The photo bucket, for the functions that handle photos ([`Self::with_photos`]).
    pub photos: Option<Photos>,
    /// The one SDK configuration every client of this process is built on.
    sdk: aws_config::SdkConfig,
}

/// The SDK configuration for `config` off Lambda (`hdoc-local`, its import
/// and reconcile commands, tests): the default credential and region chain
/// (profiles, SSO, instance roles...), or the fixed keys `hdoc-local` gives
/// its emulators. Loaded once, and shared by the DynamoDB and S3 clients.
pub async fn sdk_config(config: &Config) -> aws_config::SdkConfig {
    let mut loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https_client());
    if let Some(keys) = &config.static_credentials {
        loader = loader
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                &keys.access_key,
                &keys.secret_key,
                None,
                None,
                "hdoc-static",
            ))
            .region(aws_sdk_dynamodb::config::Region::new(keys.region.clone()));
    }
    loader.load().await
}

/// The SDK's own HTTPS client (hyper 1, rustls, the system's roots), with
/// rustls on ring instead of the SDK's default aws-lc-rs: the same client
/// `default-https-client` builds, 0.53 MB smaller in each arm64 bootstrap
/// (docs/performance.md). The workspace enables no `default-https-client`, so
/// every SDK configuration is given this one.
fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The SDK configuration of a Lambda function: the region and the role's
/// temporary keys, from the environment variables Lambda sets; nothing else
/// is looked up. The default chain ([`sdk_config`]) would find the same keys
/// first, but reaching it links and initializes every other provider (profile
/// files, SSO, STS, instance metadata): 1.3 MB of the bootstrap and part of
/// its Init (docs/performance.md).
pub(super) fn lambda_sdk_config() -> aws_config::SdkConfig {
    use aws_config::environment::EnvironmentVariableCredentialsProvider;
    use aws_sdk_dynamodb::config::{BehaviorVersion, SharedCredentialsProvider};
    let region = std::env::var("AWS_REGION")
        .ok()
        .map(aws_sdk_dynamodb::config::Region::new);
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(https_client())
        .region(region)
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .build()
}

/// The request a function makes during Init to open its connection to
/// DynamoDB: the cheapest one its policy in `template.yaml` allows. It reads a
/// key that no item has, so it answers nothing and costs the least a read can.
#[derive(Clone, Copy, Debug)]
pub enum WarmUp {
    /// `GetItem` (eventually consistent) of a missing key of the table.
    GetItem,
    /// `Query` (`Limit` 1) of an empty partition of an index, for a function
    /// whose policy allows only that.
    Query(schema::Index),
}

/// How long Init waits for the warm-up before it goes on without it.
const WARM_UP_LIMIT: Duration = Duration::from_secs(2);

impl AppState {
    /// Opens the connection to DynamoDB now, TLS handshake, credentials,
    /// endpoint resolution and signing included, so that the first request
    /// finds it open. Lambda runs Init with a CPU burst, while the first
    /// request of a 256 MB function gets 14% of a core, at which the handshake
    /// alone takes a few hundred milliseconds (docs/performance.md).
    ///
    /// Its answer does not matter and its failure is not fatal: the first
    /// request then connects as it would have without it.
    pub async fn warm_up(&self, how: WarmUp) {
        let client = self.repo.client();
        let key = || AttributeValue::S(keys::WARM_UP.to_owned());
        let request = async {
            match how {
                WarmUp::GetItem => client
                    .get_item()
                    .table_name(self.repo.table())
                    .key(schema::PK, key())
                    .key(schema::SK, key())
                    .send()
                    .await
                    .map(drop)
                    .map_err(|err| {
                        format!("{:?}", aws_sdk_dynamodb::error::DisplayErrorContext(err))
                    }),
                WarmUp::Query(index) => client
                    .query()
                    .table_name(self.repo.table())
                    .index_name(index.name)
                    .key_condition_expression("#pk = :pk")
                    .expression_attribute_names("#pk", index.partition_key)
                    .expression_attribute_values(":pk", key())
                    .limit(1)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|err| {
                        format!("{:?}", aws_sdk_dynamodb::error::DisplayErrorContext(err))
                    }),
            }
        };
        match tokio::time::timeout(WARM_UP_LIMIT, request).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(error, "warming up the DynamoDB connection failed"),
            Err(_) => {
                tracing::warn!(limit = ?WARM_UP_LIMIT, "warming up the DynamoDB connection timed out")
            }
        }
    }

    /// Builds the SDK configuration ([`sdk_config`]) and the DynamoDB client
    /// for `config`, off Lambda.
    pub async fn connect(config: Config) -> Self {
        let sdk = sdk_config(&config).await;
        Self::on(config, sdk)
    }

    /// Reads the SDK's region and keys and the configuration from the
    /// environment, as Lambda sets it, the function's secrets from Secrets
    /// Manager with those keys, and connects: once per cold start. An error
    /// ([`Config::for_lambda`]) without `HDOC_STAGE`, with a secret in the
    /// environment, or when a secret cannot be read: the function fails its
    /// Init with that message rather than run without it.
    pub async fn from_env(cursors: Cursors) -> Result<Self, String> {
        let sdk = lambda_sdk_config();
        let config = Config::for_lambda(&sdk, cursors).await?;
        Ok(Self::on(config, sdk))
    }

    fn on(config: Config, sdk: aws_config::SdkConfig) -> Self {
        let repo = Repository::connect(&sdk, &config);
        Self {
            cursors: CursorKey::new(&config.cursor_secret),
            config: Arc::new(config),
            repo,
            photos: None,
            sdk,
        }
    }

    /// Adds the photo store the configuration names, on the same SDK
    /// configuration. Only the functions that handle photos call this, so the
    /// others neither build an S3 client at cold start nor link its code.
    pub fn with_photos(mut self) -> Self {
        self.photos = Photos::connect(&self.sdk, &self.config);
        self
    }

    /// The same state, with a repository that measures what it asks of
    /// DynamoDB (tests, `hdoc-local`).
    pub fn metered(mut self) -> Self {
        self.repo = self.repo.metered();
        self
    }

    /// The photo store, or a 500 when this function was deployed without one.
    pub fn photos(&self) -> Result<&Photos, ApiError> {
        self.photos
            .as_ref()
            .ok_or_else(|| ApiError::internal("HDOC_BUCKET is not configured for this function"))
    }
}
