//! Report figures against hand-computed expectations on a small fixed history, and the CSV and
//! XLSX exports read back.

use luot_core::{Channel, Code, Command, Day, Now, Site, TicketRef, Token};
use luot_proto::config::{SiteSettings, default_config};
use luot_server::report::{self, Lang};
use luot_store::reports::{GroupBy, Report};
use luot_store::{Record, Store};

const OFFSET_S: i32 = 7 * 3600;

fn code(s: &str) -> Code {
    Code::new(s).unwrap()
}

/// Milliseconds of 2026-11-30 (a Monday) at h:m:s in Vietnam.
fn at(h: i64, m: i64, s: i64) -> i64 {
    (Day::from_ymd(2026, 11, 30).0 as i64 * 86_400 + h * 3600 + m * 60 + s - OFFSET_S as i64) * 1000
}

/// The history, in words:
/// - A001 khai-sinh issued 08:00:00, called at quầy 1 08:01:00 (waited 60 s), served
///   08:01:30–08:06:30 (300 s), rated 1 (Rất hài lòng).
/// - A002 khai-sinh issued 08:01:00, called 08:06:30 (waited 330 s), no-show.
/// - B001 chứng thực bản sao issued 08:02:00, called at quầy 3 08:04:00 (waited 120 s), served
///   08:04:00–08:12:20 (500 s), rated 4 (Không hài lòng) with the reason "Chờ lâu".
/// - A001's dossier code 000.00.28.H26-261130-0001 attached at quầy 1 at 08:06:45.
fn history(dir: &std::path::Path) -> SiteSettings {
    let settings = default_config().sites[0].clone();
    let mut site = Site::new(settings.core.clone());
    let mut store = Store::open(&dir.join("luot.db")).unwrap();
    let mut seq = 0;
    let day = Day::from_ymd(2026, 11, 30);
    let mut run = |site: &mut Site, ms: i64, cmd: Command| {
        let events = site
            .apply(cmd.clone(), &Now::from_offset(ms, OFFSET_S))
            .unwrap_or_else(|r| panic!("{cmd:?}: {r}"));
        let records: Vec<Record> = events
            .into_iter()
            .map(|event| {
                seq += 1;
                Record {
                    seq,
                    site: code("sa-huynh"),
                    day,
                    at_ms: ms,
                    event,
                }
            })
            .collect();
        store.append(&records).unwrap();
    };
    let issue = |service: &str, n: u8| Command::Issue {
        phone: None,
        service: code(service),
        channel: Channel::Kiosk,
        priority: None,
        token: Token([n; 16]),
        appointment: None,
        person: None,
    };
    let number = |s: &str| TicketRef::Number(luot_core::TicketNumber::parse(s).unwrap());
    run(&mut site, at(6, 0, 0), Command::OpenDay { day });
    run(
        &mut site,
        at(7, 30, 0),
        Command::OpenCounter {
            counter: code("quay-1"),
            official: code("can-bo-1"),
        },
    );
    run(
        &mut site,
        at(7, 30, 0),
        Command::OpenCounter {
            counter: code("quay-3"),
            official: code("can-bo-3"),
        },
    );
    run(&mut site, at(8, 0, 0), issue("khai-sinh", 1));
    run(&mut site, at(8, 1, 0), issue("khai-sinh", 2));
    run(
        &mut site,
        at(8, 1, 0),
        Command::CallNext {
            counter: code("quay-1"),
        },
    );
    run(
        &mut site,
        at(8, 1, 30),
        Command::Start {
            counter: code("quay-1"),
        },
    );
    run(&mut site, at(8, 2, 0), issue("chung-thuc-ban-sao", 3));
    run(
        &mut site,
        at(8, 4, 0),
        Command::CallNext {
            counter: code("quay-3"),
        },
    );
    run(
        &mut site,
        at(8, 4, 0),
        Command::Start {
            counter: code("quay-3"),
        },
    );
    run(
        &mut site,
        at(8, 6, 30),
        Command::Complete {
            counter: code("quay-1"),
        },
    );
    run(
        &mut site,
        at(8, 6, 40),
        Command::Rate {
            ticket: number("A001"),
            score: 1,
            reason: None,
        },
    );
    // The official records A001's dossier after the citizen rated: the rating is tied to it.
    run(
        &mut site,
        at(8, 6, 45),
        Command::AttachDossier {
            counter: code("quay-1"),
            ticket: number("A001"),
            dossier: "000.00.28.H26-261130-0001".into(),
        },
    );
    run(
        &mut site,
        at(8, 6, 30),
        Command::CallNext {
            counter: code("quay-1"),
        },
    );
    run(
        &mut site,
        at(8, 8, 0),
        Command::NoShow {
            counter: code("quay-1"),
        },
    );
    run(
        &mut site,
        at(8, 12, 20),
        Command::Complete {
            counter: code("quay-3"),
        },
    );
    run(
        &mut site,
        at(8, 13, 0),
        Command::Rate {
            ticket: number("B001"),
            score: 4,
            reason: Some("Chờ lâu".into()),
        },
    );
    settings
}

/// Labels as the server makes them: officials' names from the accounts in the database.
fn labels(dir: &std::path::Path, settings: &SiteSettings, lang: Lang) -> report::Labels<'static> {
    let conn = luot_store::open_reader(&dir.join("luot.db")).unwrap();
    let settings: &'static SiteSettings = Box::leak(Box::new(settings.clone()));
    report::Labels::new(settings, lang, report::official_names(&conn).unwrap())
}

fn build(dir: &std::path::Path, settings: &SiteSettings, by: GroupBy) -> Report {
    let q = report::query(settings, "2026-11-30", "2026-11-30", by, 300, OFFSET_S);
    let conn = luot_store::open_reader(&dir.join("luot.db")).unwrap();
    let mut r = luot_store::reports::report(&conn, &q).unwrap();
    report::order_rows(settings, &mut r);
    r
}

#[test]
fn figures_by_department_match_the_hand_computed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let settings = history(dir.path());
    let r = build(dir.path(), &settings, GroupBy::Department);
    let keys: Vec<&str> = r.rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(
        keys,
        ["ho-tich", "chung-thuc"],
        "departments in configuration order"
    );

    let ho_tich = &r.rows[0];
    assert_eq!((ho_tich.issued, ho_tich.served, ho_tich.no_show), (2, 1, 1));
    assert_eq!(ho_tich.wait.count, 2);
    assert_eq!(ho_tich.wait.mean_s, Some(195.0));
    assert_eq!(ho_tich.wait.median_s, Some(60.0), "nearest rank of two");
    assert_eq!(ho_tich.wait.p90_s, Some(330.0));
    assert_eq!(
        ho_tich.within_target,
        Some(0.5),
        "60 s within 300 s, 330 s not"
    );
    assert_eq!(ho_tich.service.mean_s, Some(300.0));
    assert_eq!(ho_tich.ratings, vec![1, 0, 0, 0]);
    assert_eq!(ho_tich.satisfied, Some(1.0));

    let chung_thuc = &r.rows[1];
    assert_eq!((chung_thuc.issued, chung_thuc.served), (1, 1));
    assert_eq!(chung_thuc.wait.max_s, Some(120.0));
    assert_eq!(chung_thuc.service.median_s, Some(500.0));
    assert_eq!(chung_thuc.satisfied, Some(0.0), "4 of 4 is not satisfied");
    assert_eq!(chung_thuc.reasons.get("Chờ lâu"), Some(&1));

    let t = &r.total;
    assert_eq!((t.issued, t.served, t.no_show, t.rated), (3, 2, 1, 2));
    assert!((t.wait.mean_s.unwrap() - 170.0).abs() < 1e-9);
    assert_eq!(t.wait.median_s, Some(120.0));
    assert!((t.within_target.unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(t.satisfied, Some(0.5));
    assert_eq!(t.by_channel.get("kiosk"), Some(&3));
    assert_eq!(r.arrivals[0][8], 3, "three arrivals on Monday at 8 h");
}

#[test]
fn figures_by_counter_official_and_hour() {
    let dir = tempfile::tempdir().unwrap();
    let settings = history(dir.path());
    let by_counter = build(dir.path(), &settings, GroupBy::Counter);
    let keys: Vec<&str> = by_counter.rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["quay-1", "quay-3"]);
    assert_eq!(by_counter.rows[0].served, 1);
    let by_official = build(dir.path(), &settings, GroupBy::Official);
    assert_eq!(
        by_official
            .rows
            .iter()
            .map(|r| (r.key.as_str(), r.issued))
            .collect::<Vec<_>>(),
        [("can-bo-1", 2), ("can-bo-3", 1)]
    );
    let by_hour = build(dir.path(), &settings, GroupBy::Hour);
    assert_eq!(by_hour.rows.len(), 1);
    assert_eq!(by_hour.rows[0].key, "08");
    // Queue length in the 8 o'clock hour, sampled each minute from 08:00 to the last change
    // (A002 called at 08:06:30): 08:00 one (A001), 08:01 one (A001 called, A002 came), 08:02
    // and 08:03 two (B001 came), 08:04, 08:05 and 08:06 one (B001 called; A002 waits):
    // 9 people-samples over 7 samples.
    assert!(
        (by_hour.queue_by_hour[8] - 9.0 / 7.0).abs() < 1e-9,
        "{}",
        by_hour.queue_by_hour[8]
    );
    assert_eq!(by_hour.queue_by_hour[9], 0.0);
}

#[test]
fn csv_export_reads_back_with_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    let settings = history(dir.path());
    let r = build(dir.path(), &settings, GroupBy::Department);
    let bytes = report::to_csv(&labels(dir.path(), &settings, Lang::Vi), &r).unwrap();
    assert!(
        bytes.starts_with(&[0xEF, 0xBB, 0xBF]),
        "a BOM so Excel reads UTF-8"
    );
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    // Column names a Vietnamese manager reads without translation.
    assert_eq!(header[..4], ["mã", "tên", "số phiếu cấp", "đã phục vụ"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 3, "two departments and the total");
    assert_eq!(&rows[0][1], "A – Tư pháp – Hộ tịch");
    assert_eq!(&rows[0][2], "2");
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(&rows[0][col("chờ trung bình (phút)")], "3.2", "195 s");
    assert_eq!(&rows[2][col("đạt mục tiêu chờ")], "67%");
    assert_eq!(&rows[2][col("hài lòng")], "50%");
    assert_eq!(&rows[2][1], "Tổng cộng");

    // The same report in English: English names and labels, the same figures.
    let bytes = report::to_csv(&labels(dir.path(), &settings, Lang::En), &r).unwrap();
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header[..4], ["code", "name", "issued", "served"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(&rows[0][1], "A – Justice and civil status");
    assert_eq!(&rows[0][col("mean wait (min)")], "3.2");
    assert_eq!(&rows[2][1], "Total");
}

#[test]
fn xlsx_export_reads_back_with_the_same_figures() {
    use calamine::{Data, Reader, Xlsx};
    let dir = tempfile::tempdir().unwrap();
    let settings = history(dir.path());
    let r = build(dir.path(), &settings, GroupBy::Department);
    let q = report::query(
        &settings,
        "2026-11-30",
        "2026-11-30",
        GroupBy::Department,
        300,
        OFFSET_S,
    );
    let conn = luot_store::open_reader(&dir.path().join("luot.db")).unwrap();
    let staffing =
        luot_store::reports::staffing(&conn, &q, 0.9, &report::expected_service_s(&settings))
            .unwrap();
    let bytes = report::to_xlsx(
        &labels(dir.path(), &settings, Lang::Vi),
        &r,
        Some(&staffing),
    )
    .unwrap();
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(
        book.sheet_names(),
        [
            "Báo cáo",
            "Giờ đến",
            "Hàng chờ theo giờ",
            "Đánh giá",
            "Bố trí cán bộ"
        ]
    );
    let ratings = book.worksheet_range("Đánh giá").unwrap();
    assert_eq!(
        ratings.get_value((0, 8)),
        Some(&Data::String("mã hồ sơ".into()))
    );
    assert_eq!(
        ratings.get_value((2, 1)),
        Some(&Data::String("A001".into())),
        "older rating second"
    );
    assert_eq!(
        ratings.get_value((2, 8)),
        Some(&Data::String("000.00.28.H26-261130-0001".into()))
    );
    assert_eq!(ratings.get_value((1, 5)), Some(&Data::Float(4.0)));
    let sheet = book.worksheet_range("Báo cáo").unwrap();
    let cell = |r: u32, c: u32| sheet.get_value((r, c)).cloned();
    assert_eq!(
        cell(3, 1),
        Some(Data::String("A – Tư pháp – Hộ tịch".into()))
    );
    assert_eq!(
        cell(3, 2),
        Some(Data::Float(2.0)),
        "issued is a number, not text"
    );
    assert_eq!(cell(5, 1), Some(Data::String("Tổng cộng".into())));
    assert_eq!(
        cell(5, 19),
        Some(Data::Float(0.5)),
        "satisfied as a fraction"
    );
    let arrivals = book.worksheet_range("Giờ đến").unwrap();
    assert_eq!(
        arrivals.get_value((1, 9)),
        Some(&Data::Float(3.0)),
        "Monday 08h"
    );
    let staff = book.worksheet_range("Bố trí cán bộ").unwrap();
    assert_eq!(
        staff.get_value((2, 9)),
        Some(&Data::Float(1.0)),
        "one counter is enough at 8 h"
    );

    let bytes = report::to_xlsx(
        &labels(dir.path(), &settings, Lang::En),
        &r,
        Some(&staffing),
    )
    .unwrap();
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(
        book.sheet_names(),
        ["Report", "Arrivals", "Queue by hour", "Ratings", "Staffing"]
    );
    let arrivals = book.worksheet_range("Arrivals").unwrap();
    assert_eq!(
        arrivals.get_value((1, 0)),
        Some(&Data::String("Monday".into()))
    );
}

#[test]
fn ratings_are_listed_one_by_one_with_their_dossier_code() {
    let dir = tempfile::tempdir().unwrap();
    let settings = history(dir.path());
    let r = build(dir.path(), &settings, GroupBy::Department);
    type Listed<'a> = (
        &'a str,
        u8,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
    );
    let listed: Vec<Listed<'_>> = r
        .rated_tickets
        .iter()
        .map(|t| {
            (
                t.number.as_str(),
                t.score,
                t.official.as_deref(),
                t.reason.as_deref(),
                t.dossier.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("B001", 4, Some("can-bo-3"), Some("Chờ lâu"), None),
            (
                "A001",
                1,
                Some("can-bo-1"),
                None,
                Some("000.00.28.H26-261130-0001")
            ),
        ],
        "newest first"
    );
    assert!(!r.rated_tickets_truncated);

    // can-bo-1 has an account (shown by name); can-bo-3's was deleted (shown by login).
    let store = Store::open(&dir.path().join("luot.db")).unwrap();
    luot_store::Accounts::add_user(
        &store,
        &luot_store::User {
            login: "can-bo-1".into(),
            display_name: "Nguyễn Thị Hoa".into(),
            role: luot_store::Role::Official,
            password_hash: "x".into(),
            counters: vec!["quay-1".into()],
            disabled: false,
            created_at: 0,
        },
    )
    .unwrap();
    drop(store);
    let bytes = report::ratings_csv(&labels(dir.path(), &settings, Lang::Vi), &r).unwrap();
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "ngày",
            "số phiếu",
            "thủ tục",
            "quầy",
            "cán bộ",
            "mức đánh giá",
            "hài lòng",
            "lý do",
            "mã hồ sơ",
            "lúc đánh giá"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[1][1], "A001");
    assert_eq!(&rows[1][2], "Đăng ký khai sinh");
    assert_eq!(&rows[1][3], "Quầy 1");
    assert_eq!(
        &rows[1][4], "Nguyễn Thị Hoa",
        "the official's name, not the login"
    );
    assert_eq!(&rows[0][4], "can-bo-3");
    assert_eq!(&rows[1][6], "có", "score 1 of 4 is satisfied");
    assert_eq!(&rows[0][6], "không", "score 4 of 4 is not");
    assert_eq!(&rows[1][8], "000.00.28.H26-261130-0001");
    // Rated 08:06:40 in Vietnam (01:06:40 UTC): the site's clock, not UTC.
    assert_eq!(&rows[1][9], "2026-11-30 08:06:40");
    assert_eq!(&rows[0][7], "Chờ lâu");

    let bytes = report::ratings_csv(&labels(dir.path(), &settings, Lang::En), &r).unwrap();
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header[..3], ["day", "ticket", "procedure"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(&rows[1][2], "Birth registration");
    assert_eq!(&rows[1][3], "Counter 1");
    assert_eq!(&rows[1][6], "yes");
}
