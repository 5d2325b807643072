// The chip ID card (CCCD) at the kiosk, in headless Chromium against the real server: a USB 2D
// scanner types the card's QR like a keyboard. A code that is not a card's gets a clear message
// and changes nothing; a card of a citizen of 76 is offered the elderly priority (min_age 60 in
// the built-in configuration) without being asked; only the ID number leaves the kiosk, and the
// server's per-person limits (1 per department, 2 a day) hold across scans. A scan while the
// search field has the focus does not end up in the search. Screenshots: kiosk-cccd-*.png.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, openKiosk, request, shot, until } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer({ logName: "cccd" });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.cleanup();
});

/** A card's QR as the scanner types it (keys a few ms apart, then Enter). The name and
 * address are typed too; the kiosk reads only the ID number and the date of birth. */
const CARD = "079050001234|025123456|Nguyen Van An|15031950|Nam|12 Le Loi, Sa Huynh, Quang Ngai|20042021";

async function scan(page, text) {
  await page.keyboard.type(text, { delay: 4 });
  await page.keyboard.press("Enter");
}

async function take(page, dept, svc) {
  await page.locator(`.dept-tile[data-dept="${dept}"]`).tap();
  await page.waitForSelector("#screen-dept:not([hidden])");
  await page.locator(`.svc[data-svc="${svc}"]`).tap();
  await page.waitForSelector("#screen-confirm:not([hidden])");
}

const token = (page) => page.locator("#ticket-qr").getAttribute("src").then((s) => s.match(/tickets\/([0-9a-f]+)\/qr\.svg/)[1]);

test("kiosk: a scanned ID card offers the elderly priority and counts toward the per-person limits; a foreign code changes nothing", async () => {
  const { context, page, errors } = await openKiosk(browser, server);

  // A code that is not a card's: a clear message, and no card is held.
  await scan(page, "079050001234|025123456|Nguyen Van An|15031950");
  await until(async () => !(await page.locator("#card-status").isHidden()), "the refusal");
  assert.equal(await page.getAttribute("#card-status", "data-kind"), "error");
  assert.match(await page.textContent("#card-status"), /không phải mã QR của thẻ căn cước gắn chip \(không đủ 7 mục của thẻ\)\. Không có gì thay đổi/);
  await shot(page, "kiosk-cccd-refused");
  await take(page, "ho-tich", "khai-sinh");
  assert.equal(await page.getAttribute('.prio-opt[data-prio=""]', "aria-checked"), "true", "no priority chosen for the citizen");
  await page.keyboard.press("Escape");
  await page.waitForSelector("#screen-home:not([hidden])");

  // The card of a citizen of 76: read, and the elderly priority offered.
  await scan(page, CARD);
  await until(async () => (await page.getAttribute("#card-status", "data-kind")) === "ok", "the card read");
  const status = await page.textContent("#card-status");
  assert.match(status, /Đã đọc thẻ căn cước \(số …1234\)/);
  assert.match(status, /Ông\/Bà từ 60 tuổi: được ưu tiên “Người cao tuổi”/);
  assert.ok(!status.includes("Nguyen") && !status.includes("Le Loi"), status);
  await page.goto(page.url()); // a reload forgets the card, like going home
  await page.waitForFunction(() => window.luotKiosk?.pausedReason() === null);
  assert.equal(await page.locator("#card-status").isHidden(), true);

  await scan(page, CARD);
  await until(async () => (await page.getAttribute("#card-status", "data-kind")) === "ok", "the card read again");
  await take(page, "ho-tich", "khai-sinh");
  assert.equal(await page.getAttribute('.prio-opt[data-prio="elderly"]', "aria-checked"), "true", "elderly offered without asking");
  await shot(page, "kiosk-cccd-confirm");
  await page.locator("#issue-btn").tap();
  await page.waitForSelector("#screen-ticket:not([hidden])");
  const first = await request(server, "GET", `/api/v1/tickets/${await token(page)}`);
  assert.equal(first.body.ticket.priority, "elderly");
  await page.locator("#done-btn").tap();
  await page.waitForSelector("#screen-home:not([hidden])");
  assert.equal(await page.locator("#card-status").isHidden(), true, "home forgets the card");

  // The same card again: a second procedure of the same department is refused (1 per
  // department), another department is not (2 a day), a third ticket is refused.
  await scan(page, CARD);
  await until(async () => (await page.getAttribute("#card-status", "data-kind")) === "ok", "the card read");
  await take(page, "ho-tich", "ket-hon");
  await page.locator("#issue-btn").tap();
  await until(async () => !(await page.locator("#confirm-error").isHidden()), "the department limit");
  assert.match(await page.textContent("#confirm-error"), /Mỗi người chỉ được lấy 1 số cho mỗi lĩnh vực mỗi ngày/);
  await shot(page, "kiosk-cccd-limit");
  await page.keyboard.press("Escape");
  await page.waitForSelector("#screen-home:not([hidden])");
  await scan(page, CARD);
  await until(async () => (await page.getAttribute("#card-status", "data-kind")) === "ok", "the card read");
  await take(page, "chung-thuc", "chung-thuc-ban-sao");
  await page.locator("#issue-btn").tap();
  await page.waitForSelector("#screen-ticket:not([hidden])");
  await page.locator("#done-btn").tap();
  await page.waitForSelector("#screen-home:not([hidden])");
  await scan(page, CARD);
  await until(async () => (await page.getAttribute("#card-status", "data-kind")) === "ok", "the card read");
  await take(page, "dat-dai", "dang-ky-dat-lan-dau");
  await page.locator("#issue-btn").tap();
  await until(async () => !(await page.locator("#confirm-error").isHidden()), "the day's limit");
  assert.match(await page.textContent("#confirm-error"), /Mỗi người chỉ được lấy 2 số mỗi ngày/);
  // Without the card, the same citizen is a walk-in like any other.
  await page.keyboard.press("Escape");
  await page.waitForSelector("#screen-home:not([hidden])");
  await take(page, "dat-dai", "dang-ky-dat-lan-dau");
  await page.locator("#issue-btn").tap();
  await page.waitForSelector("#screen-ticket:not([hidden])");
  assert.deepEqual(errors, []);
  await context.close();
});

test("kiosk: a scan while the search field has the focus does not end up in the search", async () => {
  const { context, page, errors } = await openKiosk(browser, server);
  await page.locator("#search-open").tap();
  await page.waitForSelector("#screen-search:not([hidden])");
  for (const ch of "khai") await page.locator(`#keyboard .osk-key[data-key="${ch}"]`).tap();
  await page.locator("#search-input").focus();
  await scan(page, CARD);
  await until(async () => (await page.getAttribute("#card-status", "data-kind")) === "ok", "the card read");
  assert.equal(await page.inputValue("#search-input"), "khai");
  assert.ok((await page.locator("#search-results .svc").count()) > 0);
  assert.deepEqual(errors, []);
  await context.close();
});
