//! Every HTTP answer an end-to-end test receives is checked against the API document the server
//! serves (`/api/v1/openapi.json`): its path and method are documented, its status is one of the
//! operation's responses, its media type is one that response lists, and a JSON body validates
//! against that response's schema (JSON Schema 2020-12, as OpenAPI 3.1 uses). A server and a
//! document that drift apart fail the test that saw the answer.
//!
//! `LUOT_OPENAPI_LOG=FILE` appends each disagreement to FILE instead of failing (to survey a
//! change to the document).

use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The document the server serves, asked of the server's code in-process.
fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(luot_server::rest::openapi_document)
}

type Validators = Mutex<HashMap<String, Arc<jsonschema::Validator>>>;

fn validators() -> &'static Validators {
    static V: OnceLock<Validators> = OnceLock::new();
    V.get_or_init(Default::default)
}

/// The document's path template that `path` (without its query) matches; literal segments
/// beat parameters (`/admin/clips/chime` before `/admin/clips/{lang}`).
fn template(path: &str) -> Option<&'static str> {
    let segs: Vec<&str> = path.split('/').collect();
    document()["paths"]
        .as_object()?
        .keys()
        .filter_map(|t| {
            let ts: Vec<&str> = t.split('/').collect();
            if ts.len() != segs.len() {
                return None;
            }
            let mut literal = 0;
            for (a, b) in ts.iter().zip(&segs) {
                if a.starts_with('{') && a.ends_with('}') {
                    if b.is_empty() {
                        return None;
                    }
                } else if a == b {
                    literal += 1;
                } else {
                    return None;
                }
            }
            Some((literal, t.as_str()))
        })
        .max_by_key(|(l, _)| *l)
        .map(|(_, t)| t)
}

/// Follows a local `$ref` (`#/components/responses/X`).
fn resolve(v: &'static Value) -> &'static Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.strip_prefix('#').unwrap_or(r);
            resolve(document().pointer(pointer).unwrap_or(&Value::Null))
        }
        None => v,
    }
}

fn validator(key: &str, schema: &Value) -> Result<Arc<jsonschema::Validator>, String> {
    if let Some(v) = validators().lock().unwrap().get(key) {
        return Ok(v.clone());
    }
    // The schema with the document's components beside it, so its `$ref`s resolve.
    let mut root = match schema {
        Value::Object(o) => Value::Object(o.clone()),
        other => json!({ "allOf": [other] }),
    };
    root["components"] = document()["components"].clone();
    let v = Arc::new(
        jsonschema::draft202012::new(&root).map_err(|e| format!("{key}: bad schema: {e}"))?,
    );
    validators()
        .lock()
        .unwrap()
        .insert(key.to_string(), v.clone());
    Ok(v)
}

/// Checks one answer; `Err` says what disagrees.
pub fn check(
    method: &str,
    path_and_query: &str,
    status: u16,
    content_type: Option<&str>,
    body: &str,
) -> Result<(), String> {
    let path = path_and_query.split('?').next().unwrap_or("");
    let what = format!("{method} {path} → {status}");
    let Some(t) = template(path) else {
        // Not a route of the API (pages, assets, unknown paths answered 404).
        if path.starts_with("/api/") && status != 404 {
            return Err(format!("{what}: the path is not in the document"));
        }
        return Ok(());
    };
    let Some(op) = document()["paths"][t].get(method.to_lowercase()) else {
        if status == 405 {
            return Ok(());
        }
        return Err(format!("{what}: {t} has no {method} in the document"));
    };
    let responses = &op["responses"];
    let code = status.to_string();
    let class = format!("{}XX", status / 100);
    let Some(response) = responses
        .get(&code)
        .or_else(|| responses.get(&class))
        .or_else(|| responses.get("default"))
        .map(resolve)
    else {
        return Err(format!(
            "{what}: status {status} is not among {t}'s documented responses {:?}",
            responses.as_object().map(|o| o.keys().collect::<Vec<_>>())
        ));
    };
    let media = content_type
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        if body.is_empty() {
            return Ok(());
        }
        return Err(format!(
            "{what}: the document lists no body, the server sent {media:?}"
        ));
    };
    let Some(entry) = content.get(&media) else {
        return Err(format!(
            "{what}: media type {media:?} is not among {:?}",
            content.keys().collect::<Vec<_>>()
        ));
    };
    if media != "application/json" {
        return Ok(());
    }
    let Some(schema) = entry.get("schema") else {
        return Ok(());
    };
    let instance: Value =
        serde_json::from_str(body).map_err(|e| format!("{what}: body is not JSON: {e}"))?;
    let key = format!("{t} {method} {code} {media}");
    let v = validator(&key, schema)?;
    let errors: Vec<String> = v
        .iter_errors(&instance)
        .take(5)
        .map(|e| format!("at {}: {e}", e.instance_path))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        let mut shown = body.to_string();
        if shown.len() > 600 {
            let mut cut = 600;
            while !shown.is_char_boundary(cut) {
                cut -= 1;
            }
            shown.truncate(cut);
            shown.push('…');
        }
        Err(format!(
            "{what}: the body does not match {t}'s schema:\n  {}\nbody: {shown}",
            errors.join("\n  ")
        ))
    }
}

/// Fails the test on a disagreement, or logs it when `LUOT_OPENAPI_LOG` is set.
pub fn enforce(method: &str, path: &str, status: u16, content_type: Option<&str>, body: &str) {
    if let Err(e) = check(method, path, status, content_type, body) {
        match std::env::var_os("LUOT_OPENAPI_LOG") {
            Some(file) => {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(file)
                    .expect("LUOT_OPENAPI_LOG is writable");
                let _ = writeln!(f, "{e}");
            }
            None => panic!("the answer disagrees with /api/v1/openapi.json: {e}"),
        }
    }
}
