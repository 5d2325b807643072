//! `luot staffing-plan` checked the way a manager would check it (issue 12, item 5): the plan it
//! writes is replayed with `luot replay --staffing` through the CLI, and every half hour and
//! department it claims as met must have p90 ≤ target on that replay; it never opens more
//! counters than officials; with too few officials it says which target is missed and by how
//! much, and the replay agrees.
//!
//! Runs the built binary (`cargo build -p luot` first), like replay.rs.

use super::replay::{failed, fixture, ok, run};
use serde_json::Value;
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
    let v: Value = serde_json::from_str(&ok(&run(&[
        "replay",
        "--arrivals",
        day,
        "--staffing",
        &staffing.display().to_string(),
        "--seed",
        "3",
        "--format",
        "json",
    ])
    .await))
    .expect("replay json");
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
    let target = plan["target_s"].as_u64().unwrap();
    let mut bad = Vec::new();
    for h in plan["half_hours"].as_array().unwrap() {
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
