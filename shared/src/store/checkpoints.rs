//! The checkpoint a long job keeps between invocations (the reconcile
//! job's, the activity job's), and the data-version marker.

use super::error::{Result, StoreError};
use super::item::{n, number, s, string};
use super::keys::{CHECKPOINT, HANDOFF, JOB_ACTIVITY, JOB_RECONCILE, META_DATA, PHASE, VERSION};
use super::read::Read;
use super::schema::{PK, SK};
use super::write::{Outcome, Part, Write, if_rev};
use super::{Item, Repository};
use serde::Serialize;
use serde::de::DeserializeOwned;

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
    pub(super) fn pk(self) -> &'static str {
        match self {
            Self::Reconcile => JOB_RECONCILE,
            Self::Activity => JOB_ACTIVITY,
        }
    }
}

/// The shape every item is in once a reconcile run has walked the table
/// under this code: contract v3's (list entries hold summaries, v2 names,
/// activity records without v2's active days: docs/journey.md).
pub const DATA_VERSION: u64 = 3;

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
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Handoff => HANDOFF,
            Self::Done => "done",
        }
    }
}

/// The checkpoint item of a job: its current (or last) run and its phase.
/// `R` is what the job records of a run (the reconcile job's `reconcile::Run`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint<R> {
    pub phase: Phase,
    pub run: R,
    job: Job,
    /// The stored revision; every save is conditioned on it, so of two
    /// invocations running at once, one stops.
    rev: Option<u64>,
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
        let item = self
            .get(META_DATA.to_owned(), VERSION, Read::Consistent)
            .await?;
        item.map(|item| number(&item, "version")).transpose()
    }

    /// Records that every item is in [`DATA_VERSION`]'s shape: after a
    /// reconcile run over the whole table, or on a table just created.
    pub async fn mark_data_version(&self) -> Result<()> {
        let item = Item::from([
            (PK.to_owned(), s(META_DATA)),
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

    /// The checkpoint of `job`, if a run ever started.
    pub async fn checkpoint<R: DeserializeOwned>(&self, job: Job) -> Result<Option<Checkpoint<R>>> {
        let Some(item) = self
            .get(job.pk().to_owned(), CHECKPOINT, Read::Consistent)
            .await?
        else {
            return Ok(None);
        };
        let phase = string(&item, PHASE)?;
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
            (PHASE.to_owned(), s(phase.as_str())),
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
}
