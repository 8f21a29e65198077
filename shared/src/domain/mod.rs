//! Domain types: the only way to build one is to parse it, so a handler
//! never holds an unchecked string.

pub mod article;
pub mod review;
mod text;
pub mod user;

pub use article::{Article, ArticleChanges, NewArticle, Slug, Tag, TagCount, Tags};
pub use review::{
    MAX_PHOTOS, NewReview, PhotoRequest, PhotoType, RatingRequest, Review, ReviewChanges, ReviewId,
    Stars, Subject, SubjectSummary, Summary,
};
pub use text::Timestamp;
pub use user::{NewUser, RankedUser, User, UserChanges, UserId};
