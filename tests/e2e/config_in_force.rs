//! The configuration in force lives in the database (issue #10, item 2): what a manager applied
//! on the admin page is what runs after a restart; `serve --config FILE` applies a file only
//! when it changed, through the admin page's checks, and says which configuration runs;
//! `config export`/`config import` script it; the other commands read it.

use crate::spawned::{Spawned, first_start_secrets, run, stderr, stdout};
use luot_tests::{Http, SITE};
use serde_json::json;
use std::path::Path;

const SITE_NAME: &str = "Trung tâm Phục vụ hành chính công phường Sa Huỳnh";

/// The built-in configuration with the site renamed: a change the banner shows.
fn renamed(to: &str) -> String {
    let text = luot_proto::config::DEFAULT_CONFIG_TOML;
    // The site's name, not the comment at the top of the file that also says it.
    let name = format!("vi = \"{SITE_NAME}\"");
    assert!(text.contains(&name));
    text.replacen(&name, &format!("vi = \"{to}\""), 1)
}

fn versions(data: &Path) -> i64 {
    let c = rusqlite::Connection::open(data.join("luot.db")).unwrap();
    c.query_row("SELECT count(*) FROM config_versions", [], |r| r.get(0))
        .unwrap()
}

async fn login(base: &str, password: &str) -> Http {
    let http = Http::new(base);
    let r = http
        .post(
            "/api/v1/login",
            &json!({"login": "admin", "password": password}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    http
}

/// Starts, reads the banner to the site's name; returns the server and that line.
async fn start(data: &Path, extra: &[&str]) -> (Spawned, String) {
    let mut s = Spawned::start(data, extra, &[]).await;
    let config = s.until("Cấu hình · Configuration:").await;
    s.until("").await; // the blank line after it
    let site = s.until("  ").await;
    (s, format!("{config}\n{site}"))
}

#[tokio::test]
async fn a_change_made_on_the_admin_page_survives_restarts_and_files_apply_only_when_changed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file_a = dir.path().join("a.toml");
    std::fs::write(&file_a, luot_proto::config::DEFAULT_CONFIG_TOML).unwrap();
    let a = file_a.to_str().unwrap();

    // First start with file A: version 1.
    let mut s = Spawned::start(&data, &["--config", a], &[]).await;
    let (password, kiosk) = first_start_secrets(&mut s).await;
    let banner = s.banner.join("\n");
    assert!(
        banner.contains(&format!("configuration version 1 from {a} (first start)")),
        "{banner}"
    );
    assert!(banner.contains(SITE_NAME), "{banner}");

    // A manager renames the site on the admin page: version 2, live.
    let admin = login(&s.local_base(), &password).await;
    let r = admin
        .put(
            "/api/v1/admin/config",
            &json!({"toml": renamed("Trung tâm B")}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["version"], 2);
    s.terminate().await;

    // Restart without --config: version 2 runs, and the log says so.
    let (s, head) = start(&data, &[]).await;
    assert!(
        head.contains("the configuration in force, version 2"),
        "{head}"
    );
    assert!(head.contains("Trung tâm B"), "{head}");
    let admin = login(&s.local_base(), &password).await;
    let r = admin.get("/api/v1/admin/config").await;
    assert_eq!(r.json()["version"], 2);
    assert_eq!(r.json()["toml"], renamed("Trung tâm B").as_str());
    s.log_with("the configuration in force, version 2").await;
    s.terminate().await;

    // Restart with the same file A as at the first start: A has not changed since it was
    // applied, so the manager's version 2 stays in force (a service unit always passes it).
    let (s, head) = start(&data, &["--config", a]).await;
    assert!(
        head.contains(&format!(
            "the configuration in force, version 2: {a} has not changed since it was last applied"
        )),
        "{head}"
    );
    assert!(head.contains("Trung tâm B"), "{head}");
    s.terminate().await;
    assert_eq!(versions(&data), 2);

    // Restart with a different file C: applied as version 3, and logged.
    let file_c = dir.path().join("c.toml");
    std::fs::write(&file_c, renamed("Trung tâm C")).unwrap();
    let c = file_c.to_str().unwrap();
    let (s, head) = start(&data, &["--config", c]).await;
    assert!(
        head.contains(&format!("applied {c} as configuration version 3")),
        "{head}"
    );
    assert!(head.contains("Trung tâm C"), "{head}");
    s.log_with(&format!("applied {c} as configuration version 3"))
        .await;

    // A citizen takes a ticket for khai-sinh (A001) while version 3 runs.
    let r = Http::new(&s.local_base())
        .with_header("authorization", &format!("Bearer {kiosk}"))
        .post(
            &format!("/api/v1/sites/{SITE}/tickets"),
            &json!({"service": "khai-sinh"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    s.terminate().await;

    // The same file C again: nothing new is recorded.
    let (s, head) = start(&data, &["--config", c]).await;
    assert!(
        head.contains("the configuration in force, version 3"),
        "{head}"
    );
    s.terminate().await;
    assert_eq!(versions(&data), 3);

    // A file without khai-sinh would strand A001: refused with the admin page's message, in
    // both languages; the server does not start and nothing is recorded.
    let file_d = dir.path().join("d.toml");
    let without =
        renamed("Trung tâm C").replace("code = \"khai-sinh\"\n", "code = \"khai-sinh-moi\"\n");
    std::fs::write(&file_d, &without).unwrap();
    let d = file_d.to_str().unwrap();
    let o = run(
        &[
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--config",
            d,
            "--start-clock",
            luot_tests::START_RFC3339,
        ],
        &[],
        "",
    )
    .await;
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("the configuration {d} was not applied"))
            && err.contains("Service 'khai-sinh' still has tickets (e.g. A001)")
            && err.contains("Thủ tục 'khai-sinh' còn người chờ (số A001)"),
        "{err}"
    );
    assert_eq!(versions(&data), 3, "a refused file is not recorded");

    // The same refusal from `config import`; export gives back version 3 exactly.
    let dd = data.to_str().unwrap();
    let o = run(&["config", "import", d, "--data", dd], &[], "").await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("Service 'khai-sinh' still has tickets (e.g. A001)"),
        "{}",
        stderr(&o)
    );
    let o = run(&["config", "export", "--data", dd], &[], "").await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), renamed("Trung tâm C"));
    assert_eq!(versions(&data), 3);

    // After the restart, A001 still waits under version 3.
    let (s, head) = start(&data, &[]).await;
    assert!(head.contains("version 3"), "{head}");
    let snap = Http::new(&s.local_base())
        .get(&format!("/api/v1/sites/{SITE}/snapshot"))
        .await;
    assert_eq!(
        snap.json()["snapshot"]["waiting"][0]["number"],
        "A001",
        "{}",
        snap.text
    );
    s.terminate().await;
}

#[tokio::test]
async fn config_export_and_import_script_the_configuration_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let dd = data.to_str().unwrap();

    // Nothing to export before a database exists.
    let o = run(&["config", "export", "--data", dd], &[], "").await;
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no database"), "{}", stderr(&o));

    // Import into a new folder: version 1, and the first start runs it.
    let file = dir.path().join("center.toml");
    std::fs::write(&file, renamed("Trung tâm Nhập")).unwrap();
    let f = file.to_str().unwrap();
    let o = run(&["config", "import", f, "--data", dd], &[], "").await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("imported {f} as configuration version 1")),
        "{}",
        stdout(&o)
    );
    let o = run(&["config", "import", f, "--data", dd], &[], "").await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("is already the configuration in force (version 1); nothing changed"),
        "{}",
        stdout(&o)
    );

    // A broken file: every error with its file, line and column, nothing recorded.
    let bad = dir.path().join("bad.toml");
    let broken = renamed("Trung tâm Nhập").replacen("code = \"quay-1\"", "code = \"quay 1\"", 1);
    let line = 1 + broken
        .lines()
        .position(|l| l == "code = \"quay 1\"")
        .expect("the broken line");
    std::fs::write(&bad, &broken).unwrap();
    let o = run(
        &["config", "import", bad.to_str().unwrap(), "--data", dd],
        &[],
        "",
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(&format!("{}:{line}:8", bad.display()))
            && stderr(&o).contains("quay 1"),
        "{}",
        stderr(&o)
    );
    assert_eq!(versions(&data), 1);

    let (s, head) = start(&data, &[]).await;
    assert!(head.contains("Trung tâm Nhập"), "{head}");

    // While a server runs on the folder, import is refused and says how to apply instead.
    let other = dir.path().join("other.toml");
    std::fs::write(&other, renamed("Trung tâm Khác")).unwrap();
    let o = run(
        &["config", "import", other.to_str().unwrap(), "--data", dd],
        &[],
        "",
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("is running on") && stderr(&o).contains("admin page"),
        "{}",
        stderr(&o)
    );
    // And a second server on the same folder is refused.
    let o = run(&["serve", "--data", dd, "--listen", "127.0.0.1:0"], &[], "").await;
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("another Luot server"), "{}", stderr(&o));

    // Export writes the text in force, byte for byte.
    let out = dir.path().join("export.toml");
    let o = run(
        &[
            "config",
            "export",
            "--data",
            dd,
            "--output",
            out.to_str().unwrap(),
        ],
        &[],
        "",
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        renamed("Trung tâm Nhập")
    );
    s.terminate().await;

    // Stopped: the import goes through, and the next start runs it.
    let o = run(
        &["config", "import", other.to_str().unwrap(), "--data", dd],
        &[],
        "",
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let (s, head) = start(&data, &[]).await;
    assert!(
        head.contains("version 2") && head.contains("Trung tâm Khác"),
        "{head}"
    );
    s.terminate().await;
}

#[tokio::test]
async fn commands_read_the_configuration_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let dd = data.to_str().unwrap();
    // A center whose site and counters are renamed: sa-huynh becomes phuong-x, quay-1… ban-1…
    let text = luot_proto::config::DEFAULT_CONFIG_TOML
        .replace("code = \"quay-", "code = \"ban-")
        .replacen("code = \"sa-huynh\"", "code = \"phuong-x\"", 1);
    assert!(text.contains("code = \"ban-1\"") && text.contains("phuong-x"));
    let file = dir.path().join("center.toml");
    std::fs::write(&file, &text).unwrap();
    let mut s = Spawned::start(&data, &["--config", file.to_str().unwrap()], &[]).await;
    first_start_secrets(&mut s).await;

    // `user add --counters` knows the counters in force.
    let add = |counters: &'static str| {
        let dd = dd.to_string();
        async move {
            run(
                &[
                    "user",
                    "add",
                    "thu-ky",
                    "--name",
                    "Thư ký",
                    "--counters",
                    counters,
                    "--password-stdin",
                    "--data",
                    &dd,
                ],
                &[],
                &format!("{}\n", luot_tests::PASSWORD),
            )
            .await
        }
    };
    let o = add("nope").await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no counter nope in the configuration in force")
            && stderr(&o).contains("ban-1"),
        "{}",
        stderr(&o)
    );
    let o = add("quay-1").await;
    assert_eq!(
        o.status.code(),
        Some(2),
        "quay-1 is not in force: {}",
        stdout(&o)
    );
    let o = add("ban-1,ban-2").await;
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(
        &[
            "user",
            "edit",
            "thu-ky",
            "--counters",
            "ban-1,nope",
            "--data",
            dd,
        ],
        &[],
        "",
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no counter nope"), "{}", stderr(&o));

    // `device pair` checks the counter and prints the address the server announced.
    let o = run(
        &[
            "device",
            "pair",
            "--kind",
            "rating",
            "--name",
            "Đánh giá",
            "--counter",
            "quay-1",
            "--data",
            dd,
        ],
        &[],
        "",
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no counter \"quay-1\""),
        "{}",
        stderr(&o)
    );
    let o = run(
        &[
            "device",
            "pair",
            "--kind",
            "counter-display",
            "--name",
            "Quầy 1",
            "--counter",
            "ban-1",
            "--data",
            dd,
        ],
        &[],
        "",
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!(
            "open on the device: {}/counter-display?device=",
            s.base
        )) && stdout(&o).contains("&counter=ban-1"),
        "{}",
        stdout(&o)
    );

    let o = run(&["device", "list", "--data", dd], &[], "").await;
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l.contains("Quầy 1") && l.contains("phuong-x") && l.contains("ban-1")),
        "paired to the site in force: {}",
        stdout(&o)
    );

    // `report` knows the site in force (the built-in example has no phuong-x).
    let o = run(
        &[
            "report", "--site", "phuong-x", "--format", "csv", "--data", dd,
        ],
        &[],
        "",
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("mã,tên,số phiếu cấp"),
        "Vietnamese column names by default: {}",
        stdout(&o)
    );
    let o = run(
        &[
            "report", "--site", "phuong-x", "--format", "csv", "--lang", "en", "--data", dd,
        ],
        &[],
        "",
    )
    .await;
    assert!(
        stdout(&o).contains("code,name,issued,served") && stdout(&o).contains(",Total,"),
        "English with --lang en: {}",
        stdout(&o)
    );
    let o = run(
        &[
            "report", "--site", "sa-huynh", "--format", "csv", "--data", dd,
        ],
        &[],
        "",
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no site \"sa-huynh\""),
        "{}",
        stderr(&o)
    );
    s.terminate().await;
}

#[tokio::test]
async fn simulate_runs_on_the_configuration_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let dd = data.to_str().unwrap();
    let text = luot_proto::config::DEFAULT_CONFIG_TOML.replacen(
        "code = \"sa-huynh\"",
        "code = \"phuong-x\"",
        1,
    );
    let file = dir.path().join("center.toml");
    std::fs::write(&file, &text).unwrap();
    let o = run(
        &["config", "import", file.to_str().unwrap(), "--data", dd],
        &[],
        "",
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));

    // A different file is refused rather than silently simulated over the one in force.
    let builtin = dir.path().join("builtin.toml");
    std::fs::write(&builtin, luot_proto::config::DEFAULT_CONFIG_TOML).unwrap();
    let sim = |extra: &[&str]| {
        let mut args = vec![
            "simulate",
            "--from",
            "2026-11-30",
            "--days",
            "1",
            "--arrivals",
            "40",
            "--data",
            dd,
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let args = sim(&["--config", builtin.to_str().unwrap()]);
    let o = run(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &[],
        "",
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("already has a configuration in force (version 1)"),
        "{}",
        stderr(&o)
    );
    // The site in force is simulated; the built-in example's is unknown here.
    let args = sim(&["--site", "sa-huynh"]);
    let o = run(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &[],
        "",
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no site \"sa-huynh\""),
        "{}",
        stderr(&o)
    );
    let args = sim(&[]);
    let o = run(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &[],
        "",
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let simulated = stdout_tickets(&stdout(&o));
    assert!(simulated > 0, "{}", stdout(&o));
    assert_eq!(
        versions(&data),
        1,
        "simulate recorded no other configuration"
    );
    let o = run(
        &[
            "report",
            "--site",
            "phuong-x",
            "--from",
            "2026-11-30",
            "--format",
            "json",
            "--data",
            dd,
        ],
        &[],
        "",
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["site"], "phuong-x", "{r}");
    assert_eq!(r["total"]["issued"], simulated, "{r}");
}

/// The ticket count in `luot simulate`'s last line: "simulated N open days, T tickets, into …".
fn stdout_tickets(out: &str) -> u64 {
    let line = out
        .lines()
        .find(|l| l.starts_with("simulated "))
        .unwrap_or_else(|| panic!("{out}"));
    line.split(", ")
        .nth(1)
        .and_then(|t| t.strip_suffix(" tickets"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"))
}
