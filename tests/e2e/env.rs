//! Every `serve` option also from the environment (issue #10, item 3), as a service unit's
//! `EnvironmentFile` sets them; the command line wins over a variable; a bad value, from either,
//! gets clap's error naming the option and the value.

use crate::spawned::{Spawned, run, stderr, stdout};
use luot_tests::{Http, SITE, START_RFC3339};

#[tokio::test]
async fn serve_takes_its_options_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("from-env");
    let config = dir.path().join("center.toml");
    std::fs::write(
        &config,
        luot_proto::config::DEFAULT_CONFIG_TOML.replacen(
            "vi = \"Trung tâm Phục vụ hành chính công phường Sa Huỳnh\"",
            "vi = \"Trung tâm từ biến môi trường\"",
            1,
        ),
    )
    .unwrap();
    let env = [
        ("LUOT_DATA", data.to_str().unwrap()),
        ("LUOT_CONFIG", config.to_str().unwrap()),
        ("LUOT_LISTEN", "127.0.0.1:0"),
        ("LUOT_PUBLIC_URL", "http://luot.local:9000/"),
        ("LUOT_START_CLOCK", START_RFC3339),
        ("LUOT_ISSUE_BURST", "1"),
    ];
    let mut s = Spawned::spawn(&["serve"], &env).await;
    assert_eq!(s.base, "http://luot.local:9000", "LUOT_PUBLIC_URL");
    s.until("Trung tâm từ biến môi trường").await; // LUOT_CONFIG
    let kiosk_line = s.until("/kiosk?device=").await;
    assert!(
        kiosk_line.contains("http://luot.local:9000/kiosk?device="),
        "{kiosk_line}"
    );
    let kiosk = kiosk_line
        .rsplit("?device=")
        .next()
        .unwrap()
        .trim()
        .to_string();
    assert!(data.join("luot.db").exists(), "LUOT_DATA");
    s.log_with("running on a shifted clock").await; // LUOT_START_CLOCK

    // LUOT_START_CLOCK puts the server on Monday morning, when the center is open; and
    // LUOT_ISSUE_BURST=1 lets a kiosk take one ticket at once, not ten.
    let http = Http::new(&s.local_base()).with_header("authorization", &format!("Bearer {kiosk}"));
    let path = format!("/api/v1/sites/{SITE}/tickets");
    let body = serde_json::json!({"service": "khai-sinh"});
    let r = http.post(&path, &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(
        r.json()["url"]
            .as_str()
            .unwrap()
            .starts_with("http://luot.local:9000/t/"),
        "{}",
        r.text
    );
    let r = http.post(&path, &body).await;
    assert_eq!(
        r.status, 429,
        "the second ticket at once is over the burst of 1: {}",
        r.text
    );
    s.terminate().await;

    // The command line wins over the environment.
    let s = Spawned::spawn(&["serve", "--public-url", "http://quay.local"], &env).await;
    assert_eq!(s.base, "http://quay.local");
    s.terminate().await;

    // The other commands find the folder through LUOT_DATA too.
    let o = run(
        &["config", "export"],
        &[("LUOT_DATA", data.to_str().unwrap())],
        "",
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Trung tâm từ biến môi trường"),
        "{}",
        stdout(&o)
    );
    let o = run(
        &["device", "list"],
        &[("LUOT_DATA", data.to_str().unwrap())],
        "",
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("kiosk"), "{}", stdout(&o));
}

#[tokio::test]
async fn bad_values_from_the_environment_or_the_command_line_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    for (env, args, says) in [
        (
            vec![("LUOT_ISSUE_RATE", "fast")],
            vec!["serve", "--data", d],
            "invalid value 'fast' for '--issue-rate <ISSUE_RATE>'",
        ),
        (
            vec![("LUOT_PUBLIC_URL", "http://192.168.1.10:8080/luot")],
            vec!["serve", "--data", d],
            "a public URL is scheme://host[:port], without a path",
        ),
        (
            vec![("LUOT_PUBLIC_URL", "192.168.1.10:8080")],
            vec!["serve", "--data", d],
            "it must start with http:// or https://",
        ),
        (
            vec![("LUOT_START_CLOCK", "yesterday")],
            vec!["serve", "--data", d],
            "invalid value 'yesterday' for '--start-clock <START_CLOCK>'",
        ),
        (
            vec![("LUOT_LOG_FORMAT", "xml")],
            vec!["serve", "--data", d],
            "invalid value 'xml' for '--log-format <LOG_FORMAT>'",
        ),
        (
            vec![],
            vec!["report", "--by", "month", "--data", d],
            "invalid value 'month' for '--by <BY>'",
        ),
        (
            vec![],
            vec!["report", "--format", "pdf", "--data", d],
            "[possible values: table, csv, ratings-csv, xlsx, json]",
        ),
        (
            vec![],
            vec![
                "user", "add", "x", "--name", "X", "--role", "boss", "--data", d,
            ],
            "[possible values: official, manager, admin]",
        ),
        (
            vec![],
            vec!["device", "pair", "--kind", "tv", "--name", "X", "--data", d],
            "[possible values: kiosk, display, counter_display, rating]",
        ),
    ] {
        let o = run(&args, &env, "").await;
        assert_eq!(o.status.code(), Some(2), "{args:?} {env:?}: {}", stdout(&o));
        assert!(
            stderr(&o).contains(says),
            "{args:?} {env:?}:\n{}",
            stderr(&o)
        );
    }
    assert!(!data.exists(), "nothing was started or written");
}

#[tokio::test]
async fn help_names_each_variable_and_marks_the_testing_option() {
    let o = run(&["serve", "--help"], &[], "").await;
    assert!(o.status.success(), "{}", stderr(&o));
    let help = stdout(&o);
    for var in [
        "LUOT_DATA",
        "LUOT_CONFIG",
        "LUOT_LISTEN",
        "LUOT_PUBLIC_URL",
        "LUOT_ASSETS",
        "LUOT_ISSUE_RATE",
        "LUOT_ISSUE_BURST",
        "LUOT_WS_MAX",
        "LUOT_WS_ANONYMOUS_MAX",
        "LUOT_SECURE_COOKIES",
        "LUOT_START_CLOCK",
        "LUOT_LOG_FORMAT",
    ] {
        assert!(help.contains(&format!("[env: {var}=")), "{var} in:\n{help}");
    }
    let testing = help.find("Testing:").expect("a Testing section");
    assert!(
        help[testing..].contains("--start-clock"),
        "--start-clock under Testing:\n{help}"
    );
}
