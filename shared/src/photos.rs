//! Review photos in S3: presigned uploads and their public URLs.
//!
//! A client asks for an upload, gets a presigned PUT whose signature binds the
//! content type and length, and uploads straight to the bucket. The photo
//! joins its review only once the object exists: S3 reports the new object
//! (an S3 event in AWS; `hdoc-local`'s embedded S3 server does the same), and
//! [`crate::Repository::photo_uploaded`] moves it from pending to `photos`.
//! So a review never lists a photo that cannot be fetched.

use crate::config::Config;
use crate::domain::{PhotoRequest, ReviewId};
use crate::error::ApiError;
use aws_sdk_s3::presigning::PresigningConfig;
use std::time::Duration;

/// How long an upload URL is valid.
pub const UPLOAD_VALIDITY: Duration = Duration::from_secs(15 * 60);

/// The photo bucket and where its objects are served from.
#[derive(Clone, Debug)]
pub struct Photos {
    client: aws_sdk_s3::Client,
    bucket: String,
    public_base: String,
}

/// A presigned upload, as `POST /reviews/{id}/photos` answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub key: String,
}

impl Photos {
    pub fn new(client: aws_sdk_s3::Client, bucket: &str, public_base: &str) -> Self {
        Self {
            client,
            bucket: bucket.to_owned(),
            public_base: public_base.trim_end_matches('/').to_owned(),
        }
    }

    /// The photo store the configuration names, if it names a bucket.
    pub async fn from_config(config: &Config) -> Option<Self> {
        let bucket = config.bucket.as_deref()?;
        let base = config
            .media_base_url
            .as_deref()
            .expect("HDOC_MEDIA_BASE_URL must be set with HDOC_BUCKET");
        let mut loader = aws_config::from_env();
        if let Some(endpoint) = &config.s3_endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let sdk = loader.load().await;
        let s3 = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(config.s3_endpoint.is_some())
            .build();
        Some(Self::new(aws_sdk_s3::Client::from_conf(s3), bucket, base))
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
    pub fn public_url(&self, key: &str) -> String {
        format!("{}/{key}", self.public_base)
    }

    /// A PUT URL for `key` that accepts only `request`'s type and length.
    pub async fn presign(&self, key: &str, request: &PhotoRequest) -> Result<Upload, ApiError> {
        let presigning =
            PresigningConfig::expires_in(UPLOAD_VALIDITY).map_err(ApiError::internal)?;
        let presigned = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(request.content_type.mime())
            .content_length(i64::from(request.content_length))
            .presigned(presigning)
            .await
            .map_err(|err| {
                ApiError::internal(aws_sdk_s3::error::DisplayErrorContext(err).to_string())
            })?;
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
    pub async fn delete(&self, key: &str) -> Result<(), ApiError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|err| {
                ApiError::internal(aws_sdk_s3::error::DisplayErrorContext(err).to_string())
            })?;
        Ok(())
    }

    /// The key of a public URL this store made, if it is one.
    pub fn key_of(&self, url: &str) -> Option<String> {
        url.strip_prefix(&self.public_base)?
            .strip_prefix('/')
            .map(str::to_owned)
    }

    /// The keys of every object `record` may have in the bucket: its photos'
    /// and its pending uploads'.
    pub fn keys_of(&self, record: &crate::store::ReviewRecord) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photo_keys_name_their_review() {
        let review = ReviewId::new();
        let request: PhotoRequest =
            crate::request::parse_json(br#"{"contentType":"image/png","contentLength":10}"#)
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
