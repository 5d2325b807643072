//! The server under test: a `luot serve` child started here (fresh temp data folder), or an
//! external one given by URL. Also its admin REST session, its `/metrics` and its memory.

use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The instant the started server's clock begins at: a Monday inside opening hours.
pub const START_CLOCK: &str = "2026-11-30T09:00:00+07:00";

/// How to reach or start the server.
#[derive(Debug, Clone)]
pub struct Target {
    /// An existing data folder for the started server (default: a fresh one in a temp folder).
    pub data_dir: Option<PathBuf>,
    /// External server's base URL; None starts a child.
    pub url: Option<String>,
    /// The `luot` binary to start.
    pub luot: PathBuf,
    /// Admin password of an external server.
    pub admin_password: Option<String>,
    /// PID of an external server, to read its memory.
    pub pid: Option<u32>,
    /// `--config` for a started server.
    pub config: Option<PathBuf>,
    /// Keep the started server's data folder (for inspection).
    pub keep_data: bool,
    /// Folder to create the data folder in (default: the system temp folder).
    pub data_parent: Option<PathBuf>,
}

/// A running server the scenario talks to.
#[derive(Debug)]
pub struct Server {
    pub base: String,
    pub pid: Option<u32>,
    pub admin_password: String,
    child: Option<Child>,
    data: Option<tempfile::TempDir>,
}

impl Server {
    pub fn start(t: &Target) -> anyhow::Result<Server> {
        if let Some(url) = &t.url {
            let admin_password = t.admin_password.clone().context(
                "--admin-password (or LUOT_BENCH_ADMIN_PASSWORD) is needed with --server",
            )?;
            return Ok(Server {
                base: url.trim_end_matches('/').to_string(),
                pid: t.pid,
                admin_password,
                child: None,
                data: None,
            });
        }
        if !t.luot.exists() {
            bail!(
                "{} not found: build it first with `cargo build --release -p luot -p luot-bench`, or pass --luot",
                t.luot.display()
            );
        }
        // On the real disk (here /tmp is on it): fsync costs what it costs.
        let mut b = tempfile::Builder::new();
        b.prefix("luot-bench-");
        let data = match &t.data_parent {
            Some(p) => b.tempdir_in(p),
            None => b.tempdir(),
        }
        .context("creating a temp data folder")?;
        let log = std::fs::File::create(data.path().join("server.log"))?;
        let mut cmd = Command::new(&t.luot);
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data")
            .arg(
                t.data_dir
                    .clone()
                    .unwrap_or_else(|| data.path().join("data")),
            )
            .arg("--start-clock")
            .arg(START_CLOCK)
            // The default is one ticket per second per kiosk; the load is the point here.
            .args(["--issue-rate", "1000000", "--issue-burst", "1000000"])
            .args(["--ws-max", "30000", "--ws-anonymous-max", "30000"])
            // Every simulated client comes from 127.0.0.1.
            .args(["--connections-per-address", "40000"]);
        if let Some(c) = &t.config {
            cmd.arg("--config").arg(c);
        }
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "warn");
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", t.luot.display()))?;
        let pid = child.id();
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut base = None;
            let mut password = None;
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref() {
                let Ok(line) = line else { break };
                if let Some(u) = line.strip_prefix("Luot listening on ") {
                    base = Some(u.trim().to_string());
                }
                // Standard output is a pipe: a first start writes the admin password to a
                // file (mode 0600) and prints where it is.
                if let Some((_, file)) = line.split_once("password file: ") {
                    password = std::fs::read_to_string(file.trim()).ok().and_then(|text| {
                        text.lines()
                            .find_map(|l| l.strip_prefix("password: "))
                            .map(str::to_string)
                    });
                }
                if base.is_some() && password.is_some() {
                    break;
                }
            }
            let _ = tx.send((base, password));
            // Keep draining so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let (base, password) = rx
            .recv_timeout(Duration::from_secs(30))
            .context("the server printed no address within 30 s")?;
        let server_log = data.path().join("server.log");
        let (Some(base), Some(admin_password)) = (base, password) else {
            let _ = child.kill();
            let log = std::fs::read_to_string(&server_log).unwrap_or_default();
            bail!("the server did not print its address and admin password:\n{log}");
        };
        let data = if t.keep_data {
            eprintln!("data folder kept: {}", data.path().display());
            let _ = data.keep();
            None
        } else {
            Some(data)
        };
        Ok(Server {
            base,
            pid: Some(pid),
            admin_password,
            child: Some(child),
            data,
        })
    }

    pub fn ws_url(&self) -> String {
        format!(
            "{}/ws",
            self.base
                .replacen("http://", "ws://", 1)
                .replacen("https://", "wss://", 1)
        )
    }

    /// Resident memory of the server process, KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        self.pid.and_then(|p| proc_status_kib(p, "VmRSS:"))
    }

    /// CPU time the server process has used so far.
    pub fn cpu(&self) -> Option<Duration> {
        self.pid.and_then(proc_cpu)
    }

    /// An HTTP client logged in as the admin.
    pub async fn admin(&self) -> anyhow::Result<Rest> {
        Rest::login(&self.base, "admin", &self.admin_password).await
    }

    /// `/metrics` as name (with labels) → value.
    pub async fn metrics(&self) -> anyhow::Result<std::collections::HashMap<String, f64>> {
        let text = reqwest::get(format!("{}/metrics", self.base))
            .await?
            .text()
            .await?;
        Ok(text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (k, v) = l.rsplit_once(' ')?;
                Some((k.trim().to_string(), v.trim().parse().ok()?))
            })
            .collect())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGTERM would be kinder, but the data is thrown away anyway.
            let _ = c.kill();
            let _ = c.wait();
        }
        drop(self.data.take());
    }
}

pub fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// utime + stime of a process (clock ticks assumed 100 Hz, as on every Linux build here).
pub fn proc_cpu(pid: u32) -> Option<Duration> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// A REST session (cookie jar).
#[derive(Debug, Clone)]
pub struct Rest {
    pub base: String,
    pub http: reqwest::Client,
    /// `luot_session=…`, for websocket handshakes.
    pub cookie: String,
}

impl Rest {
    pub async fn login(base: &str, login: &str, password: &str) -> anyhow::Result<Rest> {
        let http = reqwest::Client::builder().cookie_store(true).build()?;
        let res = http
            .post(format!("{base}/api/v1/login"))
            .json(&json!({"login": login, "password": password}))
            .send()
            .await?;
        let status = res.status();
        let cookie = res
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.split(';').next().map(str::to_string))
            .unwrap_or_default();
        let body = res.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("login as {login} failed: {status} {body}");
        }
        Ok(Rest {
            base: base.to_string(),
            http,
            cookie,
        })
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let res = self
            .http
            .get(format!("{}/api/v1{path}", self.base))
            .send()
            .await?;
        let status = res.status();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("GET {path}: {status} {v}");
        }
        Ok(v)
    }

    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let res = self
            .http
            .post(format!("{}/api/v1{path}", self.base))
            .json(&body)
            .send()
            .await?;
        let status = res.status();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("POST {path}: {status} {v}");
        }
        Ok(v)
    }

    /// Site codes, in configuration order.
    pub async fn sites(&self) -> anyhow::Result<Vec<String>> {
        Ok(self
            .get("/sites")
            .await?
            .as_array()
            .context("sites: not a list")?
            .iter()
            .filter_map(|s| s["code"].as_str().map(str::to_string))
            .collect())
    }

    /// Service codes of a site.
    pub async fn services(&self, site: &str) -> anyhow::Result<Vec<String>> {
        Ok(self.get(&format!("/sites/{site}/setup")).await?["services"]
            .as_array()
            .context("setup: no services")?
            .iter()
            .filter_map(|s| s["code"].as_str().map(str::to_string))
            .collect())
    }

    /// Pairs a device and returns its token.
    pub async fn pair(&self, kind: &str, name: &str, site: &str) -> anyhow::Result<String> {
        let v = self
            .post(
                "/admin/devices",
                json!({"kind": kind, "name": name, "site": site}),
            )
            .await?;
        v["token"]
            .as_str()
            .map(str::to_string)
            .context("pairing returned no token")
    }
}

/// Where `luot` is by default: beside this binary (both in target/release).
pub fn default_luot() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default()
        .join("luot")
}

/// Raises this process's open-files limit as far as allowed; children inherit it.
pub fn raise_nofile(wanted: u64) -> u64 {
    let Ok((soft, hard)) = rlimit::Resource::NOFILE.get() else {
        return 0;
    };
    let target = wanted.max(soft).min(hard);
    if target > soft && rlimit::Resource::NOFILE.set(target, hard).is_ok() {
        return target;
    }
    soft
}
