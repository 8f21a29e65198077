//! `template.yaml` agrees with the code it deploys: the routes are exactly the
//! function crates' route tables (with the authorizer where a caller is
//! needed), every crate has its Lambda, each Lambda may make only the
//! DynamoDB calls its repository methods make, the background functions have
//! the triggers their binaries expect, and the table has the keys and indexes
//! of `shared/src/store/schema.rs`.
//!
//! Everything iterates over `hdoc_tests::FUNCTIONS`, so a crate added there
//! fails these tests until its template block (and its row in
//! [`EXPECTED_ACCESS`]) exists.

use hdoc_shared::Config;
use hdoc_shared::config::WriteLimits;
use hdoc_shared::http::Access;
use hdoc_shared::store::keys;
use hdoc_shared::store::schema::{INDEXES, PK, SK, TTL};
use hdoc_shared::telemetry::emf;
use hdoc_tests::FUNCTIONS;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The JWT authorizer (Cognito) that guards `Access::Caller` routes.
const AUTHORIZER: &str = "CognitoJwt";

/// Where an IAM statement points, written as the template writes it
/// (`!GetAtt Table.Arn` is `${Table.Arn}`). Photos will be `${MediaBucket.Arn}/*`.
const TABLE: &str = "${Table.Arn}";
const GSI1: &str = "${Table.Arn}/index/GSI1";
const GSI2: &str = "${Table.Arn}/index/GSI2";

/// Every (action, resource) a function's policy must grant, and nothing else.
/// Each comes from the repository methods its handlers call
/// (`functions/<name>/src/lib.rs` -> `shared/src/store/*.rs`). IAM has no
/// TransactWriteItems action: a transaction is authorised as the PutItem /
/// UpdateItem / DeleteItem / ConditionCheckItem it contains.
const EXPECTED_ACCESS: &[(&str, &[(&str, &str)])] = &[
    (
        "users",
        &[
            // user(): get(); also the read before update_user / delete_user.
            ("dynamodb:GetItem", TABLE),
            // update_user(): put_item; create_user(): TransactWriteItems of two Puts;
            // delete_user(): TransactWriteItems of two Puts (the tombstone over the
            // profile, the claim marked deleted). It deletes nothing: purge-user does.
            ("dynamodb:PutItem", TABLE),
            // take_write_token() before every write: conditional UpdateItem.
            ("dynamodb:UpdateItem", TABLE),
            // list_users(): query_page(GSI1, ...).
            ("dynamodb:Query", GSI1),
            // journeyer() (GET /users/{id}/journey): Query of the profile's partition.
            ("dynamodb:Query", TABLE),
        ],
    ),
    (
        "leaderboard",
        &[
            // top_scores(), week_scores(): query_page(GSI2, ...).
            ("dynamodb:Query", GSI2),
            // week_scores(): batch_get of the week's rows' profiles.
            ("dynamodb:BatchGetItem", TABLE),
        ],
    ),
    (
        "articles",
        &[
            // article(), profile_of(): get().
            ("dynamodb:GetItem", TABLE),
            // list_articles(): list_page = Query on the table's own keys (the
            // entries hold the summaries); writes read their tags' counts with batch_get.
            ("dynamodb:Query", TABLE),
            ("dynamodb:BatchGetItem", TABLE),
            // create/update/delete_article(): one TransactWriteItems of Puts and Deletes,
            // and (a new article) a ConditionCheck that its author's profile is live.
            ("dynamodb:PutItem", TABLE),
            ("dynamodb:DeleteItem", TABLE),
            // take_write_token() before every write: conditional UpdateItem.
            ("dynamodb:UpdateItem", TABLE),
            ("dynamodb:ConditionCheckItem", TABLE),
        ],
    ),
    (
        "tags",
        &[
            // tag_count(): get().
            ("dynamodb:GetItem", TABLE),
            // top_tags(): query_page(GSI2, ...).
            ("dynamodb:Query", GSI2),
        ],
    ),
    (
        "reviews",
        &[
            // review(), profile_of(): get(); also the read before update/delete_review.
            ("dynamodb:GetItem", TABLE),
            // list_reviews(): list_page = Query on the table's own keys (the
            // entries hold the summaries).
            ("dynamodb:Query", TABLE),
            // create/update/delete_review(): TransactWriteItems of Puts and Deletes
            // (review, list entries) and an Update (ADD) of the subject's summary;
            // create_review(): also a ConditionCheck that the author's profile is live.
            ("dynamodb:PutItem", TABLE),
            ("dynamodb:DeleteItem", TABLE),
            ("dynamodb:UpdateItem", TABLE),
            ("dynamodb:ConditionCheckItem", TABLE),
            // add_photo(): the presigned PUT is signed with this role;
            // remove(): deletes the review's photo objects.
            ("s3:PutObject", "${MediaBucket.Arn}/reviews/*"),
            ("s3:DeleteObject", "${MediaBucket.Arn}/reviews/*"),
        ],
    ),
    (
        "pre-token",
        &[
            // on_pre_token(): AdminGetUser of an admin signing in.
            ("cognito-idp:AdminGetUser", "${UserPool.Arn}"),
        ],
    ),
    (
        "photo-uploaded",
        &[
            // photo_uploaded(): modify_review = get() and a conditional Put
            // (a transaction of Puts: the review and its list entries).
            ("dynamodb:GetItem", TABLE),
            ("dynamodb:PutItem", TABLE),
            // photos_uploaded(): deletes an upload no review awaits.
            ("s3:DeleteObject", "${MediaBucket.Arn}/reviews/*"),
        ],
    ),
    (
        "ratings",
        &[
            // summary(), rating(): get().
            ("dynamodb:GetItem", TABLE),
            // rate(): TransactWriteItems of a Put (the rating), an Update (summary)
            // and a ConditionCheck that the caller's profile is not being deleted;
            // unrate(): a Delete and an Update.
            ("dynamodb:PutItem", TABLE),
            ("dynamodb:DeleteItem", TABLE),
            ("dynamodb:UpdateItem", TABLE),
            ("dynamodb:ConditionCheckItem", TABLE),
        ],
    ),
    (
        "purge-user",
        &[
            // purge_at(): get() of the tombstone.
            ("dynamodb:GetItem", TABLE),
            // The user's articles and reviews: list_page = Query on the table's own
            // keys; batch_get of the tag counts a removed article changes.
            ("dynamodb:Query", TABLE),
            ("dynamodb:BatchGetItem", TABLE),
            // rated_by(): query_page(GSI1, RATER#<sub>, ...).
            ("dynamodb:Query", GSI1),
            // Each removal: TransactWriteItems of Deletes (article, review, rating,
            // list entries; at the end the tombstone and the claim), Puts (tag
            // counts) and Updates (ADD on summaries); continue_purge(): UpdateItem
            // (ADD rounds), which the stream brings back to this function.
            ("dynamodb:PutItem", TABLE),
            ("dynamodb:DeleteItem", TABLE),
            ("dynamodb:UpdateItem", TABLE),
            // A removed review's photo objects.
            ("s3:DeleteObject", "${MediaBucket.Arn}/reviews/*"),
        ],
    ),
    (
        "reconcile",
        &[
            // reconcile_stretch(): Scan, a stretch at a time (the only Scan anywhere),
            // and Query of the partitions an aggregate counts.
            ("dynamodb:Scan", TABLE),
            ("dynamodb:Query", TABLE),
            // reconcile_checkpoint(), recounts: get().
            ("dynamodb:GetItem", TABLE),
            // save_checkpoint() and repairs: single-Put TransactWriteItems.
            ("dynamodb:PutItem", TABLE),
            // continue_purge() of a stalled deletion: UpdateItem (ADD rounds).
            ("dynamodb:UpdateItem", TABLE),
            // pending_purges(): query_page(GSI1, PURGES, ...).
            ("dynamodb:Query", GSI1),
        ],
    ),
    (
        "github",
        &[
            // journeyer(): Query of the journeyer's partition; mark_verified(): get().
            ("dynamodb:Query", TABLE),
            ("dynamodb:GetItem", TABLE),
            // recount(): record_journey() / record_activity_error() as the
            // activity job's, and mark_verified(): a Put of the profile.
            ("dynamodb:PutItem", TABLE),
            ("dynamodb:UpdateItem", TABLE),
            ("dynamodb:DeleteItem", TABLE),
            ("dynamodb:ConditionCheckItem", TABLE),
        ],
    ),
    (
        "activity",
        &[
            // checkpoint(): get(); save_checkpoint(): a single Put (PutItem).
            ("dynamodb:GetItem", TABLE),
            // journeyer(): Query of a profile's partition (profile + activity record).
            ("dynamodb:Query", TABLE),
            // record_journey(), record_activity_error(): TransactWriteItems of
            // an Update (the activity record: the journey's days) with a Put of
            // the profile (scores, leaderboard key) or a ConditionCheck of it,
            // and the week's entries (Put, or Delete when empty);
            // mark_verified(): update_user = get() and a Put.
            ("dynamodb:PutItem", TABLE),
            ("dynamodb:UpdateItem", TABLE),
            ("dynamodb:DeleteItem", TABLE),
            ("dynamodb:ConditionCheckItem", TABLE),
            // journeyers(): query_page(GSI1, USERS, ...), the users list.
            ("dynamodb:Query", GSI1),
        ],
    ),
];

/// The one function allowed to Scan the table: a nightly batch job, never a request.
const SCANNER: &str = "reconcile";

/// The partitions each function's DynamoDB statement on a resource may
/// reach: its `dynamodb:LeadingKeys` condition (`ForAllValues:StringLike`),
/// built of `keys.rs`'s constants (`prefix` a partition prefix, `*` after
/// it). For an index, the index's partitions. Every DynamoDB statement has
/// one but [`SCANNER`]'s on the table: a Scan names no partition, and the
/// walk reads and repairs every kind of item.
fn expected_leading_keys() -> Vec<(&'static str, &'static str, Vec<String>)> {
    let prefix = |prefix: &str| format!("{prefix}*");
    let exact = |key: &str| key.to_owned();
    // The cold start's read (`AppState::warm_up`), in every function's grant.
    let warm = exact(keys::WARM_UP);
    let user = prefix(keys::USER_PREFIX);
    let caller = prefix(keys::CALLER_PREFIX);
    // What every HTTP write takes and records: its write bucket, its
    // Idempotency-Key's record.
    let limit = prefix(keys::LIMIT_PREFIX);
    let once = prefix(keys::IDEMPOTENCY_PREFIX);
    vec![
        (
            "users",
            TABLE,
            vec![
                user.clone(),
                caller.clone(),
                once.clone(),
                limit.clone(),
                warm.clone(),
            ],
        ),
        ("users", GSI1, vec![exact(keys::USERS)]),
        (
            "leaderboard",
            GSI2,
            vec![
                exact(keys::LEADERBOARD),
                prefix(keys::WEEKBOARD_PREFIX),
                warm.clone(),
            ],
        ),
        ("leaderboard", TABLE, vec![user.clone()]),
        (
            "articles",
            TABLE,
            vec![
                prefix(keys::ARTICLE_PREFIX),
                exact(keys::ALL_ARTICLES),
                prefix(keys::AUTHOR_LIST_PREFIX),
                prefix(keys::TAG_LIST_PREFIX),
                prefix(keys::TAG_PREFIX),
                user.clone(),
                caller.clone(),
                once.clone(),
                limit.clone(),
                warm.clone(),
            ],
        ),
        ("tags", TABLE, vec![prefix(keys::TAG_PREFIX), warm.clone()]),
        ("tags", GSI2, vec![exact(keys::TAGS)]),
        (
            "reviews",
            TABLE,
            vec![
                prefix(keys::REVIEW_PREFIX),
                prefix(keys::SUBJECT_LIST_PREFIX),
                prefix(keys::REVIEWER_LIST_PREFIX),
                prefix(keys::SUBJECT_PREFIX),
                user.clone(),
                caller.clone(),
                once,
                limit.clone(),
                warm.clone(),
            ],
        ),
        (
            "photo-uploaded",
            TABLE,
            vec![
                prefix(keys::REVIEW_PREFIX),
                prefix(keys::SUBJECT_LIST_PREFIX),
                prefix(keys::REVIEWER_LIST_PREFIX),
                warm.clone(),
            ],
        ),
        (
            "ratings",
            TABLE,
            vec![
                prefix(keys::SUBJECT_PREFIX),
                caller.clone(),
                limit,
                warm.clone(),
            ],
        ),
        (
            "purge-user",
            TABLE,
            vec![
                user.clone(),
                caller,
                prefix(keys::ARTICLE_PREFIX),
                prefix(keys::REVIEW_PREFIX),
                prefix(keys::SUBJECT_PREFIX),
                prefix(keys::TAG_PREFIX),
                prefix(keys::LIST_PREFIX),
                warm.clone(),
            ],
        ),
        ("purge-user", GSI1, vec![prefix(keys::RATER_PREFIX)]),
        ("reconcile", GSI1, vec![exact(keys::PURGES)]),
        ("github", TABLE, vec![user.clone(), warm.clone()]),
        (
            "activity",
            TABLE,
            vec![user, exact(keys::JOB_ACTIVITY), warm],
        ),
        ("activity", GSI1, vec![exact(keys::USERS)]),
    ]
}

/// The `dynamodb:LeadingKeys` patterns of `statement`'s condition, which
/// may only be that one test; `None` without a condition.
fn leading_keys_condition(id: &str, statement: &Value) -> Option<Vec<String>> {
    let condition = &statement["Condition"];
    if condition.is_null() {
        return None;
    }
    let operators = condition.as_mapping().expect("a Condition mapping");
    let keys = operators
        .get("ForAllValues:StringLike")
        .and_then(Value::as_mapping)
        .filter(|_| operators.len() == 1)
        .unwrap_or_else(|| {
            panic!("{id}: a Condition is one ForAllValues:StringLike, not {condition:?}")
        });
    let patterns = keys
        .get("dynamodb:LeadingKeys")
        .filter(|_| keys.len() == 1)
        .unwrap_or_else(|| {
            panic!("{id}: a Condition tests dynamodb:LeadingKeys only, not {keys:?}")
        });
    Some(
        one_or_many(patterns)
            .iter()
            .map(|pattern| pattern.as_str().expect("a pattern").to_owned())
            .collect(),
    )
}

pub(crate) fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    let text = std::fs::read_to_string(path).expect("template.yaml is readable");
    serde_yaml::from_str(&text).expect("template.yaml is YAML")
}

fn resources(template: &Value) -> impl Iterator<Item = (&str, &Value)> {
    template["Resources"]
        .as_mapping()
        .expect("Resources is a mapping")
        .iter()
        .map(|(id, resource)| (id.as_str().expect("logical id is a string"), resource))
}

fn of_type<'a>(
    template: &'a Value,
    kind: &str,
) -> impl Iterator<Item = (&'a str, &'a Value)> + use<'a> {
    let kind = kind.to_owned();
    resources(template).filter(move |(_, resource)| resource["Type"] == kind.as_str())
}

/// The one resource of `kind`.
fn only<'a>(template: &'a Value, kind: &str) -> (&'a str, &'a Value) {
    let found: Vec<_> = of_type(template, kind).collect();
    assert_eq!(found.len(), 1, "expected exactly one {kind}");
    found[0]
}

/// An intrinsic function in either YAML form (`!Ref X` or `{Ref: X}`), as
/// `(name without "Fn::", argument)`.
fn intrinsic(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(tagged) => Some((
            tagged.tag.to_string().trim_start_matches('!').to_owned(),
            &tagged.value,
        )),
        Value::Mapping(map) if map.len() == 1 => {
            let (key, argument) = map.iter().next()?;
            let key = key.as_str()?;
            (key == "Ref" || key.starts_with("Fn::"))
                .then(|| (key.trim_start_matches("Fn::").to_owned(), argument))
        }
        _ => None,
    }
}

/// The logical id that `!Ref` names.
fn ref_target(value: &Value) -> Option<&str> {
    match intrinsic(value)? {
        (name, argument) if name == "Ref" => argument.as_str(),
        _ => None,
    }
}

/// The media bucket's name as template.yaml writes it. The function the
/// bucket's notification names (photo-uploaded) reaches the bucket by this
/// name, since `!Ref MediaBucket` from it would be a cycle.
const MEDIA_BUCKET_NAME: &str = "hdoc-backend-${Stage}-media-${AWS::AccountId}";

/// A resource reference as a `!Sub` string: `!GetAtt T.Arn` and
/// `!Sub "${T.Arn}"` are both `${T.Arn}`, and so is the media bucket's ARN
/// written with its name; a literal ARN stays itself.
pub(crate) fn as_sub(value: &Value) -> String {
    let bucket_by_name = format!("arn:${{AWS::Partition}}:s3:::{MEDIA_BUCKET_NAME}");
    written_as_sub(value).replace(&bucket_by_name, "${MediaBucket.Arn}")
}

fn written_as_sub(value: &Value) -> String {
    match intrinsic(value) {
        Some((name, Value::String(argument))) if name == "Sub" => argument.clone(),
        Some((name, Value::String(argument))) if name == "GetAtt" => format!("${{{argument}}}"),
        Some((name, Value::Sequence(parts))) if name == "GetAtt" => {
            let parts: Vec<&str> = parts.iter().filter_map(Value::as_str).collect();
            format!("${{{}}}", parts.join("."))
        }
        Some((name, Value::String(argument))) if name == "Ref" => format!("${{{argument}}}"),
        _ => match value {
            Value::String(literal) => literal.clone(),
            other => panic!("unexpected resource reference {other:?}"),
        },
    }
}

/// A value that may be conditional: `!If [Condition, value, !Ref
/// AWS::NoValue]` is `(Some(Condition), value)`; anything else `(None, itself)`.
pub(crate) fn conditional(value: &Value) -> (Option<String>, &Value) {
    match intrinsic(value) {
        Some((name, Value::Sequence(branches))) if name == "If" => {
            let [condition, then, otherwise] = branches.as_slice() else {
                panic!("!If takes a condition and two values: {value:?}");
            };
            assert_eq!(
                ref_target(otherwise),
                Some("AWS::NoValue"),
                "an !If here gives a value or none: {value:?}"
            );
            let condition = condition.as_str().expect("a condition's name");
            (Some(condition.to_owned()), then)
        }
        _ => (None, value),
    }
}

/// The secrets the function `resource` reads at Init (`Config::for_lambda`),
/// as the grants that allow it: (`secretsmanager:GetSecretValue`, the
/// condition it has them on, the secret's ARN as a `!Sub` string). A secret
/// given by name is granted with the suffix Secrets Manager adds to its ARN.
pub(crate) fn secrets_read_at_init(
    template: &Value,
    resource: &Value,
) -> BTreeSet<(String, Option<String>, String)> {
    let globals = &template["Globals"]["Function"]["Environment"]["Variables"];
    let own = &resource["Properties"]["Environment"]["Variables"];
    hdoc_shared::config::SECRETS
        .iter()
        .filter_map(|secret| {
            let value = [own, globals]
                .into_iter()
                .map(|vars| &vars[secret.arn_variable])
                .find(|value| !value.is_null())
                // Empty: a function given no such secret (the pre-token trigger).
                .filter(|value| value.as_str() != Some(""))?;
            let (condition, value) = conditional(value);
            let arn = as_sub(value);
            let granted = if arn.starts_with("arn:") {
                format!("{arn}-??????")
            } else {
                arn
            };
            Some((
                "secretsmanager:GetSecretValue".to_owned(),
                condition,
                granted,
            ))
        })
        .collect()
}

/// The policy documents a function's role holds: its own `Policies`, and
/// the `AWS::IAM::Policy` resources attached to the role SAM makes for it
/// (`<id>Role`), for a grant that naming in the function would make a
/// cycle (the pre-token trigger's, on the pool that names it).
pub(crate) fn policies<'a>(template: &'a Value, id: &str, function: &'a Value) -> Vec<&'a Value> {
    let role = format!("{id}Role");
    let attached = of_type(template, "AWS::IAM::Policy")
        .filter(|(_, policy)| {
            one_or_many(&policy["Properties"]["Roles"])
                .iter()
                .any(|named| ref_target(named) == Some(role.as_str()))
        })
        .map(|(_, policy)| &policy["Properties"]["PolicyDocument"]);
    one_or_many(&function["Properties"]["Policies"])
        .into_iter()
        .chain(attached)
        .collect()
}

/// A scalar or a list of scalars/intrinsics, as a list.
pub(crate) fn one_or_many(value: &Value) -> Vec<&Value> {
    match value {
        Value::Sequence(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        single => vec![single],
    }
}

/// The `AWS::Serverless::Function` built from the crate `name`, found by its
/// `BuildProperties.Binary` (the link between a crate and its Lambda).
pub(crate) fn function_resource<'a>(template: &'a Value, name: &str) -> (&'a str, &'a Value) {
    let found: Vec<_> = of_type(template, "AWS::Serverless::Function")
        .filter(|(_, resource)| resource["Metadata"]["BuildProperties"]["Binary"] == name)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "template.yaml needs exactly one AWS::Serverless::Function with \
         Metadata.BuildProperties.Binary: {name} (copy another function's block)"
    );
    found[0]
}

/// A function property, falling back to `Globals.Function` as SAM does.
fn property<'a>(template: &'a Value, function: &'a Value, key: &str) -> &'a Value {
    match &function["Properties"][key] {
        Value::Null => &template["Globals"]["Function"][key],
        value => value,
    }
}

/// Every HttpApi route in the template: (METHOD, path) -> (function logical
/// id, its Auth.Authorizer if set). Panics on a route declared twice.
pub(crate) fn template_routes(
    template: &Value,
) -> BTreeMap<(String, String), (String, Option<String>)> {
    let (api, _) = only(template, "AWS::Serverless::HttpApi");
    let mut routes = BTreeMap::new();
    for (id, function) in of_type(template, "AWS::Serverless::Function") {
        let Some(events) = function["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (event_name, event) in events {
            let properties = &event["Properties"];
            // S3 notifications (photo uploads), the table's stream and schedules
            // route no requests (template_background_functions_have_their_triggers).
            if BACKGROUND_EVENTS.iter().any(|kind| event["Type"] == *kind) {
                continue;
            }
            assert_eq!(
                event["Type"], "HttpApi",
                "{id}.{event_name:?}: only HttpApi events route requests"
            );
            assert_eq!(
                ref_target(&properties["ApiId"]),
                Some(api),
                "{id}.{event_name:?} must be on !Ref {api} (an event without ApiId creates another API)"
            );
            let method = properties["Method"]
                .as_str()
                .expect("Method is a string")
                .to_uppercase();
            let path = properties["Path"]
                .as_str()
                .expect("Path is a string")
                .to_owned();
            let authorizer = properties["Auth"]["Authorizer"].as_str().map(str::to_owned);
            let previous =
                routes.insert((method.clone(), path.clone()), (id.to_owned(), authorizer));
            assert!(previous.is_none(), "{method} {path} is routed twice");
        }
    }
    routes
}

#[test]
fn template_routes_are_exactly_the_function_routes() {
    let template = template();
    let (_, api) = only(&template, "AWS::Serverless::HttpApi");
    // Routes must come only from the functions' events, which this test reads.
    for key in ["DefinitionBody", "DefinitionUri"] {
        assert!(
            api["Properties"][key].is_null(),
            "the HttpApi must not have {key}"
        );
    }

    let expected: BTreeMap<(String, String), String> = FUNCTIONS
        .iter()
        .flat_map(|function| {
            let (id, _) = function_resource(&template, function.name);
            function.routes.iter().map(move |route| {
                (
                    (route.method.to_owned(), route.path.to_owned()),
                    id.to_owned(),
                )
            })
        })
        .collect();
    let actual: BTreeMap<(String, String), String> = template_routes(&template)
        .into_iter()
        .map(|(route, (id, _))| (route, id))
        .collect();
    assert_eq!(
        actual, expected,
        "template.yaml routes vs the crates' ROUTES"
    );
}

#[test]
fn template_caller_routes_have_the_authorizer_and_public_ones_none() {
    let template = template();
    let routes = template_routes(&template);
    for function in FUNCTIONS {
        for route in function.routes {
            let key = (route.method.to_owned(), route.path.to_owned());
            let (_, authorizer) = routes.get(&key).unwrap_or_else(|| {
                panic!("{} {} is not in template.yaml", route.method, route.path)
            });
            // Explicit both ways: a public route without `NONE` would get the default authorizer.
            let wanted = match route.access {
                Access::Caller => AUTHORIZER,
                Access::Public | Access::Signed => "NONE",
            };
            assert_eq!(
                authorizer.as_deref(),
                Some(wanted),
                "{} {} is {:?}",
                route.method,
                route.path,
                route.access
            );
        }
    }

    // The authorizer is Cognito's JWT check for this stack's pool and client.
    let (_, api) = only(&template, "AWS::Serverless::HttpApi");
    let auth = &api["Properties"]["Auth"];
    let jwt = &auth["Authorizers"][AUTHORIZER]["JwtConfiguration"];
    assert_eq!(
        as_sub(&jwt["issuer"]),
        "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"
    );
    let audience: Vec<Option<&str>> = one_or_many(&jwt["audience"])
        .into_iter()
        .map(ref_target)
        .collect();
    assert_eq!(audience, [Some("UserPoolClient")]);
    let (pool, _) = only(&template, "AWS::Cognito::UserPool");
    assert_eq!(pool, "UserPool");
    let (_, client) = only(&template, "AWS::Cognito::UserPoolClient");
    assert_eq!(ref_target(&client["Properties"]["UserPoolId"]), Some(pool));
    let (_, group) = only(&template, "AWS::Cognito::UserPoolGroup");
    assert_eq!(group["Properties"]["GroupName"], "admin");
}

/// Lambda functions that S3, the table's stream or a schedule (not API
/// Gateway) invokes, with no routes: further binaries of the crates in
/// `FUNCTIONS` (`photo-uploaded`, `purge-user`) or crates of their own
/// (`reconcile`, `activity`).
const EVENT_BINARIES: &[&str] = &[
    "photo-uploaded",
    "purge-user",
    "reconcile",
    "activity",
    "pre-token",
];

/// The event types that invoke a function without routing a request.
const BACKGROUND_EVENTS: &[&str] = &["S3", "DynamoDB", "Schedule"];

/// Every binary the template must deploy: each HTTP function, then the event ones.
pub(crate) fn binaries() -> impl Iterator<Item = &'static str> {
    FUNCTIONS
        .iter()
        .map(|function| function.name)
        .chain(EVENT_BINARIES.iter().copied())
}

#[test]
fn template_declares_every_function_as_a_rust_arm64_lambda() {
    let template = template();
    for (id, resource) in of_type(&template, "AWS::Serverless::Function") {
        let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str();
        assert!(
            binaries().any(|name| Some(name) == binary),
            "{id} builds {binary:?}, which is not a crate in hdoc_tests::FUNCTIONS or in EVENT_BINARIES"
        );
    }
    for name in binaries() {
        let (id, resource) = function_resource(&template, name);
        assert_eq!(
            resource["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{id}"
        );
        assert_eq!(
            property(&template, resource, "Runtime"),
            "provided.al2023",
            "{id}"
        );
        assert_eq!(
            property(&template, resource, "Handler"),
            "bootstrap",
            "{id}"
        );
        let architectures: Vec<&Value> =
            one_or_many(property(&template, resource, "Architectures"));
        assert_eq!(architectures, [&Value::from("arm64")], "{id}");
        // The workspace root: cargo-lambda builds `--bin <name>` there, sharing one target dir.
        assert_eq!(property(&template, resource, "CodeUri"), ".", "{id}");
        // A crate's main binary, or an event binary in some crate's src/bin.
        let functions = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions/");
        let is_crate = std::path::Path::new(&format!("{functions}{name}/src/main.rs")).exists();
        let is_bin = FUNCTIONS.iter().any(|function| {
            std::path::Path::new(&format!("{functions}{}/src/bin/{name}.rs", function.name))
                .exists()
        });
        assert!(
            is_crate || is_bin,
            "no source for the {name} binary under {functions}"
        );

        // Named for its stage, with its own log group (retention per stage) and errors alarm.
        assert_eq!(
            as_sub(&resource["Properties"]["FunctionName"]),
            format!("hdoc-backend-${{Stage}}-{name}"),
            "{id}"
        );
        let log_group = ref_target(&resource["Properties"]["LoggingConfig"]["LogGroup"])
            .unwrap_or_else(|| panic!("{id} needs LoggingConfig.LogGroup: !Ref its log group"));
        let log_group = &template["Resources"][log_group];
        assert_eq!(log_group["Type"], "AWS::Logs::LogGroup", "{id}");
        assert!(
            !log_group["Properties"]["RetentionInDays"].is_null(),
            "{id}"
        );
        let alarmed = of_type(&template, "AWS::CloudWatch::Alarm").any(|(_, alarm)| {
            alarm_metrics(alarm)
                .iter()
                .any(|(namespace, name, dimensions)| {
                    namespace == "AWS/Lambda"
                        && name == "Errors"
                        && dimensions.get("FunctionName").map(String::as_str) == Some(id)
                })
        });
        assert!(alarmed, "{id} needs an Errors alarm");

        // The environment the shared config reads: a deployed stage panics at
        // cold start without its settings, so let the real reader check it.
        let mut variables = BTreeMap::new();
        for source in [
            &template["Globals"]["Function"]["Environment"]["Variables"],
            &resource["Properties"]["Environment"]["Variables"],
        ] {
            if let Some(map) = source.as_mapping() {
                for (key, value) in map {
                    variables.insert(key.as_str().expect("variable name").to_owned(), value);
                }
            }
        }
        assert_eq!(
            variables.get("HDOC_STAGE").copied().and_then(ref_target),
            Some("Stage")
        );
        let config = Config::from_lookup(|key| match key {
            "HDOC_STAGE" => Some("prod".to_owned()),
            // A number (the CacheSeconds parameter: Type Number, 0 to 86400).
            "HDOC_CACHE_SECONDS" if variables.contains_key(key) => Some("60".to_owned()),
            // A stage's own value, checked below for every stage.
            "HDOC_WRITE_LIMITS" => None,
            // A secret is read at Init from the secret its ARN variable names.
            _ => {
                let read_at_init = hdoc_shared::config::SECRETS.iter().any(|secret| {
                    secret.variable == key && variables.contains_key(secret.arn_variable)
                });
                (variables.contains_key(key) || read_at_init).then(|| "set".to_owned())
            }
        });
        assert!(
            variables.contains_key("HDOC_WRITE_LIMITS"),
            "{id}: HDOC_WRITE_LIMITS"
        );
        for stage in ["dev", "staging", "prod"] {
            let limits = template["Mappings"]["StageConfig"][stage]["WriteLimits"]
                .as_str()
                .unwrap_or_else(|| panic!("StageConfig.{stage}.WriteLimits"));
            WriteLimits::DEPLOYED
                .with(limits)
                .unwrap_or_else(|err| panic!("StageConfig.{stage}.WriteLimits: {err}"));
        }
        // Only the functions that handle photos get the bucket (and links S3):
        // reviews presigns and deletes them, purge-user deletes a deleted
        // user's, photo-uploaded deletes uploads no review awaits. Those that
        // hand out or read photo URLs get where they are served.
        let photos = matches!(name, "reviews" | "purge-user" | "photo-uploaded");
        assert_eq!(config.bucket.is_some(), photos, "{id}: HDOC_BUCKET");
        assert_eq!(
            config.media_base_url.is_some(),
            matches!(name, "reviews" | "purge-user"),
            "{id}: HDOC_MEDIA_BASE_URL"
        );
        if name == "photo-uploaded" {
            let bucket = only(&template, "AWS::S3::Bucket").1;
            assert_eq!(
                as_sub(&bucket["Properties"]["BucketName"]),
                MEDIA_BUCKET_NAME
            );
            assert_eq!(as_sub(variables["HDOC_BUCKET"]), MEDIA_BUCKET_NAME, "{id}");
        }
        assert_eq!(
            variables.get("HDOC_TABLE").copied().and_then(ref_target),
            Some(only(&template, "AWS::DynamoDB::Table").0)
        );
    }
}

#[test]
fn template_policies_grant_only_what_each_function_uses() {
    let template = template();
    assert!(
        template["Globals"]["Function"]["Policies"].is_null()
            && template["Globals"]["Function"]["Role"].is_null(),
        "permissions are per function"
    );
    let (table, _) = only(&template, "AWS::DynamoDB::Table");
    assert_eq!(table, "Table", "EXPECTED_ACCESS names the table Table");
    let (bucket, _) = only(&template, "AWS::S3::Bucket");
    let (pool, _) = only(&template, "AWS::Cognito::UserPool");
    // The table, its indexes, the photo bucket's objects and the user pool:
    // nothing else.
    let mut allowed_resources: BTreeSet<String> = [
        TABLE.to_owned(),
        format!("${{{pool}.Arn}}"),
        format!("${{{bucket}.Arn}}/*"),
        format!("${{{bucket}.Arn}}/reviews/*"),
    ]
    .into();
    allowed_resources.extend(
        INDEXES
            .iter()
            .map(|index| format!("{TABLE}/index/{}", index.name)),
    );

    for (function, access) in EXPECTED_ACCESS {
        assert!(
            *function == SCANNER || !access.iter().any(|(action, _)| *action == "dynamodb:Scan"),
            "{function} may not Scan: only {SCANNER} walks the whole table"
        );
    }

    for name in binaries() {
        let (id, resource) = function_resource(&template, name);
        let expected: BTreeSet<(String, String)> = EXPECTED_ACCESS
            .iter()
            .find(|(function, _)| *function == name)
            .unwrap_or_else(|| {
                panic!("add {name}'s DynamoDB/S3 calls to EXPECTED_ACCESS in tests/api/template.rs")
            })
            .1
            .iter()
            .map(|(action, resource)| ((*action).to_owned(), (*resource).to_owned()))
            .collect();

        // SAM's own role with inline statements only: a Role, a managed policy
        // or a SAM policy template would grant what this test cannot see.
        assert!(
            resource["Properties"]["Role"].is_null(),
            "{id} must not bring its own Role"
        );
        let mut granted = BTreeSet::new();
        let mut secrets = BTreeSet::new();
        let mut conditions = BTreeMap::new();
        for policy in policies(&template, id, resource) {
            let statements = policy["Statement"].as_sequence().unwrap_or_else(|| {
                panic!(
                    "{id}: every policy is an inline document with a Statement list, not {policy:?}"
                )
            });
            for statement in statements {
                // A statement only on a condition (`!If`): a secret's grant
                // (activity's GitHub token), on the condition the secret is.
                let (when, statement) = conditional(statement);
                assert!(
                    when.is_none()
                        || one_or_many(&statement["Action"])
                            .iter()
                            .all(|a| a.as_str().is_some_and(|a| a.starts_with("secretsmanager:"))),
                    "{id}: only a secret's grant is conditional: {statement:?}"
                );
                assert_eq!(statement["Effect"], "Allow", "{id}: {statement:?}");
                for key in ["NotAction", "NotResource", "Principal"] {
                    assert!(statement[key].is_null(), "{id}: no {key} in {statement:?}");
                }
                let leading = leading_keys_condition(id, statement);
                let actions = one_or_many(&statement["Action"]);
                let dynamodb = actions
                    .iter()
                    .all(|action| action.as_str().is_some_and(|a| a.starts_with("dynamodb:")));
                if let Some(patterns) = &leading {
                    // ForAllValues holds for a call naming no partition.
                    assert!(
                        dynamodb && !actions.iter().any(|a| a.as_str() == Some("dynamodb:Scan")),
                        "{id}: a LeadingKeys condition binds neither a Scan nor another service's call: {statement:?}"
                    );
                    for target in one_or_many(&statement["Resource"]) {
                        let patterns: BTreeSet<String> = patterns.iter().cloned().collect();
                        let previous = conditions.insert(as_sub(target), patterns);
                        assert!(previous.is_none(), "{id}: one statement a resource");
                    }
                } else if dynamodb {
                    for target in one_or_many(&statement["Resource"]) {
                        assert!(
                            name == SCANNER && as_sub(target) == TABLE,
                            "{id}: its DynamoDB statement on {} names the partitions it reaches \
                             (a dynamodb:LeadingKeys condition, see expected_leading_keys)",
                            as_sub(target)
                        );
                    }
                }
                for action in one_or_many(&statement["Action"]) {
                    let action = action.as_str().expect("an action is a string");
                    assert!(
                        !action.contains('*'),
                        "{id} grants the wildcard action {action}"
                    );
                    for target in one_or_many(&statement["Resource"]) {
                        let (condition, target) = conditional(target);
                        let target = as_sub(target);
                        if action.starts_with("secretsmanager:") {
                            let condition = condition.or_else(|| when.clone());
                            secrets.insert((action.to_owned(), condition, target));
                            continue;
                        }
                        assert!(
                            condition.is_none(),
                            "{id}: {action} on {target} only if {condition:?}"
                        );
                        assert!(
                            allowed_resources.contains(&target),
                            "{id} grants {action} on {target}, not the table, an index or the bucket's objects"
                        );
                        granted.insert((action.to_owned(), target));
                    }
                }
            }
        }
        assert_eq!(granted, expected, "{id}'s (action, resource) grants");
        // Exactly the secrets its environment names, on the same conditions.
        assert_eq!(
            secrets,
            secrets_read_at_init(&template, resource),
            "{id}'s Secrets Manager grants"
        );
        let expected_conditions: BTreeMap<String, BTreeSet<String>> = expected_leading_keys()
            .into_iter()
            .filter(|(function, ..)| *function == name)
            .map(|(_, resource, patterns)| (resource.to_owned(), patterns.into_iter().collect()))
            .collect();
        assert_eq!(
            conditions, expected_conditions,
            "{id}'s dynamodb:LeadingKeys conditions"
        );
    }
}

/// A function's events of type `kind`, as (event name, event).
fn events_of<'a>(function: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    function["Properties"]["Events"]
        .as_mapping()
        .into_iter()
        .flatten()
        .filter(|(_, event)| event["Type"] == kind)
        .map(|(name, event)| (name.as_str().expect("event name is a string"), event))
        .collect()
}

#[test]
fn template_background_functions_have_their_triggers() {
    let template = template();

    // What invokes each binary besides API Gateway: its events are exactly these.
    let triggers: BTreeMap<&str, BTreeSet<&str>> = [
        // S3 reports each new object under reviews/.
        ("photo-uploaded", BTreeSet::from(["S3"])),
        // The table's stream reports each tombstone (and each further round).
        ("purge-user", BTreeSet::from(["DynamoDB"])),
        // A daily schedule starts a run; the stream reports each handoff.
        ("reconcile", BTreeSet::from(["Schedule", "DynamoDB"])),
        // An hourly schedule starts or continues a run (no stream: the
        // table's stream has its two readers).
        ("activity", BTreeSet::from(["Schedule"])),
        // Cognito, through the pool's LambdaConfig (checked below): no SAM event.
        ("pre-token", BTreeSet::new()),
    ]
    .into();
    for name in EVENT_BINARIES {
        assert!(
            triggers.contains_key(name),
            "say in this test what invokes the {name} binary"
        );
    }
    for name in binaries() {
        let (id, resource) = function_resource(&template, name);
        let kinds: BTreeSet<&str> = resource["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(_, event)| event["Type"].as_str())
            .filter(|kind| *kind != "HttpApi")
            .collect();
        assert_eq!(
            kinds,
            triggers.get(name).cloned().unwrap_or_default(),
            "{id}'s events besides HttpApi"
        );
    }

    // The stream-triggered functions filter on the new image of an item.
    let (table_id, table) = only(&template, "AWS::DynamoDB::Table");
    let view = table["Properties"]["StreamSpecification"]["StreamViewType"].as_str();
    assert!(
        matches!(view, Some("NEW_IMAGE" | "NEW_AND_OLD_IMAGES")),
        "the table needs a stream with new images, not {view:?}"
    );
    let stream = format!("${{{table_id}.StreamArn}}");

    // Each stream-triggered function sees only the records it acts on, and
    // runs longer than the time it keeps back to hand its work on (MARGIN in
    // its binary; Globals' 10 s would leave it no time at all).
    let stream_functions = [
        (
            "purge-user",
            // A profile turned tombstone (its partition with the tombstone
            // mark), or marked for another round (ADD rounds).
            serde_json::json!({
                "eventName": ["INSERT", "MODIFY"],
                "dynamodb": {
                    "Keys": {"PK": {"S": [{"prefix": keys::USER_PREFIX}]}},
                    "NewImage": {keys::DELETED_AT: {"S": [{"exists": true}]}}
                }
            }),
            20,
        ),
        (
            "reconcile",
            // The reconcile job's checkpoint saved in the handoff phase.
            serde_json::json!({
                "eventName": ["MODIFY"],
                "dynamodb": {
                    "Keys": {"PK": {"S": [keys::JOB_RECONCILE]}},
                    "NewImage": {keys::PHASE: {"S": [keys::HANDOFF]}}
                }
            }),
            30,
        ),
    ];
    for (name, pattern, margin) in stream_functions {
        let (id, resource) = function_resource(&template, name);
        let streams = events_of(resource, "DynamoDB");
        assert_eq!(streams.len(), 1, "{id} has one DynamoDB event");
        let (event_name, event) = streams[0];
        let properties = &event["Properties"];
        assert_eq!(as_sub(&properties["Stream"]), stream, "{id}.{event_name}");
        assert_eq!(
            properties["StartingPosition"], "LATEST",
            "{id}.{event_name}"
        );
        // Unbounded, a record that keeps failing holds its shard for the
        // stream's 24 hours; dropped, the nightly reconcile picks the work up.
        assert!(
            properties["MaximumRetryAttempts"]
                .as_i64()
                .is_some_and(|retries| retries >= 0),
            "{id}.{event_name} needs a bounded MaximumRetryAttempts"
        );
        let patterns: Vec<serde_json::Value> =
            one_or_many(&properties["FilterCriteria"]["Filters"])
                .iter()
                .map(|filter| {
                    let text = filter["Pattern"]
                        .as_str()
                        .unwrap_or_else(|| panic!("{id}.{event_name}: a Pattern is a JSON string"));
                    serde_json::from_str::<serde_json::Value>(text)
                        .unwrap_or_else(|err| panic!("{id}.{event_name}: {err} in {text}"))
                })
                .collect();
        assert_eq!(patterns, [pattern], "{id}.{event_name}'s filter");
        let timeout = property(&template, resource, "Timeout")
            .as_u64()
            .unwrap_or_else(|| panic!("{id}: Timeout is a number of seconds"));
        assert!(
            timeout > margin,
            "{id}: a Timeout of {timeout} s leaves nothing after the {margin} s it keeps back"
        );
    }

    // The reconcile and activity runs start on a schedule that is on; the
    // activity run, which goes on only at the next schedule (no stream),
    // every hour, and its invocations run long enough to get somewhere past
    // the 60 s they keep back (MARGIN in functions/activity/src/main.rs).
    for name in ["reconcile", "activity"] {
        let (id, function) = function_resource(&template, name);
        let schedules = events_of(function, "Schedule");
        assert_eq!(schedules.len(), 1, "{id} has one Schedule event");
        let schedule = &schedules[0].1["Properties"];
        assert!(
            schedule["Schedule"].as_str().is_some_and(
                |expression| expression.starts_with("cron(") || expression.starts_with("rate(")
            ),
            "{id}: {schedule:?}"
        );
        assert_ne!(schedule["Enabled"], false, "{id}'s schedule is disabled");
        assert_ne!(schedule["State"], "DISABLED", "{id}'s schedule is disabled");
    }
    let (id, activity) = function_resource(&template, "activity");
    let hourly = &events_of(activity, "Schedule")[0].1["Properties"]["Schedule"];
    assert_eq!(hourly, "rate(1 hour)", "{id}");
    let timeout = property(&template, activity, "Timeout").as_u64();
    assert!(timeout.is_some_and(|t| t > 60), "{id}: Timeout {timeout:?}");

    // The GitHub token is optional (a parameter that defaults to none), given
    // only to the functions that read GitHub (the journey job, users for the
    // verification check, the webhook's github), and never in the template
    // nor in any function's configuration: the secret's (partial) ARN, which
    // the function reads at Init. The webhook's secret likewise, to github
    // alone.
    assert_eq!(template["Parameters"]["GitHubTokenSecret"]["Default"], "");
    assert_eq!(template["Parameters"]["GitHubWebhookSecret"]["Default"], "");
    for (function_id, resource) in of_type(&template, "AWS::Serverless::Function") {
        let variables = &resource["Properties"]["Environment"]["Variables"];
        let binary = &resource["Metadata"]["BuildProperties"]["Binary"];
        for (variable, condition, parameter, given) in [
            (
                "HDOC_GITHUB_TOKEN_ARN",
                "HasGitHubToken",
                "GitHubTokenSecret",
                binary == "activity" || binary == "users" || binary == "github",
            ),
            (
                "HDOC_GITHUB_WEBHOOK_SECRET_ARN",
                "HasWebhookSecret",
                "GitHubWebhookSecret",
                binary == "github",
            ),
        ] {
            let arn = &variables[variable];
            assert_eq!(!arn.is_null(), given, "{function_id}: {variable}");
            if given {
                let (when, arn) = conditional(arn);
                assert_eq!(
                    when.as_deref(),
                    Some(condition),
                    "{function_id}: {variable}"
                );
                assert_eq!(
                    as_sub(arn),
                    format!(
                        "arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:${{{parameter}}}"
                    ),
                    "{function_id}: {variable}"
                );
            }
        }
    }
    assert!(
        template["Globals"]["Function"]["Environment"]["Variables"]["HDOC_GITHUB_TOKEN_ARN"]
            .is_null()
    );

    // Drift found means a bug: the metric the run logs (shared/src/jobs.rs,
    // embedded metric format, namespace hdoc, dimension Stage) is alarmed.
    let drift_alarmed = of_type(&template, "AWS::CloudWatch::Alarm").any(|(_, alarm)| {
        let properties = &alarm["Properties"];
        properties["Namespace"] == "hdoc"
            && properties["MetricName"] == "AggregatesRepaired"
            && one_or_many(&properties["Dimensions"])
                .iter()
                .any(|dimension| {
                    dimension["Name"] == "Stage" && ref_target(&dimension["Value"]) == Some("Stage")
                })
            && one_or_many(&properties["AlarmActions"])
                .iter()
                .any(|action| ref_target(action) == Some("AlarmTopic"))
    });
    assert!(
        drift_alarmed,
        "an alarm on hdoc AggregatesRepaired (Stage) must notify AlarmTopic"
    );
}

#[test]
fn template_table_keys_and_indexes_are_the_schema() {
    let template = template();
    let (_, table) = only(&template, "AWS::DynamoDB::Table");
    let properties = &table["Properties"];
    assert_eq!(as_sub(&properties["TableName"]), "hdoc-backend-${Stage}");
    assert_eq!(properties["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(properties["SSESpecification"]["SSEEnabled"], true);
    // Idempotency records expire by TTL on the attribute the store writes
    // (schema::create_table turns the same on for local runs and tests).
    let ttl = &properties["TimeToLiveSpecification"];
    assert_eq!(
        (&ttl["AttributeName"], &ttl["Enabled"]),
        (&TTL.into(), &true.into())
    );

    let keys = |schema: &Value| -> Vec<(String, String)> {
        one_or_many(schema)
            .iter()
            .map(|key| {
                (
                    key["AttributeName"]
                        .as_str()
                        .expect("AttributeName")
                        .to_owned(),
                    key["KeyType"].as_str().expect("KeyType").to_owned(),
                )
            })
            .collect()
    };
    let hash_range = |partition: &str, sort: &str| {
        vec![
            (partition.to_owned(), "HASH".to_owned()),
            (sort.to_owned(), "RANGE".to_owned()),
        ]
    };
    assert_eq!(keys(&properties["KeySchema"]), hash_range(PK, SK));

    let actual: BTreeMap<String, (Vec<(String, String)>, String)> =
        one_or_many(&properties["GlobalSecondaryIndexes"])
            .iter()
            .map(|index| {
                (
                    index["IndexName"].as_str().expect("IndexName").to_owned(),
                    (
                        keys(&index["KeySchema"]),
                        index["Projection"]["ProjectionType"]
                            .as_str()
                            .expect("ProjectionType")
                            .to_owned(),
                    ),
                )
            })
            .collect();
    let expected: BTreeMap<String, (Vec<(String, String)>, String)> = INDEXES
        .iter()
        .map(|index| {
            (
                index.name.to_owned(),
                (
                    hash_range(index.partition_key, index.sort_key),
                    "ALL".to_owned(),
                ),
            )
        })
        .collect();
    assert_eq!(actual, expected, "GSIs vs schema::INDEXES");

    // Every key attribute is a string, and nothing else is declared (CloudFormation
    // rejects definitions that no key uses).
    let definitions: BTreeMap<String, String> = one_or_many(&properties["AttributeDefinitions"])
        .iter()
        .map(|definition| {
            (
                definition["AttributeName"]
                    .as_str()
                    .expect("AttributeName")
                    .to_owned(),
                definition["AttributeType"]
                    .as_str()
                    .expect("AttributeType")
                    .to_owned(),
            )
        })
        .collect();
    let mut key_names = vec![PK, SK];
    for index in INDEXES {
        key_names.extend([index.partition_key, index.sort_key]);
    }
    let expected: BTreeMap<String, String> = key_names
        .into_iter()
        .map(|name| (name.to_owned(), "S".to_owned()))
        .collect();
    assert_eq!(definitions, expected);
}

/// The metrics an alarm reads, as (namespace, name, dimension -> value):
/// its single metric, or every `MetricStat` of its metric math. A value
/// that is `!Ref X` is written `X`.
fn alarm_metrics(alarm: &Value) -> Vec<(String, String, BTreeMap<String, String>)> {
    let properties = &alarm["Properties"];
    let dimensions = |list: &Value| -> BTreeMap<String, String> {
        one_or_many(list)
            .iter()
            .map(|dimension| {
                let value = &dimension["Value"];
                let value = ref_target(value)
                    .map(str::to_owned)
                    .unwrap_or_else(|| as_sub(value));
                (
                    dimension["Name"]
                        .as_str()
                        .expect("a dimension name")
                        .to_owned(),
                    value,
                )
            })
            .collect()
    };
    let named = |metric: &Value| {
        (
            metric["Namespace"].as_str().expect("Namespace").to_owned(),
            metric["MetricName"]
                .as_str()
                .expect("MetricName")
                .to_owned(),
            dimensions(&metric["Dimensions"]),
        )
    };
    if properties["MetricName"].is_string() {
        return vec![named(properties)];
    }
    one_or_many(&properties["Metrics"])
        .iter()
        .filter(|query| !query["MetricStat"].is_null())
        .map(|query| named(&query["MetricStat"]["Metric"]))
        .collect()
}

/// The code's metric named `name` (shared/src/telemetry/emf.rs), if any.
fn emitted(name: &str) -> Option<&'static emf::Metric> {
    emf::ALL.iter().find(|metric| metric.name == name)
}

#[test]
fn template_traces_every_function_with_xray() {
    let template = template();
    for name in binaries() {
        let (id, resource) = function_resource(&template, name);
        assert_eq!(
            property(&template, resource, "Tracing"),
            "Active",
            "{id}: Tracing: Active (Globals)"
        );
    }
    // X-Ray traces only REST APIs: an HTTP API has no tracing setting, and
    // the trace starts at the function's segment (docs/operations.md).
    let (_, api) = only(&template, "AWS::Serverless::HttpApi");
    assert!(api["Properties"]["TracingEnabled"].is_null());
}

#[test]
fn template_dashboard_shows_the_metrics_the_code_emits() {
    let template = template();
    let (_, dashboard) = only(&template, "AWS::CloudWatch::Dashboard");
    let body = as_sub(&dashboard["Properties"]["DashboardBody"]);
    // What CloudFormation substitutes, so that the body parses as JSON.
    let body = ["${Stage}", "${Table}", "${HttpApi}", "${AWS::Region}"]
        .iter()
        .fold(body, |body, reference| body.replace(reference, "x"));
    let body: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|err| panic!("DashboardBody: {err}"));

    // Every hdoc metric a widget names: [namespace, name, dimension, value, ...]
    // rows, and SEARCH('{hdoc,<dimensions>} ... MetricName="<name>"') expressions.
    let mut shown: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut dynamodb_throttles = false;
    for widget in body["widgets"].as_array().expect("widgets") {
        for row in widget["properties"]["metrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let row = row.as_array().expect("a metric row");
            match (row[0].as_str(), &row[0]["expression"]) {
                (Some(namespace), _) => {
                    let name = row[1].as_str().expect("a metric name");
                    let dimensions: Vec<&str> = row[2..]
                        .iter()
                        .step_by(2)
                        .filter_map(serde_json::Value::as_str)
                        .collect();
                    if namespace == emf::NAMESPACE {
                        shown
                            .entry(name.to_owned())
                            .or_default()
                            .insert(dimensions.join(","));
                    }
                    dynamodb_throttles |= namespace == "AWS/DynamoDB" && name.contains("Throttle");
                }
                (None, serde_json::Value::String(expression)) => {
                    let schema = expression
                        .split_once('{')
                        .and_then(|(_, rest)| rest.split_once('}'))
                        .map(|(schema, _)| schema)
                        .expect("a SEARCH schema");
                    let mut parts = schema.split(',');
                    let namespace = parts.next().expect("a namespace");
                    let mut dimensions: Vec<&str> = parts.collect();
                    dimensions.sort_unstable();
                    let name = expression
                        .split_once("MetricName=\"")
                        .and_then(|(_, rest)| rest.split_once('"'))
                        .map(|(name, _)| name)
                        .expect("a MetricName in the SEARCH");
                    if namespace == emf::NAMESPACE {
                        shown
                            .entry(name.to_owned())
                            .or_default()
                            .insert(dimensions.join(","));
                    }
                    dynamodb_throttles |= namespace == "AWS/DynamoDB" && name.contains("Throttle");
                }
                other => panic!("a metric row of neither kind: {other:?}"),
            }
        }
    }
    assert!(
        dynamodb_throttles,
        "the dashboard shows DynamoDB's throttles"
    );
    for (name, dimension_sets) in &shown {
        let metric = emitted(name)
            .unwrap_or_else(|| panic!("the dashboard shows {name}, which the code never emits"));
        let emitted_sets: BTreeSet<String> = metric
            .dimensions
            .sets()
            .iter()
            .map(|set| {
                let mut set = set.to_vec();
                set.sort_unstable();
                set.join(",")
            })
            .collect();
        for set in dimension_sets {
            assert!(
                emitted_sets.contains(set),
                "{name} is shown by [{set}], emitted by {emitted_sets:?}"
            );
        }
    }
    for metric in emf::ALL {
        assert!(
            shown.contains_key(metric.name),
            "the code emits {}, which the dashboard does not show",
            metric.name
        );
    }
    // Per route: requests, latency p50 and p99, 4xx, 5xx.
    let text = body.to_string();
    for stat in ["'p50'", "'p99'"] {
        assert!(
            text.contains(&format!("MetricName=\\\"Latency\\\"', {stat}")),
            "latency {stat}"
        );
    }
}

#[test]
fn template_alarms_hold_each_function_to_the_stage_error_budget() {
    let template = template();
    // The seed's budgets, in percent of requests (or invocations) per 5 minutes.
    let budgets = [("dev", 10..=20), ("staging", 5..=10), ("prod", 0..=2)];
    for (stage, range) in budgets {
        let budget = template["Mappings"]["StageConfig"][stage]["ErrorBudgetPercent"]
            .as_u64()
            .unwrap_or_else(|| panic!("StageConfig.{stage}.ErrorBudgetPercent"));
        assert!(
            range.contains(&budget),
            "{stage}: {budget}% is not in {range:?}"
        );
    }
    let on_budget = |alarm: &Value| {
        let threshold = &alarm["Properties"]["Threshold"];
        let path: Vec<String> = match intrinsic(threshold) {
            Some((name, argument)) if name == "FindInMap" => one_or_many(argument)
                .iter()
                .map(|part| {
                    ref_target(part)
                        .map(str::to_owned)
                        .or_else(|| part.as_str().map(str::to_owned))
                        .unwrap_or_default()
                })
                .collect(),
            _ => Vec::new(),
        };
        path == ["StageConfig", "Stage", "ErrorBudgetPercent"]
    };

    let http: BTreeSet<&str> = FUNCTIONS.iter().map(|function| function.name).collect();
    for name in binaries() {
        let (id, _) = function_resource(&template, name);
        let alarm = of_type(&template, "AWS::CloudWatch::Alarm")
            .map(|(_, alarm)| alarm)
            .find(|alarm| {
                alarm_metrics(alarm)
                    .iter()
                    .any(|(namespace, metric, dimensions)| {
                        namespace == "AWS/Lambda"
                            && metric == "Errors"
                            && dimensions.get("FunctionName").map(String::as_str) == Some(id)
                    })
            })
            .unwrap_or_else(|| panic!("{id} has no errors alarm"));
        assert!(on_budget(alarm), "{id}'s alarm is on ErrorBudgetPercent");
        let metrics = alarm_metrics(alarm);
        let reads = |namespace: &str, metric: &str, dimensions: &[(&str, &str)]| {
            metrics.iter().any(|(n, m, d)| {
                n == namespace
                    && m == metric
                    && d.len() == dimensions.len()
                    && dimensions
                        .iter()
                        .all(|(k, v)| d.get(*k).map(String::as_str) == Some(*v))
            })
        };
        assert!(
            reads("AWS/Lambda", "Invocations", &[("FunctionName", id)]),
            "{id}'s alarm is a share of its invocations"
        );
        // An HTTP function's failures include the 5xx it answered (which
        // Lambda counts as successful invocations), from its EMF lines.
        assert_eq!(
            reads(
                emf::NAMESPACE,
                emf::SERVER_ERRORS.name,
                &[("Stage", "Stage"), ("Function", id)]
            ),
            http.contains(name),
            "{id}'s alarm and its 5xx"
        );
        let expression = one_or_many(&alarm["Properties"]["Metrics"])
            .iter()
            .find(|query| query["ReturnData"] == true)
            .and_then(|query| query["Expression"].as_str())
            .unwrap_or_else(|| panic!("{id}: a returned expression"))
            .to_owned();
        assert!(
            expression.contains("100 *") && expression.contains("/ invocations"),
            "{expression}"
        );
    }

    // The API as its clients see it, and every alarm on an hdoc metric on a
    // metric the code emits, under dimensions it emits.
    let (_, api_alarm) = of_type(&template, "AWS::CloudWatch::Alarm")
        .find(|(_, alarm)| {
            alarm_metrics(alarm)
                .iter()
                .any(|(namespace, metric, _)| namespace == "AWS/ApiGateway" && metric == "5xx")
        })
        .expect("an alarm on the API's 5xx");
    assert!(
        on_budget(api_alarm),
        "the API's 5xx alarm is on ErrorBudgetPercent"
    );
    for (id, alarm) in of_type(&template, "AWS::CloudWatch::Alarm") {
        for (namespace, metric, dimensions) in alarm_metrics(alarm) {
            if namespace != emf::NAMESPACE {
                continue;
            }
            let emitted = emitted(&metric)
                .unwrap_or_else(|| panic!("{id} alarms on {metric}, which the code never emits"));
            let mut names: Vec<&str> = dimensions.keys().map(String::as_str).collect();
            names.sort_unstable();
            assert!(
                emitted.dimensions.sets().iter().any(|set| {
                    let mut set = set.to_vec();
                    set.sort_unstable();
                    set == names
                }),
                "{id}: {metric} by {names:?} is not emitted"
            );
        }
    }
}

/// A list property as its items' strings.
fn strings(value: &Value) -> BTreeSet<&str> {
    one_or_many(value)
        .into_iter()
        .filter_map(Value::as_str)
        .collect()
}

/// Whether a CloudFront path pattern (`*` any characters, `?` one) matches `path`.
fn glob(pattern: &str, path: &str) -> bool {
    match (pattern.as_bytes().first(), path.as_bytes().first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&pattern[1..], path) || (!path.is_empty() && glob(pattern, &path[1..]))
        }
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &path[1..]),
        (Some(p), Some(c)) if p == c => glob(&pattern[1..], &path[1..]),
        _ => false,
    }
}

/// The front end's sign-in (lazy-cognito: the Hosted UI, implicit grant,
/// scopes `openid email`, back to `/token`, out to `/`, `next dev` on 8080):
/// a domain whose prefix is a parameter per stage, the web client's OAuth
/// settings, and the outputs its configuration reads.
/// MFA for admins (docs/security.md): the pool asks for TOTP of whoever has
/// it, and its version 2 pre token trigger (which sets the access token's
/// groups too) is the pre-token function, which Cognito may invoke.
#[test]
fn template_gives_admin_powers_only_to_admins_with_totp() {
    let template = template();
    let (pool_id, pool) = only(&template, "AWS::Cognito::UserPool");
    let pool = &pool["Properties"];
    assert_eq!(pool["MfaConfiguration"], "OPTIONAL");
    assert_eq!(
        strings(&pool["EnabledMfas"]),
        BTreeSet::from(["SOFTWARE_TOKEN_MFA"])
    );
    assert_eq!(
        pool["UserPoolTier"], "ESSENTIALS",
        "version 2 events need it"
    );
    let trigger = &pool["LambdaConfig"]["PreTokenGenerationConfig"];
    assert_eq!(trigger["LambdaVersion"], "V2_0");
    let (function_id, _) = function_resource(&template, "pre-token");
    assert_eq!(
        as_sub(&trigger["LambdaArn"]),
        format!("${{{function_id}.Arn}}")
    );
    let invokes = of_type(&template, "AWS::Lambda::Permission").any(|(_, permission)| {
        let permission = &permission["Properties"];
        permission["Principal"] == "cognito-idp.amazonaws.com"
            && as_sub(&permission["FunctionName"]) == format!("${{{function_id}.Arn}}")
            && as_sub(&permission["SourceArn"]) == format!("${{{pool_id}.Arn}}")
            && permission["Action"] == "lambda:InvokeFunction"
    });
    assert!(
        invokes,
        "the pool may invoke {function_id}, and only the pool"
    );
}

#[test]
fn template_gives_the_front_end_a_hosted_ui_to_sign_in_with() {
    let template = template();
    let (_, domain) = only(&template, "AWS::Cognito::UserPoolDomain");
    assert_eq!(
        ref_target(&domain["Properties"]["UserPoolId"]),
        Some("UserPool")
    );
    assert_eq!(
        ref_target(&domain["Properties"]["Domain"]),
        Some("AuthDomainPrefix")
    );
    let parameters = &template["Parameters"];
    assert!(
        parameters["AuthDomainPrefix"]["Default"].is_null(),
        "one per stage"
    );

    let (_, client) = only(&template, "AWS::Cognito::UserPoolClient");
    let client = &client["Properties"];
    assert_eq!(client["GenerateSecret"], false, "a browser keeps no secret");
    assert_eq!(client["AllowedOAuthFlowsUserPoolClient"], true);
    assert_eq!(
        strings(&client["AllowedOAuthFlows"]),
        BTreeSet::from(["code", "implicit"])
    );
    assert_eq!(
        strings(&client["AllowedOAuthScopes"]),
        BTreeSet::from(["openid", "email", "profile"])
    );
    assert_eq!(
        strings(&client["SupportedIdentityProviders"]),
        BTreeSet::from(["COGNITO"])
    );
    assert_eq!(ref_target(&client["CallbackURLs"]), Some("CallbackUrls"));
    assert_eq!(ref_target(&client["LogoutURLs"]), Some("SignOutUrls"));
    // Dev: the front end's `next dev --hostname localhost -p 8080`.
    assert_eq!(parameters["CallbackUrls"]["Type"], "CommaDelimitedList");
    assert_eq!(
        parameters["CallbackUrls"]["Default"],
        "http://localhost:8080/token"
    );
    assert_eq!(
        parameters["SignOutUrls"]["Default"],
        "http://localhost:8080/"
    );

    // Each stage's own prefix and, past dev, its site's https URLs.
    let samconfig =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../samconfig.toml"))
            .expect("samconfig.toml");
    for stage in ["dev", "staging", "prod"] {
        let section = format!("[{stage}.deploy.parameters]");
        let start = samconfig.find(&section).expect("a section per stage");
        let overrides = samconfig[start..]
            .lines()
            .find(|line| line.starts_with("parameter_overrides"))
            .expect("parameter_overrides");
        assert!(
            overrides.contains(&format!("AuthDomainPrefix=hdoc-backend-{stage}")),
            "{overrides}"
        );
        if stage != "dev" {
            assert!(overrides.contains("CallbackUrls=https://"), "{overrides}");
            assert!(overrides.contains("SignOutUrls=https://"), "{overrides}");
        }
    }

    let outputs = &template["Outputs"];
    for (output, names) in [
        (
            "AuthDomain",
            "${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com",
        ),
        ("UserPoolId", "${UserPool}"),
        ("UserPoolClientId", "${UserPoolClient}"),
    ] {
        assert_eq!(as_sub(&outputs[output]["Value"]), names, "{output}");
    }
    assert!(as_sub(&outputs["JwksUrl"]["Value"]).ends_with("/${UserPool}/.well-known/jwks.json"));
}

/// CloudFront in front of the HTTP API: public reads cached by URL and query
/// string (never by a token or a cookie), everything else through uncached
/// with its token, Host never forwarded, and its domain the API's URL.
#[test]
fn template_puts_a_cache_in_front_of_the_api() {
    let template = template();
    let distributions: Vec<_> = of_type(&template, "AWS::CloudFront::Distribution")
        .filter(|(_, d)| {
            as_sub(&d["Properties"]["DistributionConfig"]["Origins"][0]["DomainName"])
                .starts_with("${HttpApi}.execute-api.")
        })
        .collect();
    assert_eq!(
        distributions.len(),
        1,
        "one distribution in front of the HttpApi"
    );
    let (cdn, distribution) = distributions[0];
    let config = &distribution["Properties"]["DistributionConfig"];
    let origin = &config["Origins"][0];
    assert_eq!(
        origin["CustomOriginConfig"]["OriginProtocolPolicy"],
        "https-only"
    );
    assert_eq!(
        as_sub(&template["Outputs"]["ApiUrl"]["Value"]),
        format!("https://${{{cdn}.DomainName}}")
    );

    const CACHING_DISABLED: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
    const ALL_VIEWER_EXCEPT_HOST: &str = "b689b0a8-53d0-40ab-baf2-68738e2966ac";

    // The default behavior: every route's reads and writes.
    let default = &config["DefaultCacheBehavior"];
    assert_eq!(
        strings(&default["AllowedMethods"]),
        BTreeSet::from(["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"])
    );
    assert_eq!(
        strings(&default["CachedMethods"]),
        BTreeSet::from(["GET", "HEAD"])
    );
    assert_eq!(default["OriginRequestPolicyId"], ALL_VIEWER_EXCEPT_HOST);
    let policy = ref_target(&default["CachePolicyId"]).expect("a cache policy of this stack");
    let policy = &template["Resources"][policy]["Properties"]["CachePolicyConfig"];
    assert_eq!(policy["MinTTL"], 0, "no-store and private are honoured");
    assert_eq!(
        policy["DefaultTTL"], 0,
        "nothing kept without Cache-Control"
    );
    let key = &policy["ParametersInCacheKeyAndForwardedToOrigin"];
    assert_eq!(key["QueryStringsConfig"]["QueryStringBehavior"], "all");
    assert_eq!(key["CookiesConfig"]["CookieBehavior"], "none");
    assert_eq!(key["HeadersConfig"]["HeaderBehavior"], "whitelist");
    let headers = strings(&key["HeadersConfig"]["Headers"]);
    assert!(!headers.contains("Host"));
    // Authorization is in the key only so that CloudFront forwards writes'
    // tokens; a viewer-request function removes it from every GET and HEAD
    // first, so a public read's key holds no token.
    assert!(
        headers.is_subset(&BTreeSet::from(["Authorization", "Origin"])),
        "{headers:?}"
    );
    let associations = one_or_many(&default["FunctionAssociations"]);
    assert_eq!(associations.len(), 1);
    assert_eq!(associations[0]["EventType"], "viewer-request");
    let function = as_sub(&associations[0]["FunctionARN"]);
    let function = function
        .trim_start_matches("${")
        .split('.')
        .next()
        .expect("a function of this stack");
    let code = template["Resources"][function]["Properties"]["FunctionCode"]
        .as_str()
        .expect("inline code");
    assert!(
        code.contains("request.method === 'GET' || request.method === 'HEAD'")
            && code.contains("delete request.headers['authorization']"),
        "{code}"
    );

    // Every GET route that depends on the caller has a behavior that never
    // caches and passes its token on; no public route is caught by one.
    let behaviors = one_or_many(&config["CacheBehaviors"]);
    for function in FUNCTIONS {
        for route in function.routes.iter().filter(|r| r.method == "GET") {
            let path = route.path.replace(['{', '}'], "");
            let matched: Vec<&&Value> = behaviors
                .iter()
                .filter(|b| glob(b["PathPattern"].as_str().expect("pattern"), &path))
                .collect();
            match route.access {
                Access::Caller => {
                    assert_eq!(matched.len(), 1, "{} needs a behavior", route.path);
                    assert_eq!(matched[0]["CachePolicyId"], CACHING_DISABLED);
                    assert_eq!(matched[0]["OriginRequestPolicyId"], ALL_VIEWER_EXCEPT_HOST);
                }
                Access::Public | Access::Signed => {
                    assert!(matched.is_empty(), "{} is public", route.path)
                }
            }
        }
    }
}

#[test]
fn template_puts_no_secret_in_any_functions_configuration() {
    // A function's environment is readable by anyone who may read its
    // configuration (lambda:GetFunctionConfiguration): it names secrets by
    // ARN, and the function reads them at Init. No value, no dynamic
    // reference CloudFormation would resolve into one.
    let template = template();
    let globals = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(
        ref_target(&globals["HDOC_CURSOR_SECRET_ARN"]),
        Some("CursorSecret")
    );
    let environments = std::iter::once(("Globals", globals)).chain(
        of_type(&template, "AWS::Serverless::Function")
            .map(|(id, resource)| (id, &resource["Properties"]["Environment"]["Variables"])),
    );
    for (id, variables) in environments {
        for secret in hdoc_shared::config::SECRETS {
            assert!(
                variables[secret.variable].is_null(),
                "{id}: {} holds a secret's value",
                secret.variable
            );
        }
        let text = serde_yaml::to_string(variables).expect("YAML");
        assert!(
            !text.contains("{{resolve:"),
            "{id}: a dynamic reference in {text}"
        );
    }
}

#[test]
fn template_declares_the_local_endpoints_empty() {
    // `sam local --env-vars` overrides only variables the template declares,
    // so the endpoints scripts/sam-local.sh points the functions at are
    // declared, empty: in AWS an empty value is no endpoint (the config reads
    // an empty variable as unset, and the SDK is configured in code, reading
    // no endpoint variable of its own).
    let template = template();
    let globals = &template["Globals"]["Function"]["Environment"]["Variables"];
    for key in [
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    ] {
        assert_eq!(globals[key], "", "Globals: {key}");
    }
    for (function_id, resource) in of_type(&template, "AWS::Serverless::Function") {
        let api = &resource["Properties"]["Environment"]["Variables"]["HDOC_GITHUB_API"];
        let is_activity = resource["Metadata"]["BuildProperties"]["Binary"] == "activity";
        assert_eq!(
            !api.is_null(),
            is_activity,
            "{function_id}: HDOC_GITHUB_API"
        );
        if is_activity {
            assert_eq!(api, "", "{function_id}: HDOC_GITHUB_API");
        }
    }
    // What `Config::from_env` makes of them: no endpoint (it drops empty
    // values, as here, before `from_lookup` sees them). The other variables
    // are left out: a local stage's defaults.
    let config = Config::from_lookup(|key| {
        let value = globals[key]
            .as_str()
            .filter(|_| key.starts_with("AWS_ENDPOINT_URL_"))?;
        (!value.is_empty()).then(|| value.to_owned())
    });
    assert_eq!(config.dynamodb_endpoint, None);
    assert_eq!(config.s3_endpoint, None);
    // And what aws_json makes of the Secrets Manager one: the region's endpoint.
    let secrets =
        hdoc_shared::aws_json::endpoint_override(&hdoc_shared::aws_json::SECRETS_MANAGER, |key| {
            globals[key].as_str().map(str::to_owned)
        });
    assert_eq!(secrets, None);
}
