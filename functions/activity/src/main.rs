//! The `activity` Lambda function (see the crate's `lib.rs`): an hourly
//! schedule invokes it; each invocation resumes the run in progress, or
//! starts one, and stops a minute before its time limit, at a rate limit, or
//! when GitHub cannot be reached. The event itself is not read.

use activity::github::GitHub;
use std::time::Duration;

/// Time kept back from Lambda's limit to save the checkpoint: the journeyer
/// in hand may take three GitHub requests of up to 10 s each.
const MARGIN: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> Result<(), hdoc_shared::http::LambdaError> {
    let github = |state: &hdoc_shared::AppState| GitHub::new(&state.config);
    hdoc_shared::http::run_event_lambda(
        false,
        MARGIN,
        github,
        |state, github, _: serde_json::Value, deadline| async move {
            activity::handle(state, github, Some(deadline))
                .await
                .map(drop)
        },
    )
    .await
}
