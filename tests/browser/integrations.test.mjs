// The admin page's "Integrations" tab in headless Chromium against the real server: an admin
// makes an API token (shown once, then only its name in the list) that works against the API,
// adds a webhook pointing at a receiver this test runs (node:http on 127.0.0.1:0), sees a
// ticket's delivery in the delivery log (the receiver got it, signed with the secret the page
// showed once), then "send again" delivers the same event a second time. Both languages.
// Screenshots: integrations-*.png.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createHmac } from "node:crypto";
import { AxeBuilder } from "@axe-core/playwright";
import { startServer, launchBrowser, loginOfficial, request, shot, until, SITE } from "./harness.mjs";

let server;
let browser;
let receiver;
const received = [];

before(async () => {
  server = await startServer({ logName: "integrations" });
  browser = await launchBrowser();
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => { body += c; });
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
});

after(async () => {
  await browser?.close();
  await server?.cleanup();
  receiver?.close();
});

test("an admin makes a token, adds a webhook, sees a delivery in the log and sends it again", async () => {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${server.base}/admin#integrations`);
  await page.fill("#login-name", "admin");
  await page.fill("#login-password", server.adminPassword);
  await page.click("#login-submit");
  await until(() => page.evaluate(() => window.luotAdmin?.screen === "integrations"), "the integrations tab");
  assert.equal(await page.locator("#tokens").innerText(), "Chưa có mã nào.");

  // A token: shown once, works, and the list holds only its name.
  await page.fill("#t-name", "Cổng SMS thử");
  await page.locator('#t-scopes input[value="webhooks"]').check();
  await page.click("#token-submit");
  await page.locator("#token-made").waitFor({ state: "visible" });
  const token = (await page.locator("#token-value").innerText()).trim();
  assert.match(token, /^luot_[0-9a-f]{64}$/);
  await until(async () => (await page.locator("#tokens tr[data-id]").count()) === 1, "the token in the list");
  const row = await page.locator("#tokens tr[data-id]").innerText();
  assert.ok(row.includes("Cổng SMS thử") && row.includes("read, webhooks"), row);
  assert.ok(!(await page.locator("#tokens").innerText()).includes(token.slice(5)));
  const byToken = await fetch(`${server.base}/api/v1/admin/webhooks`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(byToken.status, 200);
  await shot(page, "integrations-token");
  await page.click("#token-hide");
  assert.equal(await page.locator("#token-value").innerText(), "");

  // A webhook for issued tickets only; its secret is shown once.
  const url = `http://127.0.0.1:${receiver.address().port}/luot`;
  await page.fill("#h-url", url);
  for (const e of ["ticket.near", "ticket.called"]) await page.locator(`#h-events input[value="${e}"]`).uncheck();
  await page.click("#hook-submit");
  await page.locator("#hook-made").waitFor({ state: "visible" });
  const secret = (await page.locator("#hook-secret").innerText()).trim();
  assert.match(secret, /^whsec_[0-9a-f]{64}$/);
  await until(async () => (await page.locator("#hooks tr[data-id]").count()) === 1, "the webhook in the list");
  assert.ok((await page.locator("#hooks tr[data-id]").innerText()).includes("Cấp số"));

  // A ticket: the receiver gets it, signed; the log shows it delivered.
  const issued = await fetch(`${server.base}/api/v1/sites/${SITE}/tickets`, {
    method: "POST",
    headers: { authorization: `Bearer ${server.kioskToken}`, "content-type": "application/json" },
    body: JSON.stringify({ service: "khai-sinh" }),
  });
  assert.equal(issued.status, 201);
  await until(() => received.length === 1, "the delivery at the receiver");
  const verify = (r) => {
    const want = "sha256=" + createHmac("sha256", secret).update(`${r.headers["x-luot-timestamp"]}.${r.body}`).digest("hex");
    assert.equal(r.headers["x-luot-signature"], want);
    return JSON.parse(r.body);
  };
  const first = verify(received[0]);
  assert.equal(first.type, "ticket.issued");
  assert.equal(first.data.ticket.number, "A001");
  await until(async () => {
    await page.click("#log-reload");
    return (await page.locator("#log tr.m-delivery-delivered").count()) === 1;
  }, "the delivery in the log");
  const logRow = await page.locator("#log tr[data-id]").first().innerText();
  assert.ok(logRow.includes("Cấp số") && logRow.includes("A001") && logRow.includes("Đã gửi"), logRow);
  await shot(page, "integrations-log");

  // "Send again": the same event arrives a second time.
  await page.locator("#log tr[data-id] button").first().click();
  await until(() => received.length === 2, "the delivery sent again");
  const again = verify(received[1]);
  assert.equal(again.id, first.id);
  await until(async () => {
    await page.click("#log-reload");
    return (await page.locator("#log tr[data-id]").first().locator("td").nth(4).innerText()) === "2";
  }, "two attempts in the log");

  // Accessible (axe, as a11y.test.mjs checks the other pages).
  const axe = await new AxeBuilder({ page }).include("#screen-integrations").analyze();
  assert.deepEqual(axe.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(" ")}`), []);

  // In English.
  await page.click("#lang");
  assert.ok((await page.locator("#log tr[data-id]").first().innerText()).includes("Delivered"));
  assert.equal(await page.locator("#tokens-title").innerText(), "API tokens");
  await shot(page, "integrations-en");

  // The audit log names what the admin did.
  const admin = await request(server, "POST", "/api/v1/login", { login: "admin", password: server.adminPassword });
  const cookie = admin.headers.get("set-cookie").split(";")[0];
  for (const action of ["token_create", "webhook_add", "webhook_resend"]) {
    const a = await request(server, "GET", `/api/v1/admin/audit?action=${action}`, undefined, cookie);
    assert.equal(a.body.total, 1, `${action}: ${JSON.stringify(a.body)}`);
  }
  assert.deepEqual(errors, []);
  await context.close();
});

test("a manager does not see the Integrations tab, and the API refuses them", async () => {
  const manager = await loginOfficial(server, { role: "manager", counters: [] });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const [name, value] = manager.cookie.split("=");
  await context.addCookies([{ name, value, url: server.base, httpOnly: true, sameSite: "Strict" }]);
  const page = await context.newPage();
  await page.goto(`${server.base}/admin#integrations`);
  await until(() => page.evaluate(() => window.luotAdmin?.screen === "reports"), "sent to the reports instead");
  assert.equal(await page.locator('#nav a[data-tab="integrations"]').isVisible(), false);
  for (const p of ["/api/v1/admin/tokens", "/api/v1/admin/webhooks"]) {
    const r = await request(server, "GET", p, undefined, manager.cookie);
    assert.equal(r.status, 403, `${p}: ${r.status}`);
  }
  await context.close();
});
