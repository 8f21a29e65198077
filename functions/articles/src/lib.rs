//! `/articles`: articles by callers with a profile, listed newest first.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use hdoc_shared::domain::{Article, ArticleChanges, NewArticle, Slug, Tag, Timestamp, UserId};
use hdoc_shared::http::Route;
use hdoc_shared::store::{Answer, ArticleFilter, Missing, StoreError};
use hdoc_shared::telemetry::{self, emf};
use hdoc_shared::{
    ApiError, AppState, Caller, Create, CursorScope, Id, JsonBody, PageLimits, PageQuery, Query,
    Result, create_once,
};
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
    tag: Option<Tag>,
    author: Option<UserId>,
}

/// `GET /articles?tag=T&author=A`: summaries, newest first.
#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    uri: Uri,
    Query(ListQuery { tag, author }): Query<ListQuery>,
    page: PageQuery,
) -> Result<Response> {
    let filter = ArticleFilter { tag, author };
    let page = state.page(filter.cursor_scope(), &page, PAGE)?;
    let articles = state.repo.list_articles(&filter, &page.window).await?;
    Ok(state.page_response(&uri, &page, articles))
}

/// `GET /articles/{slug}`.
#[tracing::instrument(skip_all)]
async fn show(State(state): State<AppState>, Id(slug): Id<Slug>) -> Result<Json<Article>> {
    Ok(Json(state.repo.article(&slug).await?))
}

/// Whether `caller` (whose profile is `me`) may change `article`.
fn may_change(caller: &Caller, me: Option<&UserId>, article: &Article) -> Result<()> {
    let is_author = me == Some(&article.summary.author);
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
    Create(new, key): Create<NewArticle>,
) -> Result<Response> {
    let answer = |article: &Article| {
        let location = format!("/articles/{}", article.summary.slug.as_str());
        Answer::created(Some(location), article)
    };
    create_once(&state.repo, &caller, key, answer, async |once| {
        let author = state.repo.writer(&caller.sub).await?;
        let slug = Slug::from_title(new.title.as_str());
        let article = new.into_article(slug, author, Timestamp::now_on(&state.config.clock));
        let article = state.repo.create_article(article, once).await?;
        telemetry::count(emf::ARTICLES_CREATED, 1);
        Ok(article)
    })
    .await
}

/// `PUT /articles/{slug}`: a partial update by the author or an admin.
#[tracing::instrument(skip_all)]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(slug): Id<Slug>,
    JsonBody(changes): JsonBody<ArticleChanges>,
) -> Result<Json<Article>> {
    let me = state.repo.profile_of(&caller.sub).await?;
    let article = state
        .repo
        .update_article::<ApiError>(&slug, |article| {
            may_change(&caller, me.as_ref(), article)?;
            changes.apply(article, Timestamp::now_on(&state.config.clock));
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
    Id(slug): Id<Slug>,
) -> Result<StatusCode> {
    let me = state.repo.profile_of(&caller.sub).await?;
    let deleted = state
        .repo
        .delete_article(&slug, |article| may_change(&caller, me.as_ref(), article))
        .await?;
    match deleted {
        Some(_) => Ok(StatusCode::NO_CONTENT),
        None => Err(StoreError::NotFound(Missing::Article(slug)).into()),
    }
}
