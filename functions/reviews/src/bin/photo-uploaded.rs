//! The `photo-uploaded` Lambda function: S3 reports each new object in the
//! photo bucket, and the photo joins its review.

use aws_lambda_events::s3::S3Event;
use hdoc_shared::AppState;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

async fn handle(
    state: &AppState,
    event: LambdaEvent<S3Event>,
) -> Result<(), lambda_runtime::Error> {
    let keys = event
        .payload
        .records
        .into_iter()
        .filter_map(|record| record.s3.object.url_decoded_key);
    Ok(reviews::photos_uploaded(state, keys).await?)
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    hdoc_shared::telemetry::init();
    let state = AppState::from_env().await;
    // Joining a photo needs only the table; no S3 client is built.
    lambda_runtime::run(service_fn(|event| handle(&state, event))).await
}
