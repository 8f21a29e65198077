//! The reconcile job: recounts every aggregate and repairs drift, walking
//! the whole table a stretch at a time through the runner ([`super::walk`]).
//! In AWS a daily schedule starts it (`functions/reconcile`), and the
//! table's stream starts the next invocation when one runs out of time;
//! `hdoc-local reconcile` and `POST /_dev/reconcile` run it on demand.

use super::Ended;
use super::purge::BATCH;
use super::runner::{Stretch, Walk, walk};
use crate::domain::Timestamp;
use crate::store::{Job, Phase, Repository, Run, StoreError};
use crate::telemetry::emf;
use std::time::{Duration, Instant};

/// How many items one stretch of the reconcile walk reads.
pub const STRETCH: u32 = 500;

/// A deletion not finished this long after it began has stalled (its purge
/// function kept failing); the reconcile job sets it going again.
const STALLED: Duration = Duration::from_secs(15 * 60);

/// The reconcile job over `repo`, `stretch` items a stretch.
struct Reconcile<'a> {
    repo: &'a Repository,
    stretch: u32,
}

impl Walk for Reconcile<'_> {
    type Run = Run;
    const JOB: Job = Job::Reconcile;
    const STOPPED: Phase = Phase::Handoff;

    /// A new run sets stalled deletions going again first.
    async fn start(&self) -> Result<Run, StoreError> {
        let started = Timestamp::now();
        Ok(Run {
            purges_resumed: resume_stalled_purges(self.repo, &started).await?,
            started_at: started.as_str().to_owned(),
            ..Run::default()
        })
    }

    fn resume(&self, run: &mut Run) {
        run.slices += 1;
    }

    async fn stretch(&self, run: &mut Run, _: Option<Instant>) -> Result<Stretch, StoreError> {
        let walked = self
            .repo
            .reconcile_stretch(run.next.clone(), self.stretch)
            .await?;
        run.add(walked);
        Ok(if run.next.is_none() {
            Stretch::End
        } else {
            Stretch::More
        })
    }

    fn finish(&self, run: &mut Run) {
        run.finished_at = Some(Timestamp::now().as_str().to_owned());
    }

    fn report(&self, run: &Run) {
        log_metrics(run);
    }
}

/// Runs the reconcile job until `deadline`: resumes the run in progress, or
/// starts one, and walks the table `stretch` items at a time, saving its
/// place after each. When the deadline comes first the checkpoint is marked
/// for handoff (in AWS the table's stream starts the next invocation).
/// When the walk is done, the run's figures are logged as metrics.
pub async fn reconcile(
    repo: &Repository,
    deadline: Option<Instant>,
    stretch: u32,
) -> Result<Ended<Run>, StoreError> {
    walk(repo, &Reconcile { repo, stretch }, deadline).await
}

/// Sets going again the deletions that began more than [`STALLED`] ago.
async fn resume_stalled_purges(repo: &Repository, now: &Timestamp) -> Result<u64, StoreError> {
    let mut resumed = 0;
    for purge in repo.pending_purges(BATCH).await? {
        if &Timestamp::after(&purge.deleted_at, STALLED) <= now {
            tracing::warn!(
                id = purge.id.as_str(),
                deleted_at = purge.deleted_at.as_str(),
                "stalled deletion resumed"
            );
            repo.continue_purge(&purge).await?;
            resumed += 1;
        }
    }
    Ok(resumed)
}

/// Logs a finished run as CloudWatch metrics (one EMF line, dimension
/// `Stage`), and as a log line with what it checked.
fn log_metrics(run: &Run) {
    emf::emit(&[
        (emf::AGGREGATES_REPAIRED, run.repairs.total()),
        (emf::TAG_COUNTS_REPAIRED, run.repairs.tag_counts),
        (emf::SUMMARIES_REPAIRED, run.repairs.summaries),
        (emf::LEADERBOARD_REPAIRED, run.repairs.leaderboard),
        (emf::ITEMS_SCANNED, run.scanned),
        (emf::PURGES_RESUMED, run.purges_resumed),
    ]);
    tracing::info!(
        repaired = run.repairs.total(),
        scanned = run.scanned,
        checked = run.checked,
        slices = run.slices,
        started_at = run.started_at.as_str(),
        finished_at = run.finished_at.as_deref().unwrap_or("-"),
        "reconcile run finished"
    );
}
