//! Conditional writes of one or more items, each named by its part.
//!
//! A [`Write`] collects the items of one change (an article, its list
//! entries, its tags' counts, a check that its author is live) and
//! [`Repository::commit`] sends them as one `TransactWriteItems`, or as a
//! plain `PutItem` when there is only one Put (half the write cost of a
//! one-item transaction, the same condition). A
//! cancelled write is read by the names of the items whose condition failed,
//! never by their position.

use super::error::{Result, StoreError};
use super::item::s;
use super::schema::{PK, SK};
use super::{Item, Repository};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};
use std::collections::HashMap;

/// The part an item plays in a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Part {
    /// The item the write is about: a profile, an article, a review, a
    /// rating, a checkpoint.
    Main,
    /// A list entry.
    Entry,
    /// A tag's count.
    Count,
    /// A subject's summary.
    Summary,
    /// An owner claim.
    Claim,
    /// The writer's profile, checked to be live.
    Author,
    /// A journeyer's recorded GitHub activity (the activity job's item).
    Activity,
    /// A journeyer's entry in a week's leaderboard.
    Week,
    /// The record of a create's first answer, made with an `Idempotency-Key` (`parts/answers.rs`).
    Answer,
}

/// The items of one conditional write.
#[derive(Debug)]
pub(super) struct Write {
    table: String,
    items: Vec<(Part, TransactWriteItem)>,
}

/// How a write ended.
#[derive(Debug)]
pub(super) enum Outcome {
    Committed,
    /// Nothing was written: conditions failed, or DynamoDB cancelled it for a
    /// conflicting transaction.
    Cancelled(Cancelled),
}

/// Which parts of a cancelled write failed their condition (none when it
/// only conflicted with another transaction), and which were in another
/// transaction being written.
#[derive(Debug, Default)]
pub(super) struct Cancelled {
    failed: Vec<Part>,
    conflicted: Vec<Part>,
}

impl Cancelled {
    pub(super) fn failed(&self, part: Part) -> bool {
        self.failed.contains(&part)
    }

    pub(super) fn conflicted(&self, part: Part) -> bool {
        self.conflicted.contains(&part)
    }
}

/// `#count` stands for `count`, a DynamoDB reserved word.
fn names(condition: &str) -> Option<HashMap<String, String>> {
    condition
        .contains("#count")
        .then(|| HashMap::from([("#count".to_owned(), "count".to_owned())]))
}

fn values(value: Option<AttributeValue>) -> Option<HashMap<String, AttributeValue>> {
    value.map(|v| HashMap::from([(":v".to_owned(), v)]))
}

/// `builder` on `table`, holding to `condition` (`:v` standing for `value`), built.
macro_rules! conditioned {
    ($builder:expr, $table:expr, $condition:expr, $value:expr) => {
        built(
            $builder
                .table_name($table)
                .condition_expression($condition)
                .set_expression_attribute_names(names($condition))
                .set_expression_attribute_values(values($value))
                .build(),
        )
    };
}

fn built<T>(result: std::result::Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T> {
    result.map_err(StoreError::failed)
}

impl Write {
    pub(super) fn new(table: &str) -> Self {
        Self {
            table: table.to_owned(),
            items: Vec::new(),
        }
    }

    /// Puts `item` if `condition` holds (`:v` stands for `value`).
    pub(super) fn put(
        &mut self,
        part: Part,
        item: Item,
        condition: &str,
        value: Option<AttributeValue>,
    ) -> Result<&mut Self> {
        let put = conditioned!(
            Put::builder().set_item(Some(item)),
            &self.table,
            condition,
            value
        )?;
        self.items
            .push((part, TransactWriteItem::builder().put(put).build()));
        Ok(self)
    }

    /// Deletes the item `pk`/`sk` if `condition` holds.
    pub(super) fn delete(
        &mut self,
        part: Part,
        pk: String,
        sk: &str,
        condition: &str,
        value: Option<AttributeValue>,
    ) -> Result<&mut Self> {
        let delete = conditioned!(
            Delete::builder().key(PK, s(pk)).key(SK, s(sk)),
            &self.table,
            condition,
            value
        )?;
        self.items
            .push((part, TransactWriteItem::builder().delete(delete).build()));
        Ok(self)
    }

    /// Writes nothing to `pk`/`sk` but holds the write to `condition` on it.
    pub(super) fn check(
        &mut self,
        part: Part,
        pk: String,
        sk: &str,
        condition: &str,
    ) -> Result<&mut Self> {
        self.check_if(part, pk, sk, condition, None)
    }

    /// [`Self::check`] with `:v` in `condition` standing for `value`.
    pub(super) fn check_if(
        &mut self,
        part: Part,
        pk: String,
        sk: &str,
        condition: &str,
        value: Option<AttributeValue>,
    ) -> Result<&mut Self> {
        let check = conditioned!(
            ConditionCheck::builder().key(PK, s(pk)).key(SK, s(sk)),
            &self.table,
            condition,
            value
        )?;
        self.items.push((
            part,
            TransactWriteItem::builder().condition_check(check).build(),
        ));
        Ok(self)
    }

    /// Puts `item` whatever is there.
    pub(super) fn put_any(&mut self, part: Part, item: Item) -> Result<&mut Self> {
        let put = built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .build(),
        )?;
        self.items
            .push((part, TransactWriteItem::builder().put(put).build()));
        Ok(self)
    }

    /// Deletes the item `pk`/`sk` whatever it holds (nothing if it is not there).
    pub(super) fn delete_any(&mut self, part: Part, pk: String, sk: &str) -> Result<&mut Self> {
        let delete = built(
            Delete::builder()
                .table_name(&self.table)
                .key(PK, s(pk))
                .key(SK, s(sk))
                .build(),
        )?;
        self.items
            .push((part, TransactWriteItem::builder().delete(delete).build()));
        Ok(self)
    }

    /// Updates the item `pk`/`sk` with `expression`, if `condition` (when
    /// given) holds.
    pub(super) fn update(
        &mut self,
        part: Part,
        (pk, sk): (String, &str),
        expression: String,
        names: HashMap<String, String>,
        values: HashMap<String, AttributeValue>,
        condition: Option<&str>,
    ) -> Result<&mut Self> {
        let update = built(
            Update::builder()
                .table_name(&self.table)
                .key(PK, s(pk))
                .key(SK, s(sk))
                .update_expression(expression)
                .set_condition_expression(condition.map(str::to_owned))
                .set_expression_attribute_names((!names.is_empty()).then_some(names))
                .set_expression_attribute_values(Some(values))
                .build(),
        )?;
        self.items
            .push((part, TransactWriteItem::builder().update(update).build()));
        Ok(self)
    }
}

/// The entry in `list` (sorted by `sort`) that points at the item
/// `target_pk` and holds its `summary` attributes.
pub(super) fn entry(list: &str, sort: &str, target_pk: &str, summary: &Item) -> Item {
    let mut entry = summary.clone();
    entry.extend([
        (PK.to_owned(), s(list)),
        (SK.to_owned(), s(sort)),
        ("target".to_owned(), s(target_pk)),
    ]);
    entry
}

/// Whether `item` is a list entry written before entries held summaries
/// (contract v1): the reconcile job rebuilds those from their target.
pub(super) fn is_bare_entry(item: &Item) -> bool {
    item.contains_key("target") && !item.contains_key("title")
}

/// The condition that an item's revision is still `rev`, as read (`None`:
/// the item, or its revision, did not exist).
pub(super) fn if_rev(rev: Option<u64>) -> (&'static str, Option<AttributeValue>) {
    match rev {
        Some(rev) => ("rev = :v", Some(AttributeValue::N(rev.to_string()))),
        None => ("attribute_not_exists(rev)", None),
    }
}

/// Cancellation reason codes that mean throttling rather than a condition.
const THROTTLED_REASONS: &[&str] = &[
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
];

impl Repository {
    /// Sends `write`: `Committed`, or `Cancelled` with the parts whose
    /// condition failed. Throttling and other failures are errors.
    pub(super) async fn commit(&self, write: Write) -> Result<Outcome> {
        let mut items = write.items;
        if let [(part, TransactWriteItem { put: Some(_), .. })] = items.as_slice() {
            let part = *part;
            if let Some(put) = items.remove(0).1.put {
                return self.put_one(part, put).await;
            }
        }
        let parts: Vec<Part> = items.iter().map(|(part, _)| *part).collect();
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items.into_iter().map(|(_, item)| item).collect()))
            .set_return_consumed_capacity(self.capacity())
            .send()
            .await;
        let err = match result {
            Ok(out) => {
                self.record("TransactWriteItems", out.consumed_capacity());
                return Ok(Outcome::Committed);
            }
            Err(err) => err,
        };
        let reasons: Vec<Option<String>> = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
                .cancellation_reasons()
                .iter()
                .map(|reason| reason.code().map(str::to_owned))
                .collect(),
            _ => return Err(err.into()),
        };
        if reasons
            .iter()
            .flatten()
            .any(|code| THROTTLED_REASONS.contains(&code.as_str()))
        {
            return Err(StoreError::Unavailable(Box::new(err)));
        }
        let mut cancelled = Cancelled::default();
        for (part, code) in parts.into_iter().zip(reasons) {
            match code.as_deref() {
                None | Some("None") => {}
                Some("TransactionConflict") => cancelled.conflicted.push(part),
                Some("ConditionalCheckFailed") => cancelled.failed.push(part),
                Some(_) => return Err(StoreError::Failed(Box::new(err))),
            }
        }
        Ok(Outcome::Cancelled(cancelled))
    }

    /// One Put, as a plain `PutItem` with the same condition.
    async fn put_one(&self, part: Part, put: Put) -> Result<Outcome> {
        let result = self
            .client
            .put_item()
            .table_name(put.table_name)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_names(put.expression_attribute_names)
            .set_expression_attribute_values(put.expression_attribute_values)
            .set_return_consumed_capacity(self.capacity())
            .send()
            .await;
        match result {
            Ok(out) => {
                self.record("PutItem", out.consumed_capacity());
                Ok(Outcome::Committed)
            }
            Err(err) => match err.as_service_error().and_then(|e| e.code()) {
                Some("ConditionalCheckFailedException") => Ok(Outcome::Cancelled(Cancelled {
                    failed: vec![part],
                    ..Cancelled::default()
                })),
                // The item is in a transaction being written: a conflict.
                Some("TransactionConflictException") => Ok(Outcome::Cancelled(Cancelled {
                    conflicted: vec![part],
                    ..Cancelled::default()
                })),
                _ => Err(err.into()),
            },
        }
    }
}
