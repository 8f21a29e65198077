//! The `photo-uploaded` Lambda function: S3 reports each new object in the
//! photo bucket, and [`reviews::on_s3_event`] joins each photo to its review,
//! or deletes an upload no review awaits (so it needs the bucket too).

use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), hdoc_shared::http::LambdaError> {
    hdoc_shared::http::run_event_lambda(
        true,
        Duration::ZERO,
        |_| (),
        |state, _, event, _| reviews::on_s3_event(state, event),
    )
    .await
}
