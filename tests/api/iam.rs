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

use super::template::{as_sub, binaries, function_resource, one_or_many, template};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use hdoc_shared::caller::request_context;
use hdoc_shared::config::StaticCredentials;
use hdoc_shared::domain::{Progress, Timestamp, User, UserId};
use hdoc_shared::jobs::Progress as JobProgress;
use hdoc_shared::store::schema;
use hdoc_shared::{AppState, Config};
use lambda_http::tower::ServiceExt;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
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
/// and resources, with the table's and the bucket's ARNs resolved.
#[derive(Clone, Debug)]
struct Grant {
    actions: Vec<String>,
    resources: Vec<String>,
}

/// The statements `template.yaml` grants the function built from `binary`.
fn grants(template: &serde_yaml::Value, binary: &str, table: &str, bucket: &str) -> Vec<Grant> {
    let (id, resource) = function_resource(template, binary);
    let table_arn = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}");
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let mut grants = Vec::new();
    for policy in one_or_many(&resource["Properties"]["Policies"]) {
        for statement in one_or_many(&policy["Statement"]) {
            assert_eq!(statement["Effect"], "Allow", "{id}: {statement:?}");
            let actions = one_or_many(&statement["Action"])
                .iter()
                .map(|action| action.as_str().expect("an action").to_owned())
                .collect();
            let resources = one_or_many(&statement["Resource"])
                .iter()
                .map(|target| {
                    let arn = as_sub(target)
                        .replace("${Table.Arn}", &table_arn)
                        .replace("${MediaBucket.Arn}", &bucket_arn);
                    assert!(!arn.contains("${"), "{id}: {arn} is not deployed here");
                    arn
                })
                .collect();
            grants.push(Grant { actions, resources });
        }
    }
    assert!(!grants.is_empty(), "{id} has no policy");
    grants
}

/// `grants` as moto 5.2.1 can evaluate them (see the module's notes): each
/// DynamoDB statement on `*`, and `TransactWriteItems` when the policy
/// grants what a transaction holds. S3 statements keep their ARNs.
fn moto_policy(grants: &[Grant]) -> Value {
    let mut statements: Vec<Value> = grants
        .iter()
        .map(|grant| {
            let dynamodb = grant.actions.iter().all(|a| a.starts_with("dynamodb:"));
            let s3 = grant.actions.iter().all(|a| a.starts_with("s3:"));
            assert!(dynamodb || s3, "one service a statement: {grant:?}");
            let resource = if dynamodb {
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

/// The state a function builds at cold start (`AppState::from_env`, and the
/// photo store when the template gives it a bucket), on moto, with `keys`.
async fn state_for(moto: &Moto, table: &str, bucket: &str, keys: &Keys, photos: bool) -> AppState {
    let mut config = Config::from_lookup(|key| match key {
        "HDOC_TABLE" => Some(table.to_owned()),
        "HDOC_BUCKET" if photos => Some(bucket.to_owned()),
        "HDOC_MEDIA_BASE_URL" if photos => Some("https://cdn.example".to_owned()),
        "AWS_ENDPOINT_URL_DYNAMODB" | "AWS_ENDPOINT_URL_S3" => Some(moto.endpoint.clone()),
        _ => None,
    });
    config.static_credentials = Some(StaticCredentials {
        access_key: keys.access_key.clone(),
        secret_key: keys.secret_key.clone(),
        region: REGION.to_owned(),
    });
    let state = AppState::connect(config).await;
    if photos { state.with_photos() } else { state }
}

/// A table and a bucket on the IAM-enforcing moto, made by the admin, and
/// one IAM user per function of the template holding only that function's policy.
struct Stack {
    moto: Moto,
    table: String,
    admin: AppState,
    /// Each function's state (by binary name), on its own user's keys.
    functions: BTreeMap<&'static str, AppState>,
    /// Each function's keys.
    keys: BTreeMap<&'static str, Keys>,
}

impl Stack {
    async fn deploy() -> Self {
        let moto = Moto::from_env();
        let run = uuid::Uuid::new_v4().simple().to_string();
        let (table, bucket) = (format!("hdoc-iam-{run}"), format!("hdoc-iam-{run}"));
        let admin = state_for(&moto, &table, &bucket, &moto.admin, true).await;
        schema::create_table(admin.repo.client(), &table)
            .await
            .expect("the admin creates the table");
        let photos = admin.photos().expect("the admin's photo store");
        hdoc_local::s3::create_bucket_named(photos.client(), photos.bucket())
            .await
            .expect("the admin creates the bucket");

        let template = template();
        let (mut functions, mut keys) = (BTreeMap::new(), BTreeMap::new());
        for binary in binaries() {
            let policy = moto_policy(&grants(&template, binary, &table, &bucket));
            let user = moto
                .user(&format!("{binary}-{}", &run[..12]), &policy)
                .await;
            let (_, resource) = function_resource(&template, binary);
            let photos =
                !resource["Properties"]["Environment"]["Variables"]["HDOC_BUCKET"].is_null();
            let state = state_for(&moto, &table, &bucket, &user, photos).await;
            functions.insert(binary, state);
            keys.insert(binary, user);
        }
        Self {
            moto,
            table,
            admin,
            functions,
            keys,
        }
    }

    fn function(&self, binary: &str) -> &AppState {
        self.functions
            .get(binary)
            .unwrap_or_else(|| panic!("no function {binary} in template.yaml"))
    }
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
            actual, status,
            "{function}: {method} {path} answered {json}"
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
    let body = body.map(|body| body.to_string()).unwrap_or_default();
    let mut request = request
        .body(axum::body::Body::from(body))
        .expect("a request");
    let claims = caller.map(|As(sub, admin)| {
        let mut claims = json!({"sub": sub});
        if admin {
            claims["cognito:groups"] = json!("[admin]");
        }
        claims
    });
    let bare = path.split('?').next().unwrap_or(path);
    request
        .extensions_mut()
        .insert(request_context("iam", method, bare, claims));
    let response = hdoc_shared::http::app(router, state.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("a body");
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
    let stack = Stack::deploy().await;
    let mut run = Driver {
        stack: &stack,
        served: BTreeSet::new(),
    };

    // users: create, read, list both ways, update (owner and admin), hand over.
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
    let ran = hdoc_shared::jobs::reconcile(&reconciling.repo, None, 3, "local")
        .await
        .expect("reconcile runs");
    let JobProgress::Done(ran) = ran else {
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
        JobProgress::Done(_) => {}
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

/// Checks that a raw call was refused by moto's IAM check: a 403 AccessDenied.
fn denied<T: std::fmt::Debug, E: std::fmt::Debug>(
    what: &str,
    result: Result<T, aws_sdk_dynamodb::error::SdkError<E>>,
) {
    let err = result.expect_err(what);
    let raw = err
        .raw_response()
        .unwrap_or_else(|| panic!("{what}: no answer: {err:?}"));
    let body = String::from_utf8_lossy(raw.body().bytes().unwrap_or_default()).into_owned();
    assert_eq!(raw.status().as_u16(), 403, "{what}: {body}");
    assert!(body.contains("AccessDenied"), "{what}: {body}");
}

#[tokio::test]
#[ignore = "needs the IAM-enforcing moto that scripts/test.sh starts (HDOC_TEST_IAM_ENDPOINT)"]
async fn calls_outside_a_functions_policy_are_refused() {
    let stack = Stack::deploy().await;
    let table = &stack.table;
    let alice = json!({"githubProfile": "alice", "name": "Alice"});
    let (status, _) = send(
        stack.function("users"),
        "users",
        "POST",
        "/users",
        ALICE,
        Some(alice.clone()),
    )
    .await;
    assert_eq!(status, 201);
    let key = |pk: &str| {
        [
            ("PK".to_owned(), AttributeValue::S(pk.to_owned())),
            ("SK".to_owned(), AttributeValue::S("PROFILE".to_owned())),
        ]
        .into()
    };

    // users may not Scan (only reconcile walks the table) nor delete items
    // (purge-user does).
    let users = stack.function("users").repo.client();
    denied("users: Scan", users.scan().table_name(table).send().await);
    denied(
        "users: DeleteItem",
        users
            .delete_item()
            .table_name(table)
            .set_key(Some(key("USER#alice")))
            .send()
            .await,
    );
    let (status, _) = send(&stack.admin, "users", "GET", "/users/alice", None, None).await;
    assert_eq!(status, 200, "alice's profile is still there");

    // tags and leaderboard only read: no writes; leaderboard not even GetItem.
    let tags = stack.function("tags").repo.client();
    let mut item: std::collections::HashMap<String, AttributeValue> = key("USER#mallory");
    item.insert("id".to_owned(), AttributeValue::S("mallory".to_owned()));
    denied(
        "tags: PutItem",
        tags.put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await,
    );
    let leaderboard = stack.function("leaderboard").repo.client();
    denied(
        "leaderboard: GetItem",
        leaderboard
            .get_item()
            .table_name(table)
            .set_key(Some(key("USER#alice")))
            .send()
            .await,
    );
    // A route run with another function's credentials fails (a 500: the
    // store's failure, not the client's) and changes nothing.
    let mallory = json!({"githubProfile": "mallory", "name": "Mallory"});
    let (status, _) = send(
        stack.function("tags"),
        "users",
        "POST",
        "/users",
        Some(As("mallory-sub", false)),
        Some(mallory),
    )
    .await;
    assert_eq!(
        status, 500,
        "POST /users with the tags function's credentials"
    );
    let (status, _) = send(&stack.admin, "users", "GET", "/users/mallory", None, None).await;
    assert_eq!(status, 404, "no profile was made");

    // S3: reviews may put and delete photos under reviews/ only, and read
    // nothing (CloudFront serves photos); photo-uploaded has no S3 at all.
    let photos = stack
        .function("reviews")
        .photos()
        .expect("reviews has photos");
    let (s3, bucket) = (photos.client(), photos.bucket());
    denied(
        "reviews: PutObject outside reviews/",
        s3.put_object()
            .bucket(bucket)
            .key("site/index.html")
            .body(b"x".to_vec().into())
            .send()
            .await,
    );
    s3.put_object()
        .bucket(bucket)
        .key("reviews/x/y.png")
        .body(b"x".to_vec().into())
        .send()
        .await
        .expect("reviews puts under reviews/");
    denied(
        "reviews: GetObject",
        s3.get_object()
            .bucket(bucket)
            .key("reviews/x/y.png")
            .send()
            .await,
    );
    let keys = &stack.keys["photo-uploaded"];
    let stranger = state_for(&stack.moto, table, bucket, keys, true).await;
    let stranger = stranger.photos().expect("a photo store");
    denied(
        "photo-uploaded: DeleteObject",
        stranger
            .client()
            .delete_object()
            .bucket(bucket)
            .key("reviews/x/y.png")
            .send()
            .await,
    );

    // And the keys are checked: a wrong secret is refused whatever the policy.
    let forged = Keys {
        access_key: stack.keys["reconcile"].access_key.clone(),
        secret_key: "not-the-secret".to_owned(),
    };
    let forged = state_for(&stack.moto, table, bucket, &forged, false).await;
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
