//! A stand-in for Secrets Manager's `GetSecretValue`, in its wire format
//! (AWS JSON 1.1: `POST /`, `X-Amz-Target: secretsmanager.GetSecretValue`,
//! `{"SecretId": ...}`), for functions that read their secrets at Init off
//! AWS: `hdoc-bench`'s smoke test and `sam local` runs, and `hdoc-local
//! --engines` for `sam local` by hand (README). It checks each call's SigV4
//! signature with the keys it is given, as AWS would; takes a secret by full
//! ARN, by name, or by partial ARN (the ARN without its 6-character suffix),
//! as AWS does; and answers anything else `ResourceNotFoundException`.

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

/// What the stand-in holds, and whose signatures it takes.
#[derive(Clone, Debug)]
pub struct Secrets {
    /// Each secret's full ARN (`arn:...:secret:<name>-<6 characters>`) and value.
    pub secrets: Vec<(String, String)>,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
}

/// The full ARN AWS would give the secret `name` in the stand-in's account.
pub fn arn_of(region: &str, name: &str) -> String {
    format!("arn:aws:secretsmanager:{region}:123456789012:secret:{name}-AbCdEf")
}

/// The stand-in as a router: every request goes to it.
pub fn router(secrets: Secrets) -> Router {
    let secrets = Arc::new(secrets);
    Router::new().fallback(move |method: Method, headers: HeaderMap, body: Bytes| {
        let secrets = secrets.clone();
        async move { answer(&secrets, &method, &headers, &body) }
    })
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"__type": code, "message": message}).to_string();
    (
        status,
        [("content-type", "application/x-amz-json-1.1")],
        body,
    )
        .into_response()
}

fn answer(secrets: &Secrets, method: &Method, headers: &HeaderMap, body: &[u8]) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    };
    if method != Method::POST || header("content-type") != "application/x-amz-json-1.1" {
        return refuse(
            StatusCode::BAD_REQUEST,
            "SerializationException",
            "not AWS JSON 1.1",
        );
    }
    if let Err(why) = signed(secrets, headers, body) {
        return refuse(StatusCode::FORBIDDEN, "InvalidSignatureException", &why);
    }
    if header("x-amz-target") != "secretsmanager.GetSecretValue" {
        return refuse(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            "the stand-in serves GetSecretValue only",
        );
    }
    let id = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|input| input["SecretId"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let name_of = |arn: &str| {
        arn.rsplit(":secret:")
            .next()
            .and_then(|suffixed| suffixed.rsplit_once('-'))
            .map_or(String::new(), |(name, _)| name.to_owned())
    };
    let found = secrets.secrets.iter().find(|(arn, _)| {
        let partial = arn
            .rsplit_once('-')
            .map_or(arn.as_str(), |(partial, _)| partial);
        id == *arn || id == partial || id == name_of(arn)
    });
    let Some((arn, value)) = found else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret.",
        );
    };
    let body = json!({
        "ARN": arn,
        "Name": name_of(arn),
        "VersionId": "00000000-0000-4000-8000-000000000001",
        "SecretString": value,
        "VersionStages": ["AWSCURRENT"],
        "CreatedDate": 1.7e9,
    });
    (
        [("content-type", "application/x-amz-json-1.1")],
        body.to_string(),
    )
        .into_response()
}

/// The request signed again with the stand-in's keys, at the time it says
/// it was signed: the same signature, or why not.
fn signed(secrets: &Secrets, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .ok_or(format!("no {name} header"))
    };
    let authorization = header("authorization")?;
    let scope = format!("/{}/secretsmanager/aws4_request", secrets.region);
    if !authorization.contains(&scope) {
        return Err(format!("not signed for {scope}: {authorization}"));
    }
    let stamp = header("x-amz-date")?;
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let at = time::PrimitiveDateTime::parse(stamp, &format)
        .map_err(|err| format!("x-amz-date {stamp}: {err}"))?
        .assume_utc();
    let identity = aws_sdk_dynamodb::config::Credentials::new(
        &secrets.access_key,
        &secrets.secret_key,
        None,
        None,
        "hdoc-secrets-stand-in",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(&secrets.region)
        .name("secretsmanager")
        .time(at.into())
        .settings(SigningSettings::default())
        .build()
        .map_err(|err| err.to_string())?
        .into();
    let url = format!("http://{}/", header("host")?);
    let signed_headers = [
        ("content-type", header("content-type")?),
        ("x-amz-target", header("x-amz-target")?),
    ];
    let signable = SignableRequest::new(
        "POST",
        &url,
        signed_headers.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|err| err.to_string())?;
    let (_, signature) = sign(signable, &params)
        .map_err(|err| err.to_string())?
        .into_parts();
    if authorization.ends_with(&format!("Signature={signature}")) {
        Ok(())
    } else {
        Err(format!("the signature does not match ({authorization})"))
    }
}
