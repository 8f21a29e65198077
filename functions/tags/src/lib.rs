//! `/tags`: how many articles carry each tag, most first.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use hdoc_shared::domain::{Tag, TagCount};
use hdoc_shared::http::Route;
use hdoc_shared::{AppState, Id, PageLimits, PageQuery, Result};

const PAGE: PageLimits = PageLimits {
    default: 100,
    max: 100,
};

/// The routes this function serves, for `template.yaml` and its tests.
pub const ROUTES: &[Route] = &[
    Route::public("GET", "/tags"),
    Route::public("GET", "/tags/{tag}"),
];

/// The router for [`ROUTES`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tags", get(list))
        .route("/tags/{tag}", get(show))
}

/// `GET /tags?limit=N`: a page of tags by count (100 without `limit`), with
/// `Link: rel="next"` when more exist, like every other list.
#[tracing::instrument(skip_all)]
async fn list(State(state): State<AppState>, uri: Uri, query: PageQuery) -> Result<Response> {
    let page = state.page("tags", &query, PAGE)?;
    let tags = state.repo.top_tags(&page.window).await?;
    Ok(state.page_response(&uri, &page, tags))
}

/// `GET /tags/{tag}`: `{"tag", "count"}`, or 404 when no article carries it.
#[tracing::instrument(skip_all)]
async fn show(State(state): State<AppState>, Id(tag): Id<Tag>) -> Result<Json<TagCount>> {
    Ok(Json(state.repo.tag_count(&tag).await?))
}
