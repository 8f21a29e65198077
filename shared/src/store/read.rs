//! Every read of the table but the reconcile job's Scan: one item, a page of a
//! partition (a list, an index's ranking), a whole small partition, a batch.

use super::error::{Result, StoreError};
use super::item::{s, string};
use super::retry::backoff;
use super::schema::{self, Index, PK, SK, TABLE};
use super::{Item, Page, Repository};
use crate::page::Position;
use crate::page::Window;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

/// How fresh a read must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Read {
    /// Sees every write acknowledged before it (twice the read cost): reads
    /// that a conditional write depends on, and a caller's own state.
    Consistent,
    /// May miss a write from the last second or so: public reads, where a
    /// moment's staleness is harmless.
    Eventual,
}

impl Read {
    fn consistent(self) -> bool {
        self == Self::Consistent
    }
}

impl Repository {
    /// One item.
    pub(super) async fn get(&self, pk: String, sk: &str, read: Read) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(self.table.as_ref())
            .key(PK, s(pk))
            .key(SK, s(sk))
            .consistent_read(read.consistent())
            .set_return_consumed_capacity(self.capacity())
            .send()
            .await?;
        self.record("GetItem", out.consumed_capacity());
        Ok(out.item)
    }

    /// One page of the items under `partition` of `index`, in sort-key order
    /// (`forward`) or reverse. Reads `limit + 1` items so that a next page is
    /// promised only when one exists; the cost is O(limit) whatever the table holds.
    pub(super) async fn query_page(
        &self,
        index: Index,
        partition: &str,
        forward: bool,
        page: &Window,
    ) -> Result<Page<Item>> {
        let start = page.start.as_ref().map(|position| {
            position
                .key
                .iter()
                .map(|(name, value)| (name.clone(), s(value)))
                .collect::<Item>()
        });
        let out = self
            .client
            .query()
            .table_name(self.table.as_ref())
            .set_index_name((!index.name.is_empty()).then(|| index.name.to_owned()))
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", index.partition_key)
            .expression_attribute_values(":pk", s(partition))
            .scan_index_forward(forward)
            .limit(i32::try_from(page.limit + 1).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .set_return_consumed_capacity(self.capacity())
            .send()
            .await?;
        self.record("Query", out.consumed_capacity());
        let mut items = out.items.unwrap_or_default();
        let limit = page.limit as usize;
        let key_of = |item: &Item| {
            [schema::PK, schema::SK, index.partition_key, index.sort_key]
                .into_iter()
                .filter_map(|name| Some((name.to_owned(), string(item, name).ok()?)))
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

    /// A page of the entries of `list`, newest first: each holds the summary
    /// of the item it lists.
    pub(super) async fn list_page(&self, list: &str, page: &Window) -> Result<Page<Item>> {
        self.query_page(TABLE, list, false, page).await
    }

    /// The `attribute` of every item of the partition `pk` (whose sort key
    /// starts with `prefix`, if given), read consistently, page after page:
    /// for recounts, which serve no request.
    pub(super) async fn partition_items(
        &self,
        pk: &str,
        prefix: Option<&str>,
        attribute: &str,
    ) -> Result<Vec<Item>> {
        let mut values = Item::from([(":pk".to_owned(), s(pk))]);
        let condition = match prefix {
            Some(prefix) => {
                values.insert(":prefix".to_owned(), s(prefix));
                "PK = :pk AND begins_with(SK, :prefix)"
            }
            None => "PK = :pk",
        };
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(self.table.as_ref())
                .key_condition_expression(condition)
                .set_expression_attribute_values(Some(values.clone()))
                .projection_expression("#a")
                .expression_attribute_names("#a", attribute)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .set_return_consumed_capacity(self.capacity())
                .send()
                .await?;
            self.record("Query", out.consumed_capacity());
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// How many items the partition `pk` holds, read consistently.
    pub(super) async fn count_partition(&self, pk: &str) -> Result<u64> {
        Ok(self.partition_items(pk, None, PK).await?.len() as u64)
    }

    /// Up to 100 items by key, asking again for the keys DynamoDB left
    /// unprocessed (with the retry policy's backoff).
    pub(super) async fn batch_get(&self, keys: Vec<Item>, read: Read) -> Result<Vec<Item>> {
        let mut found = Vec::with_capacity(keys.len());
        let mut pending = keys;
        let mut attempt = 0;
        while !pending.is_empty() {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .consistent_read(read.consistent())
                .build()
                .map_err(StoreError::failed)?;
            let out = self
                .client
                .batch_get_item()
                .request_items(self.table.as_ref(), request)
                .set_return_consumed_capacity(self.capacity())
                .send()
                .await?;
            self.record("BatchGetItem", out.consumed_capacity());
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
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
        }
        Ok(found)
    }
}

/// The keys `PK`/`SK` of an item, as a batch read asks for it.
pub(super) fn key(pk: String, sk: &str) -> Item {
    Item::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

/// The partition and sort key of `item`, from a Scan's last key.
/// A key of the table (`PK`, `SK`, and an index's keys): where a walk resumes.
pub type ScanKey = std::collections::BTreeMap<String, String>;

/// The key DynamoDB stopped at, as a [`ScanKey`].
pub(super) fn scan_key(key: Item) -> ScanKey {
    key.into_iter()
        .filter_map(|(name, value)| match value {
            AttributeValue::S(value) => Some((name, value)),
            _ => None,
        })
        .collect()
}
