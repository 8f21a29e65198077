//! Articles, the lists they appear in, and tag counts.
//!
//! An article is one item. Each list it appears in (all articles, its
//! author's, each of its tags', each tag-and-author pair's) holds an entry
//! item with the article's summary (no body) in a partition of its own,
//! sorted newest first, so every listing is one Query of small items.
//! A tag's count is one item that also carries its place in the tags-by-count
//! index. Every change to an article writes the article, its entries and its
//! tags' counts in one transaction, each count conditioned on the value it was
//! read with, so concurrent or retried writes cannot count twice.

use super::item::{n, number, optional_parsed, parsed, s, timestamp};
use super::schema::{GSI2, PK, SK};
use super::users::live_profile;
use super::write::{back_off, busy, delete, entry, if_rev, put, random_suffix};
use super::{Item, Page, Repository};
use crate::domain::{Article, ArticleSummary, Slug, Tag, TagCount, UserId};
use crate::error::ApiError;
use crate::request::PageRequest;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::{BTreeSet, HashMap};

pub(super) const ARTICLE: &str = "ARTICLE";
pub(super) const COUNT: &str = "COUNT";
const TAGS: &str = "TAGS";
/// How often a write that lost a race (a count or the article changed
/// under it, or its slug was taken) is tried again before giving up.
const WRITE_ATTEMPTS: u32 = 60;

/// Which articles a listing wants.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArticleFilter {
    pub tag: Option<Tag>,
    pub author: Option<UserId>,
}

impl ArticleFilter {
    /// The partition that lists exactly these articles; also the cursor scope.
    pub fn list(&self) -> String {
        match (&self.tag, &self.author) {
            (None, None) => "LIST#ARTICLES".to_owned(),
            (None, Some(author)) => format!("LIST#AUTHOR#{}", author.key()),
            (Some(tag), None) => format!("LIST#TAG#{}", tag.as_str()),
            (Some(tag), Some(author)) => {
                format!("LIST#TAG#{}#AUTHOR#{}", tag.as_str(), author.key())
            }
        }
    }
}

/// Every list an article appears in.
fn lists_of(article: &ArticleSummary) -> BTreeSet<String> {
    let author = Some(article.author.clone());
    let mut lists = BTreeSet::from([
        ArticleFilter::default().list(),
        ArticleFilter {
            tag: None,
            author: author.clone(),
        }
        .list(),
    ]);
    for tag in article.tags.iter() {
        let tag = Some(tag.clone());
        lists.insert(
            ArticleFilter {
                tag: tag.clone(),
                author: None,
            }
            .list(),
        );
        lists.insert(
            ArticleFilter {
                tag,
                author: author.clone(),
            }
            .list(),
        );
    }
    lists
}

fn article_pk(slug: &Slug) -> String {
    format!("ARTICLE#{}", slug.as_str())
}

pub(super) fn tag_pk(tag: &Tag) -> String {
    format!("TAG#{}", tag.as_str())
}

/// Entries sort newest first when queried in descending order.
fn entry_sk(article: &ArticleSummary) -> String {
    format!("{}#{}", article.created_at.as_str(), article.slug.as_str())
}

/// Sort key of the tags-by-count index: highest count first, then tag.
fn count_key(tag: &Tag, count: u64) -> String {
    format!("{:020}#{}", u64::MAX - count, tag.as_str())
}

/// A tag's count item. A count of zero stays as an item (out of the ranking
/// index, so `GET /tags` no longer lists it) to keep its revision: every write
/// of a count is conditioned on the revision it read, so no write, including
/// the reconcile job's repairs, can overwrite a count that changed since.
pub(super) fn count_item(tag: &Tag, count: u64, rev: u64) -> Item {
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
pub(super) fn count_of(item: &Item) -> Result<(u64, Option<u64>), ApiError> {
    let rev = item.get("rev").map(|_| number(item, "rev")).transpose()?;
    Ok((number(item, "count")?, rev))
}

/// The tags whose counts the reconcile job checks on meeting `item`: an
/// article's tags, or the tag of a count item.
pub(super) fn tags_in(item: &Item) -> Vec<Tag> {
    match item.get(SK) {
        Some(AttributeValue::S(sk)) if sk == ARTICLE => summary_from_item(item)
            .map(|summary| summary.tags.iter().cloned().collect())
            .unwrap_or_default(),
        Some(AttributeValue::S(sk)) if sk == COUNT => parsed(item, "tag").into_iter().collect(),
        _ => Vec::new(),
    }
}

/// An article as stored, with its version for optimistic concurrency.
#[derive(Clone, Debug)]
pub struct ArticleRecord {
    pub article: Article,
    version: u64,
}

/// An article's summary as stored, in the article item and in every entry.
fn summary_attributes(summary: &ArticleSummary) -> Item {
    let tags = summary.tags.iter().map(|tag| s(tag.as_str())).collect();
    let mut item = Item::from([
        ("slug".to_owned(), s(summary.slug.as_str())),
        ("title".to_owned(), s(summary.title.as_str())),
        ("subtitle".to_owned(), s(summary.subtitle.as_str())),
        ("tags".to_owned(), AttributeValue::L(tags)),
        ("author".to_owned(), s(summary.author.as_str())),
        ("createdAt".to_owned(), s(summary.created_at.as_str())),
        ("updatedAt".to_owned(), s(summary.updated_at.as_str())),
    ]);
    if let Some(url) = &summary.image {
        item.insert("image".to_owned(), s(url.as_str()));
    }
    item
}

fn to_item(article: &Article, version: u64) -> Item {
    let mut item = summary_attributes(&article.summary);
    item.extend([
        (PK.to_owned(), s(article_pk(&article.summary.slug))),
        (SK.to_owned(), s(ARTICLE)),
        ("body".to_owned(), s(article.body.as_str())),
        ("version".to_owned(), n(version)),
    ]);
    item
}

/// The entry of `article` in `list`.
fn entry_in(list: &str, summary: &ArticleSummary) -> Item {
    entry(
        list,
        &entry_sk(summary),
        &article_pk(&summary.slug),
        &summary_attributes(summary),
    )
}

/// An article's summary, from the article item or from one of its entries.
/// Articles written before contract v2 are read under their v1 names
/// (`description`, `coverImageUrl`); their next write stores the v2 ones.
fn summary_from_item(item: &Item) -> Result<ArticleSummary, ApiError> {
    let corrupt = || ApiError::internal("stored article has malformed `tags`");
    let tags = match item.get("tags") {
        Some(AttributeValue::L(values)) => values
            .iter()
            .map(|value| match value {
                AttributeValue::S(tag) => Tag::parse(tag).map_err(|_| corrupt()),
                _ => Err(corrupt()),
            })
            .collect::<Result<Vec<_>, _>>()?
            .try_into()
            .map_err(|_| corrupt())?,
        _ => return Err(corrupt()),
    };
    let v1 = item.contains_key("description");
    let (subtitle, image) = if v1 {
        ("description", "coverImageUrl")
    } else {
        ("subtitle", "image")
    };
    Ok(ArticleSummary {
        slug: parsed(item, "slug")?,
        title: parsed(item, "title")?,
        subtitle: parsed(item, subtitle)?,
        tags,
        author: parsed(item, "author")?,
        image: optional_parsed(item, image)?,
        created_at: timestamp(item, "createdAt")?,
        updated_at: timestamp(item, "updatedAt")?,
    })
}

fn from_item(item: &Item) -> Result<ArticleRecord, ApiError> {
    Ok(ArticleRecord {
        article: Article {
            summary: summary_from_item(item)?,
            body: parsed(item, "body")?,
        },
        version: number(item, "version")?,
    })
}

fn tag_count_from_item(item: &Item) -> Result<TagCount, ApiError> {
    Ok(TagCount {
        tag: parsed(item, "tag")?,
        count: number(item, "count")?,
    })
}

fn not_found(slug: &Slug) -> ApiError {
    ApiError::NotFound(format!("no article {}", slug.as_str()))
}

/// Why a transaction did not go through.
enum Lost {
    /// The article item's own condition failed (slug taken, or changed since read).
    Article,
    /// A count changed since it was read, or DynamoDB saw a conflicting transaction.
    Race,
    /// The author has no profile, or it is being deleted.
    Author,
}

impl Repository {
    /// The article with this slug, or 404.
    #[tracing::instrument(skip_all, fields(slug = slug.as_str()))]
    pub async fn article(&self, slug: &Slug) -> Result<ArticleRecord, ApiError> {
        let item = self.get(article_pk(slug), ARTICLE).await?;
        item.as_ref()
            .map(from_item)
            .transpose()?
            .ok_or_else(|| not_found(slug))
    }

    /// Creates `article`, making its slug unique: the slug from the title if
    /// it is free, else that slug with a random suffix.
    #[tracing::instrument(skip_all, fields(slug = article.summary.slug.as_str()))]
    pub async fn create_article(&self, mut article: Article) -> Result<Article, ApiError> {
        let base = article.summary.slug.clone();
        for attempt in 0..WRITE_ATTEMPTS {
            match self.write(None, Some(&article)).await? {
                None => return Ok(article),
                Some(Lost::Article) => article.summary.slug = base.with_suffix(&random_suffix()),
                Some(Lost::Race) => back_off(attempt).await,
                Some(Lost::Author) => {
                    return Err(ApiError::Forbidden(
                        "the author has no profile, or it is being deleted".into(),
                    ));
                }
            }
        }
        Err(busy())
    }

    /// Changes the article `slug` with `change`, which sees the stored article
    /// and may refuse; retried from a fresh read when another write got there first.
    #[tracing::instrument(skip_all, fields(slug = slug.as_str()))]
    pub async fn update_article(
        &self,
        slug: &Slug,
        change: impl Fn(&mut Article) -> Result<(), ApiError>,
    ) -> Result<Article, ApiError> {
        for attempt in 0..WRITE_ATTEMPTS {
            let old = self.article(slug).await?;
            let mut article = old.article.clone();
            change(&mut article)?;
            if self.write(Some(&old), Some(&article)).await?.is_none() {
                return Ok(article);
            }
            back_off(attempt).await;
        }
        Err(busy())
    }

    /// Deletes the article `slug` after `allow` has seen it; 404 if there is none.
    #[tracing::instrument(skip_all, fields(slug = slug.as_str()))]
    pub async fn delete_article(
        &self,
        slug: &Slug,
        allow: impl Fn(&Article) -> Result<(), ApiError>,
    ) -> Result<(), ApiError> {
        for attempt in 0..WRITE_ATTEMPTS {
            let old = self.article(slug).await?;
            allow(&old.article)?;
            if self.write(Some(&old), None).await?.is_none() {
                return Ok(());
            }
            back_off(attempt).await;
        }
        Err(busy())
    }

    /// Moves the table from `old` to `new` (either may be absent) in one
    /// transaction: the article, its list entries, and its tags' counts.
    /// `Ok(None)` when it went through, `Ok(Some(why))` when it lost a race.
    async fn write(
        &self,
        old: Option<&ArticleRecord>,
        new: Option<&Article>,
    ) -> Result<Option<Lost>, ApiError> {
        let table = self.table.as_ref();
        let mut items = Vec::new();

        // The article itself, first, so its cancellation reason is reason 0.
        items.push(match (old, new) {
            (None, Some(article)) => {
                put(table, to_item(article, 1), "attribute_not_exists(PK)", None)?
            }
            (Some(old), Some(article)) => put(
                table,
                to_item(article, old.version + 1),
                "version = :v",
                Some(n(old.version)),
            )?,
            (Some(old), None) => delete(
                table,
                article_pk(&old.article.summary.slug),
                ARTICLE,
                "version = :v",
                Some(n(old.version)),
            )?,
            (None, None) => return Ok(None),
        });

        // List entries: removed from lists the article leaves, added to those
        // it joins, and rewritten in those it stays in if its summary changed.
        let old_summary = old.map(|o| &o.article.summary);
        let new_summary = new.map(|a| &a.summary);
        let old_lists = old_summary.map(lists_of).unwrap_or_default();
        let new_lists = new_summary.map(lists_of).unwrap_or_default();
        if let Some(old) = old_summary {
            for list in old_lists.difference(&new_lists) {
                items.push(delete(
                    table,
                    list.clone(),
                    &entry_sk(old),
                    "attribute_exists(PK)",
                    None,
                )?);
            }
        }
        if let Some(summary) = new_summary {
            let changed = old_summary != Some(summary);
            for list in &new_lists {
                let condition = if !old_lists.contains(list) {
                    "attribute_not_exists(PK)"
                } else if changed {
                    "attribute_exists(PK)"
                } else {
                    continue;
                };
                items.push(put(table, entry_in(list, summary), condition, None)?);
            }
        }

        // Tag counts, each conditioned on the revision it was read with.
        let old_tags: BTreeSet<&Tag> = old_summary
            .map(|o| o.tags.iter().collect())
            .unwrap_or_default();
        let new_tags: BTreeSet<&Tag> = new_summary
            .map(|a| a.tags.iter().collect())
            .unwrap_or_default();
        let changed: Vec<(&Tag, i64)> = old_tags
            .difference(&new_tags)
            .map(|tag| (*tag, -1))
            .chain(new_tags.difference(&old_tags).map(|tag| (*tag, 1)))
            .collect();
        let counts = self.counts(changed.iter().map(|(tag, _)| *tag)).await?;
        for (tag, delta) in changed {
            let (current, rev) = counts.get(tag).copied().unwrap_or((0, None));
            // A count below zero means the count already lost this article: a race.
            let Some(count) = current.checked_add_signed(delta) else {
                return Ok(Some(Lost::Race));
            };
            let (condition, value) = if_rev(rev);
            let item = count_item(tag, count, rev.unwrap_or(0) + 1);
            items.push(put(table, item, condition, value)?);
        }

        let author_check = items.len();
        if old.is_none()
            && let Some(article) = new
        {
            items.push(live_profile(table, &article.summary.author)?);
        }
        Ok(match self.try_transact(items).await? {
            Ok(()) => None,
            Err(failed) if failed.first() == Some(&true) => Some(Lost::Article),
            Err(failed) if failed.get(author_check) == Some(&true) => Some(Lost::Author),
            Err(_) => Some(Lost::Race),
        })
    }

    /// The current counts of `tags` (absent tags have none), read consistently.
    async fn counts<'a>(
        &self,
        tags: impl Iterator<Item = &'a Tag>,
    ) -> Result<HashMap<Tag, (u64, Option<u64>)>, ApiError> {
        let keys: Vec<Item> = tags
            .map(|tag| Item::from([(PK.to_owned(), s(tag_pk(tag))), (SK.to_owned(), s(COUNT))]))
            .collect();
        let found = self.batch_get(keys, true).await?;
        found
            .iter()
            .map(|item| Ok((parsed(item, "tag")?, count_of(item)?)))
            .collect()
    }

    /// Summaries of the articles matching `filter`, newest first: one Query
    /// on the list's partition, whose entries hold the summaries.
    #[tracing::instrument(skip_all, fields(limit = page.limit))]
    pub async fn list_articles(
        &self,
        filter: &ArticleFilter,
        page: &PageRequest,
    ) -> Result<Page<ArticleSummary>, ApiError> {
        let found = self.list_page(&filter.list(), page).await?;
        found.try_map(|item| summary_from_item(&item))
    }

    /// Rewrites the article stored as `item` in v2's shape, with every one of
    /// its entries holding its summary: for data written before v2 (bare
    /// entries, v1 attribute names). Conditioned on the version read; a lost
    /// race means a write rewrote it meanwhile. `Ok(true)` when it rewrote.
    pub(super) async fn upgrade_article(&self, item: &Item) -> Result<bool, ApiError> {
        let record = from_item(item)?;
        let table = self.table.as_ref();
        let summary = &record.article.summary;
        let mut items = vec![put(
            table,
            to_item(&record.article, record.version + 1),
            "version = :v",
            Some(n(record.version)),
        )?];
        for list in lists_of(summary) {
            items.push(put(
                table,
                entry_in(&list, summary),
                "attribute_exists(PK)",
                None,
            )?);
        }
        self.transact(items).await
    }

    /// How many articles carry `tag`, or 404 when none does.
    #[tracing::instrument(skip_all, fields(tag = tag.as_str()))]
    pub async fn tag_count(&self, tag: &Tag) -> Result<TagCount, ApiError> {
        let item = self.get(tag_pk(tag), COUNT).await?;
        item.as_ref()
            .map(tag_count_from_item)
            .transpose()?
            .filter(|found| found.count > 0)
            .ok_or_else(|| ApiError::NotFound(format!("no article is tagged {}", tag.as_str())))
    }

    /// Tags by count, highest first, ties by tag: one Query on the ranking index.
    #[tracing::instrument(skip_all, fields(limit = page.limit))]
    pub async fn top_tags(&self, page: &PageRequest) -> Result<Page<TagCount>, ApiError> {
        let found = self.query_page(GSI2, TAGS, true, page).await?;
        found.try_map(|item| tag_count_from_item(&item))
    }

    /// Recounts the articles tagged `tag` (its list's entries, written in the
    /// same transaction as each article) and rewrites the count item if it
    /// differs, conditioned on the revision read before counting: a write
    /// that lands meanwhile makes it count again. `Ok(true)` when it repaired.
    pub(super) async fn recount_tag(&self, tag: &Tag) -> Result<bool, ApiError> {
        let list = ArticleFilter {
            tag: Some(tag.clone()),
            author: None,
        }
        .list();
        for attempt in 0..WRITE_ATTEMPTS {
            let stored = self.get(tag_pk(tag), COUNT).await?;
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
                return Ok(false);
            }
            let (condition, value) = if_rev(rev);
            if self
                .transact(vec![put(self.table.as_ref(), expected, condition, value)?])
                .await?
            {
                tracing::warn!(
                    tag = tag.as_str(),
                    stored = count,
                    actual,
                    "repaired a tag count"
                );
                return Ok(true);
            }
            back_off(attempt).await;
        }
        Err(busy())
    }
}
