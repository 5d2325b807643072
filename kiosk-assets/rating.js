// Rating tablet: a paired device (kind "rating") bound to one counter, facing the citizen.
// Asleep it invites a rating; when the official at its counter completes a ticket
// (`service_completed`) it wakes with the ticket number, the official's name and the configured
// scale as large buttons. A low score (the lower half of the scale) asks why (chips from
// `setup.rating.low_score_reasons` + free text); then thanks, and back to sleep. Without an answer
// it goes back to sleep by itself (a chosen low score is sent without a reason). The server accepts
// one rating per ticket, from this counter's tablet, within `setup.rating.window_s`; its refusals
// are said politely. Options: ?lang=en; for tests ?ask_s=, ?why_s=, ?done_s= (timeouts, seconds).
import { connect, loadSetup, deviceToken, CommandError } from "/js/live.js";
import { createI18n } from "/js/i18n.js";
import { scaleColors } from "/js/charts.js";
import { utf8Truncate } from "/js/rules.js";
import { RATING_TEXT } from "/js/text/rating.js";
import { $, el } from "/js/dom.js";
import { serverNow, setServerTime } from "/js/clock.js";

const params = new URLSearchParams(location.search);
const secs = (name, dflt) => {
  const v = Number(params.get(name));
  return (Number.isFinite(v) && v > 0 ? v : dflt) * 1000;
};
/** No touch on the scale for this long: back to sleep. */
const ASK_MS = secs("ask_s", 60);
/** No touch on the reasons for this long: the chosen score is sent without a reason. */
const WHY_MS = secs("why_s", 45);
/** Thanks (or a refusal) stays this long. */
const DONE_MS = secs("done_s", 6);
/** The server keeps at most 500 bytes of reason. */
const REASON_BYTES_MAX = 500;

const i18n = createI18n(RATING_TEXT, () => render());
const homeLang = i18n.lang;

// ---------- state ----------
let setup = null;
let device = null; // { device, kind, name, site, counter }
let live = null;
let status = "connecting";
let screen = "loading";
let ask = null; // { id, number, official, finishedAt } — the ticket being rated
let score = null;
const reasons = new Set();
let sending = false;
let timer = null;
let setupKey = "setup.text"; // why the tablet cannot work (screen "setup")
let doneState = null; // { kind, error } on the "done" screen
let officials = new Map(); // login → display name

/** For tests: what the tablet did and what the server answered. */
const results = [];
window.luotRating = {
  results,
  get status() { return status; },
  get screen() { return screen; },
  get counter() { return device?.counter ?? null; },
  get ticket() { return ask?.number ?? null; },
  /** The last event applied, so a test can wait for an event before checking what it did. */
  get seq() { return live?.state?.seq ?? 0; },
};

function show(next) {
  screen = next;
  $("app").dataset.screen = next;
  for (const s of ["idle", "ask", "why", "done", "setup"]) $(`screen-${s}`).hidden = s !== next;
}

function after(ms, fn) {
  clearTimeout(timer);
  timer = ms == null ? null : setTimeout(fn, ms);
}

// ---------- drawing ----------
function counterLabel() {
  const c = setup?.counters.find((x) => x.code === device?.counter);
  if (!c) return device?.counter || "";
  return c.name && (c.name.vi || c.name.en) ? i18n.pick(c.name) : i18n.t("counter.n", { n: c.number });
}

/** A face from smiling (t = 1) to frowning (t = -1), in `color`. */
function face(t, color) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 48 48");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.classList.add("r-face");
  const add = (tag, attrs) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    svg.append(e);
  };
  add("circle", { cx: 24, cy: 24, r: 21, fill: color });
  add("circle", { cx: 17, cy: 19, r: 2.8, fill: "#fff" });
  add("circle", { cx: 31, cy: 19, r: 2.8, fill: "#fff" });
  const y = 32 - 2 * t;
  add("path", { d: `M14.5 ${y} Q24 ${y + 11 * t} 33.5 ${y}`, fill: "none", stroke: "#fff", "stroke-width": 3.2, "stroke-linecap": "round" });
  return svg;
}

/** #rrggbb mixed with white: 0 → the colour, 1 → white. */
function tint(hex, t) {
  const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgb(${c.map((x) => Math.round(x + (255 - x) * t)).join(" ")})`;
}

function labels() { return setup?.rating?.labels || []; }
function isLow(s) { return s != null && s > Math.floor(labels().length / 2); }

function renderScale() {
  const n = labels().length;
  const colors = scaleColors(n);
  $("scale").dataset.levels = String(n);
  $("scale").replaceChildren(...labels().map((label, i) => {
    const b = el("button", "r-score");
    b.type = "button";
    b.dataset.score = String(i + 1);
    b.style.setProperty("--level", colors[i]);
    b.style.setProperty("--level-soft", tint(colors[i], 0.86));
    b.append(face(n > 1 ? 1 - (2 * i) / (n - 1) : 1, colors[i]), el("span", "r-score-label", i18n.pick(label)));
    b.addEventListener("click", () => choose(i + 1));
    return b;
  }));
  $("idle-faces").replaceChildren(...colors.map((c, i) => face(n > 1 ? 1 - (2 * i) / (n - 1) : 1, c)));
}

function renderChips() {
  const list = setup?.rating?.low_score_reasons || [];
  $("chips").replaceChildren(...list.map((r, i) => {
    const b = el("button", "r-chip", i18n.pick(r));
    b.type = "button";
    b.dataset.reason = String(i);
    b.setAttribute("aria-pressed", String(reasons.has(i)));
    b.addEventListener("click", () => {
      if (reasons.has(i)) reasons.delete(i); else reasons.add(i);
      b.setAttribute("aria-pressed", String(reasons.has(i)));
      touch();
      // "Khác" (other): go straight to the text box.
      if (reasons.has(i) && i === list.length - 1 && /^(khác|other)$/i.test(r.vi.trim())) $("why-text").focus();
    });
    return b;
  }));
}

function render() {
  i18n.apply(document);
  $("lang").textContent = i18n.t("lang.label");
  if (setup) $("site-name").textContent = i18n.pick(setup.name);
  $("counter-name").textContent = counterLabel();
  $("idle-counter").textContent = device ? i18n.t("idle.counter", { c: counterLabel() }) : "";
  const conn = $("conn");
  conn.hidden = status === "live" || screen === "setup";
  conn.dataset.status = status;
  conn.textContent = i18n.t(status === "connecting" ? "conn.connecting" : "conn.reconnecting");
  $("app").dataset.status = status;
  if (setup) {
    renderScale();
    renderChips();
  }
  if (ask) {
    $("ask-number").textContent = ask.number;
    const name = officialName(ask.official);
    $("ask-official-row").hidden = !name;
    $("ask-official").textContent = name || "";
  }
  $("setup-text").textContent = i18n.t(setupKey);
  if (doneState) renderDone();
  if (score != null && labels()[score - 1]) {
    const n = labels().length;
    const color = scaleColors(n)[score - 1];
    $("chosen-score").replaceChildren(face(n > 1 ? 1 - (2 * (score - 1)) / (n - 1) : 1, color), document.createTextNode(i18n.pick(labels()[score - 1])));
  }
  $("why-send").disabled = sending;
  $("why-skip").disabled = sending;
  $("why-send").textContent = i18n.t(sending ? "why.sending" : "why.send");
}

function officialName(login) {
  if (!login) return null;
  return officials.get(login) || null;
}

async function loadOfficials() {
  if (!setup) return;
  try {
    const res = await fetch(`/api/v1/sites/${encodeURIComponent(setup.site)}/officials`);
    if (!res.ok) return;
    const list = await res.json();
    officials = new Map(list.map((o) => [o.login, o.display_name || o.login]));
  } catch { /* names are a nicety */ }
}

// ---------- flow ----------
function sleep() {
  ask = null;
  doneState = null;
  score = null;
  reasons.clear();
  sending = false;
  after(null);
  if (i18n.lang !== homeLang) i18n.set(homeLang); // the next citizen starts in the default language
  show(device ? "idle" : "setup");
  render();
}

/** Any touch keeps the current screen a while longer. */
function touch() {
  if (screen === "ask") after(askTimeout(), sleep);
  if (screen === "why") after(Math.min(WHY_MS, askTimeout()), () => send(false));
}

/** Until the rating window closes, at most ASK_MS. */
function askTimeout() {
  if (!ask) return ASK_MS;
  const windowMs = (setup?.rating?.window_s ?? 1800) * 1000;
  const left = ask.finishedAt ? ask.finishedAt + windowMs - serverNow() : ASK_MS;
  return Math.max(1000, Math.min(ASK_MS, left));
}

function wake(ticket, official) {
  ask = {
    id: ticket.id,
    number: ticket.number,
    official: ticket.official || official || null,
    finishedAt: ticket.finished_at_ms || serverNow(),
  };
  score = null;
  reasons.clear();
  sending = false;
  $("why-text").value = "";
  $("why-error").hidden = true;
  if (ask.official && !officials.has(ask.official)) loadOfficials().then(render);
  show("ask");
  render();
  after(askTimeout(), sleep);
}

function choose(s) {
  if (!ask || sending) return;
  score = s;
  if (isLow(s)) {
    show("why");
    render();
    after(Math.min(WHY_MS, askTimeout()), () => send(false));
    return;
  }
  send(false);
}

/** Sends the chosen score, with the reasons when `withReason`. */
async function send(withReason) {
  if (!ask || score == null || sending) return;
  sending = true;
  after(null);
  render();
  const cmd = { type: "rate", number: ask.number, score };
  if (withReason) {
    const list = setup.rating.low_score_reasons || [];
    const parts = [...reasons].sort((a, b) => a - b).map((i) => list[i]?.vi).filter(Boolean);
    const free = $("why-text").value.trim();
    if (free) parts.push(free);
    if (parts.length) cmd.reason = utf8Truncate(parts.join("; "), REASON_BYTES_MAX);
  }
  try {
    await live.send(cmd);
    results.push({ number: ask.number, score, reason: cmd.reason ?? null, ok: true });
    done("ok");
  } catch (e) {
    const code = e instanceof CommandError ? e.code : "error";
    results.push({ number: ask.number, score, ok: false, code });
    if (code === "already_rated") done("already");
    else if (code === "rating_window_passed" || code === "ticket_not_done") done("late");
    else done("failed", e);
  } finally {
    sending = false;
    render();
  }
}

function done(kind, error) {
  doneState = { kind, error };
  renderDone();
  show("done");
  // A failure keeps the score so "Thử gửi lại" can send it; it still goes to sleep in the end.
  after(kind === "failed" ? Math.max(DONE_MS, 15_000) : DONE_MS, sleep);
}

/** The big round mark of the last screen, drawn (no emoji font needed). */
function markIcon(kind) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 48 48");
  svg.setAttribute("aria-hidden", "true");
  const path = (d, extra = {}) => {
    const p = document.createElementNS(ns, "path");
    p.setAttribute("d", d);
    p.setAttribute("fill", "none");
    p.setAttribute("stroke", "currentColor");
    p.setAttribute("stroke-width", "5");
    p.setAttribute("stroke-linecap", "round");
    p.setAttribute("stroke-linejoin", "round");
    for (const [k, v] of Object.entries(extra)) p.setAttribute(k, v);
    svg.append(p);
  };
  if (kind === "check") path("M12 25 L21 34 L37 15");
  else if (kind === "clock") { path("M24 6 a18 18 0 1 0 0.01 0", { "stroke-width": "4" }); path("M24 13 V24 L31 29", { "stroke-width": "4" }); }
  else { path("M24 11 V28"); path("M24 36 V36.5", { "stroke-width": "6" }); }
  return svg;
}

function renderDone() {
  const { kind, error } = doneState;
  const n = ask?.number ?? "";
  const mark = $("done-mark");
  mark.dataset.kind = kind;
  mark.replaceChildren(markIcon(kind === "ok" || kind === "already" ? "check" : kind === "late" ? "clock" : "bang"));
  const [title, text] = {
    ok: ["done.thanks", "done.thanksText"],
    already: ["done.already", "done.alreadyText"],
    late: ["done.late", "done.lateText"],
    failed: ["done.failed", "done.failedText"],
  }[kind];
  $("done-title").textContent = i18n.t(title, { n });
  let body = i18n.t(text, { n });
  if (kind === "failed" && error instanceof CommandError && !["disconnected", "timeout"].includes(error.code)) {
    body = `${error.text(i18n.lang) || error.code}. ${body}`;
  }
  $("done-text").textContent = body;
  $("done-retry").hidden = kind !== "failed";
}

// ---------- live ----------
function onChange(state, why, msg) {
  if (!why || typeof why !== "object" || !device) return;
  if (why.type === "service_completed" && why.counter === device.counter && msg?.ticket) {
    wake(msg.ticket, state.counters.get(device.counter)?.official);
  } else if (why.type === "ticket_rated" && ask && why.ticket === ask.id && !sending && screen !== "done") {
    // Rated on the citizen's phone meanwhile.
    done("already");
  }
}

function startLive(token) {
  live = connect({
    role: "rating",
    site: setup.site,
    deviceToken: token,
    onWelcome: (w) => { setServerTime(w.server_time_ms); },
    onChange,
    onStatus: (s) => {
      status = s;
      if (s === "refused") {
        device = null;
        setupKey = "setup.refused";
        sleep();
      }
      render();
    },
    onConfig: async () => {
      try { setup = await loadSetup(setup.site); } catch { return; }
      render();
    },
  });
}

async function boot() {
  $("lang").addEventListener("click", () => { i18n.set(i18n.lang === "vi" ? "en" : "vi"); touch(); });
  $("why-send").addEventListener("click", () => send(true));
  $("why-skip").addEventListener("click", () => send(false));
  $("why-text").addEventListener("input", touch);
  $("why-text").addEventListener("keydown", (e) => { if (e.key === "Enter") send(true); });
  $("done-retry").addEventListener("click", () => { if (ask && score != null) send(true); });
  document.addEventListener("pointerdown", touch, { passive: true });

  const token = deviceToken("rating");
  if (!token) {
    show("setup");
    render();
    return;
  }
  // Who this tablet is: its counter comes from the pairing.
  for (let n = 0; !device; n++) {
    try {
      const res = await fetch("/api/v1/me", { headers: { authorization: `Bearer ${token}` } });
      if (res.status === 401 || res.status === 403) {
        setupKey = "setup.refused";
        show("setup");
        render();
        return;
      }
      if (res.ok) {
        const me = await res.json();
        if (me.kind !== "rating" || !me.counter) {
          setupKey = "setup.wrongKind";
          show("setup");
          render();
          return;
        }
        device = me;
      }
    } catch { /* the server is not up yet */ }
    if (!device) await new Promise((r) => setTimeout(r, Math.min(10_000, 1000 * 2 ** n)));
  }
  for (let n = 0; !setup; n++) {
    try { setup = await loadSetup(device.site); } catch {
      await new Promise((r) => setTimeout(r, Math.min(10_000, 1000 * 2 ** n)));
    }
  }
  await loadOfficials();
  sleep();
  startLive(token);
}

boot();
