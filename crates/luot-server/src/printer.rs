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
use ab_glyph::{Font, FontVec, PxScale, ScaleFont, point};
use luot_proto::config::PrinterSettings;
use luot_proto::{ErrorDto, PROTOCOL_VERSION, PrintDto, PrinterStatusDto, ServerMessage};
use std::io::Read as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

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

/// The wait as printed: [`NOT_ENOUGH_DATA`] when the estimate is `uncertain`, else [`wait_text`].
/// The kiosk and the phone page word it the same (`waitText` in js/rules.js); both are checked
/// against tests/fixtures/wait-text.json.
pub fn wait_words(
    low_s: Option<u32>,
    high_s: Option<u32>,
    uncertain: bool,
    en: bool,
) -> Option<String> {
    if uncertain {
        let (vi, en_text) = NOT_ENOUGH_DATA;
        return Some(if en { en_text } else { vi }.to_string());
    }
    wait_text(low_s, high_s, en)
}

/// The ticket `number` of `site` as printed now (people ahead and wait as of now, the time it
/// was issued), with its state; `None` when there is no such ticket today.
pub async fn ticket_print(
    app: &crate::App,
    site: usize,
    number: luot_core::TicketNumber,
) -> Result<Option<(TicketPrint, luot_core::Ticket)>, ErrorDto> {
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
                    wait_vi: wait_words(
                        range.map(|r| r.0),
                        range.map(|r| r.1),
                        est.is_some_and(|e| e.uncertain),
                        false,
                    ),
                    wait_en: wait_words(
                        range.map(|r| r.0),
                        range.map(|r| r.1),
                        est.is_some_and(|e| e.uncertain),
                        true,
                    ),
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

// ----- fonts -----

/// The shipped WOFF (1.0, zlib) files: one per subset, tried in turn for each character.
const FONT_500: [&[u8]; 3] = [
    include_bytes!("../../../kiosk-assets/fonts/be-vietnam-pro-latin-500-normal.woff"),
    include_bytes!("../../../kiosk-assets/fonts/be-vietnam-pro-latin-ext-500-normal.woff"),
    include_bytes!("../../../kiosk-assets/fonts/be-vietnam-pro-vietnamese-500-normal.woff"),
];
const FONT_800: [&[u8]; 3] = [
    include_bytes!("../../../kiosk-assets/fonts/be-vietnam-pro-latin-800-normal.woff"),
    include_bytes!("../../../kiosk-assets/fonts/be-vietnam-pro-latin-ext-800-normal.woff"),
    include_bytes!("../../../kiosk-assets/fonts/be-vietnam-pro-vietnamese-800-normal.woff"),
];

/// One weight: its subsets in fallback order.
struct Face(Vec<FontVec>);

struct Fonts {
    regular: Face,
    bold: Face,
}

fn fonts() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| {
        let face = |files: [&[u8]; 3]| {
            Face(
                files
                    .iter()
                    .map(|f| {
                        let sfnt = woff_to_sfnt(f).expect("shipped font is a valid WOFF");
                        FontVec::try_from_vec(sfnt).expect("shipped font parses")
                    })
                    .collect(),
            )
        };
        Fonts {
            regular: face(FONT_500),
            bold: face(FONT_800),
        }
    })
}

/// Unpacks a WOFF 1.0 file (zlib-compressed tables) into the TrueType/OpenType file it wraps.
pub fn woff_to_sfnt(woff: &[u8]) -> Result<Vec<u8>, String> {
    let u32_at = |o: usize| -> Result<u32, String> {
        woff.get(o..o + 4)
            .map(|b| u32::from_be_bytes(b.try_into().expect("4 bytes")))
            .ok_or_else(|| format!("truncated at byte {o}"))
    };
    if woff.get(0..4) != Some(b"wOFF") {
        return Err("not a WOFF file".into());
    }
    let flavor = u32_at(4)?;
    let num_tables = u32_at(12)? >> 16;
    let mut tables = Vec::new();
    for i in 0..num_tables as usize {
        let d = 44 + i * 20;
        let (tag, offset, comp, orig, checksum) = (
            u32_at(d)?,
            u32_at(d + 4)? as usize,
            u32_at(d + 8)? as usize,
            u32_at(d + 12)? as usize,
            u32_at(d + 16)?,
        );
        let raw = woff
            .get(offset..offset + comp)
            .ok_or("a table lies outside the file")?;
        let data = if comp < orig {
            let mut out = Vec::with_capacity(orig);
            flate2::read::ZlibDecoder::new(raw)
                .take(orig as u64)
                .read_to_end(&mut out)
                .map_err(|e| format!("table {i}: {e}"))?;
            out
        } else {
            raw.to_vec()
        };
        if data.len() != orig {
            return Err(format!("table {i} has the wrong length"));
        }
        tables.push((tag, checksum, data));
    }
    let n = tables.len() as u16;
    let entry_selector = 15 - n.max(1).leading_zeros() as u16;
    let search_range = (1u16 << entry_selector) * 16;
    let mut out = Vec::new();
    out.extend(flavor.to_be_bytes());
    out.extend(n.to_be_bytes());
    out.extend(search_range.to_be_bytes());
    out.extend(entry_selector.to_be_bytes());
    out.extend((n * 16 - search_range).to_be_bytes());
    let mut offset = 12 + 16 * tables.len();
    for (tag, checksum, data) in &tables {
        out.extend(tag.to_be_bytes());
        out.extend(checksum.to_be_bytes());
        out.extend((offset as u32).to_be_bytes());
        out.extend((data.len() as u32).to_be_bytes());
        offset += data.len().div_ceil(4) * 4;
    }
    for (_, _, data) in &tables {
        out.extend(data);
        out.resize(out.len().div_ceil(4) * 4, 0);
    }
    Ok(out)
}

// ----- drawing -----

/// A 1-bit picture, one `bool` per dot (true = black), row by row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bitmap {
    pub width: u32,
    pub height: u32,
    pub dots: Vec<bool>,
}

impl Bitmap {
    fn new(width: u32, height: u32) -> Bitmap {
        Bitmap {
            width,
            height,
            dots: vec![false; (width * height) as usize],
        }
    }

    pub fn get(&self, x: u32, y: u32) -> bool {
        x < self.width && y < self.height && self.dots[(y * self.width + x) as usize]
    }

    fn set(&mut self, x: i32, y: i32, on: bool) {
        if x >= 0 && y >= 0 && (x as u32) < self.width && (y as u32) < self.height {
            self.dots[(y as u32 * self.width + x as u32) as usize] = on;
        }
    }

    fn fill(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, on: bool) {
        for y in y0..y1 {
            for x in x0..x1 {
                self.set(x, y, on);
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Center,
    Right,
}

/// Lays out and draws text lines top to bottom.
struct Pen {
    bmp: Bitmap,
    y: i32,
    margin: i32,
}

impl Pen {
    fn inner(&self) -> i32 {
        self.bmp.width as i32 - 2 * self.margin
    }

    /// The subset that has `c`, and its glyph.
    fn glyph(face: &Face, c: char) -> (&FontVec, ab_glyph::GlyphId) {
        for f in &face.0 {
            let id = f.glyph_id(c);
            if id.0 != 0 {
                return (f, id);
            }
        }
        (&face.0[0], face.0[0].glyph_id('?'))
    }

    fn width(face: &Face, px: f32, text: &str) -> f32 {
        let mut w = 0.0;
        let mut prev: Option<(*const FontVec, ab_glyph::GlyphId)> = None;
        for c in text.chars() {
            let (f, id) = Self::glyph(face, c);
            let sf = f.as_scaled(PxScale::from(px));
            if let Some((_, pid)) = prev.filter(|(pf, _)| std::ptr::eq(*pf, f)) {
                w += sf.kern(pid, id);
            }
            w += sf.h_advance(id);
            prev = Some((f as *const _, id));
        }
        w
    }

    /// Draws one line with its top at `self.y`; returns nothing, moves the pen down.
    fn line(&mut self, face: &Face, px: f32, text: &str, align: Align, invert: bool) {
        let scale = PxScale::from(px);
        let sf0 = face.0[0].as_scaled(scale);
        let (ascent, descent) = (sf0.ascent(), sf0.descent());
        let w = Self::width(face, px, text);
        let mut x = match align {
            Align::Left => self.margin as f32,
            Align::Center => (self.bmp.width as f32 - w) / 2.0,
            Align::Right => self.bmp.width as f32 - self.margin as f32 - w,
        };
        let baseline = self.y as f32 + ascent;
        let mut prev: Option<(*const FontVec, ab_glyph::GlyphId)> = None;
        for c in text.chars() {
            let (f, id) = Self::glyph(face, c);
            let sf = f.as_scaled(scale);
            if let Some((_, pid)) = prev.filter(|(pf, _)| std::ptr::eq(*pf, f)) {
                x += sf.kern(pid, id);
            }
            let g = id.with_scale_and_position(scale, point(x, baseline));
            if let Some(o) = f.outline_glyph(g) {
                let b = o.px_bounds();
                let bmp = &mut self.bmp;
                o.draw(|gx, gy, cov| {
                    if cov >= COVERAGE_MIN {
                        bmp.set(
                            b.min.x as i32 + gx as i32,
                            b.min.y as i32 + gy as i32,
                            !invert,
                        );
                    }
                });
            }
            x += sf.h_advance(id);
            prev = Some((f as *const _, id));
        }
        self.y += (ascent - descent).ceil() as i32;
    }

    /// Splits `text` into lines that fit the inner width (a word too long is cut by letters).
    fn wrap(face: &Face, px: f32, text: &str, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut cur = String::new();
        // Only plain spaces break a line: a no-break space holds "counters 1, 2" together.
        for word in text.split(' ').filter(|w| !w.is_empty()) {
            let cand = if cur.is_empty() {
                word.to_string()
            } else {
                format!("{cur} {word}")
            };
            if Self::width(face, px, &cand) <= width {
                cur = cand;
                continue;
            }
            if !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
            }
            for c in word.chars() {
                let mut next = cur.clone();
                next.push(c);
                if Self::width(face, px, &next) > width && !cur.is_empty() {
                    lines.push(std::mem::replace(&mut cur, c.to_string()));
                } else {
                    cur = next;
                }
            }
        }
        if !cur.is_empty() {
            lines.push(cur);
        }
        lines
    }

    /// Wraps to as few lines as the width allows, then narrows them while that count holds, so
    /// a name does not end with one word alone on its last line.
    fn balanced(face: &Face, px: f32, text: &str, width: f32) -> Vec<String> {
        let lines = Self::wrap(face, px, text, width);
        if lines.len() < 2 {
            return lines;
        }
        let (mut lo, mut hi) = (width / 2.0, width);
        while hi - lo > 4.0 {
            let mid = (lo + hi) / 2.0;
            if Self::wrap(face, px, text, mid).len() == lines.len() {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Self::wrap(face, px, text, hi)
    }

    fn para(&mut self, face: &Face, px: f32, text: &str, align: Align) {
        for l in Self::balanced(face, px, text, self.inner() as f32) {
            self.line(face, px, &l, align, false);
        }
    }

    /// A label on the left and its value on the right (wrapped under it when both do not fit).
    fn row(&mut self, px: f32, label: &str, value: &str) {
        let f = fonts();
        let lw = Self::width(&f.regular, px, label);
        let vw = Self::width(&f.bold, px, value);
        if lw + vw + px <= self.inner() as f32 {
            let top = self.y;
            self.line(&f.regular, px, label, Align::Left, false);
            self.y = top;
            self.line(&f.bold, px, value, Align::Right, false);
        } else {
            self.line(&f.regular, px, label, Align::Left, false);
            for l in Self::wrap(&f.bold, px, value, self.inner() as f32) {
                self.line(&f.bold, px, &l, Align::Right, false);
            }
        }
        self.y += (px * 0.25) as i32;
    }

    fn rule(&mut self) {
        self.y += 10;
        let (m, w) = (self.margin, self.bmp.width as i32);
        self.bmp.fill(m, self.y, w - m, self.y + 3, true);
        self.y += 14;
    }
}

/// Draws the ticket `width` dots wide, as long as it needs to be.
pub fn render(t: &TicketPrint, width: u32) -> Bitmap {
    let f = fonts();
    let w = width as f32;
    // Type sizes relative to 80 mm paper (576 dots), so 58 mm paper gets the same layout.
    let k = w / 576.0;
    let mut pen = Pen {
        bmp: Bitmap::new(width, TICKET_HEIGHT_MAX_DOTS),
        y: (8.0 * k) as i32,
        margin: (12.0 * k) as i32,
    };
    pen.para(&f.bold, 27.0 * k, &t.center, Align::Center);
    pen.rule();
    pen.line(&f.bold, 26.0 * k, "SỐ THỨ TỰ", Align::Center, false);
    // The number as large as fits: about a third of the paper's width tall.
    let mut px = 190.0 * k;
    while Pen::width(&f.bold, px, &t.number) > pen.inner() as f32 && px > 40.0 {
        px -= 4.0;
    }
    pen.y -= (18.0 * k) as i32;
    pen.line(&f.bold, px, &t.number, Align::Center, false);
    pen.y -= (12.0 * k) as i32;
    if let Some(p) = &t.priority {
        // White on black: the official sees it from across the counter.
        let top = pen.y;
        let lines = Pen::wrap(
            &f.bold,
            28.0 * k,
            &format!("ƯU TIÊN: {p}"),
            pen.inner() as f32 - 16.0,
        );
        let line_h = {
            let sf = f.bold.0[0].as_scaled(PxScale::from(28.0 * k));
            (sf.ascent() - sf.descent()).ceil() as i32
        };
        let (m, wi) = (pen.margin, width as i32);
        pen.bmp.fill(
            m,
            top,
            wi - m,
            top + 8 + line_h * lines.len() as i32 + 8,
            true,
        );
        pen.y += 8;
        for l in &lines {
            pen.line(&f.bold, 28.0 * k, l, Align::Center, true);
        }
        pen.y += 12;
        pen.para(
            &f.regular,
            24.0 * k,
            "Giấy tờ chứng minh đối tượng ưu tiên sẽ được kiểm tra tại quầy.",
            Align::Center,
        );
    }
    pen.y += (6.0 * k) as i32;
    pen.para(&f.bold, 32.0 * k, &t.service_vi, Align::Center);
    pen.rule();
    let counters = t
        .counters
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let row = 28.0 * k;
    pen.row(row, "Quầy phục vụ:", &counters);
    pen.row(row, "Người chờ trước:", &t.ahead.to_string());
    pen.row(
        row,
        "Dự kiến chờ:",
        t.wait_vi
            .as_deref()
            .unwrap_or("chưa ước tính (chưa có quầy mở)"),
    );
    if let Some(note) = &t.session_vi {
        pen.para(&f.bold, 26.0 * k, note, Align::Center);
    }
    pen.row(row, "Giờ lấy số:", &t.issued);
    pen.y += (10.0 * k) as i32;
    // The QR code: modules of whole dots, about 240 dots across with its quiet zone.
    if let Ok(code) =
        qrcode::QrCode::with_error_correction_level(t.url.as_bytes(), qrcode::EcLevel::M)
    {
        let n = code.width() as i32;
        let module = ((260.0 * k) as i32 / (n + 8)).clamp(3, 10);
        let side = module * (n + 8);
        let x0 = (width as i32 - side) / 2 + 4 * module;
        let y0 = pen.y + 4 * module;
        for (i, c) in code.to_colors().iter().enumerate() {
            if *c == qrcode::Color::Dark {
                let (x, y) = (x0 + (i as i32 % n) * module, y0 + (i as i32 / n) * module);
                pen.bmp.fill(x, y, x + module, y + module, true);
            }
        }
        pen.y += side;
    }
    pen.para(
        &f.regular,
        26.0 * k,
        "Quét mã QR để theo dõi lượt của ông/bà trên điện thoại",
        Align::Center,
    );
    pen.y += (8.0 * k) as i32;
    let counters_en = if t.counters.len() == 1 {
        format!("counter {counters}")
    } else {
        format!("counters {counters}")
    }
    .replace(' ', "\u{a0}");
    let wait_en = t
        .wait_en
        .as_ref()
        .map(|w| match w.as_str() {
            w if w == NOT_ENOUGH_DATA.1 => format!(" · wait: {w}"),
            w => format!(" · wait {w}"),
        })
        .unwrap_or_default();
    let session_en = t
        .session_en
        .as_ref()
        .map(|n| format!(" {n}."))
        .unwrap_or_default();
    pen.para(
        &f.regular,
        24.0 * k,
        &format!(
            "Ticket {} · {} · {counters_en}{wait_en}.{session_en} Scan the QR code to follow your turn.",
            t.number, t.service_en
        ),
        Align::Center,
    );
    pen.rule();
    pen.para(
        &f.bold,
        25.0 * k,
        "Vui lòng giữ phiếu và chú ý nghe gọi số.",
        Align::Center,
    );
    let height = (pen.y + (8.0 * k) as i32).clamp(1, TICKET_HEIGHT_MAX_DOTS as i32) as u32;
    let mut bmp = pen.bmp;
    bmp.height = height;
    bmp.dots.truncate((width * height) as usize);
    bmp
}

// ----- ESC/POS -----

/// `ESC @`, the picture as `GS v 0` bands, a feed and a cut (`GS V 66 0`).
pub fn escpos(b: &Bitmap) -> Vec<u8> {
    let row_bytes = b.width.div_ceil(8);
    let mut out = Vec::with_capacity((row_bytes * b.height) as usize + 64);
    out.extend([0x1b, 0x40]);
    let mut y0 = 0;
    while y0 < b.height {
        let rows = RASTER_BAND_ROWS.min(b.height - y0);
        out.extend([0x1d, 0x76, 0x30, 0x00]);
        out.extend((row_bytes as u16).to_le_bytes());
        out.extend((rows as u16).to_le_bytes());
        for y in y0..y0 + rows {
            for xb in 0..row_bytes {
                let mut byte = 0u8;
                for bit in 0..8 {
                    if b.get(xb * 8 + bit, y) {
                        byte |= 0x80 >> bit;
                    }
                }
                out.push(byte);
            }
        }
        y0 += rows;
    }
    out.extend([0x1b, 0x64, FEED_LINES]);
    out.extend([0x1d, 0x56, 0x42, 0x00]);
    out
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
        let text = include_str!("../../../tests/fixtures/wait-text.json");
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
