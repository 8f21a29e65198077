//! The table's keys and indexes, as `docs/data-model.md` and `template.yaml`
//! declare them. `create_table` makes the same table for local runs and tests.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus,
};

/// The table's partition key.
pub const PK: &str = "PK";
/// The table's sort key.
pub const SK: &str = "SK";

/// The table's time-to-live attribute: DynamoDB deletes an item some time
/// after the time (seconds since the epoch) it holds there. Only the records
/// of idempotent creates (`idempotency.rs`) and the write buckets
/// (`limits.rs`) have it.
pub const TTL: &str = "expiresAt";

/// A global secondary index.
#[derive(Clone, Copy, Debug)]
pub struct Index {
    pub name: &'static str,
    pub partition_key: &'static str,
    pub sort_key: &'static str,
}

/// The table itself, for queries on its own keys.
pub const TABLE: Index = Index {
    name: "",
    partition_key: PK,
    sort_key: SK,
};

/// Lists in creation order: users oldest first.
pub const GSI1: Index = Index {
    name: "GSI1",
    partition_key: "GSI1PK",
    sort_key: "GSI1SK",
};

/// Rankings: the leaderboard and tags by count, highest first.
pub const GSI2: Index = Index {
    name: "GSI2",
    partition_key: "GSI2PK",
    sort_key: "GSI2SK",
};

/// Every index of the table.
pub const INDEXES: [Index; 2] = [GSI1, GSI2];

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("key schema element is complete")
}

/// Creates the table with its indexes (on-demand) and its time to live,
/// unless it exists already (then turns its time to live on if it is off).
/// `Ok(true)` when it created it.
pub async fn create_table(client: &Client, table: &str) -> Result<bool, super::StoreError> {
    let created = create(client, table).await?;
    let ttl = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await?;
    let status = ttl
        .time_to_live_description()
        .and_then(|ttl| ttl.time_to_live_status());
    if !matches!(
        status,
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    ) {
        let on = TimeToLiveSpecification::builder()
            .attribute_name(TTL)
            .enabled(true)
            .build()
            .expect("time to live specification is complete");
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(on)
            .send()
            .await?;
    }
    Ok(created)
}

async fn create(client: &Client, table: &str) -> Result<bool, super::StoreError> {
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PK, KeyType::Hash))
        .key_schema(key(SK, KeyType::Range));
    let mut attributes = vec![PK, SK];
    for index in INDEXES {
        attributes.extend([index.partition_key, index.sort_key]);
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .key_schema(key(index.partition_key, KeyType::Hash))
                .key_schema(key(index.sort_key, KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .expect("index definition is complete"),
        );
    }
    for name in attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute definition is complete"),
        );
    }
    match request.send().await {
        Ok(_) => Ok(true),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            Ok(false)
        }
        Err(err) => Err(err.into()),
    }
}
