// The QR code of a Vietnamese chip ID card (căn cước công dân, CCCD), read at the kiosk by a USB
// 2D scanner that types it like a keyboard. Its text is seven fields separated by "|":
//   ID number (12 digits) | old ID number (9 digits, or empty) | full name | date of birth
//   (DDMMYYYY) | sex | permanent address | date of issue (DDMMYYYY)
// The kiosk keeps only what it needs for one ticket: the ID number (the server keeps a keyed
// hash of it, for per-person limits) and the age on the day (to offer a priority category with a
// `min_age`). The name, address and the rest are never sent or stored. No DOM: node tests it
// against tests/fixtures/cccd-qr.json (tests/browser/rules.test.mjs).

/** Longest text taken as a card's QR (a real one is about 120–200 characters). */
export const CCCD_TEXT_MAX = 512;
const FIELDS = 7;

/** Why a scanned text is not a chip ID card's QR (keys of the kiosk's texts: `cccd.<code>`). */
export const CCCD_ERRORS = ["too_long", "not_cccd", "bad_id", "bad_old_id", "bad_birth", "bad_issue", "born_later"];

function date(s) {
  if (!/^\d{8}$/.test(s)) return null;
  const d = Number(s.slice(0, 2)), m = Number(s.slice(2, 4)), y = Number(s.slice(4));
  const t = new Date(Date.UTC(y, m - 1, d));
  if (y < 1900 || t.getUTCFullYear() !== y || t.getUTCMonth() !== m - 1 || t.getUTCDate() !== d) return null;
  return { y, m, d };
}

const before = (a, b) => a.y !== b.y ? a.y < b.y : a.m !== b.m ? a.m < b.m : a.d < b.d;

/** Full years from `birth` to `today` (both `{y, m, d}`). */
export function ageOn(birth, today) {
  let age = today.y - birth.y;
  if (today.m < birth.m || (today.m === birth.m && today.d < birth.d)) age -= 1;
  return age;
}

/**
 * Reads a scanned text. `today` is `{y, m, d}` in the site's time zone. Returns
 * `{ ok: true, id, age }` or `{ ok: false, error }` with one of CCCD_ERRORS.
 */
export function parseCccd(text, today) {
  const s = String(text ?? "").trim();
  if (s.length > CCCD_TEXT_MAX) return { ok: false, error: "too_long" };
  const f = s.split("|");
  if (f.length !== FIELDS) return { ok: false, error: "not_cccd" };
  const [id, oldId, , birthText, , , issueText] = f.map((x) => x.trim());
  if (!/^\d{12}$/.test(id)) return { ok: false, error: "bad_id" };
  if (oldId !== "" && !/^\d{9}$/.test(oldId)) return { ok: false, error: "bad_old_id" };
  const birth = date(birthText);
  if (!birth) return { ok: false, error: "bad_birth" };
  const issued = date(issueText);
  if (!issued) return { ok: false, error: "bad_issue" };
  if (before(today, birth) || before(issued, birth)) return { ok: false, error: "born_later" };
  return { ok: true, id, age: ageOn(birth, today) };
}

/** The category a card of this age is offered: the one with the highest `min_age` it reaches. */
export function offeredPriority(categories, age) {
  let best = null;
  for (const c of categories || []) {
    if (c.min_age != null && age >= c.min_age && (!best || c.min_age > best.min_age)) best = c;
  }
  return best;
}
