//! The Lambda entry point of an HTTP function: the whole of its `main`,
//! apart from naming its routes.

use super::{AppState, WarmUp, app};
use crate::config::Cursors;
use axum::Router;

/// The error a Lambda `main` returns.
pub use lambda_http::Error as LambdaError;

/// Runs `routes` as a Lambda function behind API Gateway, its DynamoDB
/// connection opened during Init by `warm_up`.
pub async fn run_lambda(routes: Router<AppState>, warm_up: WarmUp) -> Result<(), LambdaError> {
    run_lambda_from(|_| routes, warm_up).await
}

/// [`run_lambda`] with routes made from the state Init built, for routes
/// that need what it read (a GitHub client with the token read from
/// Secrets Manager).
pub async fn run_lambda_from(
    routes: impl FnOnce(&AppState) -> Router<AppState>,
    warm_up: WarmUp,
) -> Result<(), LambdaError> {
    crate::telemetry::init();
    let state = AppState::from_env(Cursors::Signed).await?;
    state.warm_up(warm_up).await;
    lambda_http::run(app(routes(&state), state)).await
}

/// [`run_lambda`] for a function that also handles photos (`HDOC_BUCKET`).
pub async fn run_lambda_with_photos(
    routes: Router<AppState>,
    warm_up: WarmUp,
) -> Result<(), LambdaError> {
    crate::telemetry::init();
    let state = AppState::from_env(Cursors::Signed).await?.with_photos();
    state.warm_up(warm_up).await;
    lambda_http::run(app(routes, state)).await
}

/// Runs `handle` as a Lambda function that events invoke (a schedule, the
/// table's stream, S3): the Init of an HTTP function (telemetry, the state
/// with its photo store if `photos`, the warmed DynamoDB connection), then
/// `context` built once from the state, and each event's payload handed to
/// `handle` with the invocation's deadline less `margin` (the time kept back
/// to leave a mark in the table for the next invocation).
pub async fn run_event_lambda<E, C, F, Fut>(
    photos: bool,
    margin: std::time::Duration,
    context: impl FnOnce(&AppState) -> C,
    handle: F,
) -> Result<(), LambdaError>
where
    E: serde::de::DeserializeOwned + Send + 'static,
    C: Sync + 'static,
    F: Fn(&'static AppState, &'static C, E, std::time::Instant) -> Fut,
    Fut: std::future::Future<Output = Result<(), crate::store::StoreError>>,
{
    use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
    crate::telemetry::init();
    // An event function hands out no cursor: it reads no cursor key.
    let mut state = AppState::from_env(Cursors::Unsigned).await?;
    if photos {
        state = state.with_photos();
    }
    state.warm_up(WarmUp::GetItem).await;
    // Built once per process and kept for its life, as Lambda keeps it.
    let state: &'static AppState = Box::leak(Box::new(state));
    let context: &'static C = Box::leak(Box::new(context(state)));
    let handle = &handle;
    lambda_runtime::run(service_fn(|event: LambdaEvent<E>| async move {
        let deadline = crate::jobs::deadline(event.context.deadline(), margin);
        // Boxed: the chains of store futures are too deep to lay out inline.
        Box::pin(handle(state, context, event.payload, deadline)).await?;
        Ok::<_, LambdaError>(())
    }))
    .await
}

/// Runs `handle` as a Lambda function that a service calls and waits on
/// (Cognito's pre token generation trigger): telemetry, the process's SDK
/// configuration (the role's keys and region; no table, no settings of the
/// API's), `context` built once from it, and each event's JSON answered with
/// what `handle` makes of it.
pub async fn run_trigger_lambda<C, F, Fut>(
    context: impl FnOnce(&aws_config::SdkConfig) -> Result<C, String>,
    handle: F,
) -> Result<(), LambdaError>
where
    C: Sync + 'static,
    F: Fn(&'static C, serde_json::Value) -> Fut,
    Fut: std::future::Future<Output = Result<serde_json::Value, LambdaError>>,
{
    use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
    crate::telemetry::init();
    let context: &'static C = Box::leak(Box::new(context(&super::state::lambda_sdk_config())?));
    let handle = &handle;
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<serde_json::Value>| async move { handle(context, event.payload).await },
    ))
    .await
}
