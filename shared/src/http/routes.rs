//! The route table each function exports, which `template.yaml` and its
//! tests check against.

/// Who may call a route, as API Gateway enforces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone; API Gateway attaches no authorizer.
    Public,
    /// Only a caller with a valid token; API Gateway's JWT authorizer guards it.
    Caller,
    /// Anyone at API Gateway (no authorizer), but the function itself
    /// answers 401 to a request that its sender did not sign (GitHub's
    /// webhook: an HMAC of the body with a shared secret).
    Signed,
}

/// One route a function serves. `path` is written as API Gateway and axum
/// both write it (`/users/{id}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

impl Route {
    pub const fn public(method: &'static str, path: &'static str) -> Self {
        Self {
            method,
            path,
            access: Access::Public,
        }
    }

    pub const fn signed(method: &'static str, path: &'static str) -> Self {
        Self {
            method,
            path,
            access: Access::Signed,
        }
    }

    pub const fn caller(method: &'static str, path: &'static str) -> Self {
        Self {
            method,
            path,
            access: Access::Caller,
        }
    }
}
