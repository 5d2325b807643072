// The kiosk's procedure search measured on what citizens really type: the labelled queries of
// tests/fixtures/search-queries.json run through kiosk-assets/js/search.js on the procedure list
// the real server gives the kiosk (GET …/setup of the built-in Sa Huỳnh center), scored as
// "expected procedure in the top 3", overall and on the held-out queries never tuned on; the
// wrong answers issue #11 saw ("dat dai", "chet", "thuong tru", "the chap") must stay fixed.
// Then the same in the browser: typed on the kiosk's on-screen keyboard, the right procedure
// comes first. Figures: docs/search.md.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, openKiosk, request, shot, until, SITE } from "./harness.mjs";
import { evaluate, loadFixture, report, FOUND_SHARE_MIN, TOP_N } from "./search-fixture.mjs";
import { buildIndex, search, fold, QUERY_LEN_MAX } from "../../kiosk-assets/js/search.js";
import { readFileSync } from "node:fs";

/** The labelled set must stay this large, with at least this share held out. */
const QUERIES_MIN = 120;
const HELDOUT_SHARE_OF_QUERIES_MIN = 0.2;
/** Held-out queries (never tuned on) found in the top 3: at least this share. */
const HELDOUT_FOUND_SHARE_MIN = 0.9;

let server;
let browser;
let setup;

before(async () => {
  server = await startServer({ logName: "search" });
  const r = await request(server, "GET", `/api/v1/sites/${SITE}/setup`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  setup = r.body;
});

after(async () => {
  await browser?.close();
  await server?.cleanup();
});

test("search fixture: citizens' queries find the expected procedure in the top 3 (real setup)", (t) => {
  const fixture = loadFixture();
  const n = fixture.queries.length;
  const held = fixture.queries.filter((q) => q.heldout).length;
  assert.ok(n >= QUERIES_MIN, `${n} labelled queries, want at least ${QUERIES_MIN}`);
  assert.ok(held / n >= HELDOUT_SHARE_OF_QUERIES_MIN, `${held} of ${n} held out, want at least ${HELDOUT_SHARE_OF_QUERIES_MIN * 100} %`);

  const r = evaluate(setup, fixture);
  const text = report(r);
  // The scores go to the test output (docs/search.md quotes them).
  console.log(text);
  t.diagnostic(`all ${r.all.found}/${r.all.total}, held-out ${r.heldout.found}/${r.heldout.total}`);
  assert.deepEqual(r.unknown, [], "the fixture names only procedures and departments of the built-in center");
  assert.ok(r.all.share >= FOUND_SHARE_MIN, `expected procedure in the top ${TOP_N} for ${(100 * r.all.share).toFixed(1)} % of queries, want ≥ ${FOUND_SHARE_MIN * 100} %\n${text}`);
  assert.ok(r.heldout.share >= HELDOUT_FOUND_SHARE_MIN, `held-out: ${(100 * r.heldout.share).toFixed(1)} %, want ≥ ${HELDOUT_FOUND_SHARE_MIN * 100} %\n${text}`);
});

test("search fixture: the false matches of issue #11 stay fixed", () => {
  const fixture = loadFixture();
  assert.equal(fixture.false_matches.length, 4);
  const r = evaluate(setup, fixture);
  for (const f of r.falseMatches) assert.deepEqual(f.problems, [], `${JSON.stringify(f.q)}: ${f.problems.join("; ")}`);
});

test("search: whole words only, one language at a time, partial matches marked (real setup)", () => {
  const index = buildIndex(setup.services, setup.departments);
  const codes = (q) => search(index, q).map((r) => r.service.code);
  // "tru" starts "trú" but is not the middle of "môi trường".
  assert.ok(!codes("thuong tru").includes("dang-ky-moi-truong"));
  // A known word is never read as a typo of another: "chet" is not "chế".
  assert.ok(!codes("chet").includes("nguoi-co-cong"));
  // "so" (English "social") and "do" (Vietnamese "độ") do not make one match.
  assert.ok(!codes("so do").includes("nguoi-co-cong"));
  // Abbreviations are shown with the keyword they stand for.
  const gks = search(index, "gks")[0];
  assert.equal(gks.service.code, "khai-sinh");
  assert.equal(gks.keyword, "giấy khai sinh");
  assert.equal(gks.partial, false);
  // Words run together.
  assert.equal(codes("dangkykethon")[0], "ket-hon");
  // Every word but one found: the best partial match, marked as such.
  const partial = search(index, "ket hon nguoi han quoc");
  assert.equal(partial[0].service.code, "ket-hon-nuoc-ngoai");
  assert.ok(partial.every((r) => r.partial));
  // Nothing known: nothing found.
  assert.deepEqual(codes("xyzzy qwrt"), []);
});

test("search: a query is read up to QUERY_LEN_MAX characters, the rest ignored", () => {
  const index = buildIndex(setup.services, setup.departments);
  const codes = (q) => search(index, q).map((r) => r.service.code);
  const head = "khai sinh".padEnd(QUERY_LEN_MAX - "ket".length) + "ket"; // exactly at the limit
  assert.equal(head.length, QUERY_LEN_MAX);
  // "ket" is read at the limit: no procedure has khai, sinh and ket together.
  assert.ok(search(index, head).every((r) => r.partial), `${codes(head)}`);
  // One character more ("ket " + "hon") is past the limit: "hon" is not read.
  assert.deepEqual(codes(head + " hon"), codes(head));
  assert.deepEqual(codes(head + "xyz".repeat(1000)), codes(head));
  // Too many words run together to cut (at most 4 a word): nothing, rather than a guess.
  assert.deepEqual(codes("dangkykethon".repeat(20)), []);
});

test("text typed with combining marks: the browsers' NFC is the server's (shared vectors), and search reads both forms alike", () => {
  // The same file crates/luot-proto/src/text.rs checks the server's normaliser against.
  const { vectors } = JSON.parse(readFileSync(new URL("../fixtures/nfc.json", import.meta.url), "utf8"));
  assert.ok(vectors.length >= 8);
  const index = buildIndex(setup.services, setup.departments);
  const codes = (q) => search(index, q).map((r) => r.service.code);
  for (const { input, nfc } of vectors) {
    assert.notEqual(input, nfc, "each input is typed in another form");
    assert.equal(input.normalize("NFC"), nfc, JSON.stringify(input));
    assert.equal(fold(input), fold(nfc));
    assert.deepEqual(codes(input), codes(nfc), nfc);
  }
  // One that finds something, typed in Unikey's combining-mark form.
  const typed = "Đăng ky\u0301 khai sinh".normalize("NFD");
  assert.equal(codes(typed)[0], "khai-sinh");
});

async function typeOnScreen(page, text) {
  await page.locator('#keyboard .osk-key[data-key="clear"]').tap();
  for (const ch of text) await page.locator(`#keyboard .osk-key[data-key="${ch === " " ? "space" : ch}"]`).tap();
  await until(async () => (await page.inputValue("#search-input")) === text, `the search field to read ${JSON.stringify(text)}`);
}

test("kiosk: typed on the on-screen keyboard, the expected procedure comes first", async () => {
  browser = await launchBrowser();
  const { context, page, errors } = await openKiosk(browser, server);
  await page.locator("#search-open").tap();
  await page.waitForSelector("#screen-search:not([hidden])");
  const shown = () => page.$$eval("#search-results .svc", (bs) => bs.map((b) => b.dataset.svc));

  // An abbreviation, with the keyword it was read as.
  await typeOnScreen(page, "gks");
  assert.equal((await shown())[0], "khai-sinh");
  assert.match(await page.locator('#search-results .svc[data-svc="khai-sinh"] .svc-keyword').textContent(), /giấy khai sinh/);

  // The false matches of issue #11.
  await typeOnScreen(page, "chet");
  assert.equal((await shown())[0], "khai-tu");
  assert.ok(!(await shown()).includes("nguoi-co-cong"));

  await typeOnScreen(page, "the chap");
  assert.equal((await shown())[0], "hop-dong-giao-dich");
  assert.match(await page.locator('#search-results .svc[data-svc="hop-dong-giao-dich"] .svc-keyword').textContent(), /thế chấp/);

  await typeOnScreen(page, "dat dai");
  const land = setup.services.filter((s) => s.department === "dat-dai").map((s) => s.code);
  const found = await shown();
  assert.deepEqual([...found].sort(), [...land].sort(), `"dat dai" shows the land procedures: ${found}`);
  assert.equal(await page.textContent("#search-status"), `${land.length} thủ tục phù hợp`);

  await typeOnScreen(page, "sd");
  assert.ok(["cap-gcn-lan-dau", "cap-doi-gcn"].includes((await shown())[0]), `sd → ${await shown()}`);
  await shot(page, "kiosk-search-abbreviation");

  // Not every word found: the page says the results only come close.
  await typeOnScreen(page, "ket hon nguoi han quoc");
  assert.equal((await shown())[0], "ket-hon-nuoc-ngoai");
  assert.match(await page.textContent("#search-status"), /gần nhất/);
  await shot(page, "kiosk-search-partial");

  assert.deepEqual(errors, []);
  await context.close();
});
