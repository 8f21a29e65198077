//! `GET /docs`: a readable reference page made from the OpenAPI document.
//!
//! One self-contained HTML page (inline CSS, no script, nothing loaded from
//! elsewhere), so it works offline: every operation grouped by tag with its
//! parameters, request body, responses and examples, then every schema with
//! its fields and limits. It reads the YAML itself, so that paths, fields
//! and responses appear in the document's order.

use serde_yaml::Value;
use std::fmt::Write;

const METHODS: [&str; 4] = ["get", "post", "put", "delete"];

const STYLE: &str = "
body{font:15px/1.5 system-ui,sans-serif;margin:0;display:flex;color:#1d2330}
nav{position:sticky;top:0;height:100vh;overflow:auto;width:19rem;flex:none;padding:1rem;background:#f3f5f8;border-right:1px solid #dde2ea;box-sizing:border-box}
nav ul{list-style:none;padding-left:.5rem;margin:.2rem 0 .8rem}nav a{text-decoration:none;color:inherit}
main{padding:1rem 2rem 4rem;max-width:64rem;min-width:0}
h2{border-bottom:2px solid #dde2ea;margin-top:2.5rem}h3{margin:0}
article{border:1px solid #dde2ea;border-radius:6px;padding:1rem;margin:1rem 0}
code,pre{font:13px/1.4 ui-monospace,monospace;background:#f3f5f8;border-radius:3px}
code{padding:0 .2rem;overflow-wrap:anywhere}pre{padding:.6rem;overflow:auto}
table{border-collapse:collapse;width:100%;margin:.4rem 0}td:first-child code{white-space:nowrap}td,th{border-top:1px solid #dde2ea;padding:.3rem .4rem;text-align:left;vertical-align:top}
.m{display:inline-block;min-width:4rem;text-align:center;border-radius:3px;color:#fff;font:bold 13px monospace;padding:.1rem .3rem;margin-right:.4rem}
.get{background:#2f7d4f}.post{background:#2763b8}.put{background:#a86b12}.delete{background:#b8323a}
.badge{font-size:12px;border:1px solid #99a;border-radius:3px;padding:0 .3rem;margin-left:.4rem;color:#445}
.muted{color:#5b6475}
";

/// Escapes text for HTML.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Inline Markdown of the document's prose: `code` and **strong**.
fn inline(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in esc(text).split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            let mut strong = false;
            for (j, piece) in part.split("**").enumerate() {
                if j > 0 {
                    out.push_str(if strong { "</strong>" } else { "<strong>" });
                    strong = !strong;
                }
                out.push_str(piece);
            }
            if strong {
                out.push_str("</strong>");
            }
        }
    }
    out
}

/// The document's Markdown prose: paragraphs, `- ` lists (items may go on
/// over indented lines), `## ` headings.
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let mut list: Vec<String> = Vec::new();
    let flush = |out: &mut String, paragraph: &mut Vec<&str>, list: &mut Vec<String>| {
        if !paragraph.is_empty() {
            let _ = write!(out, "<p>{}</p>", inline(&paragraph.join(" ")));
            paragraph.clear();
        }
        if !list.is_empty() {
            out.push_str("<ul>");
            for item in list.drain(..) {
                let _ = write!(out, "<li>{}</li>", inline(&item));
            }
            out.push_str("</ul>");
        }
    };
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            flush(&mut out, &mut paragraph, &mut list);
            let _ = write!(out, "<h3>{}</h3>", inline(heading));
        } else if let Some(item) = line.strip_prefix("- ") {
            if !paragraph.is_empty() {
                flush(&mut out, &mut paragraph, &mut list);
            }
            list.push(item.to_owned());
        } else if line.trim().is_empty() {
            flush(&mut out, &mut paragraph, &mut list);
        } else if line.starts_with("  ") && !list.is_empty() {
            if let Some(last) = list.last_mut() {
                last.push(' ');
                last.push_str(line.trim());
            }
        } else {
            if !list.is_empty() {
                flush(&mut out, &mut paragraph, &mut list);
            }
            paragraph.push(line.trim());
        }
    }
    flush(&mut out, &mut paragraph, &mut list);
    out
}

fn anchor(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// The entries of a mapping (none for anything else), in the document's order.
fn entries(value: &Value) -> impl Iterator<Item = (&str, &Value)> {
    value
        .as_mapping()
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| Some((key.as_str()?, value)))
}

/// The items of a sequence (none for anything else).
fn items(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_sequence().into_iter().flatten()
}

/// A string field, or `""`.
fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// A value as JSON, for limits and examples.
fn json(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The name a `$ref` points at (`#/components/schemas/User` is `User`).
fn ref_name(value: &Value) -> Option<&str> {
    value.get("$ref")?.as_str()?.rsplit('/').next()
}

/// Follows a `$ref` to a component (parameters, responses, headers).
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    let Some(target) = value.get("$ref").and_then(Value::as_str) else {
        return value;
    };
    let mut found = doc;
    for segment in target.trim_start_matches("#/").split('/') {
        match found.get(segment.replace("~1", "/").replace("~0", "~")) {
            Some(next) => found = next,
            None => return value,
        }
    }
    resolve(doc, found)
}

/// A schema in a few words: its type (linked when it is a component) and limits.
fn describe(schema: &Value) -> String {
    if let Some(name) = ref_name(schema) {
        let mut out = format!("<a href=\"#schema-{}\">{}</a>", anchor(name), esc(name));
        let limits = limits(schema);
        if !limits.is_empty() {
            let _ = write!(out, " {limits}");
        }
        return out;
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_sequence() {
            let parts: Vec<String> = options.iter().map(describe).collect();
            return parts.join(" or ");
        }
    }
    if let Some(parts) = schema["allOf"].as_sequence() {
        let parts: Vec<String> = parts.iter().map(describe).collect();
        return parts.join(", ");
    }
    let kind = match &schema["type"] {
        Value::String(kind) => kind.clone(),
        Value::Sequence(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ if schema.get("const").is_some() => String::new(),
        _ if schema.get("properties").is_some() => "object".to_owned(),
        _ => "any".to_owned(),
    };
    let mut out = esc(&kind);
    if kind == "array" {
        let _ = write!(out, " of {}", describe(&schema["items"]));
    }
    let limits = limits(schema);
    if !limits.is_empty() {
        let _ = write!(out, " {limits}");
    }
    out
}

/// The limits a schema sets, in words.
fn limits(schema: &Value) -> String {
    let mut parts = Vec::new();
    let range =
        |min: &str, max: &str, unit: &str| match (schema[min].as_u64(), schema[max].as_u64()) {
            (Some(a), Some(b)) => Some(format!("{a}–{b}{unit}")),
            (Some(1), None) => Some(format!("at least 1{}", unit.trim_end_matches('s'))),
            (Some(a), None) => Some(format!("at least {a}{unit}")),
            (None, Some(b)) => Some(format!("at most {b}{unit}")),
            (None, None) => None,
        };
    parts.extend(range("minLength", "maxLength", " characters"));
    parts.extend(range("minItems", "maxItems", " items"));
    match (&schema["minimum"], &schema["maximum"]) {
        (Value::Null, Value::Null) => {}
        (min, Value::Null) => parts.push(format!("≥ {}", json(min))),
        (Value::Null, max) => parts.push(format!("≤ {}", json(max))),
        (min, max) => parts.push(format!("{} to {}", json(min), json(max))),
    }
    if let Some(values) = schema["enum"].as_sequence() {
        let values: Vec<String> = values
            .iter()
            .map(|v| format!("<code>{}</code>", esc(&json(v))))
            .collect();
        parts.push(format!("one of {}", values.join(", ")));
    }
    if let Some(value) = schema.get("const") {
        parts.push(format!("always <code>{}</code>", esc(&json(value))));
    }
    if let Some(format) = schema["format"].as_str() {
        parts.push(format!("format {}", esc(format)));
    }
    if let Some(pattern) = schema["pattern"].as_str() {
        parts.push(format!("matching <code>{}</code>", esc(pattern)));
    }
    if let Some(default) = schema.get("default") {
        parts.push(format!("default <code>{}</code>", esc(&json(default))));
    }
    if schema["uniqueItems"].as_bool() == Some(true) {
        parts.push("no duplicates".to_owned());
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("<span class=muted>({})</span>", parts.join("; "))
    }
}

fn example_block(out: &mut String, title: &str, value: &Value) {
    let json = serde_json::to_string_pretty(value).unwrap_or_default();
    let title = if title.is_empty() {
        String::new()
    } else {
        format!(": {}", esc(title))
    };
    let _ = write!(
        out,
        "<details><summary>Example{title}</summary><pre>{}</pre></details>",
        esc(&json)
    );
}

fn example_blocks(media: &Value) -> String {
    let mut out = String::new();
    if let Some(example) = media.get("example") {
        example_block(&mut out, "", example);
    }
    for (name, example) in entries(&media["examples"]) {
        let title = example["summary"].as_str().unwrap_or(name);
        if let Some(value) = example.get("value") {
            example_block(&mut out, title, value);
        } else if let Some(name) = ref_name(example) {
            let _ = write!(
                out,
                "<p class=muted>Example: <a href=\"#example-{}\">{}</a></p>",
                anchor(name),
                esc(name)
            );
        }
    }
    out
}

fn operation(doc: &Value, path: &str, method: &str, op: &Value, shared: &Value) -> String {
    let id = text(&op["operationId"]);
    let mut out = format!(
        "<article id=\"op-{}\"><h3><span class=\"m {method}\">{}</span><code>{}</code>",
        anchor(id),
        method.to_uppercase(),
        esc(path)
    );
    if op.get("security").is_some() {
        out.push_str("<span class=badge>bearer token</span>");
    }
    if op["x-hdoc-local-only"].as_bool() == Some(true) {
        out.push_str("<span class=badge>hdoc-local only</span>");
    }
    let _ = write!(
        out,
        "</h3><p><strong>{}</strong> <span class=muted>({})</span></p>",
        inline(text(&op["summary"])),
        esc(id)
    );
    out.push_str(&prose(text(&op["description"])));

    let parameters: Vec<&Value> = items(shared)
        .chain(items(&op["parameters"]))
        .map(|p| resolve(doc, p))
        .collect();
    if !parameters.is_empty() {
        out.push_str("<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>schema</th><th>description</th></tr>");
        for p in parameters {
            let _ = write!(
                out,
                "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(text(&p["name"])),
                if p["required"].as_bool() == Some(true) {
                    " *"
                } else {
                    ""
                },
                esc(text(&p["in"])),
                describe(&p["schema"]),
                inline(text(&p["description"]))
            );
        }
        out.push_str("</table>");
    }
    if let Some(body) = op.get("requestBody") {
        out.push_str("<h4>Request body</h4>");
        for (media_type, media) in entries(&body["content"]) {
            let _ = write!(
                out,
                "<p><code>{}</code>: {}</p>{}",
                esc(media_type),
                describe(&media["schema"]),
                example_blocks(media)
            );
        }
    }
    out.push_str("<h4>Responses</h4><table><tr><th>status</th><th>description</th><th>body and headers</th></tr>");
    for (status, response) in entries(&op["responses"]) {
        let response = resolve(doc, response);
        let mut what = Vec::new();
        for (media_type, media) in entries(&response["content"]) {
            what.push(format!(
                "<code>{}</code>: {}{}",
                esc(media_type),
                describe(&media["schema"]),
                example_blocks(media)
            ));
        }
        for (name, header) in entries(&response["headers"]) {
            let header = resolve(doc, header);
            what.push(format!(
                "header <code>{}</code>{}: {}",
                esc(name),
                if header["required"].as_bool() == Some(true) {
                    " (always)"
                } else {
                    ""
                },
                inline(text(&header["description"]))
            ));
        }
        for (name, link) in entries(&response["links"]) {
            let target = text(&link["operationId"]);
            what.push(format!(
                "then <a href=\"#op-{}\">{}</a> ({})",
                anchor(target),
                esc(target),
                esc(name)
            ));
        }
        let _ = write!(
            out,
            "<tr><td><strong>{}</strong></td><td>{}</td><td>{}</td></tr>",
            esc(status),
            prose(text(&response["description"])),
            what.join("<br>")
        );
    }
    out.push_str("</table></article>");
    out
}

fn schema_section(name: &str, schema: &Value) -> String {
    let mut out = format!(
        "<article id=\"schema-{}\"><h3>{}</h3>{}<p>{}</p>",
        anchor(name),
        esc(name),
        prose(text(&schema["description"])),
        describe(schema)
    );
    let required: Vec<&str> = items(&schema["required"])
        .filter_map(Value::as_str)
        .collect();
    if schema["properties"].is_mapping() {
        out.push_str("<table><tr><th>field</th><th>schema</th><th>description</th></tr>");
        for (field, property) in entries(&schema["properties"]) {
            let _ = write!(
                out,
                "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td></tr>",
                esc(field),
                if required.contains(&field) { " *" } else { "" },
                describe(property),
                inline(text(&property["description"]))
            );
        }
        out.push_str("</table>");
        if schema["additionalProperties"].as_bool() == Some(false) {
            out.push_str("<p class=muted>No other fields. * required.</p>");
        }
    }
    out.push_str("</article>");
    out
}

/// The reference page of `doc`, an OpenAPI 3.1 document.
pub fn page(doc: &Value) -> String {
    let info = &doc["info"];
    let title = info["title"].as_str().unwrap_or("API");
    let version = text(&info["version"]);
    let mut nav = String::new();
    let mut main = format!(
        "<h1>{} <span class=muted>{}</span></h1><p>{}</p>{}",
        esc(title),
        esc(version),
        inline(text(&info["summary"])),
        prose(text(&info["description"]))
    );
    main.push_str("<h3>Servers</h3><ul>");
    for server in items(&doc["servers"]) {
        let _ = write!(
            main,
            "<li><code>{}</code>: {}</li>",
            esc(text(&server["url"])),
            inline(text(&server["description"]))
        );
    }
    main.push_str("</ul>");

    for tag in items(&doc["tags"]) {
        let name = text(&tag["name"]);
        let _ = write!(
            nav,
            "<a href=\"#tag-{}\"><strong>{}</strong></a><ul>",
            anchor(name),
            esc(name)
        );
        let _ = write!(
            main,
            "<h2 id=\"tag-{}\">{}</h2>{}",
            anchor(name),
            esc(name),
            prose(text(&tag["description"]))
        );
        for (path, item) in entries(&doc["paths"]) {
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let tagged = op["tags"]
                    .as_sequence()
                    .is_some_and(|tags| tags.iter().any(|t| t.as_str() == Some(name)));
                if !tagged {
                    continue;
                }
                let _ = write!(
                    nav,
                    "<li><a href=\"#op-{}\"><span class=\"m {method}\">{}</span>{}</a></li>",
                    anchor(text(&op["operationId"])),
                    method.to_uppercase(),
                    esc(path)
                );
                main.push_str(&operation(doc, path, method, op, &item["parameters"]));
            }
        }
        nav.push_str("</ul>");
    }

    nav.push_str("<a href=\"#schemas\"><strong>Schemas</strong></a><ul>");
    main.push_str("<h2 id=\"schemas\">Schemas</h2>");
    for (name, schema) in entries(&doc["components"]["schemas"]) {
        let _ = write!(
            nav,
            "<li><a href=\"#schema-{}\">{}</a></li>",
            anchor(name),
            esc(name)
        );
        main.push_str(&schema_section(name, schema));
    }
    nav.push_str("</ul>");
    main.push_str("<h2 id=\"examples\">Examples</h2>");
    for (name, example) in entries(&doc["components"]["examples"]) {
        let json = serde_json::to_string_pretty(&example["value"]).unwrap_or_default();
        let _ = write!(
            main,
            "<article id=\"example-{}\"><h3>{}</h3><p>{}</p><pre>{}</pre></article>",
            anchor(name),
            esc(name),
            inline(text(&example["summary"])),
            esc(&json)
        );
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} {}</title><style>{STYLE}</style></head>\
         <body><nav>{nav}</nav><main>{main}<p class=muted>Made from \
         <a href=\"/openapi.json\">/openapi.json</a>.</p></main></body></html>",
        esc(title),
        esc(version)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).expect("YAML")
    }

    #[test]
    fn prose_escapes_and_formats() {
        assert_eq!(
            prose("## Rules\n- a `<b>` **c**\n  goes on\n- y\n\nAfter."),
            "<h3>Rules</h3><ul><li>a <code>&lt;b&gt;</code> <strong>c</strong> goes on</li>\
             <li>y</li></ul><p>After.</p>"
        );
    }

    #[test]
    fn schemas_are_described_with_their_limits() {
        let schema = yaml("{type: string, minLength: 1, maxLength: 39}");
        assert_eq!(
            describe(&schema),
            "string <span class=muted>(1–39 characters)</span>"
        );
        let nullable = yaml("oneOf: [{$ref: '#/components/schemas/Bio'}, {type: 'null'}]");
        assert_eq!(
            describe(&nullable),
            "<a href=\"#schema-Bio\">Bio</a> or null"
        );
    }

    #[test]
    fn fields_keep_the_documents_order() {
        let doc = yaml(
            "components: {schemas: {B: {properties: {zeta: {type: string}, alpha: {type: string}}}}}",
        );
        let page = page(&doc);
        let (zeta, alpha) = (page.find("zeta"), page.find("alpha"));
        assert!(zeta.is_some() && zeta < alpha, "{page}");
    }
}
