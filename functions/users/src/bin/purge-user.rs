//! The `purge-user` Lambda function. The table's stream reports each profile
//! that became a tombstone (`DELETE /users/{id}`), or whose purge was marked
//! for another round, and the user's things are purged until none is left.

use hdoc_shared::{AppState, jobs};
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use serde::Deserialize;
use std::time::Duration;

/// The part of a DynamoDB stream event this function reads: each record's key.
#[derive(Debug, Deserialize)]
struct StreamEvent {
    #[serde(rename = "Records", default)]
    records: Vec<StreamRecord>,
}

#[derive(Debug, Deserialize)]
struct StreamRecord {
    dynamodb: Change,
}

#[derive(Debug, Deserialize)]
struct Change {
    #[serde(rename = "Keys")]
    keys: Keys,
}

#[derive(Debug, Deserialize)]
struct Keys {
    #[serde(rename = "PK")]
    pk: StringValue,
}

#[derive(Debug, Deserialize)]
struct StringValue {
    #[serde(rename = "S")]
    s: String,
}

/// Time kept back from Lambda's limit to mark the purge for another round.
const MARGIN: Duration = Duration::from_secs(20);

async fn handle(
    state: &AppState,
    event: LambdaEvent<StreamEvent>,
) -> Result<(), lambda_runtime::Error> {
    let deadline = jobs::deadline(event.context.deadline(), MARGIN);
    for record in event.payload.records {
        // The stream may replay a record whose purge has finished since.
        if let Some(purge) = state.repo.purge_at(&record.dynamodb.keys.pk.s).await? {
            let photos = state.photos().ok();
            let progress = jobs::purge_user(&state.repo, photos, &purge, Some(deadline)).await?;
            tracing::info!(id = purge.id.as_str(), ?progress, "purge invocation ended");
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    hdoc_shared::telemetry::init();
    let state = AppState::from_env().await.with_photos().await;
    lambda_runtime::run(service_fn(|event| handle(&state, event))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_event_file_names_the_tombstone() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../events/purge-user-stream.json"
        );
        let text = std::fs::read_to_string(path).expect("events/purge-user-stream.json");
        let event: StreamEvent = serde_json::from_str(&text).expect("a stream event");
        let keys: Vec<&str> = event
            .records
            .iter()
            .map(|r| r.dynamodb.keys.pk.s.as_str())
            .collect();
        assert_eq!(keys, ["USER#alice"]);
    }
}
