//! The functions `template.yaml` deploys, with the environment Lambda would
//! give each: the template's `Globals` and the function's own variables, its
//! intrinsic functions resolved for the `dev` stage, and the variables Lambda
//! itself sets.

use serde_yaml::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// The stage the benchmark deploys, as far as names go.
pub const STAGE: &str = "dev";
/// The table the functions are given (`hdoc-backend-<stage>`).
pub const TABLE: &str = "hdoc-backend-dev";
/// The account in every ARN and bucket name.
pub const ACCOUNT: &str = "123456789012";
/// The region the functions run in.
pub const REGION: &str = "us-east-1";
/// The photo bucket (`hdoc-backend-<stage>-media-<account>`).
pub const BUCKET: &str = "hdoc-backend-dev-media-123456789012";
/// What `MediaCdn.DomainName` resolves to.
pub const CDN_DOMAIN: &str = "d111111abcdef8.cloudfront.net";
/// Stands for the cursor secret CloudFormation resolves from Secrets Manager.
pub const CURSOR_SECRET: &str = "hdoc-bench-cursor-secret-0123456789abcdef0123456789abcdef012345";

/// One `AWS::Serverless::Function` of the template.
#[derive(Clone, Debug)]
pub struct Function {
    /// Its logical id in the template (`sam local invoke <id>`).
    pub logical_id: String,
    /// The cargo binary its bootstrap is (`BuildProperties.Binary`).
    pub binary: String,
    /// `FunctionName`, resolved.
    pub name: String,
    pub memory_mb: u64,
    pub timeout_s: u64,
    /// The environment variables the template gives it, resolved.
    pub environment: BTreeMap<String, String>,
}

/// Reads every function of the template at `path`.
pub fn functions(path: &Path) -> Result<Vec<Function>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: Value = serde_yaml::from_str(&text).map_err(|e| format!("template.yaml: {e}"))?;
    let mappings = &doc["Mappings"];
    let globals = &doc["Globals"]["Function"];
    let resources = doc["Resources"]
        .as_mapping()
        .ok_or("template.yaml has no Resources")?;
    let mut out = Vec::new();
    for (id, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let logical_id = id
            .as_str()
            .ok_or("a resource id is not a string")?
            .to_owned();
        let props = &resource["Properties"];
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .ok_or(format!("{logical_id}: no Metadata.BuildProperties.Binary"))?
            .to_owned();
        let mut environment = BTreeMap::new();
        for vars in [
            &globals["Environment"]["Variables"],
            &props["Environment"]["Variables"],
        ] {
            if let Some(vars) = vars.as_mapping() {
                for (key, value) in vars {
                    let key = key.as_str().ok_or("an environment key is not a string")?;
                    let value = optional(value, mappings)
                        .map_err(|e| format!("{logical_id}.{key}: {e}"))?;
                    if let Some(value) = value {
                        environment.insert(key.to_owned(), value);
                    }
                }
            }
        }
        let number = |key: &str| props[key].as_u64().or_else(|| globals[key].as_u64());
        out.push(Function {
            name: resolve(&props["FunctionName"], mappings)
                .map_err(|e| format!("{logical_id}.FunctionName: {e}"))?,
            memory_mb: number("MemorySize").ok_or(format!("{logical_id}: no MemorySize"))?,
            timeout_s: number("Timeout").ok_or(format!("{logical_id}: no Timeout"))?,
            binary,
            environment,
            logical_id,
        });
    }
    if out.is_empty() {
        return Err("template.yaml declares no function".into());
    }
    Ok(out)
}

/// A reference (`!Ref X`, `${X}`) resolved as CloudFormation would for the bench's stack.
fn reference(name: &str) -> Result<String, String> {
    Ok(match name {
        "Stage" => STAGE.into(),
        "Table" => TABLE.into(),
        "MediaBucket" => BUCKET.into(),
        "MediaCdn.DomainName" => CDN_DOMAIN.into(),
        "AWS::Region" => REGION.into(),
        "AWS::AccountId" => ACCOUNT.into(),
        "AWS::Partition" => "aws".into(),
        "CursorSecret" => "hdoc-backend-dev-cursor-secret".into(),
        // Parameters, at their defaults.
        "LinkBasePath" => String::new(),
        "CacheSeconds" => "60".into(),
        other => {
            return Err(format!(
                "no value for the reference {other} (add it to bench/src/template.rs)"
            ));
        }
    })
}

/// Whether a condition of the template holds for the bench's stack: stage
/// `dev`, no optional parameter given.
fn condition(name: &str) -> Result<bool, String> {
    match name {
        "IsProd" | "HasAlarmEmail" | "HasGitHubToken" | "HasWebhookSecret" => Ok(false),
        other => Err(format!(
            "no value for the condition {other} (add it to bench/src/template.rs)"
        )),
    }
}

/// A value that may be absent: `!If [Condition, then, else]` as the bench's
/// stack has it, and `!Ref AWS::NoValue` (no value at all); anything else
/// is [`resolve`]d.
fn optional(value: &Value, mappings: &Value) -> Result<Option<String>, String> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "If" => {
            let [name, then, otherwise] = tagged
                .value
                .as_sequence()
                .map(Vec::as_slice)
                .ok_or("!If of a non-list")?
            else {
                return Err("!If takes a condition and two values".into());
            };
            let holds = condition(name.as_str().ok_or("!If's condition is not a name")?)?;
            optional(if holds { then } else { otherwise }, mappings)
        }
        Value::Tagged(tagged)
            if tagged.tag == "Ref" && tagged.value.as_str() == Some("AWS::NoValue") =>
        {
            Ok(None)
        }
        other => resolve(other, mappings).map(Some),
    }
}

/// Resolves the intrinsic functions the template uses in environments and
/// names. Anything else fails loudly, so a template change is noticed here.
fn resolve(value: &Value, mappings: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Tagged(tagged) => {
            let arg = &tagged.value;
            match tagged.tag.to_string().as_str() {
                "!Ref" => reference(arg.as_str().ok_or("!Ref of a non-string")?),
                "!Sub" => substitute(arg.as_str().ok_or("!Sub of a non-string")?),
                "!Join" => {
                    let sep = arg[0].as_str().ok_or("!Join without a separator")?;
                    let parts = list(&arg[1], mappings)?;
                    Ok(parts.join(sep))
                }
                // A single value of a stage's mapping (its write limits).
                "!FindInMap" => Ok(list(value, mappings)?.join(",")),
                other => Err(format!("the intrinsic {other} is not resolved here")),
            }
        }
        other => Err(format!("cannot resolve {other:?}")),
    }
}

/// A list value: a YAML sequence or `!FindInMap` of one.
fn list(value: &Value, mappings: &Value) -> Result<Vec<String>, String> {
    match value {
        Value::Sequence(items) => items.iter().map(|v| resolve(v, mappings)).collect(),
        Value::Tagged(tagged) if tagged.tag == "FindInMap" => {
            let path: Vec<String> = tagged
                .value
                .as_sequence()
                .ok_or("!FindInMap of a non-list")?
                .iter()
                .map(|v| resolve(v, mappings))
                .collect::<Result<_, _>>()?;
            let [map, key, field] = path.as_slice() else {
                return Err("!FindInMap takes three names".into());
            };
            list(
                &mappings[map.as_str()][key.as_str()][field.as_str()],
                mappings,
            )
        }
        other => Ok(vec![resolve(other, mappings)?]),
    }
}

/// `!Sub`: `${Name}` references, and the Secrets Manager dynamic reference
/// CloudFormation resolves at deploy time (the cursor secret).
fn substitute(text: &str) -> Result<String, String> {
    if text.starts_with("{{resolve:secretsmanager:") {
        return Ok(CURSOR_SECRET.into());
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').ok_or("an unclosed ${ in !Sub")? + start;
        out.push_str(&reference(&rest[start + 2..end])?);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_of_the_template_resolves() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
        let functions = functions(&path).expect("template resolves");
        let users = functions
            .iter()
            .find(|f| f.binary == "users")
            .expect("users");
        assert_eq!(users.name, "hdoc-backend-dev-users");
        assert_eq!(users.environment["HDOC_TABLE"], TABLE);
        assert_eq!(users.environment["HDOC_STAGE"], "dev");
        assert_eq!(users.environment["HDOC_CORS_ORIGINS"], "*");
        assert_eq!(
            users.environment["HDOC_WRITE_LIMITS"],
            "create=30,photo=60,update=120,delete=30,rating=120"
        );
        assert_eq!(users.environment["HDOC_CURSOR_SECRET"], CURSOR_SECRET);
        let reviews = functions
            .iter()
            .find(|f| f.binary == "reviews")
            .expect("reviews");
        assert_eq!(reviews.environment["HDOC_BUCKET"], BUCKET);
        assert_eq!(
            reviews.environment["HDOC_MEDIA_BASE_URL"],
            format!("https://{CDN_DOMAIN}")
        );
        // No GitHubTokenSecret given: no token variable at all.
        let activity = functions
            .iter()
            .find(|f| f.binary == "activity")
            .expect("activity");
        assert!(!activity.environment.contains_key("HDOC_GITHUB_TOKEN"));
        assert_eq!(activity.timeout_s, 900);
    }
}
