// The screen above one counter: its number and the ticket it calls or serves, large; paused and
// closed states; a visible marker when the connection is not live.
import { connect, loadSetup, deviceToken } from "/js/live.js";
import { createI18n } from "/js/i18n.js";
import { COUNTER_DISPLAY_TEXT } from "/js/text/counter-display.js";
import { $ } from "/js/dom.js";
import { serverNow, setServerTime } from "/js/clock.js";

const params = new URLSearchParams(location.search);

const i18n = createI18n(COUNTER_DISPLAY_TEXT, () => render());

let setup = null;
let live = null;
let code = params.get("counter");
let status = "connecting";
let lastCall = null;

window.luotCounterDisplay = {
  get status() { return status; },
  get ticket() { return $("ticket").textContent.trim(); },
  get state() { return $("app").dataset.state; },
  /** Every ticket number this screen showed as called, in order. */
  calls: [],
  /** When each of `calls` was shown (ms since the epoch). */
  callTimes: [],
  drop() { live?.drop(); },
};

function render() {
  i18n.apply(document);
  const app = $("app");
  app.dataset.status = status;
  const stale = $("stale");
  stale.hidden = status === "live";
  stale.textContent = i18n.t(status === "refused" ? "refused" : "stale");
  if (!setup || !code) return;
  const def = setup.counters.find((c) => c.code === code);
  $("counter-name").textContent = def ? (def.name ? i18n.pick(def.name) : i18n.t("counter", { n: def.number })) : code;
  const c = live?.state.counters.get(code);
  if (!c) return;
  const cur = c.current;
  let state;
  if (c.status === "closed") state = "closed";
  else if (cur) state = cur.state === "serving" ? "serving" : "called";
  else if (c.status === "paused") state = "paused";
  else state = "idle";
  app.dataset.state = state;
  const svc = cur && setup.services.find((s) => s.code === cur.service);
  if (state === "closed") {
    $("label").textContent = "";
    $("ticket").textContent = i18n.t("closed");
    $("service").textContent = i18n.t("closedSub");
  } else if (state === "paused") {
    $("label").textContent = "";
    $("ticket").textContent = i18n.t("paused");
    $("service").textContent = c.pause_reason || "";
  } else {
    $("label").textContent = i18n.t(state);
    $("ticket").textContent = cur ? cur.number : "—";
    $("service").textContent = svc ? i18n.pick(svc.name) + (cur.recalls ? ` · ${i18n.t("recall", { n: cur.recalls })}` : "") : "";
  }
  // Flash again on every new call or recall.
  const key = cur && cur.state === "called" ? `${cur.id}:${cur.recalls}` : null;
  if (key && key !== lastCall) {
    lastCall = key;
    window.luotCounterDisplay.calls.push(cur.number);
    window.luotCounterDisplay.callTimes.push(Date.now());
    const body = document.querySelector(".cd-body");
    body.style.animation = "none";
    void body.offsetWidth;
    body.style.animation = "";
  }
}

function tick() {
  const tz = setup?.time_zone || "Asia/Ho_Chi_Minh";
  $("clock").textContent = new Intl.DateTimeFormat("vi-VN", { timeZone: tz, hour: "2-digit", minute: "2-digit", hour12: false }).format(new Date(serverNow()));
}

async function start() {
  const token = deviceToken("counter-display");
  for (let attempt = 0; !setup; attempt++) {
    try { setup = await loadSetup(params.get("site") || undefined); } catch {
      status = "reconnecting";
      render();
      await new Promise((r) => setTimeout(r, Math.min(10_000, 1000 * 2 ** attempt)));
    }
  }
  if (!code && token) {
    // A paired counter display knows its counter.
    try {
      const me = await (await fetch("/api/v1/me", { headers: { Authorization: `Bearer ${token}` } })).json();
      code = me.counter || null;
    } catch { /* stays without */ }
  }
  if (!code) {
    $("ticket").textContent = "";
    $("label").textContent = i18n.t("noCounter");
    return;
  }
  live = connect({
    role: "display",
    site: setup.site,
    deviceToken: token || undefined,
    onWelcome: (w) => { setServerTime(w.server_time_ms); tick(); },
    onChange: () => render(),
    onStatus: (s) => { status = s; render(); },
    async onConfig() {
      setup = await loadSetup(setup.site);
      render();
    },
  });
  render();
  setInterval(tick, 1000);
  tick();
}

start();
