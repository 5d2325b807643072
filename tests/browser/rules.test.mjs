// The rules the pages share with the server (kiosk-assets/js/rules.js) checked against the same
// vectors as the Rust code that owns each: tests/fixtures/wait-text.json (printer/ticket.rs wait_words),
// ticket-numbers.json (luot-core TicketNumber) and dossier-codes.json (luot-core check_dossier).
// Plain node: no server, no browser.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { waitText, parseTicketNumber, checkDossier, utf8Truncate } from "../../kiosk-assets/js/rules.js";

const vectors = (name) => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8")).vectors;

test("the wait is worded as on the printed ticket (tests/fixtures/wait-text.json)", () => {
  const v = vectors("wait-text.json");
  assert.ok(v.length >= 15);
  for (const { estimate, vi, en } of v) {
    assert.equal(waitText(estimate, "vi"), vi, JSON.stringify(estimate));
    assert.equal(waitText(estimate, "en"), en, JSON.stringify(estimate));
  }
});

test("ticket numbers are read as the server reads them (tests/fixtures/ticket-numbers.json)", () => {
  const v = vectors("ticket-numbers.json");
  assert.ok(v.length >= 20);
  for (const { input, number } of v) assert.equal(parseTicketNumber(input), number, JSON.stringify(input));
});

test("dossier codes are kept or refused as the server does (tests/fixtures/dossier-codes.json)", () => {
  const v = vectors("dossier-codes.json");
  assert.ok(v.length >= 10);
  for (const { input, dossier } of v) assert.equal(checkDossier(input), dossier, JSON.stringify(input));
});

test("a reason is cut to the server's byte limit at a character boundary", () => {
  assert.equal(utf8Truncate("abc", 500), "abc");
  assert.equal(utf8Truncate("Chờ lâu", 4), "Ch"); // "ờ" is three bytes: it does not fit in two
  assert.equal(utf8Truncate("Chờ lâu", 5), "Chờ");
  const long = "Thái độ chưa tốt; ".repeat(40);
  const cut = utf8Truncate(long, 500);
  assert.ok(new TextEncoder().encode(cut).length <= 500);
  assert.ok(long.startsWith(cut) && cut.length > 0);
});

test("chip ID card QR texts are read or refused as the kiosk reads them (tests/fixtures/cccd-qr.json)", async () => {
  const { parseCccd, offeredPriority, CCCD_ERRORS } = await import("../../kiosk-assets/js/cccd.js");
  const file = JSON.parse(readFileSync(new URL("../fixtures/cccd-qr.json", import.meta.url), "utf8"));
  assert.ok(file.vectors.length >= 20);
  for (const v of file.vectors) {
    const text = v.repeat_name ? v.text.replace("REPEAT", "A".repeat(v.repeat_name)) : v.text;
    const r = parseCccd(text, file.today);
    if (v.ok) assert.deepEqual(r, { ok: true, id: v.id, age: v.age }, v.why);
    else {
      assert.deepEqual(r, { ok: false, error: v.error }, v.why);
      assert.ok(CCCD_ERRORS.includes(r.error));
    }
  }
  // The elderly category is offered from its min_age; the highest min_age reached wins.
  const cats = [{ code: "elderly", min_age: 60 }, { code: "disabled", min_age: null }, { code: "very-old", min_age: 80 }];
  assert.equal(offeredPriority(cats, 59), null);
  assert.equal(offeredPriority(cats, 60).code, "elderly");
  assert.equal(offeredPriority(cats, 85).code, "very-old");
});
