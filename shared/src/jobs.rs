//! The two background jobs, run by the same code in Lambda and in `hdoc-local`:
//!
//! - [`purge_user`] removes everything a deleted user owned. In AWS the
//!   table's stream starts it when a profile becomes a tombstone
//!   (`users::purge_deleted`); `hdoc-local` runs it after
//!   each deletion and at start.
//! - [`reconcile`] recounts every aggregate and repairs drift. In AWS a daily
//!   schedule starts it (`functions/reconcile`); `hdoc-local reconcile` and
//!   `POST /_dev/reconcile` run it on demand.
//!
//! Both stop at a deadline (Lambda's time limit) and leave a mark in the
//! table that makes them go on where they stopped. The design is in
//! `docs/deletion.md`.

use crate::Repository;
use crate::domain::{ArticleSummary, ReviewId, ReviewSummary, Subject, Timestamp, UserId};
use crate::page::Window;
use crate::store::{
    ArticleFilter, Checkpoint, Page, Phase, Photos, Purge, ReviewFilter, Run, StoreError,
};
use crate::telemetry::emf;
use std::time::{Duration, Instant};

/// How an invocation of a job ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress<T> {
    /// The job is finished.
    Done(T),
    /// The deadline came first, or another invocation holds the job: it goes
    /// on from the mark left in the table.
    Paused,
}

/// How long after a deletion the purge's last pass may start. Its lists are
/// read through eventually consistent queries and an index; by then every
/// write that was accepted before the deletion shows in them, and writes after
/// it are refused (see `live_profile` and `caller_not_deleting` in the store).
pub const SETTLE: Duration = Duration::from_secs(2);

/// How many of a user's things one query of the purge fetches.
const BATCH: u32 = 100;

/// How many items one stretch of the reconcile walk reads.
pub const STRETCH: u32 = 500;

/// A deletion not finished this long after it began has stalled (its purge
/// function kept failing); the reconcile job sets it going again.
const STALLED: Duration = Duration::from_secs(15 * 60);

/// When a job in Lambda must stop: `margin` before the invocation's own
/// deadline, leaving time to save where it stands.
pub fn deadline(invocation_deadline: std::time::SystemTime, margin: Duration) -> Instant {
    let left = invocation_deadline
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    Instant::now() + left.saturating_sub(margin)
}

fn out_of_time(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|deadline| Instant::now() >= deadline)
}

/// Why the purge leaves a thing it listed alone.
enum Skip {
    /// Not the deleted user's after all (a list read a moment stale).
    NotMine,
    Store(StoreError),
}

impl From<StoreError> for Skip {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

/// Whether a removal removed something: gone already (another run, or its
/// owner, deleted it) or not the user's is `false`.
fn removed<T>(result: Result<Option<T>, Skip>) -> Result<bool, StoreError> {
    match result {
        Ok(found) => Ok(found.is_some()),
        Err(Skip::NotMine) => Ok(false),
        Err(Skip::Store(err)) => Err(err),
    }
}

/// Removes everything the deleted user of `purge` owned (articles, reviews
/// with their photo objects, ratings), each through the same transaction a
/// request would use, so every aggregate stays exact. Each step is
/// idempotent: a run stopped anywhere (crash, deadline) is completed by the
/// next, and two runs at once are harmless. When nothing is left, the
/// tombstone and the claim go. `Done(n)`: `n` things removed by this run.
pub async fn purge_user(
    repo: &Repository,
    photos: Option<&Photos>,
    purge: &Purge,
    deadline: Option<Instant>,
) -> Result<Progress<u64>, StoreError> {
    let settled = Timestamp::after(&purge.deleted_at, SETTLE);
    let mut removed = 0;
    loop {
        let pass_started = Timestamp::now();
        let Some(found) = purge_pass(repo, photos, purge, deadline).await? else {
            repo.continue_purge(purge).await?;
            return Ok(Progress::Paused);
        };
        removed += found;
        if found == 0 && pass_started >= settled {
            repo.finish_purge(purge).await?;
            tracing::info!(id = purge.id.as_str(), removed, "user purged");
            emf::emit(&[(emf::USERS_PURGED, 1), (emf::THINGS_PURGED, removed)]);
            return Ok(Progress::Done(removed));
        }
        if found == 0 {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// One pass over the user's things; `None` when the deadline came first.
async fn purge_pass(
    repo: &Repository,
    photos: Option<&Photos>,
    purge: &Purge,
    deadline: Option<Instant>,
) -> Result<Option<u64>, StoreError> {
    let mine = |author: &UserId| {
        if author == &purge.id {
            Ok(())
        } else {
            Err(Skip::NotMine)
        }
    };
    let articles = ArticleFilter {
        tag: None,
        author: Some(purge.id.clone()),
    };
    let reviews = ReviewFilter::Author(purge.id.clone());
    let (articles, reviews, mine) = (&articles, &reviews, &mine);
    let read = |page: Window| async move { repo.list_articles(articles, &page).await };
    let delete = |article: ArticleSummary| async move {
        removed(
            repo.delete_article(&article.slug, |a| mine(&a.summary.author))
                .await,
        )
    };
    let Some(articles) = remove_listed(deadline, read, delete).await? else {
        return Ok(None);
    };
    let read = |page: Window| async move { repo.list_reviews(reviews, &page).await };
    let delete = |review: ReviewSummary| async move {
        removed(purge_review(repo, photos, &review.id, mine).await)
    };
    let Some(reviews) = remove_listed(deadline, read, delete).await? else {
        return Ok(None);
    };
    // Ratings are the owner's (keyed by `sub`); a profile that was never
    // handed over has none.
    let ratings = match purge.owner.as_deref() {
        None => 0,
        Some(owner) => {
            let read = |page: Window| async move { repo.rated_by(owner, &page).await };
            let delete = |subject: Subject| async move { repo.unrate(&subject, owner).await };
            let Some(ratings) = remove_listed(deadline, read, delete).await? else {
                return Ok(None);
            };
            ratings
        }
    };
    Ok(Some(articles + reviews + ratings))
}

/// Reads a list page after page with `read` and `remove`s each thing on it.
/// How many were removed, or `None` when the deadline came first.
async fn remove_listed<T, Read, Remove>(
    deadline: Option<Instant>,
    read: impl Fn(Window) -> Read,
    remove: impl Fn(T) -> Remove,
) -> Result<Option<u64>, StoreError>
where
    Read: Future<Output = Result<Page<T>, StoreError>>,
    Remove: Future<Output = Result<bool, StoreError>>,
{
    let mut page = Window::first(BATCH);
    let mut removed = 0;
    loop {
        let found = read(page.clone()).await?;
        for thing in found.items {
            if out_of_time(deadline) {
                return Ok(None);
            }
            removed += u64::from(remove(thing).await?);
        }
        let Some(next) = found.next else {
            return Ok(Some(removed));
        };
        page.start = Some(next);
    }
}

/// Deletes a review's photo objects, then the review: a run stopped between
/// the two finds the review still there and deletes its objects again.
/// `None` when the review is gone already.
async fn purge_review(
    repo: &Repository,
    photos: Option<&Photos>,
    id: &ReviewId,
    mine: &impl Fn(&UserId) -> Result<(), Skip>,
) -> Result<Option<()>, Skip> {
    let Some(record) = repo.stored_review(id).await? else {
        return Ok(None);
    };
    mine(&record.review.author)?;
    let mut deleted = Vec::new();
    if let Some(photos) = photos {
        for key in photos.keys_of(&record) {
            photos.delete(&key).await?;
            deleted.push(key);
        }
    }
    let Some(last) = repo
        .delete_review(id, |review| mine(&review.author))
        .await?
    else {
        return Ok(None);
    };
    // A photo reserved between the two reads.
    if let Some(photos) = photos {
        for key in photos.keys_of(&last) {
            if !deleted.contains(&key) {
                photos.delete(&key).await?;
            }
        }
    }
    Ok(Some(()))
}

/// Runs the purges still pending (oldest first) to the end: `hdoc-local`'s
/// stand-in for the stream that drives them in AWS.
pub async fn purge_pending(repo: &Repository, photos: Option<&Photos>) -> Result<u64, StoreError> {
    let mut purged = 0;
    loop {
        let pending = repo.pending_purges(BATCH).await?;
        if pending.is_empty() {
            return Ok(purged);
        }
        for purge in &pending {
            purge_user(repo, photos, purge, None).await?;
            purged += 1;
        }
    }
}

/// Runs the reconcile job until `deadline`: resumes the run in progress, or
/// starts one (after setting stalled deletions going again), and walks the
/// table a stretch of `stretch` items at a time, saving its place after
/// each. At least one stretch is walked per invocation, so every invocation
/// moves the run on. When the deadline comes first the checkpoint is marked
/// for handoff (in AWS the table's stream starts the next invocation).
/// When the walk is done, the run's figures are logged as metrics.
pub async fn reconcile(
    repo: &Repository,
    deadline: Option<Instant>,
    stretch: u32,
) -> Result<Progress<Run>, StoreError> {
    let stored = repo.reconcile_checkpoint().await?;
    let mut checkpoint = match &stored {
        Some(checkpoint) if checkpoint.phase != Phase::Done => checkpoint.clone(),
        _ => {
            let started = Timestamp::now();
            let mut fresh = Checkpoint::fresh(stored.as_ref(), started.as_str().to_owned());
            fresh.run.purges_resumed = resume_stalled_purges(repo, &started).await?;
            fresh
        }
    };
    checkpoint.run.slices += 1;
    if !repo
        .save_checkpoint(&mut checkpoint, Phase::Running)
        .await?
    {
        return Ok(Progress::Paused);
    }
    loop {
        let walked = repo
            .reconcile_stretch(checkpoint.run.next.clone(), stretch)
            .await?;
        checkpoint.run.add(walked);
        let phase = if checkpoint.run.next.is_none() {
            checkpoint.run.finished_at = Some(Timestamp::now().as_str().to_owned());
            Phase::Done
        } else if out_of_time(deadline) {
            Phase::Handoff
        } else {
            Phase::Running
        };
        if !repo.save_checkpoint(&mut checkpoint, phase).await? {
            return Ok(Progress::Paused);
        }
        match phase {
            Phase::Done => {
                log_metrics(&checkpoint.run);
                return Ok(Progress::Done(checkpoint.run));
            }
            Phase::Handoff => return Ok(Progress::Paused),
            Phase::Running => {}
        }
    }
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
