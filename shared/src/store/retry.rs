//! The one retry policy for optimistic writes.
//!
//! Every write that depends on what it read (a version, a count, a revision)
//! runs as "read, decide, write conditionally"; when another write got there
//! first, the conditional write is cancelled whole and the attempt is read
//! again. [`optimistic`] runs those attempts under one policy: jittered
//! exponential backoff, a bounded number of attempts and a bounded total
//! time, far inside a Lambda's timeout. The SDK's own retries (throttling,
//! 5xx, lost connections) happen below this, inside each call.

use super::Repository;
use super::error::StoreError;
use std::time::{Duration, Instant};

/// At most this many attempts of one write: a safety net. The write budget
/// is what bounds a write: in Lambda its 3 s allow about 35 attempts once
/// the backoff reaches its cap; `hdoc-local`'s 25 s on a slow engine (moto
/// runs one request at a time) allow more, and thirty writers racing for one
/// count there may each lose more than 50 times before their turn.
const MAX_ATTEMPTS: u32 = 300;
/// The first backoff's upper bound; it doubles with each lost race...
const BASE: Duration = Duration::from_millis(4);
/// ...up to this bound.
const CAP: Duration = Duration::from_millis(100);
/// No attempt starts after this much time (by default): a request that
/// cannot get its write through by then answers "contended, try again",
/// well inside the API functions' 10 s timeout. `hdoc-local` sets its own
/// ([`Repository::with_write_budget`]).
pub const WRITE_BUDGET: Duration = Duration::from_secs(3);

/// What one attempt came to.
#[derive(Debug)]
pub(crate) enum Attempt<T> {
    /// Written, or nothing needed writing: the result.
    Done(T),
    /// Another write got there first (a condition on what was read failed, or
    /// DynamoDB cancelled the transaction for a conflicting one): read again.
    Lost,
}

impl Repository {
    /// Runs `attempt` (read, decide, write conditionally) under the retry
    /// policy, within this repository's write budget: see [`optimistic`].
    pub(super) async fn optimistic<T, E, Fut>(&self, attempt: impl FnMut() -> Fut) -> Result<T, E>
    where
        E: From<StoreError>,
        Fut: Future<Output = Result<Attempt<T>, E>>,
    {
        optimistic(self.write_budget, attempt).await
    }
}

/// Runs `attempt` until it is [`Attempt::Done`], backing off after each lost
/// race; [`StoreError::Contended`] once the policy's attempts or `budget`
/// run out. `E` is the caller's error type, so a decision inside an attempt
/// (a 403, a refusal) passes through untouched.
pub(crate) async fn optimistic<T, E, Fut>(
    budget: Duration,
    mut attempt: impl FnMut() -> Fut,
) -> Result<T, E>
where
    E: From<StoreError>,
    Fut: Future<Output = Result<Attempt<T>, E>>,
{
    let started = Instant::now();
    for lost in 0..MAX_ATTEMPTS {
        if let Attempt::Done(value) = attempt().await? {
            return Ok(value);
        }
        let pause = backoff(lost);
        if started.elapsed() + pause > budget {
            break;
        }
        tokio::time::sleep(pause).await;
    }
    tracing::warn!("a write kept losing races and gave up");
    Err(StoreError::Contended.into())
}

/// How long to wait after the `n`th lost race (from 0): a random time up to
/// `BASE * 2^n`, at most `CAP` ("full jitter"), so racing writers spread out.
pub(crate) fn backoff(n: u32) -> Duration {
    let bound = BASE.saturating_mul(1 << n.min(10)).min(CAP);
    let bound_us = u64::try_from(bound.as_micros()).unwrap_or(u64::MAX).max(1);
    Duration::from_micros(random() % bound_us)
}

/// A few random bytes from the standard library's per-process hash seeds.
pub(crate) fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn backoff_grows_then_is_capped() {
        for n in 0..20 {
            let bound = BASE.saturating_mul(1 << n.min(10)).min(CAP);
            assert!(backoff(n) < bound, "{n}");
        }
    }

    #[tokio::test]
    async fn a_lost_race_is_tried_again_and_a_refusal_is_not() {
        let tries = AtomicU32::new(0);
        let done: Result<u32, StoreError> = optimistic(WRITE_BUDGET, || async {
            let tries = tries.fetch_add(1, Ordering::Relaxed) + 1;
            Ok(if tries < 3 {
                Attempt::Lost
            } else {
                Attempt::Done(tries)
            })
        })
        .await;
        assert_eq!(done.ok(), Some(3));
        let tries = AtomicU32::new(0);
        let refused: Result<(), StoreError> = optimistic(WRITE_BUDGET, || async {
            tries.fetch_add(1, Ordering::Relaxed);
            Err(StoreError::corrupt("x"))
        })
        .await;
        assert!(matches!(refused, Err(StoreError::Corrupt(_))));
        assert_eq!(tries.into_inner(), 1);
    }

    #[tokio::test]
    async fn a_write_that_always_loses_ends_contended() {
        let tries = AtomicU32::new(0);
        let result: Result<(), StoreError> = optimistic(WRITE_BUDGET, || async {
            tries.fetch_add(1, Ordering::Relaxed);
            Ok(Attempt::Lost)
        })
        .await;
        assert!(matches!(result, Err(StoreError::Contended)));
        assert!((1..=MAX_ATTEMPTS).contains(&tries.into_inner()));
    }
}
