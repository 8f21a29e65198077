//! Building blocks of conditional writes and of lists.
//!
//! A list (all articles, a tag's articles, a subject's reviews, ...) is a
//! partition of entry items, sorted newest first by their sort key, each
//! holding the summary of the item it lists (everything a list shows; no
//! body) and pointing at it. A page is one Query on the partition: O(page)
//! whatever the table holds, and its size bounded whatever the bodies hold.

use super::item::s;
use super::schema::{PK, SK, TABLE};
use super::{Item, Page, Repository};
use crate::error::ApiError;
use crate::request::PageRequest;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, ReturnConsumedCapacity,
    TransactWriteItem,
};
use std::collections::HashMap;
use std::time::Duration;

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

/// A few random bytes from the standard library's per-process hash seeds.
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

/// A short random slug suffix: six characters of `[a-z0-9]`.
pub(super) fn random_suffix() -> String {
    let mut bits = random();
    (0..6)
        .map(|_| {
            let digit = (bits % 36) as u32;
            bits /= 36;
            char::from_digit(digit, 36).unwrap_or('0')
        })
        .collect()
}

/// Waits a little, longer after each lost race, so racing writers spread out.
pub(super) async fn back_off(attempt: u32) {
    let cap = 5 * u64::from(attempt.min(10) + 1);
    tokio::time::sleep(Duration::from_millis(1 + random() % cap)).await;
}

impl Repository {
    /// Reads up to 100 items by key, retrying unprocessed keys. Reads before a
    /// write are `consistent`; list pages need not be (their Query is not either).
    pub(super) async fn batch_get(
        &self,
        keys: Vec<Item>,
        consistent: bool,
    ) -> Result<Vec<Item>, ApiError> {
        let mut found = Vec::with_capacity(keys.len());
        let mut pending = keys;
        let mut attempt = 0;
        while !pending.is_empty() {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .consistent_read(consistent)
                .build()
                .map_err(ApiError::internal)?;
            let out = self
                .client
                .batch_get_item()
                .request_items(self.table.as_ref(), request)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await?;
            self.meter.record("BatchGetItem", out.consumed_capacity());
            found.extend(
                out.responses
                    .and_then(|mut r| r.remove(self.table.as_ref()))
                    .unwrap_or_default(),
            );
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(self.table.as_ref()))
                .map(|k| k.keys)
                .unwrap_or_default();
            if !pending.is_empty() {
                back_off(attempt).await;
                attempt += 1;
            }
        }
        Ok(found)
    }

    /// A page of the entries of `list`, newest first.
    pub(super) async fn list_page(
        &self,
        list: &str,
        page: &PageRequest,
    ) -> Result<Page<Item>, ApiError> {
        self.query_page(TABLE, list, false, page).await
    }
}

/// The answer when a write keeps losing races with other writes.
pub(super) fn busy() -> ApiError {
    ApiError::Conflict("too many concurrent changes to the same items; try again".into())
}

fn values(value: Option<AttributeValue>) -> Option<HashMap<String, AttributeValue>> {
    value.map(|v| HashMap::from([(":v".to_owned(), v)]))
}

/// `#count` stands for `count`, a DynamoDB reserved word.
fn names(condition: &str) -> Option<HashMap<String, String>> {
    condition
        .contains("#count")
        .then(|| HashMap::from([("#count".to_owned(), "count".to_owned())]))
}

/// The condition that an item's revision is still `rev`, as read (`None`:
/// the item, or its revision, did not exist).
pub(super) fn if_rev(rev: Option<u64>) -> (&'static str, Option<AttributeValue>) {
    match rev {
        Some(rev) => ("rev = :v", Some(AttributeValue::N(rev.to_string()))),
        None => ("attribute_not_exists(rev)", None),
    }
}

pub(super) fn put(
    table: &str,
    item: Item,
    condition: &str,
    value: Option<AttributeValue>,
) -> Result<TransactWriteItem, ApiError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition)
        .set_expression_attribute_names(names(condition))
        .set_expression_attribute_values(values(value))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

pub(super) fn delete(
    table: &str,
    pk: String,
    sk: &str,
    condition: &str,
    value: Option<AttributeValue>,
) -> Result<TransactWriteItem, ApiError> {
    let delete = Delete::builder()
        .table_name(table)
        .key(PK, s(pk))
        .key(SK, s(sk))
        .condition_expression(condition)
        .set_expression_attribute_names(names(condition))
        .set_expression_attribute_values(values(value))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// A transaction item that writes nothing but holds the transaction to
/// `condition` on the item `pk`/`sk`.
pub(super) fn check(
    table: &str,
    pk: String,
    sk: &str,
    condition: &str,
) -> Result<TransactWriteItem, ApiError> {
    let check = ConditionCheck::builder()
        .table_name(table)
        .key(PK, s(pk))
        .key(SK, s(sk))
        .condition_expression(condition)
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}
