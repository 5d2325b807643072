//! The API document is generated from the route tree (`routes()`: every route is added with
//! `utoipa_axum::routes!`, from its handler's `#[utoipa::path]`), so its paths, methods,
//! operation ids, tags and security are the router's. These tests check what is still kept by
//! hand beside it, in `openapi_base.json`: every operation there is routed, every routed one has
//! its parameters and responses there, and every `$ref` resolves.

use serde_json::Value;
use std::collections::BTreeSet;

const SOURCE: &str = include_str!("mod.rs");
const BASE: &str = include_str!("../openapi_base.json");
const METHODS: [&str; 7] = ["get", "post", "put", "delete", "patch", "head", "options"];

type Routes = BTreeSet<(String, String)>;

fn operations(doc: &Value) -> Routes {
    let mut out = Routes::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m).is_some() {
                out.insert((path.clone(), m.to_string()));
            }
        }
    }
    out
}

#[test]
fn openapi_document_parses_as_openapi_3_1() {
    let doc = super::openapi_document();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "openapi version: {}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    assert!(doc["paths"].as_object().is_some_and(|p| !p.is_empty()));
    // Every local reference resolves.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("non-local $ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
    }
}

#[test]
fn every_routed_operation_has_its_responses_and_nothing_else_is_kept() {
    let generated = serde_json::to_value(super::routes(None).into_openapi()).unwrap();
    let base: Value = serde_json::from_str(BASE).expect("openapi_base.json is JSON");
    let routed = operations(&generated);
    let kept = operations(&base);
    // Operations whose `#[utoipa::path]` documents its responses need nothing kept by hand.
    let missing: Vec<_> = routed
        .difference(&kept)
        .filter(|(path, m)| {
            generated["paths"][path][m]["responses"]
                .as_object()
                .is_none_or(|r| r.is_empty())
        })
        .collect();
    let stale: Vec<_> = kept.difference(&routed).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "openapi_base.json is out of date with the routes\n  routed without responses: {missing:?}\n  kept but not routed: {stale:?}"
    );
    let doc = super::openapi_document();
    for (path, m) in &routed {
        let op = &doc["paths"][path][m];
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{m} {path} has no responses"
        );
        assert!(
            op["operationId"].is_string(),
            "{m} {path} has no operationId"
        );
        assert!(op["security"].is_array(), "{m} {path} has no security");
    }
}

/// A route added with axum's `.route(…)` would be served but not documented: the tree adds every
/// route through `routes!`.
#[test]
fn the_route_tree_adds_routes_only_with_their_documentation() {
    let start = SOURCE.find("fn routes(").expect("fn routes");
    let body = &SOURCE[start..];
    let body = &body[..body.find("\n}\n").expect("end of fn routes")];
    assert!(
        !body.contains(".route(") && !body.contains(".route_service("),
        "rest/mod.rs: add routes with `.routes(routes!(handler))`, whose #[utoipa::path] documents them"
    );
    assert!(body.matches("routes!(").count() > 20);
}

#[test]
fn a_generated_schema_is_not_also_kept_by_hand() {
    let base: Value = serde_json::from_str(BASE).expect("openapi_base.json is JSON");
    let generated = super::generated_schemas();
    assert!(!generated.is_empty());
    for name in generated.keys() {
        assert!(
            base["components"]["schemas"].get(name).is_none(),
            "openapi_base.json still keeps {name}, which is generated"
        );
    }
}
