// Browser-test harness for every Luot web client: a fresh server per test file (port 0, a temp
// data dir, a fixed clock inside opening hours), Debian's Chromium through playwright-core, REST
// helpers to log officials in, and screenshots under tests/browser/output/.
//
//   import { startServer, launchBrowser, loginOfficial, shot } from "./harness.mjs";
//   const server = await startServer();            // server.base, server.kioskToken, server.adminPassword
//   const browser = await launchBrowser();
//   const ctx = await browser.newContext({ viewport: { width: 1080, height: 1920 } });
//   const official = await loginOfficial(server, { counters: ["quay-1"], context: ctx });
//   await official.post("/api/v1/sites/sa-huynh/counters/quay-1/open");
//   await shot(page, "counter-idle");
//   …  await browser.close(); await server.stop();

import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, createWriteStream, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, "../..");
export const OUTPUT = path.join(here, "output");
export const BINARY = process.env.LUOT_BIN || path.join(ROOT, "target/debug/luot");
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
/** A Monday inside opening hours (07:00–11:30), so every service issues tickets. */
export const START_CLOCK = "2026-11-30T09:00:00+07:00";
export const SITE = "sa-huynh";

/** Generous: a cold debug build on a busy 2-core machine. */
const SERVER_START_TIMEOUT_MS = 30_000;
const SERVER_STOP_TIMEOUT_MS = 10_000;

mkdirSync(OUTPUT, { recursive: true });

/**
 * Starts `luot serve` on a free port with a new data dir (or `dataDir`, to restart on the same
 * data). Resolves when it has printed its URLs. Returns a handle:
 *   base, port, dataDir, kioskToken, displayToken, ratingToken, adminPassword (first start only),
 *   clockNow() (the server's clock as an RFC 3339 string, for restarting without going back in time),
 *   stop() (SIGTERM, waits), kill() (SIGKILL: a crash), restart() (same data and port).
 */
export async function startServer(options = {}) {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run \`cargo build -p luot\` first`);
  const dataDir = options.dataDir || mkdtempSync(path.join(tmpdir(), "luot-browser-"));
  const ownsData = options.ownsData ?? !options.dataDir;
  const startClock = options.startClock || START_CLOCK;
  const listen = `127.0.0.1:${options.port || 0}`;
  const args = ["serve", "--listen", listen, "--data", dataDir, "--start-clock", startClock, ...(options.args || [])];
  // LUOT_ASSETS=kiosk-assets serves the pages from the work tree (no rebuild while editing them).
  if (process.env.LUOT_ASSETS) args.push("--assets", path.resolve(ROOT, process.env.LUOT_ASSETS));
  const logName = options.logName || `server-${path.basename(dataDir)}`;
  const log = createWriteStream(path.join(OUTPUT, `${logName}.log`), { flags: "a" });
  const proc = spawn(BINARY, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: process.env.RUST_LOG || "warn" } });
  const launchedAt = Date.now();
  proc.stderr.pipe(log);
  // Made at once, so that an exit at any moment is seen (and stop/kill never wait for nothing).
  const exited = new Promise((resolve) => proc.once("exit", resolve));
  let out = "";
  const info = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`server did not start in ${SERVER_START_TIMEOUT_MS} ms; stdout so far:\n${out}`));
    }, SERVER_START_TIMEOUT_MS);
    const early = (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before starting; stdout:\n${out}`));
    };
    proc.on("exit", early);
    proc.stdout.on("data", (chunk) => {
      out += chunk;
      log.write(chunk);
      const base = out.match(/Luot listening on (http:\/\/\S+)/)?.[1];
      // The banner ends with the first-start password file (stdout is a pipe, so the password
      // itself is only in that 0600 file) or with the "keep their pairing" line.
      const passwordFile = out.match(/password file: (\S+)/)?.[1];
      const complete = (passwordFile && /device links above/.test(out)) || /keep their pairing/.test(out);
      if (base && complete) {
        clearTimeout(timer);
        proc.off("exit", early);
        const token = (page) => out.match(new RegExp(`/${page}\\?device=([0-9a-f]+)`))?.[1] ?? null;
        resolve({
          base,
          port: Number(new URL(base).port),
          kioskToken: token("kiosk"),
          displayToken: token("display"),
          ratingToken: token("rating"),
          adminLogin: out.match(/admin login "([^"]+)"/)?.[1] ?? "admin",
          adminPassword: passwordFile ? readFileSync(passwordFile, "utf8").match(/^password: (\S+)$/m)?.[1] ?? null : null,
        });
      }
    });
  });
  const offsetMs = Date.parse(startClock) - launchedAt;
  /** Waits for the process to end; says so loudly instead of hanging the test file. */
  const waitExit = async (ms) => {
    let timer;
    const late = new Promise((resolve) => { timer = setTimeout(() => resolve("late"), ms); });
    const how = await Promise.race([exited.then(() => "exited"), late]);
    clearTimeout(timer);
    if (how === "late" && proc.exitCode === null && proc.signalCode === null) {
      throw new Error(`server pid ${proc.pid} did not exit within ${ms} ms of being stopped (log: ${logName}.log)`);
    }
  };
  const server = {
    ...info,
    dataDir,
    proc,
    stdout: () => out,
    /** The server's current clock, for a restart that must not go back in time. */
    clockNow() {
      return new Date(Date.now() + offsetMs).toISOString();
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        const t = setTimeout(() => proc.kill("SIGKILL"), SERVER_STOP_TIMEOUT_MS);
        await waitExit(SERVER_STOP_TIMEOUT_MS + 5_000);
        clearTimeout(t);
      }
      log.end();
    },
    /** A crash: no goodbye to the sockets. */
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGKILL");
        await waitExit(5_000);
      }
    },
    /** Starts the server again on the same data dir and port; keeps earlier secrets. */
    async restart() {
      await server.kill();
      const again = await startServer({ ...options, dataDir, ownsData, port: server.port, startClock: server.clockNow(), logName });
      again.adminPassword = server.adminPassword;
      again.kioskToken = server.kioskToken;
      again.displayToken = server.displayToken;
      again.ratingToken = server.ratingToken;
      return again;
    },
    /** Stops it and removes its data dir (if this harness made it). */
    async cleanup() {
      await server.stop();
      if (ownsData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}

/** Debian's Chromium, headless, with nothing that reaches for the network. */
export async function launchBrowser(options = {}) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
      "--disable-quic",
      "--disable-dev-shm-usage",
      "--font-render-hinting=none",
      ...(options.args || []),
    ],
  });
}

/** A JSON request with an optional cookie; resolves with { status, body, headers }. */
export async function request(server, method, urlPath, body, cookie) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (cookie) headers.cookie = cookie;
  const res = await fetch(server.base + urlPath, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let parsed = text;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Logs in through `POST /api/v1/login`; resolves with the `luot_session=…` cookie pair. */
export async function login(server, loginName, password) {
  const res = await request(server, "POST", "/api/v1/login", { login: loginName, password });
  if (res.status !== 200) throw new Error(`login ${loginName}: ${res.status} ${JSON.stringify(res.body)}`);
  const setCookie = res.headers.get("set-cookie") || "";
  const pair = setCookie.split(";")[0];
  if (!pair.includes("=")) throw new Error(`login ${loginName}: no session cookie`);
  return pair;
}

let userSeq = 0;

/**
 * Creates a user (default: an official at `counters`) as the first-start admin, logs it in, and
 * when `context` is given puts its session cookie into that browser context. Returns
 * { login, password, cookie, get(path), post(path, body) } for REST calls as that user.
 */
export async function loginOfficial(server, { counters = ["quay-1"], role = "official", name, context } = {}) {
  if (!server.adminPassword) throw new Error("the admin password is known only from a first start");
  const admin = await login(server, server.adminLogin || "admin", server.adminPassword);
  userSeq += 1;
  const loginName = name || `canbo${userSeq}${Date.now() % 100000}`;
  const password = `Test-password-${userSeq}-${Math.random().toString(36).slice(2, 10)}`;
  const created = await request(server, "POST", "/api/v1/admin/users", {
    login: loginName,
    display_name: `Cán bộ ${userSeq}`,
    role,
    password,
    counters,
  }, admin);
  if (created.status !== 201) throw new Error(`create user: ${created.status} ${JSON.stringify(created.body)}`);
  const cookie = await login(server, loginName, password);
  if (context) {
    const [cname, value] = cookie.split("=");
    await context.addCookies([{ name: cname, value, url: server.base, httpOnly: true, sameSite: "Strict" }]);
  }
  const call = async (method, p, body) => {
    const r = await request(server, method, p, body, cookie);
    if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  return {
    login: loginName,
    password,
    cookie,
    get: (p) => call("GET", p),
    post: (p, body = {}) => call("POST", p, body),
  };
}

/** Saves a PNG screenshot to tests/browser/output/<name>.png and returns its path. */
/** A portrait touch kiosk's screen. */
export const KIOSK = { width: 1080, height: 1920 };

/**
 * A kiosk page on `server`'s paired device; window.print is recorded (window.__printed) instead
 * of opening a dialog. Waits for the department tiles and, unless `options.live === false`, for
 * the kiosk to be issuing. Options: viewport, query (appended to the URL), live.
 */
export async function openKiosk(browser, server, options = {}) {
  const context = await browser.newContext({ viewport: options.viewport || KIOSK, hasTouch: true });
  await context.addInitScript(() => {
    window.__printed = 0;
    window.print = () => { window.__printed += 1; };
  });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${server.base}/kiosk?device=${server.kioskToken}${options.query || ""}`);
  await page.waitForSelector("#dept-grid .dept-tile");
  if (options.live !== false) await page.waitForFunction(() => window.luotKiosk?.pausedReason() === null, null, { timeout: 20_000 });
  return { context, page, errors };
}

export async function shot(page, name, options = {}) {
  const file = path.join(OUTPUT, `${name}.png`);
  await page.screenshot({ path: file, ...options });
  return file;
}

/** Waits until `fn()` is truthy (polling), or fails with `what` after `timeout` ms. */
export async function until(fn, what, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
