//! Domain types: the only way to build one is to parse it, so a handler
//! never holds an unchecked string.

pub mod article;
mod text;
pub mod user;

pub use article::{Article, ArticleChanges, NewArticle, Slug, Tag, TagCount, Tags};
pub use text::Timestamp;
pub use user::{NewUser, RankedUser, User, UserChanges, UserId};
