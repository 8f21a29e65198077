//! Calls of AWS JSON services without their SDK crates
//! (`hdoc_shared::aws_json`), on moto's Secrets Manager: a moto each test
//! starts for itself (`scripts/moto_server.py`), so they never skip.

use hdoc_shared::Config;
use hdoc_shared::aws_json::{AwsJson, ErrorKind, SECRETS_MANAGER, endpoint_override};
use hdoc_shared::config::StaticCredentials;
use serde_json::{Value, json};

/// A moto server of this test's own, stopped when dropped.
pub struct Moto {
    pub endpoint: String,
    child: std::process::Child,
}

impl Moto {
    /// Starts `scripts/moto_server.py` on a free port and waits until it answers.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/moto_server.py");
        let child = std::process::Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 runs scripts/moto_server.py (pip install 'moto[server]==5.2.1')");
        let moto = Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
        };
        for _ in 0..150 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return moto;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("moto did not start on port {port}: is moto[server] 5.2.1 installed?");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The SDK configuration of a process with fixed keys (moto without IAM takes any).
pub async fn sdk() -> aws_config::SdkConfig {
    let mut config = Config::from_lookup(|_| None);
    config.static_credentials = Some(StaticCredentials {
        access_key: "AKIDSECRETSTEST".into(),
        secret_key: "secrets-test-key".into(),
        region: "us-east-1".into(),
    });
    hdoc_shared::http::sdk_config(&config).await
}

/// Creates a secret on `secrets`' endpoint; its ARN.
pub async fn create_secret(secrets: &AwsJson, name: &str, value: &str) -> String {
    let answer = secrets
        .call(
            "CreateSecret",
            &json!({"Name": name, "SecretString": value}),
        )
        .await
        .expect("moto creates the secret");
    answer["ARN"].as_str().expect("an ARN").to_owned()
}

#[tokio::test]
async fn a_secret_is_read_with_one_signed_call_and_a_missing_one_is_a_clear_error() {
    let moto = Moto::start().await;
    let sdk = sdk().await;
    let secrets = AwsJson::new(&sdk, SECRETS_MANAGER, Some(&moto.endpoint)).expect("a client");
    let arn = create_secret(&secrets, "hdoc-test-cursor", "cursor-value-1").await;
    assert!(
        arn.starts_with("arn:aws:secretsmanager:us-east-1:"),
        "{arn}"
    );

    let answer = secrets
        .call("GetSecretValue", &json!({"SecretId": arn}))
        .await
        .expect("the secret is read");
    assert_eq!(answer["SecretString"], "cursor-value-1");
    assert_eq!(answer["ARN"], Value::String(arn.clone()));

    let missing = secrets
        .call(
            "GetSecretValue",
            &json!({"SecretId": "hdoc-no-such-secret"}),
        )
        .await
        .expect_err("no such secret");
    assert_eq!(missing.code(), Some("ResourceNotFoundException"));
    // AWS answers 400, moto 404: the message carries whichever came.
    let ErrorKind::Service { status, .. } = missing.kind else {
        panic!("a refusal: {missing:?}");
    };
    assert!((400..500).contains(&status), "{missing:?}");
    let shown = missing.to_string();
    assert!(
        shown.starts_with(&format!(
            "secretsmanager.GetSecretValue: {status} ResourceNotFoundException: "
        )),
        "{shown}"
    );

    // An operation that is not one: the service's own refusal, kept as it is.
    let unknown = secrets
        .call("NoSuchOperation", &json!({}))
        .await
        .expect_err("no such operation");
    assert!(
        unknown
            .to_string()
            .starts_with("secretsmanager.NoSuchOperation: "),
        "{unknown}"
    );

    // Nothing listening: the transport's failure, naming the call.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        format!("http://{}", listener.local_addr().expect("address"))
    };
    let nowhere = AwsJson::new(&sdk, SECRETS_MANAGER, Some(&closed)).expect("a client");
    let unreachable = nowhere
        .call("GetSecretValue", &json!({"SecretId": arn}))
        .await
        .expect_err("nothing listens");
    assert!(
        matches!(unreachable.kind, ErrorKind::Transport(_)),
        "{unreachable:?}"
    );
    assert!(
        unreachable
            .to_string()
            .starts_with("secretsmanager.GetSecretValue: no answer"),
        "{unreachable}"
    );
}

#[tokio::test]
async fn the_standard_endpoint_variables_point_the_calls_elsewhere() {
    let moto = Moto::start().await;
    let sdk = sdk().await;
    let env = |pairs: Vec<(&'static str, String)>| {
        move |key: &str| {
            pairs
                .iter()
                .find(|(name, _)| *name == key)
                .map(|(_, value)| value.clone())
        }
    };
    // The service's own variable wins over the global one, which points nowhere.
    let specific = endpoint_override(
        &SECRETS_MANAGER,
        env(vec![
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9".to_owned()),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.endpoint.clone()),
        ]),
    );
    let secrets = AwsJson::new(&sdk, SECRETS_MANAGER, specific.as_deref()).expect("a client");
    assert_eq!(secrets.endpoint(), moto.endpoint);
    let arn = create_secret(&secrets, "hdoc-test-endpoint", "v").await;
    // The global one alone is enough.
    let global = endpoint_override(
        &SECRETS_MANAGER,
        env(vec![("AWS_ENDPOINT_URL", format!("{}/", moto.endpoint))]),
    );
    let secrets = AwsJson::new(&sdk, SECRETS_MANAGER, global.as_deref()).expect("a client");
    let answer = secrets
        .call("GetSecretValue", &json!({"SecretId": arn}))
        .await
        .expect("read through the global override");
    assert_eq!(answer["SecretString"], "v");
    // Neither: the service's regional endpoint.
    let none = endpoint_override(&SECRETS_MANAGER, env(vec![]));
    let regional = AwsJson::new(&sdk, SECRETS_MANAGER, none.as_deref()).expect("a client");
    assert_eq!(
        regional.endpoint(),
        "https://secretsmanager.us-east-1.amazonaws.com"
    );
}
