//! Each function's route table (`ROUTES`, which `template.yaml` must match)
//! against what its router really serves.

use axum::body::Body;
use hdoc_shared::http::{Access, app};
use hdoc_tests::contract::contract;
use hdoc_tests::{FUNCTIONS, TestApp};
use http::{Method, Request};
use lambda_http::tower::ServiceExt;

/// Sends `request` to `service` and returns the status, after checking the
/// answer against docs/openapi.yaml.
async fn checked_status(service: axum::Router, request: Request<Body>) -> u16 {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let request_headers = request.headers().clone();
    let response = service.oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    if let Err(problem) = contract().check(
        method.as_str(),
        &path,
        &request_headers,
        status,
        &headers,
        &body,
    ) {
        panic!("{method} {path}: the answer breaks docs/openapi.yaml:\n{problem}");
    }
    status
}

/// A concrete path for a route pattern (`/users/{id}` -> `/users/sample`).
fn sample(path: &str) -> String {
    path.split('/')
        .map(|part| {
            if part.starts_with('{') {
                "sample"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_route_is_served_with_the_access_its_table_says() {
    let test = TestApp::spawn().await;
    let mut checked = 0;
    for function in FUNCTIONS {
        for route in function.routes {
            let service = app((function.router)(), test.state().clone());
            let request = Request::builder()
                .method(route.method)
                .uri(sample(route.path))
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .expect("request");
            let status = checked_status(service, request).await;
            assert_ne!(
                status, 405,
                "{} {} {}",
                function.name, route.method, route.path
            );
            match route.access {
                Access::Caller => assert_eq!(
                    status, 401,
                    "{} {} needs a caller",
                    route.method, route.path
                ),
                Access::Public => {
                    assert_ne!(status, 401, "{} {} is public", route.method, route.path)
                }
                // Unsigned, as this request is: 401 from the function itself.
                Access::Signed => assert_eq!(
                    status, 401,
                    "{} {} needs a signature",
                    route.method, route.path
                ),
            }
            checked += 1;
        }
    }
    assert!(checked >= 13, "{checked} routes");
}

#[tokio::test]
async fn methods_not_in_the_table_are_405() {
    let test = TestApp::spawn().await;
    for function in FUNCTIONS {
        for route in function.routes {
            for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
                let listed = function
                    .routes
                    .iter()
                    .any(|r| r.path == route.path && r.method == method);
                if listed {
                    continue;
                }
                let service = app((function.router)(), test.state().clone());
                let request = Request::builder()
                    .method(Method::from_bytes(method.as_bytes()).expect("method"))
                    .uri(sample(route.path))
                    .body(Body::empty())
                    .expect("request");
                let status = checked_status(service, request).await;
                assert_eq!(
                    status, 405,
                    "{method} {} is served but not in {}'s table",
                    route.path, function.name
                );
            }
        }
    }
}
