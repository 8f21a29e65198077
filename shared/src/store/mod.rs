//! The one repository: every read and write of the single DynamoDB table and
//! of the photo bucket. Its methods speak the domain; the key design is in
//! `docs/data-model.md`.
//!
//! # Map
//!
//! Plumbing and shared parts (any aggregate may use them):
//!
//! | file | holds |
//! |---|---|
//! | `keys.rs` | every key prefix, fixed sort key, index partition and stream-filter value |
//! | `codec/` | one pure codec per item kind several files read: `user.rs`, `article.rs`, `review.rs` |
//! | `parts/` | transaction parts several aggregates share (profile checks, a summary's change) and `answers.rs`, the first answers of creates made with an `Idempotency-Key` |
//! | `read.rs` | every read: one item, a page of a partition, a whole partition, a batch |
//! | `write.rs` | conditional writes of named parts, committed as one transaction (or one call) |
//! | `retry.rs` | the one retry policy of "read, decide, write conditionally" |
//! | `error.rs` | [`StoreError`], which the HTTP edge maps to answers in one place |
//! | `item.rs`, `schema.rs` | attribute values; the table and its indexes |
//!
//! The aggregates, each naming only the files above (`scripts/module-graph.py --check`):
//!
//! | file | holds |
//! |---|---|
//! | `users.rs` | profiles, owner claims, deletion tombstones and their purge bookkeeping (`/users`) |
//! | `leaderboard.rs` | `top_scores` (`/leaderboard`) |
//! | `articles.rs` | articles and their list entries (`/articles`) |
//! | `tags.rs` | tag counts, the tags-by-count ranking, recounts (`/tags`) |
//! | `reviews.rs` | reviews and their list entries (`/reviews`) |
//! | `ratings.rs` | ratings and each subject's summary (`/ratings`) |
//! | `photos.rs` | the photo bucket (presigned uploads, deletes) and a review's photo slots |
//! | `activity.rs` | the activity job's records (a journeyer's active days, ETag, corrections) and its walk of the profiles |
//! | `checkpoints.rs` | the checkpoint a long job keeps between invocations; the data-version marker |
//! | `limits.rs` | each caller's token bucket per kind of write (one conditional UpdateItem) |
//!
//! And `reconcile.rs`, the reconcile job's walk and repairs: the one file
//! that sees every kind of item.
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
//! `parts/answers.rs`) with conditions on what was read, and commits it. A
//! cancellation whose failed part decides the outcome (an id taken, a writer
//! with no profile, a key's record there) is a
//! [`StoreError::ConditionFailed`]; any other (a race lost, a
//! conflicting transaction) is read again under [`retry::optimistic`]. No
//! request path scans: only the reconcile job (`reconcile.rs`) does.

// Table plumbing, every key, the codecs and the shared transaction parts.
mod codec;
mod error;
mod item;
pub mod keys;
mod parts;
mod read;
mod retry;
pub mod schema;
mod write;

// The aggregates: each names only the plumbing above, never another.
mod activity;
mod articles;
mod checkpoints;
mod journey;
mod leaderboard;
mod limits;
mod photos;
mod ratings;
mod reviews;
mod tags;
mod users;

// The one place that sees every kind of item.
mod reconcile;

pub use activity::{ActivityError, ActivityRecord, JourneyRead, Journeyer, Recorded};
pub use checkpoints::{Checkpoint, DATA_VERSION, Job, Phase};
pub use codec::article::{ArticleFilter, ArticleRecord};
pub use codec::review::{PendingPhoto, ReviewFilter, ReviewRecord};
pub use codec::user::{Purge, UserRecord};
pub use error::{BoxError, Missing, Precondition, StoreError};
pub use journey::Found;
pub use parts::answers::{Answer, KeyedCreate, Replay};
pub use photos::{Arrival, Photos, UPLOAD_VALIDITY, Upload};
pub use read::ScanKey;
pub use reconcile::{ReconcileCheckpoint, Repairs, Run, Stretch};
pub use retry::WRITE_BUDGET;

pub use crate::page::Page;

use crate::config::Config;
use crate::telemetry::xray::{Daemon, Subsegments};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity, ReturnConsumedCapacity};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// What a metered repository has asked of DynamoDB so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    /// Capacity units consumed, as DynamoDB reported them.
    pub capacity: f64,
    /// Of which write units (TransactWriteItems, PutItem and UpdateItem; the
    /// rest are reads).
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
            idempotency_window: parts::answers::WINDOW,
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
        if matches!(operation, "TransactWriteItems" | "PutItem" | "UpdateItem") {
            usage.write_units += units;
        }
        *usage.calls.entry(operation).or_default() += 1;
    }
}
