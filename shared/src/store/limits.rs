//! Each caller's token bucket per kind of write (docs/api.md, "Write
//! limits"), kept in the table so that every function and every instance of
//! one sees the same bucket.
//!
//! A bucket is one item, `LIMIT#<sub>` / `<KIND>`, holding `fullAt`: the
//! time (milliseconds since the epoch) at which the bucket is full again.
//! That is a token bucket stored as the one timestamp it needs (the
//! "generic cell rate algorithm"): with `burst` tokens, one back every
//! `interval`, the caller has `burst - ceil((fullAt - now) / interval)`
//! tokens now, so a write is allowed when `fullAt <= now + (burst - 1) *
//! interval`, and it moves `fullAt` to `max(fullAt, now) + interval`. The
//! refill is computed from the timestamps; nothing ticks.
//!
//! No read comes first: the write is one conditional UpdateItem, in two
//! shapes since an update expression has no `max`:
//!
//! 1. the bucket is full (no item, or `fullAt <= now`): `fullAt = now +
//!    interval`. This is a caller who has not written for a while, the usual
//!    case, and costs one UpdateItem (1 WCU).
//! 2. it is not (`now < fullAt <= now + (burst - 1) * interval`): `fullAt =
//!    fullAt + interval`. A caller writing in a burst pays for the first
//!    shape's failed condition too (2 WCU).
//!
//! When neither condition holds the caller is over the limit: one
//! consistent GetItem reads `fullAt` to say when a token is back, and
//! nothing else is written. The item expires (TTL) a minute after it is full
//! again, since a full bucket and no item are the same thing.

use super::Repository;
use super::error::{Result, StoreError};
use super::item::{n, optional_number, s};
use super::keys::{limit_pk, limit_sk};
use super::read::Read;
use super::schema::{PK, SK, TTL};
use crate::config::{Rate, WriteKind};
use std::time::Duration;
use time::OffsetDateTime;

/// The attribute holding when a bucket is full again (ms since the epoch).
const FULL_AT: &str = "fullAt";

/// How many times a take is tried when the bucket changes between its two
/// shapes under it (another write of the same caller at the same moment),
/// or is in a transaction; then [`StoreError::Contended`] (a 409).
const ATTEMPTS: usize = 3;

/// Whether an UpdateItem's condition held.
enum Taken {
    Yes,
    No,
    /// The item is in another request's transaction at this moment (only
    /// a write's own transaction could hold it): try again.
    Conflicted,
}

fn millis(at: OffsetDateTime) -> u64 {
    u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

fn duration_millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Repository {
    /// Takes one token from `sub`'s bucket of `kind` at `now`, or refuses
    /// with [`StoreError::Limited`] (saying when one is back) and writes
    /// nothing.
    #[tracing::instrument(skip(self, rate, now), fields(kind = kind.as_str()))]
    pub async fn take_write_token(
        &self,
        sub: &str,
        kind: WriteKind,
        rate: Rate,
        now: OffsetDateTime,
    ) -> Result<()> {
        let interval = duration_millis(rate.interval()).max(1);
        let now = millis(now);
        // The latest `fullAt` that still leaves a token.
        let edge = now.saturating_add(interval.saturating_mul(u64::from(rate.burst.max(1)) - 1));
        // When the fullest bucket this take can leave is full again, plus a minute.
        let expires = edge.saturating_add(interval) / 1000 + 60;
        for _ in 0..ATTEMPTS {
            let full = self
                .update_bucket(
                    sub,
                    kind,
                    "attribute_not_exists(#full) OR #full <= :now",
                    "SET #full = :next, #ttl = :expires",
                    &[
                        (":now", n(now)),
                        (":next", n(now.saturating_add(interval))),
                        (":expires", n(expires)),
                    ],
                )
                .await?;
            match full {
                Taken::Yes => return Ok(()),
                Taken::Conflicted => continue,
                Taken::No => {}
            }
            let in_burst = self
                .update_bucket(
                    sub,
                    kind,
                    "#full > :now AND #full <= :edge",
                    "SET #full = #full + :interval, #ttl = :expires",
                    &[
                        (":now", n(now)),
                        (":edge", n(edge)),
                        (":interval", n(interval)),
                        (":expires", n(expires)),
                    ],
                )
                .await?;
            match in_burst {
                Taken::Yes => return Ok(()),
                Taken::Conflicted => continue,
                Taken::No => {}
            }
            // Over the limit, or the bucket filled up between the two calls.
            let item = self
                .get(limit_pk(sub), &limit_sk(kind), Read::Consistent)
                .await?;
            let full_at = match &item {
                Some(item) => optional_number(item, FULL_AT)?.unwrap_or(0),
                None => 0,
            };
            if full_at > edge {
                return Err(StoreError::Limited(Duration::from_millis(full_at - edge)));
            }
        }
        Err(StoreError::Contended)
    }

    /// One conditional UpdateItem of `sub`'s bucket of `kind`.
    async fn update_bucket(
        &self,
        sub: &str,
        kind: WriteKind,
        condition: &str,
        update: &str,
        values: &[(&str, aws_sdk_dynamodb::types::AttributeValue)],
    ) -> Result<Taken> {
        let mut request = self
            .client
            .update_item()
            .table_name(self.table.as_ref())
            .key(PK, s(limit_pk(sub)))
            .key(SK, s(limit_sk(kind)))
            .condition_expression(condition)
            .update_expression(update)
            .expression_attribute_names("#full", FULL_AT)
            .expression_attribute_names("#ttl", TTL)
            .set_return_consumed_capacity(self.capacity());
        for (name, value) in values {
            request = request.expression_attribute_values(*name, value.clone());
        }
        match request.send().await {
            Ok(out) => {
                self.record("UpdateItem", out.consumed_capacity());
                Ok(Taken::Yes)
            }
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                // A failed condition still costs the write: count the call.
                self.record("UpdateItem", std::iter::empty());
                Ok(Taken::No)
            }
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_transaction_conflict_exception()) =>
            {
                self.record("UpdateItem", std::iter::empty());
                Ok(Taken::Conflicted)
            }
            Err(err) => Err(err.into()),
        }
    }
}
