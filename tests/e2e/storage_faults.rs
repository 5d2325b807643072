//! Storage faults through the real `luot serve` (a child process): the database locked by
//! another program, the data folder moved away, the disk full (a small tmpfs in a user and
//! mount namespace of the server's own), and a data folder that cannot be written at start.
//!
//! For each fault that can clear while the server runs: issuing stops with a clear error (the
//! kiosk's reply and its `intake` message carry the code), `/healthz` answers 503 with the
//! reason, every ticket a kiosk was told about is in the database and nothing else is, no
//! number is used up by a refused attempt, and issuing resumes without a restart once the fault
//! clears (the broker probes the storage every 2 s while it fails).

use luot_tests::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::MaybeTlsStream;

const SERVICE: &str = "khai-sinh";
/// Most tickets taken while waiting for a disk that is filling up to refuse one.
const FILL_ATTEMPTS_MAX: usize = 2_000;
/// How long a cleared fault may take to be noticed: the 2-second probe, plus a probe that was
/// already waiting out the 5-second lock timeout when the fault cleared.
const RESUME_MAX: Duration = Duration::from_secs(15);

/// A kiosk's view of one run: what it was told, in order.
struct Run {
    server: ServeProcess,
    /// The data folder as this process reaches it (through `/proc/PID/root` for a server in its
    /// own mount namespace).
    data: PathBuf,
    kiosk: Socket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// (ticket id, number) of every issue acknowledged.
    acked: Vec<(u64, String)>,
    /// Error codes of refused issues.
    refused: Vec<String>,
    /// `intake` messages not yet looked at.
    intake: Vec<Value>,
    name: &'static str,
}

impl Run {
    async fn start(
        name: &'static str,
        wrapper: &[String],
        server_data: &Path,
        data: impl Fn(u32) -> PathBuf,
        dir: &Path,
    ) -> Run {
        let config = dir.join("center.toml");
        std::fs::write(&config, roomy_config_toml(5_000, 20_000)).expect("write config");
        let log = dir.join(format!("{name}.log"));
        let args = [
            "--config",
            config.to_str().expect("utf-8 path"),
            "--issue-rate",
            "1000",
            "--issue-burst",
            "1000",
        ];
        let server = ServeProcess::start_wrapped(wrapper, server_data, &log, START_MS, &args).await;
        let admin = server.admin().await;
        let token = pair(&admin, "kiosk", "Kiosk sảnh").await;
        let mut kiosk = open_socket(&server.ws_url(), &[])
            .await
            .expect("kiosk socket");
        let hello = json!({"type": "hello", "role": "kiosk", "device_token": token});
        kiosk.hello(&hello).await.expect("kiosk welcomed");
        let snap = within("the kiosk's snapshot", kiosk.next_json()).await;
        assert_eq!(
            snap.as_ref().map(|s| s["type"].clone()),
            Some(json!("snapshot"))
        );
        let data = data(server.pid());
        Run {
            server,
            data,
            kiosk,
            next_id: 0,
            acked: Vec::new(),
            refused: Vec::new(),
            intake: Vec::new(),
            name,
        }
    }

    /// One ticket, as a kiosk takes it: `Ok(number)` or `Err(error code)`.
    async fn issue(&mut self) -> Result<String, String> {
        self.next_id += 1;
        let id = format!("i{}", self.next_id);
        let intake = &mut self.intake;
        let reply = within(
            "the reply to an issue",
            self.kiosk
                .command(&id, json!({"type": "issue", "service": SERVICE}), |m| {
                    if m["type"] == "intake" {
                        intake.push(m.clone());
                    }
                }),
        )
        .await
        .expect("the server answers every issue");
        if reply["ok"] == true {
            let t = &reply["result"]["ticket"];
            let number = t["number"].as_str().expect("number").to_string();
            self.acked
                .push((t["id"].as_u64().expect("ticket id"), number.clone()));
            Ok(number)
        } else {
            let code = reply["error"]["code"].as_str().unwrap_or("").to_string();
            self.refused.push(code.clone());
            Err(code)
        }
    }

    async fn issue_ok(&mut self, n: usize) {
        for _ in 0..n {
            let r = self.issue().await;
            assert!(r.is_ok(), "{}: issue refused: {r:?}", self.name);
        }
    }

    /// The next `intake` message the kiosk gets (or got while waiting for a reply).
    async fn next_intake(&mut self, limit: Duration) -> Value {
        if !self.intake.is_empty() {
            return self.intake.remove(0);
        }
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.kiosk.next_json()).await {
                Ok(Some(m)) if m["type"] == "intake" => return m,
                Ok(Some(_)) => {}
                Ok(None) => panic!("{}: the kiosk socket closed", self.name),
                Err(_) => panic!("{}: no intake message within {limit:?}", self.name),
            }
        }
    }

    async fn health(&self) -> (u16, Value) {
        let r = Http::new(&self.server.base).get("/healthz").await;
        (r.status, r.json())
    }

    async fn snapshot_intake(&self) -> Value {
        let r = Http::new(&self.server.base)
            .get(&format!("/api/v1/sites/{SITE}/snapshot"))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()["snapshot"]["intake_open"].clone()
    }

    /// The fault is on: issuing stops with `code`, the kiosk is told, `/healthz` says why,
    /// and further attempts are refused too (`attempts` of them).
    async fn expect_stopped(&mut self, code: &str, attempts: usize) {
        let first = self.refused.last().cloned();
        assert_eq!(first.as_deref(), Some(code), "{}: first refusal", self.name);
        let m = self.next_intake(WAIT).await;
        assert_eq!(m["open"], false, "{}: {m}", self.name);
        assert_eq!(m["reason"]["code"], code, "{}: {m}", self.name);
        assert!(
            m["reason"]["message"]
                .as_str()
                .is_some_and(|s| s.starts_with("Tạm ngưng")),
            "{}: the kiosk's text: {m}",
            self.name
        );
        let (status, h) = self.health().await;
        assert_eq!(status, 503, "{}: /healthz {h}", self.name);
        assert_eq!(h["status"], "degraded", "{}: {h}", self.name);
        assert_eq!(h["storage"], "failing", "{}: {h}", self.name);
        assert_eq!(h["reason"]["code"], code, "{}: {h}", self.name);
        assert_eq!(self.snapshot_intake().await, false, "{}", self.name);
        for _ in 0..attempts {
            let r = self.issue().await;
            assert!(
                r.as_ref().is_err_and(|c| c.starts_with("storage_")),
                "{}: issued while the storage fails: {r:?}",
                self.name
            );
        }
        let (status, h) = self.health().await;
        assert_eq!(status, 503, "{}: still failing: {h}", self.name);
    }

    /// The fault has cleared: within [`RESUME_MAX`] the kiosk hears that issuing is open again,
    /// `/healthz` is 200 and tickets are issued, numbered on from the last acknowledged one.
    async fn expect_resumed(&mut self) -> Duration {
        let t = Instant::now();
        let m = self.next_intake(RESUME_MAX).await;
        let took = t.elapsed();
        assert_eq!(m["open"], true, "{}: {m}", self.name);
        let (status, h) = self.health().await;
        assert_eq!(status, 200, "{}: /healthz after the fault: {h}", self.name);
        assert_eq!(self.snapshot_intake().await, true, "{}", self.name);
        self.issue_ok(3).await;
        took
    }

    /// Compares what the kiosk was told with the database: the same tickets, numbered without
    /// a gap; the log whole. Then stops the server cleanly.
    async fn check_and_stop(self, dir: &Path) -> (usize, usize) {
        // A copy of the database and its log, taken while nothing writes: SQLite resolves the
        // `/proc/PID/root` link itself and would open a file in this namespace instead.
        let copy = dir.join(format!("{}-check", self.name));
        std::fs::create_dir(&copy).expect("check folder");
        for f in ["luot.db", "luot.db-wal"] {
            let from = self.data.join(f);
            if from.exists() {
                std::fs::copy(&from, copy.join(f))
                    .unwrap_or_else(|e| panic!("{}: copy {}: {e}", self.name, from.display()));
            }
        }
        let db = copy.join("luot.db");
        let c = rusqlite::Connection::open(&db)
            .unwrap_or_else(|e| panic!("{}: open {}: {e}", self.name, db.display()));
        let mut stmt = c
            .prepare("SELECT id, number FROM tickets WHERE site = ?1 ORDER BY id")
            .expect("tickets");
        let stored: Vec<(u64, String)> = stmt
            .query_map([SITE], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))
            .expect("tickets")
            .collect::<Result<_, _>>()
            .expect("tickets");
        let mut acked = self.acked.clone();
        acked.sort();
        let lost: Vec<_> = acked.iter().filter(|t| !stored.contains(t)).collect();
        let unexpected: Vec<_> = stored.iter().filter(|t| !acked.contains(t)).collect();
        assert!(
            lost.is_empty(),
            "{}: acknowledged but not in the database: {lost:?}",
            self.name
        );
        assert!(
            unexpected.is_empty(),
            "{}: in the database but never acknowledged: {unexpected:?}",
            self.name
        );
        // Numbers run on without a gap: no refused attempt used one up.
        for (i, (_, number)) in acked.iter().enumerate() {
            let n: usize = number
                .trim_start_matches(|c: char| !c.is_ascii_digit())
                .parse()
                .unwrap_or_else(|_| panic!("{}: ticket number {number:?}", self.name));
            assert_eq!(n, i + 1, "{}: numbers {acked:?}", self.name);
        }
        drop(stmt);
        drop(c);
        let health = LogHealth::read(&db);
        assert_eq!(health.integrity, "ok", "{}", self.name);
        assert!(health.gap_free(), "{}: {health:?}", self.name);
        let counts = (self.acked.len(), self.refused.len());
        drop(self.kiosk);
        self.server.terminate().await;
        counts
    }
}

/// `unshare` gives the server a user and mount namespace of its own, where it may mount a
/// tmpfs without privileges. Runs `script` (with `$0` = `mount_point`) there, then the server.
fn in_own_namespace(script: &str, mount_point: &Path) -> Vec<String> {
    vec![
        "unshare".into(),
        "--user".into(),
        "--map-root-user".into(),
        "--mount".into(),
        "--propagation".into(),
        "private".into(),
        "sh".into(),
        "-c".into(),
        format!("{script} && exec \"$@\""),
        mount_point.display().to_string(),
    ]
}

/// Whether this machine lets an unprivileged process mount a tmpfs in a namespace of its own.
/// When it does not, the namespace tests say so loudly instead of passing quietly; CI machines
/// must allow it (`kernel.unprivileged_userns_clone=1`, the default on Debian and Ubuntu).
fn namespaces_available() -> Result<(), String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = std::process::Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            "mount -t tmpfs -o size=64k luot-probe \"$0\"",
        ])
        .arg(dir.path())
        .output();
    match out {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(String::from_utf8_lossy(&o.stderr).trim().to_string()),
        Err(e) => Err(format!("cannot run unshare: {e}")),
    }
}

fn require_namespaces(test: &str) {
    if let Err(why) = namespaces_available() {
        panic!(
            "{test}: this machine does not let an unprivileged process mount a tmpfs in a user \
             namespace ({why}); the storage-fault test cannot make a real full disk here. \
             Allow user namespaces (sysctl kernel.unprivileged_userns_clone=1)."
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_locked_by_another_program_pauses_issuing_until_it_is_released() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let d = data.clone();
    let mut run = Run::start("locked", &[], &data, move |_| d.clone(), dir.path()).await;
    run.issue_ok(3).await;

    // Another program (this test process) takes the write lock and holds it.
    let other = rusqlite::Connection::open(data.join("luot.db")).expect("open luot.db");
    other
        .execute_batch("BEGIN EXCLUSIVE")
        .expect("take the lock");
    let t = Instant::now();
    let r = run.issue().await;
    let waited = t.elapsed();
    assert_eq!(r, Err("storage_busy".into()), "locked: {r:?}");
    run.expect_stopped("storage_busy", 1).await;

    other.execute_batch("COMMIT").expect("release the lock");
    let resumed = run.expect_resumed().await;
    drop(other);
    let (acked, refused) = run.check_and_stop(dir.path()).await;
    println!(
        "storage faults: locked: the refusal came after {waited:.1?} (the lock timeout); \
         issuing resumed {resumed:.1?} after the release; {acked} tickets acknowledged, \
         {refused} refused, all {acked} in the database, numbered without a gap"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_folder_moved_away_pauses_issuing_until_it_is_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let d = data.clone();
    let mut run = Run::start("missing", &[], &data, move |_| d.clone(), dir.path()).await;
    run.issue_ok(3).await;

    // The folder is renamed under the running server (a cleanup script, an operator). SQLite
    // would go on writing into the open file wherever it now is; the server must notice that
    // its path no longer leads there and stop.
    let away = dir.path().join("data-moved");
    std::fs::rename(&data, &away).expect("move the data folder");
    let r = run.issue().await;
    assert_eq!(r, Err("storage_missing".into()), "missing: {r:?}");
    run.expect_stopped("storage_missing", 2).await;
    // An empty folder of the same name is not the database: still refused.
    std::fs::create_dir(&data).expect("an empty data folder");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let r = run.issue().await;
    assert_eq!(r, Err("storage_missing".into()), "an empty folder: {r:?}");
    assert!(
        !data.join("luot.db").exists(),
        "the server created a new database in the empty folder"
    );
    std::fs::remove_dir(&data).expect("remove the empty folder");

    std::fs::rename(&away, &data).expect("move the data folder back");
    let resumed = run.expect_resumed().await;
    let (acked, refused) = run.check_and_stop(dir.path()).await;
    println!(
        "storage faults: missing folder: issuing resumed {resumed:.1?} after the folder came \
         back; {acked} tickets acknowledged, {refused} refused, all {acked} in the database, \
         numbered without a gap"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_pauses_issuing_until_space_is_freed() {
    require_namespaces("full disk");
    let dir = tempfile::tempdir().expect("temp dir");
    let mount = dir.path().join("disk");
    std::fs::create_dir(&mount).expect("mount point");
    let wrapper = in_own_namespace(
        "mount -t tmpfs -o size=8m luot-full-disk \"$0\" && mkdir \"$0/data\"",
        &mount,
    );
    let m = mount.clone();
    let mut run = Run::start(
        "full",
        &wrapper,
        &mount.join("data"),
        move |pid| {
            PathBuf::from(format!("/proc/{pid}/root"))
                .join(m.strip_prefix("/").unwrap())
                .join("data")
        },
        dir.path(),
    )
    .await;
    run.issue_ok(3).await;

    // Fill the rest of the disk with another file.
    let filler = run.data.join("filler");
    fill(&filler);
    let mut attempts = 0;
    let r = loop {
        attempts += 1;
        assert!(
            attempts <= FILL_ATTEMPTS_MAX,
            "full: {FILL_ATTEMPTS_MAX} tickets issued on a full disk"
        );
        match run.issue().await {
            Ok(_) => continue,
            Err(code) => break code,
        }
    };
    assert_eq!(r, "storage_full", "full");
    let on_full = attempts - 1;
    run.expect_stopped("storage_full", 3).await;

    std::fs::remove_file(&filler).expect("free the space");
    let resumed = run.expect_resumed().await;
    let (acked, refused) = run.check_and_stop(dir.path()).await;
    println!(
        "storage faults: full disk (8 MiB tmpfs): {on_full} tickets still fit in the space \
         SQLite had already allocated; issuing resumed {resumed:.1?} after the space was freed; \
         {acked} tickets acknowledged, {refused} refused, all {acked} in the database, numbered \
         without a gap"
    );
}

/// Writes zeros to `path` until the file system is full.
fn fill(path: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).expect("create the filler");
    let chunk = vec![0u8; 64 * 1024];
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("filling the disk: {e}"),
        }
    }
    // The last partial page, byte by byte.
    while f.write(&[0]).is_ok_and(|n| n == 1) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_folder_that_cannot_be_written_stops_the_start_with_its_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A path through a regular file: the folder cannot be created, whoever runs the server.
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, "x").expect("a file");
    let bad = file.join("data");
    let out = start_fails(&[], &bad, dir.path()).await;
    assert!(
        out.contains(&bad.display().to_string()) && out.contains("data folder"),
        "the error names the folder: {out}"
    );

    // A read-only file system (a read-only bind mount in the server's own namespace: binds
    // root too) holding an existing database.
    require_namespaces("read-only start");
    let data = dir.path().join("ro");
    let d = data.clone();
    {
        let run = Run::start("read-only", &[], &data, move |_| d.clone(), dir.path()).await;
        let (acked, _) = run.check_and_stop(dir.path()).await;
        assert_eq!(acked, 0);
    }
    let wrapper = in_own_namespace(
        "mount --bind \"$0\" \"$0\" && mount -o remount,bind,ro \"$0\"",
        &data,
    );
    let out = start_fails(&wrapper, &data, dir.path()).await;
    let db = data.join("luot.db").display().to_string();
    assert!(
        out.contains(&db) && out.contains("read"),
        "the error names the database and says it is read-only: {out}"
    );
    println!("storage faults: read-only start: {}", out.trim());
}

/// Runs `luot serve` expecting it to refuse to start; returns what it printed.
async fn start_fails(wrapper: &[String], data: &Path, dir: &Path) -> String {
    let mut cmd = match wrapper.split_first() {
        Some((p, rest)) => {
            let mut c = tokio::process::Command::new(p);
            c.args(rest).arg(luot_binary());
            c
        }
        None => tokio::process::Command::new(luot_binary()),
    };
    let out = within(
        "luot serve to give up",
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .current_dir(dir)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("run luot serve");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "luot serve started: {text}");
    text
}
