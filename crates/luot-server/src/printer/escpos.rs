//! ESC/POS command encoding: the picture as raster bands, then a feed and a cut.

use super::raster::Bitmap;

/// Rows per `GS v 0` command: small bands suit printers with small receive buffers.
pub const RASTER_BAND_ROWS: u32 = 256;
/// Lines fed after the ticket, so the cut falls below the last line.
const FEED_LINES: u8 = 4;

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
