//! The Ogg reader that checks a voice clip a manager uploads (`luot-server/src/ogg.rs`, included
//! here as it is: it uses only `std`, so this target builds without the server).
//!
//! Oracle: no panic (no slice out of range, no overflow with debug assertions on); a file that
//! reads is at least one page long, has a codec of the two, a positive duration and a channel;
//! a damaged page is named inside the file; the same bytes always give the same answer. Each
//! input is also read with its pages' CRCs made right, so that mutations reach the stream and
//! codec checks behind the CRC.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/luot-server/src/ogg.rs"]
#[allow(dead_code)]
mod ogg;

/// `data` with the CRC of every whole page it starts with recomputed.
fn with_crcs_fixed(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    let mut at = 0;
    while out.len() >= at + ogg::PAGE_HEADER_LEN && out[at..].starts_with(b"OggS") {
        let nseg = out[at + 26] as usize;
        let Some(lacing) = out.get(at + 27..at + 27 + nseg) else {
            break;
        };
        let len = 27 + nseg + lacing.iter().map(|&l| l as usize).sum::<usize>();
        if out.len() < at + len {
            break;
        }
        out[at + 22..at + 26].fill(0);
        let crc = ogg::ogg_crc(&out[at..at + len]);
        out[at + 22..at + 26].copy_from_slice(&crc.to_le_bytes());
        at += len;
    }
    out
}

fuzz_target!(|data: &[u8]| {
    check(data);
    check(&with_crcs_fixed(data));
});

fn check(data: &[u8]) {
    let got = ogg::read(data);
    match &got {
        Ok(info) => {
            assert!(data.len() >= ogg::PAGE_HEADER_LEN, "{info:?} from {} bytes", data.len());
            assert!(matches!(info.codec, "vorbis" | "opus"), "{info:?}");
            assert!(info.seconds > 0.0 && info.seconds.is_finite(), "{info:?}");
            assert!(info.channels > 0 && info.sample_rate > 0, "{info:?}");
        }
        Err(ogg::Fault::Damaged { at, .. }) => assert!(*at < data.len(), "{got:?}"),
        Err(ogg::Fault::Empty) => assert!(data.is_empty()),
        Err(_) => {}
    }
    assert_eq!(ogg::read(data), got, "a second read differs");
}
