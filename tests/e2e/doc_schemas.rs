//! docs/protocol.md and the server agree on the shape of every message: this test reads the
//! doc's tables (the §10 events table and the field tables of §4.2 `welcome`, §5.2 `event`, §9.1
//! `reply` and §11's data types), drives a real server through a day that makes every kind of
//! event (and a day change, for `day_closed` and `day_opened`), and checks each message a counter
//! socket and a display socket receive, each command's reply, and the REST snapshot: no field the
//! doc does not name, no field the doc requires missing, every event type of the table seen.

use luot_tests::{SITE, START_MS, Setup, TestServer, Who, WsClient, clock_at_start};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const DOC: &str = include_str!("../../docs/protocol.md");

/// What a table says an object has.
#[derive(Debug, Default, Clone)]
struct Schema {
    required: BTreeSet<String>,
    optional: BTreeSet<String>,
}

impl Schema {
    fn allows(&self, k: &str) -> bool {
        self.required.contains(k) || self.optional.contains(k)
    }
}

/// Names in backticks that look like field names.
fn names(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .map(str::to_string)
        .collect()
}

/// Drops every parenthesised aside, nested ones too: "(id)", "(a [call reason](#call-reasons))".
fn without_asides(s: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The rows of the first table after the heading that contains `heading`.
fn table_after(heading: &str) -> Vec<Vec<String>> {
    let start = DOC
        .lines()
        .position(|l| l.starts_with('#') && l.contains(heading))
        .unwrap_or_else(|| panic!("no heading {heading:?} in docs/protocol.md"));
    DOC.lines()
        .skip(start + 1)
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// A field table (`| field | type | meaning |`): "optional" in the type makes a field optional.
fn field_table(heading: &str) -> Schema {
    let mut s = Schema::default();
    for row in table_after(heading) {
        let optional = row[1].contains("optional");
        for n in names(&row[0]) {
            if optional {
                s.optional.insert(n);
            } else {
                s.required.insert(n);
            }
        }
    }
    assert!(!s.required.is_empty(), "{heading}: no fields read");
    s
}

/// §10: `| type | fields | … |`, the fields before "optional" required, those after optional.
fn events_table() -> BTreeMap<String, Schema> {
    let mut out = BTreeMap::new();
    for row in table_after("10. Events") {
        let ty = names(&row[0]).pop().expect("an event type");
        let fields = without_asides(&row[1]);
        let (req, opt) = fields.split_once("optional").unwrap_or((&fields, ""));
        let mut s = Schema {
            required: names(req).into_iter().collect(),
            optional: names(opt).into_iter().collect(),
        };
        s.required.insert("type".into());
        out.insert(ty, s);
    }
    assert!(out.len() >= 17, "{out:?}");
    out
}

struct Doc {
    events: BTreeMap<String, Schema>,
    types: BTreeMap<&'static str, Schema>,
}

impl Doc {
    fn read() -> Doc {
        let mut types = BTreeMap::new();
        for (name, heading) in [
            ("welcome", "4.2 `welcome`"),
            ("event", "5.2 `event`"),
            ("reply", "9.1 Envelope"),
            ("estimates", "8.7 `estimates`"),
            ("TicketView", "### TicketView"),
            ("Estimate", "### Estimate"),
            ("ServiceStatsDto", "### ServiceStatsDto"),
            ("Session", "### Session"),
            ("CounterView", "### CounterView"),
            ("SiteSnapshot", "### SiteSnapshot"),
            ("CommandResult", "### CommandResult"),
            ("ErrorDto", "### ErrorDto"),
        ] {
            let mut s = field_table(heading);
            if matches!(name, "welcome" | "event" | "reply" | "estimates") {
                // Every websocket message is tagged by `type` (§1).
                s.required.insert("type".into());
            }
            types.insert(name, s);
        }
        Doc {
            events: events_table(),
            types,
        }
    }

    /// Checks `v` against the named type, and what it holds against theirs.
    fn check(&self, name: &str, v: &Value, at: &str, errors: &mut BTreeSet<String>) {
        let schema = &self.types[name];
        let Some(obj) = v.as_object() else {
            errors.insert(format!("{at}: a {name} that is not an object: {v}"));
            return;
        };
        for k in obj.keys() {
            if !schema.allows(k) {
                errors.insert(format!("{at}: `{k}` is not a field of {name} in the doc"));
            }
        }
        for k in &schema.required {
            if !obj.contains_key(k) {
                errors.insert(format!("{at}: {name} lacks `{k}`, which the doc requires"));
            }
        }
        let each = |field: &str, ty: &str, errors: &mut BTreeSet<String>| match obj.get(field) {
            Some(Value::Array(items)) => {
                for (i, x) in items.iter().enumerate() {
                    self.check(ty, x, &format!("{at}.{field}[{i}]"), errors);
                }
            }
            Some(x) => self.check(ty, x, &format!("{at}.{field}"), errors),
            None => {}
        };
        match name {
            "event" => {
                each("ticket", "TicketView", errors);
                each("stats", "ServiceStatsDto", errors);
                self.check_event(&obj["event"], at, errors);
            }
            "estimates" => each("stats", "ServiceStatsDto", errors),
            "reply" => {
                each("result", "CommandResult", errors);
                each("error", "ErrorDto", errors);
            }
            "CommandResult" => each("ticket", "TicketView", errors),
            "TicketView" => {
                each("estimate", "Estimate", errors);
                each("past_session", "Session", errors);
            }
            "ServiceStatsDto" => {
                each("estimate", "Estimate", errors);
                each("session", "Session", errors);
            }
            "CounterView" => each("current", "TicketView", errors),
            "SiteSnapshot" => {
                each("counters", "CounterView", errors);
                each("waiting", "TicketView", errors);
                each("recent_calls", "TicketView", errors);
                each("no_shows", "TicketView", errors);
                each("services", "ServiceStatsDto", errors);
            }
            _ => {}
        }
    }

    fn check_event(&self, e: &Value, at: &str, errors: &mut BTreeSet<String>) {
        let ty = e["type"].as_str().unwrap_or_default();
        let Some(schema) = self.events.get(ty) else {
            errors.insert(format!("{at}: event type `{ty}` is not in §10"));
            return;
        };
        for k in e.as_object().into_iter().flat_map(|o| o.keys()) {
            if !schema.allows(k) {
                errors.insert(format!("{at}: `{k}` of `{ty}` is not in §10"));
            }
        }
        for k in &schema.required {
            if e.get(k).is_none() {
                errors.insert(format!("{at}: `{ty}` lacks `{k}`, which §10 requires"));
            }
        }
    }
}

/// Sends a command and checks its reply against the doc; returns the reply.
async fn send(
    doc: &Doc,
    ws: &mut WsClient,
    command: Value,
    errors: &mut BTreeSet<String>,
) -> Value {
    let what = command["type"].as_str().unwrap_or_default().to_string();
    let reply = ws.command(command).await;
    doc.check("reply", &reply, &format!("reply to {what}"), errors);
    reply
}

#[tokio::test]
async fn every_message_matches_the_tables_of_the_protocol_doc() {
    let doc = Doc::read();
    let mut errors = BTreeSet::new();
    let clock = clock_at_start();
    let s = TestServer::start_with(Setup {
        clock: clock.clone(),
        ..Setup::default()
    })
    .await;
    let admin = s.admin().await;
    let official = s.add_official(&admin, "lan", &["quay-1"]).await;
    let kiosk = s.device_http(&s.first.kiosk_token);
    let mut c = s.ws("counter", Who::Session(&official.session)).await;
    doc.check("welcome", &c.welcome, "counter welcome", &mut errors);
    let snap = c.snapshot.clone().expect("a snapshot");
    doc.check(
        "SiteSnapshot",
        &snap["snapshot"],
        "counter snapshot",
        &mut errors,
    );

    // Tickets: from the kiosk (one for a priority citizen), and an appointment by the official.
    let mut tokens = Vec::new();
    for body in [
        json!({"service": "khai-sinh"}),
        json!({"service": "khai-sinh", "priority": "elderly"}),
        json!({"service": "khai-sinh"}),
        json!({"service": "khai-sinh"}),
        json!({"service": "khai-sinh"}),
    ] {
        let r = kiosk
            .post(&format!("/api/v1/sites/{SITE}/tickets"), &body)
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        doc.check("CommandResult", &r.json(), "REST issue", &mut errors);
        tokens.push(r.json()["token"].as_str().unwrap().to_string());
    }
    // A number taken from home (away until checked in, below).
    let r = s
        .http()
        .post(
            &format!("/api/v1/sites/{SITE}/remote-tickets"),
            &json!({"service": "khai-sinh", "phone": "0912345678"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    doc.check(
        "CommandResult",
        &r.json(),
        "REST remote ticket",
        &mut errors,
    );
    let remote = r.json()["ticket"]["number"].as_str().unwrap().to_string();
    let appointment = json!({"from_ms": START_MS - 600_000, "to_ms": START_MS + 3_600_000});
    let counter = |t: &str| json!({"type": t, "counter": "quay-1"});
    let mut script = vec![
        json!({"type": "issue", "service": "khai-sinh", "appointment": appointment}),
        counter("open_counter"),
        counter("call_next"),
        counter("recall"),
        counter("start"),
        counter("complete"),
        counter("call_next"),
        counter("no_show"),
    ];
    for cmd in script.drain(..) {
        send(&doc, &mut c, cmd, &mut errors).await;
    }
    // Put back the ticket just missed; transfer one; attach a dossier code; cancel one waiting.
    let mut called = String::new();
    let r = admin
        .get(&format!("/api/v1/sites/{SITE}/snapshot"))
        .await
        .json();
    doc.check("SiteSnapshot", &r["snapshot"], "REST snapshot", &mut errors);
    let no_show = r["snapshot"]["no_shows"][0]["number"]
        .as_str()
        .expect("a no-show")
        .to_string();
    for cmd in [
        json!({"type": "return", "number": no_show}),
        counter("call_next"),
        json!({"type": "transfer", "counter": "quay-1", "to": {"kind": "service", "code": "ket-hon"}, "note": "thiếu giấy"}),
        counter("call_next"),
        counter("start"),
        // The number of the ticket being served, filled in below.
        json!({"type": "attach_dossier", "counter": "quay-1", "number": "", "dossier": "H26.01-001"}),
        counter("complete"),
        json!({"type": "cancel", "number": "A004"}),
        json!({"type": "check_in", "number": remote}),
        json!({"type": "pause_counter", "counter": "quay-1", "reason": "họp"}),
        counter("resume_counter"),
        counter("close_counter"),
        // Refused, for an error reply: the counter is closed.
        counter("call_next"),
    ] {
        let mut cmd = cmd;
        if cmd["type"] == "attach_dossier" {
            cmd["number"] = json!(called);
        }
        let reply = send(&doc, &mut c, cmd, &mut errors).await;
        if let Some(n) = reply["result"]["ticket"]["number"].as_str() {
            called = n.to_string();
        }
    }
    // The manager on the floor page: stop issuing for a service (a kiosk is refused), resume it,
    // raise its cap; a forced pause of an open counter; an admin socket's snapshot and replies.
    let (_, manager_session) = s.login(&s.first.admin_login, &s.first.admin_password).await;
    let mut m = s.ws("admin", Who::Session(&manager_session)).await;
    let snap = m.snapshot.clone().expect("a snapshot");
    doc.check(
        "SiteSnapshot",
        &snap["snapshot"],
        "admin snapshot",
        &mut errors,
    );
    send(&doc, &mut c, counter("open_counter"), &mut errors).await;
    for cmd in [
        json!({"type": "pause_service", "service": "khai-sinh", "reason": "Mất kết nối"}),
        json!({"type": "raise_daily_cap", "service": "khai-sinh", "cap": 600}),
        // Refused, for an error reply: not higher than the cap in force.
        json!({"type": "raise_daily_cap", "service": "khai-sinh", "cap": 600}),
        json!({"type": "pause_counter", "counter": "quay-1", "reason": "Họp giao ban"}),
        json!({"type": "close_counter", "counter": "quay-1"}),
    ] {
        send(&doc, &mut m, cmd, &mut errors).await;
    }
    let r = kiosk
        .post(
            &format!("/api/v1/sites/{SITE}/tickets"),
            &json!({"service": "khai-sinh"}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.code(), "service_paused", "{}", r.text);
    doc.check("ErrorDto", &r.json(), "REST issue refused", &mut errors);
    let r = admin
        .get(&format!("/api/v1/sites/{SITE}/snapshot"))
        .await
        .json();
    doc.check(
        "SiteSnapshot",
        &r["snapshot"],
        "REST snapshot, stopped",
        &mut errors,
    );
    send(
        &doc,
        &mut m,
        json!({"type": "resume_service", "service": "khai-sinh"}),
        &mut errors,
    )
    .await;
    drop(m);

    // The citizen of A001 rates from the phone page.
    let r = s
        .http()
        .post(
            &format!("/api/v1/tickets/{}/rate", tokens[0]),
            &json!({"score": 4}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Midnight: the day closes and the next opens (a ticket issued then sees both first).
    clock.set_offset_ms(START_MS + 15 * 3_600_000 + 8 * 3_600_000 - luot_tests::system_now_ms());
    let mut display = s.ws("display", Who::Device(&s.first.display_token)).await;
    let r = kiosk
        .post(
            &format!("/api/v1/sites/{SITE}/tickets"),
            &json!({"service": "khai-sinh"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let last_seq = r.json()["seq"].as_u64().unwrap();

    // Every event of the day, replayed from the start to a display (resume from 0), then the
    // live ones on the counter's socket.
    let mut seen = BTreeSet::new();
    let mut replay = s
        .ws_hello("display", Who::Device(&s.first.display_token), Some(0))
        .await
        .expect("resume");
    doc.check("welcome", &replay.welcome, "display welcome", &mut errors);
    let mut at = 0;
    while at < last_seq {
        let m = replay.recv_within(Duration::from_secs(20)).await;
        match m["type"].as_str() {
            Some("event") => {
                at = m["seq"].as_u64().unwrap();
                let ty = m["event"]["type"].as_str().unwrap_or_default().to_string();
                doc.check("event", &m, &format!("event {ty} (seq {at})"), &mut errors);
                seen.insert(ty);
            }
            Some("snapshot") => panic!("the replay from 0 should not need a snapshot: {m}"),
            _ => {}
        }
    }
    for e in display.events_until(last_seq).await {
        doc.check("event", &e, "display event", &mut errors);
    }
    // The estimator's messages (§8.7) that came meanwhile, set aside by the test client, and the
    // one that follows a change while a counter is open (the estimator runs only then): counter
    // 1 opens for the new day (refused if it is still open, which is as good).
    let mut estimates: Vec<Value> = c
        .estimates
        .drain(..)
        .chain(display.estimates.drain(..))
        .collect();
    display.keep_estimates = true;
    c.command(json!({"type": "open_counter", "counter": "quay-1"}))
        .await;
    s.issue(&s.first.kiosk_token, "khai-sinh").await;
    loop {
        let m = display.recv_within(Duration::from_secs(20)).await;
        if m["type"] == "estimates" {
            estimates.push(m);
            break;
        }
    }
    for (i, m) in estimates.iter().enumerate() {
        doc.check("estimates", m, &format!("estimates #{i}"), &mut errors);
    }
    drop(c);
    let documented: BTreeSet<String> = doc.events.keys().cloned().collect();
    let missing: Vec<_> = documented.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "event types in §10 this day did not make: {missing:?}"
    );
    assert!(errors.is_empty(), "the doc and the server disagree:\n{}", {
        errors.iter().cloned().collect::<Vec<_>>().join("\n")
    });
}
