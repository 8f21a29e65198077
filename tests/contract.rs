//! `docs/openapi.yaml` as a judge of responses: for a request's method and
//! path, the operation the document describes, and whether a response
//! (status, content type, headers, body) is one the document allows.
//!
//! Every response the integration suite receives over HTTP goes through
//! [`Contract::check`] (the checking proxy in `lib.rs`); the Lambda-shaped
//! and router-level tests call it directly.

use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The document's text, as the repository holds it.
pub const OPENAPI_YAML: &str = include_str!("../docs/openapi.yaml");

/// Response headers whose presence is part of the contract: each may appear
/// only on the responses that document it.
const CONTRACT_HEADERS: &[&str] = &["link", "location", "retry-after", "etag"];

/// The `Cache-Control` of every answer whose document does not give it one:
/// nothing but public reads may be kept by a shared cache.
const PRIVATE: &str = "private, no-store";

/// What the document says about a method and path.
#[derive(Debug)]
pub enum Found<'a> {
    /// An operation: its path template and its object in the document.
    Operation {
        template: &'a str,
        operation: &'a Value,
    },
    /// The path is a route's, the method is not: a 405.
    MethodNotAllowed { template: &'a str },
    /// No route has this path: a 404.
    NoSuchPath,
}

/// The parsed document, with validators compiled on first use.
pub struct Contract {
    document: Value,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// The contract of this checkout's `docs/openapi.yaml`.
pub fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| Contract {
        document: serde_yaml::from_str(OPENAPI_YAML).expect("docs/openapi.yaml is YAML"),
        validators: Mutex::default(),
    })
}

/// `~` and `/` escaped for a JSON pointer segment (RFC 6901).
pub fn pointer_segment(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Whether a request path matches a path template segment by segment (a
/// `{param}` matches one non-empty segment).
fn matches(template: &str, path: &str) -> bool {
    let (mut template, mut path) = (template.split('/'), path.split('/'));
    loop {
        match (template.next(), path.next()) {
            (None, None) => return true,
            (Some(t), Some(p)) if t.starts_with('{') && t.ends_with('}') => {
                if p.is_empty() {
                    return false;
                }
            }
            (Some(t), Some(p)) if t == p => {}
            _ => return false,
        }
    }
}

impl Contract {
    /// The whole document, as JSON.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// Every operation: (METHOD, path template, operation object).
    pub fn operations(&self) -> impl Iterator<Item = (String, &str, &Value)> {
        self.paths().flat_map(|(template, item)| {
            item.as_object()
                .into_iter()
                .flatten()
                .filter(|(key, _)| {
                    ["get", "put", "post", "delete", "patch", "head", "options"]
                        .contains(&key.as_str())
                })
                .map(move |(method, operation)| (method.to_uppercase(), template, operation))
        })
    }

    fn paths(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.document["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .map(|(template, item)| (template.as_str(), item))
    }

    /// What the document says about `method` on `path` (no query string).
    /// A template of literal segments wins over one with parameters.
    pub fn find(&self, method: &str, path: &str) -> Found<'_> {
        let mut candidates: Vec<(&str, &Value)> = self
            .paths()
            .filter(|(template, _)| matches(template, path))
            .collect();
        candidates.sort_by_key(|(template, _)| template.matches('{').count());
        let Some((template, item)) = candidates.first() else {
            return Found::NoSuchPath;
        };
        match item.get(method.to_lowercase()) {
            Some(operation) => Found::Operation {
                template,
                operation,
            },
            None => Found::MethodNotAllowed { template },
        }
    }

    /// Follows `$ref`s from the value at `pointer` to the object they name:
    /// that object and its own pointer.
    fn resolve(&self, mut pointer: String) -> (String, &Value) {
        loop {
            let value = self
                .document
                .pointer(&pointer)
                .unwrap_or_else(|| panic!("docs/openapi.yaml has nothing at {pointer}"));
            match value.get("$ref").and_then(Value::as_str) {
                Some(target) => {
                    pointer = target
                        .strip_prefix('#')
                        .unwrap_or_else(|| panic!("only local $refs: {target}"))
                        .to_owned();
                }
                None => return (pointer, value),
            }
        }
    }

    /// The validator of the schema at `pointer`, compiled once. The document
    /// is the schema's root, so its `$ref`s to components resolve in place.
    pub fn validator(&self, pointer: &str) -> Arc<jsonschema::Validator> {
        let mut cache = self
            .validators
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(validator) = cache.get(pointer) {
            return validator.clone();
        }
        let mut root = self.document.clone();
        root["$schema"] = "https://json-schema.org/draft/2020-12/schema".into();
        // A URI fragment: the braces of path templates are percent-encoded.
        let fragment = pointer.replace('{', "%7B").replace('}', "%7D");
        root["$ref"] = format!("#{fragment}").into();
        let validator = Arc::new(
            jsonschema::draft202012::options()
                .should_validate_formats(true)
                .build(&root)
                .unwrap_or_else(|err| panic!("the schema at {pointer} does not compile: {err}")),
        );
        cache.insert(pointer.to_owned(), validator.clone());
        validator
    }

    /// Every way `instance` breaks the schema at `pointer`, one a line.
    pub fn violations(&self, pointer: &str, instance: &Value) -> Option<String> {
        let validator = self.validator(pointer);
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|err| format!("{} at {}", err, err.instance_path()))
            .collect();
        (!errors.is_empty()).then(|| errors.join("\n"))
    }

    /// Checks a response against the document: its status is one the
    /// operation lists (404 for a path no route has, 405 for a method a path
    /// lacks), its content type one that status lists (or no body where none
    /// is listed), its body valid against that content's schema, its
    /// documented headers present when required and valid, no `Link`,
    /// `Location`, `Retry-After` or `ETag` where the document has none,
    /// `Cache-Control: private, no-store` wherever the document gives no
    /// `Cache-Control` (only public reads may be shared), and
    /// `X-Content-Type-Options: nosniff` on every answer.
    /// CORS preflights (`OPTIONS` with `Access-Control-Request-Method`) are
    /// API Gateway's, not operations: they must be a 204 without a body.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        request_headers: &http::HeaderMap,
        status: u16,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<(), String> {
        if method == "OPTIONS" && request_headers.contains_key("access-control-request-method") {
            return if status == 204 && body.is_empty() {
                Ok(())
            } else {
                Err(format!("a preflight answered {status}, not 204"))
            };
        }
        let response = match self.find(method, path) {
            Found::Operation {
                template,
                operation,
            } => {
                let responses = format!(
                    "/paths/{}/{}/responses",
                    pointer_segment(template),
                    method.to_lowercase()
                );
                if operation["responses"].get(status.to_string()).is_none() {
                    let listed: Vec<&String> = operation["responses"]
                        .as_object()
                        .map(|r| r.keys().collect())
                        .unwrap_or_default();
                    return Err(format!(
                        "status {status} is not documented for {method} {template} (it lists {listed:?}); body: {}",
                        String::from_utf8_lossy(body)
                    ));
                }
                format!("{responses}/{status}")
            }
            Found::MethodNotAllowed { template } => {
                if status != 405 {
                    return Err(format!(
                        "{method} is not an operation of {template}, so it must be a 405, not {status}"
                    ));
                }
                "/components/responses/MethodNotAllowed".to_owned()
            }
            Found::NoSuchPath => {
                if status != 404 {
                    return Err(format!(
                        "no route has this path, so it must be a 404, not {status}"
                    ));
                }
                "/components/responses/NoSuchPath".to_owned()
            }
        };
        let (pointer, response) = self.resolve(response);
        let mut problems = Vec::new();
        self.check_headers(&pointer, response, headers, &mut problems);
        self.check_body(&pointer, response, headers, body, &mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }

    fn check_headers(
        &self,
        pointer: &str,
        response: &Value,
        headers: &http::HeaderMap,
        problems: &mut Vec<String>,
    ) {
        let documented = response["headers"].as_object();
        let cache_documented = documented
            .is_some_and(|all| all.keys().any(|k| k.eq_ignore_ascii_case("cache-control")));
        if !cache_documented {
            match headers.get(http::header::CACHE_CONTROL) {
                Some(value) if value == PRIVATE => {}
                other => problems.push(format!(
                    "`Cache-Control` must be `{PRIVATE}` here, not {other:?}"
                )),
            }
        }
        if headers
            .get(http::header::X_CONTENT_TYPE_OPTIONS)
            .is_none_or(|v| v != "nosniff")
        {
            problems.push("`X-Content-Type-Options: nosniff` is missing".to_owned());
        }
        for name in CONTRACT_HEADERS {
            let listed =
                documented.is_some_and(|all| all.keys().any(|k| k.eq_ignore_ascii_case(name)));
            if headers.contains_key(*name) && !listed {
                problems.push(format!("`{name}` is not documented for this response"));
            }
        }
        for (name, _) in documented.into_iter().flatten() {
            let (header_pointer, header) =
                self.resolve(format!("{pointer}/headers/{}", pointer_segment(name)));
            match headers.get(name.as_str()).map(|v| v.to_str()) {
                None if header["required"] == true => {
                    problems.push(format!("required header `{name}` is missing"));
                }
                None => {}
                Some(Err(_)) => problems.push(format!("header `{name}` is not visible ASCII")),
                Some(Ok(value)) => {
                    if let Some(errors) =
                        self.violations(&format!("{header_pointer}/schema"), &value.into())
                    {
                        problems.push(format!("header `{name}: {value}`: {errors}"));
                    }
                }
            }
        }
    }

    fn check_body(
        &self,
        pointer: &str,
        response: &Value,
        headers: &http::HeaderMap,
        body: &[u8],
        problems: &mut Vec<String>,
    ) {
        let Some(content) = response["content"].as_object() else {
            if !body.is_empty() {
                problems.push(format!(
                    "a body where the document has none: {}",
                    String::from_utf8_lossy(body)
                ));
            }
            return;
        };
        let content_type = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if !content.contains_key(&essence) {
            let listed: Vec<&String> = content.keys().collect();
            problems.push(format!(
                "content type {content_type:?} is not one of {listed:?}"
            ));
            return;
        }
        let schema = format!("{pointer}/content/{}/schema", pointer_segment(&essence));
        let instance = if essence.ends_with("json") {
            match serde_json::from_slice(body) {
                Ok(json) => json,
                Err(err) => {
                    problems.push(format!("the body is not JSON ({err})"));
                    return;
                }
            }
        } else {
            Value::String(String::from_utf8_lossy(body).into_owned())
        };
        if let Some(errors) = self.violations(&schema, &instance) {
            let mut shown = instance.to_string();
            if shown.len() > 2000 {
                shown = format!("{}…", shown.chars().take(2000).collect::<String>());
            }
            problems.push(format!(
                "the body breaks {schema}:\n{errors}\nbody: {shown}"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_whole_segments() {
        assert!(matches("/users/{id}", "/users/alice"));
        assert!(!matches("/users/{id}", "/users/"));
        assert!(!matches("/users/{id}", "/users/alice/extra"));
        assert!(matches("/ratings/{subject}/mine", "/ratings/park:x/mine"));
        assert!(!matches("/users", "/users/alice"));
    }
}
