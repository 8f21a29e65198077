//! Small checked building blocks shared by the domain types.

use crate::clock::Clock;
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

/// Refuses control characters other than line breaks and tabs: they have no
/// place in text a page shows, and each would cost six bytes escaped in JSON.
pub(crate) fn check_printable(value: &str) -> Result<(), String> {
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        Err("must not contain control characters".to_owned())
    } else {
        Ok(())
    }
}

/// The slug form of `text`: transliterated to ASCII, lowercased, every run of
/// anything but letters and digits turned into one `-`, no `-` at either end
/// (`"Día 1: Café"` is `dia-1-cafe`, `"Open System"` is `open-system`).
/// Empty when `text` has no letter or digit at all.
pub fn slugify(text: &str) -> String {
    let ascii = deunicode::deunicode(text).to_ascii_lowercase();
    let mut slug = String::with_capacity(ascii.len());
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let trimmed = slug.trim_end_matches('-').len();
    slug.truncate(trimmed);
    slug
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

/// The conversions every string newtype of the domain has: turned back into
/// a `String`, and read with `as_str`.
macro_rules! string_newtype {
    ($name:ident) => {
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

/// A string newtype whose text is kept as given once its `check` passes:
/// built only through `parse` (a copy of borrowed text) or `TryFrom<String>`
/// (serde's `try_from = "String"`, which moves the request's string in).
macro_rules! checked_newtype {
    ($name:ident) => {
        impl $name {
            pub fn parse(raw: &str) -> Result<Self, String> {
                Self::check(raw)?;
                Ok(Self(raw.to_owned()))
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(raw: String) -> Result<Self, String> {
                Self::check(&raw)?;
                Ok(Self(raw))
            }
        }

        $crate::domain::text::string_newtype!($name);
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
            fn check(raw: &str) -> Result<(), String> {
                $crate::domain::text::check_len(raw, $min, $max)?;
                if $min > 0 && raw.trim().is_empty() {
                    return Err("must not be blank".to_owned());
                }
                $crate::domain::text::check_printable(raw)?;
                $( ($extra)(raw)?; )?
                Ok(())
            }
        }

        $crate::domain::text::checked_newtype!($name);
    };
}

pub(crate) use {checked_newtype, string_newtype, text_newtype};

/// A moment, as an RFC 3339 UTC string with second precision (`2026-01-31T12:00:00Z`).
/// The fixed width makes the string order the time order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Timestamp(String);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    /// Now by `clock`: what a handler stamps a change with.
    pub fn now_on(clock: &Clock) -> Self {
        Self::from_datetime(clock.now())
    }

    pub fn from_datetime(at: OffsetDateTime) -> Self {
        let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        let at = at.to_offset(time::UtcOffset::UTC);
        Self(at.format(&format).expect("a UTC time formats"))
    }

    /// This moment plus `duration`, or the last moment a timestamp can
    /// hold (9999-12-31T23:59:59Z) if that is later.
    pub fn after(at: &Self, duration: std::time::Duration) -> Self {
        let parsed = OffsetDateTime::parse(&at.0, &time::format_description::well_known::Rfc3339)
            .expect("a Timestamp holds RFC 3339");
        let later = time::Duration::try_from(duration)
            .ok()
            .and_then(|duration| parsed.checked_add(duration));
        Self::from_datetime(later.unwrap_or(time::PrimitiveDateTime::MAX.assume_utc()))
    }

    /// Reads back a timestamp this API stored: any RFC 3339 moment that is
    /// a UTC time of years 0000 to 9999 (`None` otherwise, never a panic:
    /// `9999-12-31T23:00:00-01:00` is in year 10000 in UTC).
    pub fn parse(raw: &str) -> Option<Self> {
        OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
            .ok()?
            .checked_to_offset(time::UtcOffset::UTC)
            .filter(|at| (0..=9999).contains(&at.year()))
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
    fn timestamps_at_the_edges_of_time_do_not_panic() {
        // In year 10000 and year -1 once in UTC: no timestamp, not a panic.
        assert_eq!(Timestamp::parse("9999-12-31T23:30:00-01:00"), None);
        assert_eq!(Timestamp::parse("0000-01-01T00:30:00+01:00"), None);
        let last = Timestamp::parse("9999-12-31T23:59:00Z").expect("in range");
        assert_eq!(
            Timestamp::after(&last, std::time::Duration::from_secs(900)).as_str(),
            "9999-12-31T23:59:59Z"
        );
    }

    #[test]
    fn slugs_of_text() {
        for (text, slug) in [
            ("Open System", "open-system"),
            ("24 hour", "24-hour"),
            ("AWS", "aws"),
            ("  Día 1: Café & Über  ", "dia-1-cafe-uber"),
            ("--a--b--", "a-b"),
            ("¿?!", ""),
        ] {
            assert_eq!(slugify(text), slug, "{text}");
        }
    }

    #[test]
    fn control_characters_are_refused_but_line_breaks_kept() {
        assert!(check_printable("two\nlines\tand a tab\r\n").is_ok());
        for bad in ["nul\u{0}", "bell\u{7}", "del\u{7f}", "c1\u{85}"] {
            assert!(check_printable(bad).is_err(), "{bad:?}");
        }
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

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// An RFC 3339 string: any date of years 0000-9999, any time, maybe a
    /// fraction, `Z` or an offset of up to ±23:59.
    fn rfc3339() -> impl Strategy<Value = String> {
        (
            prop_oneof![
                4 => (0..=9999i32, 1..=12u8, 1..=28u8),
                1 => Just((9999, 12, 31)),
                1 => Just((0, 1, 1)),
            ],
            (0..=23u8, 0..=59u8, 0..=59u8),
            prop::option::of(0..1_000_000u32),
            prop::option::of((any::<bool>(), 0..=23u8, 0..=59u8)),
        )
            .prop_map(|((y, mo, d), (h, mi, s), fraction, offset)| {
                let fraction = fraction.map(|f| format!(".{f:06}")).unwrap_or_default();
                let offset = match offset {
                    None => "Z".to_owned(),
                    Some((east, oh, om)) => {
                        format!("{}{oh:02}:{om:02}", if east { '+' } else { '-' })
                    }
                };
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{fraction}{offset}")
            })
    }

    proptest! {
        #[test]
        fn timestamps_parse_any_text_without_panicking(raw in any::<String>()) {
            let _ = Timestamp::parse(&raw);
        }

        #[test]
        fn what_parses_is_utc_seconds_and_parses_to_itself(raw in rfc3339()) {
            if let Some(at) = Timestamp::parse(&raw) {
                let text = at.as_str();
                prop_assert_eq!(text.len(), 20, "{}", text);
                prop_assert!(text.ends_with('Z'));
                prop_assert_eq!(Timestamp::parse(text), Some(at.clone()));
                prop_assert_eq!(serde_json::to_value(&at).ok(), Some(serde_json::json!(text)));
                let later = Timestamp::after(&at, std::time::Duration::from_secs(900));
                prop_assert!(later >= at);
            } else {
                // Only the moments outside years 0000-9999 in UTC are refused.
                prop_assert!(raw.starts_with("9999-12-31") || raw.starts_with("0000-01-01"), "{}", raw);
            }
        }

        #[test]
        fn slugs_of_any_text_are_slugs_of_themselves(text in any::<String>()) {
            let slug = slugify(&text);
            prop_assert!(slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            prop_assert!(!slug.starts_with('-') && !slug.ends_with('-') && !slug.contains("--"));
            prop_assert_eq!(slugify(&slug), slug);
        }

        #[test]
        fn checks_take_any_text(text in any::<String>(), min in 0usize..5, max in 0usize..50) {
            let _ = check_len(&text, min, max);
            let _ = check_printable(&text);
        }
    }
}
