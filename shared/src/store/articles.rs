//! Articles and the lists they appear in (`/articles`).
//!
//! An article is one item. Each list it appears in (all articles, its
//! author's, each of its tags', each tag-and-author pair's) holds an entry
//! item with the article's summary (no body) in a partition of its own,
//! sorted newest first, so every listing is one Query of small items. Every
//! change to an article writes the article, its entries and its tags' counts
//! (`tags.rs`) in one transaction, each count conditioned on the revision it
//! was read with, so concurrent or retried writes cannot count twice.

use super::codec::article::{
    ArticleFilter, ArticleRecord, entry_in, entry_sk, from_item, lists_of, summary_from_item,
    to_item,
};
use super::error::{Missing, Precondition, Result, StoreError};
use super::item::{n, optional_string, s};
use super::keys::{ARTICLE, article_pk};
use super::parts::answers::{KeyedCreate, Record};
use super::parts::check_live_profile;
use super::read::Read;
use super::retry::{Attempt, random};
use super::write::{Outcome, Part, Write};
use super::{Item, Page, Repository};
use crate::domain::{Article, ArticleSummary, Slug, Tag};
use crate::page::Window;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

/// The token of the create call that wrote an article (never shown).
const CREATED_BY: &str = "createdBy";

/// A short random slug suffix: six characters of `[a-z0-9]`.
fn random_suffix() -> String {
    let mut bits = random();
    (0..6)
        .map(|_| {
            let digit = (bits % 36) as u32;
            bits /= 36;
            char::from_digit(digit, 36).unwrap_or('0')
        })
        .collect()
}

/// How an article's write went.
enum Written {
    Done,
    /// The new article's slug is taken.
    SlugTaken,
    /// A count or the article changed since they were read, or DynamoDB saw
    /// a conflicting transaction.
    Lost,
}

impl Repository {
    /// The article with this slug. A public read: eventually consistent.
    #[tracing::instrument(skip_all, fields(slug = slug.as_str()))]
    pub async fn article(&self, slug: &Slug) -> Result<Article> {
        Ok(self.article_record(slug, Read::Eventual).await?.article)
    }

    async fn article_record(&self, slug: &Slug, read: Read) -> Result<ArticleRecord> {
        self.find_article(slug, read)
            .await?
            .ok_or_else(|| StoreError::NotFound(Missing::Article(slug.clone())))
    }

    async fn find_article(&self, slug: &Slug, read: Read) -> Result<Option<ArticleRecord>> {
        let item = self.get(article_pk(slug), ARTICLE, read).await?;
        item.as_ref().map(from_item).transpose()
    }

    /// Creates `article` (once, with `once`), making its slug unique: the
    /// slug from the title if it is free, else that slug with a random suffix.
    #[tracing::instrument(skip_all, fields(slug = article.summary.slug.as_str()))]
    pub async fn create_article(
        &self,
        article: Article,
        once: Option<&KeyedCreate<'_, Article>>,
    ) -> Result<Article> {
        let taken = AtomicBool::new(false);
        let token = uuid::Uuid::new_v4().simple().to_string();
        let token = token.as_str();
        self.optimistic(|| async {
            let mut article = article.clone();
            if taken.load(Ordering::Relaxed) {
                let slug = article.summary.slug.with_suffix(&random_suffix());
                article.summary.slug = slug;
            }
            // The answer names the slug, so it is made again with each one.
            let answer = self.once_record(once, &article);
            Ok(
                match self
                    .write_article(None, Some((&article, token)), answer.as_ref())
                    .await?
                {
                    Written::Done => Attempt::Done(article),
                    // This very write, applied by an earlier attempt whose answer
                    // was lost (then retried into a conflict): done, not again.
                    Written::SlugTaken if self.article_created_by(&article, token).await? => {
                        Attempt::Done(article)
                    }
                    Written::SlugTaken => {
                        taken.store(true, Ordering::Relaxed);
                        Attempt::Lost
                    }
                    Written::Lost => Attempt::Lost,
                },
            )
        })
        .await
    }

    /// Whether the article at `article`'s slug was written by the create
    /// call holding `token` (an attempt applied although its answer was lost).
    async fn article_created_by(&self, article: &Article, token: &str) -> Result<bool> {
        let pk = article_pk(&article.summary.slug);
        let stored = self.get(pk, ARTICLE, Read::Consistent).await?;
        Ok(stored.is_some_and(|item| optional_string(&item, CREATED_BY).as_deref() == Some(token)))
    }

    /// Creates `article` under its own slug, as an import does: `Ok(false)`,
    /// writing nothing, when an article with that slug exists. Counted in
    /// its tags and listed in the same transaction as any create.
    #[tracing::instrument(skip_all, fields(slug = article.summary.slug.as_str()))]
    pub async fn import_article(&self, article: &Article) -> Result<bool> {
        self.optimistic(|| async {
            Ok(
                match self.write_article(None, Some((article, "")), None).await? {
                    Written::Done => Attempt::Done(true),
                    Written::SlugTaken => Attempt::Done(false),
                    Written::Lost => Attempt::Lost,
                },
            )
        })
        .await
    }

    /// Changes the article `slug` with `change`, which sees the stored article
    /// and may refuse with the caller's own error.
    #[tracing::instrument(skip_all, fields(slug = slug.as_str()))]
    pub async fn update_article<E: From<StoreError>>(
        &self,
        slug: &Slug,
        change: impl Fn(&mut Article) -> Result<(), E>,
    ) -> Result<Article, E> {
        self.optimistic(|| async {
            let old = self.article_record(slug, Read::Consistent).await?;
            let mut article = old.article.clone();
            change(&mut article)?;
            Ok(
                match self
                    .write_article(Some(&old), Some((&article, "")), None)
                    .await?
                {
                    Written::Done => Attempt::Done(article),
                    Written::SlugTaken | Written::Lost => Attempt::Lost,
                },
            )
        })
        .await
    }

    /// Deletes the article `slug` after `allow` has seen it; `None` when there
    /// is no such article.
    #[tracing::instrument(skip_all, fields(slug = slug.as_str()))]
    pub async fn delete_article<E: From<StoreError>>(
        &self,
        slug: &Slug,
        allow: impl Fn(&Article) -> Result<(), E>,
    ) -> Result<Option<Article>, E> {
        self.optimistic(|| async {
            let Some(old) = self.find_article(slug, Read::Consistent).await? else {
                return Ok(Attempt::Done(None));
            };
            allow(&old.article)?;
            Ok(match self.write_article(Some(&old), None, None).await? {
                Written::Done => Attempt::Done(Some(old.article)),
                Written::SlugTaken | Written::Lost => Attempt::Lost,
            })
        })
        .await
    }

    /// Moves the table from `old` to `new` (either may be absent) in one
    /// write: the article, its list entries, and its tags' counts.
    /// A new article comes with the token of the create call writing it
    /// (empty for an import), kept on the item as `createdBy`, and with
    /// `answer`, the record of a keyed create, if given.
    async fn write_article(
        &self,
        old: Option<&ArticleRecord>,
        new: Option<(&Article, &str)>,
        answer: Option<&Record>,
    ) -> Result<Written> {
        let (new, token) = match new {
            Some((article, token)) => (Some(article), token),
            None => (None, ""),
        };
        let mut write = Write::new(&self.table);
        match (old, new) {
            (None, Some(article)) => {
                let mut item = to_item(article, 1);
                if !token.is_empty() {
                    item.insert(CREATED_BY.to_owned(), s(token));
                }
                write.put(Part::Main, item, "attribute_not_exists(PK)", None)?
            }
            (Some(old), Some(article)) => write.put(
                Part::Main,
                to_item(article, old.version + 1),
                "version = :v",
                Some(n(old.version)),
            )?,
            (Some(old), None) => write.delete(
                Part::Main,
                article_pk(&old.article.summary.slug),
                ARTICLE,
                "version = :v",
                Some(n(old.version)),
            )?,
            (None, None) => return Ok(Written::Done),
        };

        // List entries: removed from lists the article leaves, added to those
        // it joins, and rewritten in those it stays in if its summary changed.
        let old_summary = old.map(|o| &o.article.summary);
        let new_summary = new.map(|a| &a.summary);
        let old_lists = old_summary.map(lists_of).unwrap_or_default();
        let new_lists = new_summary.map(lists_of).unwrap_or_default();
        if let Some(old) = old_summary {
            for list in old_lists.difference(&new_lists) {
                let sk = entry_sk(old);
                write.delete(Part::Entry, list.clone(), &sk, "attribute_exists(PK)", None)?;
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
                write.put(Part::Entry, entry_in(list, summary), condition, None)?;
            }
        }

        let tags = |summary: Option<&ArticleSummary>| -> BTreeSet<Tag> {
            summary
                .map(|s| s.tags.iter().cloned().collect())
                .unwrap_or_default()
        };
        if !self
            .move_counts(&mut write, &tags(old_summary), &tags(new_summary))
            .await?
        {
            return Ok(Written::Lost);
        }
        if let (None, Some(article)) = (old, new) {
            check_live_profile(&mut write, &article.summary.author)?;
        }
        write.record_answer(answer)?;
        Ok(match self.commit(write).await? {
            Outcome::Committed => Written::Done,
            Outcome::Cancelled(c) if c.by_record() => {
                return Err(StoreError::ConditionFailed(Precondition::IdempotencyKey));
            }
            Outcome::Cancelled(c) if c.failed(Part::Author) => {
                return Err(StoreError::ConditionFailed(Precondition::WriterProfile));
            }
            Outcome::Cancelled(c) if old.is_none() && c.failed(Part::Main) => Written::SlugTaken,
            Outcome::Cancelled(_) => Written::Lost,
        })
    }

    /// Summaries of the articles matching `filter`, newest first: one Query
    /// on the list's partition, whose entries hold the summaries.
    #[tracing::instrument(skip_all, fields(limit = page.limit))]
    pub async fn list_articles(
        &self,
        filter: &ArticleFilter,
        page: &Window,
    ) -> Result<Page<ArticleSummary>> {
        let found = self.list_page(&filter.partition(), page).await?;
        found.try_map(|item| summary_from_item(&item))
    }

    /// Rewrites the article stored as `item` in v2's shape, with every one of
    /// its entries holding its summary: for data written before v2 (bare
    /// entries, v1 attribute names). Conditioned on the version read; a lost
    /// race means a write rewrote it meanwhile. `Ok(true)` when it rewrote.
    pub(super) async fn upgrade_article(&self, item: &Item) -> Result<bool> {
        let record = from_item(item)?;
        let summary = &record.article.summary;
        let mut write = Write::new(&self.table);
        write.put(
            Part::Main,
            to_item(&record.article, record.version + 1),
            "version = :v",
            Some(n(record.version)),
        )?;
        for list in lists_of(summary) {
            write.put(
                Part::Entry,
                entry_in(&list, summary),
                "attribute_exists(PK)",
                None,
            )?;
        }
        Ok(matches!(self.commit(write).await?, Outcome::Committed))
    }
}
