//! The one repository: every read and write of the single DynamoDB table.
//! Its methods speak the domain; the key design is in `docs/data-model.md`.
//!
//! Every request path here is a GetItem, a Query or a transaction, never a
//! Scan; only the nightly reconcile job (`reconcile.rs`) scans. Every call asks DynamoDB for its consumed capacity and adds it to
//! the repository's [`Meter`], so cost can be measured and logged.

mod articles;
mod item;
mod reconcile;
mod reviews;
pub mod schema;

pub use articles::{ArticleFilter, ArticleRecord};
pub use reconcile::{Checkpoint, DATA_VERSION, Phase, Repairs, Run, ScanKey, Stretch};
pub use reviews::{PendingPhoto, ReviewFilter, ReviewRecord};
pub use users::{Purge, UserRecord};
mod users;
mod write;

use crate::config::Config;
use crate::cursor::Position;
use crate::error::ApiError;
use crate::request::PageRequest;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, ReturnConsumedCapacity, TransactWriteItem,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

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
        convert: impl FnMut(T) -> Result<U, ApiError>,
    ) -> Result<Page<U>, ApiError> {
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

/// What the repository has asked of DynamoDB so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    /// Capacity units consumed, as DynamoDB reported them.
    pub capacity: f64,
    /// How many calls of each operation were made (`Query`, `GetItem`, ...).
    pub calls: BTreeMap<&'static str, u32>,
}

/// Adds up the consumed capacity and calls of a repository.
#[derive(Debug, Default)]
pub struct Meter(Mutex<Usage>);

impl Meter {
    fn record<'a>(
        &self,
        operation: &'static str,
        consumed: impl IntoIterator<Item = &'a ConsumedCapacity>,
    ) {
        let units: f64 = consumed
            .into_iter()
            .filter_map(ConsumedCapacity::capacity_units)
            .sum();
        tracing::debug!(operation, capacity = units, "dynamodb call");
        let mut usage = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        usage.capacity += units;
        *usage.calls.entry(operation).or_default() += 1;
    }

    /// A copy of the usage so far.
    pub fn usage(&self) -> Usage {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// The DynamoDB repository.
#[derive(Clone, Debug)]
pub struct Repository {
    client: Client,
    table: Arc<str>,
    meter: Arc<Meter>,
}

impl Repository {
    pub fn new(client: Client, table: &str) -> Self {
        Self {
            client,
            table: table.into(),
            meter: Arc::default(),
        }
    }

    /// Builds the SDK client from the environment (and the configured
    /// endpoint override, for local runs and tests).
    pub async fn connect(config: &Config) -> Self {
        let mut loader = aws_config::from_env();
        if let Some(endpoint) = &config.dynamodb_endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let sdk_config = loader.load().await;
        Self::new(Client::new(&sdk_config), &config.table)
    }

    /// The usage of this repository so far.
    pub fn usage(&self) -> Usage {
        self.meter.usage()
    }

    /// The SDK client, for set-up tools (creating the table).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The name of the table.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Reads one item, strongly consistent: it is read before a write.
    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, ApiError> {
        let out = self
            .client
            .get_item()
            .table_name(self.table.as_ref())
            .key("PK", AttributeValue::S(pk))
            .key("SK", AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await?;
        self.meter.record("GetItem", out.consumed_capacity());
        Ok(out.item)
    }

    /// Runs `items` as one transaction: `Ok(Ok(()))` when it went through,
    /// `Ok(Err(failed))` when it was cancelled, `failed[i]` telling whether
    /// the condition of item `i` failed.
    async fn try_transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Result<(), Vec<bool>>, ApiError> {
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match result {
            Ok(out) => {
                self.meter
                    .record("TransactWriteItems", out.consumed_capacity());
                Ok(Ok(()))
            }
            Err(err) => match failed_conditions(&err) {
                Some(failed) => Ok(Err(failed)),
                None => Err(err.into()),
            },
        }
    }

    /// Runs `items` as one transaction. `Ok(false)` when it was cancelled
    /// (the caller re-reads and tries again), `Ok(true)` when it went through.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<bool, ApiError> {
        Ok(self.try_transact(items).await?.is_ok())
    }

    /// One page of the items under `partition` of `index`, in sort-key order
    /// (`forward`) or reverse. Reads `limit + 1` items so that a next page is
    /// promised only when one exists; the cost is O(limit) whatever the table holds.
    async fn query_page(
        &self,
        index: schema::Index,
        partition: &str,
        forward: bool,
        page: &PageRequest,
    ) -> Result<Page<Item>, ApiError> {
        let start = page.start.as_ref().map(|position| {
            position
                .key
                .iter()
                .map(|(name, value)| (name.clone(), AttributeValue::S(value.clone())))
                .collect::<Item>()
        });
        let out = self
            .client
            .query()
            .table_name(self.table.as_ref())
            .set_index_name((!index.name.is_empty()).then(|| index.name.to_owned()))
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", index.partition_key)
            .expression_attribute_values(":pk", AttributeValue::S(partition.to_owned()))
            .scan_index_forward(forward)
            .limit(i32::try_from(page.limit + 1).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await?;
        self.meter.record("Query", out.consumed_capacity());
        let mut items = out.items.unwrap_or_default();
        let limit = page.limit as usize;
        let key_of = |item: &Item| {
            [schema::PK, schema::SK, index.partition_key, index.sort_key]
                .into_iter()
                .filter_map(|name| Some((name.to_owned(), item::string(item, name).ok()?)))
                .collect()
        };
        // More items than asked for: the next page starts after the last one
        // returned. Fewer, but DynamoDB stopped early (its 1 MB page limit):
        // resume where it stopped.
        let resume = if items.len() > limit {
            items.truncate(limit);
            Some(key_of(&items[limit - 1]))
        } else {
            out.last_evaluated_key.as_ref().map(key_of)
        };
        let next = resume.map(|key| Position {
            key,
            served: page.offset() + items.len() as u64,
        });
        Ok(Page { items, next })
    }
}

/// Which items of a cancelled transaction failed their condition, if the
/// error is a cancelled transaction at all.
fn failed_conditions(
    err: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
    >,
) -> Option<Vec<bool>> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException;
    let Some(TransactionCanceledException(cancelled)) = err.as_service_error() else {
        return None;
    };
    Some(
        cancelled
            .cancellation_reasons()
            .iter()
            .map(|reason| reason.code() == Some("ConditionalCheckFailed"))
            .collect(),
    )
}
