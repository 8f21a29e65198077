//! Every key of the table, in one place: the partition prefixes, the fixed
//! sort keys, the index partitions, and the values the stream filters of
//! `template.yaml` match (its test holds the template to these constants).
//! `docs/data-model.md` draws the same keys as a table.

use crate::config::WriteKind;
use crate::domain::{ReviewId, Slug, Subject, Tag, UserId};

// ---- partition prefixes -------------------------------------------------------

/// A profile's partition: `USER#<id in lowercase>` (the profile, its
/// journey records). The purge function's stream filter matches this prefix.
pub const USER_PREFIX: &str = "USER#";
/// A caller's owner claim: `CALLER#<sub>`.
pub const CALLER_PREFIX: &str = "CALLER#";
/// An article: `ARTICLE#<slug>`.
pub const ARTICLE_PREFIX: &str = "ARTICLE#";
/// A review: `REVIEW#<id>`.
pub const REVIEW_PREFIX: &str = "REVIEW#";
/// A rated subject: `SUBJECT#<subject>` (its summary and its ratings).
pub const SUBJECT_PREFIX: &str = "SUBJECT#";
/// What a caller rated, by caller: `RATER#<sub>` (an index partition).
pub const RATER_PREFIX: &str = "RATER#";
/// A tag's count: `TAG#<tag>`.
pub const TAG_PREFIX: &str = "TAG#";
/// The record of a create made with an `Idempotency-Key`.
pub const IDEMPOTENCY_PREFIX: &str = "IDEMPOTENCY#";
/// A caller's write buckets: `LIMIT#<sub>`, one item per kind of write
/// (sort key: the kind in capitals, `CREATE`), expiring once full again.
pub const LIMIT_PREFIX: &str = "LIMIT#";
/// A job's checkpoint: `JOB#<NAME>`.
pub const JOB_PREFIX: &str = "JOB#";
/// The reconcile job's checkpoint partition; its function's stream filter
/// matches it.
pub const JOB_RECONCILE: &str = "JOB#RECONCILE";
/// The activity job's checkpoint partition.
pub const JOB_ACTIVITY: &str = "JOB#ACTIVITY";
/// The item that records which contract's shape the table's items are in.
pub const META_DATA: &str = "META#DATA";
/// The key a function's cold start reads to open its connection (no item
/// has it): the partition of a table read or of an index query.
pub const WARM_UP: &str = "WARMUP#";

// ---- fixed sort keys ------------------------------------------------------------

/// A profile, a tombstone, or an owner claim.
pub const PROFILE: &str = "PROFILE";
/// An article item (under `ARTICLE#<slug>`).
pub const ARTICLE: &str = "ARTICLE";
/// A review item (under `REVIEW#<id>`).
pub const REVIEW: &str = "REVIEW";
/// A subject's rating summary.
pub const SUMMARY: &str = "SUMMARY";
/// Ratings sort under their subject by this prefix, then the rater's `sub`.
pub const RATING_PREFIX: &str = "RATING#";
/// A tag's count item.
pub const COUNT: &str = "COUNT";
/// A journeyer's activity record.
pub const ACTIVITY: &str = "ACTIVITY";
/// A journeyer's entry in a week's leaderboard: `WEEK#2026-W10` (under the
/// profile's partition).
pub const WEEK_PREFIX: &str = "WEEK#";
/// A job's checkpoint item.
pub const CHECKPOINT: &str = "CHECKPOINT";
/// The data-version item.
pub const VERSION: &str = "VERSION";
/// The record of a create's first answer.
pub const IDEMPOTENCY: &str = "IDEMPOTENCY";

// ---- index partitions ---------------------------------------------------------

/// A week's leaderboard (GSI2): `WEEKBOARD#2026-W10`, most days first.
pub const WEEKBOARD_PREFIX: &str = "WEEKBOARD#";
/// Every profile, by the time it joined (GSI1).
pub const USERS: &str = "USERS";
/// The profiles the import made for articles' authors: found by id and on
/// the leaderboard, but not in the users lists (`GET /users`, the front
/// end's "new journeyers"), until handed over (GSI1).
pub const AUTHORS: &str = "AUTHORS";
/// The deletions still being purged, oldest first (GSI1).
pub const PURGES: &str = "PURGES";
/// Profiles by total score (GSI2).
pub const LEADERBOARD: &str = "LEADERBOARD";
/// Tags by count (GSI2).
pub const TAGS: &str = "TAGS";

// ---- attributes and values stream filters match -------------------------------

/// Marks a deleted profile (a tombstone) and its owner claim; the purge
/// function's stream filter matches its presence.
pub const DELETED_AT: &str = "deletedAt";
/// A checkpoint's phase attribute.
pub const PHASE: &str = "phase";
/// The phase of a run that ran out of time; the reconcile function's stream
/// filter matches it.
pub const HANDOFF: &str = "handoff";

// ---- keys made of domain values -----------------------------------------------

pub fn user_pk(id: &UserId) -> String {
    format!("{USER_PREFIX}{}", id.key())
}

/// A journeyer's entry in `week`'s leaderboard (sort key, under `user_pk`).
pub fn week_sk(week: crate::domain::IsoWeek) -> String {
    format!("{WEEK_PREFIX}{week}")
}

pub fn claim_pk(sub: &str) -> String {
    format!("{CALLER_PREFIX}{sub}")
}

pub fn article_pk(slug: &Slug) -> String {
    format!("{ARTICLE_PREFIX}{}", slug.as_str())
}

pub fn review_pk(id: &ReviewId) -> String {
    format!("{REVIEW_PREFIX}{}", id.as_str())
}

pub fn subject_pk(subject: &Subject) -> String {
    format!("{SUBJECT_PREFIX}{}", subject.as_str())
}

pub fn rating_sk(sub: &str) -> String {
    format!("{RATING_PREFIX}{sub}")
}

pub fn rater_partition(sub: &str) -> String {
    format!("{RATER_PREFIX}{sub}")
}

pub fn limit_pk(sub: &str) -> String {
    format!("{LIMIT_PREFIX}{sub}")
}

pub fn limit_sk(kind: WriteKind) -> String {
    kind.as_str().to_ascii_uppercase()
}

pub fn tag_pk(tag: &Tag) -> String {
    format!("{TAG_PREFIX}{}", tag.as_str())
}

// ---- list partitions (the entries a list page reads) --------------------------

/// Every list partition starts with this.
pub const LIST_PREFIX: &str = "LIST#";
/// Every article, newest first.
pub const ALL_ARTICLES: &str = "LIST#ARTICLES";
/// An author's articles: `LIST#AUTHOR#<author>`.
pub const AUTHOR_LIST_PREFIX: &str = "LIST#AUTHOR#";
/// A tag's articles, `LIST#TAG#<tag>`, and a tag's by one author,
/// `LIST#TAG#<tag>#AUTHOR#<author>`.
pub const TAG_LIST_PREFIX: &str = "LIST#TAG#";
/// A subject's reviews: `LIST#SUBJECT#<subject>`.
pub const SUBJECT_LIST_PREFIX: &str = "LIST#SUBJECT#";
/// An author's reviews: `LIST#REVIEWER#<author>`.
pub const REVIEWER_LIST_PREFIX: &str = "LIST#REVIEWER#";

pub fn articles_by_author(author: &UserId) -> String {
    format!("{AUTHOR_LIST_PREFIX}{}", author.key())
}

pub fn articles_by_tag(tag: &Tag) -> String {
    format!("{TAG_LIST_PREFIX}{}", tag.as_str())
}

pub fn articles_by_tag_and_author(tag: &Tag, author: &UserId) -> String {
    format!("{TAG_LIST_PREFIX}{}#AUTHOR#{}", tag.as_str(), author.key())
}

pub fn reviews_of_subject(subject: &Subject) -> String {
    format!("{SUBJECT_LIST_PREFIX}{}", subject.as_str())
}

pub fn reviews_by_author(author: &UserId) -> String {
    format!("{REVIEWER_LIST_PREFIX}{}", author.key())
}
