//! The one repository: every read and write of the single DynamoDB table and
//! of the photo bucket. Its methods speak the domain; the key design is in
//! `docs/data-model.md`.
//!
//! # Map
//!
//! | file | holds |
//! |---|---|
//! | `users.rs` | profiles, owner claims, deletion tombstones and their purge bookkeeping (`/users`) |
//! | `leaderboard.rs` | the ranking index key, `top_scores`, the profile check of the reconcile job (`/leaderboard`) |
//! | `articles.rs` | articles and their list entries (`/articles`) |
//! | `tags.rs` | tag counts, the tags-by-count ranking, recounts (`/tags`) |
//! | `reviews.rs` | reviews and their list entries (`/reviews`) |
//! | `ratings.rs` | ratings and each subject's summary (`/ratings`) |
//! | `photos.rs` | the photo bucket (presigned uploads, deletes) and a review's photo slots |
//! | `activity.rs` | the activity job's records (a journeyer's active days, ETag, corrections) and its walk of the profiles |
//! | `jobs.rs` | the jobs' checkpoints; the reconcile job's walk and repairs; the data-version marker |
//! | `idempotency.rs` | the records of creates made with an `Idempotency-Key`: their first answers |
//! | `read.rs` | every read: one item, a page of a partition, a whole partition, a batch |
//! | `write.rs` | conditional writes of named parts, committed as one transaction (or one call) |
//! | `retry.rs` | the one retry policy of "read, decide, write conditionally" |
//! | `error.rs` | [`StoreError`], which the HTTP edge maps to answers in one place |
//! | `item.rs`, `schema.rs` | attribute values; the table and its indexes |
//!
//! # How a request flows
//!
//! A handler parses its input into domain types, then calls one method here.
//! A read is a GetItem or one Query of a partition ([`read`]); a list page is
//! one Query of entries that hold their items' summaries. A write reads what
//! it depends on (consistently), lets the handler's closure decide (or
//! refuse, with the handler's own error), builds a [`write::Write`] of named
//! parts (the item, its entries, the aggregates it moves, checks on other
//! items, and for a create with an `Idempotency-Key` the record of its answer:
//! [`idempotency`]) with conditions on what was read, and commits it. A
//! cancellation whose failed part decides the outcome (an id taken, a writer
//! with no profile, a key's record there) is a
//! [`StoreError::ConditionFailed`]; any other (a race lost, a
//! conflicting transaction) is read again under [`retry::optimistic`]. No
//! request path scans: only the reconcile job (`jobs.rs`) does.

mod activity;
mod articles;
mod error;
mod idempotency;
mod item;
mod jobs;
mod leaderboard;
mod photos;
mod ratings;
mod read;
mod retry;
mod reviews;
pub mod schema;
mod tags;
mod users;
mod write;

pub use activity::{ActivityError, ActivityRecord, Fetched, Journeyer, Recorded};
pub use articles::{ArticleFilter, ArticleRecord};
pub use error::{BoxError, Guarded, Missing, StoreError};
pub use idempotency::{Answer, Once, Replay};
pub use jobs::{Checkpoint, DATA_VERSION, Job, Phase, Repairs, Run, ScanKey, Stretch};
pub use photos::{PendingPhoto, Photos, UPLOAD_VALIDITY, Upload};
pub use retry::WRITE_BUDGET;
pub use reviews::{ReviewFilter, ReviewRecord};
pub use users::{Purge, UserRecord};

use crate::config::Config;
use crate::cursor::Position;
use crate::telemetry::xray::{Daemon, Subsegments};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity, ReturnConsumedCapacity};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// One page of a list, and where the next one starts if there is one.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Position>,
}

impl<T> Page<T> {
    /// The same page with each item converted by `convert` (stored item to domain type).
    pub(crate) fn try_map<U>(
        self,
        convert: impl FnMut(T) -> Result<U, StoreError>,
    ) -> Result<Page<U>, StoreError> {
        Ok(Page {
            items: self
                .items
                .into_iter()
                .map(convert)
                .collect::<Result<_, _>>()?,
            next: self.next,
        })
    }
}

/// What a metered repository has asked of DynamoDB so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    /// Capacity units consumed, as DynamoDB reported them.
    pub capacity: f64,
    /// Of which write units (TransactWriteItems and PutItem; the rest are reads).
    pub write_units: f64,
    /// How many calls of each operation were made (`Query`, `GetItem`, ...).
    pub calls: BTreeMap<&'static str, u32>,
}

/// Adds up the consumed capacity and calls of a repository.
#[derive(Debug, Default)]
struct Meter(Mutex<Usage>);

/// How the SDK retries throttling, 500s and dropped connections before the
/// store calls DynamoDB unavailable (a 503 with `Retry-After`): 3 attempts,
/// as the SDK's standard mode, but backing off from 50 ms rather than its
/// general 1 s, since DynamoDB answers in milliseconds and a function has
/// 10 s in all. Lost races (transaction conflicts, conditions) are retried
/// by the store itself (`retry.rs`).
fn sdk_retries() -> aws_sdk_dynamodb::config::retry::RetryConfig {
    aws_sdk_dynamodb::config::retry::RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_secs(1))
}

/// The DynamoDB repository.
#[derive(Clone, Debug)]
pub struct Repository {
    client: Client,
    table: Arc<str>,
    /// Only for measuring (tests, `hdoc-local`): the functions in AWS ask
    /// DynamoDB for no capacity figures and count nothing.
    meter: Option<Arc<Meter>>,
    /// How long a write may keep retrying lost races ([`retry::WRITE_BUDGET`]).
    write_budget: Duration,
    /// How long a create's first answer is given again ([`idempotency::WINDOW`]).
    idempotency_window: Duration,
}

impl Repository {
    pub fn new(client: Client, table: &str) -> Self {
        Self {
            client,
            table: table.into(),
            meter: None,
            write_budget: retry::WRITE_BUDGET,
            idempotency_window: idempotency::WINDOW,
        }
    }

    /// This repository, letting a write retry lost races for up to `budget`.
    pub fn with_write_budget(mut self, budget: Duration) -> Self {
        self.write_budget = budget;
        self
    }

    /// The DynamoDB client for `config` (its endpoint override, if any) on
    /// the process's one SDK configuration; its calls are X-Ray subsegments
    /// when the configuration names a daemon.
    pub fn connect(sdk: &aws_config::SdkConfig, config: &Config) -> Self {
        let mut builder = aws_sdk_dynamodb::config::Builder::from(sdk).retry_config(sdk_retries());
        if let Some(endpoint) = &config.dynamodb_endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        if let Some(daemon) = config.xray_daemon.as_deref().and_then(Daemon::connect) {
            builder = builder.interceptor(Subsegments::dynamodb(daemon, &config.table));
        }
        Self::new(Client::from_conf(builder.build()), &config.table)
    }

    /// This repository, asking DynamoDB for the capacity every call consumes
    /// and adding it up, with the calls made ([`Self::usage`]).
    pub fn metered(mut self) -> Self {
        self.meter = Some(Arc::default());
        self
    }

    /// The usage of a metered repository so far (nothing for one that is not).
    pub fn usage(&self) -> Usage {
        self.meter.as_ref().map_or_else(Usage::default, |meter| {
            meter
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone()
        })
    }

    /// The SDK client, for set-up tools (creating the table).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The name of the table.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// What to ask DynamoDB about consumed capacity: only when metered.
    fn capacity(&self) -> Option<ReturnConsumedCapacity> {
        self.meter.as_ref().map(|_| ReturnConsumedCapacity::Total)
    }

    /// Records one call (and its consumed capacity) on a metered repository.
    fn record<'a>(
        &self,
        operation: &'static str,
        consumed: impl IntoIterator<Item = &'a ConsumedCapacity>,
    ) {
        let Some(meter) = &self.meter else {
            return;
        };
        let units: f64 = consumed
            .into_iter()
            .filter_map(ConsumedCapacity::capacity_units)
            .sum();
        tracing::debug!(operation, capacity = units, "dynamodb call");
        let mut usage = meter
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        usage.capacity += units;
        if matches!(operation, "TransactWriteItems" | "PutItem") {
            usage.write_units += units;
        }
        *usage.calls.entry(operation).or_default() += 1;
    }
}
