//! The `ratings` Lambda function: its routes behind API Gateway.

use hdoc_shared::http::WarmUp;

#[tokio::main]
async fn main() -> Result<(), hdoc_shared::http::LambdaError> {
    hdoc_shared::http::run_lambda(ratings::routes(), WarmUp::GetItem).await
}
