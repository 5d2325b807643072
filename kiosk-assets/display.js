// Hall display: the board of counters, the call being announced (each new call gets its own
// few seconds, in order, however many counters call at once), recent calls, waiting per
// department, clock and the notice line; speaks every call (js/announcer.js).
import { connect, loadSetup, deviceToken, waitRange } from "/js/live.js";
import { createI18n } from "/js/i18n.js";
import { createAnnouncer } from "/js/announcer.js";

/** How long each call stays the big one, at least. */
export const HIGHLIGHT_MS = 4500;
/** Calls older than this when they reach us (a replay after a long drop) are not re-announced. */
const FRESH_MS = 60_000;
const RECENT_SHOWN = 8;

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);

const i18n = createI18n({
  vi: {
    sub: "Màn hình gọi số",
    "lang.aria": "Chuyển sang tiếng Anh",
    "lang.label": "EN",
    stale: "Mất kết nối — đang kết nối lại. Thông tin trên màn hình có thể đã cũ.",
    connecting: "Đang kết nối máy chủ…",
    refused: "Màn hình chưa được ghép nối hoặc đã bị thu hồi. Hãy mở lại đường dẫn có mã thiết bị.",
    "hero.label": "Mời công dân có số thứ tự",
    "hero.counter": "Quầy",
    "hero.recall": "Gọi lại",
    "hero.more": "+{n} số tiếp theo",
    "board.title": "Các quầy",
    "recent.title": "Vừa gọi",
    "recent.empty": "Chưa gọi số nào",
    "waiting.title": "Đang chờ theo lĩnh vực",
    "waiting.people": "người chờ",
    "waiting.none": "Không phải chờ",
    "waiting.noCounter": "Chưa có quầy mở",
    "waiting.est": "khoảng {range}",
    "tile.counter": "Quầy {n}",
    "tile.closed": "Đóng",
    "tile.paused": "Tạm dừng",
    "tile.idle": "Sẵn sàng",
    "tile.called": "Đang mời",
    "tile.serving": "Đang phục vụ",
    "notice.aria": "Thông báo",
    "sound.hint": "Trình duyệt chặn tự phát âm thanh. Bấm một lần để bật đọc số.",
  },
  en: {
    sub: "Now calling",
    "lang.aria": "Switch to Vietnamese",
    "lang.label": "VI",
    stale: "Connection lost — reconnecting. What the screen shows may be out of date.",
    connecting: "Connecting to the server…",
    refused: "This display is not paired or was revoked. Open the link with its device code again.",
    "hero.label": "Now calling ticket",
    "hero.counter": "Counter",
    "hero.recall": "Recall",
    "hero.more": "+{n} more calls",
    "board.title": "Counters",
    "recent.title": "Recent calls",
    "recent.empty": "No calls yet",
    "waiting.title": "Waiting by department",
    "waiting.people": "waiting",
    "waiting.none": "No wait",
    "waiting.noCounter": "No counter open",
    "waiting.est": "about {range}",
    "tile.counter": "Counter {n}",
    "tile.closed": "Closed",
    "tile.paused": "Paused",
    "tile.idle": "Ready",
    "tile.called": "Calling",
    "tile.serving": "Serving",
    "notice.aria": "Notice",
    "sound.hint": "The browser blocks sound until someone clicks. Click once to turn on the voice calls.",
  },
}, () => render());

let setup = null;
let live = null;
let status = "connecting";
let clockOffset = 0; // server time − local time
const serverNow = () => Date.now() + clockOffset;

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
    // Resynced: show what is true now; announce nothing old.
    if (!hero && state.recent[0]) {
      const t = state.recent[0];
      hero = { id: t.id, number: t.number, counter: t.counter, recall: false, flash: false };
    }
    if (hero && !heroTimer) hero.flash = false;
    render();
    return;
  }
  if (why && (why.type === "ticket_called" || why.type === "ticket_recalled")) {
    const t = msg?.ticket;
    const fresh = !msg?.at_ms || serverNow() - msg.at_ms < FRESH_MS;
    if (t && fresh) {
      const recall = why.type === "ticket_recalled";
      enqueueCall({ id: t.id, number: t.number, counter: why.counter, recall });
      announcer?.announce({ ticket: t.number, counter: counterNumber(why.counter), recall });
    }
  }
  render();
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

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

function renderHero() {
  const box = $("hero");
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
    else if (c.status === "paused") st = c.pause_reason ? `${i18n.t("tile.paused")}: ${c.pause_reason}` : i18n.t("tile.paused");
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
  const rows = state.recent.filter((t) => !skip.has(t.id)).slice(0, RECENT_SHOWN);
  const list = $("recent");
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
  // As many as fit: the newest first, never a half-cut one.
  while (list.children.length > 1 && list.scrollWidth > list.clientWidth + 1) list.lastChild.remove();
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
    li.append(el("span", "h-dept-name", i18n.pick(d.name)));
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
  $("sound-btn").addEventListener("click", () => announcer?.unlock());
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
    onWelcome: (w) => { clockOffset = w.server_time_ms - Date.now(); tick(); },
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
