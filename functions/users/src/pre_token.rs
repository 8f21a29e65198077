//! The `pre-token` function: Cognito calls it before it issues a user's
//! tokens (the user pool's pre token generation trigger, event version 2),
//! and a member of the `admin` group whose account has no TOTP second factor
//! gets tokens without that group. So an admin's password alone is a
//! journeyer's sign-in: the API's admin powers need the second factor
//! (docs/security.md, "MFA for admins").
//!
//! Only an `admin` costs a call: `AdminGetUser`, whose `UserMFASettingList`
//! names `SOFTWARE_TOKEN_MFA` once the user has set TOTP up. With TOTP set
//! up, Cognito asks for the code at every sign-in (the pool's MFA is
//! `OPTIONAL`: required of those who have it). When the call fails, the
//! group is left out (fail closed) and the sign-in still goes on.

use hdoc_shared::aws_json::{AwsJson, AwsJsonError, COGNITO_IDENTITY_PROVIDER, endpoint_override};
use hdoc_shared::http::caller::ADMIN_GROUP;
use hdoc_shared::telemetry::{self, emf};
use serde::Deserialize;
use serde_json::{Value, json};

/// The MFA setting of an account with a TOTP app (authenticator) set up.
const TOTP: &str = "SOFTWARE_TOKEN_MFA";

/// What the trigger reads of Cognito's event; the rest is handed back as
/// it came.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Asked {
    user_pool_id: String,
    user_name: String,
    request: AskedRequest,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AskedRequest {
    #[serde(default)]
    group_configuration: Groups,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Groups {
    #[serde(default)]
    groups_to_override: Option<Vec<String>>,
}

/// Reads whether an account has a second factor, from the user pool.
#[derive(Debug)]
pub struct Factors {
    cognito: AwsJson,
}

impl Factors {
    /// Cognito's user pools API with `sdk`'s region and keys, at
    /// `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER` if set (tests, `sam local`).
    pub fn connect(sdk: &aws_config::SdkConfig) -> Result<Self, String> {
        let endpoint =
            endpoint_override(&COGNITO_IDENTITY_PROVIDER, |name| std::env::var(name).ok());
        Self::at(sdk, endpoint.as_deref())
    }

    /// The same at `endpoint`, if given.
    pub fn at(sdk: &aws_config::SdkConfig, endpoint: Option<&str>) -> Result<Self, String> {
        let cognito = AwsJson::new(sdk, COGNITO_IDENTITY_PROVIDER, endpoint)
            .map_err(|err| err.to_string())?;
        Ok(Self { cognito })
    }

    /// Whether `user` of `pool` has TOTP set up.
    pub async fn has_totp(&self, pool: &str, user: &str) -> Result<bool, AwsJsonError> {
        let input = json!({"UserPoolId": pool, "Username": user});
        let answer = self.cognito.call("AdminGetUser", &input).await?;
        Ok(answer["UserMFASettingList"]
            .as_array()
            .is_some_and(|settings| settings.iter().any(|s| s == TOTP)))
    }
}

/// What the trigger did with a sign-in's groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Not an admin: the tokens are Cognito's own (no call made).
    NotAdmin,
    /// An admin with TOTP: the tokens are Cognito's own.
    AdminWithTotp,
    /// An admin without TOTP (or whose factors could not be read): the
    /// tokens leave `admin` out.
    AdminWithoutTotp,
}

/// Answers Cognito's pre token generation `event` (version 2): the event
/// itself, with the groups to put in both tokens when `admin` must go.
/// An event that is not one (no pool, user or request) is an error:
/// Cognito then refuses the sign-in rather than issue unchecked tokens.
pub async fn on_pre_token(factors: &Factors, mut event: Value) -> Result<Value, String> {
    let asked = Asked::deserialize(&event)
        .map_err(|err| format!("not a pre token generation event: {err}"))?;
    let groups = asked
        .request
        .group_configuration
        .groups_to_override
        .unwrap_or_default();
    let outcome = if !groups.iter().any(|group| group == ADMIN_GROUP) {
        Outcome::NotAdmin
    } else {
        match factors
            .has_totp(&asked.user_pool_id, &asked.user_name)
            .await
        {
            Ok(true) => Outcome::AdminWithTotp,
            Ok(false) => Outcome::AdminWithoutTotp,
            Err(err) => {
                tracing::warn!(error = %err, "an admin's factors could not be read: no admin group");
                Outcome::AdminWithoutTotp
            }
        }
    };
    tracing::info!(?outcome, "pre token generation");
    if outcome == Outcome::AdminWithoutTotp {
        telemetry::count(emf::ADMIN_TOKENS_WITHOUT_MFA, 1);
        let kept: Vec<&String> = groups
            .iter()
            .filter(|group| *group != ADMIN_GROUP)
            .collect();
        event["response"] = json!({
            "claimsAndScopeOverrideDetails": {
                "groupOverrideDetails": {"groupsToOverride": kept}
            }
        });
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factors_nowhere() -> Factors {
        let sdk = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::new("k", "s", None, None, "test"),
                ),
            )
            .build();
        // Port 9 (discard): nothing listens, so a call fails at once.
        Factors::at(&sdk, Some("http://127.0.0.1:9")).expect("factors")
    }

    fn event(groups: &[&str]) -> Value {
        json!({
            "version": "2",
            "triggerSource": "TokenGeneration_HostedAuth",
            "region": "us-east-1",
            "userPoolId": "us-east-1_pool",
            "userName": "someone",
            "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "client"},
            "request": {
                "userAttributes": {"sub": "someone"},
                "groupConfiguration": {"groupsToOverride": groups, "iamRolesToOverride": [], "preferredRole": null},
                "scopes": ["openid"]
            },
            "response": {"claimsAndScopeOverrideDetails": null}
        })
    }

    #[tokio::test]
    async fn a_journeyer_is_answered_without_a_call() {
        let asked = event(&["dev"]);
        let answer = on_pre_token(&factors_nowhere(), asked.clone())
            .await
            .expect("answered");
        assert_eq!(
            answer, asked,
            "unchanged: no override, and no call was made"
        );
    }

    #[tokio::test]
    async fn an_admin_whose_factors_cannot_be_read_loses_the_group() {
        let answer = on_pre_token(&factors_nowhere(), event(&["dev", "admin"]))
            .await
            .expect("answered");
        assert_eq!(
            answer["response"]["claimsAndScopeOverrideDetails"]["groupOverrideDetails"]["groupsToOverride"],
            json!(["dev"])
        );
        assert_eq!(answer["userName"], "someone", "the event comes back whole");
    }

    #[tokio::test]
    async fn a_group_named_like_admin_is_not_admin() {
        let asked = event(&["ops,admin", "admins"]);
        let answer = on_pre_token(&factors_nowhere(), asked.clone())
            .await
            .expect("answered");
        assert_eq!(answer, asked);
    }

    #[tokio::test]
    async fn what_is_not_a_pre_token_event_is_refused() {
        let err = on_pre_token(&factors_nowhere(), json!({"Records": []}))
            .await
            .expect_err("refused");
        assert!(err.contains("not a pre token generation event"), "{err}");
    }
}
