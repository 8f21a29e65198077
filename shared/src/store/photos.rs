//! Review photos: the S3 bucket (presigned uploads, deletes) and each
//! review's photo slots.
//!
//! A client asks for an upload, gets a presigned PUT whose signature binds the
//! content type and length, and uploads straight to the bucket. The photo
//! joins its review only once the object exists: S3 reports the new object
//! (an S3 event in AWS; `hdoc-local`'s embedded S3 server does the same), and
//! [`Repository::photo_uploaded`] moves it from pending to `photos`. So a
//! review never lists a photo that cannot be fetched.

use super::Repository;
use super::codec::review::{PendingPhoto, ReviewRecord};
use super::error::{Missing, Result, StoreError};
use super::parts::answers::KeyedCreate;
use crate::config::Config;
use crate::domain::{PhotoRequest, ReviewId, Timestamp};
use crate::telemetry::xray::{Daemon, Subsegments};
use aws_sdk_s3::presigning::PresigningConfig;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long an upload URL is valid.
pub const UPLOAD_VALIDITY: Duration = Duration::from_secs(15 * 60);
/// How long after its upload URL expires a pending photo may still arrive.
const PHOTO_GRACE: Duration = Duration::from_secs(5 * 60);

/// The photo bucket and where its objects are served from.
#[derive(Clone, Debug)]
pub struct Photos {
    client: aws_sdk_s3::Client,
    bucket: String,
    /// `None` in the `photo-uploaded` function: it hands out no URL, and
    /// the CDN's domain cannot reach it (a cycle through the bucket's
    /// notification in template.yaml).
    public_base: Option<String>,
}

/// A presigned upload, as `POST /reviews/{id}/photos` answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub key: String,
}

impl Photos {
    pub fn new(client: aws_sdk_s3::Client, bucket: &str, public_base: Option<&str>) -> Self {
        Self {
            client,
            bucket: bucket.to_owned(),
            public_base: public_base.map(|base| base.trim_end_matches('/').to_owned()),
        }
    }

    /// The photo store `config` names, if it names a bucket, with an S3
    /// client on the process's one SDK configuration.
    pub fn connect(sdk: &aws_config::SdkConfig, config: &Config) -> Option<Self> {
        let bucket = config.bucket.as_deref()?;
        let base = config.media_base_url.as_deref();
        let mut s3 = aws_sdk_s3::config::Builder::from(sdk);
        if let Some(endpoint) = &config.s3_endpoint {
            s3 = s3.endpoint_url(endpoint).force_path_style(true);
        }
        if let Some(daemon) = config.xray_daemon.as_deref().and_then(Daemon::connect) {
            s3 = s3.interceptor(Subsegments::s3(daemon, bucket));
        }
        Some(Self::new(
            aws_sdk_s3::Client::from_conf(s3.build()),
            bucket,
            base,
        ))
    }

    /// The object key of a new photo of `review`.
    pub fn new_key(review: &ReviewId, request: &PhotoRequest) -> String {
        format!(
            "reviews/{}/{}.{}",
            review.as_str(),
            uuid::Uuid::new_v4().simple(),
            request.content_type.extension()
        )
    }

    /// The review a photo key belongs to, if it is a photo key at all.
    pub fn review_of(key: &str) -> Option<ReviewId> {
        let rest = key.strip_prefix("reviews/")?;
        let (review, file) = rest.split_once('/')?;
        (!file.is_empty() && !file.contains('/')).then_some(())?;
        ReviewId::parse(review).ok()
    }

    /// Where the object `key` is served publicly.
    ///
    /// # Panics
    /// Without `HDOC_MEDIA_BASE_URL`, which every function that hands out
    /// photo URLs has (tests/api/template.rs checks the template).
    pub fn public_url(&self, key: &str) -> String {
        let base = self.public_base.as_deref();
        format!("{}/{key}", base.expect("HDOC_MEDIA_BASE_URL is set"))
    }

    /// A PUT URL for `key` that accepts only `request`'s type and length,
    /// and only once: `If-None-Match: *` is signed into it, so S3 refuses a
    /// second PUT (412) while the first object is there (S3's conditional
    /// writes; the embedded S3 server and moto do the same).
    pub async fn presign(&self, key: &str, request: &PhotoRequest) -> Result<Upload> {
        let presigning =
            PresigningConfig::expires_in(UPLOAD_VALIDITY).map_err(StoreError::failed)?;
        let presigned = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(request.content_type.mime())
            .content_length(i64::from(request.content_length))
            .if_none_match("*")
            .presigned(presigning)
            .await?;
        Ok(Upload {
            url: presigned.uri().to_owned(),
            headers: presigned
                .headers()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
            key: key.to_owned(),
        })
    }

    /// Deletes the object `key` (a deleted review's photo). Missing objects are fine.
    pub async fn delete(&self, key: &str) -> Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await?;
        Ok(())
    }

    /// The key of a public URL this store made, if it is one.
    pub fn key_of(&self, url: &str) -> Option<String> {
        url.strip_prefix(self.public_base.as_deref()?)?
            .strip_prefix('/')
            .map(str::to_owned)
    }

    /// The keys of every object `record` may have in the bucket: its photos'
    /// and its pending uploads'.
    pub fn keys_of(&self, record: &ReviewRecord) -> Vec<String> {
        let uploaded = record
            .review
            .photos
            .iter()
            .filter_map(|url| self.key_of(url));
        let pending = record.pending.iter().map(|photo| photo.key.clone());
        uploaded.chain(pending).collect()
    }

    /// The SDK client, for set-up tools (creating the bucket locally).
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

impl Repository {
    /// Hands out a photo slot: drops pending photos whose upload can no
    /// longer arrive, lets `allow` see the review (its author, how many
    /// photos it has and awaits) and refuse, then records `photo` as pending
    /// until its upload URL expires (once, with `once`: the answer, its
    /// upload URL presigned already, is written with the pending photo).
    #[tracing::instrument(skip_all, fields(id = id.as_str()))]
    pub async fn reserve_photo<E: From<StoreError>>(
        &self,
        id: &ReviewId,
        allow: impl Fn(&ReviewRecord) -> Result<(), E>,
        photo: PendingPhoto,
        once: Option<&KeyedCreate<'_, PendingPhoto>>,
    ) -> Result<PendingPhoto, E> {
        let now = Timestamp::now();
        let answer = self.once_record(once, &photo);
        let reserved = self
            .modify_review::<E>(
                id,
                |record| {
                    record
                        .pending
                        .retain(|p| Timestamp::after(&p.expires_at, PHOTO_GRACE) > now);
                    allow(record)?;
                    record.pending.push(photo.clone());
                    Ok(true)
                },
                answer.as_ref(),
            )
            .await?;
        match reserved {
            Some(_) => Ok(photo),
            None => Err(StoreError::NotFound(Missing::Review(id.clone())).into()),
        }
    }

    /// Records that the object `key` now exists: if its review awaits it,
    /// the pending photo joins the review's `photos`. S3 may report an
    /// object more than once: a photo already joined is [`Arrival::Known`].
    #[tracing::instrument(skip_all, fields(key))]
    pub async fn photo_uploaded(&self, key: &str) -> Result<Arrival> {
        let Some(id) = Photos::review_of(key) else {
            return Ok(Arrival::Unclaimed);
        };
        // A joined photo's URL ends with its key (a fresh UUID per upload).
        let suffix = format!("/{key}");
        let known = AtomicBool::new(false);
        let joined = self
            .modify_review(
                &id,
                |record| {
                    let listed = record.review.photos.iter().any(|u| u.ends_with(&suffix));
                    known.store(listed, Ordering::Relaxed);
                    let Some(at) = record.pending.iter().position(|p| p.key == key) else {
                        return Ok::<_, StoreError>(false);
                    };
                    let photo = record.pending.remove(at);
                    record.review.photos.push(photo.url);
                    Ok(true)
                },
                None,
            )
            .await?;
        Ok(match (joined, known.load(Ordering::Relaxed)) {
            (Some(_), _) => Arrival::Joined,
            (None, true) => Arrival::Known,
            (None, false) => Arrival::Unclaimed,
        })
    }
}

/// What a new object in the photo bucket is to the reviews.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// Its review awaited it: it joined the review's photos.
    Joined,
    /// Its review lists it already (S3 reported it again).
    Known,
    /// No review awaits or lists it: not a photo key, its review is gone,
    /// or its slot expired. Nothing will ever serve it from a review.
    Unclaimed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photo_keys_name_their_review() {
        let review = ReviewId::new();
        let request: PhotoRequest =
            crate::strategies::parse_json(br#"{"contentType":"image/png","contentLength":10}"#)
                .expect("valid");
        let key = Photos::new_key(&review, &request);
        assert!(key.ends_with(".png"), "{key}");
        assert_eq!(Photos::review_of(&key), Some(review));
        for bad in [
            "reviews/x/y.png",
            "other/0190e6b4-1c2d-7a3b-8c4d-5e6f7a8b9c0d/y.png",
            "reviews/0190e6b4-1c2d-7a3b-8c4d-5e6f7a8b9c0d/",
        ] {
            assert_eq!(Photos::review_of(bad), None, "{bad}");
        }
    }
}
