//! The jobs' storage: the checkpoint a long job keeps between invocations
//! (the reconcile job's, and the activity job's), the reconcile job's walk
//! and repairs (`crate::jobs::reconcile` runs it), and the data-version marker.
//!
//! It walks the whole table with Scan, a stretch at a time: the one place
//! that scans, a nightly batch job, never a request. Every aggregate it meets
//! (a tag count, a subject's summary, a profile's leaderboard entry), or whose
//! source it meets (an article, a review, a rating), is recounted from the
//! items it summarizes and rewritten if it drifted. Items written before
//! contract v2 (list entries without summaries, v1 attribute names) are
//! rewritten in v2's shape on the way. Where the walk stands is kept in a
//! checkpoint item, so a run spans as many invocations as it needs.

use super::error::{Result, StoreError};
use super::item::{n, number, s, string};
use super::leaderboard::ProfileCheck;
use super::ratings::subject_in;
use super::read::{Read, scan_key};
use super::schema::{PK, SK};
use super::tags::tags_in;
use super::users::is_live_profile;
use super::write::{Outcome, Part, Write, if_rev, is_bare_entry};
use super::{Item, Repository};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

const CHECKPOINT: &str = "CHECKPOINT";

/// A job that keeps a checkpoint: one item, `JOB#<NAME>` / `CHECKPOINT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    /// The nightly recount (`crate::jobs::reconcile`).
    Reconcile,
    /// Scores from the journeyers' GitHub activity (`functions/activity`).
    Activity,
}

impl Job {
    /// The checkpoint's partition key (the reconcile function's stream
    /// filter matches `JOB#RECONCILE`).
    fn pk(self) -> &'static str {
        match self {
            Self::Reconcile => "JOB#RECONCILE",
            Self::Activity => "JOB#ACTIVITY",
        }
    }
}

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

/// The checkpoint item of a job: its current (or last) run and its phase.
/// `R` is what the job records of a run (the reconcile job's [`Run`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint<R = Run> {
    pub phase: Phase,
    pub run: R,
    job: Job,
    /// The stored revision; every save is conditioned on it, so of two
    /// invocations running at once, one stops.
    rev: Option<u64>,
}

impl Checkpoint {
    /// A new reconcile run, replacing `previous` (if any) in the table.
    pub fn fresh(previous: Option<&Checkpoint>, started_at: String) -> Self {
        Self::start(
            Job::Reconcile,
            previous,
            Run {
                started_at,
                ..Run::default()
            },
        )
    }
}

impl<R> Checkpoint<R> {
    /// A new `run` of `job`, replacing `previous` (if any) in the table.
    pub fn start(job: Job, previous: Option<&Checkpoint<R>>, run: R) -> Self {
        Self {
            phase: Phase::Running,
            run,
            job,
            rev: previous.and_then(|checkpoint| checkpoint.rev),
        }
    }
}

impl Repository {
    /// The shape the table's items are known to be in: `None` for a table
    /// that predates the marker (written under contract v1, or empty).
    pub async fn data_version(&self) -> Result<Option<u64>> {
        let item = self.get(DATA.to_owned(), VERSION, Read::Consistent).await?;
        item.map(|item| number(&item, "version")).transpose()
    }

    /// Records that every item is in [`DATA_VERSION`]'s shape: after a
    /// reconcile run over the whole table, or on a table just created.
    pub async fn mark_data_version(&self) -> Result<()> {
        let item = Item::from([
            (PK.to_owned(), s(DATA)),
            (SK.to_owned(), s(VERSION)),
            ("version".to_owned(), n(DATA_VERSION)),
        ]);
        let mut write = Write::new(&self.table);
        write.put(
            Part::Main,
            item,
            "attribute_not_exists(version) OR version <= :v",
            Some(n(DATA_VERSION)),
        )?;
        self.commit(write).await.map(|_| ())
    }

    /// The reconcile job's checkpoint, if a run ever started.
    pub async fn reconcile_checkpoint(&self) -> Result<Option<Checkpoint>> {
        self.checkpoint(Job::Reconcile).await
    }

    /// The checkpoint of `job`, if a run ever started.
    pub async fn checkpoint<R: DeserializeOwned>(&self, job: Job) -> Result<Option<Checkpoint<R>>> {
        let Some(item) = self
            .get(job.pk().to_owned(), CHECKPOINT, Read::Consistent)
            .await?
        else {
            return Ok(None);
        };
        let phase = string(&item, "phase")?;
        Ok(Some(Checkpoint {
            phase: Phase::ALL
                .into_iter()
                .find(|known| known.as_str() == phase)
                .ok_or_else(|| StoreError::corrupt(format!("a checkpoint in phase {phase}")))?,
            run: serde_json::from_str(&string(&item, "run")?)
                .map_err(|err| StoreError::corrupt(format!("a checkpoint's run: {err}")))?,
            job,
            rev: Some(number(&item, "rev")?),
        }))
    }

    /// Saves `checkpoint` in `phase`. `Ok(false)` when another invocation
    /// saved it since it was read: this one must stop.
    pub async fn save_checkpoint<R: Serialize>(
        &self,
        checkpoint: &mut Checkpoint<R>,
        phase: Phase,
    ) -> Result<bool> {
        let run = serde_json::to_string(&checkpoint.run).map_err(StoreError::failed)?;
        let rev = checkpoint.rev.unwrap_or(0) + 1;
        let item = Item::from([
            (PK.to_owned(), s(checkpoint.job.pk())),
            (SK.to_owned(), s(CHECKPOINT)),
            ("phase".to_owned(), s(phase.as_str())),
            ("run".to_owned(), s(run)),
            ("rev".to_owned(), n(rev)),
        ]);
        let (condition, value) = if_rev(checkpoint.rev);
        let mut write = Write::new(&self.table);
        write.put(Part::Main, item, condition, value)?;
        let saved = matches!(self.commit(write).await?, Outcome::Committed);
        if saved {
            checkpoint.rev = Some(rev);
            checkpoint.phase = phase;
        }
        Ok(saved)
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
    async fn upgrade_listed(&self, pk: &str) -> Result<bool> {
        let article = pk.starts_with("ARTICLE#");
        let sk = if article {
            super::articles::ARTICLE
        } else {
            super::reviews::REVIEW
        };
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
