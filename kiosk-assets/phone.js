// The phone ticket page, `/t/<token>` (opened from the ticket's QR code, no login): the number,
// the place in the queue and the wait, live; when called, a big "Mời đến quầy 4" with vibration,
// the chime and a system notification where allowed; after service, a one-time rating; and
// "cancel my ticket".

import { connect, loadSetup, waitRange } from "/js/live.js";
import { createI18n } from "/js/i18n.js";

/** After a queue change, ask for the fresh estimate this long later (changes come in bursts). */
const REFRESH_DEBOUNCE_MS = 1500;
/** Rating reason: the server keeps at most 500 bytes. */
const REASON_BYTES_MAX = 500;
const VIBRATE_CALLED = [500, 200, 500, 200, 800];

const dict = {
  vi: {
    "lang.aria": "Switch to English",
    "lang.button": "English",
    "loading": "Đang tải…",
    "ticket.yours": "Số thứ tự của ông/bà",
    "ticket.priority": "Ưu tiên: {p}",
    "fact.ahead": "Người chờ trước ông/bà",
    "fact.wait": "Thời gian chờ dự kiến",
    "fact.counters": "Quầy phục vụ",
    "people": "{n} người",
    "counters": "Quầy {list}",
    "wait.unknown": "Chưa ước tính được (chưa có quầy mở)",
    "wait.upTo": "dưới {m} phút",
    "state.waiting": "Đang chờ đến lượt",
    "state.waiting.ahead": "Còn {n} người trước ông/bà",
    "state.waiting.next": "Ông/Bà là người tiếp theo",
    "state.waiting.sub": "Dự kiến: {w}",
    "session.afternoon": "Có thể đến buổi chiều ({t}) mới tới lượt",
    "session.break": "Có thể sau giờ nghỉ ({t}) mới tới lượt",
    "session.closing": "Có thể quá giờ làm việc ({t}) mới tới lượt",
    "state.transferred": "Ông/Bà được chuyển sang {c}. Vui lòng chờ gọi số.",
    "state.transferred.wait": "Ông/Bà được chuyển sang {c}, quầy sẽ gọi ông/bà trước các số khác. Dự kiến: {w}",
    "state.transferred.closed": "Ông/Bà được chuyển sang {c}. Quầy này đang đóng nên chưa ước tính được thời gian chờ; ông/bà sẽ được gọi khi quầy mở lại.",
    "state.transferred.paused": "Ông/Bà được chuyển sang {c}. Quầy này đang tạm dừng nên chưa ước tính được thời gian chờ; ông/bà sẽ được gọi khi quầy làm việc trở lại.",
    "state.called": "Mời đến quầy {c}",
    "state.called.sub": "Số {n} — vui lòng đến ngay quầy số {c}",
    "state.recalled": "Gọi lại lần {r}",
    "state.serving": "Đang được phục vụ tại quầy {c}",
    "state.done": "Đã hoàn thành",
    "state.done.sub": "Cảm ơn ông/bà đã sử dụng dịch vụ.",
    "state.no_show": "Ông/Bà đã vắng mặt khi được gọi",
    "state.no_show.sub": "Nếu vẫn cần làm thủ tục, hãy đến quầy trong vòng {m} phút và báo số của ông/bà cho cán bộ.",
    "state.cancelled": "Số này đã được hủy",
    "state.cancelled.sub": "Nếu vẫn cần làm thủ tục, vui lòng lấy số mới tại kiosk.",
    "state.expired": "Số này đã hết hạn",
    "state.expired.sub": "Ngày làm việc đã kết thúc. Vui lòng lấy số mới.",
    "state.carried": "Số được chuyển sang ngày làm việc sau",
    "state.carried.sub": "Vui lòng quay lại vào ngày làm việc tiếp theo.",
    "state.unknown": "Không tìm thấy số thứ tự",
    "state.unknown.sub": "Số này không có hoặc đã hết hạn. Vui lòng kiểm tra lại mã QR trên phiếu.",
    "alerts.enable": "Bật âm thanh và thông báo khi đến lượt",
    "alerts.on": "Đã bật báo khi đến lượt",
    "alerts.denied": "Thông báo bị chặn — điện thoại vẫn rung và phát âm thanh khi trang đang mở",
    "alerts.hint": "Hãy giữ trang này mở. Điện thoại sẽ rung khi đến lượt ông/bà.",
    "cancel.button": "Hủy số của tôi",
    "cancel.question": "Ông/Bà chắc chắn muốn hủy số này? Số đã hủy không dùng lại được.",
    "cancel.no": "Không, giữ số",
    "cancel.yes": "Có, hủy số",
    "rate.title": "Ông/Bà có hài lòng với dịch vụ?",
    "rate.why": "Điều gì chưa tốt? (chọn một hoặc nhiều)",
    "rate.other": "Ý kiến khác (không bắt buộc)",
    "rate.send": "Gửi đánh giá",
    "rate.sending": "Đang gửi…",
    "rate.thanks": "Cảm ơn ông/bà đã đánh giá!",
    "live.on": "Đang cập nhật trực tiếp",
    "live.off": "Mất kết nối — đang kết nối lại…",
    "live.connecting": "Đang kết nối…",
    "issued": "Lấy số lúc {t}",
    "notify.title": "Đến lượt ông/bà: {n}",
    "notify.body": "Mời đến quầy số {c}",
    "error": "Có lỗi, vui lòng thử lại.",
  },
  en: {
    "lang.aria": "Chuyển sang tiếng Việt",
    "lang.button": "Tiếng Việt",
    "loading": "Loading…",
    "ticket.yours": "Your number",
    "ticket.priority": "Priority: {p}",
    "fact.ahead": "People ahead of you",
    "fact.wait": "Estimated wait",
    "fact.counters": "Counters",
    "people": "{n}",
    "counters": "{list}",
    "wait.unknown": "Not known yet (no counter open)",
    "wait.upTo": "under {m} min",
    "state.waiting": "Waiting for your turn",
    "state.waiting.ahead": "{n} people ahead of you",
    "state.waiting.next": "You are next",
    "state.waiting.sub": "Estimated wait: {w}",
    "session.afternoon": "Your turn may not come before the afternoon session ({t})",
    "session.break": "Your turn may not come before the break ends ({t})",
    "session.closing": "Your turn may come after closing time ({t})",
    "state.transferred": "You were moved to {c}. Please wait to be called.",
    "state.transferred.wait": "You were moved to {c}; it calls you before other numbers. Estimated wait: {w}",
    "state.transferred.closed": "You were moved to {c}. That counter is closed, so the wait cannot be estimated; you will be called when it opens again.",
    "state.transferred.paused": "You were moved to {c}. That counter is paused, so the wait cannot be estimated; you will be called when it resumes.",
    "state.called": "Please go to counter {c}",
    "state.called.sub": "Number {n} — please go to counter {c} now",
    "state.recalled": "Called again ({r})",
    "state.serving": "Being served at counter {c}",
    "state.done": "Done",
    "state.done.sub": "Thank you for using our service.",
    "state.no_show": "You were called but not there",
    "state.no_show.sub": "If you still need the service, go to the counter within {m} minutes and give the official your number.",
    "state.cancelled": "This number was cancelled",
    "state.cancelled.sub": "If you still need the service, please take a new number at the kiosk.",
    "state.expired": "This number has expired",
    "state.expired.sub": "The working day is over. Please take a new number.",
    "state.carried": "Moved to the next working day",
    "state.carried.sub": "Please come back on the next working day.",
    "state.unknown": "Ticket not found",
    "state.unknown.sub": "This number does not exist or has expired. Please check the QR code on your ticket.",
    "alerts.enable": "Turn on sound and notifications",
    "alerts.on": "Alerts are on",
    "alerts.denied": "Notifications are blocked — the phone still vibrates and plays a sound while this page is open",
    "alerts.hint": "Keep this page open. Your phone vibrates when it is your turn.",
    "cancel.button": "Cancel my number",
    "cancel.question": "Cancel this number? A cancelled number cannot be used again.",
    "cancel.no": "No, keep it",
    "cancel.yes": "Yes, cancel",
    "rate.title": "Were you satisfied with the service?",
    "rate.why": "What was not good? (choose one or more)",
    "rate.other": "Other comments (optional)",
    "rate.send": "Send rating",
    "rate.sending": "Sending…",
    "rate.thanks": "Thank you for your rating!",
    "live.on": "Live",
    "live.off": "Connection lost — reconnecting…",
    "live.connecting": "Connecting…",
    "issued": "Taken at {t}",
    "notify.title": "Your turn: {n}",
    "notify.body": "Please go to counter {c}",
    "error": "Something went wrong, please try again.",
  },
};

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
};

const i18n = createI18n(dict, () => render());
const t = (k, v) => i18n.t(k, v);

const token = decodeURIComponent(location.pathname.split("/t/")[1] || new URLSearchParams(location.search).get("token") || "").replace(/\/.*$/, "");
const api = `/api/v1/tickets/${encodeURIComponent(token)}`;

let setup = null;
let ticket = null;
let live = null;
let status = "connecting";
let unknown = false;
let clockOffset = 0;
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
const serverNow = () => Date.now() + clockOffset;
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

function utf8Truncate(s, max) {
  const enc = new TextEncoder();
  if (enc.encode(s).length <= max) return s;
  let out = "";
  for (const ch of s) {
    if (enc.encode(out + ch).length > max) break;
    out += ch;
  }
  return out;
}

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
  const w = est?.low_s === 0 && est.high_s >= 120 ? t("wait.upTo", { m: Math.round(est.high_s / 60) }) : waitRange(est, i18n.lang);
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
      if (r && (!ticket || r.ticket.id === ticket.id)) setTicket({ ...ticket, ...r.ticket, estimate: r.ticket.estimate ?? null });
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

async function post(action, body) {
  const res = await fetch(`${api}/${action}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body ?? {}).normalize("NFC") });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const e = new Error(data.message_en || `HTTP ${res.status}`);
    e.code = data.code;
    e.text = i18n.lang === "en" ? data.message_en : data.message;
    throw e;
  }
  return data;
}

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
      $("rate-error").textContent = e.text || t("error");
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
    if (r.ticket) setTicket({ ...ticket, ...r.ticket });
  } catch (e) {
    $("cancel-error").textContent = e.text || t("error");
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
    onWelcome(w) { clockOffset = w.server_time_ms - Date.now(); },
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
