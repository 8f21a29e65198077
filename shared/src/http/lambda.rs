//! The Lambda entry point of an HTTP function: the whole of its `main`,
//! apart from naming its routes.

use super::{AppState, WarmUp, app};
use axum::Router;

/// The error a Lambda `main` returns.
pub use lambda_http::Error as LambdaError;

/// Runs `routes` as a Lambda function behind API Gateway, its DynamoDB
/// connection opened during Init by `warm_up`.
pub async fn run_lambda(routes: Router<AppState>, warm_up: WarmUp) -> Result<(), LambdaError> {
    crate::telemetry::init();
    let state = AppState::from_env();
    state.warm_up(warm_up).await;
    lambda_http::run(app(routes, state)).await
}

/// [`run_lambda`] for a function that also handles photos (`HDOC_BUCKET`).
pub async fn run_lambda_with_photos(
    routes: Router<AppState>,
    warm_up: WarmUp,
) -> Result<(), LambdaError> {
    crate::telemetry::init();
    let state = AppState::from_env().with_photos();
    state.warm_up(warm_up).await;
    lambda_http::run(app(routes, state)).await
}
