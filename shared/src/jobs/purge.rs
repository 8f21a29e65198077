//! The purge of a deleted user: [`purge_user`] removes everything the user
//! owned. In AWS the table's stream starts it when a profile becomes a
//! tombstone (`users::purge_deleted`); `hdoc-local` runs it after each
//! deletion and at start. It stops at a deadline (Lambda's time limit) and
//! marks the tombstone for another round, which the stream carries to the
//! next invocation. The design is in `docs/deletion.md`.

use super::{Ended, out_of_time};
use crate::domain::{ArticleSummary, ReviewId, ReviewSummary, Subject, Timestamp, UserId};
use crate::page::{Page, Window};
use crate::store::{ArticleFilter, Photos, Purge, Repository, ReviewFilter, StoreError};
use crate::telemetry::emf;
use std::time::{Duration, Instant};

/// How long after a deletion the purge's last pass may start. Its lists are
/// read through eventually consistent queries and an index; by then every
/// write that was accepted before the deletion shows in them, and writes after
/// it are refused (see `live_profile` and `caller_not_deleting` in the store).
pub const SETTLE: Duration = Duration::from_secs(2);

/// How many of a user's things one query of the purge fetches.
pub(super) const BATCH: u32 = 100;

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
/// tombstone and the claim go. `Finished(n)` or `Paused(n)`: `n` things
/// removed by this invocation.
pub async fn purge_user(
    repo: &Repository,
    photos: Option<&Photos>,
    purge: &Purge,
    deadline: Option<Instant>,
) -> Result<Ended<u64>, StoreError> {
    let settled = Timestamp::after(&purge.deleted_at, SETTLE);
    let mut removed = 0;
    loop {
        let pass_started = Timestamp::now();
        let Some(found) = purge_pass(repo, photos, purge, deadline).await? else {
            repo.continue_purge(purge).await?;
            return Ok(Ended::Paused(removed));
        };
        removed += found;
        if found == 0 && pass_started >= settled {
            repo.finish_purge(purge).await?;
            tracing::info!(id = purge.id.as_str(), removed, "user purged");
            emf::emit(&[(emf::USERS_PURGED, 1), (emf::THINGS_PURGED, removed)]);
            return Ok(Ended::Finished(removed));
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
