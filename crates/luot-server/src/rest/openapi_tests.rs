//! The API document is generated from the code: the route tree (`routes()`: every route is
//! added with `utoipa_axum::routes!`, from its handler's `#[utoipa::path]`), the types' `ToSchema`
//! and `doc::ApiDoc`. These tests check that what is generated is a whole document: every
//! operation says its parameters, answers and security, and every `$ref` resolves. That each
//! answer really matches is the e2e suite's job (`tests/openapi_check.rs`).

use serde_json::Value;

const SOURCE: &str = include_str!("mod.rs");
const METHODS: [&str; 7] = ["get", "post", "put", "delete", "patch", "head", "options"];

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                out.push((path.clone(), m.to_string(), op.clone()));
            }
        }
    }
    out
}

/// Follows a local `$ref`.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => doc
            .pointer(r.strip_prefix('#').expect("local $ref"))
            .unwrap_or_else(|| panic!("dangling $ref {r}")),
        None => v,
    }
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
    assert_eq!(doc["info"]["title"], "Luot API");
    assert!(doc["info"]["version"].is_string());
    assert!(doc["paths"].as_object().is_some_and(|p| p.len() > 30));
    for scheme in ["sessionCookie", "deviceToken"] {
        assert!(
            doc["components"]["securitySchemes"][scheme].is_object(),
            "security scheme {scheme}"
        );
    }
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
    assert!(all.len() > 100, "{} references", all.len());
    for r in all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("non-local $ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
    }
}

#[test]
fn every_operation_says_its_parameters_answers_and_security() {
    let doc = super::openapi_document();
    for (path, m, op) in operations(&doc) {
        let what = format!("{m} {path}");
        assert!(op["operationId"].is_string(), "{what} has no operationId");
        assert!(op["security"].is_array(), "{what} has no security");
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|s| s.starts_with('2') || s == "101"),
            "{what} documents no success"
        );
        for (status, r) in responses {
            let r = resolve(&doc, r);
            assert!(
                r["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{what} {status} has no description"
            );
            // A JSON error answer is an ErrorDto (or a refinement of one).
            if status.starts_with('4') || status.starts_with('5') {
                assert!(
                    r["content"].as_object().is_some_and(|c| !c.is_empty()),
                    "{what} {status} has no body"
                );
            }
        }
        // Each `{name}` of the path is a documented path parameter; an `action` lists its
        // values (the authorization matrix of the e2e suite walks them).
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        for name in path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        {
            let p = params
                .iter()
                .find(|p| p["name"] == name && p["in"] == "path")
                .unwrap_or_else(|| panic!("{what}: no path parameter {name}"));
            assert_eq!(p["required"], true, "{what}: {name}");
            if name == "action" {
                assert!(
                    p["schema"]["enum"].as_array().is_some_and(|e| e.len() >= 2),
                    "{what}: the action parameter lists its values inline: {p}"
                );
            }
        }
        if m == "post" || m == "put" {
            let has_body = op["requestBody"]["content"]
                .as_object()
                .is_some_and(|c| !c.is_empty());
            let bodiless =
                path.ends_with("/revoke") || path.ends_with("/resend") || path == "/api/v1/logout";
            assert!(has_body || bodiless, "{what} documents no request body");
        }
    }
}

#[test]
fn the_shared_error_answers_are_error_objects() {
    let doc = super::openapi_document();
    let responses = doc["components"]["responses"]
        .as_object()
        .expect("shared responses");
    for name in [
        "BadRequest",
        "Unauthorized",
        "Forbidden",
        "NotFound",
        "Conflict",
        "TooManyRequests",
        "ServiceUnavailable",
    ] {
        assert_eq!(
            responses[name]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorDto",
            "{name}"
        );
    }
    assert!(responses["TooManyRequests"]["headers"]["Retry-After"].is_object());
    let error = &doc["components"]["schemas"]["ErrorDto"];
    let required: Vec<&str> = error["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(required, ["code", "message", "message_en"]);
}

/// The schemas come from the types the server serializes: their serde names and enums reach
/// the document.
#[test]
fn the_schemas_carry_the_types_serde_names_and_enums() {
    let doc = super::openapi_document();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["User"]["properties"]["role"]["$ref"],
        "#/components/schemas/UserRole"
    );
    assert_eq!(
        schemas["UserRole"]["enum"],
        serde_json::json!(["official", "manager", "admin"])
    );
    assert_eq!(
        schemas["DeviceKind"]["enum"],
        serde_json::json!(["kiosk", "display", "counter_display", "rating"])
    );
    assert_eq!(
        schemas["Health"]["properties"]["status"]["$ref"],
        "#/components/schemas/HealthStatus"
    );
    // A field the server leaves out when empty is not required; one it always sends is.
    let required = |name: &str| -> Vec<String> {
        schemas[name]["required"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let ticket = required("TicketView");
    assert!(ticket.contains(&"number".to_string()), "{ticket:?}");
    assert!(!ticket.contains(&"estimate".to_string()), "{ticket:?}");
    let summary = required("Summary");
    assert!(summary.contains(&"wait_s_mean".to_string()), "{summary:?}");
    // The websocket messages are in the document though no REST operation names them.
    for name in ["ClientMessage", "ServerMessage"] {
        assert!(schemas[name]["oneOf"].is_array(), "{name}");
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
