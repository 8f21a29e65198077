//! `docs/openapi.yaml` is the API: its operations are exactly the function
//! crates' route tables (and so `template.yaml`'s routes) plus `hdoc-local`'s
//! own, marked as such; its examples are valid; its limits are the domain
//! types' limits; and `hdoc-local` serves it, with a reference page.
//!
//! (That every response the suite receives is one the document allows is
//! checked by the proxy in `tests/lib.rs`, on every test.)

use crate::template::{template, template_routes};
use hdoc_shared::domain::{
    Count, DaysCompleted, LinkedinProfile, ReviewId, Slug, Subject, Tag, UserId,
};
use hdoc_shared::domain::{article, review, user};
use hdoc_shared::http::Access;
use hdoc_shared::http::idempotency::IdempotencyKey;
use hdoc_tests::contract::{contract, pointer_segment};
use hdoc_tests::{FUNCTIONS, TestApp, json_of};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

type RouteKey = (String, String);

fn document() -> &'static Value {
    contract().document()
}

/// The document's operations: (METHOD, path) -> operation.
fn operations() -> BTreeMap<RouteKey, &'static Value> {
    contract()
        .operations()
        .map(|(method, path, op)| ((method, path.to_owned()), op))
        .collect()
}

fn local_only(op: &Value) -> bool {
    op["x-hdoc-local-only"] == true
}

#[test]
fn the_document_is_openapi_3_1_with_one_id_per_operation() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut ids = BTreeSet::new();
    for ((method, path), op) in operations() {
        let id = op["operationId"].as_str().expect("operationId");
        assert!(ids.insert(id), "{id} is used twice");
        for field in ["summary", "tags", "responses"] {
            assert!(op.get(field).is_some(), "{method} {path} has no {field}");
        }
        let statuses: Vec<&String> = op["responses"]
            .as_object()
            .expect("responses")
            .keys()
            .collect();
        if op.get("requestBody").is_some() {
            for status in ["400", "413", "415"] {
                assert!(
                    statuses.iter().any(|s| *s == status),
                    "{method} {path} takes a body but does not list {status}"
                );
            }
        }
        if !local_only(op) {
            for status in ["429", "500", "503"] {
                assert!(
                    statuses.iter().any(|s| *s == status),
                    "{method} {path} does not list {status}"
                );
            }
        }
        if op.get("security").is_some() {
            assert!(
                statuses.iter().any(|s| *s == "401"),
                "{method} {path} needs a token but does not list 401"
            );
        }
    }
    // Every schema compiles as JSON Schema 2020-12.
    for name in doc["components"]["schemas"]
        .as_object()
        .expect("schemas")
        .keys()
    {
        contract().validator(&format!("/components/schemas/{name}"));
    }
}

#[test]
fn operations_are_every_function_route_and_the_template_routes() {
    let documented: BTreeMap<RouteKey, &Value> = operations()
        .into_iter()
        .filter(|(_, op)| !local_only(op))
        .collect();
    let mut routes = BTreeMap::new();
    for function in FUNCTIONS {
        for route in function.routes {
            let key = (route.method.to_owned(), route.path.to_owned());
            routes.insert(key.clone(), (function.name, route.access));
            let op = documented
                .get(&key)
                .unwrap_or_else(|| panic!("{} {} is not in docs/openapi.yaml", key.0, key.1));
            assert_eq!(
                op["x-hdoc-function"], function.name,
                "{} {}: x-hdoc-function",
                key.0, key.1
            );
            // Protected exactly where API Gateway's authorizer is.
            let wants_token = op["security"] == json!([{"bearer": []}]);
            assert_eq!(
                wants_token,
                route.access == Access::Caller,
                "{} {}: security vs {:?}",
                key.0,
                key.1,
                route.access
            );
        }
    }
    let documented: BTreeSet<&RouteKey> = documented.keys().collect();
    let served: BTreeSet<&RouteKey> = routes.keys().collect();
    assert_eq!(
        documented, served,
        "docs/openapi.yaml vs the crates' ROUTES"
    );
    let deployed: BTreeSet<RouteKey> = template_routes(&template()).into_keys().collect();
    assert_eq!(
        deployed,
        served.into_iter().cloned().collect(),
        "template.yaml's routes vs docs/openapi.yaml"
    );
}

#[test]
fn local_only_operations_are_hdoc_locals_routes_and_never_deployed() {
    let documented: BTreeSet<RouteKey> = operations()
        .into_iter()
        .filter(|(_, op)| local_only(op))
        .map(|(key, op)| {
            assert!(
                op.get("security").is_none(),
                "{} {}: hdoc-local's own routes are public",
                key.0,
                key.1
            );
            key
        })
        .collect();
    let local: BTreeSet<RouteKey> = hdoc_local::ROUTES
        .iter()
        .map(|route| (route.method.to_owned(), route.path.to_owned()))
        .collect();
    assert_eq!(documented, local, "x-hdoc-local-only vs hdoc_local::ROUTES");
    let deployed = template_routes(&template());
    for key in &local {
        assert!(!deployed.contains_key(key), "{key:?} is deployed");
        assert!(
            !FUNCTIONS
                .iter()
                .flat_map(|f| f.routes)
                .any(|r| r.method == key.0 && r.path == key.1),
            "{key:?} is a function's route"
        );
    }
}

/// Every `example` / `examples` in the document, each with the pointer of
/// the schema it must satisfy.
fn examples() -> Vec<(String, String, Value)> {
    fn walk(doc: &Value, value: &Value, pointer: &str, found: &mut Vec<(String, String, Value)>) {
        let Some(object) = value.as_object() else {
            if let Some(items) = value.as_array() {
                for (i, item) in items.iter().enumerate() {
                    walk(doc, item, &format!("{pointer}/{i}"), found);
                }
            }
            return;
        };
        let in_schema = pointer.contains("/schema") || pointer.starts_with("/components/schemas");
        if object.contains_key("schema") && !in_schema {
            // A media type, parameter or header: its example(s) against its schema.
            let schema = format!("{pointer}/schema");
            if let Some(example) = object.get("example") {
                found.push((
                    format!("{pointer}/example"),
                    schema.clone(),
                    example.clone(),
                ));
            }
            for (name, example) in object
                .get("examples")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let example = match example.get("$ref").and_then(Value::as_str) {
                    Some(target) => doc.pointer(&target[1..]).expect("example $ref"),
                    None => example,
                };
                let value = example.get("value").expect("examples have a value").clone();
                found.push((format!("{pointer}/examples/{name}"), schema.clone(), value));
            }
        } else if in_schema {
            // A schema's own `examples`: a list of instances of it.
            if let Some(list) = object.get("examples").and_then(Value::as_array) {
                for (i, example) in list.iter().enumerate() {
                    found.push((
                        format!("{pointer}/examples/{i}"),
                        pointer.to_owned(),
                        example.clone(),
                    ));
                }
            }
        }
        for (key, child) in object {
            if key != "examples" && key != "example" {
                walk(
                    doc,
                    child,
                    &format!("{pointer}/{}", pointer_segment(key)),
                    found,
                );
            }
        }
    }
    let mut found = Vec::new();
    walk(document(), document(), "", &mut found);
    found
}

#[test]
fn every_example_in_the_document_is_valid() {
    let examples = examples();
    assert!(
        examples.len() >= 40,
        "only {} examples found",
        examples.len()
    );
    let mut broken = Vec::new();
    for (at, schema, example) in examples {
        if let Some(errors) = contract().violations(&schema, &example) {
            broken.push(format!("{at}: {errors}"));
        }
    }
    assert!(
        broken.is_empty(),
        "invalid examples:\n{}",
        broken.join("\n")
    );
}

/// Whether `value` is valid against the component schema `name`.
fn valid(name: &str, value: &Value) -> bool {
    contract()
        .validator(&format!("/components/schemas/{name}"))
        .is_valid(value)
}

/// The document's number at `pointer`, as the domain's constants are.
fn number(pointer: &str) -> u64 {
    document()
        .pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no number at {pointer}"))
}

#[test]
fn the_documents_limits_are_the_domain_constants() {
    let schemas = "/components/schemas";
    assert_eq!(number(&format!("{schemas}/Count/maximum")), user::MAX_SCORE);
    assert_eq!(
        number(&format!("{schemas}/DaysCompleted/maximum")),
        u64::from(DaysCompleted::MAX)
    );
    assert_eq!(number(&format!("{schemas}/Tag/maxLength")), Tag::MAX as u64);
    assert_eq!(
        number(&format!("{schemas}/Article/properties/tags/maxItems")),
        article::MAX_TAGS as u64
    );
    assert_eq!(
        number(&format!("{schemas}/Photos/maxItems")),
        review::MAX_PHOTOS as u64
    );
    assert_eq!(
        number(&format!(
            "{schemas}/PhotoRequest/properties/contentLength/maximum"
        )),
        u64::from(review::MAX_PHOTO_BYTES)
    );
    assert_eq!(
        number(&format!(
            "{schemas}/ReviewSummary/properties/excerpt/maxLength"
        )),
        review::EXCERPT_CHARS as u64 + 1
    );
    let limit = "/components/parameters/Limit/schema/maximum";
    assert_eq!(number(limit), 100);
    let body = hdoc_shared::http::extract::MAX_BODY_BYTES.to_string();
    let described = document()["info"]["description"]
        .as_str()
        .expect("description");
    assert!(
        described.contains("65,536 bytes") && body == "65536",
        "the body limit"
    );
}

/// Strings near the edges of what a field accepts: built from characters
/// that matter to some field (separators, white space of both kinds,
/// controls, non-ASCII), of lengths around `max`, after a prefix that some
/// fields need (a URL scheme, a LinkedIn profile URL).
fn edge_strings(max: usize) -> impl Strategy<Value = String> {
    let chars = prop::sample::select(vec![
        'a', 'Z', '0', '9', '-', '_', ':', '.', '/', ' ', '\t', '\n', '\r', '\u{0}', '\u{7}',
        '\u{7f}', '\u{85}', '\u{a0}', '\u{2003}', '\u{3000}', '\u{feff}', 'é', '北', '"', '<', '{',
        '%', '?', '#', '~', '@',
    ]);
    let prefix = prop::sample::select(vec![
        "",
        "",
        "https://",
        "http://",
        "https://www.linkedin.com/in/",
        "http://de.LinkedIn.com/in/",
        " ",
    ]);
    let short = prop::collection::vec(chars.clone(), 0..12);
    // Long strings are mostly plain letters, or hardly one would be valid.
    let mostly_plain = prop_oneof![30 => Just('a'), 1 => chars];
    let near = prop::collection::vec(mostly_plain, max.saturating_sub(3)..max + 3);
    (prefix, prop_oneof![3 => short, 1 => near])
        .prop_map(|(prefix, chars)| format!("{prefix}{}", chars.into_iter().collect::<String>()))
}

/// Runs `check` on `also` and on many strings from [`edge_strings`]
/// (fewer for long fields), failing with the first (shrunk) disagreement.
fn for_strings(max: usize, also: &[&str], check: impl Fn(&str) -> Result<(), String>) {
    for s in also {
        check(s).unwrap_or_else(|err| panic!("{err}"));
    }
    let mut runner = TestRunner::new(Config {
        cases: if max > 5000 { 200 } else { 1000 },
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&edge_strings(max), |s| {
            check(&s).map_err(TestCaseError::fail)
        })
        .unwrap_or_else(|err| panic!("{err}"));
}

/// The component schema `name` accepts exactly the strings `parse` accepts.
fn same_strings(name: &str, max: usize, also: &[&str], parse: impl Fn(&str) -> bool) {
    for_strings(max, also, |s| {
        let (documented, parsed) = (valid(name, &json!(s)), parse(s));
        if documented == parsed {
            Ok(())
        } else {
            Err(format!(
                "{name}: the document says {documented}, the code {parsed}, for {s:?}"
            ))
        }
    });
}

#[test]
fn the_documents_string_schemas_accept_what_the_domain_parses() {
    same_strings("UserId", 39, &["a", "a-b", "-a", "a-", "Ab-9"], |s| {
        UserId::parse(s).is_ok()
    });
    same_strings("Slug", 88, &["a--b", "a-", "é"], |s| {
        Slug::parse(s).is_ok()
    });
    same_strings("Subject", 128, &["park:yosemite", ":x", "9_x"], |s| {
        Subject::parse(s).is_ok()
    });
    same_strings(
        "ReviewId",
        36,
        &[
            "01936f4e-8a1b-7c2d-9e3f-0123456789ab",
            "01936F4E-8A1B-7C2D-9E3F-0123456789AB",
            "01936f4e8a1b7c2d9e3f0123456789ab",
        ],
        |s| ReviewId::parse(s).is_ok(),
    );
    same_strings(
        "LinkedinInput",
        100,
        &[
            "jane-doe_1",
            " https://www.linkedin.com/in/jane/ ",
            "https://x.linkedin.com/in/abc",
            "https://linkedin.com.evil/in/abc",
            "https://www.linkedin.com/in/",
            "\u{feff}abc",
        ],
        |s| LinkedinProfile::parse(s).is_ok(),
    );
    same_strings("Name", 100, &[" ", "\u{feff}", "a\u{85}", "\u{a0}x"], |s| {
        user::Name::parse(s).is_ok()
    });
    same_strings("Bio", 1000, &["", "\n\t\r"], |s| {
        user::Bio::parse(s).is_ok()
    });
    same_strings("TwitterHandle", 15, &["@alice", "a_1"], |s| {
        user::TwitterHandle::parse(s).is_ok()
    });
    same_strings(
        "WebUrl",
        2048,
        &[
            "http://x",
            "https://",
            "https://x",
            "ftp://x",
            "https://a b",
        ],
        |s| user::WebUrl::parse(s).is_ok(),
    );
    same_strings("Title", 200, &[" x ", "\u{3000}"], |s| {
        article::Title::parse(s).is_ok()
    });
    same_strings("Subtitle", 500, &[""], |s| {
        article::Subtitle::parse(s).is_ok()
    });
    same_strings("ArticleBody", 50_000, &[""], |s| {
        article::Body::parse(s).is_ok()
    });
    same_strings("ReviewBody", 10_000, &["", " "], |s| {
        review::ReviewBody::parse(s).is_ok()
    });
    // The review title is a title.
    same_strings("Title", 200, &[], |s| review::ReviewTitle::parse(s).is_ok());
    // The Idempotency-Key header.
    let key = contract().validator("/components/parameters/IdempotencyKey/schema");
    let also = ["", " ", "a", " a", "a b", "a\tb", "ключ", "~"];
    for_strings(IdempotencyKey::MAX_LEN, &also, |s| {
        let (documented, parsed) = (
            key.is_valid(&json!(s)),
            IdempotencyKey::is_valid(s.as_bytes()),
        );
        if documented == parsed {
            Ok(())
        } else {
            Err(format!(
                "Idempotency-Key: the document says {documented}, the code {parsed}, for {s:?}"
            ))
        }
    });
}

#[test]
fn normalized_tags_and_linkedin_urls_are_what_the_document_shows() {
    for_strings(
        40,
        &["Open System", "C++", "北京", "❤"],
        |s| match Tag::parse(s) {
            Ok(tag) if !valid("Tag", &json!(tag.as_str())) => Err(format!("{s:?} -> {tag:?}")),
            Ok(_) if !valid("TagInput", &json!(s)) => Err(format!("{s:?} is no TagInput")),
            // Both ways: what the document admits, the API takes.
            Err(err) if valid("TagInput", &json!(s)) => Err(format!("{s:?} refused: {err}")),
            _ => Ok(()),
        },
    );
    for_strings(100, &[], |s| match LinkedinProfile::parse(s) {
        Ok(profile) if !valid("LinkedinUrl", &json!(profile.url())) => {
            Err(format!("{s:?} -> {}", profile.url()))
        }
        _ => Ok(()),
    });
}

#[test]
fn the_documents_integers_are_the_domains() {
    for n in [
        0,
        1,
        99,
        100,
        101,
        255,
        256,
        user::MAX_SCORE,
        user::MAX_SCORE + 1,
        u64::MAX,
    ] {
        // Written as an integer, and as JSON Schema's other integer spelling
        // (`2170.0`, which the fuzzer sends); and a fraction, no integer.
        let as_float = serde_json::Number::from_f64(n as f64).expect("finite");
        let fraction = serde_json::Number::from_f64(n as f64 + 0.5).expect("finite");
        for value in [json!(n), Value::Number(as_float), Value::Number(fraction)] {
            integers_agree(n, value);
        }
    }
}

fn integers_agree(n: u64, value: Value) {
    {
        assert_eq!(
            valid("Count", &value),
            serde_json::from_value::<Count>(value.clone()).is_ok(),
            "Count {n}: {value}"
        );
        assert_eq!(
            valid("DaysCompleted", &value),
            serde_json::from_value::<DaysCompleted>(value.clone()).is_ok(),
            "DaysCompleted {n}: {value}"
        );
        assert_eq!(
            valid("Stars", &value),
            serde_json::from_value::<review::Stars>(value.clone()).is_ok(),
            "Stars {n}: {value}"
        );
        let photo = json!({"contentType": "image/png", "contentLength": value});
        assert_eq!(
            valid("PhotoRequest", &photo),
            hdoc_shared::http::extract::parse_json::<review::PhotoRequest>(
                photo.to_string().as_bytes()
            )
            .is_ok(),
            "contentLength {n}: {photo}"
        );
    }
}

#[tokio::test]
async fn hdoc_local_serves_the_document_and_a_self_contained_reference() {
    let app = TestApp::spawn().await;
    let served = json_of(app.get("/openapi.json").await, 200).await;
    assert_eq!(&served, document(), "/openapi.json is docs/openapi.yaml");

    let response = app.get("/docs").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/html")),
        "{:?}",
        response.headers()
    );
    let page = response.text().await.expect("page");
    for ((method, path), op) in operations() {
        let id = op["operationId"].as_str().expect("id");
        assert!(
            page.contains(&format!("id=\"op-{id}\"")),
            "{id} has no section"
        );
        assert!(
            page.contains(&format!(">{method}</span><code>{path}</code>")),
            "{method} {path}"
        );
    }
    for name in document()["components"]["schemas"]
        .as_object()
        .expect("schemas")
        .keys()
    {
        assert!(
            page.contains(&format!("id=\"schema-{name}\"")),
            "schema {name}"
        );
    }
    // Nothing is loaded from elsewhere: no scripts, stylesheets or images.
    for outside in ["<script", "<link", "<img", "src=", "url(", "@import"] {
        assert!(!page.contains(outside), "the page has {outside}");
    }
    app.shutdown().await;
}
