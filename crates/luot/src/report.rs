//! `luot report`: reports from the history, and staffing advice.

use crate::{config_in_force, load_config, now_ms, parse_day_arg, pick_site};
use anyhow::{Context, bail};
use clap::ValueEnum;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// First day, YYYY-MM-DD (default: today).
    #[arg(long)]
    from: Option<String>,
    /// Last day, YYYY-MM-DD (default: the first day).
    #[arg(long)]
    to: Option<String>,
    #[arg(long, value_enum, default_value_t = ReportBy::Department)]
    by: ReportBy,
    /// `ratings-csv`: the ratings one by one, with ticket, official and dossier code.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
    /// Write to this file instead of standard output (required for xlsx).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Print the staffing advice (counters per department and hour) instead of the report.
    #[arg(long)]
    staffing: bool,
    /// The wait target, minutes.
    #[arg(long, default_value_t = 15)]
    target_wait_min: u32,
    /// Share of citizens who should meet the wait target.
    #[arg(long, default_value_t = 0.9)]
    target_share: f64,
    /// Site code (default: the first site).
    #[arg(long)]
    site: Option<String>,
    /// Read the history with the names of this configuration instead of the one in force.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Language of column names, labels and values.
    #[arg(long, value_enum, default_value_t = ReportLang::Vi)]
    lang: ReportLang,
    #[arg(long, default_value = "luot-data", env = "LUOT_DATA")]
    data: PathBuf,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportLang {
    /// Tiếng Việt
    Vi,
    /// English
    En,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportBy {
    Site,
    Department,
    Service,
    Counter,
    Official,
    Hour,
    Day,
    Weekday,
    Channel,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Table,
    Csv,
    RatingsCsv,
    Xlsx,
    Json,
}

pub fn report_cmd(a: ReportArgs) -> anyhow::Result<()> {
    use luot_server::report;
    let center = match &a.config {
        Some(p) => load_config(p)?.0,
        None => config_in_force(&a.data)?,
    };
    let settings = pick_site(&center, a.site.as_deref())?;
    let tz = jiff::tz::TimeZone::get(&settings.time_zone)?;
    let now = luot_server::clock::site_now(now_ms(), &tz);
    let from = match &a.from {
        Some(s) => parse_day_arg(s, "--from")?,
        None => now.day,
    };
    let to = match &a.to {
        Some(s) => parse_day_arg(s, "--to")?,
        None => from,
    };
    if from > to {
        bail!("--from {from} sau --to {to} · --from {from} is after --to {to}");
    }
    if to.0 - from.0 >= luot_store::reports::REPORT_DAYS_MAX {
        bail!(
            "khoảng ngày dài quá {n} ngày · the range is longer than {n} days",
            n = luot_store::reports::REPORT_DAYS_MAX
        );
    }
    if !(0.5..=0.999).contains(&a.target_share) || !(1..=240).contains(&a.target_wait_min) {
        bail!(
            "--target-share phải từ 0.5 đến 0.999 và --target-wait-min từ 1 đến 240 · --target-share must be 0.5–0.999 and --target-wait-min 1–240"
        );
    }
    let by_name = a.by.to_possible_value().expect("no skipped variants");
    let by = luot_store::reports::GroupBy::parse(by_name.get_name())
        .expect("ReportBy names GroupBy's variants");
    let offset = tz.to_offset(jiff::Timestamp::now()).seconds();
    let q = report::query(
        settings,
        &from.to_string(),
        &to.to_string(),
        by,
        a.target_wait_min * 60,
        offset,
    );
    let db = a.data.join("luot.db");
    if !db.exists() {
        bail!(
            "không có cơ sở dữ liệu tại {d} · no database at {d}",
            d = db.display()
        );
    }
    let conn = luot_store::open_reader(&db)?;
    let lang = match a.lang {
        ReportLang::Vi => report::Lang::Vi,
        ReportLang::En => report::Lang::En,
    };
    let labels = report::Labels::new(settings, lang, report::official_names(&conn)?);
    let started = std::time::Instant::now();
    let out: Vec<u8> = if a.staffing {
        let s = luot_store::reports::staffing(
            &conn,
            &q,
            a.target_share,
            &report::expected_service_s(settings),
        )?;
        match a.format {
            ReportFormat::Json => serde_json::to_vec_pretty(&s)?,
            ReportFormat::Table => report::staffing_table(&labels, &s).into_bytes(),
            f => bail!(
                "--staffing chỉ in dạng table hoặc json, không phải {f:?} · --staffing prints as table or json, not {f:?}"
            ),
        }
    } else {
        let mut r = luot_store::reports::report(&conn, &q)?;
        report::order_rows(settings, &mut r);
        match a.format {
            ReportFormat::Table => report::to_table(&labels, &r).into_bytes(),
            ReportFormat::Csv => report::to_csv(&labels, &r).map_err(anyhow::Error::msg)?,
            ReportFormat::RatingsCsv => {
                report::ratings_csv(&labels, &r).map_err(anyhow::Error::msg)?
            }
            ReportFormat::Json => serde_json::to_vec_pretty(&r)?,
            ReportFormat::Xlsx => {
                let s = luot_store::reports::staffing(
                    &conn,
                    &q,
                    a.target_share,
                    &report::expected_service_s(settings),
                )?;
                report::to_xlsx(&labels, &r, Some(&s)).map_err(anyhow::Error::msg)?
            }
        }
    };
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "report built");
    match &a.output {
        Some(p) => {
            std::fs::write(p, &out)
                .with_context(|| format!("ghi tệp {f} · writing {f}", f = p.display()))?;
            eprintln!("wrote {}", p.display());
        }
        None if a.format == ReportFormat::Xlsx => {
            bail!("báo cáo xlsx cần --output TỆP · an xlsx report needs --output FILE")
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&out)?;
        }
    }
    Ok(())
}
