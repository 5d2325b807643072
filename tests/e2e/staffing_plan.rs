//! `luot staffing-plan` checked the way a manager would check it (issue 12, item 5): the plan it
//! writes is replayed with `luot replay --staffing` through the CLI, and every half hour and
//! department it claims as met must have p90 ≤ target on that replay; it never opens more
//! counters than officials; with too few officials it says which target is missed and by how
//! much, and the replay agrees.
//!
//! Runs the built binary (`cargo build -p luot` first), like replay.rs.

use super::replay::{failed, fixture, ok, run};
use luot_server::clock::OffsetClock;
use luot_tests::{SITE, START_MS, Setup, TestServer, Who};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Plans `day` with `extra` arguments, writing the plan to `plan`; returns the JSON report.
async fn plan_day(day: &str, plan: &Path, extra: &[&str]) -> Value {
    let plan_s = plan.display().to_string();
    let mut args = vec![
        "staffing-plan",
        "--arrivals",
        day,
        "--seed",
        "3",
        "--output",
        &plan_s,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    serde_json::from_str(&ok(&run(&args).await)).expect("json report")
}

/// `luot replay` of `day` with `staffing`: the day's figures per (half hour, department).
async fn replay_halves(day: &str, staffing: &Path) -> BTreeMap<(String, String), Value> {
    replay_halves_with(day, staffing, &["--seed", "3"]).await
}

async fn replay_halves_with(
    day: &str,
    staffing: &Path,
    extra: &[&str],
) -> BTreeMap<(String, String), Value> {
    let staffing = staffing.display().to_string();
    let mut args = vec![
        "replay",
        "--arrivals",
        day,
        "--staffing",
        &staffing,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let v: Value = serde_json::from_str(&ok(&run(&args).await)).expect("replay json");
    v["days"][0]["half_hours"]
        .as_array()
        .expect("half_hours in the replay's JSON")
        .iter()
        .map(|h| {
            (
                (
                    h["from"].as_str().unwrap().to_string(),
                    h["department"].as_str().unwrap().to_string(),
                ),
                h.clone(),
            )
        })
        .collect()
}

/// The staffing CSV's rows: open counters per half hour start. Checks the format as it goes.
fn open_counters(plan: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(plan).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("from,to,counter,open"));
    let mut by: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 4, "{line}");
        assert_eq!(f[3], "1", "{line}");
        assert!(f[0] < f[1], "{line}");
        assert!(
            by.entry(f[0].to_string())
                .or_default()
                .insert(f[2].to_string()),
            "a counter twice in one half hour: {line}"
        );
    }
    by
}

/// The half hours and departments the plan claims as met that the replay does not bear out.
fn broken_claims(plan: &Value, replay: &BTreeMap<(String, String), Value>) -> Vec<String> {
    broken(
        plan["target_s"].as_u64().unwrap(),
        &plan["half_hours"],
        replay,
    )
}

/// `checks`: the plan's half hours and departments (`from`, `department`, `met`).
fn broken(target: u64, checks: &Value, replay: &BTreeMap<(String, String), Value>) -> Vec<String> {
    let mut bad = Vec::new();
    for h in checks.as_array().unwrap() {
        if h["met"] != Value::Bool(true) {
            continue;
        }
        let key = (
            h["from"].as_str().unwrap().to_string(),
            h["department"].as_str().unwrap().to_string(),
        );
        let Some(r) = replay.get(&key) else {
            bad.push(format!("{key:?}: not in the replay"));
            continue;
        };
        let p90 = r["p90_wait_s"].as_u64();
        if r["served"] != r["tickets"] || p90.is_none_or(|p| p > target) {
            bad.push(format!("{key:?}: claimed met, replay {r}"));
        }
    }
    bad
}

#[tokio::test]
async fn staffing_plan_meets_on_the_replay_what_it_claims() {
    let dir = tempfile::tempdir().unwrap();
    let day = fixture("day-tue-quiet.csv");
    let plan_csv = dir.path().join("plan.csv");
    let plan = plan_day(&day, &plan_csv, &[]).await;
    // Default officials: every counter of the built-in center; default target: its policy.
    assert_eq!(plan["officials"], 10);
    assert_eq!(plan["target_s"], 15 * 60);
    let halves = plan["half_hours"].as_array().unwrap();
    let met = halves.iter().filter(|h| h["met"] == true).count();
    assert!(
        met * 2 > halves.len(),
        "most half hours of a quiet day are met: {met} of {}",
        halves.len()
    );
    for (from, counters) in open_counters(&plan_csv) {
        assert!(counters.len() <= 10, "{from}: {counters:?}");
    }

    let replay = replay_halves(&day, &plan_csv).await;
    let bad = broken_claims(&plan, &replay);
    assert!(
        bad.is_empty(),
        "claims the replay does not bear out:\n{bad:#?}"
    );
    // And the figures the plan reports are the replay's.
    assert_eq!(replay.len(), halves.len());
    for h in halves {
        let r = &replay[&(
            h["from"].as_str().unwrap().to_string(),
            h["department"].as_str().unwrap().to_string(),
        )];
        assert_eq!(h["p90_wait_s"], r["p90_wait_s"], "{h} / {r}");
        assert_eq!(h["tickets"], r["tickets"], "{h} / {r}");
    }

    // The check can fail: the same claims against a plan with one counter fewer in every busy
    // half hour are not borne out.
    let text = std::fs::read_to_string(&plan_csv).unwrap();
    let mut seen = BTreeSet::new();
    let thinner: Vec<&str> = text
        .lines()
        .filter(|l| {
            let from = l.split(',').next().unwrap();
            // Drop the first counter of each half hour that has more than two.
            let n = text
                .lines()
                .filter(|x| x.starts_with(&format!("{from},")))
                .count();
            !(n > 2 && seen.insert(from.to_string()))
        })
        .collect();
    let thin_csv = dir.path().join("thin.csv");
    std::fs::write(&thin_csv, thinner.join("\n") + "\n").unwrap();
    let thin = replay_halves(&day, &thin_csv).await;
    assert!(
        !broken_claims(&plan, &thin).is_empty(),
        "fewer counters should break some claim"
    );
}

#[tokio::test]
async fn staffing_plan_with_too_few_officials_says_which_target_is_missed_and_by_how_much() {
    let dir = tempfile::tempdir().unwrap();
    let day = fixture("day-tue-quiet.csv");
    let plan_csv = dir.path().join("plan.csv");
    let plan = plan_day(&day, &plan_csv, &["--officials", "4", "--target-min", "20"]).await;
    assert_eq!(plan["target_s"], 20 * 60);
    assert_eq!(plan["all_met"], false);
    assert!(plan["most_open"].as_u64().unwrap() <= 4);
    for (from, counters) in open_counters(&plan_csv) {
        assert!(counters.len() <= 4, "{from}: {counters:?}");
    }
    let replay = replay_halves(&day, &plan_csv).await;
    assert!(broken_claims(&plan, &replay).is_empty());
    let missed: Vec<&Value> = plan["half_hours"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["met"] == false)
        .collect();
    assert!(!missed.is_empty());
    let mut by_how_much = 0;
    for h in &missed {
        assert!(h["shortfall"].is_string(), "{h}");
        if let Some(over) = h["over_s"].as_u64() {
            // By how much: the replay's p90 past the target.
            let r = &replay[&(
                h["from"].as_str().unwrap().to_string(),
                h["department"].as_str().unwrap().to_string(),
            )];
            assert_eq!(
                over + 20 * 60,
                r["p90_wait_s"].as_u64().unwrap(),
                "{h} / {r}"
            );
            assert!(over > 0);
            by_how_much += 1;
        }
    }
    assert!(by_how_much > 0);
    assert!(
        missed.iter().any(|h| h["shortfall"] == "no_official_left"),
        "{missed:?}"
    );

    // The table says it in both languages.
    let table = ok(&run(&[
        "staffing-plan",
        "--arrivals",
        &day,
        "--seed",
        "3",
        "--officials",
        "4",
        "--target-min",
        "20",
    ])
    .await);
    for want in [
        "Kế hoạch phân ca",
        "Staffing plan",
        "KHÔNG ĐẠT, quá",
        "MISSED by",
        "hết cán bộ",
        "no official left",
    ] {
        assert!(table.contains(want), "{want:?} missing in:\n{table}");
    }
}

#[tokio::test]
async fn staffing_plan_refuses_bad_arguments_in_both_languages() {
    let dir = tempfile::tempdir().unwrap();
    let day = fixture("day-tue-quiet.csv");
    let cases: [(&[&str], &str); 3] = [
        (&["--officials", "0"], "phải ít nhất 1 / must be at least 1"),
        (
            &["--target-min", "0"],
            "phải trong 1–240 phút / must be within",
        ),
        (
            &["--target-min", "241"],
            "phải trong 1–240 phút / must be within",
        ),
    ];
    for (extra, expect) in cases {
        let mut args = vec!["staffing-plan", "--arrivals", &day];
        args.extend_from_slice(extra);
        let err = failed(&run(&args).await);
        assert!(
            err.contains(expect),
            "{extra:?}: expected {expect:?} in:\n{err}"
        );
    }
    let err = failed(&run(&["staffing-plan", "--arrivals", "/nonexistent/day.csv"]).await);
    assert!(err.contains("không đọc được / cannot read"), "{err}");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "arrival,service,service_s\n07:30:00,khong-co,600\n").unwrap();
    let err = failed(&run(&["staffing-plan", "--arrivals", &bad.display().to_string()]).await);
    assert!(
        err.contains(":2:2: service") && err.contains("không có thủ tục"),
        "{err}"
    );
}

// ----- the reports page's plan, from the server's own history -----

/// A morning at the real server, on its clock: a citizen for a birth registration every 3
/// minutes from 09:00, each served for 7 minutes at counter 1 in turn, so the line grows.
/// Returns the number of tickets.
async fn a_morning_at_one_counter(s: &TestServer, clock: &OffsetClock) -> usize {
    const N: i64 = 10;
    const EVERY_MS: i64 = 3 * 60_000;
    const SERVICE_MS: i64 = 7 * 60_000;
    let admin = s.admin().await;
    let official = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    let mut counter = s.ws("counter", Who::Session(&official.session)).await;
    let mut kiosk = s.ws("kiosk", Who::Device(&s.first.kiosk_token)).await;
    // Each citizen is served from when the one before leaves, or from arriving.
    let mut moments: Vec<(i64, u8)> = Vec::new(); // (at, 0 complete / 1 issue / 2 call)
    let mut free = START_MS;
    for i in 0..N {
        let at = START_MS + i * EVERY_MS;
        let call = at.max(free);
        free = call + SERVICE_MS;
        moments.extend([(at, 1), (call, 2), (free, 0)]);
    }
    moments.sort();
    let set = |ms: i64| clock.set_offset_ms(ms - luot_tests::system_now_ms());
    set(START_MS);
    counter
        .ok(json!({"type": "open_counter", "counter": "quay-1"}))
        .await;
    for (at, what) in moments {
        set(at);
        match what {
            1 => {
                kiosk
                    .ok(json!({"type": "issue", "service": "khai-sinh"}))
                    .await;
            }
            2 => {
                counter
                    .ok(json!({"type": "call_next", "counter": "quay-1"}))
                    .await;
                counter
                    .ok(json!({"type": "start", "counter": "quay-1"}))
                    .await;
            }
            _ => {
                counter
                    .ok(json!({"type": "complete", "counter": "quay-1"}))
                    .await;
            }
        }
    }
    N as usize
}

/// The day's tickets as the server recorded them, as an arrivals file for `luot replay`.
fn recorded_arrivals(s: &TestServer, day: &str, path: &Path) {
    let conn = rusqlite::Connection::open(s.db_path()).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT issued_at, first_service, service_s FROM tickets
             WHERE day = ?1 AND issued_day = day ORDER BY issued_at",
        )
        .unwrap();
    let rows: Vec<(i64, String, i64)> = stmt
        .query_map([day], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut csv = String::from("arrival,service,service_s\n");
    for (at_ms, service, service_s) in rows {
        let local = (at_ms / 1000 + 7 * 3600).rem_euclid(86_400);
        csv.push_str(&format!(
            "{:02}:{:02}:{:02},{service},{service_s}\n",
            local / 3600,
            local / 60 % 60,
            local % 60
        ));
    }
    std::fs::write(path, csv).unwrap();
}

/// The server's plan as the staffing file `luot replay --staffing` reads.
fn staffing_file(plan: &Value, path: &Path) {
    let halves: Vec<&str> = plan["half_hours"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    let mut csv = String::from("from,to,counter,open\n");
    for c in plan["counters"].as_array().unwrap() {
        for (k, open) in c["open"].as_array().unwrap().iter().enumerate() {
            if open == true {
                let (h, m): (u32, u32) = (
                    halves[k][..2].parse().unwrap(),
                    halves[k][3..].parse().unwrap(),
                );
                let to = h * 60 + m + 30;
                csv.push_str(&format!(
                    "{},{:02}:{:02},{},1\n",
                    halves[k],
                    to / 60,
                    to % 60,
                    c["code"].as_str().unwrap()
                ));
            }
        }
    }
    std::fs::write(path, csv).unwrap();
}

#[tokio::test]
async fn the_reports_page_plans_a_past_day_of_the_centers_own_history_and_the_replay_bears_it_out()
{
    let clock = luot_tests::clock_at_start();
    let s = TestServer::start_with(Setup {
        clock: clock.clone(),
        ..Setup::default()
    })
    .await;
    let admin = s.admin().await;
    let plan_of = |q: &str| format!("/api/v1/sites/{SITE}/staffing-plan{q}");
    // A new center has no day to plan from: an empty plan, not an error.
    let r = admin.get(&plan_of("")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let empty = r.json();
    assert_eq!(empty["day"], Value::Null, "{empty}");
    assert_eq!(empty["checks"], json!([]), "{empty}");
    assert_eq!(empty["officials_from"], "counters", "{empty}");

    let tickets = a_morning_at_one_counter(&s, &clock).await;
    // Today cannot be planned from: the day is not over.
    let r = admin.get(&plan_of("?day=2026-11-30")).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "day_not_past"),
        "{}",
        r.text
    );

    // The next morning.
    clock.set_offset_ms(START_MS + 86_400_000 - luot_tests::system_now_ms());
    let admin = s.admin().await; // yesterday's session has expired
    let r = admin
        .get(&plan_of("?day=2026-11-30&officials=3&target_min=10"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let plan = r.json();
    assert_eq!(plan["day"], "2026-11-30");
    assert_eq!(plan["tickets"], tickets);
    assert_eq!(
        (plan["officials"].clone(), plan["officials_from"].clone()),
        (json!(3), json!("asked"))
    );
    assert_eq!(plan["target_s"], 600);
    assert_eq!(plan["all_met"], true, "{plan}");
    // One counter was not enough that morning (waits reached 36 minutes); the plan opens a
    // second, only counters that serve civil status, and never more than the officials.
    assert!(plan["most_open"].as_u64().unwrap() >= 2, "{plan}");
    assert!(plan["most_open"].as_u64().unwrap() <= 3, "{plan}");
    for c in plan["counters"].as_array().unwrap() {
        if c["open"].as_array().unwrap().contains(&json!(true)) {
            assert!(
                ["quay-1", "quay-2", "quay-10"].contains(&c["code"].as_str().unwrap()),
                "{c}"
            );
            assert!(!c["shifts"].as_array().unwrap().is_empty(), "{c}");
        }
    }
    // Departments by their names, in the page's language.
    for c in plan["checks"].as_array().unwrap() {
        assert_eq!(c["department_name"], "Tư pháp – Hộ tịch", "{c}");
    }

    // The replay of the recorded day with the plan bears out every claim.
    let dir = tempfile::tempdir().unwrap();
    let (arrivals, staffing) = (dir.path().join("day.csv"), dir.path().join("plan.csv"));
    recorded_arrivals(&s, "2026-11-30", &arrivals);
    staffing_file(&plan, &staffing);
    let day = arrivals.display().to_string();
    let replay = replay_halves_with(&day, &staffing, &["--seed", "1"]).await;
    let bad = broken(600, &plan["checks"], &replay);
    assert!(
        bad.is_empty(),
        "claims the replay does not bear out:\n{bad:#?}"
    );

    // One official: the target is missed, the plan says where, why and by how much, and the
    // replay of its one counter agrees.
    let r = admin
        .get(&plan_of(
            "?day=2026-11-30&officials=1&target_min=10&lang=en",
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let one = r.json();
    assert_eq!(one["all_met"], false, "{one}");
    assert_eq!(one["most_open"], 1);
    staffing_file(&one, &staffing);
    let replay = replay_halves_with(&day, &staffing, &["--seed", "1"]).await;
    assert!(broken(600, &one["checks"], &replay).is_empty());
    let missed: Vec<&Value> = one["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["met"] == false)
        .collect();
    assert!(!missed.is_empty());
    for c in missed {
        assert_eq!(c["shortfall"], "no_official_left", "{c}");
        assert_eq!(c["shortfall_text"], "no official left", "{c}");
        assert_eq!(c["department_name"], "Justice and civil status", "{c}");
        let r = &replay[&(
            c["from"].as_str().unwrap().to_string(),
            "ho-tich".to_string(),
        )];
        assert_eq!(
            c["over_s"].as_u64().unwrap(),
            r["p90_wait_s"].as_u64().unwrap() - 600,
            "{c} / {r}"
        );
    }

    // Without a day: the busiest of the last 28 days; the officials are the accounts.
    let r = admin.get(&plan_of("")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["day"], "2026-11-30");
    assert_eq!(r.json()["officials"], 1);
    assert_eq!(r.json()["officials_from"], "accounts");

    // The plan to pin up: one row per counter and shift, in Vietnamese by default.
    let r = admin
        .get(&plan_of(
            "?day=2026-11-30&officials=3&target_min=10&format=csv",
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut lines = r.text.lines();
    assert_eq!(lines.next(), Some("Ngày,Quầy,Lĩnh vực,Mở từ,Đến"));
    let shifts: usize = plan["counters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["shifts"].as_array().unwrap().len())
        .sum();
    assert_eq!(lines.clone().count(), shifts);
    assert!(
        lines.all(|l| l.starts_with("2026-11-30,Quầy ") && l.contains("Tư pháp – Hộ tịch")),
        "{}",
        r.text
    );

    // Bad input names the field.
    for (q, code) in [
        ("?day=2026-13-01", "invalid_field"),
        ("?day=2026-11-30&officials=0", "invalid_officials"),
        ("?day=2026-11-30&target_min=999", "invalid_target"),
        ("?day=2026-11-30&format=xlsx", "invalid_field"),
        ("?day=2026-11-29", "no_history"),
    ] {
        let r = admin.get(&plan_of(q)).await;
        assert_eq!(r.code(), code, "{q}: {}", r.text);
    }
}
