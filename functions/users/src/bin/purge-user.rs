//! The `purge-user` Lambda function: the table's stream reports each profile
//! that became a tombstone (`DELETE /users/{id}`), and [`users::purge_deleted`]
//! purges the user's things.

use hdoc_shared::http::WarmUp;
use hdoc_shared::{AppState, jobs};
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use std::time::Duration;

/// Time kept back from Lambda's limit to mark the purge for another round.
const MARGIN: Duration = Duration::from_secs(20);

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    hdoc_shared::telemetry::init();
    let state = &AppState::from_env().with_photos();
    state.warm_up(WarmUp::GetItem).await;
    lambda_runtime::run(service_fn(|event: LambdaEvent<_>| async move {
        let deadline = jobs::deadline(event.context.deadline(), MARGIN);
        users::purge_deleted(state, &event.payload, Some(deadline)).await?;
        Ok::<_, lambda_runtime::Error>(())
    }))
    .await
}
