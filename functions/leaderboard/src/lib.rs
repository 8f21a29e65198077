//! `/leaderboard`: users by total score, from one Query on a sparse index.

use axum::Router;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use hdoc_shared::http::Route;
use hdoc_shared::{AppState, PageLimits, Query, Result};
use serde::Deserialize;

const PAGE: PageLimits = PageLimits {
    default: 10,
    max: 100,
};

/// The routes this function serves, for `template.yaml` and its tests.
pub const ROUTES: &[Route] = &[Route::public("GET", "/leaderboard")];

/// The router for [`ROUTES`].
pub fn routes() -> Router<AppState> {
    Router::new().route("/leaderboard", get(top))
}

#[derive(Debug, Deserialize)]
struct TopQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

/// `GET /leaderboard`: highest total first, ties by id, ranked from 1.
#[tracing::instrument(skip_all)]
async fn top(
    State(state): State<AppState>,
    uri: Uri,
    Query(q): Query<TopQuery>,
) -> Result<Response> {
    let page = state.page("leaderboard", q.limit.as_deref(), q.cursor.as_deref(), PAGE)?;
    let ranked = state.repo.top_scores(&page).await?;
    Ok(state.page_response(&uri, &page, ranked))
}
