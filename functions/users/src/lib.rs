//! `/users`: profiles, one per caller, keyed by GitHub username.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use hdoc_shared::domain::{
    NewUser, ProgressChanges, Timestamp, User, UserChanges, UserId, UserOrder,
};
use hdoc_shared::http::{Route, created};
use hdoc_shared::{ApiError, AppState, Caller, JsonBody, PageLimits, Path, Query, Result};
use serde::Deserialize;

const PAGE: PageLimits = PageLimits {
    default: 100,
    max: 100,
};

/// The routes this function serves, for `template.yaml` and its tests.
pub const ROUTES: &[Route] = &[
    Route::public("GET", "/users"),
    Route::caller("POST", "/users"),
    Route::public("GET", "/users/{id}"),
    Route::caller("PUT", "/users/{id}"),
    Route::caller("DELETE", "/users/{id}"),
];

/// The router for [`ROUTES`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/{id}", get(show).put(update).delete(remove))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    order: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// `GET /users?order=oldest|newest`: oldest profile first unless asked otherwise.
#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    uri: Uri,
    Query(q): Query<ListQuery>,
) -> Result<Response> {
    let order = UserOrder::parse(q.order.as_deref())
        .map_err(|message| ApiError::invalid("order", message))?;
    let page = state.page(order.list(), q.limit.as_deref(), q.cursor.as_deref(), PAGE)?;
    let users = state.repo.list_users(order, &page).await?;
    Ok(state.page_response(&uri, &page, users))
}

/// Refuses a non-admin's body that sets scores, streaks or progress: 403
/// naming the fields.
fn admin_only(caller: &Caller, progress: ProgressChanges) -> Result<()> {
    let fields = progress.fields();
    if fields.is_empty() || caller.admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "only admins set {}",
            fields.join(", ")
        )))
    }
}

/// `GET /users/{id}`.
#[tracing::instrument(skip_all, fields(id))]
async fn show(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<User>> {
    let id = UserId::from_path(&id)?;
    Ok(Json(state.repo.user(&id).await?.user))
}

/// `POST /users`: the caller's own profile.
#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(new): JsonBody<NewUser>,
) -> Result<Response> {
    admin_only(&caller, new.progress())?;
    let user = state
        .repo
        .create_user(&caller.sub, new.into_user(Timestamp::now()))
        .await?;
    let location = format!("/users/{}", user.id.as_str());
    Ok(created(location, user))
}

/// `PUT /users/{id}`: a partial update by the owner or an admin.
#[tracing::instrument(skip_all)]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(changes): JsonBody<UserChanges>,
) -> Result<Json<User>> {
    let id = UserId::from_path(&id)?;
    admin_only(&caller, changes.progress())?;
    let user = state
        .repo
        .update_user(&id, |record| {
            if !caller.may_change(&record.owner) {
                return Err(ApiError::Forbidden(
                    "only the owner or an admin may change a user".into(),
                ));
            }
            changes.apply(&mut record.user, Timestamp::now());
            Ok(())
        })
        .await?;
    Ok(Json(user))
}

/// `DELETE /users/{id}`: by the owner or an admin. The profile is gone from
/// every read at once; everything the user owned (articles, reviews and their
/// photos, ratings) is then purged by `hdoc_shared::jobs::purge_user`, which
/// the table's stream starts in AWS (`src/bin/purge-user.rs`).
#[tracing::instrument(skip_all)]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id = UserId::from_path(&id)?;
    state
        .repo
        .delete_user(&id, |record| {
            if caller.may_change(&record.owner) {
                Ok(())
            } else {
                Err(ApiError::Forbidden(
                    "only the owner or an admin may delete a user".into(),
                ))
            }
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
