// A number taken from home (issue #15 item 1), in headless Chromium against the real server: a
// citizen on a phone takes a number for "Chứng thực bản sao" at /lay-so, lands on the ticket's own
// page with its QR code and "not checked in yet"; the counter's console marks it away and "call
// next" passes it over for a citizen in the hall; at the kiosk, a wrong 4 digits are refused and
// the right ones check it in, and the phone page drops the check-in box by itself; the console
// then calls it. Screenshots: remote-*.png.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, loginOfficial, openKiosk, request, shot, until, SITE } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer({ logName: "remote" });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.cleanup();
});

const PHONE = { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true };

test("from a phone: take a number for a certified copy, check in at the kiosk, be called", async () => {
  // The phone at home.
  const phoneCtx = await browser.newContext(PHONE);
  const phone = await phoneCtx.newPage();
  const errors = [];
  phone.on("pageerror", (e) => errors.push(e.message));
  await phone.goto(`${server.base}/lay-so`);
  await phone.waitForSelector('#services button[data-service="chung-thuc-ban-sao"]');
  await phone.fill("#search", "chung thuc ban sao");
  const btn = phone.locator('#services button[data-service="chung-thuc-ban-sao"]');
  await until(async () => (await btn.count()) === 1, "the search finds the procedure");
  assert.match(await btn.innerText(), /Chứng thực bản sao từ bản chính/);
  assert.match(await btn.innerText(), /còn 250 số lấy trực tuyến hôm nay/, "500 a day, half kept for the hall");
  await shot(phone, "remote-lay-so-list");
  await btn.tap();
  // A number that is not a mobile number is refused on the page, before the server.
  await phone.fill("#phone", "12345");
  await phone.locator("#submit").tap();
  assert.match(await phone.locator("#error").innerText(), /10 chữ số/);
  await phone.fill("#phone", "0912 345 678");
  await shot(phone, "remote-lay-so-form");
  await phone.locator("#submit").tap();
  await phone.waitForURL(/\/t\/[0-9a-f]{32}$/);
  const token = phone.url().split("/t/")[1];
  await phone.waitForSelector("#away:not([hidden])");
  assert.equal(await phone.locator("#number").innerText(), "B001");
  assert.match(await phone.locator("#away-how").innerText(), /nhập số B001 và 4 số cuối điện thoại/);
  const qr = await phone.locator("#away-qr").getAttribute("src");
  assert.equal(qr, `/api/v1/tickets/${token}/qr.svg`);
  assert.equal((await request(server, "GET", qr)).status, 200, "the QR code is served");
  await shot(phone, "remote-phone-away", { fullPage: true });

  // A citizen in the hall takes B002; the console marks B001 away, and "next" calls B002.
  const walkIn = await fetch(`${server.base}/api/v1/sites/${SITE}/tickets`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.kioskToken}` },
    body: JSON.stringify({ service: "chung-thuc-ban-sao" }),
  });
  assert.equal(walkIn.status, 201);
  const consoleCtx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const official = await loginOfficial(server, { counters: ["quay-3"], context: consoleCtx });
  const desk = await consoleCtx.newPage();
  await desk.goto(`${server.base}/counter?counter=quay-3`);
  await official.post(`/api/v1/sites/${SITE}/counters/quay-3/open`);
  const awayRow = desk.locator('#waiting tr[data-number="B001"]');
  await until(async () => (await awayRow.count()) === 1, "B001 in the console's list");
  assert.match(await awayRow.innerText(), /chưa có mặt/);
  assert.equal(await awayRow.locator(".c-checkin").count(), 1, "the official can check it in");
  await shot(desk, "remote-console-away");
  const called = await official.post(`/api/v1/sites/${SITE}/counters/quay-3/call-next`);
  assert.equal(called.ticket.number, "B002", "next passes over the number not in the hall");

  // The phone is told its turn came and until when its place is kept.
  await until(async () => /giữ chỗ/.test(await phone.locator("#away-when").innerText()), "the hold on the phone");

  // At the kiosk: wrong last 4 digits, then the right ones.
  const { page: kiosk } = await openKiosk(browser, server);
  await kiosk.locator("#checkin-open").tap();
  await kiosk.waitForSelector("#screen-checkin:not([hidden])");
  for (const k of ["B", "0", "0", "1"]) await kiosk.locator(`[data-checkin-key="${k}"]`).tap();
  await kiosk.locator("#checkin-last4").dispatchEvent("pointerdown");
  for (const k of ["0", "0", "0", "0"]) await kiosk.locator(`[data-checkin-key="${k}"]`).tap();
  await kiosk.locator("#checkin-btn").tap();
  await kiosk.waitForSelector("#checkin-error:not([hidden])");
  assert.match(await kiosk.locator("#checkin-error").innerText(), /Không tìm thấy số lấy trực tuyến khớp/);
  for (let i = 0; i < 4; i++) await kiosk.locator('[data-checkin-key="⌫"]').tap();
  for (const k of ["5", "6", "7", "8"]) await kiosk.locator(`[data-checkin-key="${k}"]`).tap();
  await kiosk.locator("#checkin-btn").tap();
  await kiosk.waitForSelector("#checkin-done:not([hidden])");
  const done = await kiosk.locator("#checkin-done").innerText();
  assert.match(done, /Đã xác nhận có mặt: số B001\. Ông\/Bà giữ nguyên chỗ trong hàng\. Ông\/Bà là người tiếp theo\./);
  await shot(kiosk, "remote-kiosk-checked-in");

  // The phone drops the check-in box by itself; the console's badge goes; B001 is called next.
  await until(async () => await phone.locator("#away").isHidden(), "the phone page sees the check-in");
  await until(async () => (await awayRow.locator(".c-badge-away").count()) === 0, "the console sees the check-in");
  await official.post(`/api/v1/sites/${SITE}/counters/quay-3/complete`);
  const next = await official.post(`/api/v1/sites/${SITE}/counters/quay-3/call-next`);
  assert.equal(next.ticket.number, "B001");
  await until(async () => /Mời đến quầy 3/.test(await phone.locator("#status-main").innerText()), "the call on the phone");
  await shot(phone, "remote-phone-called");
  assert.deepEqual(errors, []);
});
