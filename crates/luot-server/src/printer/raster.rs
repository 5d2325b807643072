//! The ticket as a picture: the shipped WOFF fonts unpacked, the text laid out and drawn into a
//! 1-bit raster, and the raster as ESC/POS `GS v 0` bands.

use super::{
    COVERAGE_MIN, FEED_LINES, NOT_ENOUGH_DATA, RASTER_BAND_ROWS, TICKET_HEIGHT_MAX_DOTS,
    TicketPrint,
};
use ab_glyph::{Font, FontVec, PxScale, ScaleFont, point};
use std::io::Read as _;
use std::sync::OnceLock;

// ----- fonts -----

/// The shipped WOFF (1.0, zlib) files: one per subset, tried in turn for each character.
const FONT_500: [&[u8]; 3] = [
    include_bytes!("../../../../kiosk-assets/fonts/be-vietnam-pro-latin-500-normal.woff"),
    include_bytes!("../../../../kiosk-assets/fonts/be-vietnam-pro-latin-ext-500-normal.woff"),
    include_bytes!("../../../../kiosk-assets/fonts/be-vietnam-pro-vietnamese-500-normal.woff"),
];
const FONT_800: [&[u8]; 3] = [
    include_bytes!("../../../../kiosk-assets/fonts/be-vietnam-pro-latin-800-normal.woff"),
    include_bytes!("../../../../kiosk-assets/fonts/be-vietnam-pro-latin-ext-800-normal.woff"),
    include_bytes!("../../../../kiosk-assets/fonts/be-vietnam-pro-vietnamese-800-normal.woff"),
];

/// One weight: its subsets in fallback order.
pub(super) struct Face(pub(super) Vec<FontVec>);

pub(super) struct Fonts {
    pub(super) regular: Face,
    pub(super) bold: Face,
}

pub(super) fn fonts() -> &'static Fonts {
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
    pub(super) fn new(width: u32, height: u32) -> Bitmap {
        Bitmap {
            width,
            height,
            dots: vec![false; (width * height) as usize],
        }
    }

    pub fn get(&self, x: u32, y: u32) -> bool {
        x < self.width && y < self.height && self.dots[(y * self.width + x) as usize]
    }

    pub(super) fn set(&mut self, x: i32, y: i32, on: bool) {
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
pub(super) struct Pen {
    bmp: Bitmap,
    y: i32,
    margin: i32,
}

impl Pen {
    fn inner(&self) -> i32 {
        self.bmp.width as i32 - 2 * self.margin
    }

    /// The subset that has `c`, and its glyph.
    pub(super) fn glyph(face: &Face, c: char) -> (&FontVec, ab_glyph::GlyphId) {
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
