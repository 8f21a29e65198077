//! Small checked building blocks shared by the domain types.

use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use time::macros::format_description;

/// Checks that `value` has `min..=max` characters.
pub(crate) fn check_len(value: &str, min: usize, max: usize) -> Result<(), String> {
    let len = value.chars().count();
    if (min..=max).contains(&len) {
        Ok(())
    } else if min == 0 {
        Err(format!("must be at most {max} characters"))
    } else {
        Err(format!("must be {min} to {max} characters"))
    }
}

/// Deserializes a field that may be absent (`None`), `null` (`Some(None)`)
/// or a value (`Some(Some(v))`): in a partial update, null clears the field.
pub(crate) fn nullable<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Deserializes a field that may be absent (`None`) but, when present, must
/// hold a value: `null` is refused, for fields that cannot be cleared.
pub(crate) fn present<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// The conversions every string newtype of the domain has: built only through
/// its `parse` (serde's `try_from = "String"` goes through it too), turned back
/// into a `String`, and read with `as_str`.
macro_rules! string_newtype {
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(raw: String) -> Result<Self, String> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

/// A free-text newtype of `min..=max` characters, not blank when required,
/// with an optional further check of the raw text.
macro_rules! text_newtype {
    ($(#[$attr:meta])* $name:ident, $min:expr, $max:expr $(, $extra:expr)?) => {
        $(#[$attr])*
        #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, String> {
                $crate::domain::text::check_len(raw, $min, $max)?;
                if $min > 0 && raw.trim().is_empty() {
                    return Err("must not be blank".to_owned());
                }
                $( ($extra)(raw)?; )?
                Ok(Self(raw.to_owned()))
            }
        }

        $crate::domain::text::string_newtype!($name);
    };
}

pub(crate) use {string_newtype, text_newtype};

/// A moment, as an RFC 3339 UTC string with second precision (`2026-01-31T12:00:00Z`).
/// The fixed width makes the string order the time order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Timestamp(String);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    pub fn from_datetime(at: OffsetDateTime) -> Self {
        let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        let at = at.to_offset(time::UtcOffset::UTC);
        Self(at.format(&format).expect("a UTC time formats"))
    }

    /// This moment plus `duration`.
    pub fn after(at: &Self, duration: std::time::Duration) -> Self {
        let parsed = OffsetDateTime::parse(&at.0, &time::format_description::well_known::Rfc3339)
            .expect("a Timestamp holds RFC 3339");
        Self::from_datetime(parsed + duration)
    }

    /// Reads back a timestamp this API stored.
    pub fn parse(raw: &str) -> Option<Self> {
        OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
            .ok()
            .map(Self::from_datetime)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_seconds() {
        let at = time::macros::datetime!(2026-01-31 13:00:00.75 +01:00);
        assert_eq!(
            Timestamp::from_datetime(at).as_str(),
            "2026-01-31T12:00:00Z"
        );
        assert_eq!(
            Timestamp::parse("2026-01-31T12:00:00Z").map(|t| t.0),
            Some("2026-01-31T12:00:00Z".to_owned())
        );
        assert_eq!(Timestamp::parse("yesterday"), None);
    }

    #[test]
    fn lengths_count_characters() {
        assert!(check_len("ÅÅ", 1, 2).is_ok());
        assert_eq!(check_len("", 1, 2), Err("must be 1 to 2 characters".into()));
        assert_eq!(
            check_len("abc", 0, 2),
            Err("must be at most 2 characters".into())
        );
    }
}
