//! Reviews of subjects and the lists they appear in (`/reviews`).
//!
//! A review is one item; its subject's list and its author's list each hold
//! an entry with the review's summary (an excerpt instead of the body).
//! Creating or deleting a review moves its subject's `reviewCount`
//! (`ratings.rs`) in the same transaction, guarded by the review item's own
//! condition, so nothing counts twice.

use super::error::{Guarded, Missing, Result, StoreError};
use super::idempotency::{Once, Record};
use super::item::{list, n, number, parsed, parsed_list, s, string, timestamp};
use super::photos::PendingPhoto;
use super::ratings::add_to_summary;
use super::read::Read;
use super::retry::Attempt;
use super::schema::{PK, SK};
use super::users::check_live_profile;
use super::write::{Outcome, Part, Write, entry};
use super::{Item, Page, Repository};
use crate::domain::{Review, ReviewId, ReviewSummary, Subject, UserId};
use crate::request::PageRequest;
use aws_sdk_dynamodb::types::AttributeValue;

pub(super) const REVIEW: &str = "REVIEW";

/// Which reviews a listing wants: exactly one of the two filters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReviewFilter {
    Subject(Subject),
    Author(UserId),
}

impl ReviewFilter {
    /// The partition that lists these reviews; also the cursor scope.
    pub fn list(&self) -> String {
        match self {
            Self::Subject(subject) => format!("LIST#SUBJECT#{}", subject.as_str()),
            Self::Author(author) => format!("LIST#REVIEWER#{}", author.key()),
        }
    }
}

fn review_pk(id: &ReviewId) -> String {
    format!("REVIEW#{}", id.as_str())
}

fn entry_sk(review: &Review) -> String {
    format!("{}#{}", review.created_at.as_str(), review.id.as_str())
}

fn lists_of(review: &Review) -> [String; 2] {
    [
        ReviewFilter::Subject(review.subject.clone()).list(),
        ReviewFilter::Author(review.author.clone()).list(),
    ]
}

/// A review as stored: the review, its pending photos, and its version for
/// optimistic concurrency.
#[derive(Clone, Debug)]
pub struct ReviewRecord {
    pub review: Review,
    pub pending: Vec<PendingPhoto>,
    version: u64,
}

fn to_item(record: &ReviewRecord, version: u64) -> Item {
    let review = &record.review;
    let pending = record
        .pending
        .iter()
        .map(|photo| {
            AttributeValue::M(Item::from([
                ("key".to_owned(), s(&photo.key)),
                ("url".to_owned(), s(&photo.url)),
                ("expiresAt".to_owned(), s(photo.expires_at.as_str())),
            ]))
        })
        .collect();
    Item::from([
        ("pendingPhotos".to_owned(), AttributeValue::L(pending)),
        (PK.to_owned(), s(review_pk(&review.id))),
        (SK.to_owned(), s(REVIEW)),
        ("id".to_owned(), s(review.id.as_str())),
        ("subject".to_owned(), s(review.subject.as_str())),
        ("author".to_owned(), s(review.author.as_str())),
        ("title".to_owned(), s(review.title.as_str())),
        ("body".to_owned(), s(review.body.as_str())),
        (
            "photos".to_owned(),
            list(review.photos.iter().map(String::as_str)),
        ),
        ("createdAt".to_owned(), s(review.created_at.as_str())),
        ("updatedAt".to_owned(), s(review.updated_at.as_str())),
        ("version".to_owned(), n(version)),
    ])
}

/// A review's summary as its list entries hold it.
fn summary_attributes(summary: &ReviewSummary) -> Item {
    Item::from([
        ("id".to_owned(), s(summary.id.as_str())),
        ("subject".to_owned(), s(summary.subject.as_str())),
        ("author".to_owned(), s(summary.author.as_str())),
        ("title".to_owned(), s(summary.title.as_str())),
        ("excerpt".to_owned(), s(&summary.excerpt)),
        (
            "photos".to_owned(),
            list(summary.photos.iter().map(String::as_str)),
        ),
        ("createdAt".to_owned(), s(summary.created_at.as_str())),
        ("updatedAt".to_owned(), s(summary.updated_at.as_str())),
    ])
}

/// The entry of `review` in `list`.
fn entry_in(list: &str, review: &Review) -> Item {
    entry(
        list,
        &entry_sk(review),
        &review_pk(&review.id),
        &summary_attributes(&review.summary()),
    )
}

fn summary_from_entry(item: &Item) -> Result<ReviewSummary> {
    Ok(ReviewSummary {
        id: parsed(item, "id")?,
        subject: parsed(item, "subject")?,
        author: parsed(item, "author")?,
        title: parsed(item, "title")?,
        excerpt: string(item, "excerpt")?,
        photos: parsed_list(item, "photos")?,
        created_at: timestamp(item, "createdAt")?,
        updated_at: timestamp(item, "updatedAt")?,
    })
}

fn from_item(item: &Item) -> Result<ReviewRecord> {
    let pending = match item.get("pendingPhotos") {
        Some(AttributeValue::L(values)) => values
            .iter()
            .map(|value| match value {
                AttributeValue::M(photo) => Ok(PendingPhoto {
                    key: string(photo, "key")?,
                    url: string(photo, "url")?,
                    expires_at: timestamp(photo, "expiresAt")?,
                }),
                _ => Err(StoreError::corrupt("a malformed `pendingPhotos`")),
            })
            .collect::<Result<_>>()?,
        _ => Vec::new(),
    };
    Ok(ReviewRecord {
        pending,
        review: Review {
            id: parsed(item, "id")?,
            subject: parsed(item, "subject")?,
            author: parsed(item, "author")?,
            title: parsed(item, "title")?,
            body: parsed(item, "body")?,
            photos: parsed_list(item, "photos")?,
            created_at: timestamp(item, "createdAt")?,
            updated_at: timestamp(item, "updatedAt")?,
        },
        version: number(item, "version")?,
    })
}

impl Repository {
    /// The review with this id. A public read: eventually consistent.
    #[tracing::instrument(skip_all, fields(id = id.as_str()))]
    pub async fn review(&self, id: &ReviewId) -> Result<Review> {
        Ok(self.review_record(id, Read::Eventual).await?.review)
    }

    /// The review with this id as stored (with its pending photos), read
    /// consistently: for the purge, which deletes its photo objects.
    pub async fn stored_review(&self, id: &ReviewId) -> Result<Option<ReviewRecord>> {
        self.find_review(id, Read::Consistent).await
    }

    pub(super) async fn find_review(
        &self,
        id: &ReviewId,
        read: Read,
    ) -> Result<Option<ReviewRecord>> {
        let item = self.get(review_pk(id), REVIEW, read).await?;
        item.as_ref().map(from_item).transpose()
    }

    async fn review_record(&self, id: &ReviewId, read: Read) -> Result<ReviewRecord> {
        self.find_review(id, read)
            .await?
            .ok_or_else(|| StoreError::NotFound(Missing::Review(id.clone())))
    }

    /// Creates `review` (once, with `once`) and counts it in its subject's
    /// summary.
    #[tracing::instrument(skip_all, fields(subject = review.subject.as_str()))]
    pub async fn create_review(
        &self,
        review: Review,
        once: Option<&Once<'_, Review>>,
    ) -> Result<Review> {
        let record = ReviewRecord {
            review,
            pending: Vec::new(),
            version: 0,
        };
        let review = &record.review;
        let answer = self.once_record(once, review);
        self.optimistic(|| async {
            let mut write = Write::new(&self.table);
            write.put(
                Part::Main,
                to_item(&record, 1),
                "attribute_not_exists(PK)",
                None,
            )?;
            for list in lists_of(review) {
                let entry = entry_in(&list, review);
                write.put(Part::Entry, entry, "attribute_not_exists(PK)", None)?;
            }
            add_to_summary(
                &mut write,
                &review.subject,
                &[("reviewCount".to_owned(), 1)],
            )?;
            check_live_profile(&mut write, &review.author)?;
            write.remember(answer.as_ref())?;
            match self.commit(write).await? {
                Outcome::Committed => Ok(Attempt::Done(review.clone())),
                Outcome::Cancelled(c) if c.by_record() => {
                    Err(StoreError::ConditionFailed(Guarded::IdempotencyKey))
                }
                Outcome::Cancelled(c) if c.failed(Part::Author) => {
                    Err(StoreError::ConditionFailed(Guarded::WriterProfile))
                }
                // A review with this id (a UUID v7) exists: it is this very
                // write, applied before its answer was lost and sent again.
                Outcome::Cancelled(c) if c.failed(Part::Main) => {
                    match self.find_review(&review.id, Read::Consistent).await? {
                        Some(stored) if stored.review == *review => {
                            Ok(Attempt::Done(review.clone()))
                        }
                        _ => Err(StoreError::failed("a new review's id is taken")),
                    }
                }
                // A conflict with another transaction (on the subject's summary).
                Outcome::Cancelled(_) => Ok(Attempt::Lost),
            }
        })
        .await
    }

    /// Creates `review` as an import does: `Ok(false)`, writing nothing,
    /// when a review with its id exists.
    #[tracing::instrument(skip_all, fields(id = review.id.as_str()))]
    pub async fn import_review(&self, review: Review) -> Result<bool> {
        if self
            .find_review(&review.id, Read::Consistent)
            .await?
            .is_some()
        {
            return Ok(false);
        }
        self.create_review(review, None).await.map(|_| true)
    }

    /// Changes the review `id` with `change`, which sees the stored review and
    /// may refuse with the caller's own error.
    #[tracing::instrument(skip_all, fields(id = id.as_str()))]
    pub async fn update_review<E: From<StoreError>>(
        &self,
        id: &ReviewId,
        change: impl Fn(&mut Review) -> Result<(), E>,
    ) -> Result<Review, E> {
        let changed = self
            .modify_review(id, |record| change(&mut record.review).map(|()| true), None)
            .await?;
        changed
            .map(|record| record.review)
            .ok_or_else(|| StoreError::NotFound(Missing::Review(id.clone())).into())
    }

    /// Reads the review `id`, lets `change` change the record (`Ok(false)`:
    /// nothing to write; or refuse), and writes it back conditioned on the
    /// version read, with its list entries when its summary changed, and
    /// with `answer`, the record of a keyed create, if given; a lost race
    /// reads again. `None` when there is no such review or nothing to write.
    pub(super) async fn modify_review<E: From<StoreError>>(
        &self,
        id: &ReviewId,
        change: impl Fn(&mut ReviewRecord) -> Result<bool, E>,
        answer: Option<&Record>,
    ) -> Result<Option<ReviewRecord>, E> {
        self.optimistic(|| async {
            let Some(mut record) = self.find_review(id, Read::Consistent).await? else {
                return Ok(Attempt::Done(None));
            };
            let before = record.review.summary();
            if !change(&mut record)? {
                return Ok(Attempt::Done(None));
            }
            let entries = record.review.summary() != before;
            Ok(if self.rewrite_review(&record, entries, answer).await? {
                Attempt::Done(Some(record))
            } else {
                Attempt::Lost
            })
        })
        .await
    }

    /// Writes `record` back over the version it was read at, and its entries
    /// too if `with_entries`, with `answer` if given. `Ok(false)` when
    /// another write got there first.
    async fn rewrite_review(
        &self,
        record: &ReviewRecord,
        with_entries: bool,
        answer: Option<&Record>,
    ) -> Result<bool> {
        let version = record.version;
        let mut write = Write::new(&self.table);
        write.put(
            Part::Main,
            to_item(record, version + 1),
            "version = :v",
            Some(n(version)),
        )?;
        if with_entries {
            for list in lists_of(&record.review) {
                let entry = entry_in(&list, &record.review);
                write.put(Part::Entry, entry, "attribute_exists(PK)", None)?;
            }
        }
        write.remember(answer)?;
        match self.commit(write).await? {
            Outcome::Committed => Ok(true),
            Outcome::Cancelled(c) if c.by_record() => {
                Err(StoreError::ConditionFailed(Guarded::IdempotencyKey))
            }
            Outcome::Cancelled(_) => Ok(false),
        }
    }

    /// Rewrites the entries of the review stored as `item` with its summary:
    /// for entries written before they held summaries (contract v1).
    /// `Ok(true)` when it rewrote.
    pub(super) async fn upgrade_review(&self, item: &Item) -> Result<bool> {
        self.rewrite_review(&from_item(item)?, true, None).await
    }

    /// Deletes the review `id` after `allow` has seen it, and uncounts it.
    /// The deleted record (its photos' keys are still to delete), or `None`
    /// when there is no such review.
    #[tracing::instrument(skip_all, fields(id = id.as_str()))]
    pub async fn delete_review<E: From<StoreError>>(
        &self,
        id: &ReviewId,
        allow: impl Fn(&Review) -> Result<(), E>,
    ) -> Result<Option<ReviewRecord>, E> {
        self.optimistic(|| async {
            let Some(old) = self.find_review(id, Read::Consistent).await? else {
                return Ok(Attempt::Done(None));
            };
            allow(&old.review)?;
            let mut write = Write::new(&self.table);
            write.delete(
                Part::Main,
                review_pk(id),
                REVIEW,
                "version = :v",
                Some(n(old.version)),
            )?;
            for list in lists_of(&old.review) {
                let sk = entry_sk(&old.review);
                write.delete(Part::Entry, list, &sk, "attribute_exists(PK)", None)?;
            }
            add_to_summary(
                &mut write,
                &old.review.subject,
                &[("reviewCount".to_owned(), -1)],
            )?;
            Ok(match self.commit(write).await? {
                Outcome::Committed => Attempt::Done(Some(old)),
                Outcome::Cancelled(_) => Attempt::Lost,
            })
        })
        .await
    }

    /// Summaries of the reviews matching `filter`, newest first: one Query
    /// on the list's partition, whose entries hold the summaries.
    #[tracing::instrument(skip_all, fields(limit = page.limit))]
    pub async fn list_reviews(
        &self,
        filter: &ReviewFilter,
        page: &PageRequest,
    ) -> Result<Page<ReviewSummary>> {
        let found = self.list_page(&filter.list(), page).await?;
        found.try_map(|item| summary_from_entry(&item))
    }
}
