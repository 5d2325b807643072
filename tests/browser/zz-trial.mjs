// Not a test: the #12 "done when" trial, run by hand against the release binary.
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startServer, launchBrowser, loginOfficial, login, request, until, BINARY, ROOT, SITE } from "./harness.mjs";

const dataDir = mkdtempSync(path.join(tmpdir(), "luot-trial-"));
execFileSync(BINARY, ["simulate", "--data", dataDir, "--from", "2026-11-02", "--days", "26", "--arrivals", "150"], { cwd: ROOT, stdio: "ignore" });
const server = await startServer({ dataDir, ownsData: true, logName: "trial" });
const browser = await launchBrowser();
const out = (name) => path.join("/tmp/trial", `${name}.png`);
try {
  const admin = await login(server, server.adminLogin, server.adminPassword);
  // console_absent_s = 15 for the trial (the shortest allowed)
  const cfg = await request(server, "GET", "/api/v1/admin/config", undefined, admin);
  const toml = cfg.body.toml.replace(/^console_absent_s = \d+/m, "console_absent_s = 15");
  const put = await request(server, "PUT", "/api/v1/admin/config", { toml }, admin);
  console.log("config put", put.status);

  const manager = await loginOfficial(server, { role: "manager", counters: [], name: "truong-phong" });
  const mctx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const mpage = await mctx.newPage();
  await mpage.goto(`${server.base}/admin#floor`);
  await mpage.fill("#login-name", manager.login);
  await mpage.fill("#login-password", manager.password);
  await mpage.click("#login-submit");
  await until(() => mpage.evaluate(() => window.luotAdmin?.screen === "floor"), "floor");

  // Official A opens counter 1 and walks away (closes the browser).
  const actx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const a = await loginOfficial(server, { counters: ["quay-1"], context: actx, name: "can-bo-a" });
  const apage = await actx.newPage();
  await apage.goto(`${server.base}/counter`);
  await a.post(`/api/v1/sites/${SITE}/counters/quay-1/open`);
  await new Promise((r) => setTimeout(r, 1500));
  await actx.close();
  const t0 = Date.now();
  await until(async () => (await request(server, "GET", `/api/v1/sites/${SITE}/snapshot`)).body.snapshot.counters.find((c) => c.code === "quay-1").status === "paused", "quay-1 paused by itself", 60_000);
  console.log("quay-1 paused by itself after", ((Date.now() - t0) / 1000).toFixed(1), "s");
  // Official B at counter 3; the manager closes it.
  const b = await loginOfficial(server, { counters: ["quay-3"], name: "can-bo-b" });
  await b.post(`/api/v1/sites/${SITE}/counters/quay-3/open`);
  const mc = await login(server, manager.login, manager.password);
  const h = { origin: server.base };
  const cmd = async (body) => request(server, "POST", `/api/v1/sites/${SITE}/commands`, body, mc);
  console.log("force close quay-3", (await cmd({ type: "close_counter", counter: "quay-3" })).status);
  console.log("stop khai-sinh", (await cmd({ type: "pause_service", service: "khai-sinh", reason: "Mất kết nối phần mềm hộ tịch" })).status);
  const kiosk = await fetch(`${server.base}/api/v1/sites/${SITE}/tickets`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${server.kioskToken}` }, body: JSON.stringify({ service: "khai-sinh" }) });
  console.log("kiosk khai-sinh", kiosk.status, (await kiosk.json()).message);
  await new Promise((r) => setTimeout(r, 1500));
  await mpage.screenshot({ path: out("floor"), fullPage: true });
  console.log("floor text:", (await mpage.locator("#screen-floor").innerText()).slice(0, 1500));
  // Report CSV in Vietnamese.
  const csv = await fetch(`${server.base}/api/v1/sites/${SITE}/reports?from=2026-11-01&to=2026-11-30&format=csv&lang=vi`, { headers: { cookie: mc } });
  console.log("report csv:", (await csv.text()).split("\n").slice(0, 3).join("\n"));
  // The staffing plan, as the reports page asks it.
  for (const q of ["", "?officials=10", "?officials=10&target_min=30"]) {
    const p = (await request(server, "GET", `/api/v1/sites/${SITE}/staffing-plan${q}`, undefined, mc)).body;
    console.log(`plan${q}: day ${p.day} tickets ${p.tickets} officials ${p.officials} (${p.officials_from}) target ${p.target_s / 60} all_met ${p.all_met} met ${p.checks.filter((c) => c.met).length}/${p.checks.length} most_open ${p.most_open} moves ${p.moves}`);
  }
  await mpage.goto(`${server.base}/admin#reports`);
  await until(() => mpage.locator("#rp-plan-sentence").count(), "plan");
  await mpage.fill("#rp-plan-officials", "10");
  await mpage.fill("#rp-plan-target", "30");
  await mpage.click("#rp-plan-make");
  await until(async () => (await mpage.locator("#rp-plan-sentence").innerText()).includes("10 cán bộ"), "plan 10");
  await mpage.locator("#rp-plan").screenshot({ path: out("plan") });
  console.log("plan sentence:", await mpage.locator("#rp-plan-sentence").innerText());
} finally {
  await browser.close();
  await server.cleanup();
}
