//! Photo uploads end to end: presign, upload with a plain HTTP client, fetch
//! the public URL. The embedded S3 server checks signatures as S3 does.

use hdoc_shared::config::StaticCredentials;
use hdoc_shared::domain::{PhotoRequest, ReviewId};
use hdoc_shared::http::extract::parse_json;
use hdoc_shared::store::Photos;
use hdoc_tests::{TestApp, json_of, problem};
use reqwest::Method;
use serde_json::json;

/// A review by a new user, and that user's token.
async fn review(app: &TestApp) -> (String, String) {
    let token = app.user("sub-a", "alice").await;
    let body = json!({"subject": "park:zion", "title": "Angels Landing", "body": "Chains!"});
    let created = json_of(
        app.send_json(Method::POST, "/reviews", Some(&token), &body)
            .await,
        201,
    )
    .await;
    (
        token,
        format!("/reviews/{}", created["id"].as_str().expect("id")),
    )
}

fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(len, 7);
    bytes
}

#[tokio::test]
async fn a_photo_joins_its_review_once_uploaded_and_is_served_at_its_url() {
    let app = TestApp::spawn().await;
    let (token, review) = review(&app).await;
    let answer = app.presign_photo(&token, &review, "image/png", 1000).await;
    assert_eq!(answer["method"], "PUT");
    let photo_url = answer["photoUrl"].as_str().expect("photo url").to_owned();
    assert!(
        photo_url.starts_with(&format!("{}/media/reviews/", app.base)),
        "{photo_url}"
    );
    assert!(photo_url.ends_with(".png"));
    let expires = answer["expiresAt"].as_str().expect("expiresAt");
    assert!(expires > hdoc_shared::domain::Timestamp::now().as_str());
    let signed: Vec<String> = answer["headers"]
        .as_object()
        .expect("headers")
        .keys()
        .map(|k| k.to_lowercase())
        .collect();
    assert!(
        signed.contains(&"content-type".to_owned())
            && signed.contains(&"content-length".to_owned()),
        "{signed:?}"
    );
    assert_eq!(
        json_of(app.get(&review).await, 200).await["photos"],
        json!([]),
        "not before the upload"
    );

    assert_eq!(app.upload_photo(&answer, "image/png", png(1000)).await, 200);
    assert_eq!(
        json_of(app.get(&review).await, 200).await["photos"],
        json!([photo_url])
    );
    let fetched = app.http.get(&photo_url).send().await.expect("photo");
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.headers()["content-type"], "image/png");
    assert_eq!(fetched.bytes().await.expect("bytes").to_vec(), png(1000));
}

/// An upload URL works once: `If-None-Match: *` is signed into it, so a
/// second PUT (a replay, or another file of the same type and size) is
/// refused and the first photo stays what is served.
#[tokio::test]
async fn an_upload_url_is_single_use() {
    let app = TestApp::spawn().await;
    let (token, review) = review(&app).await;
    let answer = app.presign_photo(&token, &review, "image/png", 1000).await;
    let signed = answer["headers"].as_object().expect("headers");
    assert!(
        signed
            .iter()
            .any(|(name, value)| name.eq_ignore_ascii_case("if-none-match") && value == "*"),
        "{signed:?}"
    );
    assert_eq!(app.upload_photo(&answer, "image/png", png(1000)).await, 200);
    let mut other = png(1000);
    other[999] = 9;
    assert_eq!(
        app.upload_photo(&answer, "image/png", other).await,
        412,
        "the URL was used"
    );
    let photo_url = answer["photoUrl"].as_str().expect("photo url");
    let fetched = app.http.get(photo_url).send().await.expect("photo");
    assert_eq!(fetched.bytes().await.expect("bytes").to_vec(), png(1000));
    assert_eq!(
        json_of(app.get(&review).await, 200).await["photos"],
        json!([photo_url]),
        "joined once"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn uploads_of_another_type_or_size_are_refused() {
    let app = TestApp::spawn().await;
    let (token, review) = review(&app).await;
    let answer = app.presign_photo(&token, &review, "image/png", 1000).await;
    assert_eq!(
        app.upload_photo(&answer, "image/jpeg", png(1000)).await,
        403,
        "another type"
    );
    assert_eq!(
        app.upload_photo(&answer, "image/png", png(999)).await,
        403,
        "another size"
    );
    assert_eq!(
        app.upload_photo(&answer, "image/png", png(1001)).await,
        403,
        "another size"
    );
    assert_eq!(
        json_of(app.get(&review).await, 200).await["photos"],
        json!([])
    );
    let missing = app
        .http
        .get(answer["photoUrl"].as_str().expect("url"))
        .send()
        .await
        .expect("get");
    assert_eq!(missing.status(), 404, "nothing was stored");
    assert_eq!(
        app.upload_photo(&answer, "image/png", png(1000)).await,
        200,
        "the signed upload still works"
    );
}

#[tokio::test]
async fn photo_requests_are_checked() {
    let app = TestApp::spawn().await;
    let (token, review) = review(&app).await;
    let path = format!("{review}/photos");
    for body in [
        json!({"contentType": "image/gif", "contentLength": 10}),
        json!({"contentType": "image/png", "contentLength": 0}),
        json!({"contentType": "image/png", "contentLength": 5 * 1024 * 1024 + 1}),
        json!({"contentType": "image/png", "contentLength": "10"}),
        json!({"contentType": "image/png"}),
        json!({"contentType": "image/png", "contentLength": 10, "name": "x.png"}),
    ] {
        problem(
            app.send_json(Method::POST, &path, Some(&token), &body)
                .await,
            400,
        )
        .await;
    }
    let ok = json!({"contentType": "image/jpeg", "contentLength": 5 * 1024 * 1024});
    problem(app.send_json(Method::POST, &path, None, &ok).await, 401).await;
    let bob = app.user("sub-b", "bob").await;
    problem(
        app.send_json(Method::POST, &path, Some(&bob), &ok).await,
        403,
    )
    .await;
    let admin = app.admin().await;
    problem(
        app.send_json(Method::POST, &path, Some(&admin), &ok).await,
        403,
    )
    .await;
    let unknown = "/reviews/0190e6b4-1c2d-7a3b-8c4d-5e6f7a8b9c0d/photos";
    problem(
        app.send_json(Method::POST, unknown, Some(&token), &ok)
            .await,
        404,
    )
    .await;
    problem(
        app.send_json(Method::POST, "/reviews/nope/photos", Some(&token), &ok)
            .await,
        400,
    )
    .await;
    for _ in 0..6 {
        json_of(
            app.send_json(Method::POST, &path, Some(&token), &ok).await,
            201,
        )
        .await;
    }
    let seventh = problem(
        app.send_json(Method::POST, &path, Some(&token), &ok).await,
        409,
    )
    .await;
    assert!(
        seventh["detail"].as_str().is_some_and(|d| d.contains('6')),
        "{seventh}"
    );
}

#[tokio::test]
async fn deleting_a_review_deletes_its_photo_objects() {
    let app = TestApp::spawn().await;
    let (token, review) = review(&app).await;
    let answer = app.presign_photo(&token, &review, "image/webp", 64).await;
    assert_eq!(
        app.upload_photo(&answer, "image/webp", vec![1; 64]).await,
        200
    );
    let url = answer["photoUrl"].as_str().expect("url");
    assert_eq!(app.http.get(url).send().await.expect("get").status(), 200);
    let response = app
        .request(Method::DELETE, &review, Some(&token))
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), 204);
    assert_eq!(app.http.get(url).send().await.expect("get").status(), 404);
}

/// An upload that arrives after its review is gone is deleted as soon as S3
/// reports it, so its URL serves nothing; S3 reporting a joined photo again
/// (its notifications come at least once) keeps the photo.
#[tokio::test]
async fn an_upload_no_review_awaits_is_deleted() {
    let app = TestApp::spawn().await;
    let (token, review) = review(&app).await;
    let joined = app.presign_photo(&token, &review, "image/png", 100).await;
    assert_eq!(app.upload_photo(&joined, "image/png", png(100)).await, 200);
    let joined_url = joined["photoUrl"].as_str().expect("url").to_owned();
    let key = joined_url
        .split_once("/media/")
        .expect("a media URL")
        .1
        .to_owned();
    reviews::photos_uploaded(app.state(), [key])
        .await
        .expect("a second report");
    assert_eq!(
        json_of(app.get(&review).await, 200).await["photos"],
        json!([joined_url]),
        "reported twice, joined once"
    );
    let fetched = app.http.get(&joined_url).send().await.expect("get");
    assert_eq!(fetched.status(), 200, "a second report deletes nothing");

    let late = app.presign_photo(&token, &review, "image/png", 100).await;
    let response = app
        .request(Method::DELETE, &review, Some(&token))
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), 204);
    // The URL is still valid, and S3 takes the upload; nothing awaits it.
    assert_eq!(app.upload_photo(&late, "image/png", png(100)).await, 200);
    let url = late["photoUrl"].as_str().expect("url");
    let fetched = app.http.get(url).send().await.expect("get");
    assert_eq!(fetched.status(), 404, "the unclaimed upload was deleted");
    app.shutdown().await;
}

/// Presigning is the production code path: it must work against a second S3
/// implementation too. The test script points `HDOC_TEST_S3_ENDPOINT` at moto's
/// S3 in its second run; otherwise this runs against the embedded S3 server.
#[tokio::test]
async fn presigned_uploads_work_against_the_configured_s3() {
    let app = TestApp::spawn().await;
    let photos = match std::env::var("HDOC_TEST_S3_ENDPOINT")
        .ok()
        .filter(|url| !url.is_empty())
    {
        Some(endpoint) => {
            // The same constructors the functions use, pointed at that endpoint.
            let mut config = hdoc_shared::Config::from_lookup(|key| match key {
                "HDOC_BUCKET" => Some("hdoc-test-photos".to_owned()),
                "HDOC_MEDIA_BASE_URL" => Some("https://cdn.example".to_owned()),
                "AWS_ENDPOINT_URL_S3" => Some(endpoint.clone()),
                _ => None,
            });
            config.static_credentials = Some(StaticCredentials {
                access_key: "test".to_owned(),
                secret_key: "test".to_owned(),
                region: "us-east-1".to_owned(),
            });
            let sdk = hdoc_shared::http::sdk_config(&config).await;
            let photos = Photos::connect(&sdk, &config).expect("a bucket is configured");
            hdoc_local::s3::create_bucket_named(photos.client(), photos.bucket())
                .await
                .expect("bucket");
            photos
        }
        None => app.state().photos().expect("local photos").clone(),
    };
    let request: PhotoRequest =
        parse_json(br#"{"contentType":"image/jpeg","contentLength":321}"#).expect("valid");
    // Outside `reviews/`, which S3 reports to the photo-uploaded function
    // (and the embedded server to it too): no review awaits this object,
    // which would be deleted there as soon as it arrived.
    let key = Photos::new_key(&ReviewId::new(), &request).replacen("reviews/", "presign-check/", 1);
    let upload = photos.presign(&key, &request).await.expect("presigned");
    let mut put = app.http.put(&upload.url);
    for (name, value) in &upload.headers {
        if !name.eq_ignore_ascii_case("content-length") {
            put = put.header(name, value);
        }
    }
    let response = put.body(vec![0xFF; 321]).send().await.expect("upload");
    assert_eq!(
        response.status(),
        200,
        "{}",
        response.text().await.unwrap_or_default()
    );
    let head = photos
        .client()
        .head_object()
        .bucket(photos.bucket())
        .key(&key)
        .send()
        .await
        .expect("object exists");
    assert_eq!(head.content_length(), Some(321));
    assert_eq!(head.content_type(), Some("image/jpeg"));
}
