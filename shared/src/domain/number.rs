//! Integers as JSON carries them.

use serde::Deserialize;
use serde::de::{self, Deserializer, Unexpected, Visitor};
use std::fmt;

/// A JSON number whose value is a whole number from 0 up, however it is
/// written: `2170`, `2170.0` and `2.17e3` alike, as JSON Schema's `integer`
/// (and so the OpenAPI document) admits each. Anything with a fraction, a
/// sign or beyond `u64` is refused. The domain's counts parse from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Integral(pub u64);

/// 2^64: the first `f64` that is too large for a `u64`.
const U64_END: f64 = 18_446_744_073_709_551_616.0;

impl<'de> Deserialize<'de> for Integral {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Whole;

        impl Visitor<'_> for Whole {
            type Value = Integral;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number from 0 up")
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Integral, E> {
                Ok(Integral(value))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Integral, E> {
                u64::try_from(value)
                    .map(Integral)
                    .map_err(|_| E::invalid_value(Unexpected::Signed(value), &self))
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Integral, E> {
                if value.fract() == 0.0 && (0.0..U64_END).contains(&value) {
                    // Exact: a whole f64 below 2^64 is a u64.
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    Ok(Integral(value as u64))
                } else {
                    Err(E::invalid_value(Unexpected::Float(value), &self))
                }
            }
        }

        deserializer.deserialize_any(Whole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<u64, String> {
        serde_json::from_str::<Integral>(json)
            .map(|n| n.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn whole_numbers_however_written() {
        assert_eq!(parse("2170"), Ok(2170));
        assert_eq!(parse("2170.0"), Ok(2170));
        assert_eq!(parse("2.17e3"), Ok(2170));
        assert_eq!(parse("0"), Ok(0));
        assert_eq!(parse("-0.0"), Ok(0));
        assert_eq!(parse("17592186044416.0"), Ok(17_592_186_044_416));
        assert_eq!(parse("18446744073709551615"), Ok(u64::MAX));
    }

    #[test]
    fn anything_else_is_refused() {
        for json in [
            "2170.5", "-1", "-1.0", "1e20", "\"5\"", "true", "null", "[]",
        ] {
            assert!(parse(json).is_err(), "{json}");
        }
    }
}
