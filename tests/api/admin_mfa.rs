//! MFA for admins: the pre-token trigger (`users::pre_token`) against the
//! user pools of a moto of the test's own. Cognito's event is
//! `events/pre-token-admin.json`, pointed at moto's pool and users.

use super::secrets::{Moto, sdk};
use hdoc_shared::aws_json::{AwsJson, COGNITO_IDENTITY_PROVIDER};
use serde_json::{Value, json};
use users::pre_token::{Factors, on_pre_token};

const PASSWORD: &str = "Correct-Horse-42";

/// A pool with an `admin` group and a client that signs in with a password.
async fn pool(idp: &AwsJson) -> (String, String) {
    let created = idp
        .call(
            "CreateUserPool",
            &json!({"PoolName": "hdoc-test", "MfaConfiguration": "OPTIONAL"}),
        )
        .await
        .expect("a pool");
    let pool = created["UserPool"]["Id"]
        .as_str()
        .expect("pool id")
        .to_owned();
    idp.call(
        "CreateGroup",
        &json!({"UserPoolId": pool, "GroupName": "admin"}),
    )
    .await
    .expect("the admin group");
    let client = idp
        .call(
            "CreateUserPoolClient",
            &json!({"UserPoolId": pool, "ClientName": "ops",
                "ExplicitAuthFlows": ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}),
        )
        .await
        .expect("a client");
    let client = client["UserPoolClient"]["ClientId"]
        .as_str()
        .expect("client id")
        .to_owned();
    (pool, client)
}

/// A confirmed user of `pool`, in the `admin` group, with TOTP set up if `totp`
/// (as an admin does it: sign in, associate an authenticator, verify a code,
/// make it the preferred factor).
async fn admin(idp: &AwsJson, pool: &str, client: &str, name: &str, totp: bool) {
    let user = json!({"UserPoolId": pool, "Username": name});
    let mut create = user.clone();
    create["MessageAction"] = json!("SUPPRESS");
    idp.call("AdminCreateUser", &create).await.expect("a user");
    let mut password = user.clone();
    password["Password"] = json!(PASSWORD);
    password["Permanent"] = json!(true);
    idp.call("AdminSetUserPassword", &password)
        .await
        .expect("a password");
    let mut group = user.clone();
    group["GroupName"] = json!("admin");
    idp.call("AdminAddUserToGroup", &group)
        .await
        .expect("in admin");
    if !totp {
        return;
    }
    let signed_in = idp
        .call(
            "AdminInitiateAuth",
            &json!({"UserPoolId": pool, "ClientId": client, "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
                "AuthParameters": {"USERNAME": name, "PASSWORD": PASSWORD}}),
        )
        .await
        .expect("signed in");
    let access = &signed_in["AuthenticationResult"]["AccessToken"];
    idp.call("AssociateSoftwareToken", &json!({"AccessToken": access}))
        .await
        .expect("an authenticator");
    idp.call(
        "VerifySoftwareToken",
        &json!({"AccessToken": access, "UserCode": "123456"}),
    )
    .await
    .expect("its code");
    let mut preference = user.clone();
    preference["SoftwareTokenMfaSettings"] = json!({"Enabled": true, "PreferredMfa": true});
    idp.call("AdminSetUserMFAPreference", &preference)
        .await
        .expect("TOTP preferred");
}

/// `events/pre-token-admin.json` for `name` of `pool`.
fn event(pool: &str, name: &str) -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../events/pre-token-admin.json"
    );
    let mut event: Value =
        serde_json::from_slice(&std::fs::read(path).expect("the event file")).expect("JSON");
    event["userPoolId"] = json!(pool);
    event["userName"] = json!(name);
    event
}

fn groups_issued(answer: &Value) -> Option<&Value> {
    let details = &answer["response"]["claimsAndScopeOverrideDetails"];
    (!details.is_null()).then(|| &details["groupOverrideDetails"]["groupsToOverride"])
}

#[tokio::test]
async fn only_admins_with_totp_keep_the_admin_group() {
    let moto = Moto::start().await;
    let sdk = sdk().await;
    let idp = AwsJson::new(&sdk, COGNITO_IDENTITY_PROVIDER, Some(&moto.endpoint)).expect("idp");
    let (pool, client) = pool(&idp).await;
    admin(&idp, &pool, &client, "with-totp", true).await;
    admin(&idp, &pool, &client, "password-only", false).await;
    let factors = Factors::at(&sdk, Some(&moto.endpoint)).expect("factors");

    let asked = event(&pool, "with-totp");
    let answer = on_pre_token(&factors, asked.clone())
        .await
        .expect("answered");
    assert_eq!(
        groups_issued(&answer),
        None,
        "Cognito's groups stand: {answer}"
    );
    assert_eq!(answer, asked);

    let answer = on_pre_token(&factors, event(&pool, "password-only"))
        .await
        .expect("answered");
    assert_eq!(groups_issued(&answer), Some(&json!([])), "{answer}");

    // Someone the pool does not know (deleted meanwhile): no admin either.
    let answer = on_pre_token(&factors, event(&pool, "nobody"))
        .await
        .expect("answered");
    assert_eq!(groups_issued(&answer), Some(&json!([])), "{answer}");
}
