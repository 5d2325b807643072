//! The configuration file format: the shipped files parse, export round-trips, and every
//! validation rule reports its message at the right `file:line:column`.
//!
//! `tests/bad-configs/*.toml` are data: each starts with comment lines
//! `# expect: <substring of an error message>`, each optionally followed by `# at: LINE:COL`.
//! The file must fail with exactly as many errors as it has `expect` lines, each matched.

use std::path::{Path, PathBuf};

use luot_core::config::limits;
use luot_core::{Code, Day, Prefix};
use luot_proto::config::{
    CenterConfig, DEFAULT_CONFIG_TOML, default_config, parse_config, to_toml,
};

fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn code(s: &str) -> Code {
    Code::new(s).unwrap()
}

fn parse_ok(src: &str, name: &str) -> CenterConfig {
    match parse_config(src, name) {
        Ok(c) => c,
        Err(e) => panic!("{name} should be valid:\n{e}"),
    }
}

#[test]
fn the_default_center_has_what_vn_center_md_describes() {
    let cfg = default_config();
    assert_eq!(cfg.public_url, None);
    assert_eq!(cfg.sites.len(), 1);
    let site = &cfg.sites[0];
    let core = &site.core;
    assert_eq!(core.code.as_str(), "sa-huynh");
    assert!(core.name.vi.contains("Sa Huỳnh"));
    assert_eq!(site.time_zone, "Asia/Ho_Chi_Minh");

    let prefixes: Vec<&str> = core.departments.iter().map(|d| d.prefix.as_str()).collect();
    assert_eq!(prefixes, ["A", "B", "C", "D", "E", "G", "K"]);
    let per_department = |dept: &str| {
        core.services
            .iter()
            .filter(|s| s.department.as_str() == dept)
            .count()
    };
    assert_eq!(per_department("ho-tich"), 11);
    assert_eq!(per_department("chung-thuc"), 7);
    assert_eq!(per_department("dat-dai"), 9);
    assert_eq!(per_department("kinh-te"), 5);
    assert_eq!(per_department("van-hoa-xa-hoi"), 7);
    assert_eq!(per_department("truc-tuyen"), 2);
    assert_eq!(per_department("tra-ket-qua"), 1);
    assert_eq!(core.services.len(), 42);

    // Expected service times, in seconds.
    let expected = |s: &str| core.service(code(s)).unwrap().expected_service_s;
    assert_eq!(expected("chung-thuc-ban-sao"), 5 * 60);
    assert_eq!(expected("khai-sinh"), 10 * 60);
    assert_eq!(expected("ket-hon"), 15 * 60);
    assert_eq!(expected("tra-ket-qua"), 3 * 60);
    assert_eq!(expected("huong-dan-truc-tuyen"), 10 * 60);
    assert!((20 * 60..=30 * 60).contains(&expected("cap-gcn-lan-dau")));
    assert_eq!(
        core.service(code("khai-sinh")).unwrap().prefix,
        Prefix::new("A").unwrap()
    );

    // Counters 1–10; 10 is the priority counter serving every service.
    assert_eq!(core.counters.len(), 10);
    let numbers: Vec<u16> = core.counters.iter().map(|c| c.number).collect();
    assert_eq!(numbers, (1..=10).collect::<Vec<u16>>());
    let c10 = core.counter(code("quay-10")).unwrap();
    assert!(c10.priority_first);
    assert_eq!(c10.services.len(), core.services.len());
    assert_eq!(core.counters.iter().filter(|c| c.priority_first).count(), 1);
    let c4 = core.counter(code("quay-4")).unwrap();
    assert_eq!(c4.services.len(), 9);
    assert_eq!(core.counter(code("quay-1")).unwrap().name.vi, "Quầy 1");

    let categories: Vec<&str> = core
        .priority_categories
        .iter()
        .map(|p| p.code.as_str())
        .collect();
    assert_eq!(categories, ["elderly", "disabled", "pregnant", "merit"]);

    // Hours: Mon–Fri 07:00–11:30 and 13:30–17:00, Saturday 07:30–11:30, Sunday closed.
    let hours = &core.service(code("khai-sinh")).unwrap().hours;
    assert_eq!(hours.days[0], vec![(420, 690), (810, 1020)]);
    assert_eq!(hours.days[4], vec![(420, 690), (810, 1020)]);
    assert_eq!(hours.days[5], vec![(450, 690)]);
    assert!(hours.days[6].is_empty());
    assert_eq!(&site.hours, hours);

    for day in [
        Day::from_ymd(2026, 1, 1),
        Day::from_ymd(2026, 4, 30),
        Day::from_ymd(2026, 5, 1),
        Day::from_ymd(2026, 9, 2),
        Day::from_ymd(2027, 1, 1),
        Day::from_ymd(2027, 9, 2),
    ] {
        assert!(core.holidays.contains(&day), "{day} should be a holiday");
    }
    // Tết Nguyên đán: mùng 1 of 2026 and 2027.
    assert!(core.holidays.contains(&Day::from_ymd(2026, 2, 17)));
    assert!(core.holidays.contains(&Day::from_ymd(2027, 2, 6)));

    assert_eq!(core.policy, luot_core::Policy::default());
    assert_eq!(core.policy.rating_levels, 4);
    assert_eq!(site.rating.labels.len(), 4);
    assert_eq!(site.rating.labels[0].vi, "Rất hài lòng");
    assert_eq!(site.rating.labels[3].vi, "Không hài lòng");
    assert!(
        site.rating
            .low_score_reasons
            .iter()
            .any(|r| r.vi == "Chờ lâu")
    );
    assert_eq!(site.announcement.repeat, 2);
    assert!(site.announcement.vi.contains("{ticket}"));
    assert!(!site.notice.vi.is_empty());

    let kw = |s: &str| {
        site.service_keywords
            .get(&code(s))
            .cloned()
            .unwrap_or_default()
    };
    assert!(kw("khai-sinh").contains(&"giấy khai sinh".to_owned()));
    assert!(kw("cap-gcn-lan-dau").contains(&"sổ đỏ".to_owned()));
    assert!(kw("chung-thuc-ban-sao").contains(&"công chứng".to_owned()));
    assert!(kw("chung-thuc-ban-sao").contains(&"sao y".to_owned()));
    assert!(kw("vneid").contains(&"VNeID".to_owned()));
}

#[test]
fn the_embedded_copy_is_the_file_in_config() {
    let on_disk = std::fs::read_to_string(repo_path("config/default.toml")).unwrap();
    assert_eq!(on_disk, DEFAULT_CONFIG_TOML);
}

#[test]
fn every_example_parses() {
    let dir = repo_path("config/examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let src = std::fs::read_to_string(&path).unwrap();
            let cfg = parse_ok(&src, &path.display().to_string());
            assert_eq!(
                parse_config(&to_toml(&cfg), "export.toml"),
                Ok(cfg),
                "{} does not round-trip",
                path.display()
            );
            seen += 1;
        }
    }
    assert!(
        seen >= 2,
        "expected at least two examples in {}",
        dir.display()
    );

    let small = parse_ok(
        &std::fs::read_to_string(dir.join("small-ward.toml")).unwrap(),
        "small-ward.toml",
    );
    assert_eq!(small.sites[0].core.counters.len(), 3);
    // A counter with a weighted entry and a plain one.
    let q2 = small.sites[0].core.counter(code("quay-2")).unwrap();
    assert_eq!(q2.services[0].weight, 3);
    assert_eq!(q2.services[1].weight, 1);

    let two = parse_ok(
        &std::fs::read_to_string(dir.join("two-sites.toml")).unwrap(),
        "two-sites.toml",
    );
    assert_eq!(two.sites.len(), 2);
    assert_eq!(two.public_url.as_deref(), Some("http://192.168.1.10:8080"));
    let main = two.site(code("trung-tam")).unwrap();
    assert_eq!(main.core.policy.rating_levels, 5);
    assert_eq!(main.core.policy.intake_close, vec![16 * 60 + 45]);
    let backup = two.backup.as_ref().expect("two-sites.toml has a [backup]");
    assert_eq!(backup.time, 90);
    assert_eq!(backup.folder, "/var/backups/luot");
    assert_eq!(backup.days_kept, 30);
    assert_eq!(two.printers.len(), 1);
    let p = &two.printers[0];
    assert_eq!(p.site.as_str(), "trung-tam");
    assert_eq!(p.kiosk, "Kiosk sảnh");
    assert_eq!(p.address, "192.168.1.50:9100", "the port defaults to 9100");
    assert_eq!(p.paper_width_dots, 384);
    assert_eq!(p.timeout_ms, 3000);
    assert_eq!(
        main.core
            .service(code("tra-so-do"))
            .unwrap()
            .prefix
            .as_str(),
        "CK"
    );
}

#[test]
fn export_round_trips_the_default_center() {
    let cfg = default_config();
    let exported = to_toml(&cfg);
    let back = parse_ok(&exported, "export.toml");
    assert_eq!(back, cfg);
    // And the export of the export is byte-identical.
    assert_eq!(to_toml(&back), exported);
}

#[test]
fn export_round_trips_odd_but_valid_settings() {
    let src = r#"
public_url = "https://luot.example.vn/"
allowed_origins = ["http://a.local:8080", "https://b.local"]
[[site]]
code = "s"
name = { vi = "Điểm \"Một cửa\" — 'nháy'", en = "Back\\slash" }
time_zone = "America/Argentina/Buenos_Aires"
intake_close = "24:00"
recent_calls = 12
[site.hours]
sun = ["13:30-24:00", "00:00-06:00"]
[site.policy]
normal_per_priority = 0
rating_levels = 3
[site.announcement]
vi = "{counter}: {ticket}"
repeat = 1
[[site.department]]
code = "a"
prefix = "A"
name = { vi = "A", en = "A" }
[[site.service]]
code = "x"
department = "a"
name = { vi = "X", en = "X" }
prefix = "KQ"
carry_over = true
hours = { wed = ["08:00-09:00"] }
[[site.service]]
code = "y"
department = "a"
name = { vi = "Y", en = "Y" }
prefix = "KQ"
[[site.counter]]
code = "c"
number = 7
services = ["y", { service = "x", weight = 5 }]
[[site.counter]]
code = "d"
number = 8
departments = ["a"]
services = [{ service = "y", weight = 2 }]
"#;
    let cfg = parse_ok(src, "odd.toml");
    assert_eq!(cfg.public_url.as_deref(), Some("https://luot.example.vn"));
    let site = &cfg.sites[0];
    assert_eq!(site.rating.labels.len(), 3);
    assert_eq!(site.core.policy.rating_levels, 3);
    assert_eq!(site.recent_calls, 12);
    // Ranges are kept sorted.
    assert_eq!(site.hours.days[6], vec![(0, 360), (810, 1440)]);
    // Explicit entries come first and win over the department shorthand.
    let d = site.core.counter(code("d")).unwrap();
    let list: Vec<(&str, u32)> = d
        .services
        .iter()
        .map(|cs| (cs.service.as_str(), cs.weight))
        .collect();
    assert_eq!(list, [("y", 2), ("x", 1)]);
    assert_eq!(parse_config(&to_toml(&cfg), "export.toml"), Ok(cfg));
}

#[test]
fn too_many_services_and_counters_are_reported() {
    let mut src = String::from(
        "[[site]]\ncode = \"s\"\nname = { vi = \"S\", en = \"S\" }\n[site.hours]\nmon = [\"07:00-17:00\"]\n\
         [[site.department]]\ncode = \"d\"\nprefix = \"A\"\nname = { vi = \"D\", en = \"D\" }\n",
    );
    for i in 0..=limits::SERVICES_MAX {
        src.push_str(&format!(
            "[[site.service]]\ncode = \"s{i}\"\ndepartment = \"d\"\nname = {{ vi = \"S\", en = \"S\" }}\n"
        ));
    }
    for i in 0..=limits::COUNTERS_MAX {
        src.push_str(&format!(
            "[[site.counter]]\ncode = \"c{i}\"\nnumber = {}\ndepartments = [\"d\"]\n",
            i + 1
        ));
    }
    let errors = parse_config(&src, "big.toml").unwrap_err().errors;
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "too many services: at most 1000 per site",
            "too many counters: at most 200 per site"
        ]
    );
    // Each error points at the first item past the limit.
    let line_of = |needle: &str| src[..src.find(needle).unwrap()].lines().count() as u32 + 1;
    assert_eq!(errors[0].line, line_of("code = \"s1000\""));
    assert_eq!(errors[0].column, 8);
    assert_eq!(errors[1].line, line_of("code = \"c200\""));
}

#[test]
fn errors_display_as_file_line_column_message() {
    let src = "[[site]]\ncode = \"s\"\nname = { vi = \"S\", en = \"S\" }\n\n[site.hours]\nmon = [\"07:00-11:30\"]\n\n\
               [[site.department]]\ncode = \"d\"\nprefix = \"A\"\nname = { vi = \"D\", en = \"D\" }\n\n\
               [[site.service]]\ncode = \"x\"\ndepartment = \"d\"\nname = { vi = \"X\", en = \"X\" }\n\n\
               [[site.counter]]\ncode = \"quay-3\"\nnumber = 3\nservices = [\"x\", \"chung-thuc-ban-sao\"]\n";
    let e = parse_config(src, "default.toml").unwrap_err();
    assert_eq!(
        e.to_string(),
        "default.toml:21:18: quầy \"quay-3\" phục vụ thủ tục không có: \"chung-thuc-ban-sao\" \
         (counter \"quay-3\" serves unknown service \"chung-thuc-ban-sao\")"
    );
    // Several errors: one per line, in file order.
    let src = src
        .replace("prefix = \"A\"", "prefix = \"a\"")
        .replace("number = 3", "number = 0");
    let text = parse_config(&src, "f.toml").unwrap_err().to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    // Vietnamese first, the English in parentheses.
    assert!(
        lines[0].starts_with("f.toml:10:10: tiền tố \"a\" không hợp lệ"),
        "{text}"
    );
    assert!(lines[0].contains("(prefix \"a\" is not valid"), "{text}");
    assert!(
        lines[1].starts_with("f.toml:20:10: counter number = 0 nằm ngoài khoảng"),
        "{text}"
    );
    assert!(
        lines[1].contains("(counter number = 0 is out of range"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("f.toml:21:18: quầy \"quay-3\" phục vụ thủ tục không có"),
        "{text}"
    );
}

#[test]
fn columns_count_characters_not_bytes() {
    // "Phường" has multi-byte letters before the error on the same line.
    let src =
        "[[site]]\ncode = \"s\"\nname = { vi = \"Phường\", en = \"Ward\" }; time_zone = \"x\"\n";
    let e = parse_config(src, "f.toml").unwrap_err();
    assert_eq!((e.errors[0].line, e.errors[0].column), (3, 38), "{e}");
}

#[test]
fn a_byte_order_mark_is_ignored() {
    let src = format!("\u{feff}{DEFAULT_CONFIG_TOML}");
    assert_eq!(parse_ok(&src, "bom.toml"), default_config());
}

#[derive(Debug)]
struct Expectation {
    message: String,
    at: Option<(u32, u32)>,
}

fn expectations(src: &str, name: &str) -> Vec<Expectation> {
    let mut out: Vec<Expectation> = Vec::new();
    for line in src.lines().take_while(|l| l.starts_with('#')) {
        if let Some(m) = line.strip_prefix("# expect:") {
            out.push(Expectation {
                message: m.trim().to_owned(),
                at: None,
            });
        } else if let Some(at) = line.strip_prefix("# at:") {
            let (l, c) = at.trim().split_once(':').expect("# at: LINE:COL");
            let last = out
                .last_mut()
                .unwrap_or_else(|| panic!("{name}: `# at` before `# expect`"));
            last.at = Some((l.parse().unwrap(), c.parse().unwrap()));
        }
    }
    assert!(!out.is_empty(), "{name} has no `# expect:` line");
    out
}

#[test]
fn every_bad_config_fails_with_its_expected_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-configs");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 20, "only {} bad configs", paths.len());
    let mut failures = Vec::new();
    for path in &paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let src = std::fs::read_to_string(path).unwrap();
        let expected = expectations(&src, &name);
        let errors = match parse_config(&src, &name) {
            Ok(_) => {
                failures.push(format!("{name}: parsed without error"));
                continue;
            }
            Err(e) => e,
        };
        for err in &errors.errors {
            assert_eq!(err.file, name);
            // Said in Vietnamese too, not the English copied (values and quoted parts may be).
            if err.message_vi.trim().is_empty() || err.message_vi == err.message {
                failures.push(format!("{name}: no Vietnamese for {:?}", err.message));
            }
        }
        if errors.errors.len() != expected.len() {
            failures.push(format!(
                "{name}: expected {} error(s), got {}:\n{errors}",
                expected.len(),
                errors.errors.len()
            ));
            continue;
        }
        for exp in &expected {
            let hit = errors.errors.iter().any(|e| {
                e.message.contains(&exp.message)
                    && exp.at.is_none_or(|(l, c)| (e.line, e.column) == (l, c))
            });
            if !hit {
                failures.push(format!(
                    "{name}: no error matching {:?} at {:?}; got:\n{errors}",
                    exp.message, exp.at
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

/// The public URL (`public_url`, `luot serve --public-url`) is the base of every link and QR
/// code: scheme, host and port only, so nothing after it can break a link.
#[test]
fn a_public_url_is_scheme_host_and_port_only() {
    use luot_proto::config::check_public_url;
    for (given, used) in [
        ("https://luot.example.vn/", "https://luot.example.vn"),
        ("http://192.168.1.10:8080", "http://192.168.1.10:8080"),
        (" http://[fd00::5]:8080 ", "http://[fd00::5]:8080"),
        ("http://luot.local:65535", "http://luot.local:65535"),
        ("http://luot.local:1", "http://luot.local:1"),
    ] {
        assert_eq!(check_public_url(given).as_deref(), Ok(used), "{given:?}");
    }
    for (given, says) in [
        ("http://192.168.1.10:8080/luot", "without a path"),
        ("192.168.1.10:8080", "must start with http:// or https://"),
        ("ftp://luot.local", "must start with http:// or https://"),
        ("http://luot.local/?x=1", "query"),
        ("http://luot.local#top", "fragment"),
        ("http://admin:pw@luot.local", "user name or password"),
        (
            "http://luot.local:0",
            "port must be a number from 1 to 65535",
        ),
        (
            "http://luot.local:65536",
            "port must be a number from 1 to 65535",
        ),
        (
            "http://luot.local:80a",
            "port must be a number from 1 to 65535",
        ),
        ("http://:8080", "no host name"),
        ("http://luot local", "spaces"),
    ] {
        let e = check_public_url(given).expect_err(given);
        assert!(e.contains(says), "{given:?}: {e}");
    }
}

/// `intake_close` per session: a list of times, kept sorted, exported and read back the same.
#[test]
fn intake_close_per_session_round_trips() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let src = std::fs::read_to_string(dir.join("default.toml")).unwrap();
    let line = "# intake_close = \"16:45\"";
    assert!(src.contains(line), "default.toml shows intake_close");
    let src = src.replacen(line, "intake_close = [\"16:45\", \"11:15\"]", 1);
    let cfg = parse_ok(&src, "default.toml");
    assert_eq!(
        cfg.sites[0].core.policy.intake_close,
        vec![11 * 60 + 15, 16 * 60 + 45]
    );
    let exported = to_toml(&cfg);
    assert!(
        exported.contains("intake_close = [\"11:15\", \"16:45\"]"),
        "{exported}"
    );
    assert_eq!(parse_config(&exported, "export.toml"), Ok(cfg));
}

/// `[backup]`: defaults, and `days_kept` and `time` at their limits.
#[test]
fn backup_settings_at_their_limits() {
    let site = std::fs::read_to_string(repo_path(
        "crates/luot-proto/tests/bad-configs/intake-close.toml",
    ))
    .unwrap()
    .replace("intake_close = \"16h30\"\n", "");
    let with = |backup: &str| parse_config(&format!("{backup}\n{site}"), "b.toml");
    let cfg = with("[backup]\ntime = \"00:00\"").unwrap();
    let b = cfg.backup.unwrap();
    assert_eq!((b.time, b.folder.as_str(), b.days_kept), (0, "backups", 14));
    let b = with("[backup]\ntime = \"23:59\"\ndays_kept = 3650")
        .unwrap()
        .backup
        .unwrap();
    assert_eq!((b.time, b.days_kept), (23 * 60 + 59, 3650));
    let e = with("[backup]\ntime = \"23:59\"\ndays_kept = 3651")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("b.toml:3:13: days_kept = 3651 nằm ngoài khoảng cho phép: phải từ 1 đến 3650 (days_kept = 3651 is out of range: it must be between 1 and 3650)"),
        "{e}"
    );
    let e = with("[backup]\ntime = \"24:00\"").unwrap_err().to_string();
    assert!(e.contains("b.toml:2:8: giờ sao lưu 24:00"), "{e}");
    assert!(e.contains("(backup time 24:00"), "{e}");
    let e = with("[backup]\ntime = \"02:00\"\nfolder = \" \"")
        .unwrap_err()
        .to_string();
    assert!(e.contains("b.toml:3:10: thư mục sao lưu"), "{e}");
    assert!(e.contains("(backup folder"), "{e}");
    let e = with("[backup]\ntime = \"02:00\"\nkeep = 3")
        .unwrap_err()
        .to_string();
    assert!(e.contains("b.toml:3:1") && e.contains("keep"), "{e}");
    assert!(with("").unwrap().backup.is_none());
}
