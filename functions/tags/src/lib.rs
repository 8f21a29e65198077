//! `/tags`: how many articles carry each tag, most first.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hdoc_shared::domain::{Tag, TagCount};
use hdoc_shared::http::Route;
use hdoc_shared::{AppState, PageLimits, Path, Query, Result};
use serde::Deserialize;

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

#[derive(Debug, Deserialize)]
struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

/// `GET /tags?limit=N`: a page of tags by count. Without `limit` or `cursor`,
/// every tag, read a page at a time.
#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    uri: Uri,
    Query(q): Query<ListQuery>,
) -> Result<Response> {
    let mut page = state.page("tags", q.limit.as_deref(), q.cursor.as_deref(), PAGE)?;
    if q.limit.is_some() || q.cursor.is_some() {
        let tags = state.repo.top_tags(&page).await?;
        return Ok(state.page_response(&uri, &page, tags));
    }
    let mut all = Vec::new();
    loop {
        let tags = state.repo.top_tags(&page).await?;
        all.extend(tags.items);
        match tags.next {
            Some(next) => page.start = Some(next),
            None => return Ok(Json(all).into_response()),
        }
    }
}

/// `GET /tags/{tag}`: `{"tag", "count"}`, or 404 when no article carries it.
#[tracing::instrument(skip_all)]
async fn show(State(state): State<AppState>, Path(tag): Path<String>) -> Result<Json<TagCount>> {
    let tag = Tag::from_param("tag", &tag)?;
    Ok(Json(state.repo.tag_count(&tag).await?))
}
