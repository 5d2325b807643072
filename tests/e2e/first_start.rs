//! The first start of `luot serve` as a service starts it: standard output is not a terminal
//! (systemd sends it to the journal), so the admin password must not be printed. It goes to a
//! file only the server's user can read, the banner and the log say where, and it logs in.
//! `secret.key` is private too.

use crate::cli::luot;
use luot_tests::{Http, START_RFC3339, first_admin_password_in, within};
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// The file `luot serve` writes the first admin password to (crates/luot/src/first_admin.rs).
const PASSWORD_FILE: &str = "first-admin-password.txt";

/// The password in a data folder's first-admin-password file.
pub(crate) fn password_in(data: &Path) -> String {
    first_admin_password_in(&data.join(PASSWORD_FILE))
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// `luot serve` with standard output a pipe and standard error (the log, at info) a file; runs
/// until the banner's last line, then SIGTERM. Returns everything it printed on standard output
/// and standard error.
async fn serve_once(data: &Path, log: &Path) -> (String, String) {
    let mut child = Command::new(luot())
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(["--start-clock", START_RFC3339])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
        .kill_on_drop(true)
        .spawn()
        .expect("spawn luot serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut out = Vec::new();
    // The banner ends with the line about device links (first start) or pairing (later starts).
    loop {
        let line = within("a banner line", lines.next_line())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("stdout ended early: {out:#?}"));
        let last = line.contains("device links above") || line.contains("keep their pairing");
        out.push(line);
        if last {
            break;
        }
    }
    let base = out[0]
        .strip_prefix("Luot listening on ")
        .unwrap_or_else(|| panic!("{out:#?}"))
        .to_string();
    // While it runs: the password in the file logs in.
    if data.join(PASSWORD_FILE).exists() {
        let r = Http::new(&base)
            .post(
                "/api/v1/login",
                &json!({"login": "admin", "password": password_in(data)}),
            )
            .await;
        assert_eq!(r.status, 200, "the password in the file works: {}", r.text);
    }
    let pid = child.id().expect("running").to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    while let Some(line) = within("stdout to end", lines.next_line()).await.unwrap() {
        out.push(line);
    }
    let status = within("luot serve to exit", child.wait()).await.unwrap();
    assert!(status.success(), "{status:?}");
    (out.join("\n"), std::fs::read_to_string(log).unwrap())
}

#[tokio::test]
async fn piped_first_start_puts_the_admin_password_in_a_0600_file_and_never_in_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file: PathBuf = data.join(PASSWORD_FILE);
    // A file left from an earlier install, readable by everyone, holds a password that no
    // longer exists: it is replaced, not reused or appended to.
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(&file, "password: cu-khong-con-dung\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();

    let (stdout, stderr) = serve_once(&data, &dir.path().join("first.log")).await;
    let password = password_in(&data);
    assert_ne!(password, "cu-khong-con-dung");
    assert!(password.len() >= 12, "{password:?}");
    assert_eq!(
        mode(&file),
        0o600,
        "the password file is the server user's only"
    );
    assert_eq!(
        mode(&data.join("secret.key")),
        0o600,
        "secret.key is the server user's only"
    );
    assert!(
        !stdout.contains(&password),
        "the password is not printed:\n{stdout}"
    );
    assert!(
        !stderr.contains(&password),
        "the password is not logged:\n{stderr}"
    );
    // The banner and the log say where it is, by its full path.
    let shown = file.to_str().unwrap();
    assert!(
        stdout.contains(&format!("password file: {shown}")),
        "{stdout}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.contains(shown) && l.contains("admin password")),
        "the log names the file:\n{stderr}"
    );

    // A later start creates no password and leaves the file alone; a secret.key that became
    // readable by others (a copy, an old version) is made private again.
    std::fs::remove_file(&file).unwrap();
    let key = data.join("secret.key");
    let secret = std::fs::read(&key).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (stdout, stderr) = serve_once(&data, &dir.path().join("second.log")).await;
    assert!(!file.exists(), "no second password file:\n{stdout}");
    assert!(!stdout.contains("password"), "{stdout}");
    assert_eq!(mode(&key), 0o600, "{stderr}");
    assert_eq!(std::fs::read(&key).unwrap(), secret, "the secret is kept");
}
