//! Data written before contract v2 (v1 attribute names, list entries that
//! only point at their item) is read without a 500, and `hdoc-local`
//! rewrites it in v2's shape before serving (one reconcile run at start).

use aws_sdk_dynamodb::types::AttributeValue;
use hdoc_local::Options;
use hdoc_shared::Config;
use hdoc_tests::{Checked, dynamodb_endpoint, json_of};
use serde_json::json;
use std::collections::HashMap;

fn item(pairs: &[(&str, &str)]) -> HashMap<String, AttributeValue> {
    pairs
        .iter()
        .map(|(name, value)| {
            let value = match value.strip_prefix("n:") {
                Some(number) => AttributeValue::N(number.to_owned()),
                None => AttributeValue::S((*value).to_owned()),
            };
            ((*name).to_owned(), value)
        })
        .collect()
}

/// What contract v1's code wrote for a user `old` with one article and one review.
fn v1_items() -> Vec<HashMap<String, AttributeValue>> {
    let at = "2025-06-01T12:00:00Z";
    let mut items = vec![
        item(&[
            ("PK", "USER#old"),
            ("SK", "PROFILE"),
            ("GSI1PK", "USERS"),
            ("GSI1SK", "2025-06-01T12:00:00Z#old"),
            ("GSI2PK", "LEADERBOARD"),
            ("GSI2SK", "18446744073709551612#old"),
            ("id", "Old"),
            ("name", "Old Timer"),
            ("avatarUrl", "https://img.example/old.png"),
            ("githubScore", "n:3"),
            ("twitterScore", "n:0"),
            ("totalScore", "n:3"),
            ("createdAt", at),
            ("updatedAt", at),
            ("owner", "sub-old"),
            ("version", "n:1"),
        ]),
        item(&[
            ("PK", "CALLER#sub-old"),
            ("SK", "PROFILE"),
            ("userId", "Old"),
        ]),
        item(&[
            ("PK", "TAG#aws"),
            ("SK", "COUNT"),
            ("GSI2PK", "TAGS"),
            ("GSI2SK", "18446744073709551614#aws"),
            ("tag", "aws"),
            ("count", "n:1"),
            ("rev", "n:1"),
        ]),
        item(&[
            ("PK", "REVIEW#0190a0b0-0000-7000-8000-000000000001"),
            ("SK", "REVIEW"),
            ("id", "0190a0b0-0000-7000-8000-000000000001"),
            ("subject", "park:zion"),
            ("author", "Old"),
            ("title", "Fine"),
            ("body", "A fine park."),
            ("createdAt", at),
            ("updatedAt", at),
            ("version", "n:1"),
        ]),
        item(&[
            ("PK", "SUBJECT#park:zion"),
            ("SK", "SUMMARY"),
            ("subject", "park:zion"),
            ("reviewCount", "n:1"),
            ("rev", "n:1"),
        ]),
    ];
    let mut article = item(&[
        ("PK", "ARTICLE#old-post"),
        ("SK", "ARTICLE"),
        ("slug", "old-post"),
        ("title", "Old post"),
        ("description", "from v1"),
        ("coverImageUrl", "https://img.example/cover.png"),
        ("body", "long ago"),
        ("author", "Old"),
        ("createdAt", at),
        ("updatedAt", at),
        ("version", "n:1"),
    ]);
    article.insert(
        "tags".into(),
        AttributeValue::L(vec![AttributeValue::S("aws".into())]),
    );
    items.push(article);
    items[3].insert("photos".into(), AttributeValue::L(vec![]));
    for list in [
        "LIST#ARTICLES",
        "LIST#AUTHOR#old",
        "LIST#TAG#aws",
        "LIST#TAG#aws#AUTHOR#old",
    ] {
        let sk = format!("{at}#old-post");
        items.push(item(&[
            ("PK", list),
            ("SK", &sk),
            ("target", "ARTICLE#old-post"),
        ]));
    }
    for list in ["LIST#SUBJECT#park:zion", "LIST#REVIEWER#old"] {
        let sk = format!("{at}#0190a0b0-0000-7000-8000-000000000001");
        let target = "REVIEW#0190a0b0-0000-7000-8000-000000000001";
        items.push(item(&[("PK", list), ("SK", &sk), ("target", target)]));
    }
    items
}

async fn start(data_dir: &std::path::Path, table: &str) -> hdoc_local::Running {
    let config = Config::from_lookup(|key| (key == "HDOC_TABLE").then(|| table.to_owned()));
    hdoc_local::start(Options {
        addr: "127.0.0.1:0".parse().expect("address"),
        data_dir: Some(data_dir.to_owned()),
        dynamodb_endpoint: dynamodb_endpoint(),
        engines: None,
        config,
        jwt_secret: "test-secret".to_owned(),
    })
    .await
    .expect("the local API starts")
}

async fn get(base: &str, path: &str) -> reqwest::Response {
    reqwest::get(format!("{base}{path}")).await.expect("GET")
}

#[tokio::test]
async fn data_written_under_v1_is_read_and_upgraded_at_start() {
    let dir = std::env::temp_dir().join(format!("hdoc-upgrade-{}", uuid::Uuid::new_v4().simple()));
    let table = format!("hdoc-test-{}", uuid::Uuid::new_v4().simple());
    let running = start(&dir, &table).await;
    let repo = &running.state.repo;
    for item in v1_items() {
        repo.client()
            .put_item()
            .table_name(repo.table())
            .set_item(Some(item))
            .send()
            .await
            .expect("planted");
    }
    // A v1 table has no data-version marker.
    repo.client()
        .delete_item()
        .table_name(repo.table())
        .key("PK", AttributeValue::S("META#DATA".into()))
        .key("SK", AttributeValue::S("VERSION".into()))
        .send()
        .await
        .expect("marker removed");
    // Responses pass the same contract check as the rest of the suite's.
    let checked = Checked::start(running.addr).await;
    let base = checked.base.clone();
    // A v1 profile reads in v2's names, with what v1 lacked at zero.
    let user = json_of(get(&base, "/users/old").await, 200).await;
    assert_eq!(user["avatarImage"], "https://img.example/old.png");
    assert_eq!(user["dateJoined"], "2025-06-01T12:00:00Z");
    assert_eq!(user["daysCompleted"], 0);
    let article = json_of(get(&base, "/articles/old-post").await, 200).await;
    assert_eq!(article["subtitle"], "from v1");
    assert_eq!(article["image"], "https://img.example/cover.png");
    running.shutdown().await;

    // Restarted on the same data, it upgrades before serving.
    let running = start(&dir, &table).await;
    let checked = Checked::start(running.addr).await;
    let base = checked.base.clone();
    let listed = json_of(get(&base, "/articles?tag=aws").await, 200).await;
    let mut summary = article.clone();
    summary.as_object_mut().expect("object").remove("body");
    assert_eq!(listed, json!([summary]));
    let reviews = json_of(get(&base, "/reviews?author=old").await, 200).await;
    assert_eq!(reviews[0]["excerpt"], "A fine park.");
    let board = json_of(get(&base, "/leaderboard").await, 200).await;
    assert_eq!(board[0]["avatarImage"], "https://img.example/old.png");
    assert_eq!(
        running.state.repo.data_version().await.expect("marker"),
        Some(hdoc_shared::store::DATA_VERSION)
    );
    // Nothing is left to upgrade, and no aggregate drifted.
    let run = hdoc_local::reconcile_now(&running.state)
        .await
        .expect("reconcile")
        .expect("a run");
    assert_eq!((run.upgraded, run.repairs.total()), (0, 0), "{run:?}");
    running.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
