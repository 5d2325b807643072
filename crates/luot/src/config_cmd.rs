//! `luot config export` and `luot config import`: the configuration in force, for scripts.
//!
//! Export writes the text of the version in force exactly as it was applied. Import puts a file
//! through the admin page's checks against the database and records it as the version in
//! force; the next `luot serve` runs it. Import refuses while a server runs on the folder: that
//! server would go on with its own copy, and tickets it issues meanwhile could be stranded by a
//! check made before them. With a server running, apply a configuration on the admin page (or
//! `PUT /api/v1/admin/config`), which applies it live.

use crate::data_lock::DataLock;
use anyhow::{Context, bail};
use clap::Subcommand;
use luot_server::config_in_force::{self, ConfigFile, Imported};
use std::path::{Path, PathBuf};

#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    /// Print the configuration in force (the text last applied), or write it to a file.
    Export {
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Check a file as the admin page does and make it the configuration in force; the next
    /// `luot serve` on the folder runs it. Refused while a server runs on the folder (apply it
    /// on the admin page then).
    Import {
        /// The TOML file to apply.
        file: PathBuf,
    },
}

pub fn run(command: ConfigCmd, data: &Path, now_ms: i64) -> anyhow::Result<()> {
    let db = data.join("luot.db");
    match command {
        ConfigCmd::Export { output } => {
            if !db.exists() {
                bail!(
                    "không có cơ sở dữ liệu tại {d} · no database at {d} (run `luot serve --data {}` once first)",
                    data.display(),
                    d = db.display()
                );
            }
            let conn = luot_store::open_reader(&db)?;
            let Some(v) = luot_store::config_in_force(&conn)? else {
                bail!(
                    "{} chưa có cấu hình nào · {} holds no configuration yet (run `luot serve` once, or `luot config import FILE`)",
                    db.display(),
                    db.display()
                );
            };
            let at = jiff::Timestamp::from_millisecond(v.at_ms)
                .map(|t| t.to_string())
                .unwrap_or_default();
            match output {
                Some(p) => {
                    std::fs::write(&p, &v.toml)
                        .with_context(|| format!("ghi tệp {f} · writing {f}", f = p.display()))?;
                    eprintln!(
                        "đã ghi cấu hình phiên bản {} (áp dụng {at}) vào {p} · wrote configuration version {} (applied {at}) to {p}",
                        v.version,
                        v.version,
                        p = p.display()
                    );
                }
                None => {
                    use std::io::Write;
                    std::io::stdout().write_all(v.toml.as_bytes())?;
                }
            }
        }
        ConfigCmd::Import { file } => {
            let f = ConfigFile::read(&file)?;
            // Held while importing, so no server starts on the folder in the middle.
            let _lock = match DataLock::try_acquire(data)? {
                Ok(lock) => lock,
                Err(pid) => bail!(
                    "máy chủ Luot (tiến trình {pid}) đang chạy trên {d}: hãy áp dụng cấu hình ở trang quản lý (Cấu hình), hoặc dừng máy chủ rồi nhập lại · \
                     a Luot server (process {pid}) is running on {d}: apply the configuration on the admin page (Configuration), or stop the server and import again",
                    d = data.display()
                ),
            };
            match config_in_force::import(&db, &f, now_ms)? {
                Imported::Unchanged { version } => println!(
                    "{} đã là cấu hình đang áp dụng (phiên bản {version}); không đổi gì · {} is already the configuration in force (version {version}); nothing changed",
                    f.name, f.name
                ),
                Imported::Recorded { version } => println!(
                    "đã nhập {} thành cấu hình phiên bản {version}; lần chạy `luot serve` tới sẽ dùng nó · imported {} as configuration version {version}; the next `luot serve` runs it",
                    f.name, f.name
                ),
            }
        }
    }
    Ok(())
}
