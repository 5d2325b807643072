//! Text from outside, in one Unicode form. Vietnamese can be typed two ways that look the same:
//! precomposed ("ễ", one code point, NFC) or as a letter and combining marks ("e" + U+0302 +
//! U+0303), which Unikey's combining-mark mode and some phones produce. Printed on the ticket's
//! raster, matched in search or compared with a voice phrase, the second form goes wrong, so every
//! edge (configuration, websocket messages, REST bodies, clip phrases) turns text into NFC first.
//! The browsers do the same with `String.prototype.normalize("NFC")`; the shared test vectors are
//! in `tests/fixtures/nfc.json`.

use std::borrow::Cow;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// `s` in NFC; borrowed when it already is (all ASCII text is).
pub fn nfc(s: &str) -> Cow<'_, str> {
    match is_nfc_quick(s.chars()) {
        IsNormalized::Yes => Cow::Borrowed(s),
        _ => Cow::Owned(s.nfc().collect()),
    }
}

/// A JSON text with every string (keys included) in NFC. JSON's own characters are ASCII
/// punctuation, which no mark composes with, so the text is normalised whole; a string written
/// with `\u` escapes (as Python's `json.dumps` writes every non-ASCII letter) is only seen once
/// parsed, so such a text is parsed, normalised and written again. Text that is not JSON is
/// returned as it is, for the parser to report.
pub fn nfc_json(text: &str) -> Cow<'_, str> {
    let whole = nfc(text);
    if !whole.contains("\\u") {
        return whole;
    }
    match serde_json::from_str::<serde_json::Value>(&whole) {
        Ok(mut v) => {
            nfc_value(&mut v);
            Cow::Owned(v.to_string())
        }
        Err(_) => whole,
    }
}

fn nfc_value(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            if let Cow::Owned(n) = nfc(s) {
                *s = n;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(nfc_value),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (k, mut item) in entries {
                nfc_value(&mut item);
                map.insert(nfc(&k).into_owned(), item);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectors the browsers' test reads too (tests/browser/search.test.mjs).
    fn vectors() -> Vec<(String, String)> {
        let text = include_str!("../../../tests/fixtures/nfc.json");
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        v["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["input"].as_str().unwrap().to_string(),
                    x["nfc"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn the_shared_vectors_come_out_in_nfc() {
        let vectors = vectors();
        assert!(vectors.len() >= 8);
        for (input, want) in &vectors {
            assert_eq!(nfc(input), want.as_str(), "{input:?}");
            assert_eq!(nfc(want), want.as_str(), "NFC is kept as it is: {want:?}");
        }
    }

    #[test]
    fn json_strings_are_normalised_written_plain_or_escaped() {
        for (input, want) in vectors() {
            let plain = serde_json::json!({"display_name": input}).to_string();
            let escaped: String = plain
                .chars()
                .map(|c| {
                    if c.is_ascii() {
                        c.to_string()
                    } else {
                        let mut buf = [0u16; 2];
                        c.encode_utf16(&mut buf)
                            .iter()
                            .map(|u| format!("\\u{u:04x}"))
                            .collect()
                    }
                })
                .collect();
            for text in [plain, escaped] {
                let out: serde_json::Value = serde_json::from_str(&nfc_json(&text)).unwrap();
                assert_eq!(out["display_name"], want.as_str(), "{text}");
            }
        }
        assert!(matches!(nfc_json(r#"{"a": "b"}"#), Cow::Borrowed(_)));
        assert_eq!(nfc_json("{not json \\u"), "{not json \\u");
    }
}
