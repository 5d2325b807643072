//! `luot simulate`: realistic synthetic days written into a data folder.

use crate::{now_ms, parse_day_arg, pick_site};
use anyhow::bail;
use luot_proto::config::DEFAULT_CONFIG_TOML;
use luot_server::config_in_force::{self, ConfigFile};
use luot_store::Store;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// First day to simulate, YYYY-MM-DD.
    #[arg(long)]
    from: String,
    /// Number of calendar days; days when the center is closed are skipped.
    #[arg(long, default_value_t = 20)]
    days: u32,
    /// Expected tickets per open day.
    #[arg(long, default_value_t = 300.0)]
    arrivals: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Site code (default: the first site).
    #[arg(long)]
    site: Option<String>,
    /// For a new data folder: the configuration to record (default: the built-in example). A
    /// folder that has a configuration in force simulates with that one.
    #[arg(long, short)]
    config: Option<PathBuf>,
    #[arg(long, default_value = "luot-data", env = "LUOT_DATA")]
    data: PathBuf,
}
pub fn simulate_cmd(a: SimulateArgs) -> anyhow::Result<()> {
    let from = parse_day_arg(&a.from, "--from")?;
    if !(1.0..=20_000.0).contains(&a.arrivals) || a.days == 0 || a.days > 366 {
        bail!(
            "--arrivals phải từ 1 đến 20000 và --days từ 1 đến 366 · --arrivals must be 1–20000 and --days 1–366"
        );
    }
    std::fs::create_dir_all(&a.data)?;
    let mut store = Store::open(&a.data.join("luot.db"))?;
    // The configuration in force; a new folder records the given file (or the built-in
    // example) as its first, the way a first start does.
    let file = a.config.as_deref().map(ConfigFile::read).transpose()?;
    let center = match config_in_force::read_in_force(store.connection())? {
        Some((v, c)) => {
            if let Some(f) = file.filter(|f| config_in_force::digest(&f.text) != v.digest) {
                bail!(
                    "{d} đã có cấu hình đang áp dụng (phiên bản {v}) khác với {n}: hãy bỏ --config, hoặc chạy `luot config import {n}` trước · \
                     {d} already has a configuration in force (version {v}) that differs from {n}: \
                     leave out --config, or run `luot config import {n}` first",
                    d = a.data.display(),
                    v = v.version,
                    n = f.name,
                );
            }
            c
        }
        None => {
            let (text, name) = match &file {
                Some(f) => (f.text.as_str(), f.name.as_str()),
                None => (DEFAULT_CONFIG_TOML, config_in_force::BUILT_IN_NAME),
            };
            let c = config_in_force::parse_checked(text, name)?;
            store.record_config(text, &config_in_force::digest(text), now_ms())?;
            c
        }
    };
    let settings = pick_site(&center, a.site.as_deref())?;
    let mut site = store.recover(settings.core.clone())?;
    if let Some(d) = site.day() {
        if d >= from {
            bail!(
                "{f} đã có dữ liệu đến ngày {d}; hãy mô phỏng vào thư mục trống hoặc từ một ngày sau · \
                 {f} already has history up to {d}; simulate into an empty folder or from a later day",
                f = a.data.display()
            );
        }
    }
    let tz = jiff::tz::TimeZone::get(&settings.time_zone)?;
    let code = settings.core.code;
    let mut seq = store.last_seq();
    let (mut days, mut tickets) = (0, 0);
    for offset in 0..a.days as i32 {
        let day = luot_core::Day(from.0 + offset);
        let open = settings
            .core
            .services
            .iter()
            .any(|s| !s.hours.days[day.weekday() as usize].is_empty());
        if !open || settings.core.holidays.contains(&day) {
            continue;
        }
        let utc_offset_s = luot_server::clock::utc_offset_at_noon(&tz, day)?;
        let mut spec = luot_core::sim::DaySpec::new(
            day,
            a.seed.wrapping_mul(1_000_003).wrapping_add(offset as u64),
            a.arrivals,
        );
        spec.utc_offset_s = utc_offset_s;
        let run = luot_core::sim::run_day(&mut site, &spec);
        let records: Vec<luot_store::Record> = run
            .events
            .into_iter()
            .map(|(at_ms, event)| {
                seq += 1;
                let day = match &event {
                    luot_core::Event::DayClosed { day, .. }
                    | luot_core::Event::DayOpened { day, .. } => *day,
                    _ => day,
                };
                luot_store::Record {
                    seq,
                    site: code,
                    day,
                    at_ms,
                    event,
                }
            })
            .collect();
        for chunk in records.chunks(luot_store::BATCH_RECORDS_MAX) {
            store.append(chunk)?;
        }
        days += 1;
        tickets += run.issued;
        eprintln!("{day}: {} tickets", run.issued);
    }
    println!(
        "simulated {days} open days, {tickets} tickets, into {}",
        a.data.display()
    );
    Ok(())
}
