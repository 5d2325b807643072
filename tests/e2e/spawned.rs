//! The `luot` binary run as an operator runs it, for the tests of the address, the
//! configuration in force and the environment: `run` for a command that ends, `Spawned` for a
//! `luot serve` that keeps running, with its standard output (the banner) and its log (standard
//! error) both readable. Build the binary first: `cargo build -p luot`.

use luot_tests::{START_RFC3339, luot_binary, within};
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// Every variable the binary reads, removed so the tests' own environment cannot change them.
const LUOT_VARS: [&str; 13] = [
    "LUOT_DATA",
    "LUOT_CONFIG",
    "LUOT_LISTEN",
    "LUOT_PUBLIC_URL",
    "LUOT_ASSETS",
    "LUOT_ISSUE_RATE",
    "LUOT_ISSUE_BURST",
    "LUOT_WS_MAX",
    "LUOT_WS_ANONYMOUS_MAX",
    "LUOT_SECURE_COOKIES",
    "LUOT_START_CLOCK",
    "LUOT_LOG_FORMAT",
    "LUOT_TRUSTED_PROXIES",
];

fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    command_via(&[], args, env)
}

/// `wrapper… luot args…`: the binary started by another program (e.g. `unshare`), which must
/// exec it, so that the child's process id is luot's.
fn command_via(wrapper: &[&str], args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = match wrapper.split_first() {
        None => Command::new(luot_binary()),
        Some((program, rest)) => {
            let mut c = Command::new(program);
            c.args(rest).arg(luot_binary());
            c
        }
    };
    c.args(args).env("RUST_LOG", "info");
    for v in LUOT_VARS {
        c.env_remove(v);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.kill_on_drop(true);
    c
}

/// Runs `luot args…` to completion with `env` added and `stdin` as its input.
pub async fn run(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut child = command(args, env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
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

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A running `luot serve`.
pub struct Spawned {
    child: Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    /// Every line of its log so far (standard error), gathered by a task.
    log: Arc<Mutex<Vec<String>>>,
    /// What the first line announced: `http://HOST:PORT`.
    pub base: String,
    /// The port it really listens on.
    pub port: u16,
    /// The banner lines read so far.
    pub banner: Vec<String>,
}

impl Spawned {
    /// `luot serve --data DATA --start-clock … extra…` with `env` (and `--listen 127.0.0.1:0`
    /// unless a listening address is given); returns once the banner has said where it listens
    /// and which address phones and devices use.
    pub async fn start(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Spawned {
        let mut args = vec![
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--start-clock",
            START_RFC3339,
        ];
        args.extend_from_slice(extra);
        if !extra.contains(&"--listen") && !env.iter().any(|(k, _)| *k == "LUOT_LISTEN") {
            args.extend_from_slice(&["--listen", "127.0.0.1:0"]);
        }
        Spawned::spawn(&args, env).await
    }

    /// `luot args…` (a `serve`) with `env` and nothing else.
    pub async fn spawn(args: &[&str], env: &[(&str, &str)]) -> Spawned {
        Spawned::spawn_via(&[], args, env).await
    }

    /// `wrapper… luot args…` (a `serve`), see `command_via`.
    pub async fn spawn_via(wrapper: &[&str], args: &[&str], env: &[(&str, &str)]) -> Spawned {
        let mut child = command_via(wrapper, args, env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn luot serve");
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut err_lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let sink = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(l)) = err_lines.next_line().await {
                sink.lock().unwrap().push(l);
            }
        });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = match within("luot serve's first line", lines.next_line())
            .await
            .unwrap()
        {
            Some(l) => l,
            None => {
                let _ = within("luot serve to exit", child.wait()).await;
                panic!(
                    "luot serve printed nothing; its log:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
        };
        let listening = first
            .strip_prefix("Luot listening on ")
            .unwrap_or_else(|| panic!("the first line says where it listens: {first:?}"))
            .to_string();
        let port: u16 = listening
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {listening:?}"));
        assert_ne!(port, 0, "the real port, not the one asked for");
        let mut s = Spawned {
            child,
            lines,
            log,
            base: listening.clone(),
            port,
            banner: vec![first],
        };
        // The line after the blank one says which address links use.
        s.until("").await;
        let reach = s.until("").await;
        const ADDRESS: &str = "Address for phones and devices: ";
        if let Some(i) = reach.find(ADDRESS) {
            let url = &reach[i + ADDRESS.len()..];
            s.base = url.split(' ').next().unwrap().to_string();
        }
        s
    }

    /// Reads the banner until a line contains `needle`; returns that line.
    pub async fn until(&mut self, needle: &str) -> String {
        loop {
            let line = within(&format!("a line with {needle:?}"), self.lines.next_line())
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("stdout ended before {needle:?}: {:#?}", self.banner));
            self.banner.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// The log so far, one string.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits until the log has a line containing `needle` (the log is read by its own task, so
    /// a line written before the banner may arrive after it); returns the log so far.
    pub async fn log_with(&self, needle: &str) -> String {
        within(&format!("a log line with {needle:?}"), async {
            loop {
                let log = self.log();
                if log.contains(needle) {
                    return log;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
        .await
    }

    /// The server on its loopback address, reachable whatever address it announces.
    pub fn local_base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGTERM, and a clean exit.
    pub async fn terminate(mut self) {
        let pid = self.child.id().expect("running").to_string();
        let kill = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(kill.success());
        let status = within("luot serve to exit after SIGTERM", self.child.wait())
            .await
            .unwrap();
        assert!(status.success(), "exit after SIGTERM: {status:?}");
    }
}

/// The first-start password and kiosk token from a banner being read.
pub async fn first_start_secrets(s: &mut Spawned) -> (String, String) {
    let kiosk_line = s.until("/kiosk?device=").await;
    let kiosk = kiosk_line
        .rsplit("?device=")
        .next()
        .unwrap()
        .trim()
        .to_string();
    // Standard output is a pipe: the password is in the file the banner names.
    let line = s.until("password file: ").await;
    let file = line.rsplit("password file: ").next().unwrap().trim();
    let password = luot_tests::first_admin_password_in(std::path::Path::new(file));
    (password, kiosk)
}
