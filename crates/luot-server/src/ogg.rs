//! Reads an Ogg file far enough to trust it as a voice clip (`clips.rs`): the pages (capture
//! pattern, version, lacing, CRC-32), one logical stream, the codec's identification header
//! (Vorbis or `OpusHead`) and the last page's granule position, which gives the duration. A few
//! dozen lines, so no Ogg crate; nothing is decoded.
//!
//! It uses only `std`, so the fuzz target (`fuzz/fuzz_targets/ogg.rs`) includes this file as it
//! is, without building the server.

/// What a clip is, once its pages check out.
#[derive(Debug, Clone, PartialEq)]
pub struct OggInfo {
    /// "vorbis" or "opus".
    pub codec: &'static str,
    pub sample_rate: u32,
    pub channels: u8,
    pub seconds: f64,
}

/// Why a file is not one playable Ogg Vorbis/Opus stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Empty,
    /// It does not start with `OggS`.
    NotOgg,
    /// The page at byte `at` is cut, fails its CRC or breaks the format.
    Damaged {
        at: usize,
        why: Damage,
    },
    /// More than one logical stream.
    Streams,
    /// Neither Vorbis nor Opus.
    Codec,
    /// No audio (zero length).
    Silent,
}

/// What is wrong with a damaged Ogg file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Damage {
    /// No capture pattern (`OggS`) or fewer than a page header's 27 bytes.
    NoPage,
    Version,
    Truncated,
    Crc,
    /// The first page does not begin the stream.
    NoBeginning,
    /// A sample rate or a channel count of 0.
    CodecHeader,
}

/// Bytes of a page header before its lacing values.
pub const PAGE_HEADER_LEN: usize = 27;
/// `header_type` flag: the first page of a logical stream.
const BEGINNING_OF_STREAM: u8 = 0x02;
/// Opus granule positions always count 48 kHz samples (RFC 7845 §4).
const OPUS_GRANULE_RATE: u32 = 48_000;

/// Reads `bytes` as one Ogg Vorbis or Ogg Opus stream: every byte in a page whose CRC matches,
/// one logical stream, a known codec header, some audio.
pub fn read(bytes: &[u8]) -> Result<OggInfo, Fault> {
    if bytes.is_empty() {
        return Err(Fault::Empty);
    }
    if !bytes.starts_with(b"OggS") {
        return Err(Fault::NotOgg);
    }
    let damaged = |at: usize, why: Damage| Fault::Damaged { at, why };
    let mut at = 0;
    let mut serial = None;
    let mut first_body: &[u8] = &[];
    let mut last_granule: Option<u64> = None;
    while at < bytes.len() {
        let page = Page::at(bytes, at)?;
        match serial {
            None => {
                if page.flags & BEGINNING_OF_STREAM == 0 {
                    return Err(damaged(at, Damage::NoBeginning));
                }
                serial = Some(page.serial);
                first_body = page.first_packet();
            }
            Some(prev) if prev != page.serial || page.flags & BEGINNING_OF_STREAM != 0 => {
                return Err(Fault::Streams);
            }
            Some(_) => {}
        }
        // -1: no packet ends on this page.
        if page.granule != u64::MAX {
            last_granule = Some(page.granule);
        }
        at += page.len;
    }
    let head = first_body;
    let (codec, sample_rate, channels, samples) =
        if head.len() >= 30 && head.starts_with(b"\x01vorbis") {
            let rate = u32::from_le_bytes(head[12..16].try_into().expect("4 bytes"));
            ("vorbis", rate, head[11], last_granule.unwrap_or(0) as f64)
        } else if head.len() >= 19 && head.starts_with(b"OpusHead") {
            let pre_skip = u16::from_le_bytes(head[10..12].try_into().expect("2 bytes")) as u64;
            (
                "opus",
                OPUS_GRANULE_RATE,
                head[9],
                last_granule.unwrap_or(0).saturating_sub(pre_skip) as f64,
            )
        } else {
            return Err(Fault::Codec);
        };
    if sample_rate == 0 || channels == 0 {
        return Err(damaged(0, Damage::CodecHeader));
    }
    let seconds = samples / sample_rate as f64;
    if last_granule.is_none_or(|g| g == 0) || seconds <= 0.0 {
        return Err(Fault::Silent);
    }
    Ok(OggInfo {
        codec,
        sample_rate,
        channels,
        seconds,
    })
}

/// One page, its CRC checked.
struct Page<'a> {
    flags: u8,
    granule: u64,
    serial: u32,
    lacing: &'a [u8],
    body: &'a [u8],
    /// Header, lacing and body.
    len: usize,
}

impl<'a> Page<'a> {
    fn at(bytes: &'a [u8], at: usize) -> Result<Page<'a>, Fault> {
        let damaged = |why: Damage| Fault::Damaged { at, why };
        let page = &bytes[at..];
        if page.len() < PAGE_HEADER_LEN || !page.starts_with(b"OggS") {
            return Err(damaged(Damage::NoPage));
        }
        if page[4] != 0 {
            return Err(damaged(Damage::Version));
        }
        let nseg = page[26] as usize;
        let lacing = page
            .get(PAGE_HEADER_LEN..PAGE_HEADER_LEN + nseg)
            .ok_or(damaged(Damage::Truncated))?;
        let body_len: usize = lacing.iter().map(|&l| l as usize).sum();
        let len = PAGE_HEADER_LEN + nseg + body_len;
        let whole = page.get(..len).ok_or(damaged(Damage::Truncated))?;
        let crc = u32::from_le_bytes(page[22..26].try_into().expect("4 bytes"));
        if page_crc(whole) != crc {
            return Err(damaged(Damage::Crc));
        }
        Ok(Page {
            flags: page[5],
            granule: u64::from_le_bytes(page[6..14].try_into().expect("8 bytes")),
            serial: u32::from_le_bytes(page[14..18].try_into().expect("4 bytes")),
            lacing,
            body: &whole[PAGE_HEADER_LEN + nseg..],
            len,
        })
    }

    /// The first packet's bytes on this page: a codec's identification header is alone on the
    /// first page. Lacing values of 255 continue a packet; the first smaller one ends it.
    fn first_packet(&self) -> &'a [u8] {
        let full = self.lacing.iter().take_while(|&&l| l == 255).count();
        let last = self.lacing.get(full).map_or(0, |&l| l as usize);
        let len = (full * 255 + last).min(self.body.len());
        &self.body[..len]
    }
}

/// The CRC-32 of a page with its CRC field (bytes 22..26) taken as zero.
/// No copy of the page is made.
fn page_crc(page: &[u8]) -> u32 {
    let c = crc_update(0, &page[..22]);
    let c = crc_update(c, &[0; 4]);
    crc_update(c, &page[26..])
}

/// Ogg's CRC-32 (polynomial 0x04c11db7, not reflected, no final xor), continued from `crc`.
fn crc_update(crc: u32, bytes: &[u8]) -> u32 {
    let t = crc_table();
    bytes.iter().fold(crc, |crc, &b| {
        (crc << 8) ^ t[((crc >> 24) as u8 ^ b) as usize]
    })
}

/// Ogg's CRC-32 of `bytes`.
pub fn ogg_crc(bytes: &[u8]) -> u32 {
    crc_update(0, bytes)
}

fn crc_table() -> &'static [u32; 256] {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut r = (i as u32) << 24;
            for _ in 0..8 {
                r = if r & 0x8000_0000 != 0 {
                    (r << 1) ^ 0x04c1_1db7
                } else {
                    r << 1
                };
            }
            *e = r;
        }
        t
    })
}

/// Test files made page by page.
#[cfg(test)]
pub(crate) mod build {
    use super::ogg_crc;

    /// One Ogg page of stream 7 holding `packets` (each under 255 bytes), with its CRC.
    pub fn page(flags: u8, granule: u64, seq: u32, packets: &[&[u8]]) -> Vec<u8> {
        let mut p = b"OggS\0".to_vec();
        p.push(flags);
        p.extend_from_slice(&granule.to_le_bytes());
        p.extend_from_slice(&7u32.to_le_bytes());
        p.extend_from_slice(&seq.to_le_bytes());
        p.extend_from_slice(&[0; 4]);
        p.push(packets.len() as u8);
        p.extend(packets.iter().map(|k| k.len() as u8));
        for k in packets {
            p.extend_from_slice(k);
        }
        let crc = ogg_crc(&p);
        p[22..26].copy_from_slice(&crc.to_le_bytes());
        p
    }

    /// An Opus stream, mono, pre-skip 312, whose last page ends at `final_granule`.
    pub fn opus(final_granule: u64) -> Vec<u8> {
        opus_with(1, final_granule)
    }

    pub fn opus_with(channels: u8, final_granule: u64) -> Vec<u8> {
        let mut head = b"OpusHead\x01".to_vec();
        head.push(channels);
        head.extend_from_slice(&312u16.to_le_bytes()); // pre-skip
        head.extend_from_slice(&44_100u32.to_le_bytes()); // input rate: not the granule's
        head.extend_from_slice(&[0, 0, 0]);
        let mut f = page(0x02, 0, 0, &[&head]);
        f.extend(page(0, 0, 1, &[b"OpusTags\0\0\0\0\0\0\0\0"]));
        f.extend(page(0, 48_000, 2, &[&[0xfc; 40]]));
        f.extend(page(0x04, final_granule, 3, &[&[0xfc; 40]]));
        f
    }
}

#[cfg(test)]
mod tests {
    use super::build::{opus, opus_with, page};
    use super::*;

    const INVITE: &[u8] = include_bytes!("../../../kiosk-assets/audio/vi/invite.ogg");
    const CHIME: &[u8] = include_bytes!("../../../kiosk-assets/audio/chime.ogg");
    const DIGIT: &[u8] = include_bytes!("../../../kiosk-assets/audio/en/digit_7.ogg");

    #[test]
    fn the_built_in_clips_read_as_vorbis() {
        for (name, f) in [("invite", INVITE), ("chime", CHIME), ("digit_7", DIGIT)] {
            let i = read(f).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(i.codec, "vorbis", "{name}");
            assert!(i.seconds > 0.1 && i.seconds < 10.0, "{name}: {i:?}");
        }
        let i = read(INVITE).unwrap();
        assert_eq!((i.sample_rate, i.channels), (22050, 1));
    }

    #[test]
    fn a_flipped_byte_fails_the_crc_of_its_page() {
        let mut bad = INVITE.to_vec();
        bad[200] ^= 0x40;
        // The first page (the identification header) is 58 bytes: byte 200 is in the second.
        assert_eq!(
            read(&bad),
            Err(Fault::Damaged {
                at: 58,
                why: Damage::Crc
            })
        );
    }

    #[test]
    fn a_cut_file_is_truncated_and_other_files_are_not_ogg() {
        assert!(matches!(
            read(&INVITE[..INVITE.len() - 10]),
            Err(Fault::Damaged {
                why: Damage::Truncated,
                ..
            })
        ));
        assert_eq!(read(b"RIFF....WAVE"), Err(Fault::NotOgg));
        assert_eq!(read(b""), Err(Fault::Empty));
        // A capture pattern and too few bytes for a page header.
        assert_eq!(
            read(b"OggS\0\x02"),
            Err(Fault::Damaged {
                at: 0,
                why: Damage::NoPage
            })
        );
        let mut v1 = opus(2 * 48_000);
        v1[4] = 1;
        assert_eq!(
            read(&v1),
            Err(Fault::Damaged {
                at: 0,
                why: Damage::Version
            })
        );
    }

    /// Every prefix of a real file is refused without a panic, except one that ends where a
    /// page ends: a shorter clip.
    #[test]
    fn every_prefix_of_a_clip_is_refused_or_shorter() {
        let full = read(DIGIT).expect("digit_7.ogg");
        for n in 0..DIGIT.len() {
            if let Ok(i) = read(&DIGIT[..n]) {
                assert!(DIGIT[n..].starts_with(b"OggS"), "{n} bytes, mid-page, read");
                assert!(i.seconds < full.seconds, "{n} bytes: {i:?}");
            }
        }
    }

    #[test]
    fn two_streams_one_after_the_other_are_refused() {
        let mut two = INVITE.to_vec();
        two.extend_from_slice(CHIME);
        assert_eq!(read(&two), Err(Fault::Streams));
    }

    #[test]
    fn the_first_page_must_begin_the_stream() {
        let f = page(0, 100, 0, &[b"OpusHead\x01\x01\0\0\0\0\0\0\0\0\0"]);
        assert_eq!(
            read(&f),
            Err(Fault::Damaged {
                at: 0,
                why: Damage::NoBeginning
            })
        );
    }

    #[test]
    fn opus_is_timed_at_48_khz_less_the_pre_skip() {
        let i = read(&opus(2 * 48_000 + 312)).expect("opus");
        assert_eq!((i.codec, i.sample_rate, i.channels), ("opus", 48_000, 1));
        assert!((i.seconds - 2.0).abs() < 1e-9, "{i:?}");
        assert_eq!(read(&opus(312)), Err(Fault::Silent));
        assert_eq!(read(&opus(0)), Err(Fault::Silent));
        assert_eq!(
            read(&opus_with(0, 48_000)),
            Err(Fault::Damaged {
                at: 0,
                why: Damage::CodecHeader
            })
        );
    }

    #[test]
    fn an_ogg_stream_of_another_codec_is_refused() {
        let f = page(0x06, 100, 0, &[b"\x80theora......................"]);
        assert_eq!(read(&f), Err(Fault::Codec));
    }

    #[test]
    fn the_crc_matches_the_reference_value() {
        // A known vector for the polynomial, and a page's own CRC field taken as zero.
        assert_eq!(ogg_crc(b"123456789"), 0x89a1_897f);
        let p = page(0x02, 0, 0, &[b"abc"]);
        let mut zeroed = p.clone();
        zeroed[22..26].fill(0);
        assert_eq!(page_crc(&p), ogg_crc(&zeroed));
    }
}
