// The hall display's voice clips on the manager pages (tab "Giọng đọc"), in headless Chromium
// against the real server: a manager uploads a recording for one clip through the page; it is
// listed as replaced; a connected hall display, without a reload, plays exactly the uploaded bytes
// for the next call; a file that is not Ogg is refused with a clear message; "Try a call" says a
// sample call; "Use built-in" puts the original back on the display too; the audit log names
// both changes. With a template of the center's own, the tab marks the words no clip says; the
// manager adds a phrase for them and the display then composes the call with it. Screenshots:
// admin-voice.png, admin-voice-refused.png, admin-voice-phrase.png, admin-voice-phrase-en.png.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { startServer, launchBrowser, loginOfficial, request, shot, until, ROOT, SITE } from "./harness.mjs";

let server;
let browser;
const sha = (b) => createHash("sha256").update(b).digest("hex");
const BUILT_IN = readFileSync(path.join(ROOT, "kiosk-assets/audio/vi/invite.ogg"));
// A different real recording: the English "Ticket", uploaded as the Vietnamese invitation.
const UPLOAD = path.join(ROOT, "kiosk-assets/audio/en/invite.ogg");
const UPLOADED = readFileSync(UPLOAD);

before(async () => {
  server = await startServer({ logName: "voice" });
  // Kiosk mode for the hall display (sound without a click); the manager clicks anyway.
  browser = await launchBrowser({ args: ["--autoplay-policy=no-user-gesture-required"] });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await server?.cleanup();
});

/** The admin pages opened at the Voice tab, logged in through the form as `manager`. */
async function voiceTab(manager) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${server.base}/admin#voice`);
  await page.locator("#login-form").waitFor();
  await page.fill("#login-name", manager.login);
  await page.fill("#login-password", manager.password);
  await page.click("#login-submit");
  return { page, context, errors };
}

async function hallDisplay() {
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
  const page = await context.newPage();
  const errors = [];
  const fetched = new Map(); // clip URL (path + query) → sha256 of the bytes received
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("response", async (r) => {
    const u = new URL(r.url());
    if (u.pathname.endsWith(".ogg") && r.status() === 200) fetched.set(u.pathname + u.search, sha(await r.body()));
  });
  await page.goto(`${server.base}/display?device=${server.displayToken}`);
  await until(() => page.evaluate(() => window.luotDisplay?.status === "live"), "display live");
  await until(() => page.evaluate(() => window.luotAnnouncer?.loaded), "clips loaded", 30_000);
  return { page, context, errors, fetched };
}

test("a manager replaces a clip on the Voice tab; a hall display plays the new recording for the next call; the built-in one comes back", async () => {
  const manager = await loginOfficial(server, { role: "manager", counters: [], name: "quanly" });
  const official = await loginOfficial(server, { counters: ["quay-3"] });
  await official.post(`/api/v1/sites/${SITE}/counters/quay-3/open`);
  const hall = await hallDisplay();

  const { page, context, errors } = await voiceTab(manager);
  await until(() => page.evaluate(() => window.luotAdmin?.tab === "voice" && window.luotAdmin.voice.loaded), "voice tab");
  const row = (clip) => page.locator(`#voice tr[data-clip="${clip}"]`);
  assert.match(await row("vi/invite").innerText(), /Mời công dân có số thứ tự[\s\S]*Bản có sẵn/);
  assert.match(await row("chime").innerText(), /Tiếng chuông/);

  // A file that is not Ogg: refused, with what is wrong, and nothing changes.
  await row("vi/invite").locator("input[type=file]").setInputFiles({ name: "ghi-am.wav", mimeType: "audio/wav", buffer: Buffer.from("RIFF\x24\x00\x00\x00WAVEfmt ") });
  await until(async () => (await page.locator("#voice-error").isVisible()) && /không phải Ogg/.test(await page.locator("#voice-error").innerText()), "refusal shown");
  assert.match(await page.locator("#voice-error").innerText(), /invite/);
  assert.match(await row("vi/invite").innerText(), /Bản có sẵn/);
  await shot(page, "admin-voice-refused");

  // The real upload.
  await row("vi/invite").locator("input[type=file]").setInputFiles(UPLOAD);
  await until(async () => /Đã thay “vi\/invite”/.test(await page.locator("#voice-ok").innerText()), "upload done");
  assert.equal(await page.locator("#voice-error").isVisible(), false);
  assert.match(await row("vi/invite").innerText(), /Bản của trung tâm · [\d,]+ giây · [\d,]+ KB · quanly/);
  assert.equal(await row("vi/invite").locator("[data-action=restore]").count(), 1);
  const listed = (await manager.get("/api/v1/admin/clips")).clips.find((c) => c.lang === "vi" && c.name === "invite");
  const version = listed.replaced.version;
  assert.equal(listed.url, `/audio/vi/invite.ogg?v=${version}`);
  await page.check("#v-replaced");
  assert.equal(await page.locator("#voice tr[data-clip]").count(), 1, "only the replaced clip listed");
  await page.uncheck("#v-replaced");
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, "admin-voice");

  // The hall display took the new clip without a reload: the next call plays the uploaded bytes.
  const newUrl = `/audio/vi/invite.ogg?v=${version}`;
  await until(() => hall.page.evaluate((u) => window.luotAnnouncer.plan("B017", 4)[0] === u, newUrl), "display knows the new clip");
  const issued = await fetch(`${server.base}/api/v1/sites/${SITE}/tickets`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.kioskToken}` },
    body: JSON.stringify({ service: "chung-thuc-ban-sao" }),
  }).then((r) => r.json());
  const n = issued.ticket.number;
  await official.post(`/api/v1/sites/${SITE}/counters/quay-3/call`, { number: n });
  const log = () => hall.page.evaluate(() => window.luotAnnouncer.log.map((x) => x.url || `tts:${x.tts}`));
  await until(async () => (await log()).includes(newUrl), "the call played the new clip", 30_000);
  const played = await log();
  assert.equal(played[played.indexOf(newUrl) - 1], "/audio/chime.ogg");
  assert.ok(!played.includes("/audio/vi/invite.ogg"), "the old clip is not played");
  await until(() => hall.fetched.has(newUrl), "new clip fetched");
  assert.equal(hall.fetched.get(newUrl), sha(UPLOADED), "the display received exactly the uploaded bytes");
  assert.equal(await hall.page.evaluate(() => location.href.includes("/display")), true);
  assert.deepEqual(hall.errors, []);

  // "Try a call" on the manager page says a sample call with the clips in use.
  await page.click("#v-try");
  const tryLog = () => page.evaluate(() => window.luotAdmin.announcer?.log.map((x) => x.url) || []);
  await until(async () => (await tryLog()).includes("/audio/vi/number_4.ogg"), "sample call played", 30_000);
  assert.deepEqual((await tryLog()).slice(0, 3), ["/audio/chime.ogg", newUrl, "/audio/vi/letter_b.ogg"]);

  // Back to the built-in clip, through the confirmation dialog.
  await row("vi/invite").locator("[data-action=restore]").click();
  await page.locator("#dlg-confirm").waitFor();
  await page.click("#confirm-ok");
  await until(async () => /trở về bản có sẵn/.test(await page.locator("#voice-ok").innerText()), "restored");
  assert.match(await row("vi/invite").innerText(), /Bản có sẵn/);
  await until(() => hall.page.evaluate(() => window.luotAnnouncer.plan("B017", 4)[0] === "/audio/vi/invite.ogg"), "display back to the built-in clip");
  const served = await fetch(`${server.base}/audio/vi/invite.ogg`).then((r) => r.arrayBuffer());
  assert.equal(sha(Buffer.from(served)), sha(BUILT_IN));

  // The audit log names both changes, in Vietnamese.
  await page.goto(`${server.base}/admin#audit`);
  await until(async () => (await page.locator("#audit").innerText()).includes("Thay đoạn giọng đọc"), "audit shows the upload");
  const audit = await page.locator("#audit").innerText();
  assert.match(audit, /Dùng lại giọng đọc có sẵn\s+vi\/invite\.ogg/);
  assert.match(audit, /quanly\s+Thay đoạn giọng đọc\s+vi\/invite\.ogg \d+ B/);
  assert.deepEqual(errors, []);
  await context.close();
  await hall.context.close();
});

test("with a template of its own, the tab shows the words no clip says; a phrase added for them is what the display plays", async () => {
  const manager = await loginOfficial(server, { role: "manager", counters: [], name: "quanly2" });
  const hall = await hallDisplay();
  // The center's own sentence, through the configuration API.
  const cfg = (await request(server, "GET", "/api/v1/admin/config", undefined, manager.cookie)).body;
  const mine = "Xin mời công dân số {ticket} đến quầy số {counter}";
  const text = cfg.toml.replace("Mời công dân có số thứ tự {ticket} đến quầy số {counter}", mine);
  assert.notEqual(text, cfg.toml);
  const put = await request(server, "PUT", "/api/v1/admin/config", { toml: text }, manager.cookie);
  assert.equal(put.status, 200, JSON.stringify(put.body));
  await until(() => hall.page.evaluate(() => window.luotAnnouncer.plan("B017", 4)[0]?.say === "xin mời công dân số"), "display has the new template");

  const { page, context, errors } = await voiceTab(manager);
  await until(() => page.evaluate(() => window.luotAdmin?.voice.loaded), "voice tab");
  assert.match(await page.locator("#v-template").innerText(), /Xin mời công dân số \{ticket\} đến quầy số \{counter\}/);
  assert.equal(await page.locator("#v-template .m-uncovered").innerText(), "Xin mời công dân số ");
  await page.locator("#v-coverage .m-chip", { hasText: "xin mời công dân số" }).click();
  assert.equal(await page.inputValue("#v-phrase-text"), "xin mời công dân số");
  // Without a file: said so, nothing sent.
  await page.click("#v-phrase-add");
  assert.match(await page.locator("#v-phrase-error").innerText(), /Chọn tệp ghi âm/);
  await page.fill("#v-phrase-text", "Xin mời công dân số");
  await page.setInputFiles("#v-phrase-file", UPLOAD);
  await page.click("#v-phrase-add");
  await until(async () => /Đã thêm câu “Xin mời công dân số” \(vi\/phrase_1\)/.test(await page.locator("#voice-ok").innerText()), "phrase added");
  assert.match(await page.locator("#v-coverage").innerText(), /Mọi phần của câu đều có đoạn ghi âm/);
  assert.match(await page.locator('#voice tr[data-clip="vi/phrase_1"]').innerText(), /Xin mời công dân số[\s\S]*Câu thêm của trung tâm/);
  await shot(page, "admin-voice-phrase");
  await page.click("#lang");
  assert.match(await page.locator("#v-coverage").innerText(), /Every part of the sentence has a recording/);
  assert.match(await page.locator('#voice tr[data-clip="vi/phrase_1"]').innerText(), /Center's phrase · [\d.]+ s/);
  assert.match(await page.locator("#voice-ok").innerText(), /Phrase “Xin mời công dân số” added \(vi\/phrase_1\)/);
  await shot(page, "admin-voice-phrase-en");
  await page.click("#lang");

  // The display composes the call with the new phrase, fetched from the server.
  const listed = (await manager.get("/api/v1/admin/clips")).clips.find((c) => c.name === "phrase_1");
  const url = `/audio/vi/phrase_1.ogg?v=${listed.replaced.version}`;
  await until(() => hall.page.evaluate((u) => window.luotAnnouncer.plan("B017", 4)[0] === u, url), "display uses the phrase");
  await until(() => hall.fetched.get(url) === sha(UPLOADED), "display fetched the phrase");

  // Removed through the dialog: the words are uncovered again, on the page and on the display.
  await page.locator('#voice tr[data-clip="vi/phrase_1"] [data-action=remove]').click();
  await page.click("#confirm-ok");
  await until(async () => /Đã xóa câu/.test(await page.locator("#voice-ok").innerText()), "removed");
  assert.equal(await page.locator('#voice tr[data-clip="vi/phrase_1"]').count(), 0);
  await until(async () => /Chưa có đoạn ghi âm cho/.test(await page.locator("#v-coverage").innerText()), "uncovered again");
  await until(() => hall.page.evaluate(() => window.luotAnnouncer.plan("B017", 4)[0]?.say === "xin mời công dân số"), "display without the phrase");
  assert.deepEqual(errors, []);
  assert.deepEqual(hall.errors, []);
  await context.close();
  await hall.context.close();
});

test("the Voice tab and its API refuse an official", async () => {
  const official = await loginOfficial(server, { counters: ["quay-1"] });
  for (const [method, p] of [["GET", "/api/v1/admin/clips"], ["DELETE", "/api/v1/admin/clips/vi/invite"]]) {
    const r = await request(server, method, p, undefined, official.cookie);
    assert.equal(r.status, 403, `${method} ${p}`);
  }
});
