//! Network receipt printers: ESC/POS over raw TCP (port 9100), driven by the server.
//!
//! A ticket is drawn as a 1-bit raster (`GS v 0`) with the kiosk's own font (Be Vietnam Pro,
//! from `kiosk-assets/fonts/`), so Vietnamese diacritics print right on any printer, whatever
//! its code pages. Each printer has its own task and a bounded queue: the broker and the
//! kiosk's request never wait for paper. Before each job the task asks the printer's status
//! (`DLE EOT 1` online, `DLE EOT 4` paper sensor); the outcome goes to `/healthz`,
//! `/metrics` and, as a `printer` message, to the kiosk. A ticket that did not print stays
//! valid and can be printed again.

use crate::broker::BrokerHandle;
use crate::clock::Clock;
use crate::hub::{Hub, Outgoing};
use luot_proto::config::PrinterSettings;
use luot_proto::{ErrorDto, PROTOCOL_VERSION, PrintDto, PrinterStatusDto, ServerMessage};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

mod raster;
pub use raster::{Bitmap, escpos, render, woff_to_sfnt};

/// Jobs waiting for one printer. A kiosk issues at most a ticket a second or so; more than
/// this many waiting means the printer is stuck, and a job past it is refused (`busy`).
pub const PRINT_QUEUE_MAX: usize = 8;
/// Longest ticket drawn, in dots (30 cm at 203 dpi); a longer one is cut off.
pub const TICKET_HEIGHT_MAX_DOTS: u32 = 2400;
/// Rows per `GS v 0` command: small bands suit printers with small receive buffers.
pub const RASTER_BAND_ROWS: u32 = 256;
/// Sending the ticket may take this many times the printer's timeout (the printer slows the
/// stream down to its printing speed).
pub const SEND_TIMEOUT_FACTOR: u32 = 4;
/// A dot is black when the glyph covers this much of it: a little under half keeps the thin
/// strokes of small diacritics (the tilde of "ã", the hook of "ả") on 203 dpi paper.
const COVERAGE_MIN: f32 = 0.4;
/// Lines fed after the ticket, so the cut falls below the last line.
const FEED_LINES: u8 = 4;

// ----- the ticket -----

/// Everything printed on a ticket, already in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketPrint {
    pub center: String,
    pub number: String,
    pub service_vi: String,
    pub service_en: String,
    pub counters: Vec<u16>,
    pub ahead: u32,
    /// "10–20 phút" / "10–20 min"; `None` while no counter serving it is open.
    pub wait_vi: Option<String>,
    pub wait_en: Option<String>,
    /// When the wait may run past the end of the service's session: "Có thể đến buổi chiều
    /// (13:30) mới tới lượt" and its English (`luot_proto::session_note`).
    pub session_vi: Option<String>,
    pub session_en: Option<String>,
    /// "08:15 · 28/11/2026", in the site's time zone.
    pub issued: String,
    /// The priority category's name, when the citizen chose one.
    pub priority: Option<String>,
    /// The phone page, for the QR code.
    pub url: String,
}

/// Printed instead of a range when a counter is open but the range would be too wide to plan by
/// (`NOT_ENOUGH_DATA` in live.js).
pub const NOT_ENOUGH_DATA: (&str, &str) = (
    "chưa đủ dữ liệu để ước tính",
    "not enough data to estimate yet",
);

/// "25–40 phút" from an estimate in seconds, as the kiosk writes it (`waitRange` in live.js).
pub fn wait_text(low_s: Option<u32>, high_s: Option<u32>, en: bool) -> Option<String> {
    let (low, high) = (low_s?, high_s?);
    if low == 0 && high >= 120 {
        let m = (high as f64 / 60.0).round();
        return Some(if en {
            format!("under {m} min")
        } else {
            format!("dưới {m} phút")
        });
    }
    let lo = (low as f64 / 60.0).round() as u32;
    let hi = ((high as f64 / 60.0).round() as u32).max(lo);
    let unit = if en { "min" } else { "phút" };
    Some(if hi <= 1 {
        if en { "under 1 min" } else { "dưới 1 phút" }.to_string()
    } else if lo == hi {
        format!("{lo} {unit}")
    } else {
        format!("{lo}–{hi} {unit}")
    })
}

/// The ticket `number` of `site` as printed now (people ahead and wait as of now, the time it
/// was issued), with its state; `None` when there is no such ticket today.
pub async fn ticket_print(
    app: &crate::App,
    site: usize,
    number: luot_core::TicketNumber,
) -> Result<Option<(TicketPrint, luot_core::Ticket)>, crate::error::ApiError> {
    let runtime = app.broker.runtime();
    let Some(tz) = runtime.get(site).map(|r| r.tz.clone()) else {
        return Ok(None);
    };
    let public_url = app.public_url.clone();
    app.broker
        .read(move |v| {
            let s = &v.sites[site];
            let t = s.resolve(luot_core::TicketRef::Number(number))?;
            let est = if t.state == luot_core::TicketState::Waiting {
                s.estimate_ticket(t.id)
            } else {
                None
            };
            let cfg = s.config();
            let svc = cfg.service(*t.service)?;
            let local = jiff::Timestamp::from_millisecond(t.issued_at_ms)
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
                .to_zoned(tz);
            let range = est.and_then(|e| e.range_s);
            let now = v.now(site);
            let session = est
                .and_then(|_| s.wait_runs_past_session(*t.service, &now, range.map(|r| r.1)))
                .map(|sess| luot_proto::session_note(&sess, now.day));
            Some((
                TicketPrint {
                    center: cfg.name.vi.clone(),
                    number: t.number.to_string(),
                    service_vi: svc.name.vi.clone(),
                    service_en: svc.name.en.clone(),
                    counters: cfg
                        .counters
                        .iter()
                        .filter(|k| k.services.iter().any(|x| x.service == t.service))
                        .map(|k| k.number)
                        .collect(),
                    ahead: est.map_or(0, |e| e.ahead),
                    wait_vi: match est {
                        Some(e) if e.uncertain => Some(NOT_ENOUGH_DATA.0.into()),
                        _ => wait_text(range.map(|r| r.0), range.map(|r| r.1), false),
                    },
                    wait_en: match est {
                        Some(e) if e.uncertain => Some(NOT_ENOUGH_DATA.1.into()),
                        _ => wait_text(range.map(|r| r.0), range.map(|r| r.1), true),
                    },
                    session_vi: session.as_ref().map(|n| n.0.clone()),
                    session_en: session.map(|n| n.1),
                    issued: local.strftime("%H:%M · %d/%m/%Y").to_string(),
                    priority: t
                        .priority
                        .and_then(|p| cfg.priority_categories.iter().find(|c| c.code == p))
                        .map(|c| c.name.vi.clone()),
                    url: format!("{public_url}/t/{}", t.token.to_hex()),
                },
                t.clone(),
            ))
        })
        .await
}

// ----- printer state -----

/// What the server last found out about a printer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrinterState {
    Unknown,
    Ok,
    PaperNearEnd,
    PaperOut,
    /// Answers but does not print: cover open, paper jam, cutter error.
    Offline,
    Unreachable,
    Timeout,
    BadReply,
    /// Its queue is full.
    Busy,
}

impl PrinterState {
    pub fn code(self) -> &'static str {
        match self {
            PrinterState::Unknown => "unknown",
            PrinterState::Ok => "ok",
            PrinterState::PaperNearEnd => "paper_near_end",
            PrinterState::PaperOut => "paper_out",
            PrinterState::Offline => "offline",
            PrinterState::Unreachable => "unreachable",
            PrinterState::Timeout => "timeout",
            PrinterState::BadReply => "bad_reply",
            PrinterState::Busy => "busy",
        }
    }

    pub const ALL: [PrinterState; 9] = [
        PrinterState::Unknown,
        PrinterState::Ok,
        PrinterState::PaperNearEnd,
        PrinterState::PaperOut,
        PrinterState::Offline,
        PrinterState::Unreachable,
        PrinterState::Timeout,
        PrinterState::BadReply,
        PrinterState::Busy,
    ];

    pub fn ok(self) -> bool {
        matches!(
            self,
            PrinterState::Unknown | PrinterState::Ok | PrinterState::PaperNearEnd
        )
    }

    /// For the kiosk's banner: what happened, and that the ticket is still valid.
    pub fn message(self) -> (&'static str, &'static str) {
        match self {
            PrinterState::Unknown => ("Máy in chưa in phiếu nào", "Printer: nothing printed yet"),
            PrinterState::Ok => ("Máy in sẵn sàng", "Printer ready"),
            PrinterState::PaperNearEnd => (
                "Máy in sắp hết giấy — vui lòng báo cán bộ",
                "Printer: paper running low — please tell a staff member",
            ),
            PrinterState::PaperOut => (
                "Máy in lỗi: hết giấy — vé vẫn hợp lệ",
                "Printer: out of paper — your ticket is still valid",
            ),
            PrinterState::Offline => (
                "Máy in lỗi: nắp mở hoặc kẹt giấy — vé vẫn hợp lệ",
                "Printer: cover open or paper jam — your ticket is still valid",
            ),
            PrinterState::Unreachable => (
                "Máy in lỗi: không kết nối được — vé vẫn hợp lệ",
                "Printer: not reachable — your ticket is still valid",
            ),
            PrinterState::Timeout => (
                "Máy in lỗi: không phản hồi — vé vẫn hợp lệ",
                "Printer: not answering — your ticket is still valid",
            ),
            PrinterState::BadReply => (
                "Máy in lỗi: trả lời không hợp lệ — vé vẫn hợp lệ",
                "Printer: unexpected reply — your ticket is still valid",
            ),
            PrinterState::Busy => (
                "Máy in lỗi: quá nhiều phiếu đang chờ in — vé vẫn hợp lệ",
                "Printer: too many tickets waiting to print — your ticket is still valid",
            ),
        }
    }
}

#[derive(Debug)]
struct Status {
    state: PrinterState,
    since_ms: i64,
    ticket: Option<String>,
}

#[derive(Debug)]
struct Job {
    ticket: TicketPrint,
    done: Option<oneshot::Sender<PrinterStatusDto>>,
}

/// One configured printer: its queue, its last state and its counts.
#[derive(Debug)]
pub struct Printer {
    pub settings: PrinterSettings,
    tx: mpsc::Sender<Job>,
    status: Mutex<Status>,
    printed: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

impl Printer {
    pub fn status(&self) -> PrinterStatusDto {
        let s = self.status.lock().expect("printer status lock");
        let (vi, en) = s.state.message();
        PrinterStatusDto {
            name: self.settings.name.to_string(),
            site: self.settings.site.to_string(),
            kiosk: self.settings.kiosk.clone(),
            state: s.state.code().into(),
            ok: s.state.ok(),
            message: vi.into(),
            message_en: en.into(),
            since_ms: s.since_ms,
            ticket: s.ticket.clone(),
            printed: self.printed.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }

    /// Hands a ticket to the printer's task; never waits. `done` hears how it went.
    pub fn submit(
        &self,
        ticket: TicketPrint,
        done: Option<oneshot::Sender<PrinterStatusDto>>,
    ) -> PrintDto {
        let name = self.settings.name.to_string();
        match self.tx.try_send(Job { ticket, done }) {
            Ok(()) => PrintDto {
                printer: name,
                queued: true,
                error: None,
            },
            Err(_) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                let (vi, en) = PrinterState::Busy.message();
                PrintDto {
                    printer: name,
                    queued: false,
                    error: Some(ErrorDto::new("printer_busy", vi, en)),
                }
            }
        }
    }
}

/// Every configured printer.
#[derive(Debug, Default)]
pub struct Printers {
    list: Vec<Arc<Printer>>,
}

impl Printers {
    /// Starts one task per printer. Nothing is sent to a printer before its first job.
    pub fn start(
        settings: &[PrinterSettings],
        broker: BrokerHandle,
        hub: Arc<Hub>,
        clock: Arc<dyn Clock>,
        shutdown: CancellationToken,
        tracker: &TaskTracker,
    ) -> Printers {
        let list = settings
            .iter()
            .map(|s| {
                let (tx, rx) = mpsc::channel(PRINT_QUEUE_MAX);
                let p = Arc::new(Printer {
                    settings: s.clone(),
                    tx,
                    status: Mutex::new(Status {
                        state: PrinterState::Unknown,
                        since_ms: clock.now_ms(),
                        ticket: None,
                    }),
                    printed: AtomicU64::new(0),
                    failed: AtomicU64::new(0),
                    dropped: AtomicU64::new(0),
                });
                tracker.spawn(run(
                    p.clone(),
                    rx,
                    broker.clone(),
                    hub.clone(),
                    clock.clone(),
                    shutdown.clone(),
                ));
                p
            })
            .collect();
        Printers { list }
    }

    pub fn all(&self) -> &[Arc<Printer>] {
        &self.list
    }

    /// The printer bound to this kiosk device.
    pub fn for_kiosk(&self, site: &str, kiosk: &str) -> Option<&Arc<Printer>> {
        self.list
            .iter()
            .find(|p| p.settings.site.as_str() == site && p.settings.kiosk == kiosk.trim())
    }

    pub fn by_name(&self, site: &str, name: &str) -> Option<&Arc<Printer>> {
        self.list
            .iter()
            .find(|p| p.settings.site.as_str() == site && p.settings.name.as_str() == name)
    }

    pub fn of_site(&self, site: &str) -> Vec<&Arc<Printer>> {
        self.list
            .iter()
            .filter(|p| p.settings.site.as_str() == site)
            .collect()
    }

    /// Each printer's state and counts, for `/metrics`.
    pub fn metric_samples(&self) -> Vec<crate::metrics::PrinterSample> {
        self.list
            .iter()
            .map(|p| {
                let now = p.status.lock().expect("printer status lock").state;
                crate::metrics::PrinterSample {
                    name: p.settings.name.to_string(),
                    states: PrinterState::ALL
                        .iter()
                        .map(|s| (s.code(), i64::from(*s == now)))
                        .collect(),
                    printed: p.printed.load(Ordering::Relaxed),
                    failed: p.failed.load(Ordering::Relaxed),
                    dropped: p.dropped.load(Ordering::Relaxed),
                }
            })
            .collect()
    }
}

async fn run(
    p: Arc<Printer>,
    mut rx: mpsc::Receiver<Job>,
    broker: BrokerHandle,
    hub: Arc<Hub>,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
) {
    loop {
        let job = tokio::select! {
            _ = shutdown.cancelled() => return,
            j = rx.recv() => match j { Some(j) => j, None => return },
        };
        let width = u32::from(p.settings.paper_width_dots);
        let ticket = job.ticket.clone();
        let bytes = match tokio::task::spawn_blocking(move || escpos(&render(&ticket, width))).await
        {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "drawing a ticket failed");
                continue;
            }
        };
        let timeout = Duration::from_millis(u64::from(p.settings.timeout_ms));
        // A stuck printer must not hold up a shutdown.
        let outcome = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = print(&p.settings.address, timeout, &bytes) => r,
        };
        let state = match outcome {
            Ok(s) => {
                p.printed.fetch_add(1, Ordering::Relaxed);
                s
            }
            Err(s) => {
                p.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(printer = %p.settings.name, state = s.code(), ticket = %job.ticket.number, "ticket not printed");
                s
            }
        };
        {
            let mut st = p.status.lock().expect("printer status lock");
            if st.state != state {
                st.since_ms = clock.now_ms();
            }
            st.state = state;
            st.ticket = Some(job.ticket.number.clone());
        }
        let status = p.status();
        if let Some(site) = broker.site_index(p.settings.site.as_str()) {
            let msg = ServerMessage::Printer {
                v: PROTOCOL_VERSION,
                printer: status.clone(),
            };
            hub.publish(Outgoing {
                seq: 0,
                site,
                ticket: None,
                json: serde_json::to_string(&msg)
                    .expect("server messages serialize")
                    .into(),
                call_received: None,
            });
        }
        if let Some(done) = job.done {
            let _ = done.send(status);
        }
    }
}

/// Asks one real-time status (`DLE EOT n`); every answer has bits 1 and 4 set, 0 and 7 clear.
async fn query(s: &mut TcpStream, n: u8, timeout: Duration) -> Result<u8, PrinterState> {
    let ask = async {
        s.write_all(&[0x10, 0x04, n]).await?;
        s.read_u8().await
    };
    match tokio::time::timeout(timeout, ask).await {
        Err(_) => Err(PrinterState::Timeout),
        Ok(Err(_)) => Err(PrinterState::Unreachable),
        Ok(Ok(b)) if b & 0x93 == 0x12 => Ok(b),
        Ok(Ok(_)) => Err(PrinterState::BadReply),
    }
}

/// Connects, checks the printer is online and has paper, sends the job.
pub async fn print(
    address: &str,
    timeout: Duration,
    bytes: &[u8],
) -> Result<PrinterState, PrinterState> {
    let mut s = match tokio::time::timeout(timeout, TcpStream::connect(address)).await {
        Err(_) => return Err(PrinterState::Timeout),
        Ok(Err(_)) => return Err(PrinterState::Unreachable),
        Ok(Ok(s)) => s,
    };
    let _ = s.set_nodelay(true);
    let online = query(&mut s, 1, timeout).await?;
    let paper = query(&mut s, 4, timeout).await?;
    // DLE EOT 4: bits 5–6 paper end, bits 2–3 paper near end.
    if paper & 0x60 != 0 {
        return Err(PrinterState::PaperOut);
    }
    // DLE EOT 1: bit 3 offline (cover open, error, feeding).
    if online & 0x08 != 0 {
        return Err(PrinterState::Offline);
    }
    let send = async {
        s.write_all(bytes).await?;
        s.flush().await?;
        s.shutdown().await
    };
    match tokio::time::timeout(timeout * SEND_TIMEOUT_FACTOR, send).await {
        Err(_) => Err(PrinterState::Timeout),
        Ok(Err(_)) => Err(PrinterState::Unreachable),
        Ok(Ok(())) if paper & 0x0c != 0 => Ok(PrinterState::PaperNearEnd),
        Ok(Ok(())) => Ok(PrinterState::Ok),
    }
}

#[cfg(test)]
mod tests {
    use super::raster::{Pen, fonts};
    use super::*;
    use ab_glyph::Font;

    #[test]
    fn the_shipped_fonts_unpack_and_cover_vietnamese() {
        let f = fonts();
        for face in [&f.regular, &f.bold] {
            for c in "Đăâêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ".chars()
            {
                assert_ne!(Pen::glyph(face, c).1.0, face.0[0].glyph_id('?').0, "{c}");
            }
        }
    }

    #[test]
    fn wait_text_matches_the_kiosk() {
        assert_eq!(
            wait_text(Some(600), Some(1200), false).as_deref(),
            Some("10–20 phút")
        );
        assert_eq!(
            wait_text(Some(0), Some(2400), true).as_deref(),
            Some("under 40 min")
        );
        assert_eq!(
            wait_text(Some(0), Some(30), false).as_deref(),
            Some("dưới 1 phút")
        );
        assert_eq!(wait_text(None, None, false), None);
    }

    #[test]
    fn raster_bands_cover_the_picture() {
        let mut b = Bitmap::new(16, 300);
        b.set(0, 0, true);
        b.set(15, 299, true);
        let out = escpos(&b);
        assert_eq!(&out[..2], &[0x1b, 0x40]);
        // Two bands: 256 rows and 44 rows, two bytes a row.
        assert_eq!(&out[2..10], &[0x1d, 0x76, 0x30, 0, 2, 0, 0, 1]);
        assert_eq!(out[10], 0x80);
        let second = 10 + 2 * 256;
        assert_eq!(
            &out[second..second + 8],
            &[0x1d, 0x76, 0x30, 0, 2, 0, 44, 0]
        );
        assert_eq!(out[second + 8 + 2 * 44 - 1], 0x01);
        assert_eq!(&out[out.len() - 4..], &[0x1d, 0x56, 0x42, 0x00]);
    }
}
