// Rules the server holds too, written once for the pages. No DOM: node tests them against the
// same vectors as the Rust code that owns each rule (tests/fixtures/*.json, tests/browser/rules.test.mjs).
//   wait text       — luot-server printer/ticket.rs wait_words (printed)      · wait-text.json
//   ticket number   — luot-core ids.rs TicketNumber::parse                    · ticket-numbers.json
//   dossier code    — luot-core site.rs check_dossier                         · dossier-codes.json

/** Said instead of a range when a counter is open but the range would be too wide to plan by
 * (`uncertain` in the estimate; docs/wait-estimates.md). */
export const NOT_ENOUGH_DATA = { vi: "chưa đủ dữ liệu để ước tính", en: "not enough data to estimate yet" };

/** "25–40 phút" from an estimate, "chưa đủ dữ liệu để ước tính", or null when no counter is open. */
export function waitRange(estimate, lang = "vi") {
  if (estimate?.uncertain) return NOT_ENOUGH_DATA[lang === "en" ? "en" : "vi"];
  if (!estimate || estimate.low_s == null) return null;
  const lo = Math.round(estimate.low_s / 60);
  const hi = Math.max(lo, Math.round(estimate.high_s / 60));
  const unit = lang === "en" ? "min" : "phút";
  if (hi <= 1) return lang === "en" ? "under 1 min" : "dưới 1 phút";
  return lo === hi ? `${lo} ${unit}` : `${lo}–${hi} ${unit}`;
}

/** A wait that could end right away but may run two minutes or more: "dưới 40 phút". */
export const isUpTo = (estimate) => !estimate?.uncertain && estimate?.low_s === 0 && estimate.high_s >= 120;

/**
 * The wait as the kiosk, the phone and the printed ticket word it: `waitRange`, except "dưới 40
 * phút" / "under 40 min" when it could be right away (low 0, high two minutes or more).
 */
export function waitText(estimate, lang = "vi") {
  if (isUpTo(estimate)) {
    const m = Math.round(estimate.high_s / 60);
    return lang === "en" ? `under ${m} min` : `dưới ${m} phút`;
  }
  return waitRange(estimate, lang);
}

/** Longest ticket prefix and highest number of a day (luot-core ids.rs). */
const PREFIX_LEN_MAX = 3;
const TICKET_SEQ_MAX = 9999;

/**
 * A ticket number as typed ("b17", " B017 ", "KQ5") in its printed form ("B017", "KQ005"), or null
 * when it is not one: one to three letters, then one to four digits, not all zero.
 */
export function parseTicketNumber(s) {
  const m = /^([A-Za-z]+)([0-9]+)$/.exec(String(s).trim());
  if (!m || m[1].length > PREFIX_LEN_MAX || m[2].length > 4) return null;
  const seq = Number(m[2]);
  if (seq < 1 || seq > TICKET_SEQ_MAX) return null;
  return m[1].toUpperCase() + String(seq).padStart(3, "0");
}

/** Longest dossier code (luot-core config.rs limits::DOSSIER_LEN_MAX). */
export const DOSSIER_LEN_MAX = 40;

/** The dossier code, trimmed, or null unless it is 1–40 characters of A–Z a–z 0–9 . / _ - */
export function checkDossier(s) {
  const d = String(s).trim();
  return d.length >= 1 && d.length <= DOSSIER_LEN_MAX && /^[A-Za-z0-9./_-]+$/.test(d) ? d : null;
}

/** `s` cut to at most `max` bytes of UTF-8, at a character boundary (the server's byte limits). */
export function utf8Truncate(s, max) {
  const enc = new TextEncoder();
  if (enc.encode(s).length <= max) return s;
  let out = "";
  for (const ch of s) {
    if (enc.encode(out + ch).length > max) break;
    out += ch;
  }
  return out;
}
