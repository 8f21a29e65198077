//! The `reconcile` function: recounts every aggregate and repairs drift
//! (`hdoc_shared::jobs::reconcile`). A daily schedule starts a run; when a
//! run outlasts an invocation, the checkpoint it hands off comes back through
//! the table's stream and the next invocation goes on from there. The event
//! itself is not read: every invocation resumes or starts the run.

use hdoc_shared::AppState;
use hdoc_shared::jobs::{self, Ended};
use hdoc_shared::store::{Run, StoreError};
use std::time::Instant;

/// One invocation: walks the table until the run ends or `deadline` comes.
pub async fn handle(state: &AppState, deadline: Option<Instant>) -> Result<Ended<Run>, StoreError> {
    let ended = jobs::reconcile(&state.repo, deadline, jobs::STRETCH).await?;
    tracing::info!(?ended, "reconcile invocation ended");
    Ok(ended)
}
