// The hall display and the counter display in headless Chromium against the real server: each
// call shows on the board (and above its counter) within a second, in order; a burst of calls
// gives every call its own highlight turn; the voice plays the composed clip sequence (chime,
// invite, letter, digits one by one, "đến quầy số", counter number), twice, and again on a
// recall; a display that lost the server shows it is stale and comes back with the right board.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, loginOfficial, request, shot, until, SITE } from "./harness.mjs";

let server;
let browser;
const HIGHLIGHT_MS = 4500; // display.js

async function issue(service) {
  const res = await fetch(`${server.base}/api/v1/sites/${SITE}/tickets`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.kioskToken}` },
    body: JSON.stringify({ service }),
  });
  const body = await res.json();
  assert.ok(res.ok, `issue ${service}: ${JSON.stringify(body)}`);
  return body.ticket.number;
}

const officials = new Map();
/** An official with counter `c` open (through REST). */
async function officialAt(c) {
  if (!officials.has(c)) {
    const o = await loginOfficial(server, { counters: [c] });
    await o.post(`/api/v1/sites/${SITE}/counters/${c}/open`);
    officials.set(c, o);
  }
  return officials.get(c);
}
const act = async (c, action, body) => (await officialAt(c)).post(`/api/v1/sites/${SITE}/counters/${c}/${action}`, body);

/** Leaves counter `c` with nothing called (a test before may have failed half-way). */
async function idle(c) {
  const counters = (await request(server, "GET", `/api/v1/sites/${SITE}/counters`)).body;
  if (counters.find((x) => x.code === c)?.current) await act(c, "complete");
}

async function serverBoard() {
  const counters = (await request(server, "GET", `/api/v1/sites/${SITE}/counters`)).body;
  return Object.fromEntries(counters.map((c) => [c.code, c.current ? c.current.number : "—"]));
}

async function hallDisplay(query = "") {
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
  const page = await context.newPage();
  const errors = [];
  const audio = []; // clip requests, in order, with their status
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("response", (r) => { if (r.url().includes("/audio/")) audio.push({ path: new URL(r.url()).pathname, status: r.status() }); });
  await page.goto(`${server.base}/display?device=${server.displayToken}${query}`);
  await until(() => page.evaluate(() => window.luotDisplay?.status === "live"), "display live");
  // A hall TV is up long before the first call: let it finish loading its clips.
  await until(() => page.evaluate(() => window.luotAnnouncer?.loaded), "clips loaded", 30_000);
  return { page, context, errors, audio };
}

async function counterDisplay(c, viewport = { width: 1280, height: 720 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${server.base}/counter-display?counter=${c}`);
  await until(() => page.evaluate(() => window.luotCounterDisplay?.status === "live"), "counter display live");
  return { page, context };
}

before(async () => {
  server = await startServer({ logName: "display", args: ["--issue-rate", "200", "--issue-burst", "200"] });
  // Kiosk mode: sound without a click.
  browser = await launchBrowser({ args: ["--autoplay-policy=no-user-gesture-required"] });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await server?.cleanup();
});

test("each call shows on the hall display and on the counter display within a second, in order", async () => {
  const hall = await hallDisplay();
  const above = await counterDisplay("quay-1");
  const numbers = [];
  for (let i = 0; i < 3; i++) numbers.push(await issue("khai-sinh"));
  const called = [];
  await officialAt("quay-1");
  for (let i = 0; i < 3; i++) {
    const r = await act("quay-1", "call-next");
    const t0 = Date.now(); // the server has answered: the call is durable and broadcast
    const n = r.ticket.number;
    called.push(n);
    await until(() => hall.page.evaluate((n) => window.luotDisplay.board()["quay-1"] === n, n), `hall shows ${n}`, 5000);
    await until(async () => (await above.page.evaluate(() => window.luotCounterDisplay.ticket)) === n, `counter display shows ${n}`, 5000);
    // The pages note when they drew it (same machine, same clock): from the server's answer to
    // the screen (negative when the event beat the REST reply).
    const tHall = (await hall.page.evaluate((n) => window.luotDisplay.boardAt(n), n)) - t0;
    const tAbove = (await above.page.evaluate(() => window.luotCounterDisplay.callTimes.at(-1))) - t0;
    assert.ok(tHall < 1000 && tAbove < 1000, `${n}: hall ${tHall} ms, counter display ${tAbove} ms`);
    if (i === 0) await shot(above.page, "counter-display-calling");
    await act("quay-1", i === 1 ? "no-show" : "complete");
  }
  assert.deepEqual(called, numbers);
  // The counter display saw every call, in order; the hall gave each its highlight turn, in order.
  assert.deepEqual(await above.page.evaluate(() => window.luotCounterDisplay.calls), called);
  await until(() => hall.page.evaluate((k) => window.luotDisplay.shown.length >= k, called.length), "all highlighted", 3 * HIGHLIGHT_MS + 2000);
  assert.deepEqual(await hall.page.evaluate(() => window.luotDisplay.shown.map((s) => s.number)), called);

  // Serving, paused and closed, above the counter.
  await issue("khai-sinh");
  await act("quay-1", "call-next");
  await act("quay-1", "start");
  await until(async () => (await above.page.evaluate(() => window.luotCounterDisplay.state)) === "serving", "serving");
  await shot(above.page, "counter-display-serving");
  await act("quay-1", "complete");
  await act("quay-1", "pause", { reason: "Nghỉ giải lao" });
  await until(async () => (await above.page.evaluate(() => window.luotCounterDisplay.state)) === "paused", "paused");
  assert.match(await above.page.locator("#service").innerText(), /Nghỉ giải lao/);
  await until(async () => (await hall.page.locator('.h-tile[data-counter="quay-1"]').getAttribute("data-status")) === "paused", "hall: paused");
  await shot(above.page, "counter-display-paused");
  await act("quay-1", "resume");
  await act("quay-1", "close");
  officials.delete("quay-1");
  await until(async () => (await above.page.evaluate(() => window.luotCounterDisplay.state)) === "closed", "closed");
  assert.deepEqual(hall.errors, []);
  await hall.context.close();
  await above.context.close();
});

test("a burst of calls from many counters: every call gets its own highlight turn, in order", async () => {
  const counters = ["quay-3", "quay-4", "quay-6", "quay-7", "quay-9"];
  const setup = (await request(server, "GET", `/api/v1/sites/${SITE}/setup`)).body;
  for (const c of counters) {
    await officialAt(c);
    const def = setup.counters.find((x) => x.code === c);
    for (let i = 0; i < 2; i++) await issue(def.services[0]);
  }
  const hall = await hallDisplay();
  const before = await hall.page.evaluate(() => window.luotDisplay.shown.length);
  // Each call's time: when the server answered it (durable and broadcast by then).
  const results = await Promise.all(counters.map(async (c) => {
    const r = await act(c, "call-next");
    return { number: r.ticket.number, seq: r.seq, at: Date.now() };
  }));
  const numbers = results.map((r) => r.number);
  // All on the board within a second.
  await until(async () => {
    const b = await hall.page.evaluate(() => window.luotDisplay.board());
    return counters.every((c, i) => b[c] === numbers[i]);
  }, "the whole burst on the board", 5000);
  const delays = [];
  for (const r of results) delays.push((await hall.page.evaluate((n) => window.luotDisplay.boardAt(n), r.number)) - r.at);
  assert.ok(delays.every((d) => d < 1000), `on the board after ${delays.join(", ")} ms`);
  await hall.page.waitForTimeout(600);
  await shot(hall.page, "display-burst");
  // Each had its turn, in the server's order, for at least the highlight time.
  await until(() => hall.page.evaluate((k) => window.luotDisplay.shown.length >= k, before + counters.length), "all highlighted", counters.length * HIGHLIGHT_MS + 3000);
  const shown = (await hall.page.evaluate(() => window.luotDisplay.shown)).slice(before);
  assert.deepEqual(new Set(shown.map((s) => s.number)), new Set(numbers));
  // The server's order is the events' seq (two calls in the same millisecond share a time).
  const seqOf = new Map(results.map((r) => [r.number, r.seq]));
  assert.ok(results.every((r) => Number.isInteger(r.seq)), "each call's result has its seq");
  for (let i = 1; i < shown.length; i++) assert.ok(seqOf.get(shown[i].number) > seqOf.get(shown[i - 1].number), `highlights follow the order the server called them: ${shown.map((x) => `${x.number}@${seqOf.get(x.number)}`).join(", ")}`);
  for (let i = 1; i < shown.length; i++) assert.ok(shown[i].at - shown[i - 1].at >= HIGHLIGHT_MS - 100, `call ${shown[i - 1].number} shown ${shown[i].at - shown[i - 1].at} ms`);
  // After its turn a call moves into "recent calls", newest first; the last one stays big.
  await hall.page.waitForTimeout(HIGHLIGHT_MS + 200);
  assert.equal(await hall.page.locator("#hero-ticket").innerText(), shown.at(-1).number);
  // The strip keeps the site's recent_calls (default 6) earlier calls, each whole in its column.
  const recent = await hall.page.locator("#recent .h-recent-ticket").allInnerTexts();
  const kept = (await request(server, "GET", `/api/v1/sites/${SITE}/setup`)).body.recent_calls;
  assert.equal(kept, 6);
  const made = (await request(server, "GET", `/api/v1/sites/${SITE}/snapshot`)).body.snapshot.recent_calls.length;
  assert.equal(recent.length, Math.min(kept, made - 1), `recent calls shows ${recent.join(" ")} of ${made} calls`);
  assert.deepEqual(recent.slice(0, 4), shown.slice(0, -1).reverse().map((x) => x.number));
  const cut = await hall.page.evaluate(() => [...document.querySelectorAll("#recent li")].filter((li) => li.scrollWidth > li.clientWidth + 1).length);
  assert.equal(cut, 0, "no call in the strip is cut off");
  await shot(hall.page, "display-after-burst");
  for (const c of counters) await act(c, "complete");
  await hall.context.close();
});

test("the display speaks a call as the composed clip sequence, twice, and again on a recall", async () => {
  await idle("quay-3");
  const hall = await hallDisplay();
  const n = await issue("chung-thuc-ban-sao"); // prefix B
  await act("quay-3", "call", { number: n }).then((r) => assert.equal(r.ticket.number, n));
  const digits = n.slice(1).split("").map((d) => `/audio/vi/digit_${d}.ogg`);
  const once = ["/audio/vi/invite.ogg", "/audio/vi/letter_b.ogg", ...digits, "/audio/vi/to_counter.ogg", "/audio/vi/number_3.ogg"];
  const expected = ["/audio/chime.ogg", ...once, ...once];
  const log = () => hall.page.evaluate(() => window.luotAnnouncer.log.map((x) => x.url || `tts:${x.tts}`));
  await until(async () => (await log()).length >= expected.length, "the announcement played", 30_000);
  assert.deepEqual((await log()).slice(0, expected.length), expected);
  // Every clip was fetched from the server (offline: nothing else), and the sequence's files were found.
  for (const p of new Set(expected)) assert.ok(hall.audio.some((a) => a.path === p && a.status === 200), `${p} fetched`);
  assert.ok(hall.audio.every((a) => a.status === 200), "no clip missing");
  // One at a time: the queue is empty once it has played.
  await until(() => hall.page.evaluate(() => window.luotAnnouncer.queue.length === 0 && !window.luotAnnouncer.current), "idle");
  // A recall says it again.
  const before = (await log()).length;
  await act("quay-3", "recall");
  await until(async () => (await log()).length >= before + expected.length, "the recall played", 30_000);
  assert.deepEqual((await log()).slice(before, before + expected.length), expected);
  await act("quay-3", "complete");

  // English voice, and the composition rules (unit-level, in the page).
  const en = await hallDisplay("&voice=en");
  assert.deepEqual(await en.page.evaluate(() => window.luotAnnouncer.plan("K105", 10)), [
    "/audio/en/invite.ogg", "/audio/en/letter_k.ogg", "/audio/en/digit_1.ogg", "/audio/en/digit_0.ogg", "/audio/en/digit_5.ogg", "/audio/en/to_counter.ogg", "/audio/en/number_10.ogg",
  ]);
  const composed = await en.page.evaluate(async () => {
    const m = await import("/js/announcer.js");
    const clips = window.luotAnnouncer.manifest.languages.vi.clips;
    return {
      custom: m.compose("Xin mời số {ticket}, đến quầy số {counter}.", clips, "AB12", 120),
      plain: m.compose("Mời công dân có số thứ tự {ticket} đến quầy số {counter}", clips, "B017", 4),
    };
  });
  assert.deepEqual(composed.plain, ["invite", "letter_b", "digit_0", "digit_1", "digit_7", "to_counter", "number_4"]);
  // Words without a clip go to the speech engine; a counter beyond the clips is read digit by digit.
  assert.deepEqual(composed.custom, [{ say: "xin mời số" }, "letter_a", "letter_b", "digit_1", "digit_2", "to_counter", "digit_1", "digit_2", "digit_0"]);
  await hall.context.close();
  await en.context.close();
});

test("a call made while the display is between sockets (a configuration change) is still announced, once", async () => {
  await officialAt("quay-3");
  await idle("quay-3");
  const manager = await loginOfficial(server, { role: "manager", counters: [] });
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // Every socket goes to the real server; while `gate.closed`, what the page says on a new socket
  // (its hello) is held back, so the server answers it only after the call below: a real gap.
  const gate = { closed: false, held: [] };
  let sockets = 0;
  await page.routeWebSocket(/\/ws$/, (ws) => {
    const n = ++sockets;
    const upstream = ws.connectToServer();
    ws.onMessage((m) => (gate.closed && n >= 2 ? gate.held.push(() => upstream.send(m)) : upstream.send(m)));
  });
  await page.goto(`${server.base}/display?device=${server.displayToken}`);
  await until(() => page.evaluate(() => window.luotDisplay?.status === "live"), "display live");
  await until(() => page.evaluate(() => window.luotAnnouncer?.loaded), "clips loaded", 30_000);
  const log = () => page.evaluate(() => window.luotAnnouncer.log.map((x) => x.url || `tts:${x.tts}`));
  const before = (await log()).length;

  // A manager applies the configuration: every display reloads its setup and takes a new socket.
  gate.closed = true;
  const running = (await request(server, "GET", "/api/v1/admin/config", undefined, manager.cookie)).body;
  const put = await request(server, "PUT", "/api/v1/admin/config", { toml: running.toml }, manager.cookie);
  assert.ok(put.status < 300, JSON.stringify(put.body));
  await until(() => gate.held.length > 0, "the display's new socket said hello", 20_000);
  const n = await issue("chung-thuc-ban-sao");
  await act("quay-3", "call", { number: n });
  gate.closed = false;
  for (const send of gate.held.splice(0)) send();

  await until(() => page.evaluate(() => window.luotDisplay?.status === "live"), "live again", 20_000);
  await until(() => page.evaluate((num) => window.luotDisplay.shown.some((s) => s.number === num), n), "the call had its turn on the board", 20_000);
  await until(async () => (await log()).slice(before).filter((u) => u.startsWith("/audio/vi/digit_")).length >= 2 * (n.length - 1), "the call was spoken", 30_000);
  await until(() => page.evaluate(() => window.luotAnnouncer.queue.length === 0 && !window.luotAnnouncer.current), "idle");
  // Once: one chime, one turn on the board.
  assert.equal((await log()).slice(before).filter((u) => u === "/audio/chime.ogg").length, 1);
  assert.equal(await page.evaluate((num) => window.luotDisplay.shown.filter((s) => s.number === num).length, n), 1);
  assert.equal((await page.evaluate(() => window.luotDisplay.board()))["quay-3"], n);
  assert.deepEqual(errors, []);
  await act("quay-3", "complete");
  await context.close();
});

test("a display that loses the server shows it is stale, then comes back with the right board", async () => {
  await officialAt("quay-4");
  await idle("quay-4");
  const setup = (await request(server, "GET", `/api/v1/sites/${SITE}/setup`)).body;
  const svc = setup.counters.find((x) => x.code === "quay-4").services[0];
  for (let i = 0; i < 3; i++) await issue(svc);
  const hall = await hallDisplay();
  const above = await counterDisplay("quay-4");

  // A dropped socket resumes by itself.
  await hall.page.evaluate(() => window.luotDisplay.drop());
  const first = (await act("quay-4", "call-next")).ticket.number;
  await until(async () => (await hall.page.evaluate(() => window.luotDisplay.board()["quay-4"])) === first, "resumed after a drop", 10_000);

  // The server dies: the screen says so.
  await server.kill();
  await until(() => hall.page.locator("#stale").isVisible(), "stale marker", 10_000);
  assert.match(await hall.page.locator("#stale").innerText(), /Mất kết nối/);
  assert.notEqual(await hall.page.evaluate(() => window.luotDisplay.status), "live");
  await until(() => above.page.locator("#stale").isVisible(), "counter display stale marker", 10_000);
  await shot(hall.page, "display-stale");

  // It comes back with calls made in between: the board matches the server.
  server = await server.restart(); // sessions survive a restart: the officials stay logged in
  await act("quay-4", "complete");
  const r = await act("quay-4", "call-next");
  await until(() => hall.page.evaluate(() => window.luotDisplay.status === "live"), "live again", 20_000);
  await until(async () => JSON.stringify(await hall.page.evaluate(() => window.luotDisplay.board())) === JSON.stringify(await serverBoard()), "the right board", 5000);
  assert.equal((await hall.page.evaluate(() => window.luotDisplay.board()))["quay-4"], r.ticket.number);
  assert.equal(await hall.page.locator("#stale").isVisible(), false);
  await until(async () => (await above.page.evaluate(() => window.luotCounterDisplay.ticket)) === r.ticket.number, "counter display right", 20_000);
  await hall.context.close();
  await above.context.close();
});

test("without autoplay permission the display shows every call with a small mark, and any key turns the sound on", async () => {
  // A TV browser started without the kiosk flag, and no mouse: sound needs a user gesture
  // (Chromium's desktop default, stated so that the headless default cannot differ).
  const plain = await launchBrowser({ args: ["--autoplay-policy=document-user-activation-required"] });
  try {
    const context = await plain.newContext({ viewport: { width: 1920, height: 1080 } });
    const page = await context.newPage();
    await page.goto(`${server.base}/display`); // anonymous: no device token needed
    // Watch through CDP without a user gesture: Playwright's own queries (isVisible, evaluate)
    // count as user activation, which would let the page start its audio.
    const cdp = await context.newCDPSession(page);
    const look = async (expression) => (await cdp.send("Runtime.evaluate", { expression, returnByValue: true })).result.value;
    await until(() => look("window.luotDisplay?.status === 'live'"), "display live", 20_000);
    await idle("quay-3");
    await officialAt("quay-3");
    const setup = (await request(server, "GET", `/api/v1/sites/${SITE}/setup`)).body;
    await issue(setup.counters.find((x) => x.code === "quay-3").services[0]);
    const called = (await act("quay-3", "call-next")).ticket.number;
    // The call is on the board and in the big panel, and nothing covers it.
    await until(() => look(`document.getElementById("hero-ticket").textContent.trim() === ${JSON.stringify(called)}`), "the call in the big panel", 10_000);
    const view = await look(`(() => {
      const s = document.getElementById("sound").getBoundingClientRect();
      const h = document.getElementById("hero-ticket").getBoundingClientRect();
      const top = document.elementFromPoint(h.x + h.width / 2, h.y + h.height / 2);
      return { mark: !document.getElementById("sound").hidden, markText: document.getElementById("sound").innerText,
        markArea: s.width * s.height, heroOnTop: !!top && top.closest("#hero") !== null,
        tile: document.querySelector('.h-tile[data-counter="quay-3"] .h-tile-ticket').textContent.trim(),
        blocked: window.luotAnnouncer.blocked, activated: navigator.userActivation.hasBeenActive };
    })()`);
    assert.equal(view.activated, false, "nothing has touched the page yet");
    assert.equal(view.blocked, true, "the browser blocks sound");
    assert.equal(view.mark, true, "a mark says the sound is off");
    assert.match(view.markText, /Chưa bật âm thanh/);
    assert.ok(view.markArea < 0.02 * 1920 * 1080, `the mark is small, not an overlay (${Math.round(view.markArea)} px²)`);
    assert.equal(view.heroOnTop, true, "nothing covers the call");
    assert.equal(view.tile, called);
    await shot(page, "display-sound-off");
    // A remote's key (no mouse): the sound comes on and the mark goes.
    await page.keyboard.press("Enter");
    await until(async () => !(await page.locator("#sound").isVisible()) && !(await page.evaluate(() => window.luotAnnouncer.blocked)), "sound enabled by a key");
    await act("quay-3", "complete");
  } finally {
    await plain.close();
  }
});

test("after a reload the display shows what is true now: a counter that closed invites nobody; long names whole", async () => {
  await idle("quay-6");
  const setup = (await request(server, "GET", `/api/v1/sites/${SITE}/setup`)).body;
  await officialAt("quay-6");
  await issue(setup.counters.find((x) => x.code === "quay-6").services[0]);
  const called = (await act("quay-6", "call-next")).ticket.number;
  await act("quay-6", "complete");
  await act("quay-6", "close");
  officials.delete("quay-6"); // closed: the next officialAt opens it again
  // The last call of the day went to a counter that has closed since.
  const last = (await request(server, "GET", `/api/v1/sites/${SITE}/snapshot`)).body.snapshot.recent_calls[0];
  assert.equal(last.number, called);
  const hall = await hallDisplay();
  const view = await hall.page.evaluate(() => ({
    hero: document.getElementById("hero-ticket").textContent.trim(),
    tile: document.querySelector('.h-tile[data-counter="quay-6"]').dataset.status,
    recent: [...document.querySelectorAll("#recent .h-recent-ticket")].map((e) => e.textContent.trim()),
    names: [...document.querySelectorAll(".h-dept")].map((li) => {
      const e = li.querySelector(".h-dept-name");
      const n = e.getBoundingClientRect();
      const count = li.querySelector(".h-dept-count").getBoundingClientRect();
      const cut = e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1 || n.right > count.left;
      return { text: e.textContent, cut, lines: Math.round(n.height / parseFloat(getComputedStyle(e).lineHeight)) };
    }),
  }));
  assert.notEqual(view.hero, called, "the big panel must not invite to a closed counter");
  assert.equal(view.tile, "closed");
  assert.equal(view.recent[0], called, "the call is history in the strip");
  // Every department's name whole (no "…"), however long.
  assert.deepEqual(view.names.map((n) => n.text.replace(/\u00a0/g, " ")), setup.departments.map((d) => d.name.vi));
  assert.deepEqual(view.names.filter((n) => n.cut || n.lines > 2), []);
  await shot(hall.page, "display-after-reload");
  await hall.context.close();
});

test("English texts with ?lang=en", async () => {
  const hall = await hallDisplay("&lang=en");
  assert.match(await hall.page.locator("#recent-title").innerText(), /RECENT CALLS/i);
  assert.match(await hall.page.locator("#waiting-title").innerText(), /WAITING BY DEPARTMENT/i);
  assert.match(await hall.page.locator("#center-name").innerText(), /Sa Huynh Ward/);
  await hall.context.close();
});

test("a browser's socket ends cleanly both ways: its own close is echoed, the server's close arrives whole", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/display?device=${server.displayToken}`);
  // A socket of the page's own, as any client written from docs/protocol.md would open it.
  const ends = await page.evaluate(async (site) => {
    const url = location.origin.replace(/^http/, "ws") + "/ws";
    const welcomed = () =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.onopen = () => ws.send(JSON.stringify({ type: "hello", role: "display", site }));
        ws.onmessage = (e) => { if (JSON.parse(e.data).type === "welcome") resolve(ws); };
        ws.onerror = () => reject(new Error("socket error"));
      });
    const closed = (ws) =>
      new Promise((resolve) => { ws.onclose = (e) => resolve({ code: e.code, reason: e.reason, clean: e.wasClean }); });
    // 1. The page closes (as display.js does on a new configuration).
    const mine = await welcomed();
    const mineClosed = closed(mine);
    mine.close(4003, "new configuration");
    // 2. The server closes: a binary frame is refused with 1003.
    const theirs = await welcomed();
    const theirsClosed = closed(theirs);
    theirs.send(new Uint8Array([1, 2, 3]));
    return { mine: await mineClosed, theirs: await theirsClosed };
  }, SITE);
  assert.deepEqual(ends.mine, { code: 4003, reason: "new configuration", clean: true }, JSON.stringify(ends));
  assert.deepEqual(ends.theirs, { code: 1003, reason: "text frames only", clean: true }, JSON.stringify(ends));
  await context.close();
});
