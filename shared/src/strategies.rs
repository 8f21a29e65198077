//! Strategies for the property tests of the parsers (`http::extract`, `domain`, cursors).

use proptest::prelude::*;
use serde_json::Value;

/// Any place in any list: a cursor's content.
pub fn position() -> impl Strategy<Value = crate::page::Position> {
    (
        prop::collection::btree_map(text(), text(), 0..4),
        any::<u64>(),
    )
        .prop_map(|(key, served)| crate::page::Position { key, served })
}

/// Any text: printable Unicode, any characters at all (controls and
/// line breaks too), or ASCII.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "(?s).{0,40}", "[\\x00-\\x7f]{0,40}"]
}

/// Any JSON value, nested a few levels.
pub fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN", |f| f.is_finite())
            .prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(text(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A JSON object of some of `fields` (and an unknown one) with any values.
pub fn body_of(fields: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let names = prop::sample::select([fields, &["unknown"]].concat());
    prop::collection::btree_map(names, json(), 0..fields.len() + 2)
        .prop_map(|map| Value::Object(map.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

/// A JSON object parsed into `T` as the HTTP edge parses a body (objects
/// only, the failing field's path in the error), for the tests of the types
/// below the edge, which do not depend on it.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err("body: must be a JSON object".to_owned());
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|err| err.to_string())
}
