// The manager pages in headless Chromium against the real server, on a month of simulated
// history (`luot simulate` into the data dir before the server starts): an official gets "no
// access" (and the API refuses them); a manager logs in through the form and reads the month's
// report — table, SVG charts, staffing advice — downloads CSV and Excel, prints it on A4 landscape;
// the configuration editor shows errors with line:column and jumps to them, a quick edit of the
// notice line applied in the browser shows on a connected kiosk and hall display without a reload, export and
// import; an admin adds an official and pairs a rating tablet whose one-time link opens it, then
// revokes it. The TOML quick edits are also checked alone against the default configuration.
// Screenshots: admin-*.png, reports-*.png.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startServer, launchBrowser, loginOfficial, login, request, shot, until, BINARY, ROOT, OUTPUT, SITE } from "./harness.mjs";
import * as toml from "../../kiosk-assets/admin-toml.js";
import { AxeBuilder } from "@axe-core/playwright";

let server;
let browser;
let manager; // { login, password, cookie, … }
let admin; // cookie

/** History: 2026-11-02 … 2026-11-27 (the server's clock is 2026-11-30, a Monday). */
const HISTORY = { from: "2026-11-02", days: 26, arrivals: 200 };

before(async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "luot-manager-"));
  execFileSync(BINARY, ["simulate", "--data", dataDir, "--from", HISTORY.from, "--days", String(HISTORY.days), "--arrivals", String(HISTORY.arrivals)], { cwd: ROOT, stdio: "ignore" });
  server = await startServer({ dataDir, ownsData: true, logName: "manager" });
  browser = await launchBrowser();
  manager = await loginOfficial(server, { role: "manager", counters: [], name: "lanhdao" });
  admin = await login(server, server.adminLogin, server.adminPassword);
});

after(async () => {
  await browser?.close();
  await server?.cleanup();
});

/** A desktop page; logs in through the form when `who` is given. */
async function managerPage(who, { hash = "", viewport = { width: 1440, height: 900 } } = {}) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${server.base}/admin${hash}`);
  if (who) {
    await page.locator("#login-form").waitFor();
    await page.fill("#login-name", who.login);
    await page.fill("#login-password", who.password);
    await page.click("#login-submit");
    await until(() => page.evaluate(() => window.luotAdmin?.screen !== "login" && window.luotAdmin?.screen !== "loading"), "logged in");
  }
  return { page, context, errors };
}

const lineOf = (text, offset) => text.slice(0, offset).split("\n").length;

test("the manager plans the counters from the busiest recent day, with the officials there are, and sees where the target is missed", async () => {
  const { page, context, errors } = await managerPage(manager);
  await until(() => page.locator("#rp-plan-sentence").count(), "the plan");
  // The page asked for the busiest of the last 28 days with the center's officials; it shows
  // what the server's plan says.
  const api = await request(server, "GET", `/api/v1/sites/${SITE}/staffing-plan`, undefined, manager.cookie);
  assert.equal(api.status, 200);
  const plan = api.body;
  assert.ok(plan.day >= "2026-11-02" && plan.day <= "2026-11-27", plan.day);
  const [y, m, d] = plan.day.split("-");
  const sentence = await page.locator("#rp-plan-sentence").innerText();
  assert.ok(sentence.includes(`${d}/${m}/${y}`), sentence);
  assert.match(sentence, new RegExp(`${plan.tickets} vé`));
  const met = plan.checks.filter((c) => c.met).length;
  assert.ok(sentence.includes(`${met}/${plan.checks.length} nửa giờ`), sentence);
  const used = plan.counters.filter((c) => c.open.some(Boolean));
  assert.deepEqual(await page.locator("#rp-plan-table tbody tr[data-counter]").evaluateAll((rows) => rows.map((r) => r.dataset.counter)), used.map((c) => c.code));
  // Each counter's open half hours are the filled cells, and its shifts are written out.
  for (const c of used) {
    const row = page.locator(`#rp-plan-table tr[data-counter="${c.code}"]`);
    assert.equal(await row.locator("td.rp-plan-on").count(), c.open.filter(Boolean).length, c.code);
    assert.equal(await row.locator(".rp-plan-shifts").innerText(), c.shifts.map(([a, b]) => `${a}–${b}`).join(", "));
  }
  // Departments by name, one row each, with a mark per half hour.
  const depts = [...new Set(plan.checks.map((c) => c.department))];
  assert.equal(await page.locator("#rp-plan-table tr.rp-plan-dept").count(), depts.length);
  assert.match(await page.locator("#rp-plan-table").innerText(), /Tư pháp – Hộ tịch/);
  assert.equal(await page.locator("#rp-plan-table .rp-plan-miss").count(), plan.checks.length - met);
  await page.locator("#rp-plan").screenshot({ path: path.join(OUTPUT, "reports-plan.png") });

  // Three officials for the same day: never more than three counters open, and the misses are
  // listed with why and by how much.
  await page.fill("#rp-plan-day", plan.day);
  await page.fill("#rp-plan-officials", "3");
  await page.click("#rp-plan-make");
  await until(async () => (await page.locator("#rp-plan-sentence").innerText()).includes("3 cán bộ (theo số đã nhập)"), "the plan for 3 officials");
  const three = (await request(server, "GET", `/api/v1/sites/${SITE}/staffing-plan?day=${plan.day}&officials=3`, undefined, manager.cookie)).body;
  assert.ok(three.most_open <= 3);
  assert.equal(three.all_met, false);
  // One line per department that misses: how many half hours, the worst one, and why.
  const missed = await page.locator("#rp-plan-missed li").allInnerTexts();
  const missedDepts = [...new Set(three.checks.filter((c) => !c.met).map((c) => c.department_name))];
  assert.equal(missed.length, missedDepts.length);
  for (const name of missedDepts) {
    const line = missed.find((l) => l.startsWith(`${name}: không đạt ở `));
    assert.ok(line, `${name} in ${missed.join("\n")}`);
    const n = three.checks.filter((c) => !c.met && c.department_name === name).length;
    assert.ok(line.includes(`không đạt ở ${n} nửa giờ; nặng nhất `), line);
    assert.match(line, /\((hết cán bộ|đã mở mọi quầy của lĩnh vực)\)$/);
  }
  await page.locator("#rp-plan").screenshot({ path: path.join(OUTPUT, "reports-plan-3.png") });
  // The plan's table and form pass axe (the a11y test's reports page has no past day to plan).
  const axe = await new AxeBuilder({ page }).include("#rp-plan").analyze();
  const bad = axe.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(" ")}`), []);
  // The plan to pin up, in the page's language.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#rp-plan-csv")]);
  const lines = readFileSync(await download.path(), "utf8").trim().split("\n");
  assert.equal(lines[0], "Ngày,Quầy,Lĩnh vực,Mở từ,Đến");
  assert.equal(lines.length - 1, three.counters.reduce((n, c) => n + c.shifts.length, 0));
  assert.deepEqual(errors, []);
  await context.close();
});

test("an official who opens the manager pages gets a clear no-access page, and the API refuses them", async () => {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const official = await loginOfficial(server, { counters: ["quay-1"], context });
  const page = await context.newPage();
  await page.goto(`${server.base}/admin#config`);
  await until(() => page.evaluate(() => window.luotAdmin?.screen === "denied"), "no access page");
  assert.match(await page.locator("#screen-denied").innerText(), /Không có quyền truy cập/);
  assert.match(await page.locator("#denied-text").innerText(), /Cán bộ \d+/);
  assert.equal(await page.locator("#nav").isVisible(), false);
  assert.equal(await page.locator("#config-text").isVisible(), false);
  await shot(page, "admin-denied");
  for (const [method, p, body] of [
    ["GET", `/api/v1/sites/${SITE}/reports?by=department`],
    ["GET", "/api/v1/admin/config"],
    ["POST", "/api/v1/admin/config/check", { toml: "" }],
    ["PUT", "/api/v1/admin/config", { toml: "" }],
    ["GET", "/api/v1/admin/devices"],
    ["POST", "/api/v1/admin/users", { login: "x", display_name: "x", role: "admin", password: "0123456789ab" }],
  ]) {
    const r = await request(server, method, p, body, official.cookie);
    assert.equal(r.status, 403, `${method} ${p}: ${r.status}`);
  }
  // Not logged in at all: the login form.
  const anon = await browser.newContext();
  const p2 = await anon.newPage();
  await p2.goto(`${server.base}/reports`);
  await until(() => p2.evaluate(() => window.luotAdmin?.screen === "login"), "login form");
  assert.match(p2.url(), /\/admin#reports$/);
  await anon.close();
  await context.close();
});

test("a manager reads the month's report: table, charts, staffing advice; CSV and Excel download; A4 landscape print", async () => {
  const { page, context, errors } = await managerPage(manager);
  assert.equal(await page.evaluate(() => window.luotAdmin.screen), "reports");
  // A manager does not see the devices tab.
  assert.equal(await page.locator('#nav a[data-tab="devices"]').isVisible(), false);
  // Today (a Monday with no history yet) is empty but says so.
  await until(() => page.locator("#rp-empty, #rp-table").count(), "today's report");
  await page.locator('.m-seg input[value="month"]').check({ force: true });
  await until(async () => (await page.locator("#rp-range").innerText()).includes("01/11/2026") && (await page.locator("#rp-table").count()) > 0, "month report");
  assert.match(await page.locator("#rp-range").innerText(), /Từ 01\/11\/2026 đến 30\/11\/2026 · \d+ ngày có phục vụ/);

  const api = await request(server, "GET", `/api/v1/sites/${SITE}/reports?from=2026-11-01&to=2026-11-30&by=department`, undefined, manager.cookie);
  assert.equal(api.status, 200);
  const total = api.body.report.total;
  // Table: one row per department (configuration order) and the total.
  const keys = await page.locator("#rp-table tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.key));
  assert.deepEqual(keys, ["ho-tich", "chung-thuc", "dat-dai", "kinh-te", "van-hoa-xa-hoi", "truc-tuyen", "tra-ket-qua"].filter((k) => api.body.report.rows.some((r) => r.key === k)));
  const totalCells = await page.locator("#rp-table tfoot td").allInnerTexts();
  assert.equal(totalCells[0].replace(/\./g, ""), String(total.issued));
  assert.equal(totalCells[1].replace(/\./g, ""), String(total.served));
  assert.ok(Math.abs(Number(totalCells[5].replace(",", ".")) - total.wait.mean_s / 60) <= 0.051, `mean wait ${totalCells[5]}`);
  assert.match(await page.locator("#rp-table thead").innerText(), /Trong 15′/);
  assert.match(await page.locator("#rp-kpis").innerText(), /Hài lòng/);
  // Charts: SVG drawn by js/charts.js.
  assert.ok((await page.locator("#rp-chart-arrivals .chart-bar").count()) >= 11);
  assert.equal(await page.locator("#rp-chart-arrivals .chart-bar[fill='#c0142e']").count() >= 1, true, "the peak hour in red");
  const rowsShown = await page.locator("#rp-chart-heatmap .chart-cell").count();
  assert.ok(rowsShown >= 5 * 11, `heatmap cells: ${rowsShown}`);
  assert.equal(await page.locator("#rp-chart-queue .chart-line").count(), 1);
  assert.ok((await page.locator("#rp-chart-satisfaction .chart-seg").count()) >= 4);
  // Staffing: departments × hours, each department's peak marked, and what it means.
  assert.equal(await page.locator("#rp-staff-table tbody tr").count(), api.body.staffing.rows.length);
  assert.ok((await page.locator("#rp-staff-table .rp-peak").count()) >= api.body.staffing.rows.length);
  const sentence = await page.locator("#rp-staffing-sentence").innerText();
  assert.match(sentence, /90% công dân được gọi trong vòng 15 phút/);
  assert.match(sentence, /Erlang C/);
  // Ratings one by one, newest first, each with its dossier column; the full list as CSV.
  const rated = api.body.report.rated_tickets;
  assert.ok(rated.length > 0 && total.rated > 0);
  assert.equal(await page.locator("#rp-rated-table tbody tr").count(), Math.min(50, rated.length));
  assert.equal(await page.locator("#rp-rated-table tbody tr").first().getAttribute("data-number"), rated[0].number);
  assert.match(await page.locator("#rp-rated-table thead").innerText(), /Số\s+Thủ tục\s+Cán bộ\s+Mức đánh giá\s+Lý do\s+Mã hồ sơ/);
  assert.match(await page.locator("#rp-rated").innerText(), new RegExp(`Hiện 50 trong ${total.rated.toLocaleString("vi-VN").replace(".", "\\.")} đánh giá`));
  {
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#rp-rated-csv")]);
    const lines = readFileSync(await download.path(), "utf8").replace(/^\uFEFF/, "").trim().split("\n");
    // The page asks in its own language: Vietnamese column names.
    assert.equal(lines[0], "ngày,số phiếu,thủ tục,quầy,cán bộ,mức đánh giá,hài lòng,lý do,mã hồ sơ,lúc đánh giá");
    assert.equal(lines.length - 1, rated.length, "every rating the report lists");
    assert.match(download.suggestedFilename(), /-ratings\.csv$/);
  }
  await page.locator("#rp-rated").screenshot({ path: path.join(OUTPUT, "reports-ratings.png") });
  await page.mouse.move(0, 0);
  await shot(page, "reports-month");
  await shot(page, "reports-month-full", { fullPage: true });
  await page.locator("#rp-staffing").screenshot({ path: path.join(OUTPUT, "reports-staffing.png") });
  await page.locator(".rp-charts").screenshot({ path: path.join(OUTPUT, "reports-charts.png") });

  // Downloads: the same query as CSV and XLSX.
  const csvHref = await page.locator("#rp-csv").getAttribute("href");
  assert.match(csvHref, /from=2026-11-01&to=2026-11-30&by=department.*format=csv&lang=vi/);
  for (const [id, check] of [
    ["#rp-csv", (buf) => { const s = buf.toString("utf8"); assert.match(s, /mã,tên,số phiếu cấp,đã phục vụ/); assert.ok(s.split("\n").length >= 8); }],
    ["#rp-xlsx", (buf) => { assert.equal(buf.subarray(0, 2).toString("latin1"), "PK"); assert.ok(buf.length > 2000); }],
  ]) {
    const [download] = await Promise.all([page.waitForEvent("download"), page.click(id)]);
    const file = await download.path();
    check(readFileSync(file));
    assert.match(download.suggestedFilename(), /^luot-sa-huynh-2026-11-01-2026-11-30-department\.(csv|xlsx)$/);
  }

  // Grouping by counter, a custom range, a stricter target.
  await page.selectOption("#rp-by", "counter");
  await until(async () => (await page.locator("#rp-table tbody tr").first().getAttribute("data-key"))?.startsWith("quay-"), "rows by counter");
  await page.fill("#rp-from", "2026-11-09");
  await page.fill("#rp-to", "2026-11-13");
  await page.locator("#rp-to").dispatchEvent("change");
  await until(async () => (await page.locator("#rp-range").innerText()).includes("09/11/2026 đến 13/11/2026"), "custom range");
  assert.equal(await page.locator('.m-seg input[value="custom"]').isChecked(), true);
  await page.fill("#rp-target", "30");
  await page.locator("#rp-target").press("Enter");
  await until(async () => (await page.locator("#rp-table thead").innerText()).includes("Trong 30′"), "target 30 min");

  // English.
  await page.click("#lang");
  await until(async () => (await page.locator("#screen-reports h1").innerText()) === "Reports", "English");
  assert.match(await page.locator("#rp-table thead").innerText(), /Issued/);
  await page.click("#lang");

  // Print: A4 landscape, the report only.
  await page.locator('.m-seg input[value="month"]').check({ force: true });
  await page.selectOption("#rp-by", "department");
  await until(async () => (await page.locator("#rp-table tbody tr").first().getAttribute("data-key")) === "ho-tich", "month by department again");
  await page.emulateMedia({ media: "print" });
  assert.equal(await page.locator(".m-top").isVisible(), false);
  assert.equal(await page.locator("#rp-form").isVisible(), false);
  assert.equal(await page.locator(".rp-print-head").isVisible(), true);
  const pdf = path.join(OUTPUT, "reports-print.pdf");
  await page.pdf({ path: pdf, preferCSSPageSize: true, printBackground: true });
  await page.emulateMedia({ media: null });
  if (spawnSync("pdfinfo", ["-v"]).status === 0) {
    const info = execFileSync("pdfinfo", [pdf]).toString();
    assert.match(info, /Page size:\s+84[12]\.\d+ x 59[45]\.\d+ pts \(A4\)/, info);
    assert.ok(Number(/Pages:\s+(\d+)/.exec(info)[1]) <= 4, info);
  }
  assert.deepEqual(errors, []);
  await context.close();
});

test("the configuration editor: errors at line:column, a click goes there; a quick edit of the notice applies live on a connected kiosk and hall display; export and import", async () => {
  // A kiosk in the hall, connected before the change.
  const kctx = await browser.newContext({ viewport: { width: 1080, height: 1920 } });
  const kiosk = await kctx.newPage();
  await kiosk.goto(`${server.base}/kiosk?device=${server.kioskToken}`);
  await until(async () => (await kiosk.locator("#notice").innerText()).length > 10, "kiosk notice");
  await kiosk.evaluate(() => { window.notReloaded = true; });
  // And the hall display.
  const dctx = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
  const hall = await dctx.newPage();
  await hall.goto(`${server.base}/display?device=${server.displayToken}`);
  await until(async () => (await hall.locator("#notice").innerText()).length > 10, "hall display notice");
  await hall.evaluate(() => { window.notReloaded = true; });

  const { page, context, errors } = await managerPage(manager, { hash: "#config" });
  await until(() => page.evaluate(() => window.luotAdmin.config.loaded), "configuration loaded");
  const ta = page.locator("#config-text");
  const original = await ta.inputValue();
  const running = (await request(server, "GET", "/api/v1/admin/config", undefined, manager.cookie)).body;
  assert.equal(original, running.toml);
  assert.equal(await page.locator("#config-version").innerText(), String(running.version));
  // Line numbers for every line.
  assert.equal(await page.locator("#gutter span").count(), original.split("\n").length);

  // A mistake: a counter number as text.
  const broken = original.replace(/(code = "quay-3"\nnumber = )3/, '$1"ba"');
  assert.notEqual(broken, original);
  await ta.fill(broken);
  assert.equal(await page.locator("#config-dirty").isVisible(), true);
  await page.click("#config-check");
  await until(() => page.locator("#config-errors button").count(), "errors listed");
  const first = await page.locator("#config-errors button").first().innerText();
  const m = /Dòng (\d+), cột (\d+)/.exec(first);
  assert.ok(m, first);
  // Said in Vietnamese, with what was expected.
  assert.match(first, /sai kiểu giá trị: chữ "ba", cần một số nguyên/);
  const badLine = broken.split("\n").findIndex((l) => l.includes('"ba"')) + 1;
  assert.equal(Number(m[1]), badLine);
  await page.locator("#config-errors button").first().click();
  const sel = await ta.evaluate((t) => t.selectionStart);
  assert.equal(lineOf(broken, sel), badLine, "the click selects the line");
  assert.equal(await page.locator("#gutter span.err").innerText(), String(badLine));
  await page.mouse.move(0, 0);
  await shot(page, "admin-config-error");
  // Apply is refused the same way, and nothing changes.
  await page.click("#config-apply");
  await until(() => page.locator("#config-errors button").count(), "apply refused");
  assert.equal((await request(server, "GET", "/api/v1/admin/config", undefined, manager.cookie)).body.version, running.version);

  // Back to the running text; the notice line through the quick edit.
  await ta.fill(original);
  const notice = { vi: "Chiều nay trung tâm họp \"giao ban\" từ 16:00 — xin cảm ơn!", en: "The center holds a meeting from 16:00 today." };
  await page.fill("#q-notice-vi", notice.vi);
  await page.fill("#q-notice-en", notice.en);
  await page.click("#q-notice button[type=submit]");
  await until(async () => /Hợp lệ/.test(await page.locator("#quick-result").innerText()), "quick edit checked");
  const edited = await ta.inputValue();
  assert.deepEqual(toml.getNotice(edited, SITE).vi, notice.vi);
  // Only that line changed.
  const a = original.split("\n");
  const b = edited.split("\n");
  assert.equal(a.length, b.length);
  assert.deepEqual(a.map((l, i) => (l === b[i] ? null : i)).filter((x) => x != null).length, 1);
  await shot(page, "admin-config-quick");
  await page.click("#config-apply");
  await until(async () => /Đã áp dụng phiên bản \d+/.test(await page.locator("#config-status").innerText()), "applied");
  await until(() => page.evaluate(() => !window.luotAdmin.config.busy), "apply finished");
  const now = (await request(server, "GET", "/api/v1/admin/config", undefined, manager.cookie)).body;
  assert.ok(now.version > running.version);
  assert.equal(await page.locator("#config-version").innerText(), String(now.version));
  assert.equal(await page.locator("#config-dirty").isVisible(), false);
  // The kiosk shows it without a reload.
  await until(async () => (await kiosk.locator("#notice").innerText()).includes("giao ban"), "kiosk shows the new notice", 10_000);
  assert.equal(await kiosk.evaluate(() => window.notReloaded), true);
  await until(async () => (await hall.locator("#notice").innerText()).includes("giao ban"), "hall display shows the new notice", 10_000);
  assert.equal(await hall.evaluate(() => window.notReloaded), true);
  await shot(hall, "admin-config-applied-display");
  const setup = (await request(server, "GET", `/api/v1/sites/${SITE}/setup`)).body;
  assert.equal(setup.notice.en, notice.en);

  // Export: the editor's text as a .toml file.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#config-export")]);
  assert.match(download.suggestedFilename(), /^luot-sa-huynh-v\d+\.toml$/);
  assert.equal(readFileSync(await download.path(), "utf8"), await ta.inputValue());
  // Import: a file goes into the editor and is checked at once.
  const imported = path.join(OUTPUT, "manager-import.toml");
  writeFileSync(imported, now.toml.replace("daily_cap = 1000", "daily_cap = 0"));
  await page.setInputFiles("#config-import", imported);
  await until(async () => (await ta.inputValue()).includes("daily_cap = 0"), "imported");
  await until(() => page.evaluate(() => window.luotAdmin.config.errors.length > 0), "the import is checked");
  await page.click("#config-revert");
  await page.click("#confirm-ok");
  assert.equal(await ta.inputValue(), now.toml);

  // The other quick edits give a valid file.
  await page.locator("summary", { hasText: "Số phiếu tối đa" }).click();
  await page.selectOption("#q-cap-service", "khai-sinh");
  await page.fill("#q-cap-value", "120");
  await page.click("#q-cap button[type=submit]");
  await until(async () => /Hợp lệ/.test(await page.locator("#quick-result").innerText()), "daily cap");
  assert.match(await ta.inputValue(), /code = "khai-sinh"[^[]*daily_cap = 120/);
  await page.locator("summary", { hasText: "Thủ tục của một quầy" }).click();
  await page.selectOption("#q-counter-code", "quay-3");
  await page.selectOption("#q-counter-service", "khai-sinh");
  await page.click('#q-counter button[value="add"]');
  await until(async () => /Hợp lệ/.test(await page.locator("#quick-result").innerText()), "service added");
  assert.equal(toml.counters(await ta.inputValue(), SITE).find((c) => c.code === "quay-3").effective.includes("khai-sinh"), true);
  await page.locator("summary", { hasText: "Giờ làm việc" }).click();
  await page.fill("#q-hours-sat", "");
  await page.fill("#q-hours-mon", "7:30-11:30, 13:30-17:00");
  await page.click("#q-hours button[type=submit]");
  await until(async () => /Hợp lệ/.test(await page.locator("#quick-result").innerText()), "hours");
  const hours = toml.getHours(await ta.inputValue(), SITE);
  assert.deepEqual(hours.mon, ["07:30-11:30", "13:30-17:00"]);
  assert.deepEqual(hours.sat, []);
  await page.fill("#q-hours-tue", "25:00-26:00");
  await page.click("#q-hours button[type=submit]");
  await until(async () => /không phải khoảng giờ hợp lệ/.test(await page.locator("#quick-result").innerText()), "bad span refused");
  assert.deepEqual(errors, []);
  await context.close();
  await kctx.close();
  await dctx.close();
});

test("an admin adds an official with counters, pairs a rating tablet whose one-time link opens it, and revokes it", async () => {
  const who = { login: server.adminLogin, password: server.adminPassword };
  const { page, context, errors } = await managerPage(who, { hash: "#users" });
  await until(async () => (await page.evaluate(() => window.luotAdmin.tab === "users")) && (await page.locator(`#users tr[data-login="${manager.login}"]`).count()), "users listed");
  await page.fill("#u-login", "phamvanc");
  await page.fill("#u-name", "Phạm Văn C");
  await page.selectOption("#u-role", "official");
  await page.click("#u-generate");
  const password = await page.inputValue("#u-password");
  assert.ok(password.length >= 14);
  await page.check('#u-counters input[value="quay-2"]');
  await page.check('#u-counters input[value="quay-10"]');
  await page.click("#user-submit");
  await until(() => page.locator('#users tr[data-login="phamvanc"]').count(), "new user listed");
  assert.match(await page.locator('#users tr[data-login="phamvanc"]').innerText(), /Phạm Văn C\s+Cán bộ\s+Quầy 2, Quầy 10 – Ưu tiên/);
  assert.match(await page.locator("#user-ok").innerText(), new RegExp(password));
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.mouse.move(0, 0);
  await shot(page, "admin-users");
  const me = await login(server, "phamvanc", password);
  const meBody = (await request(server, "GET", "/api/v1/me", undefined, me)).body;
  assert.deepEqual(meBody.counters, ["quay-2", "quay-10"]);
  // A short password is refused before it is sent.
  await page.fill("#u-login", "ngan");
  await page.fill("#u-name", "Mật khẩu ngắn");
  await page.fill("#u-password", "short");
  await page.click("#user-submit");
  assert.match(await page.locator("#user-error").innerText(), /ít nhất 10 ký tự/);

  // Pair a rating tablet for counter 2.
  await page.click('#nav a[data-tab="devices"]');
  await until(() => page.evaluate(() => window.luotAdmin.tab === "devices"), "devices tab");
  await page.selectOption("#p-kind", "rating");
  assert.equal(await page.locator("#p-counter-field").isVisible(), true);
  await page.fill("#p-name", "Máy đánh giá quầy 2");
  await page.selectOption("#p-counter", "quay-2");
  await page.click("#pair-submit");
  await until(() => page.locator("#paired").isVisible(), "link shown");
  const url = await page.locator("#paired-url").innerText();
  const token = /\/rating\?device=([0-9a-f]{64})$/.exec(url)?.[1];
  assert.ok(token, url);
  await until(() => page.locator("#devices tr", { hasText: "Máy đánh giá quầy 2" }).count(), "device listed");
  await page.mouse.move(0, 0);
  await shot(page, "admin-devices");
  // The link opens the tablet at counter 2.
  const tctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const tab = await tctx.newPage();
  await tab.goto(url.replace(/^https?:\/\/[^/]+/, server.base));
  await until(() => tab.evaluate(() => window.luotRating?.screen === "idle" && window.luotRating.counter === "quay-2"), "tablet at counter 2");
  assert.match(await tab.locator("#counter-name").innerText(), /Quầy 2/);
  // Hidden after use; the link is never shown again.
  await page.click("#paired-hide");
  assert.equal(await page.locator("#paired").isVisible(), false);
  assert.doesNotMatch(await page.locator("#screen-devices").innerText(), new RegExp(token));
  // Revoke.
  const row = page.locator("#devices tr", { hasText: "Máy đánh giá quầy 2" });
  await row.locator("button").click();
  await page.click("#confirm-ok");
  await until(async () => /Đã thu hồi/.test(await row.innerText()), "revoked");
  const res = await fetch(`${server.base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 401);
  await tab.reload();
  await until(() => tab.evaluate(() => window.luotRating?.screen === "setup"), "the revoked tablet says so");
  assert.deepEqual(errors, []);
  await tctx.close();
  await context.close();
});

test("quick edits change only their lines of the default configuration and keep it valid", async () => {
  const text = readFileSync(path.join(ROOT, "config/default.toml"), "utf8");
  const check = async (t) => (await request(server, "POST", "/api/v1/admin/config/check", { toml: t }, manager.cookie)).status;
  let r = toml.setNotice(text, SITE, { vi: 'Có "ngoặc" và \\ gạch', en: "Tab\there" });
  assert.deepEqual(toml.getNotice(r.text, SITE), { vi: 'Có "ngoặc" và \\ gạch', en: "Tab\there", line: r.line });
  assert.equal(await check(r.text), 200);
  r = toml.setHours(text, SITE, { mon: ["07:00-11:00"], sat: [], sun: ["08:00-10:00"] });
  assert.deepEqual(toml.getHours(r.text, SITE).sun, ["08:00-10:00"]);
  assert.doesNotMatch(r.text, /# sun: nghỉ/);
  assert.equal(await check(r.text), 200);
  r = toml.setDailyCap(text, SITE, "cap-gcn-lan-dau", 40);
  assert.equal(toml.services(r.text, SITE).find((s) => s.code === "cap-gcn-lan-dau").daily_cap, 40);
  assert.equal(r.text.split("\n").length, text.split("\n").length, "an existing cap is replaced in place");
  assert.equal(await check(r.text), 200);
  // Removing one service from a counter that serves a whole department lists the others.
  r = toml.removeServiceFromCounter(text, SITE, "quay-1", "ket-hon");
  const c1 = toml.counters(r.text, SITE).find((c) => c.code === "quay-1");
  assert.equal(c1.effective.includes("ket-hon"), false);
  assert.equal(c1.effective.length, 10);
  assert.equal(await check(r.text), 200);
  r = toml.addServiceToCounter(r.text, SITE, "quay-1", "ket-hon");
  assert.equal(toml.counters(r.text, SITE).find((c) => c.code === "quay-1").effective.length, 11);
  assert.throws(() => toml.addServiceToCounter(text, SITE, "quay-1", "khai-sinh"), (e) => e.key === "edit.already");
  assert.throws(() => toml.parseSpans("7:00-6:00", "mon"), (e) => e.key === "edit.badSpan");
  // A notice written as its own table is left to the manager, with the line.
  const odd = text.replace(/^notice = .*$/m, "").replace("\n[site.hours]\n", "\n[site.notice]\nvi = \"a\"\nen = \"b\"\n\n[site.hours]\n");
  assert.throws(() => toml.setNotice(odd, SITE, { vi: "x", en: "y" }), (e) => e.key === "edit.byHand" && e.line > 0);
});

test("an admin edits an account and disables it: the official's open console stops at once; the audit log shows it, filtered, paged and exported", async () => {
  const password = "Mat-khau-cua-tran-thi-d";
  const created = await request(server, "POST", "/api/v1/admin/users", { login: "tranthid", display_name: "Trần Thị D", role: "official", password, counters: ["quay-3"] }, admin);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  // The official works at counter 3 in her own browser.
  const octx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const cookie = await login(server, "tranthid", password);
  const [cname, value] = cookie.split("=");
  await octx.addCookies([{ name: cname, value, url: server.base, httpOnly: true, sameSite: "Strict" }]);
  const console_ = await octx.newPage();
  await console_.goto(`${server.base}/counter?counter=quay-3`);
  await until(async () => (await console_.locator("#counter-status").innerText()) === "Đang mở", "counter 3 open");

  const who = { login: server.adminLogin, password: server.adminPassword };
  const { page, context, errors } = await managerPage(who, { hash: "#users" });
  const row = page.locator('#users tr[data-login="tranthid"]');
  await until(() => row.count(), "official listed");
  await row.getByRole("button", { name: "Sửa: tranthid" }).click();
  await until(() => page.locator("#dlg-user").isVisible(), "edit dialog");
  assert.equal(await page.inputValue("#e-name"), "Trần Thị D");
  assert.equal(await page.isChecked('#e-counters input[value="quay-3"]'), true);
  // Nothing to save without a counter for an official: said in the dialog.
  await page.uncheck('#e-counters input[value="quay-3"]');
  await page.click("#e-save");
  assert.match(await page.locator("#edit-error").innerText(), /Chọn ít nhất một quầy/);
  await page.fill("#e-name", "Trần Thị Dung");
  await page.check('#e-counters input[value="quay-3"]');
  await page.check('#e-counters input[value="quay-4"]');
  await page.click("#e-save");
  await until(() => page.locator("#edit-ok").isVisible(), "saved");
  await until(async () => /Trần Thị Dung\s+Cán bộ\s+Quầy 3, Quầy 4/.test(await row.innerText()), "row updated");
  await shot(page, "admin-user-edit");
  // Her console reconnects with the new rights and keeps working.
  await until(async () => (await console_.locator("#counter-status").innerText()) === "Đang mở", "still open after the edit");

  // Disable, after a confirmation that says what happens.
  await page.click("#e-toggle");
  await until(() => page.locator("#dlg-confirm").isVisible(), "confirm");
  assert.match(await page.locator("#confirm-text").innerText(), /dừng ngay/);
  await page.click("#confirm-ok");
  await until(async () => /đã khóa/.test(await row.innerText()), "row shows disabled");
  await until(async () => /Đã khóa tài khoản “tranthid”/.test(await page.locator("#edit-ok").innerText()), "dialog says so");
  // The console is back at the login form at once, saying why; the API refuses her cookie.
  await until(() => console_.locator("#login-form").isVisible(), "console shows the login form", 5000);
  assert.match(await console_.locator("#login-error").innerText(), /Phiên đăng nhập đã kết thúc/);
  assert.equal((await request(server, "GET", "/api/v1/me", undefined, cookie)).status, 401);
  assert.equal((await request(server, "POST", "/api/v1/login", { login: "tranthid", password })).status, 401);
  await shot(console_, "counter-session-ended");
  // Enable, then reset the password: shown once in the dialog, and it works.
  await page.click("#e-toggle");
  await until(async () => /Đã mở khóa/.test(await page.locator("#edit-ok").innerText()), "enabled");
  await page.click("#e-password");
  await page.click("#confirm-ok");
  await until(async () => /Mật khẩu mới của “tranthid”: \S+/.test(await page.locator("#edit-ok").innerText()), "new password shown");
  const fresh = /: (\S+) —/.exec(await page.locator("#edit-ok").innerText())[1];
  await login(server, "tranthid", fresh);
  await page.click("#dlg-user [data-close]");

  // The audit log: newest first, filtered by action and actor, paged, exported.
  await page.click('#nav a[data-tab="audit"]');
  await until(() => page.evaluate(() => window.luotAdmin.tab === "audit"), "audit tab");
  await until(async () => (await page.locator("#audit tr").count()) > 3, "audit lines");
  const first = await page.locator("#audit tr").first().innerText();
  assert.match(first, /Đăng nhập/, "the newest line is tranthid's login with the new password");
  await page.selectOption("#a-action", "user_disable");
  await until(async () => /Trang 1\/1 · 1 dòng/.test(await page.locator("#a-page").innerText()), "filtered by action");
  assert.match(await page.locator("#audit tr").first().innerText(), new RegExp(`${server.adminLogin}\\s+Khóa tài khoản\\s+tranthid`));
  await page.selectOption("#a-action", "");
  await page.selectOption("#a-actor", "tranthid");
  await until(async () => /· 3 dòng/.test(await page.locator("#a-page").innerText()), "filtered by actor: her two logins and the one refused while disabled");
  assert.match(await page.locator("#audit").innerText(), /Đăng nhập sai/);
  await page.fill("#a-from", "2026-12-01");
  await page.click('#audit-form button[type="submit"]');
  await until(async () => /Không có dòng nào/.test(await page.locator("#audit").innerText()), "nothing after today");
  await page.fill("#a-from", "2026-11-30");
  await page.fill("#a-to", "2026-11-29");
  await page.click('#audit-form button[type="submit"]');
  await until(() => page.locator("#audit-error").isVisible(), "bad range explained");
  await page.click("#a-clear");
  await until(async () => /Trang 1\/\d+ · [1-9]\d* dòng/.test(await page.locator("#a-page").innerText()), "cleared");
  const total = Number(/· (\d+) dòng/.exec(await page.locator("#a-page").innerText())[1]);
  assert.ok(total >= 10, `${total} lines`);
  assert.equal(await page.locator("#a-prev").isDisabled(), true);
  // Paging: five lines a page here, so the buttons have pages to go through.
  await page.goto(`${server.base}/admin?audit_page_size=5#audit`);
  await until(async () => /Trang 1\/\d+ · \d+ dòng/.test(await page.locator("#a-page").innerText()), "paged by five");
  assert.equal(await page.locator("#audit tr").count(), 5);
  const pages = Math.ceil(total / 5);
  assert.match(await page.locator("#a-page").innerText(), new RegExp(`Trang 1/${pages} · ${total} dòng`));
  const page1 = await page.locator("#audit").innerText();
  await page.click("#a-next");
  await until(async () => new RegExp(`Trang 2/${pages}`).test(await page.locator("#a-page").innerText()), "page 2");
  assert.notEqual(await page.locator("#audit").innerText(), page1);
  assert.equal(await page.locator("#a-prev").isDisabled(), false);
  await page.click("#a-prev");
  await until(async () => (await page.locator("#audit").innerText()) === page1, "back to page 1");
  await page.selectOption("#a-actor", server.adminLogin);
  await until(async () => (await page.locator("#a-actor").inputValue()) === server.adminLogin && /· \d+ dòng/.test(await page.locator("#a-page").innerText()), "admin's lines");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#a-csv")]);
  const csv = readFileSync(await download.path(), "utf8").replace(/^\uFEFF/, "");
  const lines = csv.trim().split("\n");
  // In the page's language: Vietnamese column and action names, the admin by name and login.
  assert.equal(lines[0], "STT,Thời điểm,Người thực hiện,Thao tác,Chi tiết,Địa chỉ máy");
  assert.ok(lines.slice(1).every((l) => l.split(",")[2].endsWith(`(${server.adminLogin})`)), csv);
  assert.ok(lines.some((l) => l.includes('Sửa tài khoản,"tranthid display_name=Trần Thị Dung role=official counters=quay-3,quay-4",127.0.0.1')), csv);
  await page.selectOption("#a-actor", "");
  await until(async () => (await page.locator("#a-actor").inputValue()) === "", "all actors");
  await page.mouse.move(0, 0);
  await shot(page, "admin-audit");
  // In English.
  await page.click("#lang");
  await until(async () => /Page 1 of \d+ · \d+ lines/.test(await page.locator("#a-page").innerText()), "English pager");
  assert.match(await page.locator("#audit-table thead").innerText(), /When\s+Who\s+Action\s+Detail\s+Address/);
  assert.match(await page.locator("#a-csv").getAttribute("href"), /lang=en/);
  await page.click("#lang");
  // A manager reads it too; an official may not.
  assert.equal((await request(server, "GET", "/api/v1/admin/audit?page_size=501", undefined, manager.cookie)).status, 400);
  assert.equal((await request(server, "GET", "/api/v1/admin/audit", undefined, manager.cookie)).status, 200);
  const official = await login(server, "tranthid", fresh);
  assert.equal((await request(server, "GET", "/api/v1/admin/audit", undefined, official)).status, 403);
  assert.deepEqual(errors, []);
  await context.close();
  await octx.close();
});
