//! Calls of AWS JSON services without their SDK crates
//! (`hdoc_shared::aws_json`), on moto's Secrets Manager: a moto each test
//! starts for itself (`scripts/moto_server.py`), so they never skip.

use hdoc_shared::Config;
use hdoc_shared::aws_json::{AwsJson, ErrorKind, SECRETS_MANAGER, endpoint_override};
use hdoc_shared::config::{Cursors, StaticCredentials};
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

/// A lookup of fixed variables, as `Config::for_lambda_from` takes it.
fn lookup(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
    move |key: &str| {
        pairs
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, value)| value.clone())
    }
}

/// A deployed function's settings that are not secrets.
fn deployed() -> Vec<(&'static str, String)> {
    vec![
        ("HDOC_STAGE", "dev".to_owned()),
        ("HDOC_TABLE", "hdoc-backend-dev".to_owned()),
        ("HDOC_CORS_ORIGINS", "*".to_owned()),
    ]
}

#[tokio::test]
async fn a_lambda_reads_its_secrets_at_init_and_refuses_to_start_without_one() {
    let moto = Moto::start().await;
    let sdk = sdk().await;
    let admin = AwsJson::new(&sdk, SECRETS_MANAGER, Some(&moto.endpoint)).expect("a client");
    let cursor = create_secret(
        &admin,
        "hdoc-backend-dev-cursor-secret",
        "cursor-key-at-init",
    )
    .await;
    let token = create_secret(&admin, "hdoc-github-token", "ghp_token_at_init").await;
    let webhook = create_secret(&admin, "hdoc-github-webhook-secret", "whsec_at_init").await;
    let endpoint = ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.endpoint.clone());

    // The github function: all three, the token by its partial ARN (the
    // secret's name in an ARN, as template.yaml gives it).
    let partial = token
        .rsplit_once('-')
        .map(|(name, _suffix)| name.to_owned())
        .expect("an ARN ends in -<6 characters>");
    let mut env = deployed();
    env.extend([
        ("HDOC_CURSOR_SECRET_ARN", cursor.clone()),
        ("HDOC_GITHUB_TOKEN_ARN", partial),
        ("HDOC_GITHUB_WEBHOOK_SECRET_ARN", webhook.clone()),
        endpoint.clone(),
    ]);
    let config = Config::for_lambda_from(lookup(env), &sdk, Cursors::Signed)
        .await
        .expect("the secrets are read");
    assert_eq!(config.cursor_secret, "cursor-key-at-init");
    assert_eq!(
        config.github_token.as_ref().map(|t| t.0.as_str()),
        Some("ghp_token_at_init")
    );
    assert_eq!(
        config.webhook_secret.as_ref().map(|t| t.0.as_str()),
        Some("whsec_at_init")
    );
    let shown = format!("{config:?}");
    for secret in ["cursor-key-at-init", "ghp_token_at_init", "whsec_at_init"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }

    // A function without the optional ones reads only the cursor key.
    let mut env = deployed();
    env.extend([("HDOC_CURSOR_SECRET_ARN", cursor.clone()), endpoint.clone()]);
    let config = Config::for_lambda_from(lookup(env), &sdk, Cursors::Signed)
        .await
        .expect("the cursor key is read");
    assert_eq!(config.cursor_secret, "cursor-key-at-init");
    assert!(config.github_token.is_none() && config.webhook_secret.is_none());

    // A secret that is not there: Init fails, naming the variable, the
    // secret, the endpoint and Secrets Manager's answer.
    let gone = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hdoc-gone-AbCdEf";
    let mut env = deployed();
    env.extend([
        ("HDOC_CURSOR_SECRET_ARN", cursor.clone()),
        ("HDOC_GITHUB_WEBHOOK_SECRET_ARN", gone.to_owned()),
        endpoint.clone(),
    ]);
    let err = Config::for_lambda_from(lookup(env), &sdk, Cursors::Signed)
        .await
        .expect_err("a missing secret");
    assert!(
        err.starts_with(&format!(
            "HDOC_GITHUB_WEBHOOK_SECRET_ARN: cannot read the secret {gone} (at {}): \
             secretsmanager.GetSecretValue: 4",
            moto.endpoint
        )) && err.contains("ResourceNotFoundException"),
        "{err}"
    );

    // The global override is honoured as well; an endpoint with nothing
    // behind it is an Init failure too, not a function without its key.
    let mut env = deployed();
    env.extend([
        ("HDOC_CURSOR_SECRET_ARN", cursor.clone()),
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
    ]);
    let config = Config::for_lambda_from(lookup(env), &sdk, Cursors::Signed)
        .await
        .expect("read through AWS_ENDPOINT_URL");
    assert_eq!(config.cursor_secret, "cursor-key-at-init");
    let mut env = deployed();
    env.extend([
        ("HDOC_CURSOR_SECRET_ARN", cursor),
        (
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            "http://127.0.0.1:9".to_owned(),
        ),
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
    ]);
    let err = Config::for_lambda_from(lookup(env), &sdk, Cursors::Signed)
        .await
        .expect_err("nothing listens at the service's own endpoint");
    assert!(
        err.contains("(at http://127.0.0.1:9): secretsmanager.GetSecretValue: no answer"),
        "{err}"
    );
}

/// `sam local` by hand (README): `hdoc-local --engines` serves a stand-in
/// Secrets Manager after its DynamoDB and S3, and a function given
/// local/sam-env-vars.json (every variable of which the template declares,
/// since SAM drops the others) reads its cursor key from it at Init, signed
/// with the keys the README exports.
#[tokio::test]
async fn sam_env_vars_give_a_function_its_secrets_from_hdoc_local() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../local/sam-env-vars.json");
    let file: Value =
        serde_json::from_slice(&std::fs::read(file).expect("the file")).expect("JSON");
    let parameters = file["Parameters"].as_object().expect("Parameters");
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
            .expect("template.yaml");
    for name in parameters.keys() {
        assert!(
            template.contains(&format!("\n        {name}: "))
                || template.contains(&format!("\n          {name}: ")),
            "template.yaml declares no variable {name}: SAM would drop it"
        );
    }

    // Three ports in a row on loopback (Docker's bridge in the README).
    let base = loop {
        let first = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let port = first.local_addr().expect("address").port();
        let free = |port: u16| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
        if port < 65000 && free(port + 1) && free(port + 2) {
            drop(first);
            break port;
        }
    };
    let config = Config::from_lookup(|key| match key {
        "HDOC_TABLE" => Some(format!("hdoc-test-{}", uuid::Uuid::new_v4().simple())),
        _ => None,
    });
    let cursor_key = config.cursor_secret.clone();
    let running = hdoc_local::start(hdoc_local::Options {
        addr: "127.0.0.1:0".parse().expect("address"),
        data_dir: None,
        dynamodb_endpoint: None,
        engines: Some(format!("127.0.0.1:{base}").parse().expect("address")),
        config,
        jwt_secret: "test-secret".to_owned(),
    })
    .await
    .expect("hdoc-local starts");
    let secrets = running.secrets_endpoint.clone().expect("a Secrets Manager");
    assert_eq!(secrets, format!("http://127.0.0.1:{}", base + 2));

    // What SAM gives the container: the file's values, the bridge's address
    // being loopback here, and the keys the README exports.
    let bridge = format!("http://127.0.0.1:{base}");
    let value = |key: &str| {
        parameters.get(key).and_then(Value::as_str).map(|v| {
            v.replace("http://172.17.0.1:8000", &bridge)
                .replace("172.17.0.1:8002", &format!("127.0.0.1:{}", base + 2))
        })
    };
    let mut keys = Config::from_lookup(|_| None);
    keys.static_credentials = Some(StaticCredentials {
        access_key: "hdoc-local".into(),
        secret_key: "hdoc-local-secret".into(),
        region: "us-east-1".into(),
    });
    let sdk = hdoc_shared::http::sdk_config(&keys).await;
    let read = Config::for_lambda_from(|key| value(key), &sdk, Cursors::Signed)
        .await
        .expect("Init reads its secrets from hdoc-local's stand-in");
    assert_eq!(
        read.cursor_secret, cursor_key,
        "hdoc-local's own cursor key"
    );
    running.shutdown().await;
}
