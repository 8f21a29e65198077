//! The `reconcile` Lambda function (see the crate's `lib.rs`).

use std::time::Duration;

/// Time kept back from Lambda's limit to save the checkpoint.
const MARGIN: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> Result<(), hdoc_shared::http::LambdaError> {
    hdoc_shared::http::run_event_lambda(
        false,
        MARGIN,
        |_| (),
        |state, _, _: serde_json::Value, deadline| async move {
            reconcile::handle(state, Some(deadline)).await.map(drop)
        },
    )
    .await
}
