//! One call of an AWS service that speaks JSON 1.1 (Secrets Manager, Cognito
//! user pools, ...), signed with SigV4, without that service's SDK crate.
//!
//! An SDK crate links hundreds of kilobytes of generated code into every
//! bootstrap that names it, and a bootstrap must stay under 5 MB
//! (docs/performance.md, "Size"); an Init that reads a secret, or a trigger
//! that reads a user, makes one or two calls. What such a call needs is
//! already linked for DynamoDB: the SDK's credentials provider and region
//! (the process's [`aws_config::SdkConfig`]), its SigV4 signer (`aws-sigv4`)
//! and its HTTPS client (hyper, rustls on ring: `aws-smithy-http-client`).
//!
//! The call is `POST /` with `Content-Type: application/x-amz-json-1.1` and
//! `X-Amz-Target: <prefix>.<Operation>`; the answer is the operation's JSON,
//! or an error whose `__type` and `message` [`AwsJsonError`] keeps.
//!
//! ```no_run
//! # async fn example(sdk: &aws_config::SdkConfig) -> Result<(), hdoc_shared::aws_json::AwsJsonError> {
//! use hdoc_shared::aws_json::{AwsJson, SECRETS_MANAGER};
//! let secrets = AwsJson::new(sdk, SECRETS_MANAGER, None)?;
//! let answer = secrets
//!     .call("GetSecretValue", &serde_json::json!({"SecretId": "arn:aws:secretsmanager:..."}))
//!     .await?;
//! let value = answer["SecretString"].as_str();
//! # Ok(()) }
//! ```
//!
//! A leaf: it names no other module of the crate.

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorSettings};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use http_body_util::BodyExt;
use std::time::{Duration, SystemTime};

/// An AWS service that speaks JSON 1.1: how its calls are named, signed and
/// addressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Service {
    /// Its name in messages (`secretsmanager`).
    pub name: &'static str,
    /// The name SigV4 signs for (the credential scope's service).
    pub signing_name: &'static str,
    /// What `X-Amz-Target` puts before `.<Operation>`.
    pub target_prefix: &'static str,
    /// The first label of its regional endpoint, `https://<prefix>.<region>.amazonaws.com`.
    pub endpoint_prefix: &'static str,
    /// The service's part of its endpoint override variable,
    /// `AWS_ENDPOINT_URL_<this>` (the SDKs' "service id" in upper snake case).
    pub endpoint_variable: &'static str,
}

/// AWS Secrets Manager (`GetSecretValue`, ...).
pub const SECRETS_MANAGER: Service = Service {
    name: "secretsmanager",
    signing_name: "secretsmanager",
    target_prefix: "secretsmanager",
    endpoint_prefix: "secretsmanager",
    endpoint_variable: "SECRETS_MANAGER",
};

/// Amazon Cognito user pools (`AdminGetUser`, ...).
pub const COGNITO_IDENTITY_PROVIDER: Service = Service {
    name: "cognito-idp",
    signing_name: "cognito-idp",
    target_prefix: "AWSCognitoIdentityProviderService",
    endpoint_prefix: "cognito-idp",
    endpoint_variable: "COGNITO_IDENTITY_PROVIDER",
};

/// How long a call may take to connect, and then to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The standard endpoint override of `service`, from `get` (the process
/// environment, or a test's map): `AWS_ENDPOINT_URL_<SERVICE>`, else
/// `AWS_ENDPOINT_URL`; an empty value counts as unset.
pub fn endpoint_override(
    service: &Service,
    get: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let specific = format!("AWS_ENDPOINT_URL_{}", service.endpoint_variable);
    [specific.as_str(), "AWS_ENDPOINT_URL"]
        .into_iter()
        .find_map(|name| get(name).filter(|value| !value.trim().is_empty()))
}

/// Calls of one service with one identity: the region, credentials and
/// endpoint are fixed when it is made; each [`Self::call`] signs anew (the
/// credentials provider may rotate them) and reuses the connection.
pub struct AwsJson {
    service: Service,
    endpoint: String,
    region: String,
    credentials: SharedCredentialsProvider,
    connector: aws_smithy_http_client::Connector,
}

impl std::fmt::Debug for AwsJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsJson")
            .field("service", &self.service.name)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl AwsJson {
    /// Calls of `service` with `sdk`'s region and credentials provider, at
    /// `endpoint` if given (see [`endpoint_override`]), else at the
    /// configuration's endpoint URL if it has one, else at the service's
    /// regional endpoint. An error if `sdk` has no region or no credentials
    /// provider.
    pub fn new(
        sdk: &aws_config::SdkConfig,
        service: Service,
        endpoint: Option<&str>,
    ) -> Result<Self, AwsJsonError> {
        let unconfigured = |what: &str| AwsJsonError {
            service: service.name,
            operation: String::new(),
            kind: ErrorKind::Unconfigured(what.to_owned()),
        };
        let region = sdk
            .region()
            .ok_or_else(|| unconfigured("no region (AWS_REGION)"))?
            .to_string();
        let credentials = sdk
            .credentials_provider()
            .ok_or_else(|| unconfigured("no credentials provider"))?;
        let endpoint = endpoint
            .or(sdk.endpoint_url())
            .map(|url| url.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| regional_endpoint(&service, &region));
        // The SDK's own connector, TLS on ring as every SDK client of the
        // process has it (`http::state::https_client`).
        let connector = aws_smithy_http_client::Connector::builder()
            .connector_settings(
                HttpConnectorSettings::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .read_timeout(READ_TIMEOUT)
                    .build(),
            )
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build();
        Ok(Self {
            service,
            endpoint,
            region,
            credentials,
            connector,
        })
    }

    /// Where the calls go.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Calls `operation` (`GetSecretValue`) with `input` as its JSON body;
    /// returns the answer's JSON (`{}` for an empty answer).
    pub async fn call(
        &self,
        operation: &str,
        input: &serde_json::Value,
    ) -> Result<serde_json::Value, AwsJsonError> {
        let fail = |kind| AwsJsonError {
            service: self.service.name,
            operation: operation.to_owned(),
            kind,
        };
        let body = serde_json::to_vec(input).map_err(|err| fail(ErrorKind::Input(err)))?;
        let url = format!("{}/", self.endpoint);
        let target = format!("{}.{operation}", self.service.target_prefix);
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target.as_str()),
        ];

        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|err| fail(ErrorKind::Credentials(Box::new(err))))?;
        let identity = credentials.into();
        let signing = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.service.signing_name)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|err| fail(ErrorKind::Signing(Box::new(err))))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            &url,
            headers.iter().copied(),
            SignableBody::Bytes(&body),
        )
        .map_err(|err| fail(ErrorKind::Signing(Box::new(err))))?;
        let (instructions, _signature) = sign(signable, &signing)
            .map_err(|err| fail(ErrorKind::Signing(Box::new(err))))?
            .into_parts();

        let mut request = HttpRequest::new(SdkBody::from(body));
        request
            .set_method("POST")
            .map_err(|err| fail(ErrorKind::Signing(Box::new(err))))?;
        request
            .set_uri(url.as_str())
            .map_err(|err| fail(ErrorKind::Signing(Box::new(err))))?;
        for (name, value) in headers.iter().copied().chain(instructions.headers()) {
            request
                .headers_mut()
                .insert(name.to_owned(), value.to_owned());
        }

        let response = self
            .connector
            .call(request)
            .await
            .map_err(|err| fail(ErrorKind::Transport(Box::new(err))))?;
        let status = response.status().as_u16();
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .map(str::to_owned);
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|err| fail(ErrorKind::Transport(err)))?
            .to_bytes();
        let answer: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
        if !(200..300).contains(&status) {
            let field = |names: &[&str]| {
                answer.as_ref().and_then(|answer| {
                    names
                        .iter()
                        .find_map(|name| answer[*name].as_str().map(str::to_owned))
                })
            };
            let code = field(&["__type", "code"])
                .or(error_type)
                .map(|code| short_code(&code).to_owned())
                .unwrap_or_else(|| "UnknownError".to_owned());
            let message = field(&["message", "Message"]).unwrap_or_else(|| {
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned()
            });
            return Err(fail(ErrorKind::Service {
                status,
                code,
                message,
            }));
        }
        match answer {
            Some(answer) => Ok(answer),
            None if bytes.iter().all(u8::is_ascii_whitespace) => Ok(serde_json::json!({})),
            None => Err(fail(ErrorKind::Answer(
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned(),
            ))),
        }
    }
}

/// `https://<prefix>.<region>.amazonaws.com` (`.amazonaws.com.cn` in China).
fn regional_endpoint(service: &Service, region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://{}.{region}.{suffix}", service.endpoint_prefix)
}

/// An error code without its namespace and details:
/// `com.amazonaws.x#ResourceNotFoundException:http://...` is
/// `ResourceNotFoundException`.
fn short_code(code: &str) -> &str {
    let code = code.rsplit('#').next().unwrap_or(code);
    code.split(':').next().unwrap_or(code)
}

/// A call that failed: which service, which operation, and how.
#[derive(Debug)]
pub struct AwsJsonError {
    /// The service's name (`secretsmanager`).
    pub service: &'static str,
    /// The operation (`GetSecretValue`); empty when the client could not be made.
    pub operation: String,
    pub kind: ErrorKind,
}

/// How a call failed.
#[derive(Debug)]
pub enum ErrorKind {
    /// The SDK configuration lacks what a call needs (a region, credentials).
    Unconfigured(String),
    /// The credentials provider gave no credentials.
    Credentials(Box<dyn std::error::Error + Send + Sync>),
    /// The request could not be signed or built.
    Signing(Box<dyn std::error::Error + Send + Sync>),
    /// The input is not JSON.
    Input(serde_json::Error),
    /// No answer: connecting, TLS, a timeout, the connection lost.
    Transport(Box<dyn std::error::Error + Send + Sync>),
    /// The service refused: its HTTP status, its error code (the `__type`
    /// without its namespace, e.g. `ResourceNotFoundException`) and message.
    Service {
        status: u16,
        code: String,
        message: String,
    },
    /// A success whose body is not JSON (its start).
    Answer(String),
}

impl AwsJsonError {
    /// The service's error code (`ResourceNotFoundException`), when it refused.
    pub fn code(&self) -> Option<&str> {
        match &self.kind {
            ErrorKind::Service { code, .. } => Some(code),
            _ => None,
        }
    }
}

impl std::fmt::Display for AwsJsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (service, operation) = (self.service, &self.operation);
        if operation.is_empty() {
            write!(f, "{service}: ")?;
        } else {
            write!(f, "{service}.{operation}: ")?;
        }
        match &self.kind {
            ErrorKind::Unconfigured(what) => write!(f, "cannot call: {what}"),
            ErrorKind::Credentials(err) => write!(f, "no credentials: {err}"),
            ErrorKind::Signing(err) => write!(f, "cannot sign the request: {err}"),
            ErrorKind::Input(err) => write!(f, "the input is not JSON: {err}"),
            ErrorKind::Transport(err) => write!(f, "no answer: {}", chain(err.as_ref())),
            ErrorKind::Service {
                status,
                code,
                message,
            } => write!(f, "{status} {code}: {message}"),
            ErrorKind::Answer(start) => write!(f, "the answer is not JSON: {start:?}"),
        }
    }
}

/// An error and its sources, `: `-separated (a connector's own message is
/// often only "io error").
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(next) = source {
        let line = next.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = next.source();
    }
    text
}

impl std::error::Error for AwsJsonError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Credentials(err) | ErrorKind::Signing(err) | ErrorKind::Transport(err) => {
                Some(err.as_ref())
            }
            ErrorKind::Input(err) => Some(err),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specific_override_comes_before_the_global_one() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let both = env(&[
            ("AWS_ENDPOINT_URL", "http://global:1"),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://secrets:2"),
        ]);
        assert_eq!(
            endpoint_override(&SECRETS_MANAGER, both).as_deref(),
            Some("http://secrets:2")
        );
        let global = env(&[
            ("AWS_ENDPOINT_URL", "http://global:1"),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", ""),
        ]);
        assert_eq!(
            endpoint_override(&SECRETS_MANAGER, global).as_deref(),
            Some("http://global:1")
        );
        assert_eq!(endpoint_override(&SECRETS_MANAGER, env(&[])), None);
        assert_eq!(
            endpoint_override(
                &COGNITO_IDENTITY_PROVIDER,
                env(&[("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "http://idp:3")])
            )
            .as_deref(),
            Some("http://idp:3")
        );
    }

    #[test]
    fn endpoints_and_codes_read_as_aws_writes_them() {
        assert_eq!(
            regional_endpoint(&SECRETS_MANAGER, "eu-west-1"),
            "https://secretsmanager.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            regional_endpoint(&COGNITO_IDENTITY_PROVIDER, "cn-north-1"),
            "https://cognito-idp.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            short_code("com.amazonaws.secretsmanager#ResourceNotFoundException"),
            "ResourceNotFoundException"
        );
        assert_eq!(
            short_code("UserNotFoundException:http://internal.amazon.com/"),
            "UserNotFoundException"
        );
        let refused = AwsJsonError {
            service: "secretsmanager",
            operation: "GetSecretValue".into(),
            kind: ErrorKind::Service {
                status: 400,
                code: "ResourceNotFoundException".into(),
                message: "Secrets Manager can't find the specified secret.".into(),
            },
        };
        assert_eq!(
            refused.to_string(),
            "secretsmanager.GetSecretValue: 400 ResourceNotFoundException: \
             Secrets Manager can't find the specified secret."
        );
        assert_eq!(refused.code(), Some("ResourceNotFoundException"));
    }
}
