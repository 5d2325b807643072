//! What a monitoring system sees: `/metrics` scraped after tickets and calls, parsed, and each
//! histogram checked against what the test did (counts, and which bucket a known wait fell in);
//! the Grafana dashboard in docs/ asks only for metrics that exist; the access log.

use luot_tests::{SITE, START_MS, Setup, TestServer, Who, clock_at_start, system_now_ms, within};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// One scrape: every sample by its full name with labels (`name{a="b"}`), and the families
/// declared by `# TYPE` lines.
struct Scrape {
    samples: BTreeMap<String, f64>,
    types: BTreeMap<String, String>,
    text: String,
}

impl Scrape {
    fn parse(text: &str) -> Scrape {
        let mut samples = BTreeMap::new();
        let mut types = BTreeMap::new();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.last(), Some(&"# EOF"), "OpenMetrics ends with # EOF");
        for line in lines {
            if let Some(t) = line.strip_prefix("# TYPE ") {
                let (name, kind) = t.split_once(' ').expect("# TYPE name kind");
                types.insert(name.to_string(), kind.to_string());
            } else if !line.starts_with('#') {
                let (key, value) = line.rsplit_once(' ').expect("sample: name value");
                let v: f64 = value
                    .parse()
                    .unwrap_or_else(|_| panic!("not a number in {line:?}"));
                assert!(
                    samples.insert(key.to_string(), v).is_none(),
                    "sample twice: {line}"
                );
            }
        }
        Scrape {
            samples,
            types,
            text: text.to_string(),
        }
    }

    fn get(&self, key: &str) -> f64 {
        *self
            .samples
            .get(key)
            .unwrap_or_else(|| panic!("{key} not in\n{}", self.text))
    }

    /// A histogram's buckets (upper bound, cumulative count) for a label set such as
    /// `site="sa-huynh",service="khai-sinh"` (or "" for none). Checks they are cumulative and
    /// end with `+Inf` equal to `_count`.
    fn buckets(&self, name: &str, labels: &str) -> Vec<(f64, f64)> {
        // The encoder may put `le` anywhere among the labels: compare the others as a set.
        let want: BTreeSet<&str> = labels.split(',').filter(|l| !l.is_empty()).collect();
        let prefix = format!("{name}_bucket{{");
        let mut b: Vec<(f64, f64)> = self
            .samples
            .iter()
            .filter_map(|(k, v)| {
                let inner = k.strip_prefix(&prefix)?.strip_suffix('}')?;
                let mut le = None;
                let mut others = BTreeSet::new();
                for l in inner.split(',') {
                    match l.strip_prefix("le=") {
                        Some(x) => le = Some(x.trim_matches('"')),
                        None => {
                            others.insert(l);
                        }
                    }
                }
                if others != want {
                    return None;
                }
                let le = le.expect("a bucket has le");
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().unwrap()
                };
                Some((le, *v))
            })
            .collect();
        b.sort_by(|x, y| x.0.total_cmp(&y.0));
        assert!(
            !b.is_empty(),
            "no buckets {prefix}{labels}… in\n{}",
            self.text
        );
        assert!(b.windows(2).all(|w| w[0].1 <= w[1].1), "cumulative: {b:?}");
        let count_key = if labels.is_empty() {
            format!("{name}_count")
        } else {
            format!("{name}_count{{{labels}}}")
        };
        assert_eq!(b.last().unwrap().0, f64::INFINITY);
        assert_eq!(
            b.last().unwrap().1,
            self.get(&count_key),
            "+Inf bucket = count"
        );
        b
    }

    fn count(&self, name: &str, labels: &str) -> f64 {
        self.buckets(name, labels).last().unwrap().1
    }
}

async fn scrape(s: &TestServer) -> Scrape {
    let r = s.http().get("/metrics").await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{:?}",
        r.header("content-type")
    );
    Scrape::parse(&r.text)
}

#[tokio::test]
async fn histograms_count_what_happened() {
    let clock = clock_at_start();
    let s = TestServer::start_with(Setup {
        clock: clock.clone(),
        ..Setup::default()
    })
    .await;
    let mut display = s.ws("display", Who::Device(&s.first.display_token)).await;
    for service in ["khai-sinh", "khai-sinh", "khai-sinh", "chung-thuc-chu-ky"] {
        s.issue(&s.first.kiosk_token, service).await;
    }
    let admin = s.admin().await;
    let official = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    let mut counter = s.ws("counter", Who::Session(&official.session)).await;
    counter
        .ok(json!({"type": "open_counter", "counter": "quay-1"}))
        .await;
    // Five minutes pass before the first call: every wait is over 300 s and under 600 s.
    clock.set_offset_ms(START_MS + 5 * 60_000 + 10_000 - system_now_ms());
    let mut called: BTreeMap<String, u32> = BTreeMap::new();
    for _ in 0..2 {
        let r = counter
            .ok(json!({"type": "call_next", "counter": "quay-1"}))
            .await;
        let service = r["ticket"]["service"].as_str().unwrap().to_string();
        *called.entry(service).or_default() += 1;
        counter
            .ok(json!({"type": "complete", "counter": "quay-1"}))
            .await;
    }
    let r = counter
        .ok(json!({"type": "call_next", "counter": "quay-1"}))
        .await;
    *called
        .entry(r["ticket"]["service"].as_str().unwrap().to_string())
        .or_default() += 1;
    let recalled = counter
        .ok(json!({"type": "recall", "counter": "quay-1"}))
        .await;
    // The display has the recall: the call-to-display observations follow right after.
    display
        .events_until(recalled["seq"].as_u64().unwrap())
        .await;

    let m = within("the display's observations", async {
        loop {
            let m = scrape(&s).await;
            if m.count("luot_call_to_display_seconds", "") >= 4.0 {
                return m;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    for (family, kind) in [
        ("luot_wait_seconds", "histogram"),
        ("luot_call_to_display_seconds", "histogram"),
        ("luot_store_commit_seconds", "histogram"),
        ("luot_command_reply_seconds", "histogram"),
        ("luot_estimate_pass_seconds", "histogram"),
        ("luot_tickets_issued", "counter"),
        ("luot_queue_waiting", "gauge"),
        ("luot_ws_clients", "gauge"),
        ("luot_estimating", "gauge"),
    ] {
        assert_eq!(
            m.types.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
    }
    assert_eq!(m.get("luot_tickets_issued_total"), 4.0);
    assert_eq!(m.get("luot_tickets_called_total"), 3.0);

    // Waits: one per first call, per service, each between 300 and 600 s.
    let mut total = 0.0;
    for (service, n) in &called {
        let labels = format!("site=\"{SITE}\",service=\"{service}\"");
        let b = m.buckets("luot_wait_seconds", &labels);
        let at = |le: f64| b.iter().find(|(x, _)| *x == le).unwrap().1;
        assert_eq!(at(300.0), 0.0, "{service}: no wait under 300 s: {b:?}");
        assert_eq!(
            at(600.0),
            f64::from(*n),
            "{service}: all under 600 s: {b:?}"
        );
        let sum = m.get(&format!("luot_wait_seconds_sum{{{labels}}}"));
        assert!(
            sum > 300.0 * f64::from(*n) && sum < 600.0 * f64::from(*n),
            "{service}: sum {sum}"
        );
        total += f64::from(*n);
    }
    assert_eq!(total, 3.0);

    // Three calls and a recall reached the one display: four observations.
    assert_eq!(m.count("luot_call_to_display_seconds", ""), 4.0);
    // Replies: 4 issues over REST, 3 calls, and the rest (open, 2 completes, the recall).
    assert_eq!(
        m.count("luot_command_reply_seconds", "command=\"issue\""),
        4.0
    );
    assert_eq!(
        m.count("luot_command_reply_seconds", "command=\"call\""),
        3.0
    );
    assert_eq!(
        m.count("luot_command_reply_seconds", "command=\"other\""),
        4.0
    );
    // Every commit is timed.
    assert_eq!(
        m.count("luot_store_commit_seconds", ""),
        m.get("luot_store_commits_total") + m.get("luot_store_failures_total")
    );
    assert!(m.get("luot_store_commits_total") >= 10.0);
    assert_eq!(m.get("luot_ws_clients"), 2.0);
    assert_eq!(
        m.get(&format!(
            "luot_queue_waiting{{site=\"{SITE}\",service=\"chung-thuc-chu-ky\"}}"
        )) + m.get(&format!(
            "luot_queue_waiting{{site=\"{SITE}\",service=\"khai-sinh\"}}"
        )),
        1.0
    );

    // The dashboard in docs/ asks only for metrics this server exports.
    let dashboard = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../docs/monitoring/grafana-luot.json"),
    )
    .unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&dashboard).expect("dashboard JSON");
    let mut exprs = Vec::new();
    collect_exprs(&dashboard, &mut exprs);
    assert!(exprs.len() >= 6, "{exprs:?}");
    for expr in &exprs {
        for name in metric_names(expr) {
            let family = ["_bucket", "_sum", "_count", "_total"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(&name);
            assert!(
                m.types.contains_key(family),
                "the dashboard asks for {name}, which /metrics does not have ({expr})"
            );
        }
    }
}

fn collect_exprs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(o) => {
            for (k, v) in o {
                match (k.as_str(), v) {
                    ("expr", serde_json::Value::String(e)) => out.push(e.clone()),
                    _ => collect_exprs(v, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| collect_exprs(v, out)),
        _ => {}
    }
}

fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while let Some(at) = expr[i..].find("luot_") {
        let start = i + at;
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        names.push(expr[start..end].to_string());
        i = end;
    }
    names
}

/// The access log at debug level: one line per request with method, path, client and status,
/// and no device token.
#[tokio::test]
async fn the_access_log_names_requests_but_no_secret() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let mut child = tokio::process::Command::new(luot_tests::luot_binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .env("RUST_LOG", "warn,luot::access=debug")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = within("the banner", lines.next_line())
        .await
        .unwrap()
        .unwrap();
    let base = first
        .strip_prefix("Luot listening on ")
        .unwrap()
        .to_string();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let secret = "ab".repeat(32);
    let http = luot_tests::Http::new(&base);
    assert_eq!(
        http.get(&format!("/kiosk?device={secret}")).await.status,
        200
    );
    assert_eq!(http.get(&format!("/t/{secret}")).await.status, 200);
    assert_eq!(http.get("/api/v1/nowhere").await.status, 404);
    let text = within("the access log lines", async {
        loop {
            let text = std::fs::read_to_string(&log).unwrap();
            if text.matches("served").count() >= 3 {
                return text;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    let _ = child.kill().await;
    assert!(!text.contains(&secret), "a token reached the log:\n{text}");
    for want in [
        "method=GET path=/kiosk client=127.0.0.1",
        "path=/t/…",
        "path=/api/v1/nowhere",
        "status=200",
        "status=404",
    ] {
        assert!(text.contains(want), "{want:?} not in the log:\n{text}");
    }
}
