//! Tags (`/tags`): how many articles carry each tag, and the ranking by count.
//!
//! A tag's count is one item that also carries its place in the tags-by-count
//! index. It moves in the transaction of the article write that changes it
//! (`articles.rs`), conditioned on the revision it was read with.

use super::codec::article::ArticleFilter;
use super::error::{Missing, Result, StoreError};
use super::item::{n, number, optional_number, parsed, s};
use super::keys::{COUNT, TAGS, tag_pk};
use super::read::{Read, key};
use super::retry::Attempt;
use super::schema::{GSI2, PK, SK};
use super::write::{Outcome, Part, Write, if_rev};
use super::{Item, Page, Repository};
use crate::domain::{Tag, TagCount};
use crate::page::Window;
use std::collections::{BTreeSet, HashMap};

/// Sort key of the tags-by-count index: highest count first, then tag.
fn count_key(tag: &Tag, count: u64) -> String {
    format!("{:020}#{}", u64::MAX - count, tag.as_str())
}

/// A tag's count item. A count of zero stays as an item (out of the ranking
/// index, so `GET /tags` no longer lists it) to keep its revision: every write
/// of a count is conditioned on the revision it read, so no write, including
/// the reconcile job's repairs, can overwrite a count that changed since.
fn count_item(tag: &Tag, count: u64, rev: u64) -> Item {
    let mut item = Item::from([
        (PK.to_owned(), s(tag_pk(tag))),
        (SK.to_owned(), s(COUNT)),
        ("tag".to_owned(), s(tag.as_str())),
        ("count".to_owned(), n(count)),
        ("rev".to_owned(), n(rev)),
    ]);
    if count > 0 {
        item.insert(GSI2.partition_key.to_owned(), s(TAGS));
        item.insert(GSI2.sort_key.to_owned(), s(count_key(tag, count)));
    }
    item
}

/// The count and revision of a stored count item.
fn count_of(item: &Item) -> Result<(u64, Option<u64>)> {
    Ok((number(item, "count")?, optional_number(item, "rev")?))
}

fn tag_count_from_item(item: &Item) -> Result<TagCount> {
    Ok(TagCount {
        tag: parsed(item, "tag")?,
        count: number(item, "count")?,
    })
}

impl Repository {
    /// Adds to `write` the counts of the tags an article leaves (`old` but not
    /// `new`, minus one) and joins (plus one), each conditioned on the
    /// revision read now. `Ok(false)` when a count it would take below zero
    /// already lost this article: a race, to be read again.
    pub(super) async fn move_counts(
        &self,
        write: &mut Write,
        old: &BTreeSet<Tag>,
        new: &BTreeSet<Tag>,
    ) -> Result<bool> {
        let changed: Vec<(&Tag, i64)> = old
            .difference(new)
            .map(|tag| (tag, -1))
            .chain(new.difference(old).map(|tag| (tag, 1)))
            .collect();
        if changed.is_empty() {
            return Ok(true);
        }
        let keys = changed
            .iter()
            .map(|(tag, _)| key(tag_pk(tag), COUNT))
            .collect();
        let counts: HashMap<Tag, (u64, Option<u64>)> = self
            .batch_get(keys, Read::Consistent)
            .await?
            .iter()
            .map(|item| Ok((parsed(item, "tag")?, count_of(item)?)))
            .collect::<Result<_>>()?;
        for (tag, delta) in changed {
            let (current, rev) = counts.get(tag).copied().unwrap_or((0, None));
            let Some(count) = current.checked_add_signed(delta) else {
                return Ok(false);
            };
            let (condition, value) = if_rev(rev);
            let item = count_item(tag, count, rev.unwrap_or(0) + 1);
            write.put(Part::Count, item, condition, value)?;
        }
        Ok(true)
    }

    /// How many articles carry `tag`; not found when none does. A public
    /// read: eventually consistent.
    #[tracing::instrument(skip_all, fields(tag = tag.as_str()))]
    pub async fn tag_count(&self, tag: &Tag) -> Result<TagCount> {
        let item = self.get(tag_pk(tag), COUNT, Read::Eventual).await?;
        item.as_ref()
            .map(tag_count_from_item)
            .transpose()?
            .filter(|found| found.count > 0)
            .ok_or_else(|| StoreError::NotFound(Missing::Tag(tag.clone())))
    }

    /// Tags by count, highest first, ties by tag: one Query on the ranking index.
    #[tracing::instrument(skip_all, fields(limit = page.limit))]
    pub async fn top_tags(&self, page: &Window) -> Result<Page<TagCount>> {
        let found = self.query_page(GSI2, TAGS, true, page).await?;
        found.try_map(|item| tag_count_from_item(&item))
    }

    /// Recounts the articles tagged `tag` (its list's entries, written in the
    /// same transaction as each article) and rewrites the count item if it
    /// differs, conditioned on the revision read before counting: a write
    /// that lands meanwhile makes it count again. `Ok(true)` when it repaired.
    pub(super) async fn recount_tag(&self, tag: &Tag) -> Result<bool> {
        let list = ArticleFilter {
            tag: Some(tag.clone()),
            author: None,
        }
        .partition();
        self.optimistic(|| async {
            let stored = self.get(tag_pk(tag), COUNT, Read::Consistent).await?;
            let (count, rev) = stored
                .as_ref()
                .map(count_of)
                .transpose()?
                .unwrap_or((0, None));
            let actual = self.count_partition(&list).await?;
            let expected = count_item(tag, actual, rev.unwrap_or(0) + 1);
            let ranked_right = [GSI2.partition_key, GSI2.sort_key]
                .iter()
                .all(|key| stored.as_ref().and_then(|item| item.get(*key)) == expected.get(*key));
            if actual == count && ranked_right {
                return Ok(Attempt::Done(false));
            }
            let (condition, value) = if_rev(rev);
            let mut write = Write::new(&self.table);
            write.put(Part::Count, expected, condition, value)?;
            if let Outcome::Cancelled(_) = self.commit(write).await? {
                return Ok(Attempt::Lost);
            }
            tracing::warn!(
                tag = tag.as_str(),
                stored = count,
                actual,
                "repaired a tag count"
            );
            Ok(Attempt::Done(true))
        })
        .await
    }
}
