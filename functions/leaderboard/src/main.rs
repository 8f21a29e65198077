//! The `leaderboard` Lambda function: its routes behind API Gateway.

use hdoc_shared::http::WarmUp;
use hdoc_shared::store::schema;

#[tokio::main]
async fn main() -> Result<(), hdoc_shared::http::LambdaError> {
    // Its policy allows only Query of the ranking index.
    hdoc_shared::http::run_lambda(leaderboard::routes(), WarmUp::Query(schema::GSI2)).await
}
