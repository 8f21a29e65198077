//! `/reviews`: reviews of subjects by callers with a profile, with photos;
//! and the `photo-uploaded` function, which S3 calls for each new object.

use aws_lambda_events::s3::S3Event;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use hdoc_shared::domain::{
    MAX_PHOTOS, NewReview, PhotoRequest, Review, ReviewChanges, ReviewId, Subject, Timestamp,
    UserId,
};
use hdoc_shared::http::Route;
use hdoc_shared::store::{
    Answer, Arrival, Missing, PendingPhoto, Photos, ReviewFilter, ReviewRecord, StoreError,
    UPLOAD_VALIDITY,
};
use hdoc_shared::telemetry::{self, emf};
use hdoc_shared::{
    ApiError, AppState, Caller, Create, CursorScope, Id, JsonBody, PageLimits, PageQuery, Query,
    Result, create_once,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const PAGE: PageLimits = PageLimits {
    default: 100,
    max: 100,
};

/// The routes this function serves, for `template.yaml` and its tests.
pub const ROUTES: &[Route] = &[
    Route::public("GET", "/reviews"),
    Route::caller("POST", "/reviews"),
    Route::public("GET", "/reviews/{id}"),
    Route::caller("PUT", "/reviews/{id}"),
    Route::caller("DELETE", "/reviews/{id}"),
    Route::caller("POST", "/reviews/{id}/photos"),
];

/// The router for [`ROUTES`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reviews", get(list).post(create))
        .route("/reviews/{id}", get(show).put(update).delete(remove))
        .route("/reviews/{id}/photos", post(add_photo))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    subject: Option<Subject>,
    author: Option<UserId>,
}

/// `GET /reviews?subject=S` or `GET /reviews?author=A`: summaries, newest first.
#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    uri: Uri,
    Query(query): Query<ListQuery>,
    page: PageQuery,
) -> Result<Response> {
    let filter = match (query.subject, query.author) {
        (Some(subject), None) => ReviewFilter::Subject(subject),
        (None, Some(author)) => ReviewFilter::Author(author),
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of `subject` or `author`",
            ));
        }
    };
    let page = state.page(filter.cursor_scope(), &page, PAGE)?;
    let reviews = state.repo.list_reviews(&filter, &page.window).await?;
    Ok(state.page_response(&uri, &page, reviews))
}

/// `GET /reviews/{id}`.
#[tracing::instrument(skip_all)]
async fn show(State(state): State<AppState>, Id(id): Id<ReviewId>) -> Result<Json<Review>> {
    Ok(Json(state.repo.review(&id).await?))
}

fn is_author(me: &UserId, review: &Review) -> bool {
    me == &review.author
}

/// `POST /reviews`.
#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Create(new, key): Create<NewReview>,
) -> Result<Response> {
    let answer =
        |review: &Review| Answer::created(Some(format!("/reviews/{}", review.id.as_str())), review);
    create_once(&state.repo, &caller, key, answer, async |once| {
        let author = state.repo.writer(&caller.sub).await?;
        let review = new.into_review(author, Timestamp::now_on(&state.config.clock));
        let review = state.repo.create_review(review, once).await?;
        telemetry::count(emf::REVIEWS_CREATED, 1);
        Ok(review)
    })
    .await
}

/// `PUT /reviews/{id}`: by its author only.
#[tracing::instrument(skip_all)]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id<ReviewId>,
    JsonBody(changes): JsonBody<ReviewChanges>,
) -> Result<Json<Review>> {
    let me = state.repo.profile_of(&caller.sub).await?;
    let review = state
        .repo
        .update_review(&id, |review| {
            if !me.as_ref().is_some_and(|me| is_author(me, review)) {
                return Err(ApiError::Forbidden(
                    "only the author may edit a review".into(),
                ));
            }
            changes.apply(review, Timestamp::now_on(&state.config.clock));
            Ok(())
        })
        .await?;
    Ok(Json(review))
}

/// `DELETE /reviews/{id}`: by its author or an admin, with its photos.
#[tracing::instrument(skip_all)]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id<ReviewId>,
) -> Result<StatusCode> {
    let me = state.repo.profile_of(&caller.sub).await?;
    let deleted = state
        .repo
        .delete_review(&id, |review| {
            if caller.admin || me.as_ref().is_some_and(|me| is_author(me, review)) {
                Ok(())
            } else {
                Err(ApiError::Forbidden(
                    "only the author or an admin may delete a review".into(),
                ))
            }
        })
        .await?;
    let Some(deleted) = deleted else {
        return Err(StoreError::NotFound(Missing::Review(id)).into());
    };
    // The review is gone; its photos go after it. A photo object left behind
    // (S3 unreachable) is listed nowhere, so the delete still succeeds.
    if let Ok(photos) = state.photos() {
        for key in photos.keys_of(&deleted) {
            if let Err(err) = photos.delete(&key).await {
                tracing::warn!(key, error = %err, "photo object of a deleted review left behind");
            }
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The answer to `POST /reviews/{id}/photos`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhotoUpload {
    upload_url: String,
    method: &'static str,
    headers: BTreeMap<String, String>,
    photo_url: String,
    expires_at: Timestamp,
}

/// `POST /reviews/{id}/photos`: a presigned PUT for one photo, by the review's
/// author. The photo joins the review once the object exists (see `hdoc_shared::store::Photos`).
/// The URL is presigned first (no AWS call), so that the answer is written
/// with the pending photo, in one write, when the request has an
/// `Idempotency-Key`.
#[tracing::instrument(skip_all)]
async fn add_photo(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id<ReviewId>,
    Create(request, idempotency_key): Create<PhotoRequest>,
) -> Result<Response> {
    let photos = state.photos()?;
    let me = state.repo.profile_of(&caller.sub).await?;
    let key = Photos::new_key(&id, &request);
    let expires_at = Timestamp::after(&Timestamp::now_on(&state.config.clock), UPLOAD_VALIDITY);
    let pending = PendingPhoto {
        key: key.clone(),
        url: photos.public_url(&key),
        expires_at: expires_at.clone(),
    };
    let author_only = |record: &ReviewRecord| {
        if !me.as_ref().is_some_and(|me| is_author(me, &record.review)) {
            return Err(ApiError::Forbidden(
                "only the author may add photos to a review".into(),
            ));
        }
        if record.review.photos.len() + record.pending.len() >= MAX_PHOTOS {
            return Err(ApiError::Conflict(format!(
                "a review has at most {MAX_PHOTOS} photos, counting uploads in flight"
            )));
        }
        Ok(())
    };
    let upload = photos.presign(&key, &request).await?;
    let upload = PhotoUpload {
        upload_url: upload.url,
        method: "PUT",
        headers: upload.headers.into_iter().collect(),
        photo_url: pending.url.clone(),
        expires_at,
    };
    let answer = |_: &PendingPhoto| Answer::created(None, &upload);
    create_once(
        &state.repo,
        &caller,
        idempotency_key,
        answer,
        async |once| {
            let photo = state
                .repo
                .reserve_photo(&id, author_only, pending, once)
                .await?;
            telemetry::count(emf::PHOTO_UPLOADS_STARTED, 1);
            Ok(photo)
        },
    )
    .await
}

/// Handles S3's report of new objects (the bucket's notification in AWS,
/// `hdoc-local`'s embedded S3 server locally): each photo joins its review,
/// and an object no review awaits or lists (its review deleted, its slot
/// expired, or not a photo key) is deleted, so nothing serves it.
pub async fn photos_uploaded(
    state: &AppState,
    keys: impl IntoIterator<Item = String>,
) -> std::result::Result<(), StoreError> {
    let mut joined_photos = 0;
    let mut unclaimed = 0;
    let outcome = async {
        for key in keys {
            let arrival = state.repo.photo_uploaded(&key).await?;
            tracing::info!(key, ?arrival, "photo uploaded");
            match arrival {
                Arrival::Joined => joined_photos += 1,
                Arrival::Known => {}
                Arrival::Unclaimed => {
                    let photos = state
                        .photos()
                        .map_err(|err| StoreError::failed(err.to_string()))?;
                    photos.delete(&key).await?;
                    unclaimed += 1;
                }
            }
        }
        Ok(())
    }
    .await;
    // Counted even when a later key failed: those before it are done.
    telemetry::count(emf::PHOTOS_JOINED, joined_photos);
    telemetry::count(emf::PHOTOS_UNCLAIMED, unclaimed);
    outcome
}

/// The `photo-uploaded` function: the objects an S3 event reports.
pub async fn on_s3_event(state: &AppState, event: S3Event) -> std::result::Result<(), StoreError> {
    let keys = event.records.into_iter().filter_map(|record| {
        let object = record.s3.object;
        // S3 sends only `key`, URL-encoded; `urlDecodedKey` is a field of the
        // event type that S3 itself never fills.
        object
            .url_decoded_key
            .or_else(|| object.key.as_deref().and_then(decode_s3_key))
    });
    photos_uploaded(state, keys).await
}

/// An object key as an S3 notification gives it: form-URL-encoded (`+` for a
/// space, `%XX` for other bytes). `None` if it is not valid encoding.
fn decode_s3_key(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                out.push(u8::from_str_radix(raw.get(i + 1..i + 3)?, 16).ok()?);
                i += 2;
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod s3_key_tests {
    use super::decode_s3_key;

    #[test]
    fn keys_of_s3_notifications_are_decoded() {
        assert_eq!(
            decode_s3_key("reviews/0190e6b4/ab12.jpg").as_deref(),
            Some("reviews/0190e6b4/ab12.jpg")
        );
        assert_eq!(decode_s3_key("a+b%2Bc%3D").as_deref(), Some("a b+c="));
        assert_eq!(decode_s3_key("bad%2"), None);
    }
}
