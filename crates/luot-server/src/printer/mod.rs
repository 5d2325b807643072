//! Network receipt printers: ESC/POS over raw TCP (port 9100), driven by the server.
//!
//! A ticket is drawn as a 1-bit raster (`GS v 0`) with the kiosk's own font (Be Vietnam Pro,
//! from `kiosk-assets/fonts/`), so Vietnamese diacritics print right on any printer, whatever
//! its code pages. Each printer has its own task and a bounded queue: the broker and the
//! kiosk's request never wait for paper. Before each job the task asks the printer's status
//! (`DLE EOT 1` online, `DLE EOT 4` paper sensor); the outcome goes to `/healthz`,
//! `/metrics` and, as a `printer` message, to the kiosk. A ticket that did not print stays
//! valid and can be printed again.
//!
//! The parts: `ticket` lays out what a ticket says, `raster` draws text as a 1-bit picture with
//! the shipped fonts, `escpos` encodes the picture as printer commands; this module drives the
//! printers themselves.

mod escpos;
mod raster;
mod ticket;

use crate::broker::BrokerHandle;
use crate::clock::Clock;
use crate::hub::{Hub, Outgoing};
use luot_proto::config::PrinterSettings;
use luot_proto::{PROTOCOL_VERSION, PrintDto, PrinterStatusDto, ServerMessage};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use escpos::{RASTER_BAND_ROWS, escpos};
pub use raster::{Bitmap, woff_to_sfnt};
pub use ticket::{
    NOT_ENOUGH_DATA, TICKET_HEIGHT_MAX_DOTS, TicketPrint, render, ticket_print, wait_text,
    wait_words,
};

#[cfg(test)]
use ab_glyph::Font as _;
#[cfg(test)]
use raster::{Pen, fonts};

/// Jobs waiting for one printer. A kiosk issues at most a ticket a second or so; more than
/// this many waiting means the printer is stuck, and a job past it is refused (`busy`).
pub const PRINT_QUEUE_MAX: usize = 8;
/// Sending the ticket may take this many times the printer's timeout (the printer slows the
/// stream down to its printing speed).
pub const SEND_TIMEOUT_FACTOR: u32 = 4;

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

    /// The error code a failed print answers with (`printer_<state>`), by the state's text.
    pub fn error_code(state: &str) -> &'static str {
        match state {
            "ok" => "printer_ok",
            "paper_near_end" => "printer_paper_near_end",
            "paper_out" => "printer_paper_out",
            "offline" => "printer_offline",
            "unreachable" => "printer_unreachable",
            "timeout" => "printer_timeout",
            "bad_reply" => "printer_bad_reply",
            "busy" => "printer_busy",
            _ => "printer_unknown",
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
                PrintDto {
                    printer: name,
                    queued: false,
                    error: Some(crate::error::ApiError::PrinterBusy.to_dto()),
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
    use super::*;

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

    /// The vectors js/rules.js is checked against too (tests/browser/rules.test.mjs).
    #[test]
    fn wait_words_match_the_shared_vectors() {
        let text = include_str!("../../../../tests/fixtures/wait-text.json");
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        let vectors = v["vectors"].as_array().unwrap();
        assert!(vectors.len() >= 15);
        for x in vectors {
            let e = &x["estimate"];
            let secs = |k: &str| e[k].as_u64().map(|n| u32::try_from(n).unwrap());
            let uncertain = e["uncertain"].as_bool().unwrap_or(false);
            for (lang, en) in [("vi", false), ("en", true)] {
                assert_eq!(
                    wait_words(secs("low_s"), secs("high_s"), uncertain, en).as_deref(),
                    x[lang].as_str(),
                    "{e} in {lang}"
                );
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
