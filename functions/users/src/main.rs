//! The `users` Lambda function: its routes behind API Gateway.

use activity::github::GitHub;
use hdoc_shared::http::WarmUp;

#[tokio::main]
async fn main() -> Result<(), hdoc_shared::http::LambdaError> {
    // The verification check reads the journey repository on GitHub, with
    // the token Init read.
    let routes = |state: &hdoc_shared::AppState| {
        users::routes().layer(axum::Extension(GitHub::new(&state.config)))
    };
    hdoc_shared::http::run_lambda_from(routes, WarmUp::GetItem).await
}
