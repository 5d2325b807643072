// The kiosk with a network printer, in a real browser: a Node TCP server plays the ESC/POS
// printer (it answers DLE EOT status queries; it can run out of paper). Out of paper, the kiosk
// shows the bilingual alert with the ticket and its QR still on screen; after a refill,
// "In lại phiếu" has the server print the same ticket.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startServer, launchBrowser, openKiosk, shot, until } from "./harness.mjs";

const ROOT = path.resolve(import.meta.dirname, "../..");
const STATUS_OK = 0x12;
const PAPER_OUT = 0x72;

let server;
let browser;
let printer;
let configDir;

/** A printer on a loopback port; `paper` is its DLE EOT 4 answer, `jobs` what it was sent. */
function fakePrinter() {
  const p = { paper: STATUS_OK, jobs: [] };
  p.server = createServer((sock) => {
    let buf = Buffer.alloc(0);
    let data = false;
    sock.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (!data && buf.length >= 3 && buf[0] === 0x10 && buf[1] === 0x04) {
        sock.write(Buffer.from([buf[2] === 4 ? p.paper : STATUS_OK]));
        buf = buf.subarray(3);
      }
      if (buf.length > 0 && buf[0] !== 0x10) data = true;
    });
    sock.on("end", () => {
      if (buf.length) p.jobs.push(buf);
      sock.end();
    });
    sock.on("error", () => {});
  });
  return new Promise((resolve) => p.server.listen(0, "127.0.0.1", () => resolve(p)));
}

before(async () => {
  printer = await fakePrinter();
  configDir = mkdtempSync(path.join(tmpdir(), "luot-printer-"));
  const config = path.join(configDir, "center.toml");
  const base = readFileSync(path.join(ROOT, "config/default.toml"), "utf8");
  writeFileSync(
    config,
    `${base}\n[[printer]]\nname = "may-in-1"\nkiosk = "Kiosk 1"\naddress = "127.0.0.1:${printer.server.address().port}"\ntimeout_ms = 2000\n`,
  );
  server = await startServer({ logName: "printer", args: ["--config", config] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.cleanup();
  printer?.server.close();
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

test("kiosk with a network printer: paper out shows the alert and keeps the QR; 'In lại phiếu' prints after a refill", async () => {
  const { context, page, errors } = await openKiosk(browser, server);
  assert.equal(await page.evaluate(() => window.luotKiosk.printer?.name), "may-in-1");

  printer.paper = PAPER_OUT;
  await page.locator('.dept-tile[data-dept="ho-tich"]').tap();
  await page.locator('.svc[data-svc="khai-sinh"]').tap();
  await page.locator("#issue-btn").tap();
  await page.waitForSelector("#screen-ticket:not([hidden])");
  assert.equal(await page.textContent("#ticket-number"), "A001");
  await page.waitForSelector("#print-alert:not([hidden])");
  assert.equal(await page.textContent("#print-alert-vi"), "Máy in lỗi: hết giấy — vé vẫn hợp lệ");
  assert.equal(await page.textContent("#print-alert-en"), "Printer: out of paper — your ticket is still valid");
  assert.match(await page.textContent("#print-alert-hint"), /chụp ảnh mã QR/);
  assert.equal(await page.isVisible("#ticket-printing"), false, "no 'printing' promise while it cannot");
  await page.waitForFunction(() => document.getElementById("ticket-qr").naturalWidth > 0);
  assert.equal(await page.isVisible("#ticket-qr"), true);
  assert.equal(await page.evaluate(() => window.__printed), 0, "the browser does not print: the server does");
  assert.equal(printer.jobs.length, 0);
  // Time to photograph the QR code: the ticket stays three times longer (60 s, not 20 s).
  await until(async () => /\b(59|60) giây/.test(await page.textContent("#ticket-countdown")), "the longer countdown");
  await shot(page, "kiosk-printer-paper-out");

  // Staff refill the paper; the citizen presses "In lại phiếu".
  printer.paper = STATUS_OK;
  await page.locator("#reprint-btn").tap();
  await until(() => printer.jobs.length === 1, "the reprint to reach the printer");
  const job = printer.jobs[0];
  assert.deepEqual([...job.subarray(0, 5)], [0x1b, 0x40, 0x1d, 0x76, 0x30], "ESC @ then a GS v 0 raster");
  assert.deepEqual([...job.subarray(job.length - 4)], [0x1d, 0x56, 0x42, 0x00], "then a cut");
  assert.equal(job.readUInt16LE(6), 72, "576 dots a row");
  await page.waitForSelector("#print-alert", { state: "hidden" });
  assert.match(await page.textContent("#ticket-printing"), /Đã in lại phiếu/);
  await shot(page, "kiosk-printer-reprinted");
  assert.deepEqual(errors, []);
  await context.close();
});
