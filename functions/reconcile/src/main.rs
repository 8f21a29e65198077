//! The `reconcile` Lambda function: recounts every aggregate and repairs
//! drift (`hdoc_shared::jobs::reconcile`). A daily schedule starts a run;
//! when a run outlasts an invocation, the checkpoint it hands off comes back
//! through the table's stream and the next invocation goes on from there.
//! The event itself is not read: every invocation resumes or starts the run.

use hdoc_shared::{AppState, jobs};
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use std::time::Duration;

/// Time kept back from Lambda's limit to save the checkpoint.
const MARGIN: Duration = Duration::from_secs(30);

async fn handle(
    state: &AppState,
    event: LambdaEvent<serde_json::Value>,
) -> Result<(), lambda_runtime::Error> {
    let deadline = jobs::deadline(event.context.deadline(), MARGIN);
    let stage = &state.config.stage;
    let progress = jobs::reconcile(&state.repo, Some(deadline), jobs::STRETCH, stage).await?;
    tracing::info!(?progress, "reconcile invocation ended");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    hdoc_shared::telemetry::init();
    let state = AppState::from_env().await;
    lambda_runtime::run(service_fn(|event| handle(&state, event))).await
}
