//! Reviews of subjects and the lists they appear in (`/reviews`).
//!
//! A review is one item; its subject's list and its author's list each hold
//! an entry with the review's summary (an excerpt instead of the body).
//! Creating or deleting a review moves its subject's `reviewCount`
//! (`ratings.rs`) in the same transaction, guarded by the review item's own
//! condition, so nothing counts twice.

use super::codec::review::{
    ReviewFilter, ReviewRecord, entry_in, entry_sk, from_item, lists_of, summary_from_entry,
    to_item,
};
use super::error::{Missing, Precondition, Result, StoreError};
use super::item::n;
use super::keys::{REVIEW, review_pk};
use super::parts::answers::{KeyedCreate, Record};
use super::parts::{add_to_summary, check_live_profile};
use super::read::Read;
use super::retry::Attempt;
use super::write::{Outcome, Part, Write};
use super::{Item, Page, Repository};
use crate::domain::{Review, ReviewId, ReviewSummary};
use crate::page::Window;

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
        once: Option<&KeyedCreate<'_, Review>>,
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
            write.record_answer(answer.as_ref())?;
            match self.commit(write).await? {
                Outcome::Committed => Ok(Attempt::Done(review.clone())),
                Outcome::Cancelled(c) if c.by_record() => {
                    Err(StoreError::ConditionFailed(Precondition::IdempotencyKey))
                }
                Outcome::Cancelled(c) if c.failed(Part::Author) => {
                    Err(StoreError::ConditionFailed(Precondition::WriterProfile))
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
        write.record_answer(answer)?;
        match self.commit(write).await? {
            Outcome::Committed => Ok(true),
            Outcome::Cancelled(c) if c.by_record() => {
                Err(StoreError::ConditionFailed(Precondition::IdempotencyKey))
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
        page: &Window,
    ) -> Result<Page<ReviewSummary>> {
        let found = self.list_page(&filter.partition(), page).await?;
        found.try_map(|item| summary_from_entry(&item))
    }
}
