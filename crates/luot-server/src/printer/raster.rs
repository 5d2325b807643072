//! Text drawn as a 1-bit picture: the shipped WOFF fonts unpacked, glyphs laid out and
//! rasterised with `ab_glyph`, lines wrapped and balanced.

use ab_glyph::{Font, FontVec, PxScale, ScaleFont, point};
use std::io::Read as _;
use std::sync::OnceLock;

/// A dot is black when the glyph covers this much of it: a little under half keeps the thin
/// strokes of small diacritics (the tilde of "ã", the hook of "ả") on 203 dpi paper.
const COVERAGE_MIN: f32 = 0.4;

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

    pub(super) fn fill(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, on: bool) {
        for y in y0..y1 {
            for x in x0..x1 {
                self.set(x, y, on);
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Align {
    Left,
    Center,
    Right,
}

/// Lays out and draws text lines top to bottom.
pub(super) struct Pen {
    pub(super) bmp: Bitmap,
    pub(super) y: i32,
    pub(super) margin: i32,
}

impl Pen {
    pub(super) fn inner(&self) -> i32 {
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

    pub(super) fn width(face: &Face, px: f32, text: &str) -> f32 {
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
    pub(super) fn line(&mut self, face: &Face, px: f32, text: &str, align: Align, invert: bool) {
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
    pub(super) fn wrap(face: &Face, px: f32, text: &str, width: f32) -> Vec<String> {
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
    pub(super) fn balanced(face: &Face, px: f32, text: &str, width: f32) -> Vec<String> {
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

    pub(super) fn para(&mut self, face: &Face, px: f32, text: &str, align: Align) {
        for l in Self::balanced(face, px, text, self.inner() as f32) {
            self.line(face, px, &l, align, false);
        }
    }

    /// A label on the left and its value on the right (wrapped under it when both do not fit).
    pub(super) fn row(&mut self, px: f32, label: &str, value: &str) {
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

    pub(super) fn rule(&mut self) {
        self.y += 10;
        let (m, w) = (self.margin, self.bmp.width as i32);
        self.bmp.fill(m, self.y, w - m, self.y + 3, true);
        self.y += 14;
    }
}
