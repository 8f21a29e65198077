//! The store's one error type. It says what went wrong in storage terms; the
//! HTTP edge (`crate::error`) turns it into a client's answer, in one place.

use crate::domain::{ReviewId, Slug, Subject, Tag, UserId};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// A boxed error, kept as a `source()` so the log shows the whole chain.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `Result` with [`StoreError`] as the default error.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What is missing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Missing {
    User(UserId),
    Article(Slug),
    Review(ReviewId),
    /// No article carries the tag.
    Tag(Tag),
    /// The caller has not rated the subject.
    Rating(Subject),
}

/// The item whose condition decided a write's fate. Conditions that only
/// guard against a lost race (a version, a revision, a count) never show
/// here: the write is read again and retried instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precondition {
    /// The profile whose id is being created: it exists (in any case), or is
    /// still being purged.
    TakenId,
    /// The caller's owner claim, on creating a profile: the caller owns one,
    /// or one still being purged.
    CallerClaim,
    /// The writer's profile, on creating an article or a review: missing, or
    /// being deleted.
    WriterProfile,
    /// The caller's owner claim, on rating: its profile is being deleted.
    DeletingCaller,
    /// The profile being handed over: a caller owns it already.
    Owned,
    /// The record of a create made with an `Idempotency-Key`: another
    /// request with the same key wrote it, or is writing it.
    IdempotencyKey,
}

/// Every way a store call can fail.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The item does not exist.
    #[error("not found: {0:?}")]
    NotFound(Missing),
    /// A condition that decides the outcome failed on the named item.
    #[error("the condition on {0:?} failed")]
    ConditionFailed(Precondition),
    /// Other writes kept winning the race for the same items until the
    /// retry policy gave up; trying again later is safe.
    #[error("too many concurrent changes to the same items")]
    Contended,
    /// The caller has used up its writes of this kind for now; one is
    /// allowed again after the duration.
    #[error("the caller's write limit is reached; again in {0:?}")]
    Limited(std::time::Duration),
    /// DynamoDB or S3 is throttling, briefly failing or out of reach.
    #[error("storage is unavailable")]
    Unavailable(#[source] BoxError),
    /// A stored item does not have the shape this code writes.
    #[error("corrupt item: {0}")]
    Corrupt(String),
    /// Any other failure of a storage call (a bug or a misconfiguration).
    #[error("storage call failed")]
    Failed(#[source] BoxError),
}

impl StoreError {
    /// A corrupt item, naming the attribute that is missing or malformed.
    pub fn corrupt(what: impl Into<String>) -> Self {
        Self::Corrupt(what.into())
    }

    /// A failure of this code's own making (a request it could not build).
    pub fn failed(cause: impl Into<BoxError>) -> Self {
        Self::Failed(cause.into())
    }
}

/// Error codes of throttling or brief unavailability, DynamoDB's and S3's.
const TRANSIENT_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
    "SlowDown",
    "InternalError",
    "RequestTimeout",
];

/// Whether a service error code means "try again shortly".
fn is_transient(code: Option<&str>) -> bool {
    code.is_some_and(|code| TRANSIENT_CODES.contains(&code))
}

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn from(err: SdkError<E, R>) -> Self {
        let transient = match &err {
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
            SdkError::ServiceError(service) => is_transient(service.err().code()),
            _ => false,
        };
        if transient {
            Self::Unavailable(Box::new(err))
        } else {
            Self::Failed(Box::new(err))
        }
    }
}
