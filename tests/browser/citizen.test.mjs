// The citizen's side in a real browser: the touch kiosk (by touch, by accent-free search with the
// on-screen keyboard, English, lockdown, closed services, lost connection), the 80 mm printed
// ticket (PDF size and text), and the phone ticket page following a ticket through call,
// service and rating, and cancelling one.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, renameSync } from "node:fs";
import path from "node:path";
import { startServer, launchBrowser, loginOfficial, openKiosk, request, shot, until, KIOSK, SITE, OUTPUT } from "./harness.mjs";
import { buildIndex, search, fold } from "../../kiosk-assets/js/search.js";

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

let server;
let browser;
let official; // an official at counter 1 (civil status)
let firstTicket; // { number, token } of the first kiosk ticket

before(async () => {
  server = await startServer({ logName: "citizen" });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.cleanup();
});

/** A kiosk page on the paired device (of `options.server`, else this file's server). */
function kioskPage(options = {}) {
  return openKiosk(browser, options.server || server, options);
}

async function typeOnScreen(page, text) {
  for (const ch of text) {
    await page.locator(`#keyboard .osk-key[data-key="${ch === " " ? "space" : ch}"]`).tap();
  }
}

async function ticketByToken(token) {
  const r = await request(server, "GET", `/api/v1/tickets/${token}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.ticket;
}

/** Issues a ticket as the kiosk over REST (Bearer device token), as a second kiosk would. */
async function issueAsKiosk(service, priority) {
  const res = await fetch(`${server.base}/api/v1/sites/${SITE}/tickets`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.kioskToken}` },
    body: JSON.stringify(priority ? { service, priority } : { service }),
  });
  const body = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));
  return body;
}

const qrToken = (page) => page.locator("#ticket-qr").getAttribute("src").then((s) => s.match(/tickets\/([0-9a-f]+)\/qr\.svg/)[1]);

test("kiosk: take a ticket by touch — department, procedure, confirm, ticket A001, printed", async () => {
  const { context, page, errors } = await kioskPage();
  assert.equal(await page.locator("html").getAttribute("lang"), "vi");
  await assert.doesNotReject(page.waitForSelector("text=Chọn lĩnh vực cần giải quyết"));
  assert.equal(await page.locator("#dept-grid .dept-tile").count(), 7);
  await shot(page, "kiosk-home");

  await page.locator('.dept-tile[data-dept="ho-tich"]').tap();
  await page.waitForSelector("#screen-dept:not([hidden])");
  assert.equal(await page.textContent("#dept-title"), "Tư pháp – Hộ tịch");
  await shot(page, "kiosk-department");

  await page.locator('.svc[data-svc="khai-sinh"]').tap();
  await page.waitForSelector("#screen-confirm:not([hidden])");
  assert.equal(await page.textContent("#confirm-title"), "Đăng ký khai sinh");
  assert.equal(await page.textContent("#fact-counters"), "Quầy 1, 2, 10");
  assert.equal(await page.textContent("#fact-ahead"), "0 người");
  assert.match(await page.textContent("#prio-note"), /kiểm tra tại quầy/);
  // Touch targets: every button on the confirm screen is at least 56 px high.
  const small = await page.$$eval("#screen-confirm button", (bs) => bs.filter((b) => b.getBoundingClientRect().height < 56).map((b) => b.textContent));
  assert.deepEqual(small, []);
  await shot(page, "kiosk-confirm");

  await page.locator("#issue-btn").tap();
  await page.waitForSelector("#screen-ticket:not([hidden])");
  assert.equal(await page.textContent("#ticket-number"), "A001");
  assert.equal(await page.textContent("#ticket-service"), "Đăng ký khai sinh");
  await page.waitForFunction(() => window.__printed === 1 && document.body.dataset.printReady === "1");
  await page.waitForFunction(() => document.getElementById("ticket-qr").naturalWidth > 0);
  await shot(page, "kiosk-ticket");

  const token = await qrToken(page);
  const t = await ticketByToken(token);
  assert.equal(t.number, "A001");
  assert.equal(t.state, "waiting");
  assert.equal(t.channel, "kiosk");
  firstTicket = { number: "A001", token };

  // "Xong" goes home, where the department now counts one person waiting.
  await page.locator("#done-btn").tap();
  await page.waitForSelector("#screen-home:not([hidden])");
  await until(async () => (await page.textContent('.dept-tile[data-dept="ho-tich"] .dept-waiting')) === "1 người đang chờ", "the waiting count on the tile");
  assert.deepEqual(errors, []);
  await context.close();
});

test("kiosk: find procedures without accents on the on-screen keyboard, take a priority ticket", async () => {
  const { context, page, errors } = await kioskPage();
  await page.locator("#search-open").tap();
  await page.waitForSelector("#screen-search:not([hidden])");
  const first = () => page.locator("#search-results .svc").first().getAttribute("data-svc");
  const all = () => page.$$eval("#search-results .svc", (bs) => bs.map((b) => b.dataset.svc));

  await typeOnScreen(page, "dang ky ket hon");
  assert.equal(await page.inputValue("#search-input"), "dang ky ket hon");
  assert.equal(await first(), "ket-hon");

  await page.locator('#keyboard .osk-key[data-key="clear"]').tap();
  await typeOnScreen(page, "so do");
  assert.ok((await all()).includes("cap-gcn-lan-dau"), `so do → ${await all()}`);
  assert.match(await page.locator('#search-results .svc[data-svc="cap-gcn-lan-dau"] .svc-keyword').textContent(), /sổ đỏ/);
  await shot(page, "kiosk-search-keyword");

  await page.locator('#keyboard .osk-key[data-key="clear"]').tap();
  await typeOnScreen(page, "sinh khai"); // any order
  assert.equal(await first(), "khai-sinh");
  // Backspace removes one letter.
  await page.locator('#keyboard .osk-key[data-key="backspace"]').tap();
  assert.equal(await page.inputValue("#search-input"), "sinh kha");

  await page.locator('#keyboard .osk-key[data-key="clear"]').tap();
  await typeOnScreen(page, "chung thuc ban sao");
  assert.equal(await first(), "chung-thuc-ban-sao");
  assert.match(await page.textContent("#search-status"), /thủ tục phù hợp/);
  await shot(page, "kiosk-search");

  await page.locator('#search-results .svc[data-svc="chung-thuc-ban-sao"]').tap();
  await page.waitForSelector("#screen-confirm:not([hidden])");
  assert.equal(await page.textContent("#confirm-title"), "Chứng thực bản sao từ bản chính");
  assert.equal(await page.textContent("#fact-counters"), "Quầy 3, 10");
  await page.locator('.prio-opt[data-prio="elderly"]').tap();
  assert.equal(await page.locator('.prio-opt[data-prio="elderly"]').getAttribute("aria-checked"), "true");
  assert.equal(await page.locator('.prio-opt[data-prio=""]').getAttribute("aria-checked"), "false");
  await shot(page, "kiosk-confirm-priority");
  await page.locator("#issue-btn").tap();
  await page.waitForSelector("#screen-ticket:not([hidden])");
  assert.equal(await page.textContent("#ticket-number"), "B001");
  assert.equal(await page.textContent("#ticket-prio"), "Ưu tiên: Người cao tuổi");
  const t = await ticketByToken(await qrToken(page));
  assert.equal(t.priority, "elderly");
  assert.equal(t.service, "chung-thuc-ban-sao");
  // The printed ticket names the category and says it is checked at the counter.
  await page.waitForFunction(() => document.body.dataset.printReady === "1");
  const printed = await page.textContent("#print-ticket");
  assert.match(printed, /ƯU TIÊN: Người cao tuổi/);
  assert.match(printed, /kiểm tra tại quầy/);
  assert.deepEqual(errors, []);
  await context.close();
});

test("search.js ranks procedures for accent-free queries (Node, the real setup)", async () => {
  const setup = (await request(server, "GET", `/api/v1/sites/${SITE}/setup`)).body;
  const index = buildIndex(setup.services, setup.departments);
  const top = (q) => search(index, q)[0]?.service.code;
  const codes = (q) => search(index, q).map((r) => r.service.code);
  assert.equal(fold("Đăng Ký KẾT HÔN"), "dang ky ket hon");
  assert.equal(top("khai sinh"), "khai-sinh");
  assert.equal(top("Khai Sinh"), "khai-sinh");
  assert.equal(top("đăng ký khai sinh"), "khai-sinh");
  assert.equal(top("dang ky ket hon"), "ket-hon");
  assert.equal(top("ket hon dang ky"), "ket-hon");
  assert.equal(top("chung thuc ban sao"), "chung-thuc-ban-sao");
  assert.equal(top("khia sinh"), "khai-sinh"); // two letters swapped
  assert.equal(top("dang k"), "khai-sinh"); // a word still being typed
  assert.ok(codes("so do").includes("cap-gcn-lan-dau"));
  assert.ok(codes("so do").every((c) => ["cap-gcn-lan-dau", "cap-doi-gcn", "dang-ky-bien-dong"].includes(c)), `${codes("so do")}`);
  assert.equal(top("vneid"), "vneid");
  assert.equal(top("birth"), "khai-sinh");
  assert.deepEqual(codes("xyzzy"), []);
  assert.deepEqual(codes("   "), []);
});

test("printed ticket: 80 mm wide PDF with the number, the service, the counters and the QR", async () => {
  const { context, page } = await kioskPage();
  await page.locator('.dept-tile[data-dept="ho-tich"]').tap();
  await page.locator('.svc[data-svc="khai-sinh"]').tap();
  await page.locator("#issue-btn").tap();
  await page.waitForSelector("#screen-ticket:not([hidden])");
  const number = await page.textContent("#ticket-number");
  assert.match(number, /^A\d{3}$/);
  await page.waitForFunction(() => document.body.dataset.printReady === "1");
  assert.ok(await page.$eval("#print-ticket .pt-qr", (img) => img.complete && img.naturalWidth > 0), "the QR code loaded before printing");

  const pdf = path.join(OUTPUT, "ticket-print.pdf");
  await page.pdf({ path: pdf, preferCSSPageSize: true, printBackground: true });
  const info = execFileSync("pdfinfo", [pdf], { encoding: "utf8" });
  assert.match(info, /^Pages:\s+1$/m, info);
  const [, w, h] = info.match(/Page size:\s+([\d.]+) x ([\d.]+) pts/);
  const mm = (pt) => (Number(pt) * 25.4) / 72;
  assert.ok(Math.abs(mm(w) - 80) < 1, `width ${mm(w)} mm`);
  assert.ok(mm(h) > 90 && mm(h) < 220, `length ${mm(h)} mm`);
  const text = execFileSync("pdftotext", ["-layout", pdf, "-"], { encoding: "utf8" });
  for (const want of [number, "SỐ THỨ TỰ", "Đăng ký khai sinh", "Quầy phục vụ", "1, 2, 10", "Người chờ trước", "Giờ lấy số", "PHƯỜNG SA HUỲNH", `Ticket ${number}`, "Birth registration", "Scan the QR code"]) {
    assert.ok(text.includes(want), `"${want}" missing from the printed ticket:\n${text}`);
  }
  // What the paper looks like, at a receipt printer's 203 dpi.
  execFileSync("pdftoppm", ["-png", "-r", "203", "-singlefile", pdf, path.join(OUTPUT, "ticket-print")]);
  assert.ok(readFileSync(path.join(OUTPUT, "ticket-print.png")).length > 1000);
  await context.close();
});

test("phone: the ticket page follows the queue live, alerts when called, then takes one rating", async () => {
  official = await loginOfficial(server, { counters: ["quay-1"] });
  await official.post(`/api/v1/sites/${SITE}/counters/quay-1/open`);
  await issueAsKiosk("khai-sinh");
  const mine = await issueAsKiosk("khai-sinh");
  const ahead0 = mine.ticket.estimate.ahead;
  assert.ok(ahead0 >= 3, `ahead ${ahead0}`);

  const context = await browser.newContext(PHONE);
  await context.addInitScript(() => {
    window.__vibrations = [];
    window.__notifications = [];
    window.__plays = 0;
    Object.defineProperty(Navigator.prototype, "vibrate", { configurable: true, value(p) { window.__vibrations.push(p); return true; } });
    HTMLMediaElement.prototype.play = function () { if (!this.muted) window.__plays += 1; return Promise.resolve(); };
    class FakeNotification {
      constructor(title, options) { window.__notifications.push({ title, body: options?.body }); }
      static permission = "default";
      static requestPermission() { FakeNotification.permission = "granted"; return Promise.resolve("granted"); }
    }
    window.Notification = FakeNotification;
  });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(mine.url.replace(/^https?:\/\/[^/]+/, server.base));
  await page.waitForSelector("body[data-live=live]");
  assert.equal(await page.textContent("#number"), mine.ticket.number);
  assert.equal(await page.textContent("#service"), "Đăng ký khai sinh");
  assert.equal(await page.textContent("#status-main"), `Còn ${ahead0} người trước ông/bà`);
  // The page says what the server estimates for this ticket (docs/wait-estimates.md): a range,
  // or, while the futures disagree too much (a first morning with configured times only), that
  // there is not enough data. Compared once the estimator's pass has reached the page.
  await until(async () => {
    const e = (await ticketByToken(mine.token)).estimate;
    const shown = await page.textContent("#status-sub");
    return e.uncertain ? shown === "Dự kiến: chưa đủ dữ liệu để ước tính" : /^Dự kiến: \d+–\d+ phút$/.test(shown);
  }, "the phone showing the server's estimate");
  assert.equal(await page.textContent("#fact-counters"), "Quầy 1, 2, 10");
  await page.locator("#alerts-btn").tap();
  await until(async () => (await page.textContent("#alerts-text")) === "Đã bật báo khi đến lượt", "alerts on");
  await shot(page, "phone-waiting");

  // Each call at counter 1 moves this ticket up, live.
  for (let n = ahead0 - 1; n >= 0; n--) {
    await official.post(`/api/v1/sites/${SITE}/counters/quay-1/call-next`);
    const want = n === 0 ? "Ông/Bà là người tiếp theo" : `Còn ${n} người trước ông/bà`;
    await until(async () => (await page.textContent("#status-main")) === want, `"${want}"`);
    await official.post(`/api/v1/sites/${SITE}/counters/quay-1/start`);
    await official.post(`/api/v1/sites/${SITE}/counters/quay-1/complete`);
  }
  const before = await page.evaluate(() => window.__vibrations.length);

  // Its turn: the big "Mời đến quầy 1", vibration, the chime, a notification.
  const called = await official.post(`/api/v1/sites/${SITE}/counters/quay-1/call-next`);
  assert.equal(called.ticket.number, mine.ticket.number);
  await page.waitForSelector("body[data-state=called]");
  assert.equal(await page.textContent("#status-main"), "Mời đến quầy 1");
  await until(() => page.evaluate((b) => window.__vibrations.length > b, before), "a vibration");
  await until(() => page.evaluate(() => window.__plays > 0), "the chime");
  await until(() => page.evaluate(() => window.__notifications.length === 1), "a notification");
  const note = await page.evaluate(() => window.__notifications[0]);
  assert.equal(note.title, `Đến lượt ông/bà: ${mine.ticket.number}`);
  assert.equal(note.body, "Mời đến quầy số 1");
  assert.match(await page.title(), /Mời đến quầy 1/);
  assert.ok(await page.locator("#cancel-btn").isHidden(), "no cancelling once called");
  await shot(page, "phone-called");

  // A recall alerts again.
  await official.post(`/api/v1/sites/${SITE}/counters/quay-1/recall`);
  await until(() => page.evaluate(() => window.__notifications.length === 2), "a second notification on recall");
  await until(async () => (await page.textContent("#status-sub")).includes("Gọi lại lần 1"), "the recall line");

  await official.post(`/api/v1/sites/${SITE}/counters/quay-1/start`);
  await until(async () => (await page.textContent("#status-main")) === "Đang được phục vụ tại quầy 1", "serving");
  await official.post(`/api/v1/sites/${SITE}/counters/quay-1/complete`);
  await page.waitForSelector("#rate:not([hidden])");
  assert.equal(await page.textContent("#status-main"), "Đã hoàn thành");
  const labels = await page.$$eval("#rate-scale .p-score", (bs) => bs.map((b) => b.textContent));
  assert.deepEqual(labels, ["Rất hài lòng", "Hài lòng", "Bình thường", "Không hài lòng"]);
  assert.ok(await page.locator("#rate-send").isDisabled());
  // A good score asks no reason; a low one does.
  await page.locator('.p-score[data-score="1"]').tap();
  assert.ok(await page.locator("#rate-reasons").isHidden());
  await page.locator('.p-score[data-score="4"]').tap();
  await page.waitForSelector("#rate-reasons:not([hidden])");
  await page.locator('.p-chip[data-reason="0"]').tap();
  await page.fill("#rate-text", "Phải chờ gần một tiếng");
  await shot(page, "phone-rating", { fullPage: true });
  await page.locator("#rate-send").tap();
  await page.waitForSelector("#rate-thanks:not([hidden])");
  assert.ok(await page.locator("#rate").isHidden());
  const rated = await ticketByToken(mine.token);
  assert.equal(rated.rating, 4);
  // One rating per ticket: the server refuses a second one.
  const again = await request(server, "POST", `/api/v1/tickets/${mine.token}/rate`, { score: 1 });
  assert.equal(again.status, 409);
  assert.equal(again.body.code, "already_rated");
  await page.reload();
  await page.waitForSelector("body[data-live=live]");
  assert.ok(await page.locator("#rate").isHidden(), "no second rating after a reload");
  await shot(page, "phone-rated");
  assert.deepEqual(errors, []);
  await context.close();
});

test("phone: cancel my ticket after confirming; an unknown token says so", async () => {
  const mine = await issueAsKiosk("vneid");
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  await page.goto(`${server.base}/t/${mine.token}`);
  await page.waitForSelector("body[data-live=live]");
  assert.equal(await page.textContent("#number"), mine.ticket.number);
  await page.locator("#cancel-btn").tap();
  await page.waitForSelector("#cancel-confirm:not([hidden])");
  // "No" keeps it.
  await page.locator("#cancel-no").tap();
  assert.ok(await page.locator("#cancel-confirm").isHidden());
  assert.equal((await ticketByToken(mine.token)).state, "waiting");
  await page.locator("#cancel-btn").tap();
  await shot(page, "phone-cancel-confirm");
  await page.locator("#cancel-yes").tap();
  await page.waitForSelector("body[data-state=cancelled]");
  assert.equal(await page.textContent("#status-main"), "Số này đã được hủy");
  assert.ok(await page.locator("#cancel-btn").isHidden());
  assert.equal((await ticketByToken(mine.token)).state, "cancelled");

  await page.goto(`${server.base}/t/${"0".repeat(32)}`);
  await page.waitForSelector("body[data-state=unknown]");
  assert.equal(await page.textContent("#status-main"), "Không tìm thấy số thứ tự");
  await context.close();
});

test("kiosk: English switch, and back to Vietnamese at home after the idle time", async () => {
  const { context, page, errors } = await kioskPage({ query: "&idle=6" });
  await page.locator("#lang").tap();
  await page.waitForSelector("text=Choose a field");
  assert.equal(await page.locator("html").getAttribute("lang"), "en");
  assert.equal(await page.textContent('.dept-tile[data-dept="ho-tich"] .dept-name'), "Justice and civil status");
  assert.equal(await page.textContent("#lang"), "Tiếng Việt");
  await shot(page, "kiosk-home-en");
  await page.locator('.dept-tile[data-dept="ho-tich"]').tap();
  await page.locator('.svc[data-svc="ket-hon"]').tap();
  assert.equal(await page.textContent("#confirm-title"), "Marriage registration");
  assert.equal(await page.textContent("#fact-counters"), "1, 2, 10");
  assert.equal(await page.textContent("#issue-btn"), "Take a number");
  // Nobody touches it: home, in Vietnamese, for the next citizen.
  await page.waitForSelector("#screen-home:not([hidden])", { timeout: 20_000 });
  await page.waitForSelector("text=Chọn lĩnh vực cần giải quyết");
  assert.equal(await page.locator("html").getAttribute("lang"), "vi");
  assert.deepEqual(errors, []);
  await context.close();
});

test("kiosk: locked down — no context menu, no text selection, no way back", async () => {
  const { context, page } = await kioskPage();
  const prevented = await page.evaluate(() => !document.body.dispatchEvent(new MouseEvent("contextmenu", { bubbles: true, cancelable: true })));
  assert.ok(prevented, "the context menu is blocked");
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).userSelect), "none");
  const selectBlocked = await page.evaluate(() => !document.querySelector(".k-title").dispatchEvent(new Event("selectstart", { bubbles: true, cancelable: true })));
  assert.ok(selectBlocked, "selection does not start");
  await page.locator('.dept-tile[data-dept="kinh-te"]').tap();
  await page.waitForSelector("#screen-dept:not([hidden])");
  await page.goBack().catch(() => {});
  await page.waitForSelector("#screen-home:not([hidden])");
  assert.match(page.url(), /\/kiosk/);
  assert.equal(await page.locator("a[href]").count(), 0, "no links out");
  await context.close();
});

test("kiosk: outside opening hours every procedure is greyed with the reason and when it opens", async () => {
  const lunch = await startServer({ logName: "citizen-lunch", startClock: "2026-11-30T12:00:00+07:00" });
  try {
    const { context, page } = await kioskPage({ server: lunch });
    await until(async () => (await page.locator(".dept-tile.is-closed").count()) === 7, "all departments closed");
    assert.equal(await page.textContent('.dept-tile[data-dept="ho-tich"] .closed-reason'), "Ngoài giờ tiếp nhận");
    assert.equal(await page.textContent('.dept-tile[data-dept="ho-tich"] .closed-opens'), "Mở lại lúc 13:30 hôm nay");
    await shot(page, "kiosk-closed");
    await page.locator('.dept-tile[data-dept="ho-tich"]').tap();
    const row = page.locator('.svc[data-svc="khai-sinh"]');
    assert.equal(await row.getAttribute("aria-disabled"), "true");
    assert.equal(await row.locator(".svc-closed .closed-opens").textContent(), "Mở lại lúc 13:30 hôm nay");
    await row.tap();
    assert.ok(await page.locator("#screen-confirm").isHidden(), "a closed procedure does not open");
    await context.close();
  } finally {
    await lunch.cleanup();
  }
});

test("kiosk: an unpaired kiosk does not issue; the landing page links every page", async () => {
  const context = await browser.newContext({ viewport: KIOSK });
  const page = await context.newPage();
  await page.goto(`${server.base}/kiosk`);
  await page.waitForSelector("#paused:not([hidden])");
  assert.match(await page.textContent("#paused-text"), /chưa được ghép nối/);
  await page.goto(`${server.base}/`);
  const links = await page.$$eval("a[href]", (as) => as.map((a) => a.getAttribute("href")));
  for (const want of ["/kiosk", "/display", "/counter", "/rating", "/admin"]) assert.ok(links.includes(want), `${want} in ${links}`);
  assert.match(await page.textContent("h1"), /Sa Huỳnh/);
  await context.close();
});

test("kiosk: losing the server shows 'Tạm ngưng cấp số' and blocks issuing; it recovers by itself", async () => {
  // A busier hall: people waiting in several fields, counters 3 and 4 open.
  for (const counter of ["quay-3", "quay-4"]) {
    const staff = await loginOfficial(server, { counters: [counter] });
    await staff.post(`/api/v1/sites/${SITE}/counters/${counter}/open`);
  }
  let last = 0;
  for (const s of ["cap-gcn-lan-dau", "dang-ky-bien-dong", "tach-hop-thua", "chung-thuc-chu-ky", "thanh-lap-hkd"]) last = (await issueAsKiosk(s)).seq;
  const { context, page, errors } = await kioskPage();
  await until(async () => (await page.textContent('.dept-tile[data-dept="dat-dai"] .dept-waiting')) === "3 người đang chờ", "live counts");
  // The estimator's pass over this hall has reached the kiosk (docs/protocol.md §8.7).
  await until(() => page.evaluate((seq) => window.luotKiosk.live.state.estimatesAsOf >= seq, last), "the estimates of this hall");
  // A wait range, or "not enough data" while a first morning's futures disagree (the server's
  // estimate either way; the estimate's figures are tested in tests/e2e/estimates.rs).
  const waitShown = /^(chờ khoảng \d+–\d+ phút|chưa đủ dữ liệu để ước tính)$/;
  await until(async () => waitShown.test(await page.textContent('.dept-tile[data-dept="dat-dai"] .dept-wait')), "the tile's wait");
  await page.locator('.dept-tile[data-dept="dat-dai"]').tap();
  await until(async () => /^1 người đang chờ · (chờ khoảng \d+–\d+ phút|chưa đủ dữ liệu để ước tính) · Quầy 4, 5, 10$/.test(await page.textContent('.svc[data-svc="cap-gcn-lan-dau"] .svc-meta')), "a procedure's queue line");
  await shot(page, "kiosk-department-live");
  await page.locator('.k-back[data-action="home"]').first().tap();
  // Live: a ticket issued elsewhere shows up on this kiosk's tile.
  await issueAsKiosk("cap-doi-gcn");
  await until(async () => (await page.textContent('.dept-tile[data-dept="dat-dai"] .dept-waiting')) === "4 người đang chờ", "the count going up live");
  await shot(page, "kiosk-home-live");
  await page.locator('.dept-tile[data-dept="ho-tich"]').tap();
  await page.locator('.svc[data-svc="khai-tu"]').tap();
  await page.waitForSelector("#screen-confirm:not([hidden])");

  await server.kill();
  await page.waitForSelector("#paused:not([hidden])", { timeout: 15_000 });
  assert.equal(await page.textContent("#paused-title"), "Tạm ngưng cấp số");
  assert.match(await page.textContent("#paused-text"), /kết nối lại/);
  assert.ok(await page.locator("#issue-btn").isDisabled(), "no issuing while disconnected");
  await shot(page, "kiosk-disconnected");

  server = await server.restart();
  await page.waitForSelector("#paused", { state: "hidden", timeout: 30_000 });
  await page.waitForFunction(() => window.luotKiosk.pausedReason() === null);
  assert.ok(await page.locator("#issue-btn").isEnabled());
  await page.locator("#issue-btn").tap();
  await page.waitForSelector("#screen-ticket:not([hidden])");
  const number = await page.textContent("#ticket-number");
  const t = await ticketByToken(await qrToken(page));
  assert.equal(t.number, number);
  assert.equal(t.service, "khai-tu");
  // Numbering went on where it was: A001–A004 before the restart, A005 after.
  assert.equal(number, "A005");
  assert.deepEqual(errors, []);
  await context.close();
});

test("kiosk: a storage fault shows 'Tạm ngưng cấp số' and blocks issuing; issuing resumes by itself when it clears", async () => {
  // Its own server: the fault is the data folder moved away under it (docs/reliability.md).
  const s = await startServer({ logName: "citizen-storage-fault" });
  try {
    const { context, page, errors } = await kioskPage({ server: s });
    const issue = (service) => fetch(`${s.base}/api/v1/sites/${SITE}/tickets`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${s.kioskToken}` },
      body: JSON.stringify({ service }),
    });
    assert.equal((await issue("khai-sinh")).status, 201);

    const away = `${s.dataDir}-moved`;
    renameSync(s.dataDir, away);
    const refused = await issue("khai-sinh");
    assert.equal(refused.status, 503);
    assert.equal((await refused.json()).code, "storage_missing");
    await page.waitForSelector("#paused:not([hidden])", { timeout: 10_000 });
    assert.equal(await page.textContent("#paused-title"), "Tạm ngưng cấp số");
    assert.match(await page.textContent("#paused-text"), /sự cố lưu trữ dữ liệu/);
    assert.match(await page.textContent("#paused-en"), /data storage fault/);
    assert.equal(await page.evaluate(() => window.luotKiosk.pausedReason()), "intake");
    const health = await fetch(`${s.base}/healthz`);
    assert.equal(health.status, 503);
    assert.equal((await health.json()).reason.code, "storage_missing");
    await shot(page, "kiosk-storage-fault");

    renameSync(away, s.dataDir);
    await page.waitForSelector("#paused", { state: "hidden", timeout: 15_000 });
    await page.locator('.dept-tile[data-dept="ho-tich"]').tap();
    await page.locator('.svc[data-svc="khai-sinh"]').tap();
    await page.waitForSelector("#screen-confirm:not([hidden])");
    await page.locator("#issue-btn").tap();
    await page.waitForSelector("#screen-ticket:not([hidden])");
    // The refused attempt used no number: A001 before the fault, A002 after.
    assert.equal(await page.textContent("#ticket-number"), "A002");
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    await s.cleanup();
  }
});
