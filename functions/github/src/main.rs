//! The `github` Lambda function: GitHub's push webhook behind API Gateway
//! (a public route: GitHub signs its deliveries, it has no JWT).

use activity::github::GitHub;
use hdoc_shared::http::WarmUp;

#[tokio::main]
async fn main() -> Result<(), hdoc_shared::http::LambdaError> {
    let github = GitHub::new(&hdoc_shared::Config::from_env());
    let routes = github::routes().layer(axum::Extension(github));
    hdoc_shared::http::run_lambda(routes, WarmUp::GetItem).await
}
