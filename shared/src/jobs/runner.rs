//! The one runner of the jobs that walk a list a stretch at a time and keep
//! their place in a checkpoint between invocations (the reconcile job, the
//! GitHub job): resume the run in progress or start one, walk stretch after
//! stretch saving the checkpoint after each, and stop at the deadline or
//! when the job says so. Of two invocations at once, the second to save the
//! checkpoint stops ([`Ended::Held`]): every save is conditioned on the
//! revision read.

use super::{Ended, out_of_time};
use crate::store::{Checkpoint, Job, Phase, Repository, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::time::Instant;

/// What a stretch of the walk came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stretch {
    /// More to walk: the runner saves the place and goes on (or stops at its
    /// deadline, for the next invocation to go on).
    More,
    /// The walk reached the end: the run is finished.
    End,
    /// The job must stop for now (its deadline, a rate limit): the next
    /// invocation goes on from the checkpoint.
    Stop,
}

/// A job the runner walks.
pub trait Walk: Sync {
    /// What the job records of a run: the checkpoint's content, and the
    /// answer of an invocation.
    type Run: Clone + Default + Serialize + DeserializeOwned + Send + Sync;

    /// The job's checkpoint.
    const JOB: Job;

    /// The phase a run is left in when an invocation stops before the end:
    /// [`Phase::Handoff`] where the table's stream starts the next
    /// invocation at once (reconcile), [`Phase::Running`] where the next
    /// scheduled one goes on.
    const STOPPED: Phase;

    /// A new run: what a run does before its walk, and its first figures.
    fn start(&self) -> impl Future<Output = Result<Self::Run, StoreError>> + Send;

    /// Whether a run in progress may go on now (`false`: it waits, say for
    /// a rate limit's reset, and the invocation ends at once).
    fn may_go_on(&self, _run: &Self::Run) -> bool {
        true
    }

    /// What each invocation notes on the run before it walks (one more
    /// slice; a wait that is over).
    fn resume(&self, run: &mut Self::Run);

    /// Walks one stretch from where `run` stands, adding to it what it did.
    fn stretch(
        &self,
        run: &mut Self::Run,
        deadline: Option<Instant>,
    ) -> impl Future<Output = Result<Stretch, StoreError>> + Send;

    /// The run walked to the end: its last figures, before the final save.
    fn finish(&self, run: &mut Self::Run);

    /// The run is finished and saved: its metrics and log line.
    fn report(&self, run: &Self::Run);
}

/// Runs `job` until its run ends, it stops, or `deadline` comes: at least
/// one stretch per invocation, so every invocation moves a run on.
pub async fn walk<W: Walk>(
    repo: &Repository,
    job: &W,
    deadline: Option<Instant>,
) -> Result<Ended<W::Run>, StoreError> {
    let stored: Option<Checkpoint<W::Run>> = repo.checkpoint(W::JOB).await?;
    let mut checkpoint = match &stored {
        Some(checkpoint) if checkpoint.phase != Phase::Done => {
            if !job.may_go_on(&checkpoint.run) {
                return Ok(Ended::Paused(checkpoint.run.clone()));
            }
            checkpoint.clone()
        }
        _ => Checkpoint::start(W::JOB, stored.as_ref(), job.start().await?),
    };
    job.resume(&mut checkpoint.run);
    if !repo
        .save_checkpoint(&mut checkpoint, Phase::Running)
        .await?
    {
        return Ok(Ended::Held);
    }
    loop {
        let stretch = job.stretch(&mut checkpoint.run, deadline).await?;
        let stop = stretch == Stretch::Stop || (stretch == Stretch::More && out_of_time(deadline));
        let phase = match stretch {
            Stretch::End => {
                job.finish(&mut checkpoint.run);
                Phase::Done
            }
            _ if stop => W::STOPPED,
            _ => Phase::Running,
        };
        if !repo.save_checkpoint(&mut checkpoint, phase).await? {
            return Ok(Ended::Held);
        }
        if phase == Phase::Done {
            job.report(&checkpoint.run);
            return Ok(Ended::Finished(checkpoint.run));
        }
        if stop {
            return Ok(Ended::Paused(checkpoint.run));
        }
    }
}
