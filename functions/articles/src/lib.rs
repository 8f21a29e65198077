//! `/articles`: articles by callers with a profile, listed newest first.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use hdoc_shared::domain::{Article, ArticleChanges, NewArticle, Slug, Tag, Timestamp, UserId};
use hdoc_shared::http::{Route, created};
use hdoc_shared::store::ArticleFilter;
use hdoc_shared::{ApiError, AppState, Caller, JsonBody, PageLimits, Path, Query, Result};
use serde::Deserialize;

const PAGE: PageLimits = PageLimits {
    default: 100,
    max: 100,
};

/// The routes this function serves, for `template.yaml` and its tests.
pub const ROUTES: &[Route] = &[
    Route::public("GET", "/articles"),
    Route::caller("POST", "/articles"),
    Route::public("GET", "/articles/{slug}"),
    Route::caller("PUT", "/articles/{slug}"),
    Route::caller("DELETE", "/articles/{slug}"),
];

/// The router for [`ROUTES`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/articles", get(list).post(create))
        .route("/articles/{slug}", get(show).put(update).delete(remove))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    tag: Option<String>,
    author: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// `GET /articles?tag=T&author=A`: newest first.
#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    uri: Uri,
    Query(q): Query<ListQuery>,
) -> Result<Response> {
    let filter = ArticleFilter {
        tag: q
            .tag
            .as_deref()
            .map(|tag| Tag::from_param("tag", tag))
            .transpose()?,
        author: q
            .author
            .as_deref()
            .map(|author| {
                UserId::parse(author).map_err(|message| ApiError::invalid("author", message))
            })
            .transpose()?,
    };
    let page = state.page(filter.list(), q.limit.as_deref(), q.cursor.as_deref(), PAGE)?;
    let articles = state.repo.list_articles(&filter, &page).await?;
    Ok(state.page_response(&uri, &page, articles))
}

/// `GET /articles/{slug}`.
#[tracing::instrument(skip_all)]
async fn show(State(state): State<AppState>, Path(slug): Path<String>) -> Result<Json<Article>> {
    let slug = Slug::from_path(&slug)?;
    Ok(Json(state.repo.article(&slug).await?.article))
}

/// Whether `caller` (whose profile is `me`) may change `article`.
fn may_change(caller: &Caller, me: Option<&UserId>, article: &Article) -> Result<()> {
    let is_author = me.is_some_and(|me| me.key() == article.summary.author.key());
    if caller.admin || is_author {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only the author or an admin may change an article".into(),
        ))
    }
}

/// `POST /articles`: the slug comes from the title and is made unique.
#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(new): JsonBody<NewArticle>,
) -> Result<Response> {
    let author = state.repo.writer(&caller.sub).await?;
    let slug = Slug::from_title(new.title.as_str());
    let article = state
        .repo
        .create_article(new.into_article(slug, author, Timestamp::now()))
        .await?;
    let location = format!("/articles/{}", article.summary.slug.as_str());
    Ok(created(location, article))
}

/// `PUT /articles/{slug}`: a partial update by the author or an admin.
#[tracing::instrument(skip_all)]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    JsonBody(changes): JsonBody<ArticleChanges>,
) -> Result<Json<Article>> {
    let slug = Slug::from_path(&slug)?;
    let me = state.repo.profile_of(&caller.sub).await?;
    let article = state
        .repo
        .update_article(&slug, |article| {
            may_change(&caller, me.as_ref(), article)?;
            changes.apply(article, Timestamp::now());
            Ok(())
        })
        .await?;
    Ok(Json(article))
}

/// `DELETE /articles/{slug}`: by the author or an admin.
#[tracing::instrument(skip_all)]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> Result<StatusCode> {
    let slug = Slug::from_path(&slug)?;
    let me = state.repo.profile_of(&caller.sub).await?;
    state
        .repo
        .delete_article(&slug, |article| may_change(&caller, me.as_ref(), article))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
