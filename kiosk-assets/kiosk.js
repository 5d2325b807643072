// The touch kiosk: departments → procedures → confirm → ticket (on screen and printed on 80 mm
// paper). Live waiting counts and estimates from the shared live connection; a full-screen
// "tạm ngưng cấp số" whenever tickets cannot be issued; locked down against leaving the page.
//
// URL parameters (all optional): device=<token> (pairing, kept in localStorage), lang=en,
// idle=<s> (back home after this long untouched, default 60), ticket_idle=<s> (the ticket
// screen, default 20), print=0 (do not print, e.g. a kiosk without a printer).
//
// A kiosk bound to a network printer (`[[printer]]` in the center's configuration) does not print
// through the browser: the server prints, the welcome and `printer` messages tell how that went,
// and "In lại phiếu" asks the server to print again. When the printer fails, a bilingual alert
// says so and the ticket stays on screen with its QR code.

import { connect, loadSetup, deviceToken } from "/js/live.js";
import { waitText as waitWords, isUpTo } from "/js/rules.js";
import { createI18n } from "/js/i18n.js";
import { buildIndex, search } from "/js/search.js";
import { createKeyboard } from "/js/keyboard.js";
import { KIOSK_TEXT as dict } from "/js/text/kiosk.js";
import { $, el } from "/js/dom.js";
import { serverNow, setServerTime } from "/js/clock.js";
import { parseCccd, offeredPriority } from "/js/cccd.js";

const params = new URLSearchParams(location.search);
const seconds = (name, dflt) => {
  const v = Number(params.get(name));
  return (Number.isFinite(v) && v > 0 ? v : dflt) * 1000;
};
const IDLE_MS = seconds("idle", 60);
const TICKET_IDLE_MS = seconds("ticket_idle", 20);
const PRINT = params.get("print") !== "0";
/** The "connecting" overlay waits this long at start-up, so a fast connection shows no flash. */
const CONNECTING_GRACE_MS = 800;
/** Search results shown at once. */
const SEARCH_RESULTS_MAX = 20;
/** The ticket screen stays this many times longer when the printer failed: time to photograph it. */
const PRINT_FAILED_IDLE_FACTOR = 3;
/** How long to wait for the QR image before printing without it. */
const QR_WAIT_MS = 3000;
/** A 2D scanner types its QR like a keyboard, faster than any hand: keys closer than this are one scan. */
const SCAN_KEY_GAP_MS = 60;
/** Shortest text taken as a scan (a card's QR is 100+ characters). */
const SCAN_LEN_MIN = 20;
/** How long a refused scan's message stays. */
const CARD_ERROR_MS = 8000;

const i18n = createI18n(dict, () => {
  renderAll();
});
const t = (k, v) => i18n.t(k, v);

// ----- state -----
let setup = null;
let index = [];
let live = null;
let status = "connecting";
let welcome = null;
let refused = false;
let startedAt = Date.now();
let screen = "home";
let dept = null; // department code on the department screen
let service = null; // service code on the confirm screen
let confirmFrom = "home"; // where "back" goes from the confirm screen
let priority = null;
let issuing = false;
let issued = null; // { result, service, priority, at }
let lastActivity = Date.now();
let ticketShownAt = 0;
const token = deviceToken("kiosk");
/** This kiosk's network printer as the server last reported it (null: browser printing). */
let printer = null;
let reprinting = false;
let reprinted = false;
/** The chip ID card scanned for this citizen ({ id, age }), until the kiosk goes home. */
let card = null;
/** What the last scan said: { ok, error?, until } (an error shows for CARD_ERROR_MS). */
let cardNote = null;
// Check-in of a number taken from home: the field the pad types into, and the last answer.
let checkinField = "checkin-number";
let checkingIn = false;

// ----- time -----
const tz = () => setup?.time_zone || "Asia/Ho_Chi_Minh";
const fmt = (opts) => new Intl.DateTimeFormat("en-GB", { timeZone: tz(), hourCycle: "h23", ...opts });
const hhmm = (ms) => fmt({ hour: "2-digit", minute: "2-digit" }).format(ms);
const ddmmyyyy = (ms) => fmt({ day: "2-digit", month: "2-digit", year: "numeric" }).format(ms);
const isoDay = (ms) => new Intl.DateTimeFormat("en-CA", { timeZone: tz(), year: "numeric", month: "2-digit", day: "2-digit" }).format(ms);

/** "mở lại lúc 13:30 hôm nay" from `opens_at` ("YYYY-MM-DD HH:MM", site time). */
function opensText(opensAt) {
  if (!opensAt) return t("opens.nextDay");
  const [day, time] = opensAt.split(" ");
  const now = serverNow();
  if (day === isoDay(now)) return t("opens.today", { t: time });
  if (day === isoDay(now + 86_400_000)) return t("opens.tomorrow", { t: time });
  const [y, m, d] = day.split("-").map(Number);
  const wd = t("weekday").split("|")[new Date(Date.UTC(y, m - 1, d)).getUTCDay()];
  return t("opens.later", { t: time, d: `${wd} ${String(d).padStart(2, "0")}/${String(m).padStart(2, "0")}` });
}

/** Why a procedure takes no tickets now, and when it will: two lines. */
function closedParts(st) {
  const key = `closed.${st.closed_reason}`;
  let reason = dict.vi[key] ? t(key) : t("closed.other");
  // Stopped by a manager: their reason, as they wrote it; nobody knows yet when it resumes.
  if (st.closed_reason === "service_paused" && st.paused_reason) reason = `${reason}: ${st.paused_reason}`;
  const opens = st.closed_reason === "service_paused" ? t("opens.askStaff") : opensText(st.opens_at);
  return [reason, opens.charAt(0).toUpperCase() + opens.slice(1)];
}

function closedText(st) {
  return closedParts(st).join(" · ");
}

function fillClosed(node, st) {
  node.textContent = "";
  if (!st) return;
  const [reason, opens] = closedParts(st);
  node.append(el("span", "closed-reason", reason), el("span", "closed-opens", opens));
}

/**
 * The session (`{ends, resumes}` from the server) a wait may run past: the same words as the
 * printed ticket (`luot_proto::session_note`). `lang` picks the language.
 */
function sessionNote(session, lang = i18n.lang) {
  const [day, time] = (session.resumes || "").split(" ");
  let key = "session.closing";
  let at = session.ends;
  if (day && day === isoDay(serverNow())) {
    key = Number(time.slice(0, 2)) >= 12 ? "session.afternoon" : "session.break";
    at = time;
  }
  return dict[lang][key].replace("{t}", at);
}

/** Seconds from now (server clock, site time) to `HH:MM` today. */
function secondsUntil(hm) {
  const [h, m] = hm.split(":").map(Number);
  const [nh, nm, ns] = fmt({ hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(serverNow()).split(":").map(Number);
  return h * 3600 + m * 60 - (nh * 3600 + nm * 60 + ns);
}

/**
 * While no counter is open the wait is not known: the note is shown only in the last hour of
 * the session (`limits::UNKNOWN_WAIT_SESSION_NOTE_S` in luot-core, the server's same rule).
 */
const UNKNOWN_WAIT_SESSION_NOTE_S = 3_600;

/**
 * Before issuing: the session a newcomer's wait may run past (its high end is later than the
 * session's end, or not known near the end), or null. The server applies the same rule to the ticket.
 */
function pastSession(st) {
  if (!st?.open || !st.session) return null;
  const high = st.estimate?.high_s ?? UNKNOWN_WAIT_SESSION_NOTE_S;
  if (high <= secondsUntil(st.session.ends)) return null;
  return st.session;
}

// ----- what the live state says about a service or a department -----
const serviceDef = (code) => setup.services.find((s) => s.code === code);
const deptDef = (code) => setup.departments.find((d) => d.code === code);
const stats = (code) => live?.state.services.get(code) || null;

function countersText(numbers) {
  if (!numbers?.length) return "—";
  return t("counters", { list: numbers.join(", ") });
}

/** "25–40 phút", or "dưới 40 phút" when it could be right away (js/rules.js). */
const waitText = (estimate, lang = i18n.lang) => waitWords(estimate, lang);

/** "chờ khoảng 10–20 phút", "chờ dưới 40 phút", or null. */
function waitLine(estimate) {
  const r = waitText(estimate);
  if (!r) return null;
  if (estimate.uncertain) return r;
  return isUpTo(estimate) ? t("stats.waitUpTo", { r }) : t("stats.wait", { r });
}

/** The one-line summary of a queue: "3 người đang chờ · chờ khoảng 10–20 phút". */
function queueLine(waiting, estimate) {
  const parts = [waiting > 0 ? t("stats.waiting", { n: waiting }) : t("stats.nobody")];
  const w = waitLine(estimate);
  if (w) parts.push(w);
  else if (waiting > 0 || estimate) parts.push(t("stats.noCounter"));
  return parts.join(" · ");
}

function deptSummary(code) {
  const list = setup.services.filter((s) => s.department === code);
  let waiting = 0;
  let busiest = null;
  let anyOpen = false;
  let firstClosed = null;
  let earliest = null;
  for (const s of list) {
    const st = stats(s.code);
    if (!st) continue;
    waiting += st.waiting;
    if (st.open) {
      anyOpen = true;
      if (st.waiting > 0 && (!busiest || st.waiting > busiest.waiting)) busiest = st;
    } else {
      firstClosed ??= st;
      if (st.opens_at && (!earliest || st.opens_at < earliest)) earliest = st.opens_at;
    }
  }
  return {
    waiting,
    // A department has many procedures; its tile shows the wait of the busiest one.
    estimate: busiest?.estimate ?? null,
    open: anyOpen,
    closed: !anyOpen && firstClosed ? { ...firstClosed, opens_at: earliest } : null,
  };
}

// ----- rendering -----
function show(name) {
  screen = name;
  for (const s of document.querySelectorAll(".screen")) s.hidden = s.id !== `screen-${name}`;
  document.body.dataset.screen = name;
  $("main").scrollTop = 0;
  window.scrollTo(0, 0);
  const h = document.querySelector(`#screen-${name} h1`);
  if (h) {
    h.tabIndex = -1;
    h.focus({ preventScroll: true });
  }
}

function renderHeader() {
  if (!setup) return;
  $("center-name").textContent = i18n.pick(setup.name);
  $("lang").textContent = t("lang.button");
  $("lang").setAttribute("lang", i18n.lang === "vi" ? "en" : "vi");
  $("notice").textContent = i18n.pick(setup.notice);
  document.title = `${t("header.sub")} · ${i18n.pick(setup.name)}`;
}

function renderHome() {
  const grid = $("dept-grid");
  grid.textContent = "";
  for (const d of setup.departments) {
    const b = el("button", "dept-tile");
    b.type = "button";
    b.dataset.dept = d.code;
    const prefix = el("span", "dept-prefix", d.prefix);
    prefix.setAttribute("aria-hidden", "true");
    const body = el("span", "dept-body");
    const statsEl = el("span", "dept-stats");
    statsEl.append(el("span", "dept-waiting"), el("span", "dept-wait"));
    body.append(el("span", "dept-name", i18n.pick(d.name)), statsEl, el("span", "dept-closed"));
    const chev = el("span", "chevron", "›");
    chev.setAttribute("aria-hidden", "true");
    b.append(prefix, body, chev);
    grid.appendChild(b);
  }
  updateHome();
}

function updateHome() {
  if (!setup || !live) return;
  for (const b of document.querySelectorAll("#dept-grid .dept-tile")) {
    const sum = deptSummary(b.dataset.dept);
    const statsEl = b.querySelector(".dept-stats");
    const closedEl = b.querySelector(".dept-closed");
    b.classList.toggle("is-closed", !sum.open);
    b.querySelector(".dept-waiting").textContent = sum.waiting > 0 ? t("stats.waiting", { n: sum.waiting }) : t("stats.nobody");
    b.querySelector(".dept-wait").textContent = waitLine(sum.estimate) ?? (sum.waiting > 0 ? t("stats.noCounter") : "");
    statsEl.hidden = !sum.open;
    fillClosed(closedEl, sum.closed);
    closedEl.hidden = sum.open;
  }
}

/** A procedure row: name, queue line, counters; or greyed with the reason it is closed. */
function serviceRow(s, extra) {
  const b = el("button", "svc");
  b.type = "button";
  b.dataset.svc = s.code;
  b.setAttribute("role", "listitem");
  const main = el("span", "svc-main");
  if (extra?.dept) main.appendChild(el("span", "svc-dept", extra.dept));
  main.appendChild(el("span", "svc-name", i18n.pick(s.name)));
  if (extra?.keyword) main.appendChild(el("span", "svc-keyword", t("search.keyword", { k: extra.keyword })));
  main.append(el("span", "svc-meta"), el("span", "svc-closed"));
  const chev = el("span", "chevron", "›");
  chev.setAttribute("aria-hidden", "true");
  b.append(main, chev);
  updateServiceRow(b);
  return b;
}

function updateServiceRow(b) {
  const s = serviceDef(b.dataset.svc);
  const st = stats(s.code);
  const open = !st || st.open;
  b.classList.toggle("is-closed", !open);
  b.setAttribute("aria-disabled", String(!open));
  const meta = b.querySelector(".svc-meta");
  const closed = b.querySelector(".svc-closed");
  meta.textContent = st ? `${queueLine(st.waiting, st.estimate)} · ${countersText(s.counters)}` : countersText(s.counters);
  meta.hidden = !open;
  fillClosed(closed, open ? null : st);
  closed.hidden = open;
}

function renderDept() {
  const d = deptDef(dept);
  if (!d) return;
  $("dept-title").textContent = i18n.pick(d.name);
  const list = $("svc-list");
  list.textContent = "";
  for (const s of setup.services.filter((x) => x.department === dept)) list.appendChild(serviceRow(s));
}

function renderSearch() {
  const q = $("search-input").value;
  const list = $("search-results");
  list.textContent = "";
  const status = $("search-status");
  if (!q.trim()) {
    status.textContent = t("search.start");
    return;
  }
  const found = search(index, q, SEARCH_RESULTS_MAX);
  status.textContent = found.length ? t(found[0].partial ? "search.partial" : "search.count", { n: found.length }) : t("search.none");
  for (const r of found) {
    const d = deptDef(r.service.department);
    list.appendChild(serviceRow(r.service, { dept: d ? i18n.pick(d.name) : "", keyword: r.via === "keyword" ? r.keyword : null }));
  }
}

function renderPriority() {
  const box = $("prio-options");
  box.textContent = "";
  const options = [{ code: null, name: null }, ...setup.priority_categories];
  for (const p of options) {
    const b = el("button", "prio-opt", p.code ? i18n.pick(p.name) : t("prio.none"));
    b.type = "button";
    b.setAttribute("role", "radio");
    b.dataset.prio = p.code ?? "";
    b.setAttribute("aria-checked", String((p.code ?? null) === priority));
    box.appendChild(b);
  }
  $("prio").hidden = setup.priority_categories.length === 0;
}

function renderConfirm() {
  const s = serviceDef(service);
  if (!s) return;
  $("confirm-title").textContent = i18n.pick(s.name);
  const d = deptDef(s.department);
  $("confirm-dept").textContent = d ? i18n.pick(d.name) : "";
  renderPriority();
  updateConfirm();
}

function updateConfirm() {
  const s = serviceDef(service);
  if (!s) return;
  const st = stats(s.code);
  const est = st?.estimate;
  $("fact-ahead").textContent = t("people", { n: est?.ahead ?? st?.waiting ?? 0 });
  const r = waitText(est);
  const wait = $("fact-wait");
  wait.textContent = "";
  if (r) wait.textContent = r;
  else {
    wait.append(t("wait.unknown"), el("small", "fact-note", `(${t("wait.noCounter")})`));
  }
  updateSessionNote();
  $("fact-counters").textContent = countersText(s.counters);
  const btn = $("issue-btn");
  const closed = st && !st.open;
  const err = $("confirm-error");
  if (closed) {
    err.textContent = closedText(st);
    err.hidden = false;
    err.dataset.kind = "closed";
  } else if (err.dataset.kind === "closed") {
    err.hidden = true;
    err.dataset.kind = "";
  }
  btn.disabled = issuing || closed || !!pausedReason();
  btn.querySelector("span").textContent = issuing ? t("confirm.issuing") : t("confirm.issue");
}

/** The confirm screen's session note: also from the clock tick, as time alone can bring it. */
function updateSessionNote() {
  const past = service ? pastSession(stats(service)) : null;
  const note = $("fact-session");
  const text = past ? sessionNote(past) : "";
  if (note.hidden !== !past) note.hidden = !past;
  if (note.textContent !== text) note.textContent = text;
}

function ticketFacts(r) {
  const s = r.service;
  const est = r.result.ticket?.estimate;
  return {
    number: r.result.ticket?.number ?? "",
    service: s,
    counters: s.counters,
    ahead: est?.ahead ?? 0,
    estimate: est,
    session: r.result.ticket?.past_session ?? null,
    at: r.result.ticket?.issued_at_ms ?? serverNow(),
    priority: r.priority ? setup.priority_categories.find((p) => p.code === r.priority) : null,
    qr: `/api/v1/tickets/${encodeURIComponent(r.result.token)}/qr.svg`,
  };
}

function renderTicket() {
  if (!issued) return;
  const f = ticketFacts(issued);
  $("ticket-number").textContent = f.number;
  $("ticket-service").textContent = i18n.pick(f.service.name);
  $("ticket-counters").textContent = f.counters.join(", ");
  $("ticket-ahead").textContent = t("people", { n: f.ahead });
  $("ticket-wait").textContent = waitText(f.estimate) || t("wait.unknown");
  const note = $("ticket-session");
  note.hidden = !f.session;
  note.textContent = f.session ? sessionNote(f.session) : "";
  const prio = $("ticket-prio");
  prio.hidden = !f.priority;
  if (f.priority) prio.textContent = t("ticket.priority", { p: i18n.pick(f.priority.name) });
  const qr = $("ticket-qr");
  if (qr.getAttribute("src") !== f.qr) qr.src = f.qr;
  qr.alt = t("ticket.qr");
  renderPrinting();
}

/** The line under the ticket: printing, printed again, or the printer's failure. */
function renderPrinting() {
  const failed = !!printer && !printer.ok;
  const line = $("ticket-printing");
  line.hidden = failed;
  line.textContent = reprinting
    ? t("ticket.reprinting")
    : reprinted
      ? t("ticket.reprinted")
      : PRINT || printer ? t("ticket.printing") : t("ticket.noPrint");
  const alert = $("print-alert");
  alert.hidden = !failed;
  if (failed) {
    // Both languages at once: whoever stands there reads one of them.
    $("print-alert-vi").textContent = printer.message;
    $("print-alert-en").textContent = printer.message_en;
    $("print-alert-hint").textContent = t("printer.hint");
  }
  $("reprint-btn").hidden = !(PRINT || printer);
  $("reprint-btn").disabled = reprinting;
  document.body.dataset.printer = printer ? printer.state : "";
}

/** Asks the server to print the ticket on screen again; the answer says how it went. */
async function reprintOnServer() {
  if (!issued || reprinting) return;
  reprinting = true;
  reprinted = false;
  renderPrinting();
  try {
    const number = encodeURIComponent(issued.result.ticket.number);
    const res = await fetch(`/api/v1/sites/${encodeURIComponent(setup.site)}/tickets/${number}/reprint`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: "{}",
    });
    const body = await res.json().catch(() => ({}));
    if (body.printer) printer = body.printer;
    reprinted = res.status === 200;
  } catch {
    // The connection state shows on its own; the button can be pressed again.
  }
  reprinting = false;
  renderPrinting();
}

// ----- the paper ticket (80 mm) -----
function renderPrintTicket() {
  const f = ticketFacts(issued);
  const p = $("print-ticket");
  p.textContent = "";
  const row = (label, value) => {
    const r = el("div", "pt-row");
    r.append(el("span", "pt-k", label), el("span", "pt-v", value));
    return r;
  };
  const range = waitText(f.estimate, "vi");
  const rangeEn = waitText(f.estimate, "en");
  p.append(
    el("div", "pt-center", setup.name.vi),
    el("div", "pt-label", "SỐ THỨ TỰ"),
    el("div", "pt-number", f.number),
  );
  if (f.priority) {
    const pr = el("div", "pt-prio");
    pr.append(el("div", "pt-prio-name", `ƯU TIÊN: ${f.priority.name.vi}`), el("div", "pt-prio-note", dict.vi["prio.note"]));
    p.appendChild(pr);
  }
  p.append(
    el("div", "pt-service", f.service.name.vi),
    row("Quầy phục vụ:", f.counters.join(", ")),
    row("Người chờ trước:", String(f.ahead)),
    row("Dự kiến chờ:", range || "chưa ước tính (chưa có quầy mở)"),
  );
  if (f.session) p.append(el("div", "pt-session", sessionNote(f.session, "vi")));
  p.append(row("Giờ lấy số:", `${hhmm(f.at)} · ${ddmmyyyy(f.at)}`));
  const qr = el("img", "pt-qr");
  qr.src = f.qr;
  qr.alt = "";
  p.append(qr, el("div", "pt-scan", "Quét mã QR để theo dõi lượt của ông/bà trên điện thoại"));
  const counters = f.counters.length === 1 ? `counter ${f.counters[0]}` : `counters ${f.counters.join(", ")}`;
  p.append(
    el(
      "div",
      "pt-en",
      `Ticket ${f.number} · ${f.service.name.en} · ${counters}${rangeEn ? ` · wait${f.estimate?.uncertain ? ":" : ""} ${rangeEn}` : ""}.${f.session ? ` ${sessionNote(f.session, "en")}.` : ""} Scan the QR code to follow your turn.`,
    ),
    el("div", "pt-foot", "Vui lòng giữ phiếu và chú ý nghe gọi số."),
  );
  return qr;
}

/** Sets the printed page to 80 mm × the ticket's own length, so no paper is wasted. */
function fitPage() {
  const p = $("print-ticket");
  const mm = Math.ceil((p.getBoundingClientRect().height * 25.4) / 96) + 2;
  let style = $("page-size");
  if (!style) {
    style = document.createElement("style");
    style.id = "page-size";
    document.head.appendChild(style);
  }
  style.textContent = `@page { size: 80mm ${mm}mm; margin: 0; }`;
  document.body.dataset.ticketMm = String(mm);
}

function loaded(img) {
  if (img.complete && img.naturalWidth > 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => resolve();
    img.addEventListener("load", done, { once: true });
    img.addEventListener("error", done, { once: true });
    setTimeout(done, QR_WAIT_MS);
  });
}

async function printTicket() {
  if (!issued) return;
  const qr = renderPrintTicket();
  await loaded(qr);
  fitPage();
  document.body.dataset.printReady = "1";
  if (PRINT) window.print();
}

// ----- actions -----
function goHome(resetLanguage) {
  dept = null;
  service = null;
  priority = null;
  card = null;
  cardNote = null;
  renderCard();
  issued = null;
  reprinted = false;
  $("confirm-error").hidden = true;
  $("search-input").value = "";
  keyboard.setValue("");
  if (resetLanguage && i18n.lang !== "vi") i18n.set("vi");
  show("home");
  updateHome();
}

function openDept(code) {
  dept = code;
  renderDept();
  show("dept");
}

function openService(code, from) {
  const st = stats(code);
  if (st && !st.open) return;
  service = code;
  confirmFrom = from;
  priority = offeredCategory()?.code ?? null;
  $("confirm-error").hidden = true;
  $("confirm-error").dataset.kind = "";
  renderConfirm();
  show("confirm");
}

function openSearch() {
  $("search-input").value = keyboard.value;
  renderSearch();
  show("search");
  $("search-input").focus({ preventScroll: true });
}

async function issue() {
  if (issuing || pausedReason()) return;
  const s = serviceDef(service);
  if (!s) return;
  issuing = true;
  const err = $("confirm-error");
  err.hidden = true;
  err.dataset.kind = "";
  updateConfirm();
  try {
    const command = { type: "issue", service: s.code };
    if (priority) command.priority = priority;
    // Only the ID number leaves the kiosk; the server keeps a keyed hash (per-person limits).
    if (card) command.person_id = card.id;
    const result = await live.send(command);
    issued = { result, service: s, priority };
    issuing = false;
    reprinted = false;
    if (result.print && !result.print.queued && printer) {
      printer = { ...printer, ok: false, state: "busy", message: result.print.error.message, message_en: result.print.error.message_en };
    }
    renderTicket();
    ticketShownAt = Date.now();
    lastActivity = Date.now();
    show("ticket");
    // The server prints on a network printer; otherwise the browser does.
    if (!result.print) printTicket();
  } catch (e) {
    issuing = false;
    err.textContent = typeof e?.text === "function" ? e.text(i18n.lang) || t("err.generic") : t("err.generic");
    err.hidden = false;
    err.dataset.kind = "error";
    updateConfirm();
  }
}

// ----- check-in of a number taken from home -----
function openCheckin() {
  $("checkin-number").value = "";
  $("checkin-last4").value = "";
  $("checkin-error").hidden = true;
  $("checkin-done").hidden = true;
  checkinField = "checkin-number";
  renderCheckinPad();
  show("checkin");
}

/** The pad: the site's ticket letters, then digits; it types into the field chosen last. */
function renderCheckinPad() {
  const pad = $("checkin-pad");
  pad.textContent = "";
  const letters = checkinField === "checkin-number" ? [...new Set(setup.departments.map((d) => d.prefix))] : [];
  for (const k of [...letters, "1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "⌫"]) {
    const b = el("button", "checkin-key", k);
    b.type = "button";
    b.dataset.checkinKey = k;
    if (k === "⌫") b.setAttribute("aria-label", t("key.backspace"));
    pad.appendChild(b);
  }
  for (const id of ["checkin-number", "checkin-last4"]) $(id).parentElement.classList.toggle("active", id === checkinField);
  $("checkin-btn").textContent = checkingIn ? t("checkin.sending") : t("checkin.submit");
}

function checkinKey(k) {
  const input = $(checkinField);
  if (k === "⌫") input.value = input.value.slice(0, -1);
  else if (input.value.length < input.maxLength) input.value += k;
  $("checkin-error").hidden = true;
}

// Touching a field chooses where the pad types.
for (const id of ["checkin-number", "checkin-last4"]) {
  $(id).addEventListener("pointerdown", () => {
    checkinField = id;
    renderCheckinPad();
  });
}

/** Sends the check-in: by `token` (a scanned QR code) or by the typed number and 4 digits. */
async function checkIn(tokenScanned) {
  if (checkingIn || pausedReason()) return;
  const number = $("checkin-number").value.trim();
  const last4 = $("checkin-last4").value.trim();
  const err = $("checkin-error");
  err.hidden = true;
  $("checkin-done").hidden = true;
  const command = { type: "check_in" };
  if (tokenScanned) command.token = tokenScanned;
  else if (!number || last4.length !== 4) {
    err.textContent = t("checkin.need");
    err.hidden = false;
    return;
  } else {
    command.number = number;
    command.phone_last4 = last4;
  }
  checkingIn = true;
  renderCheckinPad();
  try {
    const r = await live.send(command);
    const tk = r.ticket;
    const svc = serviceDef(tk.service);
    // Kept its place: it still waits at its issue time (docs/protocol.md, ticket_checked_in).
    const kept = tk.enqueued_at_ms === tk.issued_at_ms;
    const ahead = tk.estimate?.ahead;
    const lines = [
      t("checkin.ok", { n: tk.number }),
      t(kept ? "checkin.kept" : "checkin.behind"),
      ahead == null ? "" : ahead > 0 ? t("checkin.ahead", { n: ahead }) : t("checkin.next"),
      svc ? t("checkin.counters", { c: svc.counters.join(", ") }) : "",
    ].filter(Boolean);
    const done = $("checkin-done");
    done.textContent = "";
    done.append(el("div", "checkin-number-big", tk.number), el("p", null, lines.join(" ")));
    done.hidden = false;
    $("checkin-number").value = "";
    $("checkin-last4").value = "";
    checkinField = "checkin-number";
  } catch (e) {
    err.textContent = typeof e?.text === "function" ? e.text(i18n.lang) || t("err.generic") : t("err.generic");
    err.hidden = false;
  } finally {
    checkingIn = false;
    lastActivity = Date.now();
    renderCheckinPad();
  }
}

// ----- not issuing -----
function pausedReason() {
  if (refused || !token) return "unpaired";
  if (!setup || !live) return "connecting";
  if (status !== "live") return status === "connecting" ? "connecting" : "reconnecting";
  if (welcome && !welcome.authenticated) return "unpaired";
  if (!live.state.intakeOpen) return "intake";
  return null;
}

function updatePaused() {
  const why = pausedReason();
  const grace = why === "connecting" && Date.now() - startedAt < CONNECTING_GRACE_MS;
  const box = $("paused");
  const on = !!why && !grace;
  box.hidden = !on;
  document.body.dataset.paused = why || "";
  if (on) {
    $("paused-title").textContent = dict.vi["paused.title"];
    $("paused-text").textContent = dict.vi[`paused.${why}`];
    $("paused-en").textContent = `${dict.en["paused.title"]}. ${dict.en[`paused.${why}`]}`;
    $("paused-spinner").hidden = why === "unpaired";
    $("paused-retry").textContent = dict.vi["paused.retry"];
  }
  if (screen === "confirm") updateConfirm();
}

function renderAll() {
  if (!setup) return;
  renderHeader();
  keyboard.setLabels({ keyboard: t("keyboard"), space: t("key.space"), backspace: t("key.backspace"), clear: t("key.clear") });
  renderHome();
  if (screen === "dept") renderDept();
  if (screen === "search") renderSearch();
  if (screen === "confirm") renderConfirm();
  if (screen === "ticket") renderTicket();
  renderCard();
  updatePaused();
}

function onLive() {
  updateHome();
  if (screen === "dept" || screen === "search") {
    for (const b of document.querySelectorAll(`#screen-${screen} .svc`)) updateServiceRow(b);
  }
  if (screen === "confirm") updateConfirm();
  updatePaused();
}

// ----- input -----
const keyboard = createKeyboard($("keyboard"), {
  onKey(value) {
    $("search-input").value = value;
    renderSearch();
  },
});

// Keys keep the focus in the search field.
$("keyboard").addEventListener("pointerdown", (e) => e.preventDefault());
$("search-input").addEventListener("input", () => {
  keyboard.setValue($("search-input").value);
  renderSearch();
});

document.addEventListener("click", (e) => {
  const target = e.target instanceof Element ? e.target : null;
  if (!target) return;
  if (target.closest("a")) e.preventDefault();
  const b = target.closest("button");
  if (!b) return;
  if (b.id === "lang") return i18n.set(i18n.lang === "vi" ? "en" : "vi");
  if (b.id === "search-open") return openSearch();
  if (b.id === "checkin-open") return openCheckin();
  if (b.dataset.checkinKey) return checkinKey(b.dataset.checkinKey);
  if (b.id === "checkin-btn") return checkIn(null);
  if (b.dataset.action === "home") return goHome(false);
  if (b.id === "confirm-back") {
    if (confirmFrom === "dept" && dept) {
      renderDept();
      return show("dept");
    }
    if (confirmFrom === "search") return openSearch();
    return goHome(false);
  }
  if (b.dataset.dept) return openDept(b.dataset.dept);
  if (b.dataset.svc) {
    if (b.getAttribute("aria-disabled") === "true") return;
    return openService(b.dataset.svc, screen);
  }
  if (b.dataset.prio !== undefined) {
    priority = b.dataset.prio || null;
    for (const o of document.querySelectorAll(".prio-opt")) o.setAttribute("aria-checked", String(o === b));
    return;
  }
  if (b.id === "issue-btn") return issue();
  if (b.id === "reprint-btn") {
    ticketShownAt = Date.now();
    return printer ? reprintOnServer() : printTicket();
  }
  if (b.id === "done-btn") return goHome(true);
});

// ----- lockdown: no selecting, no context menu, no leaving the page, no zoom -----
for (const type of ["contextmenu", "dragstart", "auxclick", "gesturestart"]) {
  document.addEventListener(type, (e) => e.preventDefault());
}
document.addEventListener("selectstart", (e) => {
  if (!(e.target instanceof Element && e.target.closest("input"))) e.preventDefault();
});
document.addEventListener("wheel", (e) => { if (e.ctrlKey) e.preventDefault(); }, { passive: false });
document.addEventListener("touchmove", (e) => { if (e.touches.length > 1) e.preventDefault(); }, { passive: false });
document.addEventListener("keydown", (e) => {
  const inInput = e.target instanceof Element && e.target.closest("input");
  const blocked =
    (e.altKey && (e.key === "ArrowLeft" || e.key === "ArrowRight" || e.key === "Home")) ||
    ((e.ctrlKey || e.metaKey) && ["p", "s", "o", "u", "+", "-", "=", "0", "l", "n", "t"].includes(e.key.toLowerCase())) ||
    (e.key === "Backspace" && !inInput) ||
    e.key === "F1" || e.key === "F3" || e.key === "F6" || e.key === "F7" || e.key === "F12" || e.key === "BrowserBack";
  if (blocked) e.preventDefault();
  if (e.key === "Escape" && screen !== "home") goHome(false);
});
history.pushState({ kiosk: true }, "", location.href);
window.addEventListener("popstate", () => {
  history.pushState({ kiosk: true }, "", location.href);
  goHome(false);
});

// ----- the chip ID card (CCCD): a USB 2D scanner typing the card's QR -----
function offeredCategory() {
  return card ? offeredPriority(setup?.priority_categories, card.age) : null;
}

function siteToday() {
  const [y, m, d] = isoDay(serverNow()).split("-").map(Number);
  return { y, m, d };
}

function renderCard() {
  const box = $("card-status");
  const now = Date.now();
  if (cardNote && !cardNote.ok && now > cardNote.until) cardNote = null;
  if (!card && !cardNote) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  box.dataset.kind = cardNote && !cardNote.ok ? "error" : "ok";
  if (cardNote && !cardNote.ok) {
    box.textContent = t("cccd.refused", { why: t(`cccd.${cardNote.error}`) });
    return;
  }
  const parts = [t("cccd.read", { last: card.id.slice(-4) })];
  const offered = offeredCategory();
  if (offered) parts.push(t("cccd.offered", { age: offered.min_age, p: i18n.pick(offered.name) }));
  box.textContent = parts.join(" ");
}

function onScan(text) {
  if (!setup) return;
  const r = parseCccd(text, siteToday());
  if (!r.ok) {
    // A refused scan changes nothing: the card read before (if any) stays.
    cardNote = { ok: false, error: r.error, until: Date.now() + CARD_ERROR_MS };
    renderCard();
    return;
  }
  card = { id: r.id, age: r.age };
  cardNote = { ok: true };
  const offered = offeredCategory();
  if (screen === "confirm" && offered) {
    priority = offered.code;
    renderPriority();
  }
  renderCard();
}

const scan = { text: "", last: 0, input: null, before: "" };
document.addEventListener("keydown", (e) => {
  const now = performance.now();
  if (now - scan.last > SCAN_KEY_GAP_MS) {
    scan.text = "";
    scan.input = e.target instanceof Element ? e.target.closest("input") : null;
    scan.before = scan.input ? scan.input.value : "";
  }
  scan.last = now;
  if (e.key === "Enter") {
    // The QR code of a ticket (its page's URL, /t/<token>): a number taken from home checks in.
    const ticketQr = /\/t\/([0-9a-f]{32})\b/.exec(scan.text);
    if (ticketQr && scan.text.length >= SCAN_LEN_MIN) {
      e.preventDefault();
      e.stopPropagation();
      if (scan.input) scan.input.value = scan.before;
      if (screen !== "checkin") openCheckin();
      checkIn(ticketQr[1]);
      scan.text = "";
      return;
    }
    if (scan.text.length >= SCAN_LEN_MIN && scan.text.includes("|")) {
      e.preventDefault();
      e.stopPropagation();
      // What the scanner typed into a field is not the citizen's.
      if (scan.input) {
        scan.input.value = scan.before;
        if (scan.input.id === "search-input") {
          keyboard.setValue(scan.before);
          renderSearch();
        }
      }
      onScan(scan.text);
    }
    scan.text = "";
    return;
  }
  if (e.key.length === 1) scan.text += e.key;
}, true);

// ----- idle -----
for (const type of ["pointerdown", "keydown", "wheel", "touchstart"]) {
  document.addEventListener(type, () => { lastActivity = Date.now(); }, { capture: true, passive: true });
}

function tick() {
  const now = Date.now();
  if (setup) $("clock").textContent = hhmm(serverNow());
  if (screen === "ticket") {
    const idle = printer && !printer.ok ? TICKET_IDLE_MS * PRINT_FAILED_IDLE_FACTOR : TICKET_IDLE_MS;
    const left = Math.ceil((idle - (now - Math.max(ticketShownAt, lastActivity))) / 1000);
    $("ticket-countdown").textContent = t("ticket.countdown", { n: Math.max(0, left) });
    if (left <= 0) goHome(true);
  } else if (screen !== "home" && now - lastActivity > IDLE_MS) {
    goHome(true);
  } else if (screen === "home" && i18n.lang !== "vi" && now - lastActivity > IDLE_MS) {
    i18n.set("vi");
  }
  if (screen === "confirm") updateSessionNote();
  if (pausedReason() === "connecting") updatePaused();
  // A card left behind on the home screen is not the next citizen's.
  if (card && screen === "home" && now - lastActivity > IDLE_MS) goHome(false);
  if (cardNote && !cardNote.ok && now > cardNote.until) renderCard();
}

// ----- start -----
async function start() {
  updatePaused();
  setInterval(tick, 500);
  // The setup is needed to draw anything; keep asking while the server is away.
  for (let delay = 500; !setup; delay = Math.min(delay * 2, 10_000)) {
    try {
      setup = await loadSetup(params.get("site") || undefined);
    } catch {
      status = "reconnecting";
      startedAt = 0;
      updatePaused();
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  index = buildIndex(setup.services, setup.departments);
  renderAll();
  show("home");
  if (!token) return updatePaused();
  live = connect({
    role: "kiosk",
    site: setup.site,
    deviceToken: token,
    onWelcome(w) {
      welcome = w;
      setServerTime(w.server_time_ms);
      printer = w.printer ?? null;
      if (screen === "ticket") renderPrinting();
      updatePaused();
    },
    onPrinter(p) {
      if (!printer || p.name !== printer.name) return; // another kiosk's printer
      printer = p;
      if (screen === "ticket") renderPrinting();
    },
    onStatus(s) {
      status = s;
      if (s === "refused") refused = true;
      updatePaused();
    },
    onError(e) {
      if (e.code === "device_unknown") refused = true;
      updatePaused();
    },
    onChange() {
      onLive();
    },
    async onConfig() {
      // A manager changed the center: new names, services or hours show without a reload.
      setup = await loadSetup(setup.site);
      index = buildIndex(setup.services, setup.departments);
      renderAll();
      if (screen !== "ticket") show("home");
    },
  });
  // For tests and diagnostics.
  window.luotKiosk = { get live() { return live; }, get screen() { return screen; }, get printer() { return printer; }, pausedReason };
}

start();
