// Transfers on the phone (issue 11): a ticket sent from counter 1 to counter 2 shows, on the
// citizen's phone, its true place in counter 2's own line and a wait, and follows that line live.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, loginOfficial, request, shot, until, SITE } from "./harness.mjs";

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

let server;
let browser;

before(async () => {
  server = await startServer({ logName: "transfers" });
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

async function phonePage(ticket) {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(ticket.url.replace(/^https?:\/\/[^/]+/, server.base));
  await page.waitForSelector("body[data-live=live]");
  return { context, page, errors };
}

const text = (page, sel) => page.textContent(sel);

test("phone after a transfer to a counter: its place in that counter's line and a wait, live", async () => {
  const a1 = await issueAsKiosk("khai-sinh");
  const a2 = await issueAsKiosk("khai-sinh");
  await issueAsKiosk("khai-sinh");
  const one = await loginOfficial(server, { counters: ["quay-1"] });
  const two = await loginOfficial(server, { counters: ["quay-2"] });
  const q = (c, action) => `/api/v1/sites/${SITE}/counters/${c}/${action}`;
  const toTwo = { to: { kind: "counter", code: "quay-2" }, note: "" };

  // Counter 2 is closed: the transfer is refused and says so.
  await one.post(q("quay-1", "open"));
  assert.equal((await one.post(q("quay-1", "call-next"))).ticket.number, "A001");
  const refused = await request(server, "POST", q("quay-1", "transfer"), toTwo, one.cookie);
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  assert.equal(refused.body.code, "transfer_target_closed");
  assert.match(refused.body.message, /Quầy số 2 đang đóng/);

  const p1 = await phonePage(a1);
  await until(async () => (await text(p1.page, "#status-main")) === "Mời đến quầy 1", "A001 called at counter 1");

  // Counter 2 opens; A001 is sent there: next in its line, with a wait.
  await two.post(q("quay-2", "open"));
  await one.post(q("quay-1", "transfer"), toTwo);
  await until(async () => (await text(p1.page, "#status-main")) === "Ông/Bà là người tiếp theo", "A001 next at counter 2");
  // Its wait comes with the estimator's next pass (docs/protocol.md §8.7), which the page asks for.
  const moved = /^Ông\/Bà được chuyển sang Quầy 2, quầy sẽ gọi ông\/bà trước các số khác\. Dự kiến: .*phút$/;
  await until(async () => moved.test(await text(p1.page, "#status-sub")), "A001's wait at counter 2");
  assert.equal(await text(p1.page, "#fact-counters"), "Quầy 2");
  await shot(p1.page, "phone-transferred");

  // A002 follows: one person ahead of it at counter 2 (A001), not the service's line.
  assert.equal((await one.post(q("quay-1", "call-next"))).ticket.number, "A002");
  await one.post(q("quay-1", "transfer"), toTwo);
  const p2 = await phonePage(a2);
  await until(async () => (await text(p2.page, "#status-main")) === "Còn 1 người trước ông/bà", "A002 second at counter 2");

  // Counter 2 calls A001: A001's phone says so, A002's moves up by itself.
  assert.equal((await two.post(q("quay-2", "call-next"))).ticket.number, "A001");
  await until(async () => (await text(p1.page, "#status-main")) === "Mời đến quầy 2", "A001 called at counter 2");
  await until(async () => (await text(p2.page, "#status-main")) === "Ông/Bà là người tiếp theo", "A002 moved up");
  assert.deepEqual([...p1.errors, ...p2.errors], []);
  await p1.context.close();
  await p2.context.close();
});
