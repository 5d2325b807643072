// The floor page (/admin#floor) for a manager, live over the websocket: a ticket issued at the
// kiosk and called at a counter show up without a reload; stopping a procedure from the page
// makes the kiosk refuse it with the reason; a forced close from the page reaches the official's
// open console. Screenshots at 1366×768 and 1920×1080.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, loginOfficial, request, shot, until, SITE } from "./harness.mjs";

let server;
let browser;
let official; // at quay-1
let manager;

before(async () => {
  server = await startServer({ logName: "floor" });
  browser = await launchBrowser();
  official = await loginOfficial(server, { counters: ["quay-1"] });
  manager = await loginOfficial(server, { role: "manager", counters: [] });
});

after(async () => {
  await browser?.close();
  await server?.cleanup();
});

async function issue(service = "khai-sinh") {
  const r = await fetch(`${server.base}/api/v1/sites/${SITE}/tickets`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.kioskToken}` },
    body: JSON.stringify({ service }),
  });
  return { status: r.status, body: await r.json() };
}

async function asUser(user, viewport) {
  const context = await browser.newContext({ viewport });
  const [name, value] = user.cookie.split("=");
  await context.addCookies([{ name, value, url: server.base, httpOnly: true, sameSite: "Strict" }]);
  return context;
}

const row = (page, attr, code) => page.locator(`tr[data-${attr}="${code}"]`);
const cell = (page, attr, code, i) => row(page, attr, code).locator("td").nth(i);

test("the floor page follows the hall live, stops a procedure for the kiosk, and its forced close reaches the console", async () => {
  // The official's console, open at quay-1.
  const consoleCtx = await asUser(official, { width: 1366, height: 768 });
  const consolePage = await consoleCtx.newPage();
  await consolePage.goto(`${server.base}/counter?counter=quay-1`);
  await until(async () => (await consolePage.locator("#counter-status").innerText()) === "Đang mở", "counter open");

  const floorCtx = await asUser(manager, { width: 1366, height: 768 });
  const floor = await floorCtx.newPage();
  await floor.goto(`${server.base}/admin#floor`);
  await until(() => floor.evaluate(() => window.luotAdmin?.screen === "floor" && window.luotFloor?.status === "live"), "floor live");
  await until(async () => (await cell(floor, "counter", "quay-1", 0).innerText()).includes("Đang mở"), "quay-1 shown open");
  await until(async () => /^Cán bộ \d+$/.test(await cell(floor, "counter", "quay-1", 1).innerText()), "the official by display name, not login");
  assert.equal(await cell(floor, "service", "khai-sinh", 0).innerText(), "0", "nobody waiting yet");

  // A ticket at the kiosk: counted live, with its wait.
  const a = await issue();
  assert.equal(a.status, 201, JSON.stringify(a.body));
  await until(async () => (await cell(floor, "service", "khai-sinh", 0).innerText()) === "1", "the new ticket counted without a reload");
  assert.match(await cell(floor, "service", "khai-sinh", 3).innerText(), /^1 \/ \d+/, "issued / cap");

  // Called at quay-1: the counter row shows it, and nobody waits any more.
  await consolePage.keyboard.press("F1");
  await until(async () => /A001 · đang mời/.test(await cell(floor, "counter", "quay-1", 2).innerText()), "the call shows on the floor");
  await until(async () => (await cell(floor, "service", "khai-sinh", 0).innerText()) === "0", "waiting back to 0");
  await consolePage.keyboard.press("F4");
  await until(async () => (await cell(floor, "counter", "quay-1", 3).innerText()) === "1", "served today: 1");
  await until(async () => /giây|phút/.test(await cell(floor, "counter", "quay-1", 4).innerText()), "idle time shown");

  // More citizens waiting, so the screenshots show a working morning.
  for (let i = 0; i < 3; i++) assert.equal((await issue("ket-hon")).status, 201);
  await shot(floor, "floor-1366");

  // Stop issuing khai-sinh from the page, with a reason: the kiosk refuses it, saying why.
  await row(floor, "service", "khai-sinh").getByRole("button", { name: /Ngừng cấp số/ }).click();
  await floor.locator("#f-dlg-ok").click();
  assert.match(await floor.locator("#f-dlg-error").innerText(), /Cần nhập lý do/, "a reason is required");
  await floor.locator("#f-dlg-reason").fill("Mất kết nối cơ sở dữ liệu hộ tịch");
  await floor.locator("#f-dlg-ok").click();
  await until(async () => /Ngừng cấp số/.test(await cell(floor, "service", "khai-sinh", 4).innerText()), "shown stopped");
  const refused = await issue();
  assert.equal(refused.status, 409);
  assert.equal(refused.body.code, "service_paused");
  assert.match(refused.body.message, /Mất kết nối cơ sở dữ liệu hộ tịch/);
  const kiosk = await browser.newPage({ viewport: { width: 1080, height: 1920 } });
  await kiosk.goto(`${server.base}/kiosk?device=${server.kioskToken}`);
  await until(() => kiosk.evaluate(() => window.luotKiosk?.live?.status === "live"), "kiosk live");
  const stats = await kiosk.evaluate(() => window.luotKiosk.live.state.services.get("khai-sinh"));
  assert.equal(stats.closed_reason, "service_paused");
  assert.equal(stats.paused_reason, "Mất kết nối cơ sở dữ liệu hộ tịch");
  await kiosk.close();

  // Raise today's cap of ket-hon.
  await row(floor, "service", "ket-hon").getByRole("button", { name: /Nâng số tối đa/ }).click();
  await floor.locator("#f-dlg-cap").fill("3");
  await floor.locator("#f-dlg-ok").click();
  assert.match(await floor.locator("#f-dlg-error").innerText(), /lớn hơn/, "not higher than the cap: refused in the page");
  await floor.locator("#f-dlg-cap").fill("700");
  await floor.locator("#f-dlg-ok").click();
  await until(async () => /\/ 700/.test(await cell(floor, "service", "ket-hon", 3).innerText()), "the new cap shown");

  // Resume it: the kiosk issues again.
  await row(floor, "service", "khai-sinh").getByRole("button", { name: /Cấp số lại/ }).click();
  await floor.locator("#f-dlg-ok").click();
  await until(async () => /Đang cấp số/.test(await cell(floor, "service", "khai-sinh", 4).innerText()), "shown issuing");
  assert.equal((await issue()).status, 201);

  // A forced close from the floor page reaches the console, which is open on quay-1.
  await row(floor, "counter", "quay-1").getByRole("button", { name: /Đóng/ }).click();
  await floor.locator("#f-dlg-ok").click();
  await until(async () => (await cell(floor, "counter", "quay-1", 0).innerText()).includes("Đóng"), "floor shows quay-1 closed");
  await until(async () => (await consolePage.locator("#counter-status").innerText()) === "Đóng", "the console sees the close");
  await shot(consolePage, "floor-console-closed");

  // Each action is in the audit log, with who and from where.
  const audit = await manager.get("/api/v1/admin/audit?page_size=50");
  const mine = audit.entries.filter((e) => e.actor === manager.login).map((e) => e.action);
  for (const a of ["counter_force_close", "service_resume", "daily_cap_raise", "service_pause"]) assert.ok(mine.includes(a), `${a} audited: ${mine}`);

  // The same page on a hall PC's 1920×1080 screen, and in English.
  await floor.setViewportSize({ width: 1920, height: 1080 });
  await shot(floor, "floor-1920");
  await floor.locator("#lang").click();
  await until(async () => (await floor.locator("#f-counters-title").innerText()) === "Counters", "English");
  await shot(floor, "floor-1366-en", { fullPage: false });
  await floorCtx.close();
  await consoleCtx.close();
});

test("an official opening /admin#floor is told they have no access", async () => {
  const ctx = await asUser(official, { width: 1366, height: 768 });
  const page = await ctx.newPage();
  await page.goto(`${server.base}/admin#floor`);
  await until(() => page.evaluate(() => window.luotAdmin?.screen === "denied"), "denied");
  assert.equal(await page.locator("#screen-floor").isHidden(), true);
  const r = await request(server, "POST", `/api/v1/sites/${SITE}/commands`, { type: "pause_service", service: "khai-sinh", reason: "thử" }, official.cookie);
  assert.equal(r.status, 403);
  await ctx.close();
});

test("an official whose account was made after the floor page opened is shown by name, not login", async () => {
  const floorCtx = await asUser(manager, { width: 1366, height: 768 });
  const floor = await floorCtx.newPage();
  await floor.goto(`${server.base}/admin#floor`);
  await until(() => floor.evaluate(() => window.luotAdmin?.screen === "floor" && window.luotFloor?.status === "live"), "floor live");
  const late = await loginOfficial(server, { counters: ["quay-2"], name: "can-bo-muon" });
  await late.post(`/api/v1/sites/${SITE}/counters/quay-2/open`);
  await until(async () => /^Cán bộ \d+$/.test(await cell(floor, "counter", "quay-2", 1).innerText()), "the late official by display name");
  await late.post(`/api/v1/sites/${SITE}/counters/quay-2/close`);
  await floorCtx.close();
});
