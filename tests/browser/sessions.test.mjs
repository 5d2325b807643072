// Session boundaries at the kiosk (issue 11): at 11:10, with a line at Civil status, the wait
// may run past the 11:30 lunch break. The kiosk says so before issuing ("Có thể đến buổi chiều
// (13:30) mới tới lượt"), in both languages, and the ticket on screen and on paper carries it.
// At 11:30 the server's own stats message closes the procedure on a kiosk nobody touches.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, loginOfficial, openKiosk, shot, until, SITE } from "./harness.mjs";

const WARNING_VI = "Có thể đến buổi chiều (13:30) mới tới lượt";
const WARNING_EN = "Your turn may not come before the afternoon session (13:30)";

let server;
let browser;

before(async () => {
  server = await startServer({ logName: "sessions", startClock: "2026-11-30T11:10:00+07:00" });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.cleanup();
});

async function issueAsKiosk(service) {
  const res = await fetch(`${server.base}/api/v1/sites/${SITE}/tickets`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.kioskToken}` },
    body: JSON.stringify({ service }),
  });
  const body = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));
  return body;
}

test("kiosk before lunch: the wait may run past 11:30, said before issuing and on the ticket", async () => {
  // One counter open and eight people waiting for a birth registration, twenty minutes before lunch.
  const staff = await loginOfficial(server, { counters: ["quay-1"] });
  await staff.post(`/api/v1/sites/${SITE}/counters/quay-1/open`);
  for (let i = 0; i < 8; i++) await issueAsKiosk("khai-sinh");

  const { context, page, errors } = await openKiosk(browser, server);
  await page.locator('.dept-tile[data-dept="ho-tich"]').tap();
  await page.waitForSelector("#screen-dept:not([hidden])");
  await page.locator('.svc[data-svc="khai-sinh"]').tap();
  await page.waitForSelector("#screen-confirm:not([hidden])");
  assert.equal(await page.textContent("#fact-ahead"), "8 người");

  // The live stats say the session ends at 11:30 and resumes at 13:30; eight people ahead at
  // one counter cannot be sure to be done in twenty minutes.
  const st = await page.evaluate(() => window.luotKiosk.live.state.services.get("khai-sinh"));
  assert.deepEqual(st.session, { ends: "11:30", resumes: "2026-11-30 13:30" }, JSON.stringify(st));
  await page.waitForSelector("#fact-session:not([hidden])");
  assert.equal(await page.textContent("#fact-session"), WARNING_VI);
  assert.ok(await page.locator("#issue-btn").isEnabled(), "still free to take a number");
  await shot(page, "kiosk-session-warning");

  // In English too, and back.
  await page.locator("#lang").tap();
  await until(async () => (await page.textContent("#fact-session")) === WARNING_EN, "the English warning");
  await page.locator("#lang").tap();
  await until(async () => (await page.textContent("#fact-session")) === WARNING_VI, "back in Vietnamese");

  // The ticket says it too: on screen, and on the paper the kiosk prints.
  await page.locator("#issue-btn").tap();
  await page.waitForSelector("#screen-ticket:not([hidden])");
  assert.equal(await page.textContent("#ticket-number"), "A009");
  await page.waitForSelector("#ticket-session:not([hidden])");
  assert.equal(await page.textContent("#ticket-session"), WARNING_VI);
  await until(() => page.evaluate(() => window.__printed > 0), "the ticket printed");
  const paper = await page.textContent("#print-ticket");
  assert.ok(paper.includes(WARNING_VI), paper);
  assert.ok(paper.includes(`${WARNING_EN}.`), paper);
  await shot(page, "kiosk-session-ticket");

  // The phone page of the ticket (its QR code) says the same.
  const token = (await page.locator("#ticket-qr").getAttribute("src")).match(/tickets\/([0-9a-f]+)\/qr\.svg/)[1];
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const pp = await phone.newPage();
  await pp.goto(`${server.base}/t/${token}`);
  await pp.waitForSelector("body[data-live=live]");
  await until(async () => (await pp.textContent("#status-sub")).endsWith(WARNING_VI), "the phone's warning");
  await phone.close();
  assert.deepEqual(errors, []);
  await context.close();
});

test("kiosk at 11:30: the confirm screen closes at the boundary, pushed by the server", async () => {
  // A server of its own whose clock starts at 11:29:20: time to open the page and choose a
  // procedure before lunch, even on a busy machine.
  const noon = await startServer({ logName: "sessions-lunch", startClock: "2026-11-30T11:29:20+07:00" });
  try {
    const { context, page, errors } = await openKiosk(browser, noon);
    await page.locator('.dept-tile[data-dept="ho-tich"]').tap();
    await page.waitForSelector("#screen-dept:not([hidden])");
    await page.locator('.svc[data-svc="khai-sinh"]').tap();
    await page.waitForSelector("#screen-confirm:not([hidden])");
    const before = await page.evaluate(() => window.luotKiosk.live.state.services.get("khai-sinh"));
    assert.equal(before.open, true, "still open before 11:30");
    assert.ok(await page.locator("#issue-btn").isEnabled());
    // No counter is open and less than an hour is left: the note is there already.
    assert.equal(await page.textContent("#fact-session"), WARNING_VI);

    // Nobody touches the kiosk; the server's stats message at 11:30 closes the procedure.
    await page.waitForSelector('#confirm-error[data-kind="closed"]:not([hidden])', { timeout: 60_000 });
    const lagMs = Date.parse(noon.clockNow()) - Date.parse("2026-11-30T11:30:00+07:00");
    console.log(`kiosk closed ${lagMs} ms after 11:30:00 (server clock, seen by the test)`);
    assert.equal(await page.textContent("#confirm-error"), "Ngoài giờ tiếp nhận · Mở lại lúc 13:30 hôm nay");
    assert.ok(await page.locator("#issue-btn").isDisabled(), "no number after 11:30");
    assert.ok(await page.locator("#fact-session").isHidden(), "no session to speak of at lunch");
    await shot(page, "kiosk-lunch-closed");
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    await noon.cleanup();
  }
});
