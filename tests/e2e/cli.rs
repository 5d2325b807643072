//! The `luot` binary as an operator uses it: check a configuration, start the server, manage
//! users and devices against its data folder, stop it with SIGTERM.
//!
//! These tests run the binary cargo built next to this test (`target/debug/luot`); build it
//! first with `cargo build -p luot`.

use luot_tests::{Http, PASSWORD, START_RFC3339, within};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// `target/debug/luot`, beside the folder this test executable lives in (`target/debug/deps`).
pub(crate) fn luot() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/debug/deps/..");
    let bin = dir.join(format!("luot{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "the luot binary is not built ({} is missing): run `cargo build -p luot` before \
         `cargo test -p luot-tests`",
        bin.display()
    );
    bin
}

/// Runs `luot args…` to completion, with `stdin` as its input.
async fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(luot())
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn luot");
    let mut input = child.stdin.take().unwrap();
    // A command that refuses before reading its input (e.g. a user who already exists) may
    // have exited already: its input pipe is then closed, which is not the test's failure.
    if let Err(e) = input.write_all(stdin.as_bytes()).await {
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe,
            "writing to luot: {e}"
        );
    }
    drop(input);
    within(
        &format!("luot {}", args.join(" ")),
        child.wait_with_output(),
    )
    .await
    .expect("luot ran")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn check_config_points_at_the_file_line_and_column_of_a_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let default = luot_proto::config::DEFAULT_CONFIG_TOML;

    let good = dir.path().join("center.toml");
    std::fs::write(&good, default).unwrap();
    let o = run(&["check-config", good.to_str().unwrap()], "").await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains(": ok (1 site(s)"), "{}", stdout(&o));

    // A misspelled key: reported at its line, column 1.
    let lines: Vec<&str> = default.lines().collect();
    let key_line = lines.iter().position(|l| *l == "number = 3").unwrap();
    let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    edited[key_line] = "numbr = 3".into();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, edited.join("\n")).unwrap();
    let o = run(&["check-config", bad.to_str().unwrap()], "").await;
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let want = format!("{}:{}:1: ", bad.display(), key_line + 1);
    assert!(
        stderr(&o)
            .lines()
            .any(|l| l.starts_with(&want) && l.contains("numbr")),
        "expected a line starting {want:?}:\n{}",
        stderr(&o)
    );

    // Two mistakes in meaning: both reported, each at the column of the offending value.
    let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let prefix_line = lines.iter().position(|l| *l == "prefix = \"B\"").unwrap();
    edited[prefix_line] = "prefix = \"b\"".into();
    let dept_line = lines
        .iter()
        .position(|l| *l == "departments = [\"chung-thuc\"]")
        .unwrap();
    edited[dept_line] = "departments = [\"chung-thuc\", \"khong-co\"]".into();
    let bad = dir.path().join("bad2.toml");
    std::fs::write(&bad, edited.join("\n")).unwrap();
    let o = run(&["check-config", bad.to_str().unwrap()], "").await;
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    let col = |line: usize, needle: &str| edited[line].find(needle).unwrap() + 1;
    for (line, needle, says) in [
        (prefix_line, "\"b\"", "prefix"),
        (dept_line, "\"khong-co\"", "khong-co"),
    ] {
        let want = format!("{}:{}:{}: ", bad.display(), line + 1, col(line, needle));
        assert!(
            err.lines()
                .any(|l| l.starts_with(&want) && l.contains(says)),
            "expected a line starting {want:?}:\n{err}"
        );
    }

    let o = run(&["check-config", "/no/such/file.toml"], "").await;
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/no/such/file.toml"), "{}", stderr(&o));
}

struct Serving {
    child: Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    base: String,
}

async fn serve(data: &Path) -> Serving {
    let mut child = Command::new(luot())
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(["--start-clock", START_RFC3339])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn luot serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = within("luot serve's first line", lines.next_line())
        .await
        .unwrap()
        .expect("luot serve printed nothing");
    let base = first
        .strip_prefix("Luot listening on ")
        .unwrap_or_else(|| panic!("first line should say where it listens: {first:?}"))
        .to_string();
    let port: u16 = base
        .strip_prefix("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("{base}"))
        .parse()
        .unwrap();
    assert_ne!(port, 0, "the real port, not the one asked for");
    Serving { child, lines, base }
}

impl Serving {
    /// Reads stdout until a line contains `needle`; returns the lines read.
    async fn until(&mut self, needle: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let line = within(&format!("a line with {needle:?}"), self.lines.next_line())
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("stdout ended before {needle:?}: {seen:#?}"));
            let done = line.contains(needle);
            seen.push(line);
            if done {
                return seen;
            }
        }
    }

    /// SIGTERM, then the exit status, which must be a clean exit.
    async fn terminate(mut self) {
        let pid = self.child.id().expect("running").to_string();
        let kill = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(kill.success());
        let status = within("luot serve to exit after SIGTERM", self.child.wait())
            .await
            .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_ne!(
                status.signal(),
                Some(15),
                "luot serve was killed by SIGTERM instead of shutting down (no handler yet?)"
            );
        }
        assert!(status.success(), "exit after SIGTERM: {status:?}");
    }
}

#[tokio::test]
async fn serve_prints_its_address_and_first_password_then_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut srv = serve(&data).await;
    // Standard output is a pipe here: the password is in a file, never printed
    // (first_start.rs checks the file and the log in detail).
    let printed = srv.until("password file: ").await;
    let password = crate::first_start::password_in(&data);
    assert!(password.len() >= 12, "{password:?}");
    assert!(
        !printed.iter().any(|l| l.contains(&password)),
        "{printed:#?}"
    );
    assert!(
        printed
            .iter()
            .any(|l| l.contains(&format!("{}/kiosk?device=", srv.base))),
        "the kiosk URL is printed: {printed:#?}"
    );

    let http = Http::new(&srv.base);
    let h = http.get("/healthz").await;
    assert_eq!(h.status, 200);
    assert_eq!(h.json()["storage"], "ok");
    let r = http
        .post(
            "/api/v1/login",
            &json!({"login": "admin", "password": password}),
        )
        .await;
    assert_eq!(r.status, 200, "the printed password works: {}", r.text);

    srv.terminate().await;
    assert!(data.join("luot.db").exists());

    // A second start on the same folder creates nobody and prints no password; the admin
    // made at the first start still logs in.
    let mut srv = serve(&data).await;
    let printed = srv.until("Devices keep their pairing").await;
    assert!(
        !printed.iter().any(|l| l.contains("password")),
        "{printed:#?}"
    );
    let r = Http::new(&srv.base)
        .post(
            "/api/v1/login",
            &json!({"login": "admin", "password": password}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    srv.terminate().await;
}

#[tokio::test]
async fn users_and_devices_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();

    // Before any start there is no database to manage.
    let o = run(&["user", "list", "--data", d], "").await;
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("luot serve"), "{}", stderr(&o));

    let mut srv = serve(&data).await;
    srv.until("password file: ").await;
    let http = Http::new(&srv.base);

    // An official added on the command line can log in to the running server at once.
    let o = run(
        &[
            "user",
            "add",
            "thu-ky",
            "--name",
            "Nguyễn Thị Thư",
            "--counters",
            "quay-1,quay-2",
            "--password-stdin",
            "--data",
            d,
        ],
        &format!("{PASSWORD}\n"),
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("added thu-ky"));
    assert!(
        !stdout(&o).contains("password"),
        "a given password is not echoed"
    );
    let r = http
        .post(
            "/api/v1/login",
            &json!({"login": "thu-ky", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["counters"], json!(["quay-1", "quay-2"]));

    // Adding it twice, or with a weak password, fails and says so.
    let o = run(
        &[
            "user",
            "add",
            "thu-ky",
            "--name",
            "X",
            "--password-stdin",
            "--data",
            d,
        ],
        &format!("{PASSWORD}\n"),
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    let o = run(
        &[
            "user",
            "add",
            "ngan",
            "--name",
            "X",
            "--password-stdin",
            "--data",
            d,
        ],
        "123\n",
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    // Without --password-stdin a password is made up and printed once.
    let o = run(
        &[
            "user",
            "add",
            "quan-ly",
            "--name",
            "Quản lý",
            "--role",
            "manager",
            "--data",
            d,
        ],
        "",
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let generated = stdout(&o)
        .lines()
        .find_map(|l| l.strip_prefix("password: ").map(String::from))
        .expect("a generated password is printed");
    let r = http
        .post(
            "/api/v1/login",
            &json!({"login": "quan-ly", "password": generated}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let o = run(&["user", "list", "--data", d], "").await;
    assert!(o.status.success());
    let list = stdout(&o);
    let row = list
        .lines()
        .find(|l| l.starts_with("thu-ky "))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(
        row.contains("official")
            && row.contains("Nguyễn Thị Thư")
            && row.ends_with("quay-1,quay-2"),
        "{row}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("admin ") && l.contains("admin"))
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("quan-ly ") && l.contains("manager"))
    );

    // Edited, disabled and enabled again on the command line while the server runs: a
    // disabled official's session ends at once and the login is refused.
    let thu_ky = Http::new(&srv.base);
    let login = json!({"login": "thu-ky", "password": PASSWORD});
    assert_eq!(thu_ky.post("/api/v1/login", &login).await.status, 200);
    let o = run(
        &[
            "user",
            "edit",
            "thu-ky",
            "--name",
            "Nguyễn Thị Thu",
            "--counters",
            "quay-3",
            "--data",
            d,
        ],
        "",
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let me = thu_ky.get("/api/v1/me").await.json();
    assert_eq!(me["display_name"], "Nguyễn Thị Thu");
    assert_eq!(me["counters"], json!(["quay-3"]));
    let o = run(&["user", "disable", "thu-ky", "--data", d], "").await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(thu_ky.get("/api/v1/me").await.status, 401, "session ended");
    let r = thu_ky.post("/api/v1/login", &login).await;
    assert_eq!((r.status, r.code().as_str()), (401, "login_failed"));
    let o = run(&["user", "list", "--data", d], "").await;
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l.starts_with("thu-ky ") && l.contains("disabled")),
        "{}",
        stdout(&o)
    );
    let o = run(&["user", "enable", "thu-ky", "--data", d], "").await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(thu_ky.post("/api/v1/login", &login).await.status, 200);
    // The only admin can be neither disabled nor demoted.
    let o = run(&["user", "disable", "admin", "--data", d], "").await;
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("last active admin"), "{}", stderr(&o));
    let o = run(
        &["user", "edit", "admin", "--role", "manager", "--data", d],
        "",
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["user", "disable", "nobody", "--data", d], "").await;
    assert!(stderr(&o).contains("no user"), "{}", stderr(&o));

    // A kiosk paired on the command line takes tickets from the running server…
    let o = run(
        &[
            "device",
            "pair",
            "--kind",
            "kiosk",
            "--name",
            "Kiosk tầng 2",
            "--url",
            &srv.base,
            "--data",
            d,
        ],
        "",
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let id: i64 = out
        .lines()
        .find_map(|l| l.strip_prefix("paired device "))
        .and_then(|l| l.split(' ').next())
        .unwrap_or_else(|| panic!("{out}"))
        .parse()
        .unwrap();
    let prefix = format!("open on the device: {}/kiosk?device=", srv.base);
    let token = out
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("{out}"))
        .to_string();
    let kiosk = http
        .clone()
        .with_header("authorization", &format!("Bearer {token}"));
    let tickets = format!("/api/v1/sites/{}/tickets", luot_tests::SITE);
    let r = kiosk.post(&tickets, &json!({"service": "khai-sinh"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["ticket"]["number"], "A001");

    let o = run(&["device", "list", "--data", d], "").await;
    let list = stdout(&o);
    let row = list
        .lines()
        .find(|l| l.split_whitespace().next() == Some(&id.to_string()))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(
        row.contains("kiosk") && row.contains("Kiosk tầng 2") && row.ends_with("active"),
        "{row}"
    );
    // A rating tablet must say which counter it belongs to.
    let o = run(
        &[
            "device", "pair", "--kind", "rating", "--name", "Tablet", "--data", d,
        ],
        "",
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--counter"), "{}", stderr(&o));

    // …until it is revoked: then its token stops working at once.
    let o = run(&["device", "revoke", &id.to_string(), "--data", d], "").await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains(&format!("revoked device {id}")));
    let r = kiosk.post(&tickets, &json!({"service": "khai-sinh"})).await;
    assert_eq!(r.status, 401, "a revoked kiosk must be refused: {}", r.text);
    let o = run(&["device", "list", "--data", d], "").await;
    let list = stdout(&o);
    let row = list
        .lines()
        .find(|l| l.split_whitespace().next() == Some(&id.to_string()))
        .unwrap();
    assert!(row.ends_with("revoked"), "{row}");
    let o = run(&["device", "revoke", &id.to_string(), "--data", d], "").await;
    assert_eq!(o.status.code(), Some(2), "revoking twice is an error");

    srv.terminate().await;
}
