//! The `github` Lambda function: GitHub's push webhook behind API Gateway
//! (a public route: GitHub signs its deliveries, it has no JWT).

use activity::github::GitHub;
use hdoc_shared::http::WarmUp;

#[tokio::main]
async fn main() -> Result<(), hdoc_shared::http::LambdaError> {
    // GitHub with the token Init read (the webhook's secret is in the state's config).
    let routes = |state: &hdoc_shared::AppState| {
        github::routes().layer(axum::Extension(GitHub::new(&state.config)))
    };
    hdoc_shared::http::run_lambda_from(routes, WarmUp::GetItem).await
}
