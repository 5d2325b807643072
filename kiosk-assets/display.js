// Hall display: the board of counters, the call being announced (each new call gets its own
// few seconds, in order, however many counters call at once), recent calls, waiting per
// department, clock and the notice line; speaks every call (js/announcer.js).
import { connect, loadSetup, deviceToken, waitRange } from "/js/live.js";
import { createI18n } from "/js/i18n.js";
import { createAnnouncer } from "/js/announcer.js";
import { DISPLAY_TEXT } from "/js/text/display.js";
import { $, el } from "/js/dom.js";
import { serverNow, setServerTime } from "/js/clock.js";

/** How long each call stays the big one, at least. */
export const HIGHLIGHT_MS = 4500;
/** Calls older than this when they reach us (a replay after a long drop) are not re-announced. */
const FRESH_MS = 60_000;
const RECENT_SHOWN_DEFAULT = 6; // the site's recent_calls when the setup does not say

const params = new URLSearchParams(location.search);

const i18n = createI18n(DISPLAY_TEXT, () => render());

let setup = null;
let live = null;
let status = "connecting";

// The call queue for the big panel: each call gets HIGHLIGHT_MS, in order.
const pending = [];
let hero = null; // { id, number, counter, recall, flash }
let heroTimer = null;
const flashUntil = new Map(); // counter code → time its tile stops flashing
/** For tests and diagnostics. */
const shown = [];
/** ticket number → when the board first showed it at a counter (Date.now()). */
const boardAt = new Map();

let announcer = null; // created once the site's templates are known
/**
 * Calls this display has already shown (ticket id → called_at_ms). A resync (after a
 * configuration change or a dropped connection) takes a snapshot instead of the events it
 * missed; a call in that gap is only in the snapshot's recent calls, and must still be heard.
 */
const heard = new Map();
const HEARD_MAX = 500; // far more than a snapshot's recent calls
function hear(id, calledAt) {
  heard.delete(id);
  heard.set(id, calledAt);
  if (heard.size > HEARD_MAX) heard.delete(heard.keys().next().value);
}
let synced = false; // false until the first snapshot: a page (re)load announces nothing old

window.luotDisplay = {
  get status() { return status; },
  /** Every call that had its turn in the big panel, in order. */
  shown,
  get hero() { return hero && { ...hero }; },
  get pending() { return pending.map((p) => ({ ...p })); },
  /** When the board first showed `number` (ms since the epoch), or null. */
  boardAt(number) { return boardAt.get(number) ?? null; },
  /** counter code → the ticket number the board shows (or null). */
  board() {
    const out = {};
    for (const li of document.querySelectorAll(".h-tile")) out[li.dataset.counter] = li.querySelector(".h-tile-ticket").textContent.trim() || null;
    return out;
  },
  drop() { live?.drop(); },
};

function counterNumber(code) {
  return live?.state.counters.get(code)?.number ?? setup?.counters.find((c) => c.code === code)?.number ?? code;
}

function counterName(code) {
  return i18n.t("tile.counter", { n: counterNumber(code) });
}

/** What a counter's own name adds to "Quầy 10" ("Quầy 10 – Ưu tiên" → "Ưu tiên"), if anything. */
function counterTag(code) {
  const def = setup?.counters.find((c) => c.code === code);
  if (!def?.name) return "";
  const name = i18n.pick(def.name).trim();
  const plain = counterName(code);
  if (name === plain) return "";
  return name.startsWith(plain) ? name.slice(plain.length).replace(/^[\s–—:·-]+/, "") : name;
}

function enqueueCall(item) {
  // A recall of a call still waiting for its turn does not need a second turn.
  if (pending.some((p) => p.id === item.id && p.counter === item.counter)) return;
  pending.push(item);
  if (!heroTimer) nextHighlight();
  else render();
}

function nextHighlight() {
  if (!pending.length) {
    heroTimer = null;
    if (hero) hero.flash = false;
    render();
    return;
  }
  hero = { ...pending.shift(), flash: true };
  shown.push({ number: hero.number, counter: hero.counter, recall: hero.recall, at: Date.now() });
  if (shown.length > 200) shown.splice(0, shown.length - 200);
  flashUntil.set(hero.counter, Date.now() + 2400);
  render();
  heroTimer = setTimeout(nextHighlight, HIGHLIGHT_MS);
}

function onChange(state, why, msg) {
  if (why === "snapshot") {
    // Resynced: show what is true now. Calls made while this display was between sockets are
    // announced if still fresh; on the page's first snapshot nothing old is announced.
    const missed = state.recent.filter((t) => t.counter && t.called_at_ms != null && heard.get(t.id) !== t.called_at_ms);
    for (const t of missed) hear(t.id, t.called_at_ms);
    if (synced) {
      for (const t of missed.reverse()) {
        if (serverNow() - t.called_at_ms >= FRESH_MS) continue;
        enqueueCall({ id: t.id, number: t.number, counter: t.counter, recall: false });
        announcer?.announce({ ticket: t.number, counter: counterNumber(t.counter), recall: false });
      }
    }
    synced = true;
    // The big panel invites only someone a counter is still calling: after a reload a call
    // whose counter has since closed or moved on is history, shown in the strip only.
    if (!hero) {
      const t = state.recent.find((r) => stillCalling(state, r.id, r.counter));
      if (t) hero = { id: t.id, number: t.number, counter: t.counter, recall: false, flash: false };
    }
    if (hero && !heroTimer) hero.flash = false;
    render();
    return;
  }
  if (why && (why.type === "ticket_called" || why.type === "ticket_recalled")) {
    const t = msg?.ticket;
    if (t && why.type === "ticket_called" && t.called_at_ms != null) hear(t.id, t.called_at_ms);
    const fresh = !msg?.at_ms || serverNow() - msg.at_ms < FRESH_MS;
    if (t && fresh) {
      const recall = why.type === "ticket_recalled";
      enqueueCall({ id: t.id, number: t.number, counter: why.counter, recall });
      announcer?.announce({ ticket: t.number, counter: counterNumber(why.counter), recall });
    }
  }
  render();
}

function stillCalling(state, id, counter) {
  const c = state.counters.get(counter);
  return !!c && c.status !== "closed" && c.current?.id === id;
}

function onStatus(s) {
  status = s;
  renderStatus();
}

function renderStatus() {
  $("app").dataset.status = status;
  const stale = $("stale");
  stale.hidden = status === "live";
  $("stale-text").textContent = i18n.t(status === "refused" ? "refused" : status === "connecting" ? "connecting" : "stale");
}

function renderHero() {
  const box = $("hero");
  // A counter that closed or paused invites nobody, whatever it called last; nor does a call
  // whose ticket is waiting again (put back when its counter's console was gone, transferred).
  const heroCounter = hero && live ? live.state.counters.get(hero.counter) : null;
  if (hero && !hero.flash && heroCounter && (heroCounter.status !== "open" || live.state.waiting.has(hero.id))) hero = null;
  if (!hero) {
    box.dataset.state = "empty";
    $("hero-ticket").textContent = "—";
    $("hero-counter").textContent = "—";
  } else {
    box.dataset.state = hero.flash ? "flash" : "shown";
    $("hero-ticket").textContent = hero.number;
    $("hero-counter").textContent = counterNumber(hero.counter);
    // Restart the flash animation for each new call.
    if (hero.flash && box.dataset.flashed !== `${hero.id}:${shown.length}`) {
      box.dataset.flashed = `${hero.id}:${shown.length}`;
      box.style.animation = "none";
      void box.offsetWidth;
      box.style.animation = "";
    }
  }
  const more = $("hero-more");
  more.hidden = pending.length === 0;
  more.textContent = i18n.t("hero.more", { n: pending.length });
}

function renderTiles(state) {
  const list = $("tiles");
  const counters = [...state.counters.values()].sort((a, b) => a.number - b.number);
  const n = counters.length || 1;
  const rows = n <= 5 ? 1 : n <= 12 ? 2 : 3;
  list.style.setProperty("--cols", Math.ceil(n / rows));
  const now = Date.now();
  const items = counters.map((c) => {
    const li = el("li", "h-tile");
    li.dataset.counter = c.code;
    li.dataset.status = c.status;
    const cur = c.current;
    li.dataset.calling = String(!!cur && cur.state === "called");
    li.dataset.flash = String((flashUntil.get(c.code) || 0) > now);
    li.append(el("div", "h-tile-name", counterName(c.code)));
    const tag = counterTag(c.code);
    if (tag) li.append(el("div", "h-tile-tag", tag));
    const ticket = el("div", "h-tile-ticket tabular", cur ? cur.number : "—");
    if (cur && !boardAt.has(cur.number)) {
      boardAt.set(cur.number, Date.now());
      if (boardAt.size > 2000) boardAt.delete(boardAt.keys().next().value);
    }
    li.append(ticket);
    let st;
    if (c.status === "closed") st = i18n.t("tile.closed");
    else if (c.status === "paused") st = c.pause_reason ? `${i18n.t("tile.paused")}:\n${c.pause_reason}` : i18n.t("tile.paused");
    else if (!cur) st = i18n.t("tile.idle");
    else st = i18n.t(cur.state === "serving" ? "tile.serving" : "tile.called");
    li.append(el("div", "h-tile-state", st));
    li.setAttribute("aria-label", `${counterName(c.code)}: ${cur ? cur.number : ""} ${st}`);
    return li;
  });
  list.replaceChildren(...items);
}

function renderRecent(state) {
  const skip = new Set(pending.map((p) => p.id));
  if (hero) skip.add(hero.id);
  const n = setup?.recent_calls || RECENT_SHOWN_DEFAULT;
  const rows = state.recent.filter((t) => !skip.has(t.id)).slice(0, n);
  const list = $("recent");
  list.style.setProperty("--n", n);
  if (!rows.length) {
    list.replaceChildren(el("li", "h-recent-empty", i18n.t("recent.empty")));
    return;
  }
  list.replaceChildren(...rows.map((t) => {
    const li = el("li");
    li.append(el("span", "h-recent-ticket tabular", t.number));
    li.append(el("span", "h-recent-counter", `➜ ${i18n.t("tile.counter", { n: counterNumber(t.counter) })}`));
    return li;
  }));
  // Each call in its own column, the newest first: smaller text rather than a cut-off call.
  for (const li of list.children) fitText(li, 1, 0.5);
}

/**
 * Shrinks `box`'s text (font-size as a share of its CSS size, down to `min`) until it fits in
 * `lines` lines and its width. Text wraps at spaces only, so no word is ever cut.
 */
function fitText(box, lines, min) {
  box.style.fontSize = "";
  const base = parseFloat(getComputedStyle(box).fontSize);
  const tooBig = () => {
    const lh = parseFloat(getComputedStyle(box).lineHeight) || parseFloat(getComputedStyle(box).fontSize) * 1.2;
    return box.scrollWidth > box.clientWidth + 1 || (lines > 1 && box.scrollHeight > lh * lines + 2);
  };
  for (let k = 1; tooBig() && k >= min; k -= 0.05) box.style.fontSize = `${base * k}px`;
}

function renderDepts(state) {
  if (!setup) return;
  const list = $("depts");
  const items = setup.departments.map((d) => {
    const services = setup.services.filter((s) => s.department === d.code);
    let waiting = 0;
    let busiest = null;
    let anyCounter = false;
    for (const s of services) {
      const st = state.services.get(s.code);
      if (!st) continue;
      waiting += st.waiting;
      if (st.estimate?.counters > 0) anyCounter = true;
      // Like the kiosk's tile: the wait of the procedure with the most people waiting.
      if (st.waiting > 0 && (!busiest || st.waiting > busiest.waiting)) busiest = st;
    }
    const li = el("li", "h-dept");
    li.append(el("span", "h-dept-prefix", d.prefix));
    // "Đất đai – Xây dựng – Môi trường" wraps at its dashes, not inside "Xây dựng".
    const name = el("span", "h-dept-name");
    const parts = i18n.pick(d.name).split(/\s(?=[–—-]\s)/); // "Đất đai", "– Xây dựng", "– Môi trường"
    if (parts.length === 1) name.textContent = parts[0];
    else parts.forEach((part, k) => {
      const [dash, rest] = k ? [part.slice(0, 1), part.slice(2)] : ["", part];
      if (k) name.append(`\u00a0${dash} `); // the dash ends a line, never starts one
      name.append(el("span", "h-dept-name-part", rest));
    });
    li.append(name);
    let est;
    if (!anyCounter && waiting > 0) est = i18n.t("waiting.noCounter");
    else if (waiting === 0) est = i18n.t("waiting.none");
    else {
      const r = waitRange(busiest?.estimate, i18n.lang);
      est = !r ? i18n.t("waiting.noCounter") : busiest.estimate.uncertain ? r : i18n.t("waiting.est", { range: r });
    }
    li.append(el("span", "h-dept-est", est));
    const count = el("span", "h-dept-count tabular", String(waiting));
    count.append(el("small", null, i18n.t("waiting.people")));
    li.append(count);
    return li;
  });
  list.replaceChildren(...items);
  // Long names ("Đất đai – Xây dựng – Môi trường") take two lines, then smaller type; never "…".
  for (const name of list.querySelectorAll(".h-dept-name")) fitText(name, 2, 0.6);
}

function render() {
  i18n.apply(document);
  $("lang").textContent = i18n.t("lang.label");
  renderStatus();
  if (setup) {
    $("center-name").textContent = i18n.pick(setup.name);
    const notice = i18n.pick(setup.notice);
    if ($("notice").textContent !== notice) {
      $("notice").textContent = notice;
      // About 12 characters a second, whatever the length.
      $("notice").style.setProperty("--ticker-s", `${Math.max(20, Math.round(notice.length / 6))}s`);
    }
  }
  renderHero();
  if (!live) return;
  renderTiles(live.state);
  renderDepts(live.state);
  renderRecent(live.state);
}

function tick() {
  const tz = setup?.time_zone || "Asia/Ho_Chi_Minh";
  const now = new Date(serverNow());
  const locale = i18n.lang === "en" ? "en-GB" : "vi-VN";
  $("clock").textContent = new Intl.DateTimeFormat(locale, { timeZone: tz, hour: "2-digit", minute: "2-digit", hour12: false }).format(now);
  let date = new Intl.DateTimeFormat(locale, { timeZone: tz, weekday: "long", day: "2-digit", month: "2-digit", year: "numeric" }).format(now);
  $("date").textContent = date.charAt(0).toUpperCase() + date.slice(1);
  // Tiles stop flashing on time even when nothing else changes.
  if ([...flashUntil.values()].some((t) => t && t <= Date.now())) {
    for (const [k, t] of flashUntil) if (t <= Date.now()) flashUntil.delete(k);
    if (live) renderTiles(live.state);
  }
}

async function start() {
  $("lang").addEventListener("click", () => i18n.set(i18n.lang === "vi" ? "en" : "vi"));
  // A TV has no mouse: any key of its remote, a touch or a click turns the sound on.
  for (const ev of ["keydown", "pointerdown", "touchstart"]) {
    document.addEventListener(ev, () => { if (announcer?.blocked) announcer.unlock(); }, { capture: true, passive: true });
  }
  render();
  const site = params.get("site") || undefined;
  // The page works without the server's setup for a moment (it retries), never without it for good.
  for (let attempt = 0; !setup; attempt++) {
    try { setup = await loadSetup(site); } catch {
      status = "reconnecting";
      renderStatus();
      await new Promise((r) => setTimeout(r, Math.min(10_000, 1000 * 2 ** attempt)));
    }
  }
  announcer = createAnnouncer({
    templates: setup.announcement || {},
    voice: params.get("voice") || "vi",
    lang: i18n.lang,
    onBlocked: () => { $("sound").hidden = false; },
    onUnblocked: () => { $("sound").hidden = true; },
  });
  window.luotAnnouncer = announcer;
  announcer.load(); // clips decode in the background; a call before that plays them as it goes
  render();
  live = connect({
    role: "display",
    site: setup.site,
    deviceToken: deviceToken("display") || undefined,
    onWelcome: (w) => { setServerTime(w.server_time_ms); tick(); },
    onChange,
    onStatus,
    // A manager changed the center (notice line, names, counters, voice clips): redraw without
    // a reload.
    async onConfig() {
      setup = await loadSetup(setup.site);
      announcer.setTemplates?.(setup.announcement || {});
      announcer.load(); // a voice clip replaced on the administration pages: fetch the new one
      render();
    },
  });
  setInterval(tick, 1000);
  tick();
}

start();
