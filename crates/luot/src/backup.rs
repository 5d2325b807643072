//! `luot backup` and `luot restore`: one archive of a data folder (while the server runs), and
//! its checked restore into a new folder. The work is in `luot_store::backup`; this module reads
//! the options and shows progress: a bar on a terminal, plain lines otherwise (logs, cron).

use luot_store::backup::{self, BackupKind, Progress};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct BackupArgs {
    /// The data folder to back up (a server may be running on it).
    #[arg(long, env = "LUOT_DATA", default_value = "luot-data")]
    pub data: PathBuf,
    /// The archive to write (.tar.gz); it must not exist yet.
    #[arg(long, short)]
    pub output: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    /// The archive made by `luot backup` (or the daily backup).
    #[arg(long, short)]
    pub input: PathBuf,
    /// The folder to restore into: new or empty (or, with --force, its contents are moved
    /// aside to a folder beside it). Never the folder of a running server.
    #[arg(long)]
    pub data: PathBuf,
    /// Restore into a folder that is not empty, moving what it holds aside first.
    #[arg(long)]
    pub force: bool,
}

/// A bar on a terminal; on anything else a line per step and per tenth of it.
struct Reporter {
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    total: Option<u64>,
    done: u64,
    tenth: u64,
}

impl Reporter {
    fn new() -> Reporter {
        Reporter {
            bar: None,
            started: Instant::now(),
            total: None,
            done: 0,
            tenth: 0,
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Reporter {
    fn step(&mut self, vi: &str, en: &str, total_bytes: Option<u64>) {
        self.finish();
        self.total = total_bytes;
        self.done = 0;
        self.tenth = 0;
        if std::io::stderr().is_terminal() {
            let bar = match total_bytes {
                Some(n) => indicatif::ProgressBar::new(n).with_style(
                    indicatif::ProgressStyle::with_template(
                        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ({eta})",
                    )
                    .expect("a valid template")
                    .progress_chars("=> "),
                ),
                None => {
                    let s = indicatif::ProgressBar::new_spinner();
                    s.enable_steady_tick(std::time::Duration::from_millis(120));
                    s
                }
            };
            bar.set_message(format!("{vi} · {en}"));
            self.bar = Some(bar);
        } else {
            let size = total_bytes
                .map(|n| format!(" ({n} bytes)"))
                .unwrap_or_default();
            eprintln!(
                "[{:>6.1}s] {vi} · {en}{size}",
                self.started.elapsed().as_secs_f64()
            );
        }
    }

    fn advance(&mut self, bytes: u64) {
        self.done += bytes;
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        } else if let Some(total) = self.total.filter(|&t| t > 0) {
            let tenth = (self.done * 10 / total).min(10);
            if tenth > self.tenth {
                self.tenth = tenth;
                eprintln!(
                    "[{:>6.1}s]   {}% ({} / {total} bytes)",
                    self.started.elapsed().as_secs_f64(),
                    tenth * 10,
                    self.done
                );
            }
        }
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

pub fn backup_cmd(a: BackupArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut progress = Reporter::new();
    let result = backup::create(
        &a.data,
        &a.output,
        BackupKind::Manual,
        now_ms(),
        &mut progress,
    );
    progress.finish();
    let w = result?;
    // Note it in the database it came from (a server may hold it: a short busy wait is fine).
    // The backup stands even if this fails, e.g. on a database from before the backups table.
    let noted = (|| -> Result<(), luot_store::StoreError> {
        use luot_store::Accounts;
        let mut c = rusqlite::Connection::open_with_flags(
            a.data.join("luot.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE,
        )?;
        c.busy_timeout(std::time::Duration::from_secs(5))?;
        let tx = c.transaction()?;
        backup::record(&tx, &w)?;
        tx.audit(
            w.manifest.created_at_ms,
            "cli",
            "backup",
            &format!("{} bytes={} sha256={}", w.path.display(), w.bytes, w.sha256),
        )?;
        tx.commit()?;
        Ok(())
    })();
    if let Err(e) = noted {
        tracing::warn!(error = %e, "the backup was written but not noted in the database");
    }
    println!(
        "Đã sao lưu · Backed up: {} ({} bytes, {} files, last event {}, schema {}) in {:.1} s",
        w.path.display(),
        w.bytes,
        w.manifest.files.len(),
        w.manifest.last_seq,
        w.manifest.schema_version,
        started.elapsed().as_secs_f64()
    );
    println!("SHA-256: {}", w.sha256);
    Ok(())
}

pub fn restore_cmd(a: RestoreArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut progress = Reporter::new();
    let result = backup::restore(&a.input, &a.data, a.force, now_ms(), &mut progress);
    progress.finish();
    let r = result?;
    if let Some(aside) = &r.moved_aside {
        println!(
            "Nội dung cũ của {} đã được chuyển sang · The folder's earlier contents were moved to: {}",
            a.data.display(),
            aside.display()
        );
    }
    println!(
        "Đã khôi phục · Restored: {} into {} (backup of {}, last event {}, schema {}, {} files) in {:.1} s",
        a.input.display(),
        a.data.display(),
        r.manifest.created_at,
        r.manifest.last_seq,
        r.manifest.schema_version,
        r.manifest.files.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "Chạy máy chủ trên thư mục này · Start the server on it: luot serve --data {}",
        a.data.display()
    );
    Ok(())
}
