//! The background jobs, run by the same code in Lambda and in `hdoc-local`:
//!
//! | file | holds |
//! |---|---|
//! | `runner.rs` | [`walk`]: the one runner of the jobs that keep a checkpoint (reconcile, the GitHub job) |
//! | `reconcile.rs` | [`reconcile`]: recounts every aggregate and repairs drift |
//! | `purge.rs` | [`purge_user`]: removes everything a deleted user owned |
//!
//! Every job stops at a deadline (Lambda's time limit) and leaves a mark in
//! the table that makes the next invocation go on where it stopped, and
//! answers how the invocation [`Ended`].

mod purge;
mod reconcile;
mod runner;

pub use purge::{SETTLE, purge_pending, purge_user};
pub use reconcile::{STRETCH, reconcile};
pub use runner::{Stretch, Walk, walk};

use std::time::{Duration, Instant};

/// How an invocation of a job ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended<T> {
    /// The job is finished: what its run did.
    Finished(T),
    /// It stopped before the end (its deadline, a rate limit): the next
    /// invocation goes on from the mark it left in the table. What it did
    /// so far.
    Paused(T),
    /// Another invocation holds the job: this one did nothing.
    Held,
}

/// When a job in Lambda must stop: `margin` before the invocation's own
/// deadline, leaving time to save where it stands.
pub fn deadline(invocation_deadline: std::time::SystemTime, margin: Duration) -> Instant {
    let left = invocation_deadline
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    Instant::now() + left.saturating_sub(margin)
}

/// Whether `deadline` has come.
pub fn out_of_time(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|deadline| Instant::now() >= deadline)
}
