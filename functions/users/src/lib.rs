//! `/users`: profiles, one per caller, keyed by GitHub username; the
//! `purge-user` function, which removes a deleted user's things; and the
//! `pre-token` function, which keeps admin powers from admins without TOTP.

pub mod pre_token;

use activity::github::GitHub;
use activity::journey::check_verification;
use aws_lambda_events::dynamodb::Event as DynamoDbEvent;
use axum::Extension;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::{get, post, put};
use hdoc_shared::domain::{
    JourneyRepo, NewOwner, NewUser, Progress, ProgressChanges, Timestamp, User, UserChanges,
    UserId, UserOrder, Verification, check_repo_owner,
};
use hdoc_shared::http::Route;
use hdoc_shared::http::idempotency::CreateKey;
use hdoc_shared::jobs;
use hdoc_shared::store::{Answer, StoreError};
use hdoc_shared::telemetry::{self, emf};
use hdoc_shared::{
    ApiError, AppState, Caller, Create, CursorScope, Id, JsonBody, PageLimits, PageQuery, Query,
    Result, create_once,
};
use serde::{Deserialize, Serialize};
use serde_dynamo::AttributeValue;

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
    Route::caller("PUT", "/users/{id}/owner"),
    Route::public("GET", "/users/{id}/journey"),
    Route::public("GET", "/users/{id}/badge.svg"),
    Route::caller("POST", "/users/{id}/verification"),
    Route::caller("POST", "/users/{id}/verification/check"),
    Route::caller("GET", "/me"),
];

/// The router for [`ROUTES`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/{id}", get(show).put(update).delete(remove))
        .route("/users/{id}/owner", put(hand_over))
        .route("/users/{id}/journey", get(journey))
        .route("/users/{id}/badge.svg", get(badge))
        .route("/users/{id}/verification", post(new_code))
        .route("/users/{id}/verification/check", post(check_code))
        .route("/me", get(me))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    #[serde(default)]
    order: UserOrder,
}

/// `GET /users?order=oldest|newest`: oldest profile first unless asked otherwise.
#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    uri: Uri,
    Query(ListQuery { order }): Query<ListQuery>,
    page: PageQuery,
) -> Result<Response> {
    let page = state.page(order.cursor_scope(), &page, PAGE)?;
    let users = state.repo.list_users(order, &page.window).await?;
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

/// Refuses scores whose sum `totalScore`, with the `current` ones, would be
/// past what JSON holds exactly: 400 naming the score the body sets.
fn total_fits(progress: ProgressChanges, current: &Progress) -> Result<()> {
    progress
        .check_total(current)
        .map_err(|err| ApiError::invalid(err.field, err.to_string()))
}

/// Refuses a `journeyRepo` whose owner is not the profile `id`: 400 naming
/// the field (only one's own copy of the template counts).
fn own_repo(repo: Option<&JourneyRepo>, id: &UserId) -> Result<()> {
    check_repo_owner(repo, id).map_err(|err| ApiError::invalid("journeyRepo", err.to_string()))
}

/// `GET /users/{id}`.
#[tracing::instrument(skip_all, fields(id))]
async fn show(State(state): State<AppState>, Id(id): Id<UserId>) -> Result<Json<User>> {
    Ok(Json(state.repo.user(&id).await?.user))
}

/// `GET /me`: the caller's own profile (the front end's account menu and
/// settings page), read consistently: a profile just made or changed shows.
/// 404 when the caller has none (or it is being deleted).
#[tracing::instrument(skip_all)]
async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<User>> {
    match state.repo.own_profile(&caller.sub).await? {
        Some(user) => Ok(Json(user)),
        None => Err(ApiError::NotFound(
            "the caller has no profile (POST /users makes one)".into(),
        )),
    }
}

/// `POST /users`: the caller's own profile.
#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Create(new, key): Create<NewUser>,
) -> Result<Response> {
    let answer = |user: &User| Answer::created(Some(format!("/users/{}", user.id.as_str())), user);
    create_once(&state.repo, &caller, key, answer, async |once| {
        admin_only(&caller, new.progress())?;
        total_fits(new.progress(), &Progress::default())?;
        own_repo(new.journey_repo.as_ref(), &new.github_profile)?;
        let user = new.into_user(Timestamp::now_on(&state.config.clock));
        let user = state.repo.create_user(&caller.sub, user, once).await?;
        telemetry::count(emf::PROFILES_CREATED, 1);
        Ok(user)
    })
    .await
}

/// `PUT /users/{id}`: a partial update by the owner or an admin.
#[tracing::instrument(skip_all)]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id<UserId>,
    JsonBody(changes): JsonBody<UserChanges>,
) -> Result<Json<User>> {
    admin_only(&caller, changes.progress())?;
    own_repo(changes.journey_repo.as_ref().and_then(Option::as_ref), &id)?;
    let user = state
        .repo
        .update_user(&id, |record| {
            if !caller.may_change(record.owner.as_deref()) {
                return Err(ApiError::Forbidden(
                    "only the owner or an admin may change a user".into(),
                ));
            }
            total_fits(changes.progress(), &record.user.progress)?;
            changes.apply(&mut record.user, Timestamp::now_on(&state.config.clock));
            Ok(())
        })
        .await?;
    Ok(Json(user))
}

/// `DELETE /users/{id}`: by the owner or an admin. The profile is gone from
/// every read at once; everything the user owned (articles, reviews and their
/// photos, ratings) is then purged by `hdoc_shared::jobs::purge_user`, which
/// the table's stream starts in AWS ([`purge_deleted`]).
#[tracing::instrument(skip_all)]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id<UserId>,
) -> Result<StatusCode> {
    state
        .repo
        .delete_user(&id, |record| {
            if caller.may_change(record.owner.as_deref()) {
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

/// `PUT /users/{id}/owner {"sub"}`: an admin hands an imported profile to
/// the caller `sub`, who then owns it like one it made. Once per profile,
/// and only to a caller with no profile of its own.
#[tracing::instrument(skip_all)]
async fn hand_over(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id<UserId>,
    JsonBody(owner): JsonBody<NewOwner>,
) -> Result<Json<User>> {
    if !caller.admin {
        return Err(ApiError::Forbidden(
            "only admins hand an imported profile over".into(),
        ));
    }
    Ok(Json(state.repo.hand_over(&id, owner.sub.as_str()).await?))
}

/// One documented day of `GET /users/{id}/journey`.
#[derive(Serialize)]
struct DayView {
    day: u8,
    date: String,
    url: String,
}

/// The answer of `GET /users/{id}/journey`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JourneyView {
    repo: Option<String>,
    verified: bool,
    days_completed: u64,
    github_streak: u64,
    consistency: f64,
    last_entry_at: Option<Timestamp>,
    days: Vec<DayView>,
}

/// `GET /users/{id}/journey`: the profile's journey, with each documented
/// day's date and page (days only for a verified profile, from the
/// repository it names). One consistent Query of the profile's partition.
#[tracing::instrument(skip_all, fields(id))]
async fn journey(State(state): State<AppState>, Id(id): Id<UserId>) -> Result<Json<JourneyView>> {
    let Some(journeyer) = state.repo.journeyer(&id).await? else {
        return Err(ApiError::NotFound(format!("no user {}", id.as_str())));
    };
    let user = &journeyer.record.user;
    let read = &journeyer.activity.journey;
    let counted = user.journey_repo.as_ref().filter(|repo| {
        user.journey.verified && read.repo.as_deref().is_some_and(|name| repo.is(name))
    });
    let days = match counted {
        None => Vec::new(),
        Some(repo) => {
            let branch = read.branch.as_deref().unwrap_or("HEAD");
            read.days
                .iter()
                .map(|(day, date)| DayView {
                    day: day.get(),
                    date: hdoc_shared::domain::activity::format_day(date),
                    url: repo.day_url(branch, day),
                })
                .collect()
        }
    };
    Ok(Json(JourneyView {
        repo: user.journey_repo.as_ref().map(JourneyRepo::url),
        verified: user.journey.verified,
        days_completed: user.progress.days_completed.get(),
        github_streak: user.progress.github_streak.get(),
        consistency: user.journey.consistency.value(),
        last_entry_at: user.journey.last_entry_at(),
        days,
    }))
}

/// The badge's `Content-Security-Policy`: its own inline styles, nothing else.
pub const BADGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'";

/// `GET /users/{id}/badge.svg`: a small SVG badge for a README: the
/// challenge's name, `N/100` and the streak. Cacheable like any public read.
/// Its text is escaped, and `Content-Security-Policy` keeps the document
/// inert when opened on its own (no script, nothing loaded).
#[tracing::instrument(skip_all, fields(id))]
async fn badge(State(state): State<AppState>, Id(id): Id<UserId>) -> Result<Response> {
    let user = state.repo.user(&id).await?.user;
    let svg = hdoc_shared::domain::journey::badge(
        user.id.as_str(),
        user.progress.days_completed.get(),
        user.progress.github_streak.get(),
    );
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("image/svg+xml"),
            ),
            (
                axum::http::header::CONTENT_SECURITY_POLICY,
                axum::http::HeaderValue::from_static(BADGE_CSP),
            ),
        ],
        svg,
    )
        .into_response())
}

/// The answer of `POST /users/{id}/verification`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewCode {
    code: String,
    expires_at: Timestamp,
}

/// Refuses anyone but the profile's owner (an admin too: proving a GitHub
/// account is the owner's own act).
fn owner_only(caller: &Caller, owner: Option<&str>) -> Result<()> {
    if owner == Some(caller.sub.as_str()) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only the profile's owner verifies its GitHub account".into(),
        ))
    }
}

/// `POST /users/{id}/verification`: a fresh code, valid 7 days, replacing
/// any pending one. The owner puts `hdoc-verification: <code>` in the
/// journey repository's README.md, then asks for the check. With an
/// `Idempotency-Key`, a repeat gets the first code again.
#[tracing::instrument(skip_all)]
async fn new_code(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id<UserId>,
    CreateKey(key): CreateKey,
) -> Result<Response> {
    let answer = |code: &Verification| {
        let body = NewCode {
            code: code.code.clone(),
            expires_at: code.expires_at.clone(),
        };
        Answer::created(None, &body)
    };
    create_once(&state.repo, &caller, key, answer, async |once| {
        let now = Timestamp::now_on(&state.config.clock);
        let code = Verification {
            code: uuid::Uuid::new_v4().simple().to_string(),
            expires_at: Timestamp::after(&now, Verification::VALID_FOR),
        };
        let allow =
            |record: &hdoc_shared::store::UserRecord| owner_only(&caller, record.owner.as_deref());
        state.repo.set_verification(&id, &code, allow, once).await
    })
    .await
}

/// `POST /users/{id}/verification/check`: reads the journey repository's
/// README on GitHub; 200 with the profile, now verified, or 422 naming
/// what is missing. Nothing changes unless the check passes.
#[tracing::instrument(skip_all)]
async fn check_code(
    State(state): State<AppState>,
    github: Option<Extension<GitHub>>,
    caller: Caller,
    Id(id): Id<UserId>,
) -> Result<Json<User>> {
    let record = state.repo.user(&id).await?;
    owner_only(&caller, record.owner.as_deref())?;
    if record.user.journey.verified {
        return Ok(Json(record.user));
    }
    // The client the function's bootstrap (or hdoc-local) built once; a
    // bare router (a test's) makes one for the configured API.
    let github = match github {
        Some(Extension(github)) => github,
        None => GitHub::new(&state.config),
    };
    let now = Timestamp::now_on(&state.config.clock);
    let mut reading = GitHub::reading();
    let checked = check_verification(
        &github,
        &record.user,
        record.verification.as_ref(),
        &now,
        None,
        &mut reading,
    )
    .await;
    match checked {
        Ok(Ok(())) => Ok(Json(activity::mark_verified(&state.repo, &id).await?)),
        Ok(Err(missing)) => Err(ApiError::Unprocessable(missing.message().to_owned())),
        Err(fetch) => {
            tracing::warn!(?fetch, "GitHub could not be read for a verification check");
            Err(ApiError::GitHubUnavailable(
                "GitHub could not be read; try again later".into(),
            ))
        }
    }
}

/// The profiles a table-stream event reports (their `PK`s): each one that
/// became a tombstone, or whose purge was marked for another round.
pub fn reported_profiles(event: &DynamoDbEvent) -> Vec<String> {
    event
        .records
        .iter()
        .filter_map(|record| match record.change.keys.get("PK") {
            Some(AttributeValue::S(pk)) => Some(pk.clone()),
            _ => None,
        })
        .collect()
}

/// The `purge-user` function: purges each deleted user a table-stream event
/// reports, until none of its things is left or `deadline` comes (then the
/// purge is marked for another round, which the stream brings back).
pub async fn purge_deleted(
    state: &AppState,
    event: &DynamoDbEvent,
    deadline: Option<std::time::Instant>,
) -> std::result::Result<(), StoreError> {
    for pk in reported_profiles(event) {
        // The stream may replay a record whose purge has finished since.
        if let Some(purge) = state.repo.purge_at(&pk).await? {
            let photos = state.photos.as_ref();
            let ended = jobs::purge_user(&state.repo, photos, &purge, deadline).await?;
            tracing::info!(id = purge.id.as_str(), ?ended, "purge invocation ended");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_event_file_names_the_tombstone() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../events/purge-user-stream.json"
        );
        let text = std::fs::read_to_string(path).expect("events/purge-user-stream.json");
        let event: DynamoDbEvent = serde_json::from_str(&text).expect("a stream event");
        assert_eq!(reported_profiles(&event), ["USER#alice"]);
    }
}
