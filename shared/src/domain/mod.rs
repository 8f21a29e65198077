//! Domain types: the only way to build one is to parse it, so a handler
//! never holds an unchecked string.

mod text;
pub mod user;

pub use text::Timestamp;
pub use user::{NewUser, RankedUser, User, UserChanges, UserId};
