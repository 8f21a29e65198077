//! Opaque, signed pagination cursors.
//!
//! A cursor carries the last key of a page and the number of items served so
//! far, bound to the list it came from (`scope`) and signed with HMAC-SHA256,
//! so a forged, tampered or borrowed cursor is refused with a 400.

use crate::page::Position;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Bytes of the MAC kept in a cursor: 128 bits is plenty against forgery.
const TAG_LEN: usize = 16;

#[derive(Serialize, Deserialize)]
struct Payload<'a> {
    #[serde(rename = "s", borrow)]
    scope: std::borrow::Cow<'a, str>,
    #[serde(rename = "p")]
    position: Position,
}

/// Signs and checks cursors with one secret.
#[derive(Clone)]
pub struct CursorKey(Hmac<Sha256>);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

impl CursorKey {
    pub fn new(secret: &str) -> Self {
        Self(Hmac::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length"))
    }

    /// The cursor for `position` in the list named `scope`.
    pub fn seal(&self, scope: &str, position: &Position) -> String {
        let payload = serde_json::to_vec(&Payload {
            scope: scope.into(),
            position: position.clone(),
        })
        .expect("a cursor payload serializes");
        let mut mac = self.0.clone();
        mac.update(&payload);
        let tag = mac.finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(&tag[..TAG_LEN])
        )
    }

    /// The position in `cursor`, if this key signed it for the list `scope`.
    pub fn open(&self, scope: &str, cursor: &str) -> Option<Position> {
        let (payload, tag) = cursor.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let mut mac = self.0.clone();
        mac.update(&payload);
        mac.verify_truncated_left(&tag).ok()?;
        if tag.len() != TAG_LEN {
            return None;
        }
        let payload: Payload = serde_json::from_slice(&payload).ok()?;
        (payload.scope == scope).then_some(payload.position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn position() -> Position {
        Position {
            key: BTreeMap::from([("PK".into(), "USER#alice".into())]),
            served: 10,
        }
    }

    #[test]
    fn a_sealed_cursor_opens_in_its_own_list() {
        let key = CursorKey::new("secret");
        let cursor = key.seal("users", &position());
        assert_eq!(key.open("users", &cursor), Some(position()));
    }

    #[test]
    fn a_cursor_from_another_list_or_key_is_refused() {
        let key = CursorKey::new("secret");
        let cursor = key.seal("users", &position());
        assert_eq!(key.open("leaderboard", &cursor), None);
        assert_eq!(CursorKey::new("other").open("users", &cursor), None);
    }

    #[test]
    fn tampered_or_garbage_cursors_are_refused() {
        let key = CursorKey::new("secret");
        let cursor = key.seal("users", &position());
        let (payload, tag) = cursor.split_once('.').expect("two parts");
        let forged = URL_SAFE_NO_PAD.encode(br#"{"s":"users","p":{"k":{"PK":"USER#bob"},"n":0}}"#);
        assert_eq!(key.open("users", &format!("{forged}.{tag}")), None);
        assert_eq!(key.open("users", &format!("{payload}.")), None);
        assert_eq!(key.open("users", &format!("{payload}.{}", &tag[..4])), None);
        for garbage in ["", ".", "abc", "!!.!!", "a.b.c"] {
            assert_eq!(key.open("users", garbage), None, "{garbage}");
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::strategies::{position, text};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sealed_positions_open_to_themselves_in_their_list_only(
            scope in text(),
            other in text(),
            position in position(),
        ) {
            let key = CursorKey::new("secret");
            let cursor = key.seal(&scope, &position);
            prop_assert_eq!(key.open(&scope, &cursor), Some(position));
            if other != scope {
                prop_assert_eq!(key.open(&other, &cursor), None);
            }
        }

        #[test]
        fn no_text_is_a_cursor_unless_it_was_sealed(raw in text()) {
            prop_assert_eq!(CursorKey::new("secret").open("users", &raw), None);
        }

        #[test]
        fn a_changed_cursor_opens_to_nothing_or_the_same_position(
            position in position(),
            at in any::<prop::sample::Index>(),
            replacement in prop::sample::select(b"AZaz09-_.=".to_vec()),
        ) {
            let key = CursorKey::new("secret");
            let mut cursor = key.seal("users", &position).into_bytes();
            let at = at.index(cursor.len());
            cursor[at] = replacement;
            let cursor = String::from_utf8(cursor).expect("ASCII");
            let opened = key.open("users", &cursor);
            // Base64 without padding ignores the last character's low bits,
            // so a change there may decode to the same bytes.
            prop_assert!(opened.is_none() || opened == Some(position));
        }
    }
}
