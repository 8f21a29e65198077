//! Pages of lists: the `limit` and `cursor` a client asks with, and the
//! answer's `Link: rel="next"`.

use super::AppState;
use super::cursor::CursorKey;
use super::error::ApiError;
use super::extract::Query;
use crate::domain::UserOrder;
use crate::page::{Page, Window};
use crate::store::{ArticleFilter, ReviewFilter};
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, header};
use serde::Deserialize;

/// The name of a list for its cursors: a cursor one list issued is refused
/// by every other (another filter, another order).
pub trait CursorScope {
    fn cursor_scope(&self) -> String;
}

impl CursorScope for UserOrder {
    fn cursor_scope(&self) -> String {
        match self {
            UserOrder::Oldest => "users",
            UserOrder::Newest => "users:newest",
        }
        .to_owned()
    }
}

impl CursorScope for ArticleFilter {
    fn cursor_scope(&self) -> String {
        self.partition()
    }
}

impl CursorScope for ReviewFilter {
    fn cursor_scope(&self) -> String {
        self.partition()
    }
}

/// The page sizes a list allows.
#[derive(Clone, Copy, Debug)]
pub struct PageLimits {
    pub default: u32,
    pub max: u32,
}

/// A page of a list the client asked for: the list it belongs to (its
/// cursors are its own), and which of its items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// The list this page belongs to; cursors from other lists are refused.
    pub scope: String,
    /// How many items, and where to resume (from a verified cursor).
    pub window: Window,
}

impl PageRequest {
    /// Parses `limit` and `cursor` for the list named `scope`.
    pub fn parse(
        scope: impl Into<String>,
        limit: Option<&str>,
        cursor: Option<&str>,
        limits: PageLimits,
        key: &CursorKey,
    ) -> Result<Self, ApiError> {
        let limit = match limit {
            None => limits.default,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=limits.max).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid(
                        "limit",
                        format!("must be an integer from 1 to {}", limits.max),
                    )
                })?,
        };
        let scope = scope.into();
        let start = cursor
            .map(|cursor| {
                key.open(&scope, cursor)
                    .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor this list issued"))
            })
            .transpose()?;
        Ok(Self {
            scope,
            window: Window::after(limit, start),
        })
    }
}

/// The `limit` and `cursor` of a list request, checked once the list is
/// known ([`AppState::page`]). A repeated one is a 400 naming it.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PageQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

impl PageQuery {
    /// Whether the client asked for a page at all (`limit` or `cursor`).
    pub fn is_given(&self) -> bool {
        self.limit.is_some() || self.cursor.is_some()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<Self>::from_request_parts(parts, state)
            .await
            .map(|Query(page)| page)
    }
}

impl AppState {
    /// The page `query` asks for of the list named `scope`.
    pub fn page(
        &self,
        scope: impl Into<String>,
        query: &PageQuery,
        limits: PageLimits,
    ) -> Result<PageRequest, ApiError> {
        PageRequest::parse(
            scope,
            query.limit.as_deref(),
            query.cursor.as_deref(),
            limits,
            &self.cursors,
        )
    }

    /// A list response: the items as a bare JSON array, and a `Link: rel="next"`
    /// header pointing at the same URL with the next page's cursor.
    pub fn page_response<T: serde::Serialize>(
        &self,
        uri: &http::Uri,
        request: &PageRequest,
        page: Page<T>,
    ) -> Response {
        let mut response = axum::Json(page.items).into_response();
        if let Some(next) = page.next {
            let cursor = self.cursors.seal(&request.scope, &next);
            // Under the public base path clients reach the API by (`/api`
            // behind the front end's rewrites), so following it stays there.
            let base = &self.config.link_base_path;
            let link = format!("<{base}{}>; rel=\"next\"", with_cursor(uri, &cursor));
            if let Ok(value) = HeaderValue::from_str(&link) {
                response.headers_mut().insert(header::LINK, value);
            }
        }
        response
    }
}

/// `uri` with its `cursor` parameter replaced, as a relative reference.
fn with_cursor(uri: &http::Uri, cursor: &str) -> String {
    let kept = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("cursor="));
    let query: Vec<&str> = kept.collect();
    let sep = if query.is_empty() { "" } else { "&" };
    format!("{}?{}{sep}cursor={cursor}", uri.path(), query.join("&"))
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::strategies::{position, text};
    use proptest::prelude::*;

    const LIMITS: PageLimits = PageLimits {
        default: 10,
        max: 100,
    };

    proptest! {
        #[test]
        fn pages_parse_any_limit_and_cursor(
            limit in prop::option::of(text()),
            cursor in prop::option::of(text()),
        ) {
            let key = CursorKey::new("k");
            if let Ok(page) = PageRequest::parse("users", limit.as_deref(), cursor.as_deref(), LIMITS, &key) {
                prop_assert!((1..=LIMITS.max).contains(&page.window.limit));
            }
        }

        #[test]
        fn limits_are_the_integers_from_one_to_max(n in 0u64..1_000) {
            let key = CursorKey::new("k");
            let page = PageRequest::parse("users", Some(&n.to_string()), None, LIMITS, &key);
            prop_assert_eq!(page.is_ok(), (1..=100).contains(&n));
            if let Ok(page) = page {
                prop_assert_eq!(u64::from(page.window.limit), n);
            }
        }

        #[test]
        fn a_cursor_brings_back_its_position(scope in text(), position in position()) {
            let key = CursorKey::new("k");
            let cursor = key.seal(&scope, &position);
            let page = PageRequest::parse(scope.clone(), None, Some(&cursor), LIMITS, &key);
            prop_assert_eq!(page.ok().and_then(|page| page.window.start), Some(position));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::Position;

    #[test]
    fn the_cursor_replaces_the_old_one_and_keeps_the_rest() {
        let uri: http::Uri = "/articles?tag=aws&cursor=old&limit=5".parse().expect("uri");
        assert_eq!(
            with_cursor(&uri, "new"),
            "/articles?tag=aws&limit=5&cursor=new"
        );
        let uri: http::Uri = "/users".parse().expect("uri");
        assert_eq!(with_cursor(&uri, "c"), "/users?cursor=c");
    }

    #[test]
    fn limits_are_checked() {
        let key = CursorKey::new("k");
        let limits = PageLimits {
            default: 10,
            max: 100,
        };
        let parse = |limit| PageRequest::parse("users", limit, None, limits, &key);
        assert_eq!(parse(None).expect("default").window.limit, 10);
        assert_eq!(parse(Some("100")).expect("max").window.limit, 100);
        for bad in ["0", "101", "-1", "ten", "", "1.5", " 5"] {
            assert!(parse(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn cursors_are_bound_to_their_list() {
        let key = CursorKey::new("k");
        let limits = PageLimits {
            default: 10,
            max: 100,
        };
        let cursor = key.seal("users", &Position::default());
        assert!(PageRequest::parse("users", None, Some(&cursor), limits, &key).is_ok());
        assert!(PageRequest::parse("leaderboard", None, Some(&cursor), limits, &key).is_err());
    }
}
