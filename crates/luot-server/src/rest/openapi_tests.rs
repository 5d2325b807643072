//! `openapi.json` must parse, and list exactly the routes `router()` defines, with the same
//! methods: a route added, removed or renamed without the document fails here.

use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

const SOURCE: &str = include_str!("mod.rs");
const METHODS: [&str; 7] = ["get", "post", "put", "delete", "patch", "head", "options"];

type Routes = BTreeSet<(String, String)>;

/// The text of `router()`, read from `rest/mod.rs`.
fn router_source() -> &'static str {
    let start = SOURCE.find("pub fn router(").expect("fn router");
    let code = SOURCE;
    let body = &code[start..];
    &body[..body.find("\n}\n").expect("end of fn router")]
}

/// Where the expression starting at `s` ends: at `stop` outside brackets, or where a bracket
/// opened before `s` closes. String literals are skipped.
fn scan(s: &str, stop: char) -> usize {
    let mut depth = 0i32;
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                let mut escaped = false;
                for (_, c) in chars.by_ref() {
                    match (escaped, c) {
                        (true, _) => escaped = false,
                        (false, '\\') => escaped = true,
                        (false, '"') => break,
                        _ => {}
                    }
                }
            }
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => {
                depth -= 1;
                if depth < 0 {
                    return i;
                }
            }
            c if c == stop && depth == 0 => return i,
            _ => {}
        }
    }
    s.len()
}

/// The string literal at the start of `s` (after blanks), and what follows it.
fn literal(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    assert!(
        s.starts_with('"'),
        "expected a string literal at {:?}",
        &s[..s.len().min(40)]
    );
    let end = s[1..].find('"').expect("closing quote") + 1;
    (&s[1..end], &s[end + 1..])
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `let <name> = Router::new()…;` statements of `src`: name → text, and `src` without them.
fn named_routers(src: &str) -> (HashMap<&str, &str>, String) {
    let mut named = HashMap::new();
    let mut rest = src.to_string();
    for (at, _) in src.match_indices("let ") {
        let after = &src[at + 4..];
        let name_len = after.find(|c| !is_ident(c)).unwrap_or(after.len());
        let value = after[name_len..].trim_start();
        let Some(value) = value.strip_prefix('=').map(str::trim_start) else {
            continue;
        };
        if !value.starts_with("Router::new()") {
            continue;
        }
        let start = src.len() - value.len();
        let end = start + scan(value, ';');
        named.insert(&after[..name_len], &src[start..end]);
        rest.replace_range(at..end, &" ".repeat(end - at));
    }
    (named, rest)
}

/// (path, method) of the routes a router chain defines, its merged and nested routers'
/// included.
fn chain_routes(chain: &str, named: &HashMap<&str, &str>, depth: u32) -> Routes {
    assert!(depth < 8, "routers nest too deep");
    let routers_in = |expr: &str| -> Vec<&str> {
        expr.split(|c| !is_ident(c))
            .filter_map(|w| named.get(w).copied())
            .collect()
    };
    let mut routes = Routes::new();
    let mut s = chain;
    loop {
        let next = [".route(", ".nest(", ".merge("]
            .into_iter()
            .filter_map(|k| s.find(k).map(|i| (i, k)))
            .min();
        let Some((i, call)) = next else { break };
        let args = &s[i + call.len()..];
        let end = scan(args, '\0');
        match call {
            ".route(" => {
                let (path, handlers) = literal(&args[..end]);
                let mut found = false;
                for m in METHODS {
                    for (j, _) in handlers.match_indices(&format!("{m}(")) {
                        if !handlers[..j].chars().next_back().is_some_and(is_ident) {
                            routes.insert((path.to_string(), m.to_string()));
                            found = true;
                        }
                    }
                }
                assert!(found, "no method for route {path}: {handlers}");
            }
            ".nest(" => {
                let (prefix, expr) = literal(&args[..end]);
                for r in routers_in(expr) {
                    for (path, m) in chain_routes(r, named, depth + 1) {
                        routes.insert((format!("{prefix}{path}"), m));
                    }
                }
            }
            _ => {
                for r in routers_in(&args[..end]) {
                    routes.extend(chain_routes(r, named, depth + 1));
                }
            }
        }
        s = &args[end..];
    }
    routes
}

/// Axum's `{param}` and `{*rest}` (and the older `:param`) as OpenAPI's `{param}`.
fn openapi_path(axum: &str) -> String {
    axum.split('/')
        .map(|seg| match seg.strip_prefix(':') {
            Some(p) => format!("{{{p}}}"),
            None => seg.replace("{*", "{"),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// (path, method) of every route of `router()`.
fn router_routes() -> Routes {
    let (named, outer) = named_routers(router_source());
    let routes: Routes = chain_routes(&outer, &named, 0)
        .into_iter()
        .map(|(p, m)| (openapi_path(&p), m))
        .collect();
    assert!(routes.len() > 20, "found only {routes:?}");
    routes
}

fn document() -> Value {
    super::openapi_document()
}

#[test]
fn openapi_document_parses_as_openapi_3_1() {
    let doc = document();
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
fn openapi_lists_every_route_of_the_router() {
    let doc = document();
    let mut documented = Routes::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                assert!(
                    op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                    "{m} {path} has no responses"
                );
                documented.insert((path.clone(), m.to_string()));
            }
        }
    }
    let routed = router_routes();
    let missing: Vec<_> = routed.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&routed).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "openapi.json is out of date with rest/mod.rs\n  routes not documented: {missing:?}\n  documented but not routed: {stale:?}"
    );
}
