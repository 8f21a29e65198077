//! The Lambda entry point of an HTTP function: the whole of its `main`,
//! apart from naming its routes.

use super::{AppState, app};
use axum::Router;

/// The error a Lambda `main` returns.
pub use lambda_http::Error as LambdaError;

/// Runs `routes` as a Lambda function behind API Gateway.
pub async fn run_lambda(routes: Router<AppState>) -> Result<(), LambdaError> {
    crate::telemetry::init();
    lambda_http::run(app(routes, AppState::from_env().await)).await
}

/// [`run_lambda`] for a function that also handles photos (`HDOC_BUCKET`).
pub async fn run_lambda_with_photos(routes: Router<AppState>) -> Result<(), LambdaError> {
    crate::telemetry::init();
    let state = AppState::from_env().await.with_photos();
    lambda_http::run(app(routes, state)).await
}
