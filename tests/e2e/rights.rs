//! Who may send which command, and which fields: every cell of the table in docs/protocol.md
//! §9.2 ("Who may send what"), read from the document itself, is tried over a real websocket
//! by the principal of its column. A refused cell must change nothing; an allowed cell must get
//! past authorization (its reply is a success or a queue rule's refusal, never `forbidden` or
//! `login_required`). So the server and the table cannot drift apart silently.

use luot_tests::{SITE, START_MS, TestServer, Who, WsClient};
use serde_json::{Value, json};

const PROTOCOL_MD: &str = include_str!("../../docs/protocol.md");

/// The counter commands of the table's footnote ¹.
const COUNTER_COMMANDS: [&str; 11] = [
    "call_next",
    "call_ticket",
    "recall",
    "start",
    "complete",
    "no_show",
    "transfer",
    "open_counter",
    "pause_counter",
    "resume_counter",
    "close_counter",
];

/// Everyone the matrix asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Principal {
    /// A hall display's socket with no proof at all.
    Anonymous,
    /// A phone's socket proving ticket A001 by its token.
    Phone,
    Kiosk,
    /// The rating tablet of counter 1.
    Rating,
    Display,
    /// The official assigned to counter 1 (where the commands act).
    OfficialHere,
    /// An official assigned to counter 2 only.
    OfficialElsewhere,
    Manager,
    Admin,
}

const PRINCIPALS: [Principal; 9] = [
    Principal::Anonymous,
    Principal::Phone,
    Principal::Kiosk,
    Principal::Rating,
    Principal::Display,
    Principal::OfficialHere,
    Principal::OfficialElsewhere,
    Principal::Manager,
    Principal::Admin,
];

/// The table's column for a principal.
fn column(p: Principal) -> &'static str {
    match p {
        Principal::Anonymous => "anonymous",
        Principal::Phone => "phone (own ticket)",
        Principal::Kiosk => "kiosk device",
        Principal::Rating => "rating device",
        Principal::Display => "display / counter display",
        Principal::OfficialHere | Principal::OfficialElsewhere => "official",
        Principal::Manager | Principal::Admin => "manager, admin",
    }
}

/// One row of §9.2: the command(s) it is about, a field it sets (`issue` with `appointment`),
/// and its cells by column header.
#[derive(Debug)]
struct Row {
    label: String,
    commands: Vec<String>,
    with_field: Option<String>,
    cells: Vec<(String, String)>,
}

/// Text between the first pair of backticks in `s`.
fn backticked(s: &str) -> Vec<String> {
    s.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn table_9_2() -> Vec<Row> {
    let start = PROTOCOL_MD
        .find("### 9.2 Who may send what")
        .expect("docs/protocol.md has §9.2");
    let section = &PROTOCOL_MD[start..];
    let lines: Vec<&str> = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .collect();
    let split = |l: &str| -> Vec<String> {
        l.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    let header = split(lines[0]);
    assert_eq!(header[0], "command", "§9.2's first column");
    let mut rows = Vec::new();
    for l in &lines[2..] {
        let cells = split(l);
        assert_eq!(
            cells.len(),
            header.len(),
            "§9.2 row with a wrong cell count: {l}"
        );
        let label = cells[0].clone();
        let names = backticked(&label);
        let (commands, with_field) = if label.starts_with("counter commands") {
            (
                COUNTER_COMMANDS.iter().map(|c| c.to_string()).collect(),
                None,
            )
        } else if label.contains(" with ") {
            (vec![names[0].clone()], Some(names[1].clone()))
        } else {
            (vec![names[0].clone()], None)
        };
        rows.push(Row {
            label,
            commands,
            with_field,
            cells: header[1..]
                .iter()
                .cloned()
                .zip(cells[1..].iter().cloned())
                .collect(),
        });
    }
    // The footnote lists exactly the counter commands this test expands the row to.
    let footnote = section
        .lines()
        .find(|l| l.contains("¹ `call_next`"))
        .expect("§9.2's footnote ¹");
    let mut listed: Vec<String> = backticked(footnote);
    for l in section
        .lines()
        .skip_while(|l| !l.contains("¹ `call_next`"))
        .skip(1)
    {
        if l.trim().is_empty() || !l.trim_start().starts_with('`') {
            break;
        }
        listed.extend(backticked(l.split('.').next().unwrap_or("")));
    }
    listed.retain(|c| COUNTER_COMMANDS.contains(&c.as_str()));
    assert_eq!(listed, COUNTER_COMMANDS, "§9.2's footnote ¹");
    rows
}

/// What a cell says one principal gets for one command variant.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Allowed,
    /// An error code, and the field it must name, if the table names one.
    Refused(String, Option<String>),
}

/// A command as sent, with what distinguishes its variants (by number / by token).
struct Variant {
    json: Value,
    by_token: bool,
}

fn variants(command: &str, with_field: Option<&str>, phone_token: &str) -> Vec<Variant> {
    let c = |v: Value| Variant {
        json: v,
        by_token: false,
    };
    let counter = |t: &str| json!({"type": t, "counter": "quay-1"});
    match command {
        "issue" => {
            let mut v = json!({"type": "issue", "service": "khai-sinh"});
            match with_field {
                None => {}
                // The window the issue report used: it began an hour ago, ends in an hour.
                Some("appointment") => {
                    v["appointment"] =
                        json!({"from_ms": START_MS - 3_600_000, "to_ms": START_MS + 3_600_000})
                }
                Some(f) => panic!("§9.2 names `issue` with `{f}`, which this test cannot send"),
            }
            vec![c(v)]
        }
        "call_ticket" => vec![c(
            json!({"type": "call_ticket", "counter": "quay-1", "number": "A004"}),
        )],
        "transfer" => vec![c(
            json!({"type": "transfer", "counter": "quay-1", "to": {"kind": "service", "code": "ket-hon"}}),
        )],
        "pause_counter" => vec![c(
            json!({"type": "pause_counter", "counter": "quay-1", "reason": "họp giao ban"}),
        )],
        "return" => vec![c(json!({"type": "return", "number": "A004"}))],
        "cancel" => vec![
            c(json!({"type": "cancel", "number": "A004"})),
            Variant {
                json: json!({"type": "cancel", "token": phone_token}),
                by_token: true,
            },
        ],
        "check_in" => vec![
            c(json!({"type": "check_in", "number": "A004", "phone_last4": "0000"})),
            Variant {
                json: json!({"type": "check_in", "token": phone_token}),
                by_token: true,
            },
        ],
        "rate" => vec![
            c(json!({"type": "rate", "number": "A001", "score": 1})),
            Variant {
                json: json!({"type": "rate", "token": phone_token, "score": 1}),
                by_token: true,
            },
        ],
        "attach_dossier" => vec![c(
            json!({"type": "attach_dossier", "counter": "quay-1", "number": "A001", "dossier": "H26-0001"}),
        )],
        "pause_service" => vec![c(
            json!({"type": "pause_service", "service": "khai-sinh", "reason": "mất mạng"}),
        )],
        "resume_service" => vec![c(json!({"type": "resume_service", "service": "khai-sinh"}))],
        "raise_daily_cap" => vec![c(
            json!({"type": "raise_daily_cap", "service": "khai-sinh", "cap": 900}),
        )],
        c2 if COUNTER_COMMANDS.contains(&c2) => vec![c(counter(c2))],
        other => panic!("§9.2 names a command this test does not know: {other}"),
    }
}

/// Reads one cell for one principal and variant.
fn expect(cell: &str, p: Principal, v: &Variant) -> Expect {
    let cell = cell.trim();
    if cell.starts_with("`login_required`") {
        return Expect::Refused("login_required".into(), None);
    }
    if let Some(rest) = cell.strip_prefix('✘') {
        let field = rest
            .split("`field` = ")
            .nth(1)
            .and_then(|f| backticked(f).into_iter().next());
        return Expect::Refused("forbidden".into(), field);
    }
    assert!(cell.starts_with('✔'), "unreadable §9.2 cell {cell:?}");
    if cell.contains("at assigned counters only") && p == Principal::OfficialElsewhere {
        return Expect::Refused("forbidden".into(), None);
    }
    if cell.contains("by `token` only") && !v.by_token {
        return Expect::Refused("forbidden".into(), None);
    }
    Expect::Allowed
}

struct World {
    s: TestServer,
    kiosk: String,
    display: String,
    rating: String,
    phone: String,
    here: String,
    elsewhere: String,
    manager: String,
    admin: String,
}

/// Counter 1 is open by `can-bo-1`; A001 was served there and completed (the phone holds it),
/// A002 is called there, A003–A005 wait.
async fn world() -> World {
    let s = TestServer::start().await;
    let kiosk = s.first.kiosk_token.clone();
    let display = s.first.display_token.clone();
    let phone = s.issue(&kiosk, "khai-sinh").await["token"]
        .as_str()
        .expect("token")
        .to_string();
    for _ in 0..4 {
        s.issue(&kiosk, "khai-sinh").await;
    }
    let admin_http = s.admin().await;
    let here = s.add_official(&admin_http, "can-bo-1", &["quay-1"]).await;
    let elsewhere = s.add_official(&admin_http, "can-bo-2", &["quay-2"]).await;
    let r = admin_http
        .post(
            "/api/v1/admin/users",
            &json!({"login": "truong-phong", "display_name": "Trưởng phòng", "role": "manager",
                    "password": luot_tests::PASSWORD, "counters": []}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let manager = s.login("truong-phong", luot_tests::PASSWORD).await.1;
    let admin = s
        .login(&s.first.admin_login, &s.first.admin_password)
        .await
        .1;
    let (_, rating) = s
        .pair_device(&admin_http, "rating", "Máy đánh giá quầy 1", Some("quay-1"))
        .await;
    let base = format!("/api/v1/sites/{SITE}/counters/quay-1");
    for (action, body) in [
        ("open", json!({})),
        ("call-next", json!({})),
        ("complete", json!({})),
        ("call-next", json!({})),
    ] {
        let r = here.http.post(&format!("{base}/{action}"), &body).await;
        assert_eq!(r.status, 200, "{action}: {}", r.text);
    }
    World {
        kiosk,
        display,
        rating,
        phone,
        here: here.session,
        elsewhere: elsewhere.session,
        manager,
        admin,
        s,
    }
}

impl World {
    async fn ws(&self, p: Principal) -> WsClient {
        let s = &self.s;
        match p {
            Principal::Anonymous => s.ws("display", Who::Anonymous).await,
            Principal::Phone => s.ws("phone", Who::Ticket(&self.phone)).await,
            Principal::Kiosk => s.ws("kiosk", Who::Device(&self.kiosk)).await,
            Principal::Rating => s.ws("rating", Who::Device(&self.rating)).await,
            Principal::Display => s.ws("display", Who::Device(&self.display)).await,
            Principal::OfficialHere => s.ws("counter", Who::Session(&self.here)).await,
            Principal::OfficialElsewhere => s.ws("counter", Who::Session(&self.elsewhere)).await,
            Principal::Manager => s.ws("counter", Who::Session(&self.manager)).await,
            Principal::Admin => s.ws("admin", Who::Session(&self.admin)).await,
        }
    }
}

#[tokio::test]
async fn every_cell_of_the_protocol_s_authorization_table_holds_over_the_websocket() {
    let rows = table_9_2();
    assert!(
        rows.iter()
            .any(|r| r.with_field.as_deref() == Some("appointment")),
        "§9.2 states who may set `appointment` on `issue`"
    );
    let w = world().await;
    let (mut allowed, mut refused) = (0, 0);
    // Refusals first, for every principal, so the allowed commands cannot change what is
    // being refused; then the allowed cells.
    for pass_allowed in [false, true] {
        for p in PRINCIPALS {
            let mut ws = w.ws(p).await;
            for row in &rows {
                let cell = &row
                    .cells
                    .iter()
                    .find(|(h, _)| h == column(p))
                    .unwrap_or_else(|| panic!("§9.2 has no column {:?}", column(p)))
                    .1;
                for command in &row.commands {
                    for v in variants(command, row.with_field.as_deref(), &w.phone) {
                        let want = expect(cell, p, &v);
                        if (want == Expect::Allowed) != pass_allowed {
                            continue;
                        }
                        let before = w.s.db_state();
                        let reply = ws.command(v.json.clone()).await;
                        let what = format!("{} ({}) by {p:?}: {reply}", v.json, row.label);
                        match &want {
                            Expect::Allowed => {
                                let code = reply["error"]["code"].as_str().unwrap_or("");
                                assert!(
                                    reply["ok"] == true
                                        || !["forbidden", "login_required", "invalid_field"]
                                            .contains(&code),
                                    "§9.2 allows {what}"
                                );
                                allowed += 1;
                            }
                            Expect::Refused(code, field) => {
                                assert_eq!(reply["ok"], false, "§9.2 refuses {what}");
                                assert_eq!(reply["error"]["code"], code.as_str(), "{what}");
                                if let Some(f) = field {
                                    assert_eq!(reply["error"]["field"], f.as_str(), "{what}");
                                    for m in ["message", "message_en"] {
                                        let text = reply["error"][m].as_str().unwrap_or("");
                                        assert!(
                                            text.contains(f.as_str()),
                                            "{m} names `{f}`: {what}"
                                        );
                                    }
                                }
                                assert_eq!(
                                    w.s.db_state(),
                                    before,
                                    "a refusal changed the database: {what}"
                                );
                                refused += 1;
                            }
                        }
                    }
                }
            }
            ws.close().await;
        }
    }
    println!("§9.2: {refused} refused cells and {allowed} allowed cells checked");
    assert!(
        refused > 80 && allowed > 30,
        "{refused} refused, {allowed} allowed"
    );
}

/// The issue report's jump: a kiosk's ticket with an appointment window around now, over the
/// websocket and over REST, is refused naming the field; the queue order stays as issued.
#[tokio::test]
async fn a_kiosk_cannot_give_its_ticket_an_appointment() {
    let w = world().await;
    let appointment = json!({"from_ms": START_MS - 3_600_000, "to_ms": START_MS + 3_600_000});
    let before = w.s.db_state();

    let r =
        w.s.device_http(&w.kiosk)
            .post(
                &format!("/api/v1/sites/{SITE}/tickets"),
                &json!({"service": "khai-sinh", "appointment": appointment}),
            )
            .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "forbidden"),
        "{}",
        r.text
    );
    assert_eq!(r.json()["field"], "appointment", "{}", r.text);
    let r =
        w.s.device_http(&w.kiosk)
            .post(
                &format!("/api/v1/sites/{SITE}/commands"),
                &json!({"type": "issue", "service": "khai-sinh", "appointment": appointment}),
            )
            .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "forbidden"),
        "{}",
        r.text
    );

    let mut kiosk = w.ws(Principal::Kiosk).await;
    let reply = kiosk
        .command(json!({"type": "issue", "service": "khai-sinh", "appointment": appointment}))
        .await;
    assert_eq!(reply["error"]["code"], "forbidden", "{reply}");
    assert_eq!(reply["error"]["field"], "appointment", "{reply}");
    assert_eq!(
        w.s.db_state(),
        before,
        "a refused issue changed the database"
    );

    // The same kiosk, without the field, issues an ordinary kiosk ticket; an official may give
    // one an appointment.
    let t = kiosk
        .ok(json!({"type": "issue", "service": "khai-sinh"}))
        .await;
    assert_eq!(t["ticket"]["channel"], "kiosk", "{t}");
    assert!(t["ticket"].get("appointment").is_none(), "{t}");
    let mut here = w.ws(Principal::OfficialHere).await;
    let t = here
        .ok(json!({"type": "issue", "service": "khai-sinh", "appointment": appointment}))
        .await;
    assert_eq!(t["ticket"]["channel"], "appointment", "{t}");
}
