//! HS256 dev tokens: what the local gateway accepts in place of Cognito's.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

/// The dev secret used when `HDOC_DEV_JWT_SECRET` is not set.
pub const DEFAULT_SECRET: &str = "hdoc-local-dev-secret";
/// How long a minted token is valid.
pub const TOKEN_LIFETIME_SECS: i64 = 24 * 60 * 60;

fn mac(secret: &str, signing_input: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(signing_input.as_bytes());
    mac
}

/// Signs `claims` as an HS256 JWT.
pub fn sign(secret: &str, claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(mac(secret, &signing_input).finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

/// A token for `sub` in `groups`, valid from `now` (Unix seconds) for a day.
pub fn mint(secret: &str, sub: &str, groups: &[String], now: i64) -> String {
    sign(
        secret,
        &json!({
            "iss": "hdoc-local",
            "sub": sub,
            "cognito:groups": groups,
            "token_use": "id",
            "iat": now,
            "exp": now + TOKEN_LIFETIME_SECS,
        }),
    )
}

/// Checks an HS256 token at time `now` and returns its claims in the shape
/// API Gateway hands to a function: every value a string, arrays as `[a b]`.
/// `None` for a bad signature, another algorithm, or an expired token.
pub fn verify(secret: &str, token: &str, now: i64) -> Option<Map<String, Value>> {
    let (signing_input, signature) = token.rsplit_once('.')?;
    let (header, payload) = signing_input.split_once('.')?;
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    if header.get("alg")? != "HS256" {
        return None;
    }
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    mac(secret, signing_input).verify_slice(&signature).ok()?;
    let claims: Map<String, Value> =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let exp = claims.get("exp")?.as_i64()?;
    if exp <= now
        || claims
            .get("nbf")
            .and_then(Value::as_i64)
            .is_some_and(|nbf| nbf > now)
    {
        return None;
    }
    Some(
        claims
            .into_iter()
            .map(|(name, value)| (name, Value::String(as_gateway_string(value))))
            .collect(),
    )
}

/// How API Gateway HTTP APIs flatten a claim to a string.
fn as_gateway_string(value: Value) -> String {
    match value {
        Value::String(text) => text,
        Value::Array(items) => {
            let items: Vec<String> = items.into_iter().map(as_gateway_string).collect();
            format!("[{}]", items.join(" "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_verify_with_gateway_shaped_claims() {
        let token = mint("s", "alice", &["admin".into(), "dev".into()], 1000);
        let claims = verify("s", &token, 1001).expect("valid");
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["cognito:groups"], "[admin dev]");
        assert_eq!(claims["exp"], (1000 + TOKEN_LIFETIME_SECS).to_string());
    }

    #[test]
    fn bad_tokens_are_refused() {
        let token = mint("s", "alice", &[], 1000);
        assert!(verify("other", &token, 1001).is_none(), "wrong secret");
        assert!(
            verify("s", &token, 1000 + TOKEN_LIFETIME_SECS).is_none(),
            "expired"
        );
        let (input, _) = token.rsplit_once('.').expect("three parts");
        assert!(
            verify("s", &format!("{input}.AAAA"), 1001).is_none(),
            "bad signature"
        );
        let none_alg = sign("s", &json!({"sub": "x", "exp": 5000})).replacen(
            &URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
            &URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            1,
        );
        assert!(verify("s", &none_alg, 1001).is_none(), "alg none");
        assert!(verify("s", "garbage", 1001).is_none());
        let no_exp = sign("s", &json!({"sub": "x"}));
        assert!(verify("s", &no_exp, 1001).is_none(), "no exp");
    }
}
