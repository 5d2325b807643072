// Accessibility of every page, in both languages: axe-core (through @axe-core/playwright) finds
// no serious or critical violation on the kiosk, phone, console, hall and counter displays, rating
// tablet, administration, floor and reports pages and the page for numbers from home (/lay-so), each
// opened as its user opens it, with live data on the screen (a waiting ticket, a called one, a
// rating prompt).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { AxeBuilder } from "@axe-core/playwright";
import { startServer, launchBrowser, loginOfficial, request, until, SITE } from "./harness.mjs";

let server;
let browser;
let official; // at quay-1
let manager;
let ticket; // { number, token }

before(async () => {
  server = await startServer({ logName: "a11y" });
  browser = await launchBrowser({ args: ["--autoplay-policy=no-user-gesture-required"] });
  official = await loginOfficial(server, { counters: ["quay-1"] });
  manager = await loginOfficial(server, { role: "manager", counters: [] });
  const res = await fetch(`${server.base}/api/v1/sites/${SITE}/tickets`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.kioskToken}` },
    body: JSON.stringify({ service: "khai-sinh" }),
  });
  const body = await res.json();
  assert.ok(res.ok, JSON.stringify(body));
  ticket = { number: body.ticket.number, token: body.token };
  // A second ticket that Quầy 1 calls: the console, displays and the phone show a live call.
  await fetch(`${server.base}/api/v1/sites/${SITE}/tickets`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.kioskToken}` },
    body: JSON.stringify({ service: "khai-sinh" }),
  });
  await official.post(`/api/v1/sites/${SITE}/counters/quay-1/open`);
  await official.post(`/api/v1/sites/${SITE}/counters/quay-1/call-next`);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await server?.cleanup();
});

/** Each page as its user opens it: the path, who is logged in, and what shows it is ready. */
const PAGES = [
  { name: "kiosk", path: () => `/kiosk?device=${server.kioskToken}`, ready: () => window.luotKiosk?.live?.status === "live" && window.luotKiosk.screen === "home", viewport: { width: 1080, height: 1920 } },
  { name: "phone", path: () => `/t/${ticket.token}`, ready: () => window.luotPhone?.live?.status === "live" && !!window.luotPhone.ticket },
  { name: "console", path: () => "/counter", who: () => official, ready: () => !!window.luotConsole && document.querySelector("#cur-number")?.textContent.trim().length > 0 },
  { name: "hall display", path: () => `/display?device=${server.displayToken}`, ready: () => window.luotDisplay?.status === "live", viewport: { width: 1920, height: 1080 } },
  { name: "counter display", path: () => "/counter-display?counter=quay-1", ready: () => window.luotCounterDisplay?.status === "live", viewport: { width: 1280, height: 720 } },
  { name: "rating tablet", path: () => `/rating?device=${server.ratingToken}`, ready: () => window.luotRating?.status === "live" },
  { name: "administration", path: () => "/admin#users", who: () => manager, ready: () => !!window.luotAdmin?.screen },
  { name: "floor", path: () => "/admin#floor", who: () => manager, ready: () => window.luotAdmin?.screen === "floor" && window.luotFloor?.status === "live" && !!document.querySelector("#f-counters tr") },
  { name: "reports", path: () => "/admin#reports", who: () => manager, ready: () => window.luotAdmin?.screen === "reports" && !!document.querySelector("#rp-table tbody tr") },
  { name: "number from home", path: () => "/lay-so", ready: () => !!document.querySelector("#services button[data-service]"), viewport: { width: 390, height: 844 } },
  // The start page says everything in both languages side by side (its English parts lang="en").
  { name: "home", path: () => "/", ready: () => document.body.innerText.trim().length > 0, bilingual: true },
];

for (const lang of ["vi", "en"]) {
  test(`every page has no serious or critical accessibility violation (${lang})`, async () => {
    const found = [];
    for (const p of PAGES) {
      const context = await browser.newContext({ viewport: p.viewport || { width: 1366, height: 768 } });
      await context.addInitScript((l) => localStorage.setItem("luot.lang", l), lang);
      if (p.who) {
        const [name, value] = p.who().cookie.split("=");
        await context.addCookies([{ name, value, url: server.base, httpOnly: true, sameSite: "Strict" }]);
      }
      const page = await context.newPage();
      await page.goto(server.base + p.path());
      await until(() => page.evaluate(p.ready), `${p.name} ready`, 20_000);
      if (!p.bilingual) assert.equal(await page.evaluate(() => document.documentElement.lang), lang, `${p.name} in ${lang}`);
      const result = await new AxeBuilder({ page }).analyze();
      for (const v of result.violations) {
        if (v.impact !== "serious" && v.impact !== "critical") continue;
        found.push(`${p.name}: ${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 3).map((n) => n.target.join(" ") + " — " + (n.failureSummary || "").split("\n").slice(1).join(" ")).join("\n    ")}`);
      }
      await context.close();
    }
    assert.deepEqual(found, [], `\n${found.join("\n")}`);
  });
}
