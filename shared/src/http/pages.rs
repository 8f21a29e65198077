//! Pages of lists: the `limit` and `cursor` a client asks with, and the
//! answer's `Link: rel="next"`.

use super::AppState;
use crate::error::ApiError;
use crate::request::{PageLimits, PageRequest, Query};
use crate::store::Page;
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, header};
use serde::Deserialize;

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
mod tests {
    use super::*;

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
}
