//! The authorization matrix: every privileged REST route and websocket command, tried by
//! everyone who must not use it, is refused with the right status and changes nothing.

use luot_tests::{Http, TestServer, Who, WsClient};
use serde_json::{Value, json};

/// Everyone who must be turned away from an official's work at counter 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Nobody,
    Kiosk,
    Display,
    Phone,
    ExpiredSession,
    OtherOfficial,
}

const CALLERS: [Caller; 6] = [
    Caller::Nobody,
    Caller::Kiosk,
    Caller::Display,
    Caller::Phone,
    Caller::ExpiredSession,
    Caller::OtherOfficial,
];

/// What a caller must get: `Some(status)` or `None` where the caller may legitimately do it
/// (a kiosk issues tickets; any official may issue, cancel or return by number).
fn expected(caller: Caller, allowed: &[Caller]) -> Option<u16> {
    if allowed.contains(&caller) {
        return None;
    }
    Some(match caller {
        // No proof of identity: log in first.
        Caller::Nobody | Caller::ExpiredSession => 401,
        // A ticket token is no credential for the API: it is not a device token.
        Caller::Phone => 401,
        Caller::Kiosk | Caller::Display | Caller::OtherOfficial => 403,
    })
}

fn code_for(status: u16) -> &'static str {
    match status {
        401 => "login_required",
        403 => "forbidden",
        _ => unreachable!(),
    }
}

struct World {
    s: TestServer,
    kiosk: String,
    display: String,
    phone: String,
    expired: String,
    other: String,
    own: Http,
    /// The session cookie of counter 1's official (the world's `own` client holds it too).
    own_token: String,
}

/// Counter 1 is open by can-bo-1 with A001 called, A002–A003 waiting; can-bo-2 works at
/// counter 2; a second session of can-bo-1 was logged out.
async fn world() -> World {
    let s = TestServer::start().await;
    let kiosk = s.first.kiosk_token.clone();
    let display = s.first.display_token.clone();
    s.issue(&kiosk, "khai-sinh").await;
    s.issue(&kiosk, "khai-sinh").await;
    let phone = s.issue(&kiosk, "khai-sinh").await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let admin = s.admin().await;
    let o1 = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    let o2 = s.add_official(&admin, "can-bo-2", &["quay-2"]).await;
    let base = format!("/api/v1/sites/{}/counters/quay-1", luot_tests::SITE);
    let r = o1.http.post(&format!("{base}/open"), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = o1.http.post(&format!("{base}/call-next"), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["ticket"]["number"], "A001");

    let (second, expired) = s.login("can-bo-1", luot_tests::PASSWORD).await;
    let r = second.post("/api/v1/logout", &json!({})).await;
    assert_eq!(r.status, 200);
    World {
        kiosk,
        display,
        phone,
        expired,
        other: o2.session.clone(),
        own: o1.http.clone(),
        own_token: o1.session.clone(),
        s,
    }
}

impl World {
    fn http(&self, c: Caller) -> Http {
        let s = &self.s;
        match c {
            Caller::Nobody => s.http(),
            Caller::Kiosk => s.device_http(&self.kiosk),
            Caller::Display => s.device_http(&self.display),
            Caller::Phone => s.device_http(&self.phone),
            Caller::ExpiredSession => s.cookie_http(&self.expired),
            Caller::OtherOfficial => s.cookie_http(&self.other),
        }
    }

    async fn ws(&self, c: Caller) -> WsClient {
        let s = &self.s;
        match c {
            Caller::Nobody => s.ws("counter", Who::Anonymous).await,
            Caller::Kiosk => s.ws("kiosk", Who::Device(&self.kiosk)).await,
            Caller::Display => s.ws("display", Who::Device(&self.display)).await,
            Caller::Phone => s.ws("phone", Who::Ticket(&self.phone)).await,
            Caller::ExpiredSession => s.ws("counter", Who::Session(&self.expired)).await,
            Caller::OtherOfficial => s.ws("counter", Who::Session(&self.other)).await,
        }
    }
}

struct Route {
    method: &'static str,
    path: String,
    body: Value,
    allowed: &'static [Caller],
}

fn routes() -> Vec<Route> {
    let site = format!("/api/v1/sites/{}", luot_tests::SITE);
    let counter = |action: &str, body: Value| Route {
        method: "POST",
        path: format!("{site}/counters/quay-1/{action}"),
        body,
        allowed: &[],
    };
    let mut v = vec![
        Route {
            method: "POST",
            path: format!("{site}/tickets"),
            body: json!({"service": "khai-sinh"}),
            allowed: &[Caller::Kiosk, Caller::OtherOfficial],
        },
        Route {
            method: "POST",
            path: format!("{site}/tickets/A002/cancel"),
            body: json!({}),
            allowed: &[Caller::OtherOfficial],
        },
        Route {
            method: "POST",
            path: format!("{site}/tickets/A002/return"),
            body: json!({}),
            allowed: &[Caller::OtherOfficial],
        },
        counter("call-next", json!({})),
        counter("call", json!({"number": "A002"})),
        counter("recall", json!({})),
        counter("start", json!({})),
        counter("complete", json!({})),
        counter("no-show", json!({})),
        counter(
            "transfer",
            json!({"to": {"kind": "service", "code": "ket-hon"}, "note": "x"}),
        ),
        counter("open", json!({})),
        counter("pause", json!({"reason": "họp"})),
        counter("resume", json!({})),
        counter("close", json!({})),
        counter("dossier", json!({"number": "A001", "dossier": "H26-0001"})),
    ];
    // The generic command endpoint, with commands the other routes do not reach.
    for cmd in [
        json!({"type": "call_next", "counter": "quay-1"}),
        json!({"type": "complete", "counter": "quay-1"}),
        json!({"type": "rate", "number": "A001", "score": 1}),
    ] {
        v.push(Route {
            method: "POST",
            path: format!("{site}/commands"),
            body: cmd,
            allowed: &[],
        });
    }
    for (method, path, body) in [
        ("GET", "/api/v1/admin/users", json!(null)),
        (
            "POST",
            "/api/v1/admin/users",
            json!({"login": "ke-gian", "display_name": "X", "role": "admin", "password": "mat-khau-rat-dai-1"}),
        ),
        ("GET", "/api/v1/admin/devices", json!(null)),
        (
            "POST",
            "/api/v1/admin/devices",
            json!({"kind": "kiosk", "name": "Kiosk lạ"}),
        ),
        ("POST", "/api/v1/admin/devices/1/revoke", json!({})),
        (
            "POST",
            "/api/v1/admin/users/can-bo-1",
            json!({"role": "admin"}),
        ),
        ("POST", "/api/v1/admin/users/can-bo-2/disable", json!({})),
        ("POST", "/api/v1/admin/users/can-bo-1/password", json!({})),
        ("GET", "/api/v1/admin/audit", json!(null)),
    ] {
        v.push(Route {
            method,
            path: path.to_string(),
            body,
            allowed: &[],
        });
    }
    v
}

/// Every websocket command an official uses at counter 1, and who else may send it.
fn ws_commands() -> Vec<(Value, &'static [Caller])> {
    let c = |t: &str| json!({"type": t, "counter": "quay-1"});
    vec![
        (
            json!({"type": "issue", "service": "khai-sinh"}),
            &[Caller::Kiosk, Caller::OtherOfficial][..],
        ),
        (c("call_next"), &[]),
        (
            json!({"type": "call_ticket", "counter": "quay-1", "number": "A002"}),
            &[],
        ),
        (c("recall"), &[]),
        (c("start"), &[]),
        (c("complete"), &[]),
        (c("no_show"), &[]),
        (
            json!({"type": "transfer", "counter": "quay-1", "to": {"kind": "counter", "code": "quay-2"}}),
            &[],
        ),
        (c("open_counter"), &[]),
        (
            json!({"type": "pause_counter", "counter": "quay-1", "reason": "họp"}),
            &[],
        ),
        (c("resume_counter"), &[]),
        (c("close_counter"), &[]),
        (
            json!({"type": "return", "number": "A002"}),
            &[Caller::OtherOfficial][..],
        ),
        (
            json!({"type": "cancel", "number": "A002"}),
            &[Caller::OtherOfficial][..],
        ),
        (json!({"type": "rate", "number": "A001", "score": 1}), &[]),
        (
            json!({"type": "attach_dossier", "counter": "quay-1", "number": "A001", "dossier": "H26-0001"}),
            &[],
        ),
        // The floor page's: managers and admins only.
        (
            json!({"type": "pause_service", "service": "khai-sinh", "reason": "họp"}),
            &[],
        ),
        (
            json!({"type": "resume_service", "service": "khai-sinh"}),
            &[],
        ),
        (
            json!({"type": "raise_daily_cap", "service": "khai-sinh", "cap": 900}),
            &[],
        ),
    ]
}

#[tokio::test]
async fn privileged_rest_routes_refuse_everyone_else_and_change_nothing() {
    let w = world().await;
    let before = w.s.db_state();
    let mut checked = 0;
    for route in routes() {
        for caller in CALLERS {
            let Some(status) = expected(caller, route.allowed) else {
                continue;
            };
            let http = w.http(caller);
            let r = match route.method {
                "GET" => http.get(&route.path).await,
                _ => http.post(&route.path, &route.body).await,
            };
            assert_eq!(
                (r.status, r.code().as_str()),
                (status, code_for(status)),
                "{} {} by {caller:?}: {}",
                route.method,
                route.path,
                r.text
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} cases");
    assert_eq!(
        w.s.db_state(),
        before,
        "a refused request changed the database"
    );

    // The same route works for the official of counter 1: the refusals were about who asked.
    let r = w
        .own
        .post(
            &format!("/api/v1/sites/{}/counters/quay-1/recall", luot_tests::SITE),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let after = w.s.db_state();
    assert_eq!(after.events, before.events + 1);
}

#[tokio::test]
async fn privileged_websocket_commands_refuse_everyone_else_and_change_nothing() {
    let w = world().await;
    let before = w.s.db_state();
    let mut checked = 0;
    for caller in CALLERS {
        let mut ws = w.ws(caller).await;
        let authenticated = !matches!(caller, Caller::Nobody | Caller::ExpiredSession);
        assert_eq!(
            ws.welcome["authenticated"], authenticated,
            "{caller:?}: {}",
            ws.welcome
        );
        for (cmd, allowed) in ws_commands() {
            let Some(status) = expected(caller, allowed) else {
                continue;
            };
            // Over the socket a phone holds a proven ticket token: it is known but not allowed.
            let want = if caller == Caller::Phone {
                "forbidden"
            } else {
                code_for(status)
            };
            let code = ws.refused(cmd.clone()).await;
            assert_eq!(code, want, "{cmd} by {caller:?}");
            checked += 1;
        }
        ws.close().await;
    }
    assert!(checked > 70, "only {checked} cases");
    assert_eq!(
        w.s.db_state(),
        before,
        "a refused command changed the database"
    );

    // The official of counter 1, on her own socket, may.
    let mut own =
        w.s.ws("counter", Who::Session(&w.own_session().await))
            .await;
    own.ok(json!({"type": "recall", "counter": "quay-1"})).await;
    assert_eq!(w.s.db_state().events, before.events + 1);
}

#[tokio::test]
async fn a_websocket_from_a_foreign_origin_is_refused_at_the_upgrade() {
    let w = world().await;
    let before = w.s.db_state();
    let url = w.s.ws_url();
    let own_session = w.own_session().await;
    let evil = "http://evil.example";
    for headers in [
        vec![("origin".to_string(), evil.to_string())],
        vec![
            ("origin".to_string(), evil.to_string()),
            ("cookie".to_string(), format!("luot_session={own_session}")),
        ],
        vec![("origin".to_string(), format!("{}.evil.example", w.s.base))],
    ] {
        match WsClient::connect(&url, &headers).await {
            Err(status) => assert_eq!(status, 403, "{headers:?}"),
            Ok(_) => panic!("upgrade accepted with {headers:?}"),
        }
    }
    // The center's own pages are of course let in.
    let ok = WsClient::connect(&url, &[("origin".to_string(), w.s.base.clone())]).await;
    assert!(ok.is_ok(), "same-origin upgrade refused");
    assert_eq!(w.s.db_state(), before);
}

impl World {
    /// A fresh session of counter 1's official (the world's own client keeps its cookie).
    async fn own_session(&self) -> String {
        self.s.login("can-bo-1", luot_tests::PASSWORD).await.1
    }
}

// ----- every privileged route of openapi.json -----

/// Who may not use a route; the openapi matrix adds a page of another origin carrying the
/// session of the very official whose counter it is (a cross-site request forgery).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Asker {
    Like(Caller),
    ForeignOrigin,
}

const FOREIGN: &str = "http://evil.example";
/// A valid voice clip, for `PUT /api/v1/admin/clips/…`.
const CLIP: &[u8] = include_bytes!("../../kiosk-assets/audio/en/invite.ogg");

/// A privileged operation: one whose `security` in openapi.json does not allow anonymous use.
#[derive(Debug)]
struct Operation {
    method: String,
    template: String,
}

fn privileged_operations(spec: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    for (template, ops) in spec["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("operations") {
            let security = op["security"]
                .as_array()
                .expect("every operation says its security");
            let anonymous = security
                .iter()
                .any(|s| s.as_object().is_some_and(|o| o.is_empty()));
            if !anonymous {
                out.push(Operation {
                    method: method.to_uppercase(),
                    template: template.clone(),
                });
            }
        }
    }
    out
}

/// The values of the `{action}` path parameter (its `enum`), or one empty action.
fn actions(spec: &Value, op: &Operation) -> Vec<String> {
    let params = spec["paths"][&op.template][op.method.to_lowercase()]["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    params
        .iter()
        .find(|p| p["name"] == "action" && p["in"] == "path")
        .map(|p| {
            p["schema"]["enum"]
                .as_array()
                .expect("the action parameter lists its values")
                .iter()
                .map(|a| a.as_str().expect("action").to_string())
                .collect()
        })
        .unwrap_or_else(|| vec![String::new()])
}

/// A request that would succeed for the right caller, for each operation and action. A new
/// privileged route fails here until it is given one: it cannot slip past the matrix.
fn bodies(op: &Operation, action: &str) -> Vec<Value> {
    let t = op.template.as_str();
    if op.method == "GET" {
        return vec![Value::Null];
    }
    let counter_body = |a: &str| match a {
        "call" => json!({"number": "A002"}),
        "transfer" => json!({"to": {"kind": "service", "code": "ket-hon"}, "note": "x"}),
        "pause" => json!({"reason": "họp"}),
        "dossier" => json!({"number": "A001", "dossier": "H26-0001"}),
        _ => json!({}),
    };
    match (op.method.as_str(), t) {
        ("POST", "/api/v1/sites/{site}/tickets") => vec![json!({"service": "khai-sinh"})],
        ("POST", "/api/v1/sites/{site}/tickets/{number}/{action}") => vec![json!({})],
        ("POST", "/api/v1/sites/{site}/counters/{counter}/{action}") => vec![counter_body(action)],
        ("POST", "/api/v1/sites/{site}/commands") => {
            ws_commands().into_iter().map(|(cmd, _)| cmd).collect()
        }
        ("POST", "/api/v1/admin/users") => vec![json!({
            "login": "ke-gian", "display_name": "X", "role": "admin",
            "password": "mat-khau-rat-dai-1", "counters": []
        })],
        ("POST", "/api/v1/admin/devices") => vec![json!({"kind": "kiosk", "name": "Kiosk lạ"})],
        ("POST", "/api/v1/admin/devices/{id}/revoke") => vec![json!({})],
        ("POST", "/api/v1/admin/users/{login}") => vec![json!({"role": "admin"})],
        ("POST", "/api/v1/admin/users/{login}/{action}") => vec![json!({})],
        ("PUT", "/api/v1/admin/config") | ("POST", "/api/v1/admin/config/check") => {
            vec![json!({"toml": luot_proto::config::DEFAULT_CONFIG_TOML})]
        }
        ("POST", "/api/v1/admin/tokens") => vec![json!({"name": "Cổng lạ", "scopes": ["read"]})],
        ("POST", "/api/v1/admin/tokens/{id}/revoke")
        | ("POST", "/api/v1/admin/webhooks/deliveries/{id}/resend") => vec![json!({})],
        ("POST", "/api/v1/admin/webhooks") => vec![json!({
            "url": "http://127.0.0.1:9/hook", "events": ["ticket.issued"]
        })],
        ("PATCH", "/api/v1/admin/webhooks/{id}") => vec![json!({"enabled": false})],
        ("DELETE", "/api/v1/admin/webhooks/{id}") => vec![Value::Null],
        // The body is the .ogg file itself (sent as bytes below); DELETE has none.
        ("PUT" | "DELETE", "/api/v1/admin/clips/{lang}/{name}" | "/api/v1/admin/clips/chime") => {
            vec![Value::Null]
        }
        _ => panic!(
            "openapi.json has the privileged operation {} {t}, which the authorization matrix \
             does not know: give it a request body in `bodies` (tests/e2e/authorization.rs)",
            op.method
        ),
    }
}

/// Who may legitimately do it (the rest must be refused).
fn allowed_callers(op: &Operation, action: &str, body: &Value) -> &'static [Caller] {
    match (op.method.as_str(), op.template.as_str()) {
        // A kiosk prints its own recent tickets again on its network printer.
        ("POST", "/api/v1/sites/{site}/tickets/{number}/{action}") if action == "reprint" => {
            &[Caller::Kiosk, Caller::OtherOfficial]
        }
        // A device or a session may ask who it is.
        ("GET", "/api/v1/me") => &[Caller::Kiosk, Caller::Display, Caller::OtherOfficial],
        ("POST", "/api/v1/sites/{site}/tickets") => &[Caller::Kiosk, Caller::OtherOfficial],
        ("POST", "/api/v1/sites/{site}/tickets/{number}/{action}") => &[Caller::OtherOfficial],
        ("POST", "/api/v1/sites/{site}/commands") => ws_commands()
            .into_iter()
            .find(|(cmd, _)| cmd == body)
            .map(|(_, allowed)| allowed)
            .unwrap_or(&[]),
        _ => &[],
    }
}

impl World {
    fn asker_http(&self, a: Asker) -> Http {
        match a {
            Asker::Like(c) => self.http(c),
            Asker::ForeignOrigin => self
                .s
                .cookie_http(&self.own_token)
                .with_header("origin", FOREIGN),
        }
    }
}

#[tokio::test]
async fn every_privileged_route_of_the_openapi_document_refuses_everyone_else() {
    let w = world().await;
    let spec = w.s.http().get("/api/v1/openapi.json").await.json();
    let ops = privileged_operations(&spec);
    assert!(
        ops.len() >= 12,
        "only {} privileged operations found",
        ops.len()
    );
    let mut askers: Vec<Asker> = CALLERS.iter().map(|c| Asker::Like(*c)).collect();
    askers.push(Asker::ForeignOrigin);
    let before = w.s.db_state();
    let mut checked = 0;
    let mut routes = 0;
    for op in &ops {
        for action in actions(&spec, op) {
            let path = op
                .template
                .replace("{site}", luot_tests::SITE)
                .replace("{counter}", "quay-1")
                .replace("{number}", "A002")
                .replace("{id}", "1")
                .replace("{login}", "can-bo-1")
                .replace("{token}", &w.phone)
                .replace("{action}", &action)
                .replace("{lang}", "vi")
                .replace("{name}", "invite");
            assert!(!path.contains('{'), "unfilled parameter in {path}");
            routes += 1;
            for body in bodies(op, &action) {
                let allowed = allowed_callers(op, &action, &body);
                for asker in &askers {
                    let want = match asker {
                        Asker::ForeignOrigin => (403, "origin_refused"),
                        Asker::Like(c) => match expected(*c, allowed) {
                            Some(status) => (status, code_for(status)),
                            None => continue,
                        },
                    };
                    let http = w.asker_http(*asker);
                    let r = match op.method.as_str() {
                        "GET" => http.get(&path).await,
                        "DELETE" => http.delete(&path).await,
                        "PUT" if path.starts_with("/api/v1/admin/clips/") => {
                            http.put_bytes(&path, CLIP.to_vec(), "audio/ogg").await
                        }
                        "PUT" => http.put(&path, &body).await,
                        "PATCH" => http.patch(&path, &body).await,
                        _ => http.post(&path, &body).await,
                    };
                    assert_eq!(
                        (r.status, r.code().as_str()),
                        want,
                        "{} {path} {body} by {asker:?}: {}",
                        op.method,
                        r.text
                    );
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(
        w.s.db_state(),
        before,
        "a refused request changed the database"
    );
    println!(
        "authorization: {} privileged operations of openapi.json, {routes} routes, {checked} \
         refusals checked; the database unchanged",
        ops.len()
    );

    // The refusals were about who asked: the right people get through the same paths.
    let admin = w.s.admin().await;
    // (Routes about one object, such as a webhook's delivery log, need one: tests/e2e/webhooks.rs.)
    for op in ops
        .iter()
        .filter(|o| o.method == "GET" && !o.template.contains("{id}"))
    {
        let path = op.template.replace("{site}", luot_tests::SITE);
        let r = admin.get(&path).await;
        assert_eq!(r.status, 200, "GET {path} by the admin: {}", r.text);
    }
    let r =
        w.s.cookie_http(&w.own_token)
            .with_header("origin", &w.s.base)
            .post(
                &format!("/api/v1/sites/{}/counters/quay-1/recall", luot_tests::SITE),
                &json!({}),
            )
            .await;
    assert_eq!(r.status, 200, "the official's own page: {}", r.text);
}
