//! Pages of lists, as the store reads them: how many items, from where, and
//! where the next page starts. Nothing here knows HTTP: the edge turns a
//! [`Position`] into a signed cursor (`http::cursor`) and back.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where the next page starts: the key attributes of the last item served.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Key attributes (all strings in this table) of the last item served.
    #[serde(rename = "k")]
    pub key: BTreeMap<String, String>,
    /// How many items came before the next page (the leaderboard's rank offset).
    #[serde(rename = "n")]
    pub served: u64,
}

/// Which page of a list to read: at most `limit` items, after `start`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    pub limit: u32,
    /// Where to resume; `None` for the first page.
    pub start: Option<Position>,
}

impl Window {
    /// The first `limit` items of a list.
    pub fn first(limit: u32) -> Self {
        Self { limit, start: None }
    }

    /// The page of `limit` items after `start` (a job walking a list).
    pub fn after(limit: u32, start: Option<Position>) -> Self {
        Self { limit, start }
    }

    /// How many items came before this page.
    pub fn offset(&self) -> u64 {
        self.start.as_ref().map_or(0, |start| start.served)
    }
}

/// One page of a list, and where the next one starts if there is one.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Position>,
}

impl<T> Page<T> {
    /// The same page with each item converted by `convert` (stored item to domain type).
    pub fn try_map<U, E>(self, convert: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page {
            items: self
                .items
                .into_iter()
                .map(convert)
                .collect::<Result<_, _>>()?,
            next: self.next,
        })
    }
}
