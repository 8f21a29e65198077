//! Reading and writing attribute values. A stored item that does not have the
//! shape this code writes is [`StoreError::Corrupt`], never a client's error.

use super::Item;
use super::error::{Result, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn corrupt(name: &str) -> StoreError {
    StoreError::corrupt(format!("a missing or malformed `{name}`"))
}

pub(crate) fn string(item: &Item, name: &str) -> Result<String> {
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

pub(crate) fn number(item: &Item, name: &str) -> Result<u64> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.parse().map_err(|_| corrupt(name)),
        _ => Err(corrupt(name)),
    }
}

/// A number that may be absent (read as `None`).
pub(crate) fn optional_number(item: &Item, name: &str) -> Result<Option<u64>> {
    item.get(name).map(|_| number(item, name)).transpose()
}

/// A number converted to the domain type that bounds it; absent is its default.
pub(crate) fn counted<T: TryFrom<u64> + Default>(item: &Item, name: &str) -> Result<T> {
    match optional_number(item, name)? {
        None => Ok(T::default()),
        Some(value) => T::try_from(value).map_err(|_| corrupt(name)),
    }
}

/// Parses a stored value with the domain type's own parser.
pub(crate) fn parsed<T: TryFrom<String>>(item: &Item, name: &str) -> Result<T> {
    T::try_from(string(item, name)?).map_err(|_| corrupt(name))
}

pub(crate) fn optional_parsed<T: TryFrom<String>>(item: &Item, name: &str) -> Result<Option<T>> {
    optional_string(item, name)
        .map(|value| T::try_from(value).map_err(|_| corrupt(name)))
        .transpose()
}

/// A list of strings, each parsed with the domain type's parser.
pub(crate) fn parsed_list<T: TryFrom<String>>(item: &Item, name: &str) -> Result<Vec<T>> {
    match item.get(name) {
        Some(AttributeValue::L(values)) => values
            .iter()
            .map(|value| match value {
                AttributeValue::S(text) => T::try_from(text.clone()).map_err(|_| corrupt(name)),
                _ => Err(corrupt(name)),
            })
            .collect(),
        _ => Err(corrupt(name)),
    }
}

/// A list of strings.
pub(crate) fn string_list<'a>(values: impl IntoIterator<Item = &'a str>) -> AttributeValue {
    AttributeValue::L(values.into_iter().map(s).collect())
}

/// A stored RFC 3339 timestamp.
pub(crate) fn timestamp(item: &Item, name: &str) -> Result<crate::domain::Timestamp> {
    crate::domain::Timestamp::parse(&string(item, name)?).ok_or_else(|| corrupt(name))
}
