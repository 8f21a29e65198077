//! The `activity` Lambda function (see the crate's `lib.rs`): an hourly
//! schedule invokes it; each invocation resumes the run in progress, or
//! starts one, and stops a minute before its time limit, at a rate limit, or
//! when GitHub cannot be reached. The event itself is not read.

use activity::github::GitHub;
use hdoc_shared::http::WarmUp;
use hdoc_shared::{AppState, jobs};
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use std::time::Duration;

/// Time kept back from Lambda's limit to save the checkpoint: the journeyer
/// in hand may take three GitHub requests of up to 10 s each.
const MARGIN: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    hdoc_shared::telemetry::init();
    let state = &AppState::from_env();
    state.warm_up(WarmUp::GetItem).await;
    let github = &GitHub::new(&state.config);
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<serde_json::Value>| async move {
            let deadline = jobs::deadline(event.context.deadline(), MARGIN);
            Box::pin(activity::handle(state, github, Some(deadline))).await?;
            Ok::<_, lambda_runtime::Error>(())
        },
    ))
    .await
}
