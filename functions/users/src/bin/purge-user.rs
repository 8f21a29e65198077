//! The `purge-user` Lambda function: the table's stream reports each profile
//! that became a tombstone (`DELETE /users/{id}`), and [`users::purge_deleted`]
//! purges the user's things.

use std::time::Duration;

/// Time kept back from Lambda's limit to mark the purge for another round.
const MARGIN: Duration = Duration::from_secs(20);

#[tokio::main]
async fn main() -> Result<(), hdoc_shared::http::LambdaError> {
    hdoc_shared::http::run_event_lambda(
        true,
        MARGIN,
        |_| (),
        |state, _, event, deadline| async move {
            users::purge_deleted(state, &event, Some(deadline)).await
        },
    )
    .await
}
