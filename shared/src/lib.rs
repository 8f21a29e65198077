//! The common core of every hdoc function.
//!
//! A function crate is a thin router over this crate: it gets its
//! configuration, errors, caller, request parsing, pagination, CORS, logging
//! and storage from here, so a request is served by the same code in Lambda
//! and in `hdoc-local`.

pub mod caller;
pub mod config;
pub mod cursor;
pub mod domain;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod jobs;
pub mod request;
pub mod store;
pub mod telemetry;

pub use caller::Caller;
pub use config::Config;
pub use error::{ApiError, Result};
pub use http::AppState;
pub use http::PageQuery;
pub use idempotency::{Create, create_once};
pub use request::{Id, JsonBody, PageLimits, PageRequest, PathParam, Query};
pub use store::Repository;
