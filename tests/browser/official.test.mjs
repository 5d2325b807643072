// The counter console in headless Chromium against the real server: an official logs in through
// the form, opens a counter, calls, recalls, starts, completes, marks a no-show and takes it
// back, transfers (dialog), calls a number, cancels, pauses and closes; errors are shown; two
// officials calling at the same moment get different tickets; a lost connection locks the
// actions and the console resyncs when the server is back.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, login, loginOfficial, request, shot, until, SITE } from "./harness.mjs";

let server;
let browser;

/** Kiosk tickets through REST with the kiosk's device token. */
async function issue(service, extra = {}) {
  const res = await fetch(`${server.base}/api/v1/sites/${SITE}/tickets`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.kioskToken}` },
    body: JSON.stringify({ service, ...extra }),
  });
  const body = await res.json();
  assert.ok(res.ok, `issue ${service}: ${JSON.stringify(body)}`);
  return body.ticket.number;
}

async function snapshot() {
  return (await request(server, "GET", `/api/v1/sites/${SITE}/snapshot`)).body.snapshot;
}

async function ticketState(number) {
  const snap = await snapshot();
  const w = snap.waiting.find((t) => t.number === number);
  if (w) return w;
  for (const c of snap.counters) if (c.current?.number === number) return c.current;
  return null;
}

/** A console page logged in as a new official (session cookie), at /counter[?counter=…]. */
async function consolePage({ counters = ["quay-1"], open, viewport = { width: 1600, height: 900 } } = {}) {
  const context = await browser.newContext({ viewport });
  const official = await loginOfficial(server, { counters, context });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${server.base}/counter${open ? `?counter=${open}` : ""}`);
  return { page, context, official, errors };
}

const text = (page, sel) => page.locator(sel).innerText();
const current = (page) => text(page, "#cur-number");
/** The reply to a command can come before its event: wait for the screen to catch up. */
const expectCurrent = (page, n) => until(async () => (await current(page)) === n, `current ticket ${n}`, 5000);
const expectText = (page, sel, re) => until(async () => re.test(await text(page, sel)), `${sel} ~ ${re}`, 5000);
const lastResult = (page) => page.evaluate(() => window.luotConsole.results.at(-1));

async function press(page, key) {
  const before = await page.evaluate(() => window.luotConsole.results.length);
  await page.keyboard.press(key);
  await until(() => page.evaluate((n) => window.luotConsole.results.length > n && !window.luotConsole.busy, before), `reply to ${key}`);
  return lastResult(page);
}

before(async () => {
  server = await startServer({ logName: "official", args: ["--issue-rate", "200", "--issue-burst", "200"] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop(); // the restarted server, if the reconnect test restarted it
  await server?.cleanup();
});

test("an official logs in through the form, opens a counter and serves the queue with the keyboard", async () => {
  const numbers = [];
  for (const s of ["khai-sinh", "ket-hon", "khai-tu", "khai-sinh", "khai-sinh"]) numbers.push(await issue(s));
  const prio = await issue("khai-sinh", { priority: "elderly" });

  const context = await browser.newContext({ viewport: { width: 1600, height: 900 } });
  const official = await loginOfficial(server, { counters: ["quay-1", "quay-2"] });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${server.base}/counter`);

  // A wrong password: the server's message, in Vietnamese.
  await page.locator("#login-form").waitFor();
  await page.fill("#login-name", official.login);
  await page.fill("#login-password", "wrong-password-123");
  await page.click("#login-submit");
  await until(async () => (await text(page, "#login-error")).includes("Sai tên đăng nhập hoặc mật khẩu"), "login error");
  await shot(page, "counter-login-error");

  await page.fill("#login-password", official.password);
  await page.click("#login-submit");
  // Both assigned counters, and only those.
  await page.locator('[data-counter="quay-1"]').waitFor();
  assert.deepEqual(await page.locator(".c-counter-choice").evaluateAll((bs) => bs.map((b) => b.dataset.counter)), ["quay-1", "quay-2"]);
  await until(() => page.locator('[data-counter="quay-1"]').isEnabled(), "socket live");
  await page.click('[data-counter="quay-1"]');
  await until(async () => (await text(page, "#counter-status")) === "Đang mở", "counter open");
  await until(async () => (await page.locator("#waiting tr").count()) === numbers.length + 1, "waiting list");
  assert.equal((await snapshot()).counters.find((c) => c.code === "quay-1").official, official.login);
  // The waiting list: number, service, waited, priority.
  const prioRow = page.locator(`#waiting tr[data-number="${prio}"]`);
  assert.match(await prioRow.innerText(), /Người cao tuổi/);
  assert.match(await text(page, "#services"), /Đăng ký khai sinh\s+4/);
  await page.mouse.move(0, 0);
  await shot(page, "counter-idle");

  // F1: the first ticket, and why it was next.
  let r = await press(page, "F1");
  assert.equal(r.ok, true, JSON.stringify(r));
  const first = r.ticket;
  await expectCurrent(page, first);
  assert.ok(numbers.includes(first) || first === prio);
  assert.notEqual(await text(page, "#cur-reason"), "–");
  await expectText(page, "#cur-state", /Đang mời/);
  await expectText(page, "#result", new RegExp(`Đã gọi số ${first}`));
  // The timer runs.
  const t0 = await text(page, "#cur-timer");
  await until(async () => (await text(page, "#cur-timer")) !== t0, "timer ticks", 3000);

  // F2 recall, F3 start, F4 complete.
  r = await press(page, "F2");
  assert.equal(r.ok, true);
  await expectText(page, "#cur-extra", /Đã gọi lại 1 lần/);
  r = await press(page, "F3");
  assert.equal(r.ok, true);
  await expectText(page, "#cur-state", /Đang phục vụ/);
  await shot(page, "counter-serving");
  r = await press(page, "F4");
  assert.equal(r.ok, true);
  await expectCurrent(page, "—");
  await until(async () => (await text(page, "#fig-served")) === "1", "served today = 1");
  assert.notEqual(await text(page, "#fig-avg"), "–");
  assert.equal((await ticketState(first)), null, "completed ticket left the queue");

  // Space (focus on nothing) calls the next one; F6 no-show; it comes back from the list.
  await page.evaluate(() => document.activeElement?.blur());
  r = await press(page, " ");
  assert.equal(r.type, "call_next");
  const absent = r.ticket;
  r = await press(page, "F6");
  assert.equal(r.ok, true);
  await page.locator("#noshows li").first().waitFor();
  assert.match(await text(page, "#noshows"), new RegExp(absent));
  // The list comes from the server: it is still there after a reload (or logging in again).
  await page.reload();
  await page.locator(`#noshows button[aria-label$="${absent}"]`).waitFor({ timeout: 15_000 });
  await until(() => page.evaluate(() => window.luotConsole.status === "live"), "console live again");
  await page.click(`#noshows button[aria-label$="${absent}"]`);
  await until(async () => (await ticketState(absent))?.state === "waiting", "returned to waiting");
  await until(() => page.locator(`#waiting tr[data-number="${absent}"]`).count(), "back in the list");

  // F7: transfer to counter 2 with a note.
  r = await press(page, "F1");
  const moved = r.ticket;
  await page.keyboard.press("F7");
  await page.locator("#dlg-transfer[open]").waitFor();
  assert.equal(await text(page, "#transfer-number"), moved);
  await page.check('#transfer-form input[value="counter"]');
  // Counter 2 is closed: listed but not offered, and the dialog says why (a transfer there is
  // refused with transfer_target_closed). Another official opens it; the dialog follows.
  const q2 = page.locator('#transfer-counter option[value="quay-2"]');
  assert.equal(await q2.isDisabled(), true, "a closed counter cannot be chosen");
  assert.match(await text(page, "#transfer-counter-field"), /Chỉ chuyển được đến quầy đang mở/);
  const colleague = await loginOfficial(server, { counters: ["quay-2"] });
  await colleague.post(`/api/v1/sites/${SITE}/counters/quay-2/open`);
  await until(async () => !(await q2.isDisabled()), "counter 2 offered once open");
  await page.selectOption("#transfer-counter", "quay-2");
  await page.fill("#transfer-note", "Cần bổ sung giấy khai sinh bản gốc");
  await shot(page, "counter-transfer-dialog");
  await page.click("#transfer-ok");
  await page.locator("#dlg-transfer").waitFor({ state: "hidden" });
  assert.equal((await lastResult(page)).type, "transfer");
  const movedView = await ticketState(moved);
  assert.equal(movedView.state, "waiting");
  assert.equal(movedView.target_counter, "quay-2");
  await expectCurrent(page, "—");
  // Not in this counter's list any more (it waits for counter 2 only).
  await until(async () => (await page.locator(`#waiting tr[data-number="${moved}"]`).count()) === 0, "transferred away");

  // F8: call a specific number (a priority ticket issued just now), with its category shown.
  const prio2 = await issue("ket-hon", { priority: "elderly" });
  await until(() => page.locator(`#waiting tr[data-number="${prio2}"]`).count(), "new ticket listed");
  await page.keyboard.press("F8");
  await page.locator("#dlg-callnum[open]").waitFor();
  await page.fill("#callnum-number", prio2.toLowerCase());
  await page.keyboard.press("Enter");
  await page.locator("#dlg-callnum").waitFor({ state: "hidden" });
  await expectCurrent(page, prio2);
  await expectText(page, "#cur-reason", /Gọi theo số/);
  assert.equal(await page.locator("#cur-priority-row").isVisible(), true);
  await expectText(page, "#cur-priority", /Người cao tuổi/);
  await press(page, "F4");

  // Cancel a waiting ticket from the list (with a confirmation).
  const victim = numbers.at(-1);
  await page.click(`#waiting tr[data-number="${victim}"] .c-cancel`);
  await page.locator("#dlg-confirm[open]").waitFor();
  await page.click("#confirm-ok");
  await until(async () => (await ticketState(victim)) === null, "cancelled");
  await until(async () => (await page.locator(`#waiting tr[data-number="${victim}"]`).count()) === 0, "cancelled row gone");

  // F9 pause with a reason, F9 again resumes.
  await page.keyboard.press("F9");
  await page.locator("#dlg-pause[open]").waitFor();
  await page.fill("#pause-text", "Họp giao ban");
  await page.click('#pause-form button[type="submit"]');
  await until(async () => (await text(page, "#counter-status")) === "Tạm dừng", "paused");
  assert.equal((await snapshot()).counters.find((c) => c.code === "quay-1").pause_reason, "Họp giao ban");
  assert.equal(await page.locator("#btn-next").isDisabled(), true);
  r = await press(page, "F9");
  assert.equal(r.type, "resume_counter");
  await until(async () => (await text(page, "#counter-status")) === "Đang mở", "resumed");

  // English switch.
  await page.click("#lang");
  await until(async () => (await text(page, "#btn-next")).includes("Call next"), "English");
  await page.click("#lang");

  // Close the counter: back to the chooser.
  await page.click("#btn-close");
  await page.locator("#dlg-confirm[open]").waitFor();
  await page.click("#confirm-ok");
  await page.locator("#screen-choose").waitFor();
  assert.equal((await snapshot()).counters.find((c) => c.code === "quay-1").status, "closed");
  assert.deepEqual(errors, []);
  await context.close();
});

test("refusals are shown with the server's message; an already open counter is taken over quietly", async () => {
  const { page, context, official } = await consolePage({ counters: ["quay-8"], open: "quay-8" });
  await until(async () => (await text(page, "#counter-status")) === "Đang mở", "counter open");
  // Nobody waits for counter 8: the server says so, in Vietnamese, as a sentence (the code only
  // as the tooltip, for support).
  let r = await press(page, "F1");
  assert.equal(r.ok, false);
  assert.equal(r.code, "queue_empty");
  assert.match(await text(page, "#result[data-kind=error]"), /Không còn ai chờ/);
  assert.doesNotMatch(await text(page, "#result[data-kind=error]"), /queue_empty/);
  assert.equal(await page.locator("#result").getAttribute("title"), "queue_empty");
  // A number that does not exist: the error stays in the dialog.
  await page.keyboard.press("F8");
  await page.fill("#callnum-number", "G999");
  await page.keyboard.press("Enter");
  await until(async () => (await page.locator("#callnum-error").isVisible()) && (await text(page, "#callnum-error")).length > 0, "dialog error");
  assert.match(await text(page, "#callnum-error"), /Không tìm thấy số thứ tự/);
  await page.keyboard.press("Escape");
  // A reload finds the counter open by this official: no error, straight back to work.
  await page.reload();
  await until(async () => (await text(page, "#counter-status")) === "Đang mở", "still open");
  assert.equal(await page.locator("#result[data-kind=error]").count(), 0);
  assert.equal((await snapshot()).counters.find((c) => c.code === "quay-8").official, official.login);
  await official.post(`/api/v1/sites/${SITE}/counters/quay-8/close`);
  await context.close();
});

test("two officials calling at the same moment get different tickets", async () => {
  for (let i = 0; i < 4; i++) await issue("chung-thuc-ban-sao");
  // Counter 3 (chứng thực) and counter 10 (priority counter, every department) share the queue.
  const a = await consolePage({ counters: ["quay-3"], open: "quay-3" });
  const b = await consolePage({ counters: ["quay-10"], open: "quay-10" });
  for (const c of [a, b]) await until(async () => (await text(c.page, "#counter-status")) === "Đang mở", "open");
  await Promise.all([a.page.keyboard.press("F1"), b.page.keyboard.press("F1")]);
  await until(async () => (await current(a.page)) !== "—" && (await current(b.page)) !== "—", "both called");
  const [na, nb] = [await current(a.page), await current(b.page)];
  assert.notEqual(na, nb);
  const snap = await snapshot();
  assert.equal(snap.counters.find((c) => c.code === "quay-3").current.number, na);
  assert.equal(snap.counters.find((c) => c.code === "quay-10").current.number, nb);
  for (const c of [a, b]) await c.context.close();
});

test("a lost connection locks the actions with a banner; the console resyncs when the server is back", async () => {
  const svc = "thanh-lap-hkd"; // counter 6: kinh tế – hộ kinh doanh
  const { page, context, official } = await consolePage({ counters: ["quay-6"], open: "quay-6" });
  await until(async () => (await text(page, "#counter-status")) === "Đang mở", "open");
  await issue(svc);
  await until(async () => (await page.locator("#waiting tr").count()) >= 1, "a ticket waits");
  assert.equal(await page.locator("#btn-next").isEnabled(), true);

  server = await (async () => {
    await server.kill();
    await until(async () => (await page.locator("#banner").isVisible()) && (await text(page, "#banner")).includes("Mất kết nối"), "banner");
    assert.equal(await page.locator("#btn-next").isDisabled(), true);
    assert.equal(await page.locator("#btn-callnum").isDisabled(), true);
    await shot(page, "counter-disconnected");
    return server.restart();
  })();
  // Something happens at once after the restart: the console must show it after resyncing.
  const extra = await issue(svc);
  await until(async () => (await page.locator("#banner").isHidden()) && (await page.locator("#btn-next").isEnabled()), "live again", 20_000);
  await until(() => page.locator(`#waiting tr[data-number="${extra}"]`).count(), "resynced list", 5000);
  const r = await press(page, "F1");
  assert.equal(r.ok, true);
  await official.post(`/api/v1/sites/${SITE}/counters/quay-6/complete`);
  await context.close();
});

test("the official attaches the dossier code to the current and the just-completed ticket; bad codes are explained in both languages", async () => {
  const { page, context, official, errors } = await consolePage({ counters: ["quay-1"], open: "quay-1" });
  await until(async () => (await text(page, "#counter-status")) === "Đang mở", "counter open");
  assert.equal(await page.locator("#dossier-form").isVisible(), false, "no field without a ticket");
  const res = await fetch(`${server.base}/api/v1/sites/${SITE}/tickets`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.kioskToken}` },
    body: JSON.stringify({ service: "khai-sinh" }),
  });
  const issued = await res.json();
  const n = issued.ticket.number;
  await official.post(`/api/v1/sites/${SITE}/counters/quay-1/call`, { number: n });
  await expectCurrent(page, n);
  await until(() => page.locator("#dossier-form").isVisible(), "dossier field");
  assert.equal(await text(page, "#dossier-number"), n);

  // Refused on the page, before anything is sent, with what is allowed.
  const sent = () => page.evaluate(() => window.luotConsole.results.length);
  const before = await sent();
  for (const bad of ["mã hồ sơ 1", "H26;0001", "9".repeat(41)]) {
    await page.fill("#dossier-input", bad);
    await page.click("#dossier-save");
    await until(() => page.locator("#dossier-error").isVisible(), `error for ${bad}`);
    assert.match(await text(page, "#dossier-error"), /chỉ gồm chữ không dấu, chữ số và \. - \/ _ .*tối đa 40 ký tự/);
  }
  assert.equal(await sent(), before, "nothing was sent");

  await page.fill("#dossier-input", "000.00.28.H26-261130-0001");
  await page.keyboard.press("Enter");
  await expectText(page, "#dossier-saved", new RegExp(`Đã gắn mã hồ sơ 000\\.00\\.28\\.H26-261130-0001 cho số ${n}`));
  assert.equal(await page.locator("#dossier-error").isVisible(), false);
  assert.equal((await lastResult(page)).type, "attach_dossier");
  await shot(page, "counter-dossier");

  // Completed: the field stays on that ticket so the code can still be corrected.
  const r = await press(page, "F4");
  assert.equal(r.ok, true, JSON.stringify(r));
  await until(async () => (await current(page)) === "—", "no current ticket");
  assert.equal(await text(page, "#dossier-number"), n);
  await page.fill("#dossier-input", " H26-0002 ");
  await page.click("#dossier-save");
  await expectText(page, "#dossier-saved", /H26-0002/);

  // In English the explanation is English.
  await page.click("#lang");
  await page.fill("#dossier-input", "hồ sơ");
  await page.click("#dossier-save");
  await expectText(page, "#dossier-error", /only unaccented letters, digits and \. - \/ _ \(no spaces\), at most 40 characters/);
  assert.equal(await text(page, "#dossier-save"), "Attach");

  // The citizen rates; the manager's report ties the rating to the corrected dossier.
  const rated = await request(server, "POST", `/api/v1/tickets/${issued.token}/rate`, { score: 1 });
  assert.equal(rated.status, 200, JSON.stringify(rated.body));
  const admin = await login(server, server.adminLogin || "admin", server.adminPassword);
  const report = await request(server, "GET", `/api/v1/sites/${SITE}/reports?from=2026-11-30&to=2026-11-30`, undefined, admin);
  const row = report.body.report.rated_tickets.find((t) => t.number === n);
  assert.equal(row?.dossier, "H26-0002", JSON.stringify(report.body.report.rated_tickets));
  assert.deepEqual(errors, []);
  await context.close();
});

test("on a 1366×768 counter screen every action is in view without scrolling", async () => {
  const { page, context, official } = await consolePage({ counters: ["quay-5"], open: "quay-5", viewport: { width: 1366, height: 768 } });
  await official.post(`/api/v1/sites/${SITE}/counters/quay-5/open`).catch(() => {});
  const svc = (await request(server, "GET", `/api/v1/sites/${SITE}/setup`)).body.counters.find((c) => c.code === "quay-5").services[0];
  for (let i = 0; i < 12; i++) await issue(svc);
  // A no-show waiting to come back, and a called ticket: the fullest the screen gets.
  await official.post(`/api/v1/sites/${SITE}/counters/quay-5/call-next`);
  await official.post(`/api/v1/sites/${SITE}/counters/quay-5/no-show`);
  await official.post(`/api/v1/sites/${SITE}/counters/quay-5/call-next`);
  await page.locator("#noshows li").first().waitFor();
  await until(async () => (await current(page)) !== "—", "a called ticket on screen");
  const view = await page.evaluate(() => {
    const ids = ["btn-next", "btn-recall", "btn-start", "btn-complete", "btn-noshow", "btn-transfer", "btn-callnum", "btn-pause", "btn-close", "return-number"];
    const outside = [...ids.map((id) => document.getElementById(id)), document.querySelector("#return-form button"), document.querySelector("#noshows button")]
      .filter((e) => { const r = e.getBoundingClientRect(); return r.top < 0 || r.bottom > innerHeight || r.left < 0 || r.right > innerWidth; })
      .map((e) => e.id || e.textContent.trim());
    return { outside, scroll: document.scrollingElement.scrollHeight - innerHeight };
  });
  assert.deepEqual(view.outside, [], "every action inside the window");
  assert.ok(view.scroll <= 0, `the page scrolls by ${view.scroll} px`);
  await shot(page, "counter-1366x768");
  await context.close();
});
