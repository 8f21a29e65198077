//! A review as stored (with the photos still pending upload), its summary
//! in its list entries, and the lists it appears in.

use crate::domain::{Review, ReviewSummary, Subject, Timestamp, UserId};
use crate::store::Item;
use crate::store::error::{Result, StoreError};
use crate::store::item::{n, number, parsed, parsed_list, s, string, string_list, timestamp};
use crate::store::keys::{REVIEW, review_pk, reviews_by_author, reviews_of_subject};
use crate::store::schema::{PK, SK};
use crate::store::write::entry;
use aws_sdk_dynamodb::types::AttributeValue;

/// A photo whose upload URL was handed out but whose object has not arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingPhoto {
    pub key: String,
    pub url: String,
    /// When its upload URL expires; after that (and a grace period) it is dropped.
    pub expires_at: Timestamp,
}

/// Which reviews a listing wants: exactly one of the two filters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReviewFilter {
    Subject(Subject),
    Author(UserId),
}

impl ReviewFilter {
    /// The partition that lists these reviews.
    pub fn partition(&self) -> String {
        match self {
            Self::Subject(subject) => reviews_of_subject(subject),
            Self::Author(author) => reviews_by_author(author),
        }
    }
}

pub(in crate::store) fn entry_sk(review: &Review) -> String {
    format!("{}#{}", review.created_at.as_str(), review.id.as_str())
}

pub(in crate::store) fn lists_of(review: &Review) -> [String; 2] {
    [
        ReviewFilter::Subject(review.subject.clone()).partition(),
        ReviewFilter::Author(review.author.clone()).partition(),
    ]
}

/// A review as stored: the review, its pending photos, and its version for
/// optimistic concurrency.
#[derive(Clone, Debug)]
pub struct ReviewRecord {
    pub review: Review,
    pub pending: Vec<PendingPhoto>,
    pub(in crate::store) version: u64,
}

pub(in crate::store) fn to_item(record: &ReviewRecord, version: u64) -> Item {
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
            string_list(review.photos.iter().map(String::as_str)),
        ),
        ("createdAt".to_owned(), s(review.created_at.as_str())),
        ("updatedAt".to_owned(), s(review.updated_at.as_str())),
        ("version".to_owned(), n(version)),
    ])
}

/// A review's summary as its list entries hold it.
pub(in crate::store) fn summary_attributes(summary: &ReviewSummary) -> Item {
    Item::from([
        ("id".to_owned(), s(summary.id.as_str())),
        ("subject".to_owned(), s(summary.subject.as_str())),
        ("author".to_owned(), s(summary.author.as_str())),
        ("title".to_owned(), s(summary.title.as_str())),
        ("excerpt".to_owned(), s(&summary.excerpt)),
        (
            "photos".to_owned(),
            string_list(summary.photos.iter().map(String::as_str)),
        ),
        ("createdAt".to_owned(), s(summary.created_at.as_str())),
        ("updatedAt".to_owned(), s(summary.updated_at.as_str())),
    ])
}

/// The entry of `review` in `list`.
pub(in crate::store) fn entry_in(list: &str, review: &Review) -> Item {
    entry(
        list,
        &entry_sk(review),
        &review_pk(&review.id),
        &summary_attributes(&review.summary()),
    )
}

pub(in crate::store) fn summary_from_entry(item: &Item) -> Result<ReviewSummary> {
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

pub(in crate::store) fn from_item(item: &Item) -> Result<ReviewRecord> {
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
