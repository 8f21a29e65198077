//! The reconcile job's walk and repairs (`crate::jobs::reconcile` runs it):
//! the one file of the store that sees every kind of item.
//!
//! It walks the whole table with Scan, a stretch at a time: the one place
//! that scans, a nightly batch job, never a request. Every aggregate it meets
//! (a tag count, a subject's summary, a profile's leaderboard entry), or whose
//! source it meets (an article, a review, a rating), is recounted from the
//! items it summarizes and rewritten if it drifted. Items written before
//! contract v2 (list entries without summaries, v1 attribute names) are
//! rewritten in v2's shape on the way, and v2 activity records in v3's (the
//! journey: docs/journey.md). Where the walk stands is kept in a
//! checkpoint item, so a run spans as many invocations as it needs.

use super::checkpoints::{Checkpoint, Job};
use super::codec::{activity, article, user};
use super::error::Result;
use super::item::{n, parsed, s, string};
use super::keys::{ARTICLE, ARTICLE_PREFIX, COUNT, PROFILE, RATING_PREFIX, REVIEW, SUMMARY};
use super::read::{Read, ScanKey, scan_key};
use super::schema::{GSI1, GSI2, PK, SK};
use super::write::{Outcome, Part, Write, is_bare_entry};
use super::{Item, Repository};
use crate::domain::activity::Shown;
use crate::domain::{Subject, Tag};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What a run repaired, by kind of aggregate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Repairs {
    pub tag_counts: u64,
    pub summaries: u64,
    pub leaderboard: u64,
}

impl Repairs {
    pub fn total(&self) -> u64 {
        self.tag_counts + self.summaries + self.leaderboard
    }

    fn add(&mut self, other: Self) {
        self.tag_counts += other.tag_counts;
        self.summaries += other.summaries;
        self.leaderboard += other.leaderboard;
    }
}

/// One stretch of the walk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stretch {
    /// Items read.
    pub scanned: u64,
    /// Aggregates recounted.
    pub checked: u64,
    pub repairs: Repairs,
    /// Items rewritten in v2's shape (profiles, articles and reviews with
    /// their entries), written before contract v2.
    pub upgraded: u64,
    /// Where the next stretch starts; `None` at the end of the table.
    pub next: Option<ScanKey>,
}

/// A run of the job: where it stands and what it found so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub started_at: String,
    pub finished_at: Option<String>,
    /// Where the walk resumes.
    pub next: Option<ScanKey>,
    pub scanned: u64,
    pub checked: u64,
    pub repairs: Repairs,
    /// Items rewritten in v2's shape (data written before contract v2).
    #[serde(default)]
    pub upgraded: u64,
    /// How many invocations the run has taken so far.
    pub slices: u32,
    /// Deletions found stalled, and set going again.
    pub purges_resumed: u64,
}

impl Run {
    pub fn add(&mut self, stretch: Stretch) {
        self.scanned += stretch.scanned;
        self.checked += stretch.checked;
        self.repairs.add(stretch.repairs);
        self.upgraded += stretch.upgraded;
        self.next = stretch.next;
    }
}

/// What the reconcile job did with a profile it checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProfileCheck {
    /// Nothing to do (or a concurrent write rewrote it first).
    Right,
    /// Its derived attributes had drifted, and were rewritten.
    Repaired,
    /// It had v1 attribute names, and was rewritten in v2's.
    Upgraded,
}

/// The reconcile job's checkpoint.
pub type ReconcileCheckpoint = Checkpoint<Run>;

/// The tags whose counts the reconcile job checks on meeting `item`: an
/// article's tags, or the tag of a count item.
fn tags_in(item: &Item) -> Vec<Tag> {
    match item.get(SK) {
        Some(AttributeValue::S(sk)) if sk == ARTICLE => article::summary_from_item(item)
            .map(|summary| summary.tags.iter().cloned().collect())
            .unwrap_or_default(),
        Some(AttributeValue::S(sk)) if sk == COUNT => parsed(item, "tag").into_iter().collect(),
        _ => Vec::new(),
    }
}

/// The subject whose summary the reconcile job checks on meeting `item`: that
/// of a review, a rating or a summary.
fn subject_in(item: &Item) -> Option<Subject> {
    let sk = string(item, SK).ok()?;
    let counted = sk == REVIEW || sk == SUMMARY || sk.starts_with(RATING_PREFIX);
    counted.then(|| parsed(item, "subject").ok()).flatten()
}

impl Repository {
    /// Checks a profile's derived attributes (its total, its place in the
    /// users list and on the leaderboard) against its scores, and rewrites
    /// the profile if they differ or it still has v1 attribute names,
    /// conditioned on the version read. A lost race means a write rewrote
    /// the profile, derived keys included: nothing left to do.
    async fn repair_profile(&self, stored: &Item) -> Result<ProfileCheck> {
        let mut record = user::from_item(stored)?;
        let derived = [
            GSI1.partition_key,
            GSI1.sort_key,
            GSI2.partition_key,
            GSI2.sort_key,
            "totalScore",
        ];
        let expected = user::to_item(&record);
        let drifted = derived
            .iter()
            .any(|key| stored.get(*key) != expected.get(*key));
        if !drifted && !user::is_v1_profile(stored) {
            return Ok(ProfileCheck::Right);
        }
        let read = record.version;
        record.version += 1;
        let mut write = Write::new(&self.table);
        write.put(
            Part::Main,
            user::to_item(&record),
            "version = :v",
            Some(n(read)),
        )?;
        if let Outcome::Cancelled(_) = self.commit(write).await? {
            return Ok(ProfileCheck::Right);
        }
        let id = record.user.id.as_str();
        Ok(if drifted {
            tracing::warn!(id, "repaired a leaderboard entry");
            ProfileCheck::Repaired
        } else {
            tracing::info!(id, "rewrote a v1 profile in v2's names");
            ProfileCheck::Upgraded
        })
    }

    /// The reconcile job's checkpoint, if a run ever started.
    pub async fn reconcile_checkpoint(&self) -> Result<Option<ReconcileCheckpoint>> {
        self.checkpoint(Job::Reconcile).await
    }

    /// Walks up to `limit` items from `start`, and recounts every aggregate
    /// met on the way (each once per stretch).
    pub async fn reconcile_stretch(&self, start: Option<ScanKey>, limit: u32) -> Result<Stretch> {
        let start = start.map(|key| {
            key.into_iter()
                .map(|(name, value)| (name, s(value)))
                .collect::<Item>()
        });
        let out = self
            .client
            .scan()
            .table_name(self.table.as_ref())
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .set_return_consumed_capacity(self.capacity())
            .send()
            .await?;
        self.record("Scan", out.consumed_capacity());
        let items = out.items.unwrap_or_default();
        let mut tags = BTreeSet::new();
        let mut subjects = BTreeSet::new();
        let mut bare_targets = BTreeSet::new();
        let mut stretch = Stretch {
            scanned: items.len() as u64,
            next: out.last_evaluated_key.map(scan_key),
            ..Stretch::default()
        };
        for item in &items {
            tags.extend(tags_in(item));
            subjects.extend(subject_in(item));
            if is_bare_entry(item) {
                bare_targets.insert(string(item, "target")?);
            }
            if activity::is_v2_record(item) {
                stretch.upgraded += u64::from(self.upgrade_activity(item).await?);
            }
            if user::is_live_profile(item) {
                stretch.checked += 1;
                match self.repair_profile(item).await? {
                    ProfileCheck::Right => {}
                    ProfileCheck::Repaired => stretch.repairs.leaderboard += 1,
                    ProfileCheck::Upgraded => stretch.upgraded += 1,
                }
            }
        }
        for target in &bare_targets {
            stretch.upgraded += u64::from(self.upgrade_listed(target).await?);
        }
        for tag in &tags {
            stretch.checked += 1;
            stretch.repairs.tag_counts += u64::from(self.recount_tag(tag).await?);
        }
        for subject in &subjects {
            stretch.checked += 1;
            stretch.repairs.summaries += u64::from(self.recount_subject(subject).await?);
        }
        Ok(stretch)
    }

    /// Brings a journeyer's v2 activity record into v3 (docs/journey.md,
    /// "Data written before v3"): the v2 rule's active days, and the events'
    /// ETag and newest time (the journey reads events for pushes, which the
    /// v2 job never compared), go; for a profile that is not verified, what
    /// the v2 rule computed leaves its numbers (nothing from GitHub counts
    /// before verification) and admins' corrections stay, as the ledger's
    /// bonuses. One transaction with the profile, conditioned on both as
    /// read; a lost race is left to the next run. Whether it upgraded.
    async fn upgrade_activity(&self, stored: &Item) -> Result<bool> {
        let pk = string(stored, PK)?;
        let record = activity::activity_from_item(stored)?;
        let Some(profile) = self.get(pk.clone(), PROFILE, Read::Consistent).await? else {
            return Ok(false);
        };
        if !user::is_live_profile(&profile) {
            return Ok(false);
        }
        let mut profile = user::from_item(&profile)?;
        let mut ledger = record.ledger;
        let mut write = Write::new(&self.table);
        let version = profile.version;
        let unverified = !profile.user.journey.verified;
        match ledger.applied.filter(|_| unverified) {
            Some(applied) => {
                let progress = &mut profile.user.progress;
                // What the v2 rule computed: what the job last wrote less
                // the admins' bonus in it; the profile keeps the rest.
                let without = |current: u64, applied: u64, bonus: i64| {
                    let computed = i128::from(applied) - i128::from(bonus);
                    u64::try_from((i128::from(current) - computed).max(0)).unwrap_or(0)
                };
                let score = without(
                    progress.github_score.get(),
                    applied.score,
                    ledger.score_bonus,
                );
                let days = without(
                    progress.days_completed.get(),
                    applied.days,
                    ledger.days_bonus,
                );
                let streak = without(
                    progress.github_streak.get(),
                    applied.streak,
                    ledger.streak_bonus,
                );
                progress.github_score = score.try_into().unwrap_or(progress.github_score);
                progress.days_completed = days.try_into().unwrap_or(progress.days_completed);
                progress.github_streak = streak.try_into().unwrap_or(progress.github_streak);
                ledger.applied = Some(Shown {
                    score: progress.github_score.get(),
                    streak: progress.github_streak.get(),
                    days: progress.days_completed.get(),
                });
                profile.version = version + 1;
                write.put(
                    Part::Main,
                    user::to_item(&profile),
                    "version = :v",
                    Some(n(version)),
                )?;
            }
            None => {
                write.check_if(
                    Part::Main,
                    pk.clone(),
                    PROFILE,
                    "version = :v",
                    Some(n(version)),
                )?;
            }
        }
        let id = profile.user.id.clone();
        let (mut update, condition) = activity::Update::new(record.rev);
        update.remove.extend(["#days", "etag", "newest"]);
        let applied = ledger.applied.unwrap_or_default();
        if ledger.applied.is_some() {
            update.set("appliedScore", n(applied.score));
            update.set("appliedStreak", n(applied.streak));
            update.set("appliedDays", n(applied.days));
        }
        update.into_write(&mut write, &id, condition)?;
        Ok(match self.commit(write).await? {
            Outcome::Committed => {
                tracing::info!(id = id.as_str(), "upgraded a v2 activity record to v3");
                true
            }
            Outcome::Cancelled(_) => false,
        })
    }

    /// Rebuilds the entries of the article or review stored under `pk`
    /// (whose entries predate summaries). `Ok(false)` when it is gone, or a
    /// write rewrote it meanwhile (entries included).
    async fn upgrade_listed(&self, pk: &str) -> Result<bool> {
        let article = pk.starts_with(ARTICLE_PREFIX);
        let sk = if article { ARTICLE } else { REVIEW };
        let Some(item) = self.get(pk.to_owned(), sk, Read::Consistent).await? else {
            return Ok(false);
        };
        let upgraded = if article {
            self.upgrade_article(&item).await?
        } else {
            self.upgrade_review(&item).await?
        };
        if upgraded {
            tracing::info!(pk, "rewrote a v1 item and its list entries in v2's shape");
        }
        Ok(upgraded)
    }
}
