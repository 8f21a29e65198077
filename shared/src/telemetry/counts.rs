//! Business counts (`emf::ARTICLES_CREATED`, ...), why a request failed, and
//! an error's chain of causes:
//! what code below the HTTP edge reports, and the request's layer
//! (`http::observe`) puts on the request's lines.

use super::emf;
use std::cell::RefCell;
use std::future::Future;

tokio::task_local! {
    /// The business counts of the request being served.
    static COUNTS: RefCell<Vec<(emf::Metric, u64)>>;
}

/// Counts a business event (`emf::ARTICLES_CREATED`, ...): within a request,
/// on that request's metrics line; outside one (a job), on a line of its own.
pub fn count(metric: emf::Metric, n: u64) {
    if COUNTS
        .try_with(|counts| counts.borrow_mut().push((metric, n)))
        .is_err()
    {
        emf::emit(&[(metric, n)]);
    }
}

/// Runs `work`, collecting what it [`count`]s instead of writing it.
pub(crate) async fn counted<T>(work: impl Future<Output = T>) -> (T, Vec<(emf::Metric, u64)>) {
    COUNTS
        .scope(RefCell::new(Vec::new()), async {
            let out = work.await;
            (out, COUNTS.with(RefCell::take))
        })
        .await
}

/// Why a request failed, left on the error response for the request's log
/// line: the cause and its `source()` chain for a 5xx, the detail for a 4xx.
#[derive(Clone, Debug)]
pub struct Failure(pub String);

/// An error and its `source()`s, outermost first: what the log shows of a cause.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
