//! `luot replay` and `luot simulate-arrivals` as a center uses them: a recorded day (a committed
//! fixture of the built-in center) replayed in each format, the same seed giving the same
//! figures, a "what if" with a staffing file, and bad files named by line and column.
//!
//! Runs the built binary (`cargo build -p luot` first), like cli.rs.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;
use tokio::process::Command;

/// A replay runs hundreds of forward simulations per day; a debug build on a busy machine is
/// slow, so the bound is generous (it only turns a hang into a failure).
const REPLAY_TIMEOUT: Duration = Duration::from_secs(600);

fn luot() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/debug/deps/..");
    let bin = dir.join(format!("luot{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "the luot binary is not built ({} is missing): run `cargo build -p luot` first",
        bin.display()
    );
    bin
}

pub(super) fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/replay")
        .join(name)
        .display()
        .to_string()
}

pub(super) async fn run(args: &[&str]) -> Output {
    let child = Command::new(luot())
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn luot");
    tokio::time::timeout(REPLAY_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("luot {} took over {REPLAY_TIMEOUT:?}", args.join(" ")))
        .expect("luot ran")
}

pub(super) fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub(super) fn failed(o: &Output) -> String {
    assert!(!o.status.success(), "expected a failure, got success");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn replay_reports_the_promised_waits_of_a_recorded_day() {
    let day = fixture("day-tue-quiet.csv");
    let json = ok(&run(&[
        "replay",
        "--arrivals",
        &day,
        "--seed",
        "3",
        "--format",
        "json",
    ])
    .await);
    let v: Value = serde_json::from_str(&json).expect("json output");
    for key in [
        "tickets",
        "inside_range_share",
        "median_width_s",
        "median_abs_error_share",
        "median_wait_s",
        "p90_wait_s",
    ] {
        assert!(!v[key].is_null(), "{key} missing in {json}");
        for d in ["ho-tich", "chung-thuc", "dat-dai"] {
            assert!(
                v["departments"][d].get(key).is_some(),
                "{key} missing for {d}"
            );
        }
    }
    let tickets = v["tickets"].as_u64().unwrap();
    let rows = std::fs::read_to_string(&day).unwrap().lines().count() as u64 - 1;
    assert_eq!(
        tickets + v["refused"].as_u64().unwrap(),
        rows,
        "every arrival is accounted for"
    );
    let inside = v["inside_range_share"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&inside));

    // The same seed gives the same figures.
    let again = ok(&run(&[
        "replay",
        "--arrivals",
        &day,
        "--seed",
        "3",
        "--format",
        "json",
    ])
    .await);
    assert_eq!(json, again);

    // CSV: a header, the whole day, then one row per department.
    let csv = ok(&run(&[
        "replay",
        "--arrivals",
        &day,
        "--seed",
        "3",
        "--format",
        "csv",
    ])
    .await);
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("scope,tickets,served,with_range")
    );
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with(&format!("all,{tickets},"))
    );
    assert!(csv.lines().any(|l| l.starts_with("dat-dai,")));

    // The table says what it measured in both languages.
    let table = ok(&run(&["replay", "--arrivals", &day, "--seed", "3"]).await);
    assert!(
        table.contains("Replayed 1 day(s)") && table.contains("Chạy lại 1 ngày"),
        "{table}"
    );
}

#[tokio::test]
async fn a_staffing_file_replays_the_same_day_with_other_counters() {
    let day = fixture("day-tue-quiet.csv");
    let base: Value = serde_json::from_str(&ok(&run(&[
        "replay",
        "--arrivals",
        &day,
        "--format",
        "json",
    ])
    .await))
    .unwrap();
    let fewer: Value = serde_json::from_str(&ok(&run(&[
        "replay",
        "--arrivals",
        &day,
        "--staffing",
        &fixture("staffing-one-land-counter.csv"),
        "--format",
        "json",
    ])
    .await))
    .unwrap();
    let land = |v: &Value| {
        v["departments"]["dat-dai"]["median_wait_s"]
            .as_u64()
            .unwrap()
    };
    assert!(
        land(&fewer) > land(&base),
        "one land counter: median land wait {} s, two: {} s",
        land(&fewer),
        land(&base)
    );
}

#[tokio::test]
async fn simulated_arrivals_replay_and_bad_files_are_named_by_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("day.csv");
    let out_s = out.display().to_string();
    ok(&run(&["simulate-arrivals", "--seed", "9", "--output", &out_s]).await);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("arrival,service,priority,service_s,no_show,channel\n"));
    assert!(text.lines().count() > 100, "a realistic day has citizens");
    // Same seed, same day.
    let again = dir.path().join("again.csv");
    ok(&run(&[
        "simulate-arrivals",
        "--seed",
        "9",
        "--output",
        &again.display().to_string(),
    ])
    .await);
    assert_eq!(text, std::fs::read_to_string(&again).unwrap());

    let bad = dir.path().join("bad.csv");
    let bad_s = bad.display().to_string();
    let cases = [
        (
            "arrival,service,service_s\n07:30:00,khai-sinh,600\n7h45,khai-sinh,600\n",
            ":3:1: arrival",
        ),
        (
            "arrival,service,service_s\n07:30:00,khong-co,600\n",
            ":2:2: service",
        ),
        (
            "arrival,department,service_s\n07:30:00,Z,600\n",
            ":2:2: department",
        ),
        (
            "arrival,service,service_s,priority\n07:30:00,khai-sinh,600,vip\n",
            ":2:4: priority",
        ),
        (
            "arrival,service,service_s\n07:30:00,khai-sinh,-5\n",
            ":2:3: service_s",
        ),
        (
            "arrival,service,service_s,no_show\n07:30:00,khai-sinh,60,yes\n",
            ":2:4: no_show",
        ),
        (
            "arrival,service\n07:30:00,khai-sinh\n",
            "missing column \"service_s\"",
        ),
        (
            "arrival,service,service_s,colour\n07:30:00,khai-sinh,60,red\n",
            ":1:4: cột không rõ",
        ),
    ];
    for (body, expect) in cases {
        std::fs::write(&bad, body).unwrap();
        let err = failed(&run(&["replay", "--arrivals", &bad_s]).await);
        assert!(
            err.contains(expect),
            "for {body:?} expected {expect:?} in:\n{err}"
        );
        assert!(err.contains(&bad_s), "the file is named: {err}");
    }
    std::fs::write(&bad, "from,to,counter,open\n07:00,11:30,quay-99,1\n").unwrap();
    let err = failed(&run(&["replay", "--arrivals", &out_s, "--staffing", &bad_s]).await);
    assert!(err.contains(":2:3: counter"), "{err}");
    // A department by its ticket prefix is picked among its procedures.
    std::fs::write(
        &bad,
        "arrival,department,service_s\n07:30:00,C,900\n07:31:00,dat-dai,900\n",
    )
    .unwrap();
    let v: Value = serde_json::from_str(&ok(&run(&[
        "replay",
        "--arrivals",
        &bad_s,
        "--format",
        "json",
    ])
    .await))
    .unwrap();
    assert_eq!(v["departments"]["dat-dai"]["tickets"], 2);
}
