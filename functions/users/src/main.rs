//! The `users` Lambda function: its routes behind API Gateway.

use activity::github::GitHub;
use hdoc_shared::http::WarmUp;

#[tokio::main]
async fn main() -> Result<(), hdoc_shared::http::LambdaError> {
    // The verification check reads the journey repository on GitHub.
    let github = GitHub::new(&hdoc_shared::Config::from_env());
    let routes = users::routes().layer(axum::Extension(github));
    hdoc_shared::http::run_lambda(routes, WarmUp::GetItem).await
}
