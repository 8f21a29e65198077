//! Reading and writing attribute values.

use super::Item;
use crate::error::ApiError;
use aws_sdk_dynamodb::types::AttributeValue;

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A stored item that does not have the shape this code writes is a bug, not a client error.
fn corrupt(name: &str) -> ApiError {
    ApiError::internal(format!("stored item has a missing or malformed `{name}`"))
}

pub(crate) fn string(item: &Item, name: &str) -> Result<String, ApiError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value.clone()),
        _ => Err(corrupt(name)),
    }
}

pub(crate) fn optional_string(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value.clone()),
        _ => None,
    }
}

pub(crate) fn number(item: &Item, name: &str) -> Result<u64, ApiError> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.parse().map_err(|_| corrupt(name)),
        _ => Err(corrupt(name)),
    }
}

/// Parses a stored value with the domain type's own parser.
pub(crate) fn parsed<T: TryFrom<String>>(item: &Item, name: &str) -> Result<T, ApiError> {
    T::try_from(string(item, name)?).map_err(|_| corrupt(name))
}

pub(crate) fn optional_parsed<T: TryFrom<String>>(
    item: &Item,
    name: &str,
) -> Result<Option<T>, ApiError> {
    optional_string(item, name)
        .map(|value| T::try_from(value).map_err(|_| corrupt(name)))
        .transpose()
}

/// A stored RFC 3339 timestamp.
pub(crate) fn timestamp(item: &Item, name: &str) -> Result<crate::domain::Timestamp, ApiError> {
    crate::domain::Timestamp::parse(&string(item, name)?)
        .ok_or_else(|| ApiError::internal(format!("stored `{name}` is not a timestamp")))
}
