//! The integration suite: the whole API over HTTP (and in the Lambda shape),
//! on the embedded engine or on the endpoint in `HDOC_TEST_DYNAMODB_ENDPOINT`.

mod admin_mfa;
mod articles;
mod bad_input;
mod caching;
mod capacity;
mod conventions;
mod deletion;
mod frontend;

mod faults;
mod fuzzed;
mod iam;
mod idempotency;
mod import;
mod journey;
mod lambda;
mod leaderboard;
mod limits;
mod openapi;
mod photos;
mod ratings;
mod reconcile;
mod reviews;
mod routes;
mod secrets;
mod tags;
mod telemetry;
mod template;
mod upgrade;
mod users;
