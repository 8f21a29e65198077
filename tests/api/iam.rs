//! Least privilege, proven: each function runs with credentials that hold
//! only its policy as `template.yaml` grants it, against a moto that
//! enforces IAM, and every route and background job still works; calls
//! outside a function's policy are refused.
//!
//! The moto is `scripts/moto_server.py PORT --iam KEYS.json`, which the test
//! script starts and names in `HDOC_TEST_IAM_ENDPOINT` and
//! `HDOC_TEST_IAM_ADMIN_KEYS`. These tests are `#[ignore]`d in a plain
//! `cargo test` (they need that server); the test script runs them with
//! `--ignored`, and they fail loudly if the server is not named.
//!
//! What moto 5.2.1 evaluates, and what it cannot (docs/deploy.md):
//! - It checks every request's signature and key, and each action against
//!   the user's policies; for S3 against the object's ARN too.
//! - It checks every DynamoDB call against the resource `*`, whatever table
//!   or index it names, so a statement naming the table (or an index) never
//!   matches: moto is given each DynamoDB statement with `Resource: "*"`.
//! - It authorises `TransactWriteItems` as an action of its own, which IAM
//!   in AWS does not have (AWS authorises each Put, Update, Delete and
//!   ConditionCheck in it as PutItem, UpdateItem, ...): moto is given
//!   `dynamodb:TransactWriteItems` when the policy grants any of those.
//! - It cannot check a presigned request (it answers 500 to any request
//!   without an `Authorization` header): the upload is made as the same
//!   PutObject signed with the reviews function's keys instead.
//!
//! - It does not evaluate the statements' `dynamodb:LeadingKeys` conditions
//!   (DynamoDB reads the partition keys a request names; moto never sees
//!   them): moto is given the DynamoDB statements without their `Condition`.
//!
//! These DynamoDB gaps are closed by an [`Authorizer`] in front of moto: it
//! authorises each DynamoDB call of a function as AWS does (the table or the
//! index it names, each write of a transaction as its own action, the
//! partition keys it reaches against the statement's conditions) against the
//! function's statements exactly as the template writes them, and only then
//! lets moto check the signature and the action.

use super::template::{
    as_sub, binaries, conditional, function_resource, one_or_many, policies, template,
};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use hdoc_shared::aws_json::{AwsJson, COGNITO_IDENTITY_PROVIDER, ErrorKind, SECRETS_MANAGER};
use hdoc_shared::config::{Cursors, StaticCredentials};
use hdoc_shared::domain::{Progress, Timestamp, User, UserId};
use hdoc_shared::http::WarmUp;
use hdoc_shared::jobs::Ended;
use hdoc_shared::store::schema;
use hdoc_shared::{AppState, Config};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// moto's account and the region the functions sign for.
const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// The writes a transaction holds, each of which AWS authorises as its own action.
const TRANSACTION_PARTS: &[&str] = &[
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
];

#[derive(Clone, Debug)]
struct Keys {
    access_key: String,
    secret_key: String,
}

/// The IAM-enforcing moto the test script started.
struct Moto {
    endpoint: String,
    admin: Keys,
    http: reqwest::Client,
}

impl Moto {
    fn from_env() -> Self {
        let endpoint = std::env::var("HDOC_TEST_IAM_ENDPOINT")
            .ok()
            .filter(|url| !url.is_empty())
            .expect(
                "HDOC_TEST_IAM_ENDPOINT must name a moto that enforces IAM: scripts/test.sh \
                 starts one (python3 scripts/moto_server.py PORT --iam KEYS.json)",
            );
        let path = std::env::var("HDOC_TEST_IAM_ADMIN_KEYS")
            .expect("HDOC_TEST_IAM_ADMIN_KEYS must name the KEYS.json that server wrote");
        let text = std::fs::read_to_string(&path).expect("the admin's keys are readable");
        let keys: Value = serde_json::from_str(&text).expect("the admin's keys are JSON");
        let field = |name: &str| keys[name].as_str().expect("a key").to_owned();
        Self {
            endpoint,
            admin: Keys {
                access_key: field("accessKeyId"),
                secret_key: field("secretAccessKey"),
            },
            http: reqwest::Client::new(),
        }
    }

    /// One call of moto's IAM API (the query protocol), signed by the admin.
    async fn iam(&self, action: &str, params: &[(&str, &str)]) -> String {
        let body = [("Action", action), ("Version", "2010-05-08")]
            .iter()
            .chain(params)
            .map(|(name, value)| format!("{}={}", form_encode(name), form_encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let url = format!("{}/", self.endpoint);
        let headers = [(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )];
        let identity = aws_sdk_dynamodb::config::Credentials::new(
            &self.admin.access_key,
            &self.admin.secret_key,
            None,
            None,
            "moto-admin",
        )
        .into();
        let signing = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(REGION)
            .name("iam")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .expect("signing parameters")
            .into();
        let signable = SignableRequest::new(
            "POST",
            &url,
            headers.iter().copied(),
            SignableBody::Bytes(body.as_bytes()),
        )
        .expect("a signable request");
        let (instructions, _) = sign(signable, &signing).expect("signed").into_parts();
        let mut request = self.http.post(&url).body(body.clone());
        for (name, value) in headers.iter().copied().chain(instructions.headers()) {
            request = request.header(name, value);
        }
        let response = request.send().await.expect("moto answers");
        let status = response.status();
        let text = response.text().await.expect("moto's answer");
        assert!(status.is_success(), "IAM {action}: {status} {text}");
        text
    }

    /// An IAM user holding only `policy`, and its access key.
    async fn user(&self, name: &str, policy: &Value) -> Keys {
        self.iam("CreateUser", &[("UserName", name)]).await;
        let document = policy.to_string();
        self.iam(
            "PutUserPolicy",
            &[
                ("UserName", name),
                ("PolicyName", "template-yaml"),
                ("PolicyDocument", &document),
            ],
        )
        .await;
        let answer = self.iam("CreateAccessKey", &[("UserName", name)]).await;
        let between = |open: &str, close: &str| {
            let start = answer.find(open).expect("a key in the answer") + open.len();
            let end = start + answer[start..].find(close).expect("closed");
            answer[start..end].to_owned()
        };
        Keys {
            access_key: between("<AccessKeyId>", "</AccessKeyId>"),
            secret_key: between("<SecretAccessKey>", "</SecretAccessKey>"),
        }
    }
}

/// `text` form-encoded as Python's `urlencode` does it: moto checks the
/// signature of a form over the form it parsed, encoded again that way, so
/// only a body encoded the same way keeps its signature (`*`, which the
/// policies hold, is one character the two ways of encoding differ on).
fn form_encode(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                encoded.push(char::from(byte));
            }
            b' ' => encoded.push('+'),
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

/// One statement of a function's policy as IAM in AWS reads it: its actions
/// and resources, with the table's and the bucket's ARNs resolved, and the
/// tests of its `Condition` (all of which must hold).
#[derive(Clone, Debug)]
struct Grant {
    actions: Vec<String>,
    resources: Vec<String>,
    conditions: Vec<Condition>,
}

/// The one condition key these policies use.
const LEADING_KEYS: &str = "dynamodb:LeadingKeys";

/// One test of a statement's `Condition` on `dynamodb:LeadingKeys`: the
/// partition key values a DynamoDB request reaches (each item's, or for an
/// index Query the index's partition). Only what IAM's evaluation is written
/// out for here; [`conditions`] refuses to read anything else.
#[derive(Clone, Debug, PartialEq)]
enum Condition {
    /// `ForAllValues:StringLike`: every leading key matches one of the
    /// patterns (`*`, `?`). True when the request has none (a Scan).
    AllLike(Vec<String>),
    /// `ForAllValues:StringEquals`: every leading key is one of the values.
    /// True when the request has none.
    AllEqual(Vec<String>),
    /// `Null`: `true` holds when the request has no leading key, `false`
    /// when it has one.
    Null(bool),
}

impl Condition {
    /// Whether the condition holds for a request reaching `keys`.
    fn holds(&self, keys: &[String]) -> bool {
        match self {
            Self::AllLike(patterns) => keys
                .iter()
                .all(|key| patterns.iter().any(|pattern| wildcard(pattern, key))),
            Self::AllEqual(values) => keys.iter().all(|key| values.contains(key)),
            Self::Null(absent) => keys.is_empty() == *absent,
        }
    }
}

/// The tests of a statement's `Condition` block (`id` names the function).
/// Panics on an operator or a key the authorizer does not evaluate, so that
/// a condition added to the template is never passed unread.
fn conditions(id: &str, block: &serde_yaml::Value) -> Vec<Condition> {
    if block.is_null() {
        return Vec::new();
    }
    let operators = block
        .as_mapping()
        .unwrap_or_else(|| panic!("{id}: a Condition is a mapping, not {block:?}"));
    let mut tests = Vec::new();
    for (operator, keys) in operators {
        // A bare `Null` key is YAML's null to serde_yaml (CloudFormation
        // reads it as the operator's name).
        let operator = match operator {
            serde_yaml::Value::Null => "Null",
            other => other.as_str().expect("a condition operator"),
        };
        let keys = keys
            .as_mapping()
            .unwrap_or_else(|| panic!("{id}: {operator} holds a mapping of keys"));
        for (key, values) in keys {
            let key = key.as_str().expect("a condition key");
            assert!(
                key == LEADING_KEYS,
                "{id}: the authorizer cannot evaluate the condition key {key} \
                 (tests/api/iam.rs evaluates {LEADING_KEYS} only)"
            );
            let values: Vec<String> = one_or_many(values)
                .iter()
                .map(|value| match value {
                    serde_yaml::Value::String(text) => text.clone(),
                    serde_yaml::Value::Bool(flag) => flag.to_string(),
                    other => panic!("{id}: {operator} {key}: a string, not {other:?}"),
                })
                .collect();
            tests.push(match operator {
                "ForAllValues:StringLike" => Condition::AllLike(values),
                "ForAllValues:StringEquals" => Condition::AllEqual(values),
                "Null" => match values.as_slice() {
                    [flag] if flag == "true" || flag == "false" => Condition::Null(flag == "true"),
                    other => panic!("{id}: Null {key}: true or false, not {other:?}"),
                },
                other => panic!(
                    "{id}: the authorizer cannot evaluate the condition operator {other} \
                     on {key} (tests/api/iam.rs): teach it before the template uses it"
                ),
            });
        }
    }
    tests
}

/// The secrets of a stack: created by the admin on moto, as the stack (the
/// cursor key) and its deployer (the GitHub token, the webhook's secret,
/// named by the template's parameters) would.
#[derive(Clone, Debug)]
struct Secrets {
    /// Each secret's full ARN (with the suffix moto added) and its value.
    cursor: (String, String),
    token: (String, String),
    webhook: (String, String),
}

impl Secrets {
    async fn create(moto: &Moto, run: &str) -> Self {
        let sdk = sdk_as(&moto.admin).await;
        let admin = AwsJson::new(&sdk, SECRETS_MANAGER, Some(&moto.endpoint)).expect("a client");
        let create = async |name: String, value: &str| {
            let answer = admin
                .call(
                    "CreateSecret",
                    &json!({"Name": name, "SecretString": value}),
                )
                .await
                .expect("the admin creates a secret");
            let arn = answer["ARN"].as_str().expect("its ARN").to_owned();
            (arn, value.to_owned())
        };
        Self {
            cursor: create(
                format!("hdoc-iam-{run}-cursor-secret"),
                "iam-cursor-key-from-secrets-manager",
            )
            .await,
            token: create(format!("hdoc-iam-{run}-github-token"), "ghp_iam_token").await,
            webhook: create(format!("hdoc-iam-{run}-webhook"), WEBHOOK_SECRET).await,
        }
    }

    fn arns(&self) -> Vec<String> {
        [&self.cursor, &self.token, &self.webhook]
            .into_iter()
            .map(|(arn, _)| arn.clone())
            .collect()
    }

    /// A secret's name: its ARN's resource without the suffix.
    fn name(arn: &str) -> &str {
        let suffixed = arn.rsplit(":secret:").next().expect("a secret's ARN");
        suffixed.rsplit_once('-').map_or(suffixed, |(name, _)| name)
    }

    /// A `!Sub` string of template.yaml's secrets as this stack deploys
    /// them: both optional secrets given (HasGitHubToken, HasWebhookSecret).
    fn resolve(&self, text: &str) -> String {
        text.replace("${CursorSecret}", &self.cursor.0)
            .replace("${GitHubTokenSecret}", Self::name(&self.token.0))
            .replace("${GitHubWebhookSecret}", Self::name(&self.webhook.0))
            .replace("${AWS::Partition}", "aws")
            .replace("${AWS::Region}", REGION)
            .replace("${AWS::AccountId}", ACCOUNT)
    }
}

/// The conditions template.yaml's `!If`s ask, as this test's stack has them.
fn holds(condition: &str) -> bool {
    match condition {
        "HasGitHubToken" | "HasWebhookSecret" => true,
        other => panic!("the condition {other} is not decided here (tests/api/iam.rs)"),
    }
}

/// What the template's references name in one of these stacks.
struct Names<'a> {
    table: &'a str,
    bucket: &'a str,
    pool: &'a str,
    secrets: &'a Secrets,
}

/// The statements `template.yaml` grants the function built from `binary`.
fn grants(template: &serde_yaml::Value, binary: &str, names: &Names) -> Vec<Grant> {
    let (id, resource) = function_resource(template, binary);
    let table_arn = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{}", names.table);
    let bucket_arn = format!("arn:aws:s3:::{}", names.bucket);
    let pool_arn = format!(
        "arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{}",
        names.pool
    );
    let mut grants = Vec::new();
    for policy in policies(template, id, resource) {
        for statement in one_or_many(&policy["Statement"]) {
            // A statement only on a condition (`!If`): as this stack decides it.
            let (when, statement) = conditional(statement);
            if when.is_some_and(|condition| !holds(&condition)) {
                continue;
            }
            assert_eq!(statement["Effect"], "Allow", "{id}: {statement:?}");
            let actions = one_or_many(&statement["Action"])
                .iter()
                .map(|action| action.as_str().expect("an action").to_owned())
                .collect();
            let resources = one_or_many(&statement["Resource"])
                .iter()
                .filter_map(|target| match conditional(target) {
                    (Some(condition), target) => holds(&condition).then_some(target),
                    (None, target) => Some(target),
                })
                .map(|target| {
                    let arn = names
                        .secrets
                        .resolve(&as_sub(target))
                        .replace("${Table.Arn}", &table_arn)
                        .replace("${MediaBucket.Arn}", &bucket_arn)
                        .replace("${UserPool.Arn}", &pool_arn);
                    assert!(!arn.contains("${"), "{id}: {arn} is not deployed here");
                    arn
                })
                .collect();
            let conditions = conditions(id, &statement["Condition"]);
            grants.push(Grant {
                actions,
                resources,
                conditions,
            });
        }
    }
    assert!(!grants.is_empty(), "{id} has no policy");
    grants
}

/// `grants` as moto 5.2.1 can evaluate them (see the module's notes): each
/// DynamoDB, Cognito and Secrets Manager statement on `*` (moto checks only
/// S3's resources)
/// without its conditions (the [`Authorizer`] evaluates DynamoDB's), and
/// `TransactWriteItems` when the policy grants what a transaction holds. S3
/// statements keep their ARNs.
fn moto_policy(grants: &[Grant]) -> Value {
    let mut statements: Vec<Value> = grants
        .iter()
        .map(|grant| {
            let dynamodb = grant.actions.iter().all(|a| a.starts_with("dynamodb:"));
            let s3 = grant.actions.iter().all(|a| a.starts_with("s3:"));
            let cognito = grant.actions.iter().all(|a| a.starts_with("cognito-idp:"));
            let secrets = grant
                .actions
                .iter()
                .all(|a| a.starts_with("secretsmanager:"));
            assert!(
                dynamodb || s3 || cognito || secrets,
                "one service a statement: {grant:?}"
            );
            assert!(
                dynamodb || grant.conditions.is_empty(),
                "moto would be given a condition it does not evaluate: {grant:?}"
            );
            // The authorizer checks Secrets Manager's resources (the secrets' ARNs).
            let resource = if dynamodb || cognito || secrets {
                json!("*")
            } else {
                json!(grant.resources)
            };
            json!({"Effect": "Allow", "Action": grant.actions, "Resource": resource})
        })
        .collect();
    let transacts = grants
        .iter()
        .flat_map(|grant| &grant.actions)
        .any(|action| TRANSACTION_PARTS.contains(&action.as_str()));
    if transacts {
        statements.push(json!({
            "Effect": "Allow",
            "Action": "dynamodb:TransactWriteItems",
            "Resource": "*"
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The GitHub stand-in the functions read (the journey job, the
/// verification check, the webhook), once a test has started one.
static GITHUB_API: std::sync::OnceLock<String> = std::sync::OnceLock::new();
/// The push webhook's secret in these stacks.
const WEBHOOK_SECRET: &str = "iam-webhook-secret";

/// Where a function's SDK clients send their calls: DynamoDB's and S3's endpoints.
struct Endpoints<'a> {
    dynamodb: &'a str,
    s3: &'a str,
}

/// A function's Init as Lambda runs it (`Config::for_lambda_from`): the
/// secrets' ARNs its template.yaml environment names, resolved for this
/// stack, each read from Secrets Manager at `endpoint` with the function's
/// own keys.
async fn init(
    template: &serde_yaml::Value,
    binary: &str,
    keys: &Keys,
    secrets: &Secrets,
    endpoint: &str,
    cursors: Cursors,
) -> Result<Config, String> {
    let (_, resource) = function_resource(template, binary);
    let globals = &template["Globals"]["Function"]["Environment"]["Variables"];
    let own = &resource["Properties"]["Environment"]["Variables"];
    let mut variables: BTreeMap<&str, String> = [
        ("HDOC_STAGE", "dev".to_owned()),
        ("HDOC_TABLE", "hdoc-iam".to_owned()),
        ("HDOC_CORS_ORIGINS", "*".to_owned()),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", endpoint.to_owned()),
    ]
    .into();
    for secret in hdoc_shared::config::SECRETS {
        let value = [own, globals]
            .into_iter()
            .map(|vars| &vars[secret.arn_variable])
            .find(|value| !value.is_null());
        if let Some((condition, value)) = value.map(conditional)
            && condition.as_deref().is_none_or(holds)
            && value.as_str() != Some("")
        {
            variables.insert(secret.arn_variable, secrets.resolve(&as_sub(value)));
        }
    }
    let sdk = sdk_as(keys).await;
    Config::for_lambda_from(|key| variables.get(key).cloned(), &sdk, cursors).await
}

/// The state a function builds at cold start (`AppState::from_env`, and the
/// photo store when the template gives it a bucket), on `endpoints`, with
/// `keys`, and the secrets its Init read (`init`; the admin has none).
async fn state_for(
    endpoints: &Endpoints<'_>,
    table: &str,
    bucket: &str,
    keys: &Keys,
    photos: bool,
    photo_urls: bool,
    init: Option<&Config>,
) -> AppState {
    let github = GITHUB_API.get().cloned();
    let mut config = Config::from_lookup(|key| match key {
        "HDOC_TABLE" => Some(table.to_owned()),
        "HDOC_GITHUB_API" => github.clone(),
        "HDOC_BUCKET" if photos => Some(bucket.to_owned()),
        "HDOC_MEDIA_BASE_URL" if photo_urls => Some("https://cdn.example".to_owned()),
        "AWS_ENDPOINT_URL_DYNAMODB" => Some(endpoints.dynamodb.to_owned()),
        "AWS_ENDPOINT_URL_S3" => Some(endpoints.s3.to_owned()),
        _ => None,
    });
    if let Some(init) = init {
        config.cursor_secret = init.cursor_secret.clone();
        config.github_token = init.github_token.clone();
        config.webhook_secret = init.webhook_secret.clone();
    }
    config.static_credentials = Some(StaticCredentials {
        access_key: keys.access_key.clone(),
        secret_key: keys.secret_key.clone(),
        region: REGION.to_owned(),
    });
    let state = AppState::connect(config).await;
    if photos { state.with_photos() } else { state }
}

/// A table and a bucket on the IAM-enforcing moto, made by the admin, and
/// one IAM user per function of the template holding only that function's
/// policy. The functions' DynamoDB calls pass an [`Authorizer`] on their way
/// to moto; their S3 calls go to moto directly.
struct Stack {
    moto: Moto,
    table: String,
    bucket: String,
    /// The user pool's id.
    pool: String,
    admin: AppState,
    /// Each function's state (by binary name), on its own user's keys.
    functions: BTreeMap<&'static str, AppState>,
    /// Each function's keys.
    keys: BTreeMap<&'static str, Keys>,
    authorizer: Authorizer,
    /// The stack's secrets, and where the functions read them (the authorizer).
    secrets: Secrets,
    secrets_endpoint: String,
}

impl Stack {
    async fn deploy() -> Self {
        let moto = Moto::from_env();
        let run = uuid::Uuid::new_v4().simple().to_string();
        let (table, bucket) = (format!("hdoc-iam-{run}"), format!("hdoc-iam-{run}"));
        let direct = Endpoints {
            dynamodb: &moto.endpoint,
            s3: &moto.endpoint,
        };
        let admin = state_for(&direct, &table, &bucket, &moto.admin, true, true, None).await;
        let secrets = Secrets::create(&moto, &run[..12]).await;
        schema::create_table(admin.repo.client(), &table)
            .await
            .expect("the admin creates the table");
        let photos = admin.photos().expect("the admin's photo store");
        hdoc_local::s3::create_bucket_named(photos.client(), photos.bucket())
            .await
            .expect("the admin creates the bucket");

        // The user pool, with its admin group, as the template makes it.
        let pool = cognito(&moto.endpoint, &moto.admin)
            .await
            .call(
                "CreateUserPool",
                &json!({"PoolName": format!("hdoc-iam-{run}")}),
            )
            .await
            .expect("the admin creates the user pool");
        let pool = pool["UserPool"]["Id"]
            .as_str()
            .expect("a pool id")
            .to_owned();

        let template = template();
        let (mut keys, mut policies) = (BTreeMap::new(), BTreeMap::new());
        let names = Names {
            table: &table,
            bucket: &bucket,
            pool: &pool,
            secrets: &secrets,
        };
        for binary in binaries() {
            let granted = grants(&template, binary, &names);
            let user = moto
                .user(&format!("{binary}-{}", &run[..12]), &moto_policy(&granted))
                .await;
            policies.insert(user.access_key.clone(), (binary, granted));
            keys.insert(binary, user);
        }
        let (authorizer, checked) =
            Authorizer::start(&moto.endpoint, policies, secrets.arns()).await;
        let through = Endpoints {
            dynamodb: &checked,
            s3: &moto.endpoint,
        };
        let mut functions = BTreeMap::new();
        for (binary, user) in &keys {
            let (_, resource) = function_resource(&template, binary);
            let variables = &resource["Properties"]["Environment"]["Variables"];
            let photos = !variables["HDOC_BUCKET"].is_null();
            let photo_urls = !variables["HDOC_MEDIA_BASE_URL"].is_null();
            let globals = &template["Globals"]["Function"]["Environment"]["Variables"];
            let named = |variable: &str| {
                let value = if variables[variable].is_null() {
                    &globals[variable]
                } else {
                    &variables[variable]
                };
                !value.is_null() && value.as_str() != Some("")
            };
            // Init as the function's main.rs runs it: an HTTP function signs
            // cursors and is given their key; a function events invoke hands
            // out none, is given no key and reads none; the pre-token
            // trigger builds no Config at all (`run_trigger_lambda`).
            let cursors = if *binary == "pre-token" {
                None
            } else if hdoc_tests::FUNCTIONS.iter().any(|f| f.name == *binary) {
                Some(Cursors::Signed)
            } else {
                Some(Cursors::Unsigned)
            };
            assert_eq!(
                named("HDOC_CURSOR_SECRET_ARN"),
                cursors == Some(Cursors::Signed),
                "{binary}: the cursor key goes only to the functions that sign cursors"
            );
            // Init reads the function's secrets through the authorizer, on
            // its own keys: every one its environment names, or it fails.
            let read = if let Some(cursors) = cursors {
                let read = init(&template, binary, user, &secrets, &checked, cursors)
                    .await
                    .unwrap_or_else(|err| {
                        panic!(
                            "{binary}'s Init: {err}; IAM refused {:?}",
                            authorizer.refused()
                        )
                    });
                assert_eq!(
                    read.cursor_secret == secrets.cursor.1,
                    cursors == Cursors::Signed,
                    "{binary}'s cursor key"
                );
                assert_eq!(
                    read.github_token.as_ref().map(|token| token.0.as_str()),
                    named("HDOC_GITHUB_TOKEN_ARN").then_some(secrets.token.1.as_str()),
                    "{binary}'s GitHub token"
                );
                assert_eq!(
                    read.webhook_secret.as_ref().map(|secret| secret.0.as_str()),
                    named("HDOC_GITHUB_WEBHOOK_SECRET_ARN").then_some(secrets.webhook.1.as_str()),
                    "{binary}'s webhook secret"
                );
                Some(read)
            } else {
                None
            };
            functions.insert(
                *binary,
                state_for(
                    &through,
                    &table,
                    &bucket,
                    user,
                    photos,
                    photo_urls,
                    read.as_ref(),
                )
                .await,
            );
        }
        Self {
            moto,
            table,
            bucket,
            pool,
            admin,
            functions,
            keys,
            authorizer,
            secrets,
            secrets_endpoint: checked,
        }
    }

    /// A function's state on its keys, its DynamoDB calls sent straight to
    /// moto (past the authorizer).
    async fn direct(&self, keys: &Keys) -> AppState {
        let endpoints = Endpoints {
            dynamodb: &self.moto.endpoint,
            s3: &self.moto.endpoint,
        };
        state_for(
            &endpoints,
            &self.table,
            &self.bucket,
            keys,
            true,
            true,
            None,
        )
        .await
    }

    fn function(&self, binary: &str) -> &AppState {
        self.functions
            .get(binary)
            .unwrap_or_else(|| panic!("no function {binary} in template.yaml"))
    }
}

/// IAM's authorisation of DynamoDB calls as AWS does it, where moto 5.2.1
/// cannot: each call's resource (the table, or the index a Query or Scan
/// names), each write inside a transaction (a Put is `PutItem`, an Update
/// `UpdateItem`, a Delete `DeleteItem`, a ConditionCheck `ConditionCheckItem`,
/// each on its table) and the `dynamodb:LeadingKeys` each of those reaches
/// ([`required`]), against the statements' conditions. A proxy in front of
/// moto: it reads the calls signed
/// with a function's key, checks them against that function's statements as
/// `template.yaml` writes them (ARNs resolved), and refuses what they do not
/// allow as DynamoDB does (400 `AccessDeniedException`); what they allow goes
/// on, untouched and still signed, to moto, which checks the signature and
/// the action again.
#[derive(Clone)]
struct Authorizer {
    moto: String,
    /// Each function's access key: its name and its statements.
    policies: Arc<BTreeMap<String, (&'static str, Vec<Grant>)>>,
    /// The full ARNs of the stack's secrets, to which a call naming one by
    /// name or partial ARN is resolved (IAM authorises the secret's ARN).
    secrets: Arc<Vec<String>>,
    /// What it refused, as "function: action on resource [leading keys]
    /// (operation)".
    refused: Arc<Mutex<Vec<String>>>,
    http: reqwest::Client,
}

impl Authorizer {
    /// Starts one in front of `moto`; returns it and its endpoint.
    async fn start(
        moto: &str,
        policies: BTreeMap<String, (&'static str, Vec<Grant>)>,
        secrets: Vec<String>,
    ) -> (Self, String) {
        let authorizer = Self {
            moto: moto.to_owned(),
            policies: Arc::new(policies),
            secrets: Arc::new(secrets),
            refused: Arc::default(),
            http: reqwest::Client::new(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the authorizer");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let app = axum::Router::new()
            .fallback(authorize)
            .with_state(authorizer.clone());
        tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the authorizer serves")
        });
        (authorizer, endpoint)
    }

    fn refused(&self) -> Vec<String> {
        self.refused
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// The authorizer's one handler: check, then forward to moto or refuse.
async fn authorize(
    axum::extract::State(authorizer): axum::extract::State<Authorizer>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("the request body");
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    };
    // Credential=AKID/date/region/service/aws4_request
    let key = header("authorization")
        .split("Credential=")
        .nth(1)
        .and_then(|credential| credential.split('/').next())
        .unwrap_or_default();
    if let Some((function, grants)) = authorizer.policies.get(key) {
        let target = header("x-amz-target");
        let operation = target.rsplit('.').next().unwrap_or_default();
        let call: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let secrets_manager = target.starts_with("secretsmanager.");
        let needed = if secrets_manager {
            let id = call["SecretId"].as_str().unwrap_or_default();
            vec![Needed {
                action: format!("secretsmanager:{operation}"),
                resource: secret_arn(&authorizer.secrets, id),
                leading_keys: Ok(Vec::new()),
            }]
        } else {
            required(operation, &call)
        };
        for needed in needed {
            if !allows(grants, &needed) {
                let Needed {
                    action,
                    resource,
                    leading_keys,
                } = needed;
                let keys = match leading_keys {
                    Ok(keys) => format!("{keys:?}"),
                    Err(unread) => format!("(leading keys unread: {unread})"),
                };
                let refusal = format!("{function}: {action} on {resource} {keys} ({operation})");
                authorizer
                    .refused
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(refusal.clone());
                // As each service answers it: DynamoDB in JSON 1.0,
                // Secrets Manager in 1.1.
                let (code, content_type) = if secrets_manager {
                    ("AccessDeniedException", "application/x-amz-json-1.1")
                } else {
                    (
                        "com.amazonaws.dynamodb.v20120810#AccessDeniedException",
                        "application/x-amz-json-1.0",
                    )
                };
                let answer = json!({
                    "__type": code,
                    "message": format!("not authorized to perform {refusal}"),
                });
                let mut response = axum::response::Response::new(answer.to_string().into());
                *response.status_mut() = http::StatusCode::BAD_REQUEST;
                response
                    .headers_mut()
                    .insert("content-type", http::HeaderValue::from_static(content_type));
                return response;
            }
        }
    }
    // Forwarded as signed: the Host header too, which the signature covers.
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = authorizer
        .http
        .request(parts.method.clone(), format!("{}{target}", authorizer.moto))
        .body(body);
    for (name, value) in &parts.headers {
        if !matches!(
            name.as_str(),
            "content-length" | "connection" | "transfer-encoding"
        ) {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = outgoing.send().await.expect("moto answers");
    let status = answer.status();
    let mut headers = answer.headers().clone();
    let body = answer.bytes().await.expect("moto's answer");
    for name in ["content-length", "connection", "transfer-encoding"] {
        headers.remove(name);
    }
    let mut response = axum::response::Response::new(axum::body::Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// The secret a `SecretId` names, as IAM authorises it: its full ARN, found
/// among `secrets` by full ARN, partial ARN (without the suffix) or name;
/// anything else stays as it is (moto then finds no such secret).
fn secret_arn(secrets: &[String], id: &str) -> String {
    secrets
        .iter()
        .find(|arn| {
            *arn == id
                || arn
                    .strip_prefix(id)
                    .is_some_and(|rest| rest.len() == 7 && rest.starts_with('-'))
                || arn
                    .rsplit(":secret:")
                    .next()
                    .and_then(|suffixed| suffixed.strip_prefix(id))
                    .is_some_and(|rest| rest.len() == 7 && rest.starts_with('-'))
        })
        .cloned()
        .unwrap_or_else(|| id.to_owned())
}

/// One authorisation IAM in AWS makes for a DynamoDB call: an action on a
/// resource, with the partition key values (`dynamodb:LeadingKeys`) it
/// reaches, or why they could not be read (then nothing allows it).
#[derive(Debug)]
struct Needed {
    action: String,
    resource: String,
    leading_keys: Result<Vec<String>, String>,
}

/// The authorisations IAM in AWS makes for a DynamoDB `operation` with the
/// request body `call`: one per table of a batch (its leading keys those of
/// all its items), one per part of a transaction (its item's), one for any
/// other call (its item's; a Query's the partition its key condition names,
/// of the index when it names one; none for a Scan or a call on the table).
fn required(operation: &str, call: &Value) -> Vec<Needed> {
    let table = |name: &Value| {
        format!(
            "arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{}",
            name.as_str().unwrap_or("?")
        )
    };
    let parts = |parts: &[(&str, &str, &str)]| -> Vec<Needed> {
        let items = call["TransactItems"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        items
            .iter()
            .flat_map(|item| item.as_object().into_iter().flatten())
            .map(
                |(kind, part)| match parts.iter().find(|(name, ..)| name == kind) {
                    Some((_, action, key)) => Needed {
                        action: format!("dynamodb:{action}"),
                        resource: table(&part["TableName"]),
                        leading_keys: leading_key(&part[*key], schema::PK).map(|key| vec![key]),
                    },
                    None => Needed {
                        action: format!("dynamodb:{kind}?"),
                        resource: table(&part["TableName"]),
                        leading_keys: Err(format!("a {kind} in a transaction")),
                    },
                },
            )
            .collect()
    };
    let batch = |what: &dyn Fn(&Value) -> Result<Vec<String>, String>| -> Vec<Needed> {
        call["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, items)| Needed {
                action: format!("dynamodb:{operation}"),
                resource: table(&Value::String(name.clone())),
                leading_keys: what(items),
            })
            .collect()
    };
    let single = |leading_keys| {
        let mut resource = table(&call["TableName"]);
        if let Some(index) = call["IndexName"].as_str() {
            resource = format!("{resource}/index/{index}");
        }
        vec![Needed {
            action: format!("dynamodb:{operation}"),
            resource,
            leading_keys,
        }]
    };
    match operation {
        "TransactWriteItems" => parts(&[
            ("Put", "PutItem", "Item"),
            ("Update", "UpdateItem", "Key"),
            ("Delete", "DeleteItem", "Key"),
            ("ConditionCheck", "ConditionCheckItem", "Key"),
        ]),
        "TransactGetItems" => parts(&[("Get", "GetItem", "Key")]),
        "BatchGetItem" => batch(&|items| {
            let keys = items["Keys"]
                .as_array()
                .ok_or("a batch read without Keys")?;
            keys.iter()
                .map(|key| leading_key(key, schema::PK))
                .collect()
        }),
        "BatchWriteItem" => batch(&|items| {
            let writes = items
                .as_array()
                .ok_or("a batch write without its requests")?;
            writes
                .iter()
                .map(
                    |write| match (&write["PutRequest"], &write["DeleteRequest"]) {
                        (put, Value::Null) => leading_key(&put["Item"], schema::PK),
                        (Value::Null, delete) => leading_key(&delete["Key"], schema::PK),
                        _ => Err(format!(
                            "a batch write of neither one Put nor one Delete: {write}"
                        )),
                    },
                )
                .collect()
        }),
        "GetItem" | "UpdateItem" | "DeleteItem" => {
            single(leading_key(&call["Key"], schema::PK).map(|key| vec![key]))
        }
        "PutItem" => single(leading_key(&call["Item"], schema::PK).map(|key| vec![key])),
        "Query" => single(query_partition(call).map(|key| vec![key])),
        // A Scan reads every partition and names none; so do the calls on the
        // table itself (DescribeTable...).
        _ => single(Ok(Vec::new())),
    }
}

/// The value of the partition key `name` in an item or a key, in DynamoDB's
/// JSON (`{"PK": {"S": "USER#alice"}}`).
fn leading_key(item: &Value, name: &str) -> Result<String, String> {
    scalar(&item[name]).ok_or_else(|| format!("no {name} in {item}"))
}

/// A string, number or binary attribute value's text.
fn scalar(value: &Value) -> Option<String> {
    ["S", "N", "B"]
        .iter()
        .find_map(|kind| value[*kind].as_str().map(str::to_owned))
}

/// The partition a Query reads: the value its `KeyConditionExpression`
/// sets the partition key equal to (the index's partition key when it names
/// an index), placeholders resolved. Legacy `KeyConditions` are not read.
fn query_partition(call: &Value) -> Result<String, String> {
    let partition_key = match call["IndexName"].as_str() {
        None => schema::PK,
        Some(index) => {
            schema::INDEXES
                .iter()
                .find(|known| known.name == index)
                .ok_or_else(|| format!("no index {index} in the schema"))?
                .partition_key
        }
    };
    let expression = call["KeyConditionExpression"]
        .as_str()
        .ok_or("a Query without a KeyConditionExpression")?;
    let name = |token: &str| match token.strip_prefix('#') {
        Some(_) => call["ExpressionAttributeNames"][token]
            .as_str()
            .map(str::to_owned),
        None => Some(token.to_owned()),
    };
    let value = |token: &str| {
        token
            .starts_with(':')
            .then(|| scalar(&call["ExpressionAttributeValues"][token]))
            .flatten()
    };
    for clause in expression.split(" AND ").flat_map(|c| c.split(" and ")) {
        let Some((left, right)) = clause.split_once('=') else {
            continue;
        };
        let (left, right) = (left.trim(), right.trim());
        // `<=` and `>=` leave their `<` or `>` in `left`: no name matches it.
        for (side, other) in [(left, right), (right, left)] {
            if name(side).as_deref() == Some(partition_key)
                && let Some(value) = value(other)
            {
                return Ok(value);
            }
        }
    }
    Err(format!(
        "no {partition_key} = :value in the KeyConditionExpression {expression}"
    ))
}

/// Whether `grants` allow `needed`: a statement naming its action and its
/// resource (IAM's `*` and `?` wildcards) whose conditions all hold for the
/// leading keys it reaches. Unread leading keys are allowed by nothing.
fn allows(grants: &[Grant], needed: &Needed) -> bool {
    let Ok(keys) = &needed.leading_keys else {
        return false;
    };
    grants.iter().any(|grant| {
        grant
            .actions
            .iter()
            .any(|a| wildcard(&a.to_lowercase(), &needed.action.to_lowercase()))
            && grant
                .resources
                .iter()
                .any(|r| wildcard(r, &needed.resource))
            && grant.conditions.iter().all(|test| test.holds(keys))
    })
}

/// IAM's wildcard match: `*` any run of characters, `?` any one.
fn wildcard(pattern: &str, text: &str) -> bool {
    match pattern.chars().next() {
        None => text.is_empty(),
        Some('*') => (0..=text.len())
            .filter(|&at| text.is_char_boundary(at))
            .any(|at| wildcard(&pattern[1..], &text[at..])),
        Some(first) => text.chars().next().is_some_and(|next| {
            (first == '?' || first == next)
                && wildcard(&pattern[first.len_utf8()..], &text[next.len_utf8()..])
        }),
    }
}

#[test]
fn the_authorizer_reads_calls_as_iam_does() {
    let grants = [Grant {
        actions: vec!["dynamodb:Query".into(), "dynamodb:PutItem".into()],
        resources: vec!["arn:aws:dynamodb:us-east-1:123456789012:table/t/index/GSI1".into()],
        conditions: Vec::new(),
    }];
    let query = |index: Option<&str>| {
        json!({"TableName": "t", "IndexName": index, "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": "GSI1PK"},
            "ExpressionAttributeValues": {":pk": {"S": "USERS"}}})
    };
    let [on_index] = required("Query", &query(Some("GSI1")))
        .try_into()
        .expect("one");
    assert!(allows(&grants, &on_index));
    let [on_table] = required("Query", &query(None)).try_into().expect("one");
    assert!(!allows(&grants, &on_table), "the index is not the table");
    let transaction = json!({"TransactItems": [
        {"Put": {"TableName": "t", "Item": {"PK": {"S": "A#1"}}}},
        {"Delete": {"TableName": "t", "Key": {"PK": {"S": "B#2"}}}},
        {"ConditionCheck": {"TableName": "u", "Key": {"PK": {"S": "C#3"}}}}
    ]});
    let actions: Vec<String> = required("TransactWriteItems", &transaction)
        .into_iter()
        .map(|needed| format!("{} {}", needed.action, needed.resource))
        .collect();
    assert_eq!(
        actions,
        [
            "dynamodb:PutItem arn:aws:dynamodb:us-east-1:123456789012:table/t",
            "dynamodb:DeleteItem arn:aws:dynamodb:us-east-1:123456789012:table/t",
            "dynamodb:ConditionCheckItem arn:aws:dynamodb:us-east-1:123456789012:table/u",
        ]
    );
    assert!(wildcard(
        "arn:aws:s3:::b/reviews/*",
        "arn:aws:s3:::b/reviews/x/y.png"
    ));
    assert!(!wildcard(
        "arn:aws:s3:::b/reviews/*",
        "arn:aws:s3:::b/site/index.html"
    ));
    assert!(wildcard("dynamodb:Get?tem", "dynamodb:GetItem"));
}

/// The leading keys of each call, as [`required`] reads them.
fn leading_keys(operation: &str, call: &Value) -> Vec<Result<Vec<String>, String>> {
    required(operation, call)
        .into_iter()
        .map(|needed| needed.leading_keys)
        .collect()
}

#[test]
fn the_authorizer_reads_the_leading_keys_each_call_reaches() {
    let key = |pk: &str| json!({"PK": {"S": pk}, "SK": {"S": "X"}});
    let keys = |list: &[&str]| Ok(list.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>());
    let single = |operation: &str, call: Value| leading_keys(operation, &call);
    assert_eq!(
        single("GetItem", json!({"TableName": "t", "Key": key("USER#a")})),
        [keys(&["USER#a"])]
    );
    assert_eq!(
        single("PutItem", json!({"TableName": "t", "Item": key("TAG#aws")})),
        [keys(&["TAG#aws"])]
    );
    assert_eq!(
        single(
            "UpdateItem",
            json!({"TableName": "t", "Key": key("LIMIT#s")})
        ),
        [keys(&["LIMIT#s"])]
    );
    // A Query of the table: the partition in its key condition, whichever
    // side the name is on, with the sort key's condition beside it.
    let query = json!({"TableName": "t",
        "KeyConditionExpression": ":pk = PK AND begins_with(SK, :week)",
        "ExpressionAttributeValues": {":pk": {"S": "USER#a"}, ":week": {"S": "WEEK#"}}});
    assert_eq!(single("Query", query), [keys(&["USER#a"])]);
    // Of an index: the index's partition, not the table's key.
    let query = json!({"TableName": "t", "IndexName": "GSI2",
        "KeyConditionExpression": "#pk = :pk AND #sk >= :from",
        "ExpressionAttributeNames": {"#pk": "GSI2PK", "#sk": "GSI2SK"},
        "ExpressionAttributeValues": {":pk": {"S": "TAGS"}, ":from": {"S": "0"}}});
    assert_eq!(single("Query", query), [keys(&["TAGS"])]);
    // A key condition on another attribute is no partition: unread.
    let query = json!({"TableName": "t", "IndexName": "GSI1",
        "KeyConditionExpression": "PK = :pk",
        "ExpressionAttributeValues": {":pk": {"S": "USER#a"}}});
    assert!(single("Query", query)[0].is_err());
    // A batch: one authorisation per table, every item's key in it.
    let batch = json!({"RequestItems": {"t": {"Keys": [key("USER#a"), key("USER#b")]}}});
    assert_eq!(single("BatchGetItem", batch), [keys(&["USER#a", "USER#b"])]);
    let batch = json!({"RequestItems": {"t": [
        {"PutRequest": {"Item": key("ARTICLE#x")}}, {"DeleteRequest": {"Key": key("LIST#y")}}
    ]}});
    assert_eq!(
        single("BatchWriteItem", batch),
        [keys(&["ARTICLE#x", "LIST#y"])]
    );
    // A transaction: each part its own item's.
    let transaction = json!({"TransactItems": [
        {"Put": {"TableName": "t", "Item": key("REVIEW#r")}},
        {"Update": {"TableName": "t", "Key": key("SUBJECT#s")}},
        {"ConditionCheck": {"TableName": "t", "Key": key("USER#a")}}
    ]});
    assert_eq!(
        single("TransactWriteItems", transaction),
        [keys(&["REVIEW#r"]), keys(&["SUBJECT#s"]), keys(&["USER#a"])]
    );
    // A Scan names no partition.
    assert_eq!(single("Scan", json!({"TableName": "t"})), [keys(&[])]);
}

#[test]
fn leading_keys_conditions_hold_as_iam_evaluates_them() {
    let yaml = |text: &str| serde_yaml::from_str::<serde_yaml::Value>(text).expect("yaml");
    let like = conditions(
        "f",
        &yaml("ForAllValues:StringLike: {dynamodb:LeadingKeys: ['USER#*', 'WARMUP#']}"),
    );
    assert_eq!(
        like,
        [Condition::AllLike(vec!["USER#*".into(), "WARMUP#".into()])]
    );
    let keys = |list: &[&str]| list.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
    let holds = |tests: &[Condition], list: &[&str]| tests.iter().all(|t| t.holds(&keys(list)));
    assert!(holds(&like, &["USER#alice"]));
    assert!(
        holds(&like, &["USER#alice", "WARMUP#"]),
        "every key matches one"
    );
    assert!(
        !holds(&like, &["USER#alice", "CALLER#sub"]),
        "one key outside"
    );
    assert!(!holds(&like, &["WARMUP#x"]), "no wildcard, no prefix");
    assert!(
        !holds(&like, &["user#alice"]),
        "StringLike is case-sensitive"
    );
    // ForAllValues holds vacuously when the request reaches no partition.
    assert!(holds(&like, &[]));
    // A Null guard is what closes that gap.
    let guarded = conditions(
        "f",
        &yaml(
            "{ForAllValues:StringEquals: {dynamodb:LeadingKeys: ['USERS']}, \
              Null: {dynamodb:LeadingKeys: 'false'}}",
        ),
    );
    assert!(holds(&guarded, &["USERS"]));
    assert!(!holds(&guarded, &["USERS#"]), "StringEquals is exact");
    assert!(!holds(&guarded, &[]));

    // A statement with a condition allows a call only where it holds: each
    // part of a transaction on its own.
    let grants = [Grant {
        actions: vec!["dynamodb:PutItem".into(), "dynamodb:GetItem".into()],
        resources: vec!["arn:aws:dynamodb:us-east-1:123456789012:table/t".into()],
        conditions: like,
    }];
    let get = |pk: &str| json!({"TableName": "t", "Key": {"PK": {"S": pk}}});
    let allowed = |operation: &str, call: Value| {
        required(operation, &call)
            .iter()
            .map(|needed| allows(&grants, needed))
            .collect::<Vec<_>>()
    };
    assert_eq!(allowed("GetItem", get("USER#alice")), [true]);
    assert_eq!(allowed("GetItem", get("ARTICLE#day-1")), [false]);
    let transaction = json!({"TransactItems": [
        {"Put": {"TableName": "t", "Item": {"PK": {"S": "USER#alice"}}}},
        {"Put": {"TableName": "t", "Item": {"PK": {"S": "TAG#aws"}}}}
    ]});
    assert_eq!(allowed("TransactWriteItems", transaction), [true, false]);
    // Leading keys it cannot read are allowed by nothing.
    let unread = json!({"TableName": "t", "Key": {"SK": {"S": "PROFILE"}}});
    assert_eq!(allowed("GetItem", unread), [false]);
}

#[test]
#[should_panic(expected = "cannot evaluate the condition operator ForAnyValue:StringLike")]
fn a_condition_operator_the_authorizer_does_not_know_fails_loudly() {
    let block = serde_yaml::from_str("ForAnyValue:StringLike: {dynamodb:LeadingKeys: ['USER#*']}")
        .expect("yaml");
    conditions("f", &block);
}

#[test]
#[should_panic(expected = "cannot evaluate the condition key dynamodb:Attributes")]
fn a_condition_key_the_authorizer_does_not_know_fails_loudly() {
    let block = serde_yaml::from_str("ForAllValues:StringLike: {dynamodb:Attributes: ['id']}")
        .expect("yaml");
    conditions("f", &block);
}

/// A caller, as the JWT authorizer hands it to a function.
#[derive(Clone, Copy)]
struct As(&'static str, bool);

const ALICE: Option<As> = Some(As("alice-sub", false));
const ADMIN: Option<As> = Some(As("admin-sub", true));

/// Drives each function's router as Lambda does, with the function's own
/// credentials, and notes which of its routes answered with success.
struct Driver<'a> {
    stack: &'a Stack,
    served: BTreeSet<(&'static str, &'static str, &'static str)>,
}

impl Driver<'_> {
    /// `method path` on `function`'s router; its answer must be `status`.
    async fn call(
        &mut self,
        function: &'static str,
        method: &str,
        path: &str,
        caller: Option<As>,
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let answer = send(
            self.stack.function(function),
            function,
            method,
            path,
            caller,
            body,
        )
        .await;
        let (actual, json) = answer;
        assert_eq!(
            actual,
            status,
            "{function}: {method} {path} answered {json}; IAM refused {:?}",
            self.stack.authorizer.refused()
        );
        if (200..300).contains(&actual) {
            self.served.insert(route_of(function, method, path));
        }
        json
    }

    /// Every route of every function answered with success at least once.
    fn assert_every_route_served(&self) {
        let all: BTreeSet<_> = hdoc_tests::FUNCTIONS
            .iter()
            .flat_map(|function| {
                function
                    .routes
                    .iter()
                    .map(|route| (function.name, route.method, route.path))
            })
            .collect();
        let missing: Vec<_> = all.difference(&self.served).collect();
        assert!(missing.is_empty(), "routes not driven: {missing:?}");
    }
}

/// `method path` on `function`'s router with `state`: the status and the JSON body.
async fn send(
    state: &AppState,
    function: &str,
    method: &str,
    path: &str,
    caller: Option<As>,
    body: Option<Value>,
) -> (u16, Value) {
    let router = (hdoc_tests::function(function).router)();
    let mut request = http::Request::builder().method(method).uri(path);
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    // Creates are sent with an Idempotency-Key: their record is read and
    // written under the policy too (a create without one calls a subset).
    if method == "POST" {
        request = request.header("idempotency-key", uuid::Uuid::new_v4().to_string());
    }
    let body = body.map(|body| body.to_string()).unwrap_or_default();
    // GitHub's deliveries are signed pushes.
    if path == "/github/webhook" {
        let signature = ::github::signature(WEBHOOK_SECRET.as_bytes(), body.as_bytes());
        request = request
            .header("x-github-event", "push")
            .header("x-hub-signature-256", signature);
    }
    let request = request
        .body(axum::body::Body::from(body))
        .expect("a request");
    let claims = caller.map(|As(sub, admin)| {
        let mut claims = json!({"sub": sub});
        if admin {
            claims["cognito:groups"] = json!("[admin]");
        }
        claims
    });
    let (status, bytes) = hdoc_tests::invoke(router, state, request, claims).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The route of `function` that `method path` is.
fn route_of(
    function: &str,
    method: &str,
    path: &str,
) -> (&'static str, &'static str, &'static str) {
    let function = hdoc_tests::function(function);
    let segments: Vec<&str> = path.split('?').next().unwrap_or(path).split('/').collect();
    let route = function
        .routes
        .iter()
        .find(|route| {
            let pattern: Vec<&str> = route.path.split('/').collect();
            route.method == method
                && pattern.len() == segments.len()
                && pattern
                    .iter()
                    .zip(&segments)
                    .all(|(p, s)| p == s || p.starts_with('{'))
        })
        .unwrap_or_else(|| panic!("{method} {path} is no route of {}", function.name));
    (function.name, route.method, route.path)
}

/// The table-stream event of `events/purge-user-stream.json`, for the user `id`.
fn tombstone_event(id: &str) -> lambda_http::aws_lambda_events::dynamodb::Event {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../events/purge-user-stream.json"
    );
    let text = std::fs::read_to_string(path).expect("the stream event");
    serde_json::from_str(&text.replace("USER#alice", &format!("USER#{id}"))).expect("an event")
}

#[tokio::test]
#[ignore = "needs the IAM-enforcing moto that scripts/test.sh starts (HDOC_TEST_IAM_ENDPOINT)"]
async fn every_function_works_with_only_the_policy_template_yaml_grants_it() {
    let github = hdoc_tests::github::FakeGitHub::start().await;
    github.template();
    GITHUB_API
        .set(github.base.clone())
        .expect("one GitHub stand-in for this test");
    let stack = Stack::deploy().await;
    // Each function's cold start opens its connection with the read its
    // main.rs names (`AppState::warm_up`, of a key no item has); pre-token
    // has no table (`run_trigger_lambda`).
    for (binary, state) in &stack.functions {
        let how = match *binary {
            "pre-token" => continue,
            "leaderboard" => WarmUp::Query(schema::GSI2),
            _ => WarmUp::GetItem,
        };
        state.warm_up(how).await;
    }
    assert_eq!(
        stack.authorizer.refused(),
        Vec::<String>::new(),
        "the warm-ups"
    );
    let mut run = Driver {
        stack: &stack,
        served: BTreeSet::new(),
    };

    // users: create, read, list both ways, update (owner and admin), the
    // caller's own, hand over.
    let profile = json!({"githubProfile": "alice", "name": "Alice"});
    run.call("users", "POST", "/users", ALICE, Some(profile), 201)
        .await;
    run.call("users", "GET", "/users/alice", None, None, 200)
        .await;
    run.call("users", "GET", "/users", None, None, 200).await;
    run.call("users", "GET", "/users?order=newest", None, None, 200)
        .await;
    let edit = json!({"bio": "rustacean"});
    run.call("users", "PUT", "/users/alice", ALICE, Some(edit), 200)
        .await;
    let scores = json!({"githubScore": 42, "daysCompleted": 3});
    run.call("users", "PUT", "/users/alice", ADMIN, Some(scores), 200)
        .await;
    // GET /me: the owner claim, then the profile (two GetItems).
    let me = run.call("users", "GET", "/me", ALICE, None, 200).await;
    assert_eq!(me["id"], "alice");
    // An imported profile (as `hdoc-local import` makes one) handed to its owner.
    let now = Timestamp::now();
    let imported = User {
        id: UserId::parse("bob").expect("id"),
        name: "Bob".to_owned().try_into().expect("name"),
        twitter_profile: None,
        linkedin_profile: None,
        bio: None,
        avatar_image: None,
        progress: Progress::default(),
        date_joined: now.clone(),
        updated_at: now,
        journey_repo: None,
        blog_url: None,
        journey: Default::default(),
    };
    stack
        .admin
        .repo
        .import_profiles(&[imported])
        .await
        .expect("imported");
    let owner = json!({"sub": "bob-sub"});
    run.call("users", "PUT", "/users/bob/owner", ADMIN, Some(owner), 200)
        .await;

    // leaderboard
    let top = run
        .call("leaderboard", "GET", "/leaderboard", None, None, 200)
        .await;
    assert_eq!(top[0]["id"], "alice", "{top}");

    // articles: two, listed every way, one edited and deleted.
    let first = json!({"title": "Day 1: Lambda", "subtitle": "Hello", "body": "...", "tags": ["AWS", "Open System"]});
    let slug = run
        .call("articles", "POST", "/articles", ALICE, Some(first), 201)
        .await["slug"]
        .as_str()
        .expect("slug")
        .to_owned();
    let second = json!({"title": "Day 2", "body": "...", "tags": ["aws"]});
    run.call("articles", "POST", "/articles", ALICE, Some(second), 201)
        .await;
    for path in ["/articles", "/articles?tag=aws", "/articles?author=alice"] {
        run.call("articles", "GET", path, None, None, 200).await;
    }
    run.call(
        "articles",
        "GET",
        &format!("/articles/{slug}"),
        None,
        None,
        200,
    )
    .await;
    let edit = json!({"tags": ["aws", "lambda"]});
    run.call("articles", "PUT", "/articles/day-2", ALICE, Some(edit), 200)
        .await;
    run.call("articles", "DELETE", "/articles/day-2", ALICE, None, 204)
        .await;

    // tags
    run.call("tags", "GET", "/tags", None, None, 200).await;
    let aws = run.call("tags", "GET", "/tags/aws", None, None, 200).await;
    assert_eq!(aws["count"], 1, "{aws}");

    // reviews: two, each with a photo that the photo-uploaded function joins.
    let mut reviews = Vec::new();
    for title in ["Wow", "Again"] {
        let body = json!({"subject": "park:yosemite", "title": title, "body": "Half Dome"});
        let review = run
            .call("reviews", "POST", "/reviews", ALICE, Some(body), 201)
            .await;
        reviews.push(review["id"].as_str().expect("id").to_owned());
    }
    for path in ["/reviews?subject=park:yosemite", "/reviews?author=alice"] {
        run.call("reviews", "GET", path, None, None, 200).await;
    }
    let edit = json!({"title": "Edited"});
    let first_review = format!("/reviews/{}", reviews[0]);
    run.call("reviews", "PUT", &first_review, ALICE, Some(edit), 200)
        .await;
    let reviews_photos = stack
        .function("reviews")
        .photos()
        .expect("reviews has photos");
    let mut keys = Vec::new();
    for id in &reviews {
        let request = json!({"contentType": "image/png", "contentLength": 5});
        let path = format!("/reviews/{id}/photos");
        let upload = run
            .call("reviews", "POST", &path, ALICE, Some(request), 201)
            .await;
        let url = upload["photoUrl"].as_str().expect("photoUrl");
        let key = reviews_photos.key_of(url).expect("a photo key");
        // The browser's PUT of the presigned URL, which the reviews function
        // signed: moto cannot check a presigned request, so the same
        // PutObject is made signed with the signer's keys. A presigned URL
        // lets its holder do exactly what its signer may.
        reviews_photos
            .client()
            .put_object()
            .bucket(reviews_photos.bucket())
            .key(&key)
            .content_type("image/png")
            .body(b"\x89PNG\n".to_vec().into())
            .send()
            .await
            .expect("the reviews function may put its photos");
        reviews::photos_uploaded(stack.function("photo-uploaded"), [key.clone()])
            .await
            .expect("the photo joins its review");
        keys.push(key);
    }
    let shown = run
        .call("reviews", "GET", &first_review, None, None, 200)
        .await;
    assert_eq!(shown["photos"].as_array().map(Vec::len), Some(1), "{shown}");
    let second_review = format!("/reviews/{}", reviews[1]);
    run.call("reviews", "DELETE", &second_review, ALICE, None, 204)
        .await;
    assert!(
        !object_exists(&stack, &keys[1]).await,
        "its photo went with it"
    );
    // An upload that arrives after its review is gone: photo-uploaded, on
    // its own policy, deletes it.
    let late = keys[1].replace(".png", "-late.png");
    reviews_photos
        .client()
        .put_object()
        .bucket(reviews_photos.bucket())
        .key(&late)
        .content_type("image/png")
        .body(b"\x89PNG\n".to_vec().into())
        .send()
        .await
        .expect("the reviews function may put its photos");
    reviews::photos_uploaded(stack.function("photo-uploaded"), [late.clone()])
        .await
        .expect("photo-uploaded may delete an upload no review awaits");
    assert!(
        !object_exists(&stack, &late).await,
        "the late upload is gone"
    );

    // ratings: rate, read both ways, unrate, rate again.
    let rating = "/ratings/park:yosemite";
    run.call(
        "ratings",
        "PUT",
        rating,
        ALICE,
        Some(json!({"stars": 5})),
        200,
    )
    .await;
    run.call("ratings", "GET", rating, None, None, 200).await;
    run.call(
        "ratings",
        "GET",
        &format!("{rating}/mine"),
        ALICE,
        None,
        200,
    )
    .await;
    run.call("ratings", "DELETE", rating, ALICE, None, 204)
        .await;
    run.call(
        "ratings",
        "PUT",
        rating,
        ALICE,
        Some(json!({"stars": 4})),
        200,
    )
    .await;

    // The journey: alice names her copy of the template, proves the
    // account with a code in its README (users reads GitHub), and the
    // journey job (activity) reads her push and records her day with her
    // numbers, leaderboard key and week entries in one transaction; a
    // second run finds nothing new (304s) and writes nothing. Her journey,
    // badge and the week's board are read; a signed push webhook recounts
    // her (github).
    github.copy_template("alice", "100DaysOfCloud", "2026-01-01T00:00:00Z");
    let repo = json!({"journeyRepo": "alice/100DaysOfCloud"});
    run.call("users", "PUT", "/users/alice", ALICE, Some(repo), 200)
        .await;
    let code = run
        .call(
            "users",
            "POST",
            "/users/alice/verification",
            ALICE,
            None,
            201,
        )
        .await;
    let line = format!(
        "hdoc-verification: {}",
        code["code"].as_str().expect("a code")
    );
    github.change_repo("alice/100DaysOfCloud", |repo| repo.readme = Some(line));
    let check = "/users/alice/verification/check";
    let verified = run.call("users", "POST", check, ALICE, None, 200).await;
    assert_eq!(verified["verified"], true);
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("now");
    github.push("alice/100DaysOfCloud", &[1], &now, &now);
    let client = activity::github::GitHub::with_api(&github.base, None);
    let activity_fn = stack.function("activity");
    for round in 0..2 {
        match activity::handle(activity_fn, &client, None)
            .await
            .expect("activity runs")
        {
            Ended::Finished(ran) => {
                assert_eq!((ran.users, ran.failed), (1, 0), "{ran:?}");
                assert_eq!(ran.not_modified, round, "{ran:?}");
            }
            other => panic!("the activity run finished: {other:?}"),
        }
    }
    let (_, shown) = send(&stack.admin, "users", "GET", "/users/alice", None, None).await;
    assert_eq!(shown["githubStreak"], 1, "{shown}");
    assert_eq!(
        shown["githubScore"], 42,
        "the admin's score stands: {shown}"
    );
    run.call("users", "GET", "/users/alice/journey", None, None, 200)
        .await;
    run.call("users", "GET", "/users/alice/badge.svg", None, None, 200)
        .await;
    run.call(
        "leaderboard",
        "GET",
        "/leaderboard?period=week",
        None,
        None,
        200,
    )
    .await;
    github.push("alice/100DaysOfCloud", &[2], &now, &now);
    let push = json!({
        "ref": "refs/heads/main",
        "repository": {"full_name": "alice/100DaysOfCloud", "default_branch": "main",
            "owner": {"login": "alice"}},
        "commits": [{"added": [], "modified": ["Journey/002/Readme.md"]}],
    });
    let delivered = run
        .call("github", "POST", "/github/webhook", None, Some(push), 202)
        .await;
    assert_eq!(delivered["newDays"], 1, "{delivered}");

    // pre-token: an admin signs in without TOTP; the trigger reads her
    // factors on its own policy (AdminGetUser) and leaves `admin` out.
    let idp = cognito(&stack.moto.endpoint, &stack.moto.admin).await;
    let root = json!({"UserPoolId": stack.pool, "Username": "root", "MessageAction": "SUPPRESS"});
    idp.call("AdminCreateUser", &root)
        .await
        .expect("an admin user");
    let sdk = sdk_as(&stack.keys["pre-token"]).await;
    let factors = users::pre_token::Factors::at(&sdk, Some(&stack.moto.endpoint)).expect("factors");
    assert_eq!(
        factors.has_totp(&stack.pool, "root").await.ok(),
        Some(false),
        "pre-token may read a user's factors"
    );
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../events/pre-token-admin.json"
    );
    let mut event: Value =
        serde_json::from_slice(&std::fs::read(path).expect("the event")).expect("JSON");
    event["userPoolId"] = json!(stack.pool);
    event["userName"] = json!("root");
    let answer = users::pre_token::on_pre_token(&factors, event)
        .await
        .expect("answered");
    assert_eq!(
        answer["response"]["claimsAndScopeOverrideDetails"]["groupOverrideDetails"]["groupsToOverride"],
        json!([]),
        "{answer}"
    );

    // users: alice deletes herself; purge-user removes her article, her
    // review and its photo, and her rating, as the table's stream has it do.
    run.call("users", "DELETE", "/users/alice", ALICE, None, 204)
        .await;
    users::purge_deleted(
        stack.function("purge-user"),
        &tombstone_event("alice"),
        None,
    )
    .await
    .expect("purge-user purges alice");
    let admin = &stack.admin;
    for path in [
        format!("/articles/{slug}"),
        first_review.clone(),
        "/users/alice".into(),
    ] {
        let function = route_function(&path);
        let (status, body) = send(admin, function, "GET", &path, None, None).await;
        assert_eq!(status, 404, "{path} after the purge: {body}");
    }
    assert!(
        !object_exists(&stack, &keys[0]).await,
        "alice's photo is purged"
    );
    let summary = send(admin, "ratings", "GET", rating, None, None).await.1;
    assert_eq!(summary["count"], 0, "alice's rating is purged: {summary}");

    // reconcile: a deletion stalled long ago (the tombstone DELETE
    // /users/{id} writes, of carol, an imported profile never handed over,
    // so without an owner's claim) is set going again, and the walk, a few items
    // a stretch, finds no drift; purge-user then finishes carol.
    let deleted_at = "2020-01-01T00:00:00Z";
    let tombstone = [
        ("PK", "USER#carol"),
        ("SK", "PROFILE"),
        ("GSI1PK", "PURGES"),
        ("GSI1SK", "2020-01-01T00:00:00Z#carol"),
        ("id", "carol"),
        ("deletedAt", deleted_at),
    ];
    let mut put = admin.repo.client().put_item().table_name(&stack.table);
    for (name, value) in tombstone {
        put = put.item(name, AttributeValue::S(value.to_owned()));
    }
    put.item("rounds", AttributeValue::N("0".to_owned()))
        .send()
        .await
        .expect("the admin writes a stalled deletion");
    let reconciling = stack.function("reconcile");
    let ran = hdoc_shared::jobs::reconcile(&reconciling.repo, None, 3)
        .await
        .expect("reconcile runs");
    let Ended::Finished(ran) = ran else {
        panic!("the run finished: {ran:?}")
    };
    assert_eq!(ran.purges_resumed, 1, "{ran:?}");
    assert_eq!(
        serde_json::to_value(ran.repairs).expect("json"),
        json!({"tagCounts": 0, "summaries": 0, "leaderboard": 0}),
        "{ran:?}"
    );
    assert!(ran.slices >= 1 && ran.checked > 0, "{ran:?}");
    // The function's own entry point too (the schedule's invocation).
    match reconcile::handle(reconciling, None)
        .await
        .expect("reconcile runs")
    {
        Ended::Finished(_) => {}
        paused => panic!("the run finished: {paused:?}"),
    }
    users::purge_deleted(
        stack.function("purge-user"),
        &tombstone_event("carol"),
        None,
    )
    .await
    .expect("purge-user finishes carol");
    assert!(
        admin
            .repo
            .pending_purges(10)
            .await
            .expect("purges")
            .is_empty(),
        "every deletion finished"
    );

    run.assert_every_route_served();
    assert_eq!(stack.authorizer.refused(), Vec::<String>::new());
}

/// The function whose routes serve `path`.
fn route_function(path: &str) -> &'static str {
    let first = path
        .trim_start_matches('/')
        .split(['/', '?'])
        .next()
        .unwrap_or_default();
    hdoc_tests::function(first).name
}

/// Whether the photo object `key` exists (asked by the admin).
async fn object_exists(stack: &Stack, key: &str) -> bool {
    let photos = stack.admin.photos().expect("admin photos");
    photos
        .client()
        .head_object()
        .bucket(photos.bucket())
        .key(key)
        .send()
        .await
        .is_ok()
}

/// The SDK configuration of a process holding `keys`.
async fn sdk_as(keys: &Keys) -> aws_config::SdkConfig {
    let mut config = Config::from_lookup(|_| None);
    config.static_credentials = Some(StaticCredentials {
        access_key: keys.access_key.clone(),
        secret_key: keys.secret_key.clone(),
        region: REGION.to_owned(),
    });
    hdoc_shared::http::sdk_config(&config).await
}

/// Cognito's user pools API on moto, called with `keys`.
async fn cognito(endpoint: &str, keys: &Keys) -> AwsJson {
    let sdk = sdk_as(keys).await;
    AwsJson::new(&sdk, COGNITO_IDENTITY_PROVIDER, Some(endpoint)).expect("cognito")
}

/// Checks that a raw call was refused: by moto's IAM check (a 403
/// `AccessDenied`, `by_moto`) or by the [`Authorizer`] (a 400
/// `AccessDeniedException`, as DynamoDB answers).
fn denied<T: std::fmt::Debug, E: std::fmt::Debug>(
    what: &str,
    by_moto: bool,
    result: Result<T, aws_sdk_dynamodb::error::SdkError<E>>,
) {
    let err = result.expect_err(what);
    let raw = err
        .raw_response()
        .unwrap_or_else(|| panic!("{what}: no answer: {err:?}"));
    let body = String::from_utf8_lossy(raw.body().bytes().unwrap_or_default()).into_owned();
    let status = if by_moto { 403 } else { 400 };
    assert_eq!(raw.status().as_u16(), status, "{what}: {body}");
    assert!(body.contains("AccessDenied"), "{what}: {body}");
}

/// The key of a profile item.
fn profile_key(id: &str) -> std::collections::HashMap<String, AttributeValue> {
    item_key(&format!("USER#{id}"), "PROFILE")
}

/// The key of the item `pk` / `sk`.
fn item_key(pk: &str, sk: &str) -> std::collections::HashMap<String, AttributeValue> {
    [
        ("PK".to_owned(), AttributeValue::S(pk.to_owned())),
        ("SK".to_owned(), AttributeValue::S(sk.to_owned())),
    ]
    .into()
}

#[tokio::test]
#[ignore = "needs the IAM-enforcing moto that scripts/test.sh starts (HDOC_TEST_IAM_ENDPOINT)"]
async fn calls_outside_a_functions_policy_are_refused() {
    let stack = Stack::deploy().await;
    let table = &stack.table;
    let alice = json!({"githubProfile": "alice", "name": "Alice"});
    let users = stack.function("users");
    let (status, _) = send(users, "users", "POST", "/users", ALICE, Some(alice)).await;
    assert_eq!(status, 201);
    let alice_is_there = || async {
        let (status, _) = send(&stack.admin, "users", "GET", "/users/alice", None, None).await;
        status == 200
    };

    // moto refuses actions outside a policy. users may not Scan (only
    // reconcile walks the table) nor DeleteItem (purge-user does); tags only
    // reads; leaderboard only queries its index.
    let direct = |binary: &str| stack.direct(&stack.keys[binary]);
    let moto_users = direct("users").await;
    let moto_users = moto_users.repo.client();
    denied(
        "users: Scan",
        true,
        moto_users.scan().table_name(table).send().await,
    );
    let delete = moto_users
        .delete_item()
        .table_name(table)
        .set_key(Some(profile_key("alice")));
    denied("users: DeleteItem", true, delete.send().await);
    assert!(alice_is_there().await, "alice's profile is still there");
    // activity neither scans nor batch-reads: it walks the users list and
    // writes a profile, its activity record and its week entries.
    let moto_activity = direct("activity").await;
    let moto_activity = moto_activity.repo.client();
    denied(
        "activity: Scan",
        true,
        moto_activity.scan().table_name(table).send().await,
    );
    let keys = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
        .keys(profile_key("alice"))
        .build()
        .expect("keys");
    let batch = moto_activity.batch_get_item().request_items(table, keys);
    denied("activity: BatchGetItem", true, batch.send().await);
    let mut mallory = profile_key("mallory");
    mallory.insert("id".to_owned(), AttributeValue::S("mallory".to_owned()));
    let tags = direct("tags").await;
    let put = tags.repo.client().put_item().table_name(table);
    denied(
        "tags: PutItem",
        true,
        put.set_item(Some(mallory)).send().await,
    );
    let leaderboard = direct("leaderboard").await;
    let get = leaderboard.repo.client().get_item().table_name(table);
    denied(
        "leaderboard: GetItem",
        true,
        get.set_key(Some(profile_key("alice"))).send().await,
    );

    // What moto cannot see, the authorizer refuses: a Query of GSI2 by
    // users (granted the table and GSI1), of GSI1 by leaderboard (granted GSI2 only),
    // and a transaction of users holding a Delete.
    let by_gsi2 = users
        .repo
        .client()
        .query()
        .table_name(table)
        .index_name("GSI2")
        .key_condition_expression("GSI2PK = :pk")
        .expression_attribute_values(":pk", AttributeValue::S("LEADERBOARD".to_owned()));
    denied("users: Query of GSI2", false, by_gsi2.send().await);
    let leaderboard = stack.function("leaderboard").repo.client();
    let by_gsi1 = leaderboard
        .query()
        .table_name(table)
        .index_name("GSI1")
        .key_condition_expression("GSI1PK = :pk")
        .expression_attribute_values(":pk", AttributeValue::S("USERS".to_owned()));
    denied("leaderboard: Query of GSI1", false, by_gsi1.send().await);
    let delete = aws_sdk_dynamodb::types::Delete::builder()
        .table_name(table)
        .set_key(Some(profile_key("alice")))
        .build()
        .expect("a delete");
    let transaction = aws_sdk_dynamodb::types::TransactWriteItem::builder()
        .delete(delete)
        .build();
    let transact = |client: &aws_sdk_dynamodb::Client| {
        client
            .transact_write_items()
            .transact_items(transaction.clone())
    };
    denied(
        "users: a transaction with a Delete",
        false,
        transact(users.repo.client()).send().await,
    );
    assert!(alice_is_there().await, "alice's profile is still there");

    // Nor may a function reach, with the actions it is granted, the
    // partitions its statements' dynamodb:LeadingKeys conditions leave out:
    // single reads and writes, batches, each part of a transaction, and the
    // partitions of an index.
    let fn_client = |binary: &str| stack.function(binary).repo.client();
    let get = |binary: &str, pk: &str, sk: &str| {
        fn_client(binary)
            .get_item()
            .table_name(table)
            .set_key(Some(item_key(pk, sk)))
    };
    let article = "ARTICLE#day-1-lambda";
    denied(
        "users: GetItem of an article",
        false,
        get("users", article, "ARTICLE").send().await,
    );
    denied(
        "photo-uploaded: GetItem of a profile",
        false,
        get("photo-uploaded", "USER#alice", "PROFILE").send().await,
    );
    denied(
        "activity: GetItem of reconcile's checkpoint",
        false,
        get("activity", "JOB#RECONCILE", "CHECKPOINT").send().await,
    );
    let mut profile = profile_key("mallory");
    profile.insert("id".to_owned(), AttributeValue::S("mallory".to_owned()));
    let put = fn_client("ratings").put_item().table_name(table);
    denied(
        "ratings: PutItem of a profile",
        false,
        put.set_item(Some(profile)).send().await,
    );
    let keys = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
        .keys(profile_key("alice"))
        .keys(item_key("CALLER#alice-sub", "PROFILE"))
        .build()
        .expect("keys");
    let batch = fn_client("leaderboard")
        .batch_get_item()
        .request_items(table, keys);
    denied(
        "leaderboard: BatchGetItem of a profile and a claim",
        false,
        batch.send().await,
    );
    let query = |binary: &str, index: Option<&str>, partition: &str| {
        let name = match index {
            Some("GSI1") => "GSI1PK",
            Some("GSI2") => "GSI2PK",
            _ => "PK",
        };
        fn_client(binary)
            .query()
            .table_name(table)
            .set_index_name(index.map(str::to_owned))
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", name)
            .expression_attribute_values(":pk", AttributeValue::S(partition.to_owned()))
    };
    denied(
        "tags: Query of GSI2's leaderboard",
        false,
        query("tags", Some("GSI2"), "LEADERBOARD").send().await,
    );
    denied(
        "users: Query of GSI1's ratings by rater",
        false,
        query("users", Some("GSI1"), "RATER#alice-sub").send().await,
    );
    denied(
        "articles: Query of a subject's reviews list",
        false,
        query("articles", None, "LIST#SUBJECT#park:yosemite")
            .send()
            .await,
    );
    // One part outside in a transaction refuses it all: the summary's
    // Update is reviews' to make, the tag count's Put is not.
    let summary = aws_sdk_dynamodb::types::Update::builder()
        .table_name(table)
        .set_key(Some(item_key("SUBJECT#park:zion", "SUMMARY")))
        .update_expression("ADD rev :one")
        .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
        .build()
        .expect("an update");
    let mut count = item_key("TAG#spam", "COUNT");
    count.insert("count".to_owned(), AttributeValue::N("1000".to_owned()));
    let count = aws_sdk_dynamodb::types::Put::builder()
        .table_name(table)
        .set_item(Some(count))
        .build()
        .expect("a put");
    let mixed = fn_client("reviews")
        .transact_write_items()
        .transact_items(
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .update(summary)
                .build(),
        )
        .transact_items(
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .put(count)
                .build(),
        );
    denied(
        "reviews: a transaction with a tag count's Put",
        false,
        mixed.send().await,
    );
    let admin = stack.admin.repo.client();
    for (pk, sk) in [
        ("USER#mallory", "PROFILE"),
        ("TAG#spam", "COUNT"),
        ("SUBJECT#park:zion", "SUMMARY"),
    ] {
        let stored = admin
            .get_item()
            .table_name(table)
            .set_key(Some(item_key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .expect("the admin reads");
        assert!(stored.item.is_none(), "{pk} was not written");
    }
    // (moto alone, given the statements without their conditions, lets
    // such calls through.)
    moto_users
        .get_item()
        .table_name(table)
        .set_key(Some(item_key(article, "ARTICLE")))
        .send()
        .await
        .expect("moto checks the action only");
    let refused = stack.authorizer.refused();
    assert_eq!(refused.len(), 12, "{refused:#?}");
    assert!(
        refused[3].contains("users: dynamodb:GetItem on") && refused[3].contains(article),
        "{refused:#?}"
    );
    // (moto alone, which authorises the transaction as TransactWriteItems,
    // lets it through: the reason the authorizer exists. Shown on an item
    // that is not there, so nothing changes.)
    let missing = aws_sdk_dynamodb::types::Delete::builder()
        .table_name(table)
        .set_key(Some(profile_key("nobody")))
        .build()
        .expect("a delete");
    moto_users
        .transact_write_items()
        .transact_items(
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .delete(missing)
                .build(),
        )
        .send()
        .await
        .expect("moto does not look inside a transaction");

    // Secrets: each function read its own at Init (Stack::deploy); none
    // reads another's. moto checks only the action (it authorises Secrets
    // Manager calls against `*`, as DynamoDB ones), so the authorizer checks
    // the secret's ARN as IAM does: articles may not read the GitHub token,
    // users (token) not the webhook's secret, activity not the webhook's.
    let before = stack.authorizer.refused().len();
    let read_as = async |binary: &str, arn: &str| {
        let keys = &stack.keys[binary];
        let sdk = sdk_as(keys).await;
        let client =
            AwsJson::new(&sdk, SECRETS_MANAGER, Some(&stack.secrets_endpoint)).expect("a client");
        client
            .call("GetSecretValue", &json!({"SecretId": arn}))
            .await
    };
    let (token, webhook) = (&stack.secrets.token.0, &stack.secrets.webhook.0);
    for (binary, arn) in [
        ("articles", token),
        ("tags", webhook),
        ("users", webhook),
        ("activity", webhook),
        ("reconcile", token),
    ] {
        let err = read_as(binary, arn)
            .await
            .expect_err("another function's secret");
        assert_eq!(err.code(), Some("AccessDeniedException"), "{binary}: {err}");
    }
    // What they may read, they read: the same calls for their own.
    for (binary, arn, value) in [
        ("users", token, &stack.secrets.token.1),
        ("github", webhook, &stack.secrets.webhook.1),
        ("tags", &stack.secrets.cursor.0, &stack.secrets.cursor.1),
    ] {
        let answer = read_as(binary, arn).await.expect("its own secret");
        assert_eq!(answer["SecretString"], json!(value), "{binary}");
    }
    // A function deployed with a secret that is not its own refuses to
    // start, naming it and IAM's refusal.
    let keys = &stack.keys["tags"];
    let sdk = sdk_as(keys).await;
    let variables: BTreeMap<&str, String> = [
        ("HDOC_STAGE", "dev".to_owned()),
        ("HDOC_TABLE", table.clone()),
        ("HDOC_CORS_ORIGINS", "*".to_owned()),
        ("HDOC_CURSOR_SECRET_ARN", stack.secrets.cursor.0.clone()),
        ("HDOC_GITHUB_WEBHOOK_SECRET_ARN", webhook.clone()),
        (
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            stack.secrets_endpoint.clone(),
        ),
    ]
    .into();
    let err = Config::for_lambda_from(|key| variables.get(key).cloned(), &sdk, Cursors::Signed)
        .await
        .expect_err("tags may not read the webhook's secret");
    assert!(
        err.starts_with("HDOC_GITHUB_WEBHOOK_SECRET_ARN: cannot read the secret")
            && err.contains("400 AccessDeniedException"),
        "{err}"
    );
    assert_eq!(stack.authorizer.refused().len(), before + 6);
    // And moto checks the keys: a wrong secret key is refused whatever the policy.
    let forged = Keys {
        access_key: stack.keys["users"].access_key.clone(),
        secret_key: "not-the-secret".to_owned(),
    };
    let sdk = sdk_as(&forged).await;
    let client = AwsJson::new(&sdk, SECRETS_MANAGER, Some(&stack.moto.endpoint)).expect("a client");
    let err = client
        .call("GetSecretValue", &json!({"SecretId": token}))
        .await
        .expect_err("a forged signature");
    assert!(
        matches!(err.kind, ErrorKind::Service { status: 403, .. }),
        "{err}"
    );

    // A route run with another function's credentials fails (a 500: the
    // store's failure, not the client's) and changes nothing.
    let mallory = json!({"githubProfile": "mallory", "name": "Mallory"});
    let caller = Some(As("mallory-sub", false));
    let tags = stack.function("tags");
    let (status, _) = send(tags, "users", "POST", "/users", caller, Some(mallory)).await;
    assert_eq!(
        status, 500,
        "POST /users with the tags function's credentials"
    );
    let (status, _) = send(&stack.admin, "users", "GET", "/users/mallory", None, None).await;
    assert_eq!(status, 404, "no profile was made");

    // S3 (moto checks objects' ARNs): reviews may put and delete photos under
    // reviews/ only, and read nothing (CloudFront serves photos);
    // photo-uploaded may only delete under reviews/ (an upload no review
    // awaits).
    let photos = stack
        .function("reviews")
        .photos()
        .expect("reviews has photos");
    let (s3, bucket) = (photos.client(), photos.bucket());
    let outside = s3
        .put_object()
        .bucket(bucket)
        .key("site/index.html")
        .body(b"x".to_vec().into());
    denied(
        "reviews: PutObject outside reviews/",
        true,
        outside.send().await,
    );
    s3.put_object()
        .bucket(bucket)
        .key("reviews/x/y.png")
        .body(b"x".to_vec().into())
        .send()
        .await
        .expect("reviews puts under reviews/");
    let get = s3.get_object().bucket(bucket).key("reviews/x/y.png");
    denied("reviews: GetObject", true, get.send().await);
    let uploaded = direct("photo-uploaded").await;
    let uploaded = uploaded.photos().expect("a photo store").client();
    let put = uploaded
        .put_object()
        .bucket(bucket)
        .key("reviews/x/z.png")
        .body(b"x".to_vec().into());
    denied("photo-uploaded: PutObject", true, put.send().await);
    let get = uploaded.get_object().bucket(bucket).key("reviews/x/y.png");
    denied("photo-uploaded: GetObject", true, get.send().await);
    let delete = uploaded
        .delete_object()
        .bucket(bucket)
        .key("site/index.html");
    denied(
        "photo-uploaded: DeleteObject outside reviews/",
        true,
        delete.send().await,
    );

    // Cognito: pre-token only reads users; it may not change a group.
    let trigger = cognito(&stack.moto.endpoint, &stack.keys["pre-token"]).await;
    let group = json!({"UserPoolId": stack.pool, "Username": "root", "GroupName": "admin"});
    let refused = trigger
        .call("AdminAddUserToGroup", &group)
        .await
        .expect_err("pre-token: AdminAddUserToGroup");
    assert!(
        matches!(refused.kind, ErrorKind::Service { status: 403, .. }),
        "{refused}"
    );

    // And keys are checked: a wrong secret is refused whatever the policy.
    let forged = Keys {
        access_key: stack.keys["reconcile"].access_key.clone(),
        secret_key: "not-the-secret".to_owned(),
    };
    let forged = stack.direct(&forged).await;
    let err = forged
        .repo
        .client()
        .scan()
        .table_name(table)
        .send()
        .await
        .expect_err("a forged signature");
    let raw = err.raw_response().expect("an answer");
    assert_eq!(raw.status().as_u16(), 403);
}
