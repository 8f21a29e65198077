//! `/leaderboard`: users by total score, from one Query on a sparse index.

use axum::Router;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use hdoc_shared::http::Route;
use hdoc_shared::{AppState, PageLimits, PageQuery, Result};

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

/// `GET /leaderboard`: highest total first, ties by id, ranked from 1.
#[tracing::instrument(skip_all)]
async fn top(State(state): State<AppState>, uri: Uri, query: PageQuery) -> Result<Response> {
    let page = state.page("leaderboard", &query, PAGE)?;
    let ranked = state.repo.top_scores(&page.window).await?;
    Ok(state.page_response(&uri, &page, ranked))
}
