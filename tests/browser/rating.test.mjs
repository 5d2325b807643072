// The rating tablet in headless Chromium against the real server: it sleeps until the official at
// its counter completes a ticket (not another counter's), then shows the ticket, the official's
// name and the configured scale; a tap records the rating once (the report counts it, a second
// rating is refused); a low score asks why (chips + free text) and the reason is recorded; with no
// answer it goes back to sleep; a ticket rated meanwhile on the phone is said politely; English.
// Screenshots: rating-idle, rating-scale, rating-reasons, rating-thanks, rating-already.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, loginOfficial, login, request, shot, until, SITE } from "./harness.mjs";

let server;
let browser;
let official; // at quay-1, the first-start rating tablet's counter
let other; // at quay-2
let admin;

/** A kiosk ticket; resolves with { number, token }. */
async function issue(service = "khai-sinh") {
  const res = await fetch(`${server.base}/api/v1/sites/${SITE}/tickets`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.kioskToken}` },
    body: JSON.stringify({ service }),
  });
  const body = await res.json();
  assert.ok(res.ok, `issue: ${JSON.stringify(body)}`);
  return { number: body.ticket.number, token: body.token };
}

/** Issues a ticket and serves it to the end at `counter` by REST; resolves with the ticket. */
async function serve(who, counter) {
  const t = await issue();
  const called = await who.post(`/api/v1/sites/${SITE}/counters/${counter}/call`, { number: t.number });
  assert.equal(called.ticket.number, t.number);
  await who.post(`/api/v1/sites/${SITE}/counters/${counter}/start`);
  await who.post(`/api/v1/sites/${SITE}/counters/${counter}/complete`);
  return t;
}

async function tablet(query = "", viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport, hasTouch: true });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${server.base}/rating?device=${server.ratingToken}${query}`);
  await until(() => page.evaluate(() => window.luotRating?.status === "live" && window.luotRating.screen === "idle"), "tablet live and idle");
  return { page, context, errors };
}

const screen = (page) => page.evaluate(() => window.luotRating.screen);
const waitScreen = (page, s, ms) => until(async () => (await screen(page)) === s, `screen ${s}`, ms);
/** Lets the entrance animations finish before a screenshot: waits for every finite animation
 * running on the page, not for a guessed time. */
const settle = (page) => page.evaluate(() => Promise.all(document.getAnimations()
  .filter((a) => a.effect?.getComputedTiming().iterations !== Infinity)
  .map((a) => a.finished.catch(() => null))).then(() => true));

async function todayReport() {
  const r = await request(server, "GET", `/api/v1/sites/${SITE}/reports?by=counter`, undefined, admin);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.report;
}

before(async () => {
  server = await startServer({ logName: "rating", args: ["--issue-rate", "200", "--issue-burst", "200"] });
  browser = await launchBrowser();
  assert.ok(server.ratingToken, "the first start pairs a rating tablet");
  official = await loginOfficial(server, { counters: ["quay-1"], name: "tranthib" });
  other = await loginOfficial(server, { counters: ["quay-2"] });
  await official.post(`/api/v1/sites/${SITE}/counters/quay-1/open`);
  await other.post(`/api/v1/sites/${SITE}/counters/quay-2/open`);
  admin = await login(server, server.adminLogin, server.adminPassword);
});

after(async () => {
  await browser?.close();
  await server?.cleanup();
});

test("the tablet sleeps, wakes when its counter completes a ticket, and a tap records the rating once", async () => {
  const { page, context, errors } = await tablet();
  assert.match(await page.locator("#counter-name").innerText(), /Quầy 1/);
  assert.match(await page.locator("#screen-idle").innerText(), /Xin mời đánh giá sau khi được phục vụ/);
  assert.equal(await page.locator("#idle-faces svg").count(), 4);
  await shot(page, "rating-idle");

  // Another counter's completion does not wake it (once the tablet has applied it).
  await serve(other, "quay-2");
  const done = (await request(server, "GET", `/api/v1/sites/${SITE}/snapshot`)).body.seq;
  await until(() => page.evaluate((n) => window.luotRating.seq >= n, done), `the tablet at seq ${done}`);
  assert.equal(await screen(page), "idle");

  const t = await serve(official, "quay-1");
  await waitScreen(page, "ask", 3000);
  assert.equal(await page.locator("#ask-number").innerText(), t.number);
  // The official's name, from the public list of officials.
  const names = await request(server, "GET", `/api/v1/sites/${SITE}/officials`);
  assert.equal(names.status, 200);
  const mine = names.body.find((o) => o.login === official.login);
  assert.ok(mine, "the official is listed");
  await until(async () => (await page.locator("#ask-official").innerText()) === mine.display_name, "official's name shown", 3000);
  // The default four-level scale, best first, each a big button.
  const labels = await page.locator(".r-score").allInnerTexts();
  assert.deepEqual(labels.map((s) => s.trim()), ["Rất hài lòng", "Hài lòng", "Bình thường", "Không hài lòng"]);
  const box = await page.locator('.r-score[data-score="1"]').boundingBox();
  assert.ok(box.width >= 200 && box.height >= 200, `big buttons: ${JSON.stringify(box)}`);
  await settle(page);
  await shot(page, "rating-scale");

  await page.locator('.r-score[data-score="1"]').tap();
  await waitScreen(page, "done", 3000);
  assert.match(await page.locator("#done-title").innerText(), /Cảm ơn ông\/bà đã đánh giá/);
  assert.deepEqual(await page.evaluate(() => window.luotRating.results.at(-1)), { number: t.number, score: 1, reason: null, ok: true });
  await settle(page);
  await shot(page, "rating-thanks");

  // The report counts it at counter 1.
  const report = await todayReport();
  const row = report.rows.find((r) => r.key === "quay-1");
  assert.equal(row.rated, 1);
  assert.equal(row.ratings[0], 1);
  // A second rating of the same ticket is refused.
  const again = await fetch(`${server.base}/api/v1/sites/${SITE}/commands`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.ratingToken}` },
    body: JSON.stringify({ type: "rate", number: t.number, score: 4 }),
  });
  assert.equal(again.ok, false);
  assert.equal((await again.json()).code, "already_rated");

  // Back to sleep by itself (thanks last ~6 s).
  await waitScreen(page, "idle", 10_000);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a low score asks why; the chosen reasons and the free text are recorded with it", async () => {
  const { page, context, errors } = await tablet();
  const t = await serve(official, "quay-1");
  await waitScreen(page, "ask", 3000);
  await page.locator('.r-score[data-score="4"]').tap();
  await waitScreen(page, "why", 2000);
  // Chips from setup.rating.low_score_reasons.
  const chips = (await page.locator(".r-chip").allInnerTexts()).map((s) => s.trim());
  assert.deepEqual(chips, ["Chờ lâu", "Thái độ chưa tốt", "Hướng dẫn chưa rõ", "Thủ tục phức tạp", "Khác"]);
  await page.locator('.r-chip[data-reason="0"]').tap();
  await page.locator('.r-chip[data-reason="2"]').tap();
  assert.equal(await page.locator('.r-chip[data-reason="2"]').getAttribute("aria-pressed"), "true");
  await page.fill("#why-text", "Không có ghế ngồi");
  await page.locator("#why-text").blur();
  await settle(page);
  await shot(page, "rating-reasons");
  await page.locator("#why-send").tap();
  await waitScreen(page, "done", 3000);
  const last = await page.evaluate(() => window.luotRating.results.at(-1));
  assert.deepEqual(last, { number: t.number, score: 4, reason: "Chờ lâu; Hướng dẫn chưa rõ; Không có ghế ngồi", ok: true });
  const report = await todayReport();
  assert.equal(report.total.reasons["Chờ lâu; Hướng dẫn chưa rõ; Không có ghế ngồi"], 1);
  const row = report.rows.find((r) => r.key === "quay-1");
  assert.equal(row.ratings[3], 1);

  // "Bỏ qua" sends the score without a reason; a middle score (3 of 4) also asks.
  const t2 = await serve(official, "quay-1");
  await waitScreen(page, "ask", 10_000);
  assert.equal(await page.locator("#ask-number").innerText(), t2.number);
  await page.locator('.r-score[data-score="3"]').tap();
  await waitScreen(page, "why", 2000);
  await page.locator("#why-skip").tap();
  await waitScreen(page, "done", 3000);
  assert.deepEqual(await page.evaluate(() => window.luotRating.results.at(-1)), { number: t2.number, score: 3, reason: null, ok: true });
  // "Hài lòng" (2 of 4) is satisfied: no question.
  const t3 = await serve(official, "quay-1");
  await waitScreen(page, "ask", 10_000);
  await page.locator('.r-score[data-score="2"]').tap();
  await waitScreen(page, "done", 3000);
  assert.equal((await page.evaluate(() => window.luotRating.results.at(-1))).number, t3.number);
  assert.deepEqual(errors, []);
  await context.close();
});

test("with no answer the tablet goes back to sleep; a chosen low score is still sent", async () => {
  const { page, context } = await tablet("&ask_s=2&why_s=2&done_s=1");
  await serve(official, "quay-1");
  await waitScreen(page, "ask", 3000);
  await waitScreen(page, "idle", 5000);
  const before = await page.evaluate(() => window.luotRating.results.length);
  assert.equal(before, 0, "nothing sent without a tap");

  const t = await serve(official, "quay-1");
  await waitScreen(page, "ask", 3000);
  await page.locator('.r-score[data-score="4"]').tap();
  await waitScreen(page, "why", 2000);
  await waitScreen(page, "done", 5000);
  assert.deepEqual(await page.evaluate(() => window.luotRating.results.at(-1)), { number: t.number, score: 4, reason: null, ok: true });
  await waitScreen(page, "idle", 5000);
  await context.close();
});

test("a ticket rated meanwhile on the citizen's phone is said politely; English on request, Vietnamese for the next citizen", async () => {
  const { page, context, errors } = await tablet();
  const t = await serve(official, "quay-1");
  await waitScreen(page, "ask", 3000);
  await page.click("#lang");
  assert.deepEqual((await page.locator(".r-score").allInnerTexts()).map((s) => s.trim()), ["Very satisfied", "Satisfied", "Neutral", "Dissatisfied"]);
  assert.match(await page.locator("#ask-question").innerText(), /Were you satisfied/);
  // The phone rates first.
  const phone = await fetch(`${server.base}/api/v1/tickets/${t.token}/rate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ score: 2 }),
  });
  assert.equal(phone.status, 200, await phone.text());
  await waitScreen(page, "done", 3000);
  assert.match(await page.locator("#done-title").innerText(), new RegExp(`${t.number} has already been rated`));
  await page.click("#lang");
  assert.match(await page.locator("#done-title").innerText(), new RegExp(`Số ${t.number} đã được đánh giá`));
  await settle(page);
  await shot(page, "rating-already");
  // A tap on the tablet for a ticket the phone rated is refused by the server too.
  const again = await fetch(`${server.base}/api/v1/sites/${SITE}/commands`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.ratingToken}` },
    body: JSON.stringify({ type: "rate", number: t.number, score: 1 }),
  });
  assert.equal((await again.json()).code, "already_rated");
  await waitScreen(page, "idle", 10_000);
  assert.equal(await page.evaluate(() => document.documentElement.lang), "vi");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a tablet opened without a device code, or with a revoked one, says how to pair it", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${server.base}/rating`);
  await until(() => page.evaluate(() => window.luotRating?.screen === "setup"), "setup screen");
  assert.match(await page.locator("#screen-setup").innerText(), /chưa được ghép nối/);
  await page.goto(`${server.base}/rating?device=${"ab".repeat(32)}`);
  await until(() => page.evaluate(() => window.luotRating?.screen === "setup"), "setup screen for a bad code");
  assert.match(await page.locator("#setup-text").innerText(), /không còn hiệu lực/);
  await context.close();
});
