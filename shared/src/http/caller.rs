//! Who is calling: built from the JWT claims that API Gateway's authorizer
//! (or `hdoc-local`, playing its part) puts in the request context.

use super::error::ApiError;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use lambda_http::request::RequestContext;

/// The user pool group whose members are admins (template.yaml's `AdminGroup`).
pub const ADMIN_GROUP: &str = "admin";

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The `sub` claim: the caller's stable identity.
    pub sub: String,
    /// Whether `cognito:groups` contains `admin`.
    pub admin: bool,
}

impl Caller {
    /// Reads the caller from the request context, if the authorizer left claims there.
    pub fn from_parts(parts: &Parts) -> Option<Self> {
        Self::from_extensions(&parts.extensions)
    }

    /// The same, from a request's extensions.
    pub fn from_extensions(extensions: &http::Extensions) -> Option<Self> {
        let Some(RequestContext::ApiGatewayV2(context)) = extensions.get::<RequestContext>() else {
            return None;
        };
        let claims = &context.authorizer.as_ref()?.jwt.as_ref()?.claims;
        let sub = claims.get("sub").filter(|sub| !sub.is_empty())?.clone();
        let admin = claims.get("cognito:groups").is_some_and(|groups| {
            parse_groups(groups)
                .iter()
                .any(|group| group == ADMIN_GROUP)
        });
        Some(Self { sub, admin })
    }

    /// Whether this caller may change something owned by `owner` (`None`:
    /// owned by no caller, such as an imported profile: admins only).
    pub fn may_change(&self, owner: Option<&str>) -> bool {
        self.admin || owner == Some(self.sub.as_str())
    }
}

/// The groups of a `cognito:groups` claim, parsed exactly. API Gateway HTTP
/// APIs pass an array claim as one string, its elements space-separated in
/// brackets (`[admin dev]`); a JSON array (`["admin","dev"]`) is accepted
/// too. Anything else holds no group: neither `ops,admin` nor `[ops,admin]`
/// (one element, `ops,admin`) holds `admin`.
fn parse_groups(raw: &str) -> Vec<String> {
    let raw = raw.trim();
    if let Ok(groups) = serde_json::from_str::<Vec<String>>(raw) {
        return groups;
    }
    match raw
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    {
        Some(inner) => inner
            .split(' ')
            .filter(|group| !group.is_empty())
            .map(str::to_owned)
            .collect(),
        None => Vec::new(),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        // The answer now depends on who asks: never shared by a cache.
        crate::http::caching::CallerDependent::mark(&parts.extensions);
        Self::from_parts(parts).ok_or(ApiError::Unauthorized)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, ApiError> {
        crate::http::caching::CallerDependent::mark(&parts.extensions);
        Ok(Self::from_parts(parts))
    }
}

/// The request context API Gateway builds for an HTTP API (payload v2) request,
/// with the JWT claims of the caller if there is one. `hdoc-local` and the
/// tests use it to hand claims to the routers exactly as Lambda would.
pub fn request_context(
    request_id: &str,
    method: &str,
    path: &str,
    claims: Option<serde_json::Value>,
) -> RequestContext {
    let mut context = serde_json::json!({
        "requestId": request_id,
        "stage": "$default",
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
        "timeEpoch": 0,
    });
    if let Some(claims) = claims {
        context["authorizer"] = serde_json::json!({"jwt": {"claims": claims, "scopes": null}});
    }
    let context = serde_json::from_value(context).expect("a valid API Gateway v2 request context");
    RequestContext::ApiGatewayV2(context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parts(claims: Option<serde_json::Value>) -> Parts {
        let mut request = http::Request::new(());
        request
            .extensions_mut()
            .insert(request_context("r-1", "GET", "/users", claims));
        request.into_parts().0
    }

    #[test]
    fn groups_arrive_as_a_bracketed_string() {
        let caller = Caller::from_parts(&parts(Some(
            json!({"sub": "abc", "cognito:groups": "[dev admin]"}),
        )));
        assert_eq!(
            caller,
            Some(Caller {
                sub: "abc".into(),
                admin: true
            })
        );
    }

    #[test]
    fn a_group_named_like_admin_is_not_admin() {
        let caller = Caller::from_parts(&parts(Some(
            json!({"sub": "abc", "cognito:groups": "[administrators]"}),
        )))
        .expect("caller");
        assert!(!caller.admin);
    }

    #[test]
    fn admin_counts_only_as_an_element_of_an_array() {
        let admin = |groups: &str| {
            Caller::from_parts(&parts(Some(
                json!({"sub": "abc", "cognito:groups": groups}),
            )))
            .expect("caller")
            .admin
        };
        for yes in [
            "[admin]",
            "[dev admin]",
            " [admin dev] ",
            r#"["admin"]"#,
            r#"["dev", "admin"]"#,
        ] {
            assert!(admin(yes), "{yes} holds admin");
        }
        for no in [
            "ops,admin",
            "admin",
            "[ops,admin]",
            "[ops, admin,]",
            r#"["ops,admin"]"#,
            r#"["admin" dev]"#,
            "[admin",
            "admin]",
            "[]",
            "",
            "[Admin]",
            "[ admin-ish ]",
        ] {
            assert!(!admin(no), "{no} does not hold admin");
        }
    }

    #[test]
    fn no_claims_means_no_caller() {
        assert_eq!(Caller::from_parts(&parts(None)), None);
        assert_eq!(Caller::from_parts(&parts(Some(json!({"sub": ""})))), None);
        assert_eq!(
            Caller::from_parts(&http::Request::new(()).into_parts().0),
            None
        );
    }
}
