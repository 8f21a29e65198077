//! The common core of every hdoc function.
//!
//! A function crate is a thin router over this crate: it gets its
//! configuration, domain types, storage, jobs and HTTP edge from here, so a
//! request is served by the same code in Lambda and in `hdoc-local`.
//!
//! # One direction
//!
//! Each layer names only the layers before it, never one after:
//!
//! ```text
//! leaves   config, clock, page (a page of a list, no HTTP in it), telemetry,
//!          aws_json (one signed call of an AWS JSON service: secrets at Init)
//!   <- domain   the parsed types of the API (ids, profiles, articles, ...)
//!   <- store    the repository: keys, codecs, shared transaction parts,
//!               the aggregates (none naming another), reconcile (sees all)
//!   <- jobs     the one checkpointed runner: reconcile, purge, the GitHub job
//!   <- http     the edge: errors, extractors, caller, cursors, pages,
//!               idempotency, the per-request telemetry, Lambda's entry
//! ```
//!
//! `python3 scripts/module-graph.py --check` prints the graph from the `use`
//! lines and fails if an arrow points the other way.

pub mod aws_json;
pub mod clock;
pub mod config;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod page;
pub mod store;
pub mod telemetry;

#[cfg(test)]
mod strategies;

pub use config::Config;
pub use http::{
    ApiError, AppState, Caller, Create, CursorScope, Id, JsonBody, PageLimits, PageQuery,
    PageRequest, PathParam, Query, Result, create_once,
};
pub use store::Repository;
