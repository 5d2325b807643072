// An official closes the console's browser with a ticket called: after the site's
// console_absent_s (15 s here) the server pauses the counter as "Cán bộ vắng mặt", the called
// ticket waits again at the front, the hall display stops inviting anyone to that counter, and the
// official, back at the console, sees why and resumes with F9.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startServer, launchBrowser, loginOfficial, request, shot, until, ROOT, SITE } from "./harness.mjs";

let server;
let browser;

before(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "luot-absent-"));
  const file = path.join(dir, "center.toml");
  const toml = readFileSync(path.join(ROOT, "config/default.toml"), "utf8");
  assert.ok(toml.includes("console_absent_s = 120"));
  writeFileSync(file, toml.replace("console_absent_s = 120", "console_absent_s = 15"));
  server = await startServer({ args: ["--config", file] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function snapshot() {
  return (await request(server, "GET", `/api/v1/sites/${SITE}/snapshot`)).body.snapshot;
}

test("a console closed with a ticket called: the counter is paused as 'Cán bộ vắng mặt', the ticket waits first again, F9 resumes", async () => {
  for (let i = 0; i < 2; i++) {
    const r = await fetch(`${server.base}/api/v1/sites/${SITE}/tickets`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${server.kioskToken}` },
      body: JSON.stringify({ service: "khai-sinh" }),
    });
    assert.equal(r.status, 201);
  }
  const first = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const official = await loginOfficial(server, { counters: ["quay-1"], context: first });
  const page = await first.newPage();
  await page.goto(`${server.base}/counter?counter=quay-1`);
  await until(async () => (await page.locator("#counter-status").innerText()) === "Đang mở", "counter open");
  await page.keyboard.press("F1");
  await until(async () => (await page.locator("#cur-number").innerText()) === "A001", "A001 called");

  const hall = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  await hall.goto(`${server.base}/display?device=${server.displayToken}`);

  // The browser is closed.
  await first.close();
  await until(async () => (await snapshot()).counters.find((c) => c.code === "quay-1").status === "paused", "quay-1 paused", 45_000);
  const snap = await snapshot();
  const q1 = snap.counters.find((c) => c.code === "quay-1");
  assert.equal(q1.pause_reason, "Cán bộ vắng mặt");
  assert.equal(q1.current, undefined);
  assert.equal(snap.waiting[0].number, "A001", "A001 waits first again");

  // Back at the console: the reason is shown, F9 resumes.
  const again = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const [name, value] = official.cookie.split("=");
  await again.addCookies([{ name, value, url: server.base, httpOnly: true, sameSite: "Strict" }]);
  const back = await again.newPage();
  await back.goto(`${server.base}/counter?counter=quay-1`);
  await until(async () => (await back.locator("#counter-status").innerText()) === "Tạm dừng", "console shows the pause");
  assert.match(await back.locator("#paused-reason").innerText(), /Cán bộ vắng mặt/);
  await shot(back, "counter-absent-paused");
  // The hall display invites nobody to quay-1 any more, and says why on its tile, in full.
  await until(async () => (await hall.locator("#hero-ticket").innerText()) === "—", "the hall display no longer invites A001 to quay-1");
  const tile = hall.locator('.h-tile[data-status="paused"] .h-tile-state');
  await until(async () => /Cán bộ vắng mặt/.test(await tile.innerText()), "the tile gives the reason");
  assert.ok(await tile.evaluate((e) => e.scrollWidth <= e.clientWidth + 1 && e.scrollHeight <= e.clientHeight + 1), "the reason is not cut");
  await shot(hall, "display-absent-paused");
  await back.keyboard.press("F9");
  await until(async () => (await back.locator("#counter-status").innerText()) === "Đang mở", "resumed");
  await back.keyboard.press("F1");
  await until(async () => (await back.locator("#cur-number").innerText()) === "A001", "A001 called again");
  await again.close();
});
