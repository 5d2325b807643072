// The phone ticket page, `/t/<token>` (opened from the ticket's QR code, no login): the number,
// the place in the queue and the wait, live; when called, a big "Mời đến quầy 4" with vibration,
// the chime and a system notification where allowed; after service, a one-time rating; and
// "cancel my ticket".

import { connect, loadSetup } from "/js/live.js";
import { waitText, utf8Truncate } from "/js/rules.js";
import { createI18n } from "/js/i18n.js";
import { PHONE_TEXT as dict } from "/js/text/phone.js";
import { request } from "/js/api.js";
import { $, el } from "/js/dom.js";
import { serverNow, setServerTime } from "/js/clock.js";

/** After a queue change, ask for the fresh estimate this long later (changes come in bursts). */
const REFRESH_DEBOUNCE_MS = 1500;
/** Rating reason: the server keeps at most 500 bytes. */
const REASON_BYTES_MAX = 500;
const VIBRATE_CALLED = [500, 200, 500, 200, 800];

const i18n = createI18n(dict, () => render());
const t = (k, v) => i18n.t(k, v);

const token = decodeURIComponent(location.pathname.split("/t/")[1] || new URLSearchParams(location.search).get("token") || "").replace(/\/.*$/, "");
const api = `/api/v1/tickets/${encodeURIComponent(token)}`;

let setup = null;
let ticket = null;
let live = null;
let status = "connecting";
let unknown = false;
let score = null;
const reasons = new Set();
let rated = false;
let rateSending = false;
let alertsOn = false;
let lastAlertKey = null;
let refreshTimer = null;
let lastStatsKey = null;
const chime = new Audio("/audio/chime.ogg");
chime.preload = "auto";

// ----- helpers -----
const tz = () => setup?.time_zone || "Asia/Ho_Chi_Minh";
const hhmm = (ms) => new Intl.DateTimeFormat("en-GB", { timeZone: tz(), hourCycle: "h23", hour: "2-digit", minute: "2-digit" }).format(ms);
const isoDay = (ms) => new Intl.DateTimeFormat("en-CA", { timeZone: tz(), year: "numeric", month: "2-digit", day: "2-digit" }).format(ms);

/**
 * The ticket's `past_session` (its wait may run past lunch or closing) in words: the same as the
 * kiosk and the printed ticket (`luot_proto::session_note`).
 */
function sessionNote(session) {
  const [day, time] = (session.resumes || "").split(" ");
  if (day && day === isoDay(serverNow())) {
    return t(Number(time.slice(0, 2)) >= 12 ? "session.afternoon" : "session.break", { t: time });
  }
  return t("session.closing", { t: session.ends });
}
const ddmm = (ms) => new Intl.DateTimeFormat("en-GB", { timeZone: tz(), day: "2-digit", month: "2-digit", year: "numeric" }).format(ms);

function counterNumber(code) {
  if (!code) return null;
  return setup?.counters.find((c) => c.code === code)?.number ?? code;
}
const serviceDef = () => setup?.services.find((s) => s.code === ticket?.service);

// ----- rendering -----
function render() {
  $("lang").textContent = t("lang.button");
  $("lang").setAttribute("lang", i18n.lang === "vi" ? "en" : "vi");
  if (setup) $("site-name").textContent = i18n.pick(setup.name);
  renderLive();
  if (unknown) {
    document.body.dataset.state = "unknown";
    $("number").textContent = "—";
    $("status-main").textContent = t("state.unknown");
    $("status-sub").textContent = t("state.unknown.sub");
    $("facts").hidden = true;
    $("alerts-btn").hidden = true;
    $("alerts-hint").hidden = true;
    $("cancel-btn").hidden = true;
    return;
  }
  if (!ticket || !setup) return;
  const svc = serviceDef();
  const state = ticket.state;
  document.body.dataset.state = state;
  $("number").textContent = ticket.number;
  $("service").textContent = svc ? i18n.pick(svc.name) : ticket.service;
  const prio = ticket.priority ? setup.priority_categories.find((p) => p.code === ticket.priority) : null;
  $("prio").hidden = !prio;
  if (prio) $("prio").textContent = t("ticket.priority", { p: i18n.pick(prio.name) });

  const c = counterNumber(ticket.counter);
  const main = $("status-main");
  const sub = $("status-sub");
  sub.textContent = "";
  const est = ticket.estimate;
  const w = waitText(est, i18n.lang);
  switch (state) {
    case "waiting": {
      if (ticket.target_counter) {
        // Sent to one counter: its own line, called there before anything else.
        const to = t("counters", { list: counterNumber(ticket.target_counter) });
        const status = live?.state.counters.get(ticket.target_counter)?.status;
        main.textContent = est ? (est.ahead > 0 ? t("state.waiting.ahead", { n: est.ahead }) : t("state.waiting.next")) : t("state.waiting");
        if (w) sub.textContent = t("state.transferred.wait", { c: to, w });
        else if (status === "closed" || status === "paused") sub.textContent = t(`state.transferred.${status}`, { c: to });
        else sub.textContent = t("state.transferred", { c: to });
      } else if (est) {
        main.textContent = est.ahead > 0 ? t("state.waiting.ahead", { n: est.ahead }) : t("state.waiting.next");
        sub.textContent = w ? t("state.waiting.sub", { w }) : t("wait.unknown");
      } else {
        main.textContent = t("state.waiting");
      }
      if (ticket.past_session) sub.textContent += `${sub.textContent ? ". " : ""}${sessionNote(ticket.past_session)}`;
      break;
    }
    case "called":
      main.textContent = t("state.called", { c });
      sub.textContent = ticket.recalls > 0 ? `${t("state.recalled", { r: ticket.recalls })} · ${t("state.called.sub", { n: ticket.number, c })}` : t("state.called.sub", { n: ticket.number, c });
      break;
    case "serving":
      main.textContent = t("state.serving", { c });
      break;
    case "done":
      main.textContent = t("state.done");
      sub.textContent = t("state.done.sub");
      break;
    case "no_show":
      main.textContent = t("state.no_show");
      sub.textContent = t("state.no_show.sub", { m: Math.round((setup.policy?.no_show_return_s ?? 1800) / 60) });
      break;
    default:
      main.textContent = dict.vi[`state.${state}`] ? t(`state.${state}`) : state;
      sub.textContent = dict.vi[`state.${state}.sub`] ? t(`state.${state}.sub`) : "";
  }
  renderAway();
  const waiting = state === "waiting";
  $("facts").hidden = !waiting;
  if (waiting) {
    $("fact-counters").textContent = ticket.target_counter
      ? t("counters", { list: counterNumber(ticket.target_counter) })
      : svc ? t("counters", { list: svc.counters.join(", ") }) : "—";
  }
  const active = waiting || state === "called";
  $("alerts-btn").hidden = !active;
  $("alerts-hint").hidden = !active;
  $("alerts-text").textContent = alertsOn ? (alertsOn === "denied" ? t("alerts.denied") : t("alerts.on")) : t("alerts.enable");
  $("alerts-btn").setAttribute("aria-pressed", String(!!alertsOn));
  $("cancel-btn").hidden = !waiting;
  if (!waiting) $("cancel-confirm").hidden = true;
  $("issued").textContent = t("issued", { t: `${hhmm(ticket.issued_at_ms)} · ${ddmm(ticket.issued_at_ms)}` });
  document.title = state === "called" ? `${ticket.number} → ${t("state.called", { c })}` : `${ticket.number} · ${main.textContent}`;
  renderRating();
}

/** A number taken from home, not checked in yet: how to check in, and when to be there. */
function renderAway() {
  const away = ticket.state === "waiting" && ticket.away === true;
  $("away").hidden = !away;
  document.body.dataset.away = String(away);
  if (!away) return;
  $("away-how").textContent = t("away.how", { n: ticket.number });
  const qr = $("away-qr");
  const src = `${api}/qr.svg`;
  if (qr.getAttribute("src") !== src) qr.setAttribute("src", src);
  qr.alt = t("away.qr", { n: ticket.number });
  const est = ticket.estimate;
  const when = $("away-when");
  if (ticket.hold_until_ms) {
    const late = serverNow() > ticket.hold_until_ms;
    when.textContent = t(late ? "away.dropped" : "away.held", { t: hhmm(ticket.hold_until_ms) });
  } else if (est && est.low_s != null && est.high_s != null && !est.uncertain) {
    const now = serverNow();
    when.textContent = t("away.when", { from: hhmm(now + est.low_s * 1000), to: hhmm(now + est.high_s * 1000) });
  } else {
    when.textContent = t("away.unknown");
  }
}

function renderLive() {
  const on = status === "live";
  document.body.dataset.live = status;
  $("live-text").textContent = on ? t("live.on") : status === "connecting" ? t("live.connecting") : t("live.off");
}

function canRate() {
  if (!ticket || ticket.state !== "done" || !setup?.rating?.labels?.length) return false;
  if (ticket.rating != null || rated) return false;
  const windowMs = (setup.rating.window_s ?? 1800) * 1000;
  return !ticket.finished_at_ms || serverNow() - ticket.finished_at_ms <= windowMs;
}

/** Levels below "satisfied" ask why: labels are best first, score 1 is the best. */
function isLow(s) {
  const n = setup.rating.labels.length;
  return s != null && s - 1 >= Math.min(2, n - 2);
}

function renderRating() {
  const show = canRate();
  $("rate").hidden = !show;
  $("rate-thanks").hidden = !(rated || ticket?.rating != null) || ticket?.state !== "done";
  if (!show) return;
  const scale = $("rate-scale");
  if (scale.dataset.lang !== i18n.lang) {
    scale.textContent = "";
    setup.rating.labels.forEach((label, i) => {
      const b = el("button", "p-score", i18n.pick(label));
      b.type = "button";
      b.setAttribute("role", "radio");
      b.dataset.score = String(i + 1);
      b.dataset.level = String(i);
      scale.appendChild(b);
    });
    const chips = $("rate-chips");
    chips.textContent = "";
    setup.rating.low_score_reasons.forEach((r, i) => {
      const b = el("button", "p-chip", i18n.pick(r));
      b.type = "button";
      b.dataset.reason = String(i);
      chips.appendChild(b);
    });
    scale.dataset.lang = i18n.lang;
  }
  for (const b of $("rate-scale").children) b.setAttribute("aria-checked", String(Number(b.dataset.score) === score));
  for (const b of $("rate-chips").children) b.setAttribute("aria-pressed", String(reasons.has(Number(b.dataset.reason))));
  $("rate-reasons").hidden = !isLow(score) || setup.rating.low_score_reasons.length === 0;
  $("rate-send").disabled = score == null || rateSending;
  $("rate-send").textContent = rateSending ? t("rate.sending") : t("rate.send");
}

// ----- alerts -----
function alertCalled() {
  const c = counterNumber(ticket.counter);
  try { navigator.vibrate?.(VIBRATE_CALLED); } catch { /* not allowed */ }
  try {
    chime.currentTime = 0;
    chime.volume = 1;
    chime.play().catch(() => {});
  } catch { /* no audio */ }
  if ("Notification" in window && Notification.permission === "granted") {
    const title = t("notify.title", { n: ticket.number });
    const options = { body: t("notify.body", { c }), tag: `luot-${token}`, renotify: true, requireInteraction: true, lang: i18n.lang };
    const viaWorker = navigator.serviceWorker?.getRegistration?.().then((reg) => (reg ? reg.showNotification(title, options).then(() => true) : false));
    Promise.resolve(viaWorker)
      .catch(() => false)
      .then((done) => {
        if (!done) {
          try { new Notification(title, options); } catch { /* phones need the worker */ }
        }
      });
  }
}

/** Alerts once per call and once per recall. */
function maybeAlert(previous) {
  if (!ticket || ticket.state !== "called") return;
  const key = `${ticket.called_at_ms}:${ticket.recalls}`;
  if (key === lastAlertKey) return;
  const first = lastAlertKey === null && previous === null;
  lastAlertKey = key;
  // Opening the page while already called: show it, but no noise for something old.
  if (first && ticket.called_at_ms && serverNow() - ticket.called_at_ms > 60_000) return;
  alertCalled();
}

async function enableAlerts() {
  // A tap lets the page play sound and vibrate later.
  try {
    chime.muted = true;
    await chime.play();
    chime.pause();
    chime.currentTime = 0;
  } catch { /* fine */ } finally {
    chime.muted = false;
  }
  try { navigator.vibrate?.(60); } catch { /* fine */ }
  alertsOn = true;
  if ("Notification" in window && window.isSecureContext) {
    try {
      if ("serviceWorker" in navigator) navigator.serviceWorker.register("/phone-sw.js").catch(() => {});
      const p = await Notification.requestPermission();
      if (p === "denied") alertsOn = "denied";
    } catch { /* fine */ }
  }
  render();
}

// ----- data -----
async function fetchTicket() {
  const res = await fetch(api, { cache: "no-store" });
  if (res.status === 404) {
    unknown = true;
    return null;
  }
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.json();
}

function setTicket(next) {
  const previous = ticket;
  ticket = next;
  unknown = false;
  render();
  maybeAlert(previous);
}

function scheduleRefresh() {
  // At most one fetch per REFRESH_DEBOUNCE_MS: a busy hall changes more often than that, and a
  // timer re-armed on every change would never fire.
  if (refreshTimer) return;
  refreshTimer = setTimeout(async () => {
    refreshTimer = null;
    try {
      const r = await fetchTicket();
      if (r && (!ticket || r.ticket.id === ticket.id)) setTicket({ ...ticket, ...r.ticket, estimate: r.ticket.estimate ?? null, away: r.ticket.away ?? false, hold_until_ms: r.ticket.hold_until_ms ?? null });
    } catch { /* the next change will try again */ }
  }, REFRESH_DEBOUNCE_MS);
}

function onLiveChange(state, why) {
  if (why === "ticket" && state.ticket) {
    setTicket(state.ticket);
    return;
  }
  // Someone else's call moves this ticket up: the server tells phones only about their own
  // ticket, so fetch the fresh estimate when this service's queue changed.
  if (ticket?.state === "waiting" && ticket.target_counter && why && typeof why === "object") {
    // Sent to one counter: its line moves, opens or pauses with that counter's events.
    if (why.counter === ticket.target_counter || why.from_counter === ticket.target_counter) {
      scheduleRefresh();
      render();
      return;
    }
  }
  // Fresh estimates (docs/protocol.md §8.7): this ticket's own is not in the message.
  if (why === "estimates" && ticket?.state === "waiting") {
    scheduleRefresh();
    return;
  }
  if (ticket?.state === "waiting") {
    const st = state.services.get(ticket.service);
    const key = st ? JSON.stringify([st.waiting, st.estimate]) : null;
    if (key !== lastStatsKey) {
      lastStatsKey = key;
      if (why !== "snapshot") scheduleRefresh();
    }
  }
}

/** POSTs an action on this ticket; throws an ApiError with the server's code and words. */
const post = (action, body) => request(`${api}/${action}`, { method: "POST", body: body ?? {} });
/** A refused action in words: the server's, else the page's own "something went wrong". */
const failText = (e) => (e?.status ? e.text(i18n.lang, t("error")) : t("error"));

async function sendRating() {
  if (score == null || rateSending) return;
  rateSending = true;
  $("rate-error").hidden = true;
  renderRating();
  const labels = setup.rating.low_score_reasons;
  const parts = isLow(score) ? [...reasons].sort().map((i) => labels[i]?.vi).filter(Boolean) : [];
  const free = isLow(score) ? $("rate-text").value.trim() : "";
  if (free) parts.push(free);
  const reason = parts.length ? utf8Truncate(parts.join("; "), REASON_BYTES_MAX) : undefined;
  try {
    await post("rate", reason ? { score, reason } : { score });
    rated = true;
  } catch (e) {
    if (e.code === "already_rated") rated = true;
    else {
      $("rate-error").textContent = failText(e);
      $("rate-error").hidden = false;
    }
  } finally {
    rateSending = false;
    render();
  }
}

async function cancelTicket() {
  $("cancel-error").hidden = true;
  try {
    const r = await post("cancel");
    $("cancel-confirm").hidden = true;
    if (r?.ticket) setTicket({ ...ticket, ...r.ticket });
  } catch (e) {
    $("cancel-error").textContent = failText(e);
    $("cancel-error").hidden = false;
  }
}

// ----- input -----
document.addEventListener("click", (e) => {
  const b = e.target instanceof Element ? e.target.closest("button") : null;
  if (!b) return;
  if (b.id === "lang") return i18n.set(i18n.lang === "vi" ? "en" : "vi");
  if (b.id === "alerts-btn") return enableAlerts();
  if (b.id === "cancel-btn") {
    $("cancel-confirm").hidden = false;
    $("cancel-error").hidden = true;
    return $("cancel-no").focus();
  }
  if (b.id === "cancel-no") {
    $("cancel-confirm").hidden = true;
    return $("cancel-btn").focus();
  }
  if (b.id === "cancel-yes") return cancelTicket();
  if (b.dataset.score) {
    score = Number(b.dataset.score);
    return renderRating();
  }
  if (b.dataset.reason) {
    const i = Number(b.dataset.reason);
    if (reasons.has(i)) reasons.delete(i);
    else reasons.add(i);
    return renderRating();
  }
  if (b.id === "rate-send") return sendRating();
});
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && !$("cancel-confirm").hidden) $("cancel-confirm").hidden = true;
});

// ----- start -----
async function start() {
  render();
  if (!/^[0-9a-fA-F]{16,128}$/.test(token)) {
    unknown = true;
    return render();
  }
  let first = null;
  for (let delay = 1000; ; delay = Math.min(delay * 2, 15_000)) {
    try {
      first = await fetchTicket();
      break;
    } catch {
      status = "reconnecting";
      renderLive();
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  if (!first) return render();
  for (let delay = 1000; !setup; delay = Math.min(delay * 2, 15_000)) {
    try {
      setup = await loadSetup(first.site);
    } catch {
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  setTicket(first.ticket);
  live = connect({
    role: "phone",
    site: first.site,
    ticketToken: token,
    onWelcome(w) { setServerTime(w.server_time_ms); },
    onStatus(s) {
      const was = status;
      status = s;
      renderLive();
      // Back after a drop: what happened meanwhile comes as a replay or a snapshot; the ticket
      // itself is re-sent only when it changed, so fetch it once.
      if (s === "live" && was !== "live" && was !== "connecting") scheduleRefresh();
    },
    onError(e) {
      if (e.code === "ticket_unknown" || e.code === "unknown_ticket") {
        unknown = true;
        render();
      }
    },
    onChange: onLiveChange,
  });
  window.luotPhone = { get live() { return live; }, get ticket() { return ticket; } };
}

start();
