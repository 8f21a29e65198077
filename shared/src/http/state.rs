//! What handlers share, built once per cold start (or once by `hdoc-local`,
//! through the very same constructors).

use crate::config::Config;
use crate::cursor::CursorKey;
use crate::error::ApiError;
use crate::store::{Photos, Repository};
use std::sync::Arc;

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

/// The SDK configuration for `config`: the default credential and region
/// chain (a Lambda's role), or the fixed keys `hdoc-local` gives its
/// emulators. Loaded once, and shared by the DynamoDB and S3 clients.
pub async fn sdk_config(config: &Config) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
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

impl AppState {
    /// Builds the SDK configuration and the DynamoDB client for `config`.
    pub async fn connect(config: Config) -> Self {
        let sdk = sdk_config(&config).await;
        let repo = Repository::connect(&sdk, &config);
        Self {
            cursors: CursorKey::new(&config.cursor_secret),
            config: Arc::new(config),
            repo,
            photos: None,
            sdk,
        }
    }

    /// Reads the configuration from the environment and connects: once per cold start.
    pub async fn from_env() -> Self {
        Self::connect(Config::from_env()).await
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
