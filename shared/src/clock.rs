//! What time it is, for the code that decides by it (a rate limit's reset,
//! a wait before trying again): the system's clock, or one a test moves on
//! at will, so that tests count what happened rather than wait for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use time::OffsetDateTime;

/// The system's clock, or (for tests) the system's clock moved on by
/// however much was [`advance`](Clock::advance)d or slept on it.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Milliseconds added to the system's time; `None` for the system's clock.
    ahead: Option<Arc<AtomicU64>>,
}

impl Clock {
    /// The system's clock: what production runs on.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that a test moves on: sleeping on it moves it on at once.
    pub fn manual() -> Self {
        Self {
            ahead: Some(Arc::new(AtomicU64::new(0))),
        }
    }

    /// Now, by this clock.
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.advanced()
    }

    /// How far a manual clock was moved on (zero for the system's).
    pub fn advanced(&self) -> Duration {
        self.ahead.as_ref().map_or(Duration::ZERO, |ahead| {
            Duration::from_millis(ahead.load(Ordering::Relaxed))
        })
    }

    /// Moves a manual clock on by `by` (nothing for the system's).
    pub fn advance(&self, by: Duration) {
        if let Some(ahead) = &self.ahead {
            let millis = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
            ahead.fetch_add(millis, Ordering::Relaxed);
        }
    }

    /// Waits `wait`: really on the system's clock, at once on a manual one
    /// (which moves on by `wait`).
    pub async fn sleep(&self, wait: Duration) {
        match &self.ahead {
            None => tokio::time::sleep(wait).await,
            Some(_) => self.advance(wait),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_on_when_told_and_the_system_one_does_not() {
        let manual = Clock::manual();
        let before = manual.now();
        manual.advance(Duration::from_secs(3600));
        assert!(manual.now() - before >= time::Duration::hours(1));
        assert_eq!(manual.advanced(), Duration::from_secs(3600));
        let system = Clock::system();
        system.advance(Duration::from_secs(3600));
        assert_eq!(system.advanced(), Duration::ZERO);
    }

    #[tokio::test]
    async fn sleeping_on_a_manual_clock_moves_it_on_at_once() {
        let manual = Clock::manual();
        manual.sleep(Duration::from_secs(30)).await;
        assert_eq!(manual.advanced(), Duration::from_secs(30));
    }
}
