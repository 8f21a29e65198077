//! Creates made with an `Idempotency-Key`: the record of each one's first
//! answer (`docs/api.md#idempotency-key`, `docs/data-model.md`).
//!
//! A keyed create puts, in its own transaction, a record of the answer it
//! gives (status, JSON body, `Location`) under a key made of a hash of the
//! caller's `sub` and the client's key, conditioned on no fresh record being
//! there. So a create and its record exist together or not at all, and of
//! two requests with one key only one writes: the other's transaction is
//! cancelled on the record, which the create methods report as
//! [`Precondition::IdempotencyKey`], and the HTTP edge (`crate::http::idempotency`)
//! reads the record and answers what it holds. A record is fresh for the
//! repository's window ([`WINDOW`]); DynamoDB's TTL deletes it some time
//! after (lazily, up to days later), so a read treats a record past its
//! expiry as absent, and a new create may write over one.

use crate::store::error::{Result, StoreError};
use crate::store::item::{n, number, optional_string, s, string};
use crate::store::keys::{IDEMPOTENCY, IDEMPOTENCY_PREFIX};
use crate::store::read::Read;
use crate::store::schema::{PK, SK, TTL};
use crate::store::write::{Cancelled, Part, Write};
use crate::store::{Item, Repository};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a create's first answer is given again: 24 hours.
pub const WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// The first answer to a create, as stored: what a repeat gets again, byte
/// for byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    /// The JSON body, exactly as sent.
    pub body: String,
}

/// A create to make once per caller and key: where its record is, the
/// fingerprint of the request, and how the API answers what it creates.
pub struct KeyedCreate<'a, T> {
    pk: String,
    fingerprint: &'a str,
    answer: &'a (dyn Fn(&T) -> Answer + Sync),
}

impl<'a, T> KeyedCreate<'a, T> {
    /// The create of the caller `sub` with the client's `key`, for a request
    /// whose fingerprint is `fingerprint`, answered by `answer`. The record's
    /// key holds a hash of `sub`, never `sub` itself.
    pub fn new(
        sub: &str,
        key: &str,
        fingerprint: &'a str,
        answer: &'a (dyn Fn(&T) -> Answer + Sync),
    ) -> Self {
        let caller = URL_SAFE_NO_PAD.encode(Sha256::digest(sub.as_bytes()));
        Self {
            pk: format!("{IDEMPOTENCY_PREFIX}{caller}#{key}"),
            fingerprint,
            answer,
        }
    }
}

/// What a fresh record says to a request with its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replay {
    /// The same request was answered: this answer, again.
    Same(Answer),
    /// Another request (another body or path) was made with the key.
    Other,
}

/// The record of one keyed create, ready to join its write.
#[derive(Clone, Debug)]
pub(in crate::store) struct Record {
    item: Item,
    /// When it was made, in seconds since the epoch: a record that expired
    /// by then may be written over.
    now: u64,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

impl Repository {
    /// This repository, giving a create's first answer again for `window`
    /// (the tests shorten it to see records expire).
    pub fn with_idempotency_window(mut self, window: Duration) -> Self {
        self.idempotency_window = window;
        self
    }

    /// What the fresh record of `once`, if there is one, says to its
    /// request: read consistently, so a record written before is seen.
    #[tracing::instrument(skip_all)]
    pub async fn replay<T>(&self, once: &KeyedCreate<'_, T>) -> Result<Option<Replay>> {
        let Some(item) = self
            .get(once.pk.clone(), IDEMPOTENCY, Read::Consistent)
            .await?
        else {
            return Ok(None);
        };
        if number(&item, TTL)? <= now() {
            return Ok(None);
        }
        if string(&item, "fingerprint")? != once.fingerprint {
            return Ok(Some(Replay::Other));
        }
        let status = u16::try_from(number(&item, "status")?)
            .map_err(|_| StoreError::corrupt("a malformed `status`"))?;
        Ok(Some(Replay::Same(Answer {
            status,
            location: optional_string(&item, "location"),
            body: string(&item, "body")?,
        })))
    }

    /// The record of `once`'s answer to `created` (`None` without a key).
    pub(in crate::store) fn once_record<T>(
        &self,
        once: Option<&KeyedCreate<'_, T>>,
        created: &T,
    ) -> Option<Record> {
        let once = once?;
        let answer = (once.answer)(created);
        let now = now();
        let mut item = Item::from([
            (PK.to_owned(), s(&once.pk)),
            (SK.to_owned(), s(IDEMPOTENCY)),
            ("fingerprint".to_owned(), s(once.fingerprint)),
            ("status".to_owned(), n(u64::from(answer.status))),
            ("body".to_owned(), s(answer.body)),
            (TTL.to_owned(), n(now + self.idempotency_window.as_secs())),
        ]);
        if let Some(location) = answer.location {
            item.insert("location".to_owned(), s(location));
        }
        Some(Record { item, now })
    }
}

impl Write {
    /// Adds `record` (if any) to this write, on the condition that no fresh
    /// record of its key exists.
    pub(in crate::store) fn record_answer(&mut self, record: Option<&Record>) -> Result<&mut Self> {
        if let Some(record) = record {
            let condition = format!("attribute_not_exists(PK) OR {TTL} <= :v");
            self.put(
                Part::Answer,
                record.item.clone(),
                &condition,
                Some(n(record.now)),
            )?;
        }
        Ok(self)
    }
}

impl Cancelled {
    /// Whether the record of a keyed create stopped this write: another
    /// request with the same key wrote it, or is writing it at this moment.
    /// The create then ends with [`Precondition::IdempotencyKey`].
    pub(in crate::store) fn by_record(&self) -> bool {
        self.failed(Part::Answer) || self.conflicted(Part::Answer)
    }
}
