//! The `pre-token` Lambda function: the user pool's pre token generation
//! trigger. [`users::pre_token::on_pre_token`] leaves `admin` out of the
//! tokens of an admin without TOTP.

use users::pre_token::{Factors, on_pre_token};

#[tokio::main]
async fn main() -> Result<(), hdoc_shared::http::LambdaError> {
    hdoc_shared::http::run_trigger_lambda(Factors::connect, |factors, event| async move {
        Ok(on_pre_token(factors, event).await?)
    })
    .await
}
