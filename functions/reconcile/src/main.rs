//! The `reconcile` Lambda function (see the crate's `lib.rs`).

use hdoc_shared::http::WarmUp;
use hdoc_shared::{AppState, jobs};
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use std::time::Duration;

/// Time kept back from Lambda's limit to save the checkpoint.
const MARGIN: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    hdoc_shared::telemetry::init();
    let state = &AppState::from_env();
    state.warm_up(WarmUp::GetItem).await;
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<serde_json::Value>| async move {
            let deadline = jobs::deadline(event.context.deadline(), MARGIN);
            Box::pin(reconcile::handle(state, Some(deadline))).await?;
            Ok::<_, lambda_runtime::Error>(())
        },
    ))
    .await
}
