//! Reviews, star ratings, and each subject's summary.
//!
//! A subject's summary (ratings per number of stars, review count) is one
//! item. Every rating change and every review create or delete writes its own
//! item and the summary in one transaction: the rating or review item carries
//! the condition on its prior state (absent, or the stars it was read with),
//! and the summary changes by `ADD` of the difference. So concurrent raters
//! never wait on one another, and a retried or racing request whose
//! condition no longer holds is cancelled whole: nothing counts twice.

use super::item::{n, number, parsed, s, string, timestamp};
use super::schema::{GSI1, PK, SK};
use super::users::{caller_not_deleting, live_profile};
use super::write::{back_off, busy, delete, entry, put};
use super::{Item, Page, Repository};
use crate::domain::{
    MAX_PHOTOS, Review, ReviewId, ReviewSummary, Stars, Subject, SubjectSummary, Summary,
    Timestamp, UserId,
};
use crate::error::ApiError;
use crate::request::PageRequest;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use std::collections::HashMap;

pub(super) const REVIEW: &str = "REVIEW";
pub(super) const SUMMARY: &str = "SUMMARY";
const WRITE_ATTEMPTS: u32 = 60;
/// How long after its upload URL expires a pending photo may still arrive.
const PHOTO_GRACE: std::time::Duration = std::time::Duration::from_secs(5 * 60);

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

pub(super) fn subject_pk(subject: &Subject) -> String {
    format!("SUBJECT#{}", subject.as_str())
}

/// Ratings sort under their subject's partition by this prefix, then the rater.
pub(super) const RATING_PREFIX: &str = "RATING#";

fn rating_sk(sub: &str) -> String {
    format!("{RATING_PREFIX}{sub}")
}

fn rater_partition(sub: &str) -> String {
    format!("RATER#{sub}")
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

/// The histogram attribute for a number of stars.
fn bucket(stars: Stars) -> String {
    format!("s{}", stars.get())
}

/// The subject whose summary the reconcile job checks on meeting `item`: that
/// of a review, a rating or a summary.
pub(super) fn subject_in(item: &Item) -> Option<Subject> {
    let sk = string(item, SK).ok()?;
    let counted = sk == REVIEW || sk == SUMMARY || sk.starts_with(RATING_PREFIX);
    counted.then(|| parsed(item, "subject").ok()).flatten()
}

/// A photo whose upload URL was handed out but whose object has not arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingPhoto {
    pub key: String,
    pub url: String,
    /// When its upload URL expires; after that (and a grace period) it is dropped.
    pub expires_at: Timestamp,
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
    let photos = review.photos.iter().map(|url| s(url.as_str())).collect();
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
        ("photos".to_owned(), AttributeValue::L(photos)),
        ("createdAt".to_owned(), s(review.created_at.as_str())),
        ("updatedAt".to_owned(), s(review.updated_at.as_str())),
        ("version".to_owned(), n(version)),
    ])
}

/// A review's summary as its list entries hold it.
fn summary_attributes(summary: &ReviewSummary) -> Item {
    let photos = summary.photos.iter().map(|url| s(url.as_str())).collect();
    Item::from([
        ("id".to_owned(), s(summary.id.as_str())),
        ("subject".to_owned(), s(summary.subject.as_str())),
        ("author".to_owned(), s(summary.author.as_str())),
        ("title".to_owned(), s(summary.title.as_str())),
        ("excerpt".to_owned(), s(&summary.excerpt)),
        ("photos".to_owned(), AttributeValue::L(photos)),
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

fn photos_of(item: &Item) -> Result<Vec<String>, ApiError> {
    match item.get("photos") {
        Some(AttributeValue::L(values)) => values
            .iter()
            .map(|value| match value {
                AttributeValue::S(url) => Ok(url.clone()),
                _ => Err(ApiError::internal("stored review has malformed `photos`")),
            })
            .collect(),
        _ => Err(ApiError::internal("stored review has no `photos`")),
    }
}

fn summary_from_entry(item: &Item) -> Result<ReviewSummary, ApiError> {
    Ok(ReviewSummary {
        id: parsed(item, "id")?,
        subject: parsed(item, "subject")?,
        author: parsed(item, "author")?,
        title: parsed(item, "title")?,
        excerpt: string(item, "excerpt")?,
        photos: photos_of(item)?,
        created_at: timestamp(item, "createdAt")?,
        updated_at: timestamp(item, "updatedAt")?,
    })
}

fn from_item(item: &Item) -> Result<ReviewRecord, ApiError> {
    let photos = photos_of(item)?;
    let pending = match item.get("pendingPhotos") {
        Some(AttributeValue::L(values)) => values
            .iter()
            .map(|value| match value {
                AttributeValue::M(photo) => Ok(PendingPhoto {
                    key: string(photo, "key")?,
                    url: string(photo, "url")?,
                    expires_at: timestamp(photo, "expiresAt")?,
                }),
                _ => Err(ApiError::internal(
                    "stored review has malformed `pendingPhotos`",
                )),
            })
            .collect::<Result<_, _>>()?,
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
            photos,
            created_at: timestamp(item, "createdAt")?,
            updated_at: timestamp(item, "updatedAt")?,
        },
        version: number(item, "version")?,
    })
}

pub(super) fn summary_from_item(item: &Item) -> Result<Summary, ApiError> {
    let count = |name: &str| match item.get(name) {
        None => Ok(0),
        Some(_) => number(item, name),
    };
    Ok(Summary {
        histogram: [
            count("s1")?,
            count("s2")?,
            count("s3")?,
            count("s4")?,
            count("s5")?,
        ],
        review_count: count("reviewCount")?,
    })
}

/// A subject's summary item as the reconcile job rewrites it, at revision `rev`.
pub(super) fn summary_item(subject: &Subject, summary: &Summary, rev: u64) -> Item {
    let mut item = Item::from([
        (PK.to_owned(), s(subject_pk(subject))),
        (SK.to_owned(), s(SUMMARY)),
        ("subject".to_owned(), s(subject.as_str())),
        ("reviewCount".to_owned(), n(summary.review_count)),
        ("rev".to_owned(), n(rev)),
    ]);
    for (stars, count) in (1..).zip(summary.histogram) {
        item.insert(format!("s{stars}"), n(count));
    }
    item
}

/// Adds `deltas` to the subject's summary item, creating it if need be, and
/// moves its revision on (the reconcile job's repairs are conditioned on it).
fn summary_update(
    table: &str,
    subject: &Subject,
    deltas: &[(String, i64)],
) -> Result<TransactWriteItem, ApiError> {
    let mut names = HashMap::from([("#subject".to_owned(), "subject".to_owned())]);
    let mut values = HashMap::from([(":subject".to_owned(), s(subject.as_str()))]);
    let mut adds = vec!["rev :one".to_owned()];
    values.insert(":one".to_owned(), n(1));
    for (i, (attribute, delta)) in deltas.iter().enumerate() {
        names.insert(format!("#a{i}"), attribute.clone());
        values.insert(format!(":d{i}"), AttributeValue::N(delta.to_string()));
        adds.push(format!("#a{i} :d{i}"));
    }
    let update = Update::builder()
        .table_name(table)
        .key(PK, s(subject_pk(subject)))
        .key(SK, s(SUMMARY))
        .update_expression(format!("SET #subject = :subject ADD {}", adds.join(", ")))
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(Some(values))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

impl Repository {
    /// The review with this id, or 404.
    #[tracing::instrument(skip_all, fields(id = id.as_str()))]
    pub async fn review(&self, id: &ReviewId) -> Result<ReviewRecord, ApiError> {
        let item = self.get(review_pk(id), REVIEW).await?;
        item.as_ref()
            .map(from_item)
            .transpose()?
            .ok_or_else(|| ApiError::NotFound(format!("no review {}", id.as_str())))
    }

    /// Creates `review` and counts it in its subject's summary.
    #[tracing::instrument(skip_all, fields(subject = review.subject.as_str()))]
    pub async fn create_review(&self, review: Review) -> Result<Review, ApiError> {
        let table = self.table.as_ref();
        let record = ReviewRecord {
            review,
            pending: Vec::new(),
            version: 0,
        };
        let review = &record.review;
        let mut items = vec![put(
            table,
            to_item(&record, 1),
            "attribute_not_exists(PK)",
            None,
        )?];
        for list in lists_of(review) {
            items.push(put(
                table,
                entry_in(&list, review),
                "attribute_not_exists(PK)",
                None,
            )?);
        }
        items.push(summary_update(
            table,
            &review.subject,
            &[("reviewCount".to_owned(), 1)],
        )?);
        items.push(live_profile(table, &review.author)?);
        match self.try_transact(items).await? {
            Ok(()) => Ok(record.review),
            Err(failed) if failed.last() == Some(&true) => Err(ApiError::Forbidden(
                "the author has no profile, or it is being deleted".into(),
            )),
            Err(_) => Err(ApiError::Conflict("a review with this id exists".into())),
        }
    }

    /// Changes the review `id` with `change`, which sees the stored review and may refuse.
    #[tracing::instrument(skip_all, fields(id = id.as_str()))]
    pub async fn update_review(
        &self,
        id: &ReviewId,
        change: impl Fn(&mut Review) -> Result<(), ApiError>,
    ) -> Result<Review, ApiError> {
        self.modify_review(id, |record| change(&mut record.review))
            .await
            .map(|record| record.review)
    }

    /// Reads the review `id`, lets `change` change the record (or refuse),
    /// and writes it back conditioned on the version read, with its list
    /// entries when its summary changed; retried on a lost race.
    async fn modify_review(
        &self,
        id: &ReviewId,
        change: impl Fn(&mut ReviewRecord) -> Result<(), ApiError>,
    ) -> Result<ReviewRecord, ApiError> {
        for attempt in 0..WRITE_ATTEMPTS {
            let mut record = self.review(id).await?;
            let before = record.review.summary();
            change(&mut record)?;
            let rewrite_entries = record.review.summary() != before;
            if self.rewrite_review(&record, rewrite_entries).await? {
                return Ok(record);
            }
            back_off(attempt).await;
        }
        Err(busy())
    }

    /// Writes `record` back over the version it was read at, and its entries
    /// too if `with_entries`. `Ok(false)` when another write got there first.
    async fn rewrite_review(
        &self,
        record: &ReviewRecord,
        with_entries: bool,
    ) -> Result<bool, ApiError> {
        let table = self.table.as_ref();
        let version = record.version;
        let mut items = vec![put(
            table,
            to_item(record, version + 1),
            "version = :v",
            Some(n(version)),
        )?];
        if with_entries {
            for list in lists_of(&record.review) {
                items.push(put(
                    table,
                    entry_in(&list, &record.review),
                    "attribute_exists(PK)",
                    None,
                )?);
            }
        }
        self.transact(items).await
    }

    /// Rewrites the entries of the review stored as `item` with its summary:
    /// for entries written before they held summaries (contract v1).
    /// `Ok(true)` when it rewrote.
    pub(super) async fn upgrade_review(&self, item: &Item) -> Result<bool, ApiError> {
        self.rewrite_review(&from_item(item)?, true).await
    }

    /// Hands out a photo slot: after `allow` has seen the review, records
    /// `photo` as pending until its upload URL expires. 409 when the review
    /// already has `MAX_PHOTOS` photos and live uploads.
    #[tracing::instrument(skip_all, fields(id = id.as_str()))]
    pub async fn reserve_photo(
        &self,
        id: &ReviewId,
        allow: impl Fn(&Review) -> Result<(), ApiError>,
        photo: PendingPhoto,
    ) -> Result<(), ApiError> {
        let now = Timestamp::now();
        self.modify_review(id, |record| {
            allow(&record.review)?;
            // Uploads whose URL expired long enough ago to have finished are gone for good.
            record
                .pending
                .retain(|p| Timestamp::after(&p.expires_at, PHOTO_GRACE) > now);
            if record.review.photos.len() + record.pending.len() >= MAX_PHOTOS {
                return Err(ApiError::Conflict(format!(
                    "a review has at most {MAX_PHOTOS} photos"
                )));
            }
            record.pending.push(photo.clone());
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// Records that the object `key` now exists: its pending photo joins the
    /// review's `photos`. `Ok(false)` when no review is waiting for that key
    /// (not a photo key, review deleted, or reservation dropped).
    #[tracing::instrument(skip_all, fields(key))]
    pub async fn photo_uploaded(&self, key: &str) -> Result<bool, ApiError> {
        let Some(id) = crate::photos::Photos::review_of(key) else {
            return Ok(false);
        };
        let joined = self
            .modify_review(&id, |record| {
                let Some(at) = record.pending.iter().position(|p| p.key == key) else {
                    return Err(ApiError::NotFound("no pending photo".into()));
                };
                let photo = record.pending.remove(at);
                record.review.photos.push(photo.url);
                Ok(())
            })
            .await;
        match joined {
            Ok(_) => Ok(true),
            Err(ApiError::NotFound(_)) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Deletes the review `id` after `allow` has seen it, and uncounts it.
    #[tracing::instrument(skip_all, fields(id = id.as_str()))]
    pub async fn delete_review(
        &self,
        id: &ReviewId,
        allow: impl Fn(&Review) -> Result<(), ApiError>,
    ) -> Result<ReviewRecord, ApiError> {
        let table = self.table.as_ref();
        for attempt in 0..WRITE_ATTEMPTS {
            let old = self.review(id).await?;
            allow(&old.review)?;
            let mut items = vec![delete(
                table,
                review_pk(id),
                REVIEW,
                "version = :v",
                Some(n(old.version)),
            )?];
            for list in lists_of(&old.review) {
                items.push(delete(
                    table,
                    list,
                    &entry_sk(&old.review),
                    "attribute_exists(PK)",
                    None,
                )?);
            }
            items.push(summary_update(
                table,
                &old.review.subject,
                &[("reviewCount".to_owned(), -1)],
            )?);
            if self.transact(items).await? {
                return Ok(old);
            }
            back_off(attempt).await;
        }
        Err(busy())
    }

    /// Summaries of the reviews matching `filter`, newest first: one Query
    /// on the list's partition, whose entries hold the summaries.
    #[tracing::instrument(skip_all, fields(limit = page.limit))]
    pub async fn list_reviews(
        &self,
        filter: &ReviewFilter,
        page: &PageRequest,
    ) -> Result<Page<ReviewSummary>, ApiError> {
        let found = self.list_page(&filter.list(), page).await?;
        found.try_map(|item| summary_from_entry(&item))
    }

    /// A subject's summary: one GetItem. An unknown subject has a zero summary.
    #[tracing::instrument(skip_all, fields(subject = subject.as_str()))]
    pub async fn summary(&self, subject: &Subject) -> Result<SubjectSummary, ApiError> {
        let item = self.get(subject_pk(subject), SUMMARY).await?;
        let summary = item
            .as_ref()
            .map(summary_from_item)
            .transpose()?
            .unwrap_or_default();
        Ok(SubjectSummary {
            subject: subject.clone(),
            summary,
        })
    }

    /// The stars `sub` gave `subject`, if any.
    #[tracing::instrument(skip_all, fields(subject = subject.as_str()))]
    pub async fn rating(&self, subject: &Subject, sub: &str) -> Result<Option<Stars>, ApiError> {
        let item = self.get(subject_pk(subject), &rating_sk(sub)).await?;
        item.map(|item| {
            let stars = u8::try_from(number(&item, "stars")?).map_err(ApiError::internal)?;
            Stars::try_from(stars).map_err(ApiError::internal)
        })
        .transpose()
    }

    /// Sets `sub`'s rating of `subject` to `stars`, replacing any earlier one.
    #[tracing::instrument(skip_all, fields(subject = subject.as_str(), stars = stars.get()))]
    pub async fn rate(&self, subject: &Subject, sub: &str, stars: Stars) -> Result<(), ApiError> {
        let table = self.table.as_ref();
        for attempt in 0..WRITE_ATTEMPTS {
            let old = self.rating(subject, sub).await?;
            if old == Some(stars) {
                return Ok(());
            }
            let rating = Item::from([
                (PK.to_owned(), s(subject_pk(subject))),
                (SK.to_owned(), s(rating_sk(sub))),
                (GSI1.partition_key.to_owned(), s(rater_partition(sub))),
                (GSI1.sort_key.to_owned(), s(subject.as_str())),
                ("subject".to_owned(), s(subject.as_str())),
                ("rater".to_owned(), s(sub)),
                ("stars".to_owned(), n(u64::from(stars.get()))),
            ]);
            let mut deltas = vec![(bucket(stars), 1)];
            let put_rating = match old {
                None => put(table, rating, "attribute_not_exists(PK)", None)?,
                Some(old) => {
                    deltas.push((bucket(old), -1));
                    put(table, rating, "stars = :v", Some(n(u64::from(old.get()))))?
                }
            };
            let items = vec![
                put_rating,
                summary_update(table, subject, &deltas)?,
                caller_not_deleting(table, sub)?,
            ];
            match self.try_transact(items).await? {
                Ok(()) => return Ok(()),
                Err(failed) if failed.last() == Some(&true) => {
                    return Err(ApiError::Conflict(
                        "the caller's profile is being deleted; rate again once it is gone".into(),
                    ));
                }
                Err(_) => {}
            }
            back_off(attempt).await;
        }
        Err(busy())
    }

    /// Removes `sub`'s rating of `subject`; 404 if there is none.
    #[tracing::instrument(skip_all, fields(subject = subject.as_str()))]
    pub async fn unrate(&self, subject: &Subject, sub: &str) -> Result<(), ApiError> {
        let table = self.table.as_ref();
        for attempt in 0..WRITE_ATTEMPTS {
            let Some(old) = self.rating(subject, sub).await? else {
                return Err(ApiError::NotFound(
                    "the caller has not rated this subject".into(),
                ));
            };
            let items = vec![
                delete(
                    table,
                    subject_pk(subject),
                    &rating_sk(sub),
                    "stars = :v",
                    Some(n(u64::from(old.get()))),
                )?,
                summary_update(table, subject, &[(bucket(old), -1)])?,
            ];
            if self.transact(items).await? {
                return Ok(());
            }
            back_off(attempt).await;
        }
        Err(busy())
    }

    /// The subjects `sub` has rated, a page at a time (through the raters
    /// index, so a rating written a moment ago may not be listed yet).
    #[tracing::instrument(skip_all)]
    pub async fn rated_by(&self, sub: &str, page: &PageRequest) -> Result<Page<Subject>, ApiError> {
        let found = self
            .query_page(GSI1, &rater_partition(sub), true, page)
            .await?;
        found.try_map(|item| parsed(&item, "subject"))
    }

    /// Recounts `subject`'s summary from its ratings and its reviews (its
    /// list's entries, written in the same transaction as each review), and
    /// rewrites it if it differs, conditioned on the revision read before
    /// counting. `Ok(true)` when it repaired.
    pub(super) async fn recount_subject(&self, subject: &Subject) -> Result<bool, ApiError> {
        let reviews = ReviewFilter::Subject(subject.clone()).list();
        for attempt in 0..WRITE_ATTEMPTS {
            let stored = self.get(subject_pk(subject), SUMMARY).await?;
            let summary = stored.as_ref().map(summary_from_item).transpose()?;
            let rev = stored
                .as_ref()
                .and_then(|item| item.get("rev").map(|_| number(item, "rev")))
                .transpose()?;
            let mut actual = Summary {
                histogram: [0; 5],
                review_count: self.count_partition(&reviews).await?,
            };
            let ratings = self
                .partition_items(&subject_pk(subject), Some(RATING_PREFIX), "stars")
                .await?;
            for rating in &ratings {
                let stars = usize::try_from(number(rating, "stars")?).unwrap_or(0);
                match actual.histogram.get_mut(stars.wrapping_sub(1)) {
                    Some(count) => *count += 1,
                    None => return Err(ApiError::internal("stored rating has bad `stars`")),
                }
            }
            if summary.clone().unwrap_or_default() == actual {
                return Ok(false);
            }
            let (condition, value) = super::write::if_rev(rev);
            let item = summary_item(subject, &actual, rev.unwrap_or(0) + 1);
            if self
                .transact(vec![put(self.table.as_ref(), item, condition, value)?])
                .await?
            {
                tracing::warn!(
                    subject = subject.as_str(),
                    ?summary,
                    ?actual,
                    "repaired a summary"
                );
                return Ok(true);
            }
            back_off(attempt).await;
        }
        Err(busy())
    }
}
