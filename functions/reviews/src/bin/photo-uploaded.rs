//! The `photo-uploaded` Lambda function: S3 reports each new object in the
//! photo bucket, and [`reviews::on_s3_event`] joins each photo to its review.

use hdoc_shared::AppState;
use hdoc_shared::http::WarmUp;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    hdoc_shared::telemetry::init();
    // Joining a photo needs only the table; no S3 client is built.
    let state = &AppState::from_env();
    state.warm_up(WarmUp::GetItem).await;
    lambda_runtime::run(service_fn(|event: LambdaEvent<_>| async move {
        // Boxed: the whole chain of store futures is too deep to lay out inline.
        Box::pin(reviews::on_s3_event(state, event.payload)).await?;
        Ok::<_, lambda_runtime::Error>(())
    }))
    .await
}
