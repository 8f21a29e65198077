//! Domain types: the only way to build one is to parse it, so a handler
//! never holds an unchecked string.

pub mod activity;
pub mod article;
pub mod journey;
mod number;
pub mod review;
mod text;
pub mod user;

pub use article::{
    Article, ArticleChanges, ArticleSummary, NewArticle, Slug, Subtitle, Tag, TagCount, Tags,
};
pub use journey::{
    Consistency, DayNumber, Days, IsoWeek, JourneyRepo, JourneyStatus, Verification,
};
pub use number::Integral;
pub use review::{
    MAX_PHOTOS, NewReview, PhotoRequest, PhotoType, RatingRequest, Review, ReviewChanges, ReviewId,
    ReviewSummary, Stars, Subject, SubjectSummary, Tally,
};
pub use text::Timestamp;
pub use text::slugify;
pub use user::{
    CallerSub, Count, DaysCompleted, LinkedinProfile, NewOwner, NewUser, Progress, ProgressChanges,
    RankedUser, TotalTooLarge, User, UserChanges, UserId, UserOrder, WeekRankedUser,
    check_repo_owner,
};
