//! Backup, restore and upgrades, as an IT officer runs them: `luot backup` while kiosks issue
//! tickets, `luot restore` into a new folder and a server started on it, damaged archives
//! refused with nothing written, the folder of a running server refused, the daily backup,
//! a database of the previous schema migrated forward after an automatic backup, and a
//! database of a newer schema refused.

use luot_server::clock::OffsetClock;
use luot_store::SCHEMA_VERSION;
use luot_tests::{
    DbState, Http, START_MS, START_RFC3339, ServeProcess, Setup, TestServer, luot_binary,
    roomy_config_toml, system_now_ms, within,
};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Kiosks issuing at once while the backup runs.
const CLIENTS: usize = 8;

/// Runs `luot args…` to completion.
async fn luot(args: &[&std::ffi::OsStr]) -> Output {
    let child = tokio::process::Command::new(luot_binary())
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn luot");
    within("luot to finish", child.wait_with_output())
        .await
        .expect("luot ran")
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

async fn backup(data: &Path, output: &Path) -> Output {
    luot(&[
        os("backup"),
        os("--data"),
        data.as_os_str(),
        os("--output"),
        output.as_os_str(),
    ])
    .await
}

async fn restore(input: &Path, data: &Path, force: bool) -> Output {
    let mut args = vec![
        os("restore"),
        os("--input"),
        input.as_os_str(),
        os("--data"),
        data.as_os_str(),
    ];
    if force {
        args.push(os("--force"));
    }
    luot(&args).await
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every entry of a folder, sorted, with sizes: "nothing was written" compares two of these.
fn listing(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            format!(
                "{} {}",
                e.file_name().to_string_lossy(),
                e.metadata().unwrap().len()
            )
        })
        .collect();
    out.sort();
    out
}

fn schema_version(db: &Path) -> i64 {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

/// The whole event log, row by row, as stored.
fn events(db: &Path) -> Vec<String> {
    DbState::read(db).log
}

/// A ticket a kiosk was given: its seq, its number, and when the reply arrived.
#[derive(Debug, Clone)]
struct Ack {
    seq: u64,
    number: String,
    at: Instant,
}

#[tokio::test]
async fn a_backup_under_load_restores_every_acknowledged_ticket_byte_for_byte() {
    let config = roomy_config_toml(5_000, 10_000);
    let mut s = TestServer::start_with(Setup {
        limits: luot_server::Limits {
            issue_per_s: 100_000.0,
            issue_burst: 100_000.0,
            ..luot_server::Limits::default()
        },
        config_toml: config.clone(),
        ..Setup::default()
    })
    .await;
    let kiosk = s.first.kiosk_token.clone();
    let acks: Arc<Mutex<Vec<Ack>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let http = s.device_http(&kiosk);
        let (acks, stop) = (acks.clone(), stop.clone());
        let service = ["khai-sinh", "ket-hon"][i % 2];
        clients.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = http
                    .post(
                        &format!("/api/v1/sites/{}/tickets", luot_tests::SITE),
                        &json!({"service": service}),
                    )
                    .await;
                assert_eq!(r.status, 201, "issue: {}", r.text);
                let v = r.json();
                acks.lock().unwrap().push(Ack {
                    seq: v["seq"].as_u64().unwrap(),
                    number: v["ticket"]["number"].as_str().unwrap().to_string(),
                    at: Instant::now(),
                });
            }
        }));
    }
    // Some history first, so the copy is not of an empty log.
    within("the first tickets", async {
        while acks.lock().unwrap().len() < 100 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;

    let out_dir = tempfile::tempdir().unwrap();
    let archive = out_dir.path().join("luot.tar.gz");
    let began = Instant::now();
    let o = backup(s.dir.path(), &archive).await;
    let ended = Instant::now();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Đã sao lưu · Backed up"),
        "{}",
        text(&o)
    );
    // Not a terminal: progress comes as plain lines, one per step and up to one per tenth.
    let progress = String::from_utf8_lossy(&o.stderr);
    for step in [
        "Chụp cơ sở dữ liệu · Copying the database",
        "Tính tổng kiểm tra · Computing checksums",
        "Nén và ghi tệp sao lưu · Compressing and writing the archive",
        "100% (",
    ] {
        assert!(progress.contains(step), "{step:?} not in:\n{progress}");
    }
    assert!(
        !progress.contains('\r'),
        "no bar redrawing in a log: {progress}"
    );
    // It holds secret.key: readable by its owner only.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&archive), 0o600);
    // A few more tickets after the backup, which the archive must not be confused by.
    let after = acks.lock().unwrap().len() + 20;
    within("tickets after the backup", async {
        while acks.lock().unwrap().len() < after {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    let acks = acks.lock().unwrap().clone();
    let during = acks.iter().filter(|a| a.at > began && a.at < ended).count();
    let before: Vec<&Ack> = acks.iter().filter(|a| a.at < began).collect();
    println!(
        "{} tickets in all, {} acknowledged before the backup began, {during} while it ran",
        acks.len(),
        before.len()
    );
    assert!(during > 0, "no ticket was issued while the backup ran");

    let new_parent = tempfile::tempdir().unwrap();
    let restored = new_parent.path().join("restored");
    let o = restore(&archive, &restored, false).await;
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Đã khôi phục · Restored"),
        "{}",
        text(&o)
    );

    // The restored log is the live log up to one commit, row for row, byte for byte.
    let source = events(&s.db_path());
    let copy = events(&restored.join("luot.db"));
    let copy_last = DbState::read(&restored.join("luot.db")).max_seq.unwrap() as u64;
    assert_eq!(copy.len() as u64, copy_last, "the restored log has no gap");
    assert_eq!(
        copy[..],
        source[..copy.len()],
        "the restored rows are the live rows"
    );
    for a in &before {
        assert!(
            a.seq <= copy_last,
            "ticket {} (seq {}) was acknowledged before the backup began but is not in it (last seq {copy_last})",
            a.number,
            a.seq
        );
        let row = &copy[a.seq as usize - 1];
        assert!(
            row.contains("ticket_issued") && row.contains(&format!("\\\"{}\\\"", a.number)),
            "seq {} should issue {}: {row}",
            a.seq,
            a.number
        );
    }
    assert_eq!(
        std::fs::read(s.dir.path().join("secret.key")).unwrap(),
        std::fs::read(restored.join("secret.key")).unwrap()
    );
    assert_eq!(mode(&restored.join("secret.key")), 0o600);
    let before_start = DbState::read(&restored.join("luot.db"));
    s.shutdown().await;

    // A server started on the restored folder holds the same day, at the same seq, and takes
    // tickets from the same kiosk.
    let config_file = new_parent.path().join("center.toml");
    std::fs::write(&config_file, &config).unwrap();
    let log = new_parent.path().join("serve.log");
    let server = ServeProcess::start(
        &restored,
        &log,
        START_MS + 3_600_000,
        &["--config", config_file.to_str().unwrap()],
    )
    .await;
    let snap = Http::new(&server.base)
        .get(&format!("/api/v1/sites/{}/snapshot", luot_tests::SITE))
        .await
        .json();
    assert_eq!(snap["seq"].as_u64(), Some(copy_last), "{snap}");
    assert_eq!(
        DbState::read(&restored.join("luot.db")).log,
        before_start.log,
        "starting on the restored folder changed no event"
    );
    let r = Http::new(&server.base)
        .with_header("authorization", &format!("Bearer {kiosk}"))
        .post(
            &format!("/api/v1/sites/{}/tickets", luot_tests::SITE),
            &json!({"service": "khai-sinh"}),
        )
        .await;
    assert_eq!(r.status, 201, "the restored kiosk issues: {}", r.text);
    assert_eq!(r.json()["seq"].as_u64(), Some(copy_last + 1));
    server.terminate().await;
}

/// A small server with a few tickets, and an archive of it.
async fn server_with_archive(dir: &Path) -> (TestServer, PathBuf) {
    let s = TestServer::start().await;
    for _ in 0..5 {
        s.issue(&s.first.kiosk_token, "khai-sinh").await;
    }
    let archive = dir.join("good.tar.gz");
    let o = backup(s.dir.path(), &archive).await;
    assert!(o.status.success(), "{}", text(&o));
    // Noted in the database it came from, and audited.
    let db = rusqlite::Connection::open(s.db_path()).unwrap();
    let (kind, bytes, path): (String, i64, String) = db
        .query_row("SELECT kind, bytes, path FROM backups", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(
        (kind.as_str(), path.as_str()),
        ("manual", archive.to_str().unwrap())
    );
    assert_eq!(bytes as u64, std::fs::metadata(&archive).unwrap().len());
    let (actor, detail): (String, String) = db
        .query_row(
            "SELECT actor, detail FROM audit WHERE action = 'backup'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(actor, "cli");
    assert!(detail.starts_with(archive.to_str().unwrap()), "{detail}");
    (s, archive)
}

#[tokio::test]
async fn a_damaged_archive_is_refused_and_nothing_is_written() {
    let work = tempfile::tempdir().unwrap();
    let (_s, archive) = server_with_archive(work.path()).await;
    let good = std::fs::read(&archive).unwrap();
    let n = good.len();
    let mut damaged: Vec<(&str, Vec<u8>)> = vec![
        ("truncated to half", good[..n / 2].to_vec()),
        ("missing its last 8 bytes", good[..n - 8].to_vec()),
        ("empty", Vec::new()),
    ];
    for (what, at) in [
        ("a bit flipped in the middle", n / 2),
        ("a bit flipped in the trailer", n - 3),
    ] {
        let mut b = good.clone();
        b[at] ^= 0x10;
        damaged.push((what, b));
    }
    let targets = tempfile::tempdir().unwrap();
    let listed = listing(targets.path());
    for (what, bytes) in damaged {
        let bad = work.path().join("bad.tar.gz");
        std::fs::write(&bad, &bytes).unwrap();
        let target = targets.path().join("restored");
        let o = restore(&bad, &target, false).await;
        assert_eq!(o.status.code(), Some(2), "{what}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("bị hỏng")
                && err.contains("is damaged or incomplete")
                && err.contains("Nothing was written"),
            "{what}: {err}"
        );
        assert!(!target.exists(), "{what}: the target was created");
        assert_eq!(
            listing(targets.path()),
            listed,
            "{what}: something was left behind"
        );
    }
    // The intact archive restores into the same place.
    let o = restore(&archive, &targets.path().join("restored"), false).await;
    assert!(o.status.success(), "{}", text(&o));
}

#[tokio::test]
async fn restore_refuses_the_folder_of_a_running_server_and_a_folder_in_use() {
    let work = tempfile::tempdir().unwrap();
    let (s, archive) = server_with_archive(work.path()).await;

    // Even with --force: the server holds its folder's lock.
    let before = DbState::read(&s.db_path());
    let listed = listing(s.dir.path());
    let o = restore(&archive, s.dir.path(), true).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("đang được một máy chủ Luot đang chạy sử dụng")
            && err.contains("in use by a running Luot server"),
        "{err}"
    );
    assert_eq!(DbState::read(&s.db_path()), before);
    assert_eq!(listing(s.dir.path()), listed);

    // A folder that is not empty, without --force.
    let other = work.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "keep me").unwrap();
    let o = restore(&archive, &other, false).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not empty. Use --force"));
    assert_eq!(listing(&other), ["notes.txt 7"]);

    // With --force its contents are moved aside, not lost.
    let o = restore(&archive, &other, true).await;
    assert!(o.status.success(), "{}", text(&o));
    let aside: Vec<PathBuf> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("other.before-restore-"))
        .collect();
    assert_eq!(aside.len(), 1, "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(aside[0].join("notes.txt")).unwrap(),
        "keep me"
    );
    assert_eq!(events(&other.join("luot.db")), before.log);
}

/// The previous schema's database (see tests/fixtures/schema-5/README.md).
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/schema-5")
}

/// The fixture's kiosk token, printed by the first start that made it.
fn fixture_kiosk_token() -> String {
    std::fs::read_to_string(fixture().join("kiosk-token.txt"))
        .unwrap()
        .trim()
        .to_string()
}

#[tokio::test]
async fn a_previous_schema_database_is_migrated_after_an_automatic_backup() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::copy(fixture().join("luot.db"), data.join("luot.db")).unwrap();
    std::fs::copy(fixture().join("secret.key"), data.join("secret.key")).unwrap();
    let old = events(&data.join("luot.db"));
    assert_eq!(schema_version(&data.join("luot.db")), 5);
    const {
        assert!(
            5 < SCHEMA_VERSION,
            "the fixture must be older than this build"
        )
    };

    let server = ServeProcess::start(
        &data,
        &work.path().join("serve.log"),
        START_MS + 3_600_000,
        &[],
    )
    .await;
    assert_eq!(schema_version(&data.join("luot.db")), SCHEMA_VERSION);
    // The log is the same; the server goes on from it with the same kiosk.
    let snap = Http::new(&server.base)
        .get(&format!("/api/v1/sites/{}/snapshot", luot_tests::SITE))
        .await
        .json();
    assert_eq!(snap["seq"].as_u64(), Some(old.len() as u64), "{snap}");
    assert_eq!(events(&data.join("luot.db"))[..], old[..]);
    let r = Http::new(&server.base)
        .with_header(
            "authorization",
            &format!("Bearer {}", fixture_kiosk_token()),
        )
        .post(
            &format!("/api/v1/sites/{}/tickets", luot_tests::SITE),
            &json!({"service": "khai-sinh"}),
        )
        .await;
    assert_eq!(r.status, 201, "the migrated kiosk issues: {}", r.text);
    server.terminate().await;

    // The pre-migration archive holds the old database as it was, and the new one knows of it.
    let archives: Vec<PathBuf> = std::fs::read_dir(data.join("backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(archives.len(), 1, "{archives:?}");
    let name = archives[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(
        name.starts_with(&format!("pre-migration-v5-to-v{SCHEMA_VERSION}-"))
            && name.ends_with(".tar.gz"),
        "{name}"
    );
    let noted: (String, String) = rusqlite::Connection::open(data.join("luot.db"))
        .unwrap()
        .query_row("SELECT kind, path FROM backups", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(noted.0, "pre_migration");
    assert!(noted.1.ends_with(&name), "{noted:?}");
    let back = work.path().join("back");
    let o = restore(&archives[0], &back, false).await;
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(schema_version(&back.join("luot.db")), 5);
    assert_eq!(events(&back.join("luot.db")), old);
}

#[tokio::test]
async fn a_database_from_a_newer_version_is_refused_with_both_versions_named() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let db = data.join("luot.db");
    std::fs::copy(fixture().join("luot.db"), &db).unwrap();
    let newer = SCHEMA_VERSION + 1;
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", newer)
        .unwrap();
    let bytes = std::fs::read(&db).unwrap();
    let o = luot(&[
        os("serve"),
        os("--data"),
        data.as_os_str(),
        os("--listen"),
        os("127.0.0.1:0"),
        os("--start-clock"),
        os(START_RFC3339),
    ])
    .await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    for needle in [
        format!("lược đồ {newer}, bản này chỉ biết tới lược đồ {SCHEMA_VERSION}"),
        format!(
            "written by a newer Luot (schema {newer}, this build knows up to {SCHEMA_VERSION})"
        ),
        "Run the newer Luot again, or restore a backup".to_string(),
    ] {
        assert!(err.contains(&needle), "{needle:?} not in:\n{err}");
    }
    assert_eq!(
        std::fs::read(&db).unwrap(),
        bytes,
        "the database was touched"
    );
    assert!(
        !data.join("backups").exists(),
        "a refused database is not backed up"
    );
}

#[tokio::test]
async fn the_daily_backup_runs_at_its_time_and_prunes_old_ones() {
    // The clock reads 08:50 in Hà Nội; the backup is due at 09:00. Once the folder is ready,
    // the clock is set to 08:59:59, as NTP might: the task reads the clock every second.
    let clock = Arc::new(OffsetClock::default());
    clock.set_offset_ms(START_MS - 600_000 - system_now_ms());
    // At the end: top-level keys after a `[backup]` header would belong to it.
    let config = format!(
        "{}\n[backup]\ntime = \"09:00\"\nfolder = \"nightly\"\ndays_kept = 7\n",
        luot_proto::config::DEFAULT_CONFIG_TOML
    );
    let s = TestServer::start_with(Setup {
        clock: clock.clone(),
        config_toml: config.clone(),
        ..Setup::default()
    })
    .await;
    let folder = s.dir.path().join("nightly");
    std::fs::create_dir_all(&folder).unwrap();
    // Eight days old (pruned), six days old (kept), and a file that is not a daily backup.
    for name in [
        "luot-backup-20261122T020000Z.tar.gz",
        "luot-backup-20261124T020000Z.tar.gz",
        "notes.txt",
    ] {
        std::fs::write(folder.join(name), "x").unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        std::fs::read_dir(&folder).unwrap().count() == 3,
        "no backup before its time"
    );
    clock.set_offset_ms(START_MS - 1_000 - system_now_ms());
    // Named by the time it ran: 09:00:00 in Hà Nội, 02:00:00 UTC (a second or two later on a
    // busy machine).
    let named = |n: &str| n.starts_with("luot-backup-20261130T0200") && n.ends_with("Z.tar.gz");
    within("the daily backup", async {
        loop {
            let audited: i64 = rusqlite::Connection::open(s.db_path())
                .unwrap()
                .query_row(
                    "SELECT count(*) FROM audit WHERE action = 'backup_daily'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            if audited == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(names[0], "luot-backup-20261124T020000Z.tar.gz", "{names:?}");
    assert!(named(&names[1]), "{names:?}");
    assert_eq!(names[2], "notes.txt", "{names:?}");
    let expected = names[1].as_str();
    let (kind, bytes): (String, i64) = rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row("SELECT kind, bytes FROM backups", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(kind, "daily");
    assert_eq!(
        bytes as u64,
        std::fs::metadata(folder.join(expected)).unwrap().len()
    );
    let restored = tempfile::tempdir().unwrap();
    let o = restore(&folder.join(expected), &restored.path().join("r"), false).await;
    assert!(o.status.success(), "{}", text(&o));

    // The schedule is read at start: applying a text that changes it says a restart is needed.
    let admin = s.admin().await;
    for (toml, needed) in [
        (config.clone(), false),
        (config.replace("time = \"09:00\"", "time = \"03:00\""), true),
        (luot_proto::config::DEFAULT_CONFIG_TOML.to_string(), true),
    ] {
        let r = admin
            .put("/api/v1/admin/config", &json!({"toml": toml}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["restart_needed"], json!(needed), "{toml}");
    }
}

#[tokio::test]
async fn backup_refuses_a_folder_without_a_database_and_never_overwrites_an_archive() {
    let work = tempfile::tempdir().unwrap();
    let (s, archive) = server_with_archive(work.path()).await;

    let empty = work.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = backup(&empty, &work.path().join("x.tar.gz")).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let db = empty.join("luot.db").display().to_string();
    assert!(
        err.contains(&format!("Không có cơ sở dữ liệu Luot tại {db}"))
            && err.contains(&format!("There is no Luot database at {db}")),
        "{err}"
    );
    assert!(!work.path().join("x.tar.gz").exists());

    let kept = std::fs::read(&archive).unwrap();
    let listed = listing(work.path());
    let o = backup(s.dir.path(), &archive).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("already exists; choose another name"),
        "{}",
        text(&o)
    );
    assert_eq!(
        std::fs::read(&archive).unwrap(),
        kept,
        "the older archive was overwritten"
    );
    assert_eq!(
        listing(work.path()),
        listed,
        "a partial file was left behind"
    );
}

#[tokio::test]
async fn replaced_voice_clips_and_the_configuration_travel_in_the_archive() {
    const EN_INVITE: &[u8] = include_bytes!("../../kiosk-assets/audio/en/invite.ogg");
    const VI_INVITE: &[u8] = include_bytes!("../../kiosk-assets/audio/vi/invite.ogg");
    let s = TestServer::start().await;
    s.issue(&s.first.kiosk_token, "khai-sinh").await;
    // A manager's recording replaces the Vietnamese "invite" clip (through the admin API).
    let (_, session) = s.login(&s.first.admin_login, &s.first.admin_password).await;
    let r = reqwest::Client::new()
        .put(s.url("/api/v1/admin/clips/vi/invite"))
        .header("cookie", format!("luot_session={session}"))
        .header("content-type", "audio/ogg")
        .body(EN_INVITE.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    assert_ne!(EN_INVITE, VI_INVITE);

    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("clips.tar.gz");
    let o = backup(s.dir.path(), &archive).await;
    assert!(o.status.success(), "{}", text(&o));
    let restored = work.path().join("restored");
    let o = restore(&archive, &restored, false).await;
    assert!(o.status.success(), "{}", text(&o));
    // The configuration in force, for reading, as the database holds it.
    assert_eq!(
        std::fs::read_to_string(restored.join("config.toml")).unwrap(),
        luot_proto::config::DEFAULT_CONFIG_TOML
    );

    // A server on the restored folder plays the manager's recording, not the built-in one.
    let server = ServeProcess::start(
        &restored,
        &work.path().join("serve.log"),
        START_MS + 3_600_000,
        &[],
    )
    .await;
    let played = reqwest::get(format!("{}/audio/vi/invite.ogg", server.base))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        played[..] == EN_INVITE[..],
        "the replaced clip was not restored"
    );
    server.terminate().await;
}

/// A newer `luot` command must not migrate the database under a running server of the older
/// version (simulated: the running server's database is set back to schema 5).
#[tokio::test]
async fn a_command_does_not_migrate_a_database_under_a_running_server() {
    let s = TestServer::start().await;
    let db = s.db_path();
    let set_version = |v: i64| {
        rusqlite::Connection::open(&db)
            .unwrap()
            .pragma_update(None, "user_version", v)
            .unwrap()
    };
    set_version(5);
    let o = luot(&[
        os("user"),
        os("list"),
        os("--data"),
        s.dir.path().as_os_str(),
    ])
    .await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    for needle in [
        format!("(lược đồ 5) cần nâng cấp lên lược đồ {SCHEMA_VERSION}"),
        format!(
            "(schema 5) needs migrating to schema {SCHEMA_VERSION}, but a Luot server is running"
        ),
    ] {
        assert!(err.contains(&needle), "{needle:?} not in:\n{err}");
    }
    assert_eq!(schema_version(&db), 5, "the database was migrated");
    assert!(
        !s.dir.path().join("backups").exists(),
        "nothing was written"
    );
    set_version(SCHEMA_VERSION);
    // At the current schema the same command runs beside the server, as before.
    let o = luot(&[
        os("user"),
        os("list"),
        os("--data"),
        s.dir.path().as_os_str(),
    ])
    .await;
    assert!(o.status.success(), "{}", text(&o));
}
