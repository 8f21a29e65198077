//! The reconcile job's reads and repairs (`crate::jobs::reconcile` runs it).
//!
//! It walks the whole table with Scan, a stretch at a time: the one place
//! that scans, a nightly batch job, never a request. Every aggregate it meets
//! (a tag count, a subject's summary, a profile's leaderboard entry), or whose
//! source it meets (an article, a review, a rating), is recounted from the
//! items it summarizes and rewritten if it drifted. Items written before
//! contract v2 (list entries without summaries, v1 attribute names) are
//! rewritten in v2's shape on the way. Where the walk stands is kept in a
//! checkpoint item, so a run spans as many invocations as it needs.

use super::articles::tags_in;
use super::item::{n, number, s, string};
use super::reviews::subject_in;
use super::schema::{PK, SK};
use super::users::{ProfileCheck, is_live_profile};
use super::write::{if_rev, is_bare_entry, put};
use super::{Item, Repository};
use crate::error::ApiError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

const JOB: &str = "JOB#RECONCILE";
const CHECKPOINT: &str = "CHECKPOINT";
/// The item that records which contract's shape the table's items are in.
const DATA: &str = "META#DATA";
const VERSION: &str = "VERSION";

/// The shape every item is in once a reconcile run has walked the table
/// under this code: contract v2's (list entries hold summaries, v2 names).
pub const DATA_VERSION: u64 = 2;

/// A key of the table (`PK`, `SK`): where a scan resumes.
pub type ScanKey = BTreeMap<String, String>;

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

/// Where a run stands between invocations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// An invocation is walking the table (or stopped without handing off).
    Running,
    /// An invocation ran out of time; the next one goes on (in AWS, the
    /// table's stream carries this change to the reconcile function).
    Handoff,
    /// The run is finished.
    Done,
}

impl Phase {
    const ALL: [Self; 3] = [Self::Running, Self::Handoff, Self::Done];

    /// As stored (the reconcile function's stream filter matches `handoff`).
    fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Handoff => "handoff",
            Self::Done => "done",
        }
    }
}

/// The checkpoint item: the current (or last) run and its phase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub phase: Phase,
    pub run: Run,
    /// The stored revision; every save is conditioned on it, so of two
    /// invocations running at once, one stops.
    rev: Option<u64>,
}

impl Checkpoint {
    /// A new run, replacing `previous` (if any) in the table.
    pub fn fresh(previous: Option<&Checkpoint>, started_at: String) -> Self {
        Self {
            phase: Phase::Running,
            run: Run {
                started_at,
                ..Run::default()
            },
            rev: previous.and_then(|checkpoint| checkpoint.rev),
        }
    }
}

impl Repository {
    /// The shape the table's items are known to be in: `None` for a table
    /// that predates the marker (written under contract v1, or empty).
    pub async fn data_version(&self) -> Result<Option<u64>, ApiError> {
        let item = self.get(DATA.to_owned(), VERSION).await?;
        item.map(|item| number(&item, "version")).transpose()
    }

    /// Records that every item is in [`DATA_VERSION`]'s shape: after a
    /// reconcile run over the whole table, or on a table just created.
    pub async fn mark_data_version(&self) -> Result<(), ApiError> {
        let item = Item::from([
            (PK.to_owned(), s(DATA)),
            (SK.to_owned(), s(VERSION)),
            ("version".to_owned(), n(DATA_VERSION)),
        ]);
        let out = self
            .client
            .put_item()
            .table_name(self.table.as_ref())
            .set_item(Some(item))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await?;
        self.meter.record("PutItem", out.consumed_capacity());
        Ok(())
    }

    /// The reconcile job's checkpoint, if a run ever started.
    pub async fn reconcile_checkpoint(&self) -> Result<Option<Checkpoint>, ApiError> {
        let Some(item) = self.get(JOB.to_owned(), CHECKPOINT).await? else {
            return Ok(None);
        };
        let phase = string(&item, "phase")?;
        Ok(Some(Checkpoint {
            phase: Phase::ALL
                .into_iter()
                .find(|known| known.as_str() == phase)
                .ok_or_else(|| ApiError::internal(format!("unknown checkpoint phase {phase}")))?,
            run: serde_json::from_str(&string(&item, "run")?).map_err(ApiError::internal)?,
            rev: Some(number(&item, "rev")?),
        }))
    }

    /// Saves `checkpoint` in `phase`. `Ok(false)` when another invocation
    /// saved it since it was read: this one must stop.
    pub async fn save_checkpoint(
        &self,
        checkpoint: &mut Checkpoint,
        phase: Phase,
    ) -> Result<bool, ApiError> {
        let run = serde_json::to_string(&checkpoint.run).map_err(ApiError::internal)?;
        let rev = checkpoint.rev.unwrap_or(0) + 1;
        let item = Item::from([
            (PK.to_owned(), s(JOB)),
            (SK.to_owned(), s(CHECKPOINT)),
            ("phase".to_owned(), s(phase.as_str())),
            ("run".to_owned(), s(run)),
            ("rev".to_owned(), n(rev)),
        ]);
        let (condition, value) = if_rev(checkpoint.rev);
        let saved = self
            .transact(vec![put(self.table.as_ref(), item, condition, value)?])
            .await?;
        if saved {
            checkpoint.rev = Some(rev);
            checkpoint.phase = phase;
        }
        Ok(saved)
    }

    /// Walks up to `limit` items from `start`, and recounts every aggregate
    /// met on the way (each once per stretch).
    pub async fn reconcile_stretch(
        &self,
        start: Option<ScanKey>,
        limit: u32,
    ) -> Result<Stretch, ApiError> {
        let start = start.map(|key| {
            key.into_iter()
                .map(|(name, value)| (name, AttributeValue::S(value)))
                .collect::<Item>()
        });
        let out = self
            .client
            .scan()
            .table_name(self.table.as_ref())
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await?;
        self.meter.record("Scan", out.consumed_capacity());
        let items = out.items.unwrap_or_default();
        let mut tags = BTreeSet::new();
        let mut subjects = BTreeSet::new();
        let mut bare_targets = BTreeSet::new();
        let mut stretch = Stretch {
            scanned: items.len() as u64,
            next: out.last_evaluated_key.map(|key| {
                key.into_iter()
                    .filter_map(|(name, value)| Some((name, value.as_s().ok()?.clone())))
                    .collect()
            }),
            ..Stretch::default()
        };
        for item in &items {
            tags.extend(tags_in(item));
            subjects.extend(subject_in(item));
            if is_bare_entry(item) {
                bare_targets.insert(string(item, "target")?);
            }
            if is_live_profile(item) {
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

    /// Rebuilds the entries of the article or review stored under `pk`
    /// (whose entries predate summaries). `Ok(false)` when it is gone, or a
    /// write rewrote it meanwhile (entries included).
    async fn upgrade_listed(&self, pk: &str) -> Result<bool, ApiError> {
        let (sk, upgraded) = if pk.starts_with("ARTICLE#") {
            (super::articles::ARTICLE, true)
        } else {
            (super::reviews::REVIEW, false)
        };
        let Some(item) = self.get(pk.to_owned(), sk).await? else {
            return Ok(false);
        };
        let upgraded = if upgraded {
            self.upgrade_article(&item).await?
        } else {
            self.upgrade_review(&item).await?
        };
        if upgraded {
            tracing::info!(pk, "rewrote a v1 item and its list entries in v2's shape");
        }
        Ok(upgraded)
    }

    /// How many items the partition `pk` holds, read consistently.
    pub(super) async fn count_partition(&self, pk: &str) -> Result<u64, ApiError> {
        Ok(self.partition_items(pk, None, PK).await?.len() as u64)
    }

    /// The `attribute` of every item of the partition `pk` (whose sort key
    /// starts with `prefix`, if given), read consistently, page after page.
    pub(super) async fn partition_items(
        &self,
        pk: &str,
        prefix: Option<&str>,
        attribute: &str,
    ) -> Result<Vec<Item>, ApiError> {
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
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await?;
            self.meter.record("Query", out.consumed_capacity());
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }
}
