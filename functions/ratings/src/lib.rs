//! `/ratings`: one star rating per caller and subject, and each subject's summary.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use hdoc_shared::domain::{RatingRequest, Stars, Subject, SubjectSummary};
use hdoc_shared::http::Route;
use hdoc_shared::store::{Missing, StoreError};
use hdoc_shared::telemetry::{self, emf};
use hdoc_shared::{AppState, Caller, Id, JsonBody, Result};
use serde::Serialize;

/// The routes this function serves, for `template.yaml` and its tests.
pub const ROUTES: &[Route] = &[
    Route::public("GET", "/ratings/{subject}"),
    Route::caller("PUT", "/ratings/{subject}"),
    Route::caller("DELETE", "/ratings/{subject}"),
    Route::caller("GET", "/ratings/{subject}/mine"),
];

/// The router for [`ROUTES`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ratings/{subject}", get(summary).put(rate).delete(unrate))
        .route("/ratings/{subject}/mine", get(mine))
}

#[derive(Serialize)]
struct Rating {
    subject: Subject,
    stars: Stars,
}

#[derive(Serialize)]
struct Rated {
    subject: Subject,
    stars: Stars,
    summary: SubjectSummary,
}

/// `GET /ratings/{subject}`: the summary; an unknown subject has a zero summary.
#[tracing::instrument(skip_all)]
async fn summary(
    State(state): State<AppState>,
    Id(subject): Id<Subject>,
) -> Result<Json<SubjectSummary>> {
    Ok(Json(state.repo.summary(&subject).await?))
}

/// `PUT /ratings/{subject}`: sets the caller's rating, replacing an earlier one.
#[tracing::instrument(skip_all)]
async fn rate(
    State(state): State<AppState>,
    caller: Caller,
    Id(subject): Id<Subject>,
    JsonBody(request): JsonBody<RatingRequest>,
) -> Result<Json<Rated>> {
    state
        .repo
        .rate(&subject, &caller.sub, request.stars)
        .await?;
    telemetry::count(emf::RATINGS_SET, 1);
    let summary = state.repo.summary_after_rating(&subject).await?;
    Ok(Json(Rated {
        subject,
        stars: request.stars,
        summary,
    }))
}

/// `GET /ratings/{subject}/mine`: the caller's own rating, or 404.
#[tracing::instrument(skip_all)]
async fn mine(
    State(state): State<AppState>,
    caller: Caller,
    Id(subject): Id<Subject>,
) -> Result<Json<Rating>> {
    match state.repo.rating(&subject, &caller.sub).await? {
        Some(stars) => Ok(Json(Rating { subject, stars })),
        None => Err(StoreError::NotFound(Missing::Rating(subject)).into()),
    }
}

/// `DELETE /ratings/{subject}`: removes the caller's rating; 404 if there was none.
#[tracing::instrument(skip_all)]
async fn unrate(
    State(state): State<AppState>,
    caller: Caller,
    Id(subject): Id<Subject>,
) -> Result<StatusCode> {
    if state.repo.unrate(&subject, &caller.sub).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(StoreError::NotFound(Missing::Rating(subject)).into())
    }
}
