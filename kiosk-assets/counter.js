// Counter console: log in, choose and open a counter, call / recall / start / complete /
// no-show / transfer / call a number / cancel / return / pause / close, with keyboard shortcuts.
// Every command goes over the live socket and its reply (or error, in vi/en) is shown. While the
// connection is not live every action is disabled and a banner says so.
import { connect, loadSetup, CommandError } from "/js/live.js";
import { createI18n } from "/js/i18n.js";
import { COUNTER_TEXT } from "/js/text/counter.js";
import { loginForm } from "/js/api.js";
import { checkDossier, parseTicketNumber } from "/js/rules.js";
import { $, el } from "/js/dom.js";
import { serverNow, setServerTime } from "/js/clock.js";

const params = new URLSearchParams(location.search);
const WAITING_SHOWN = 60;
const NOSHOWS_KEPT = 8;
const LAST_COUNTER_KEY = "luot.counter.last";

const i18n = createI18n(COUNTER_TEXT, () => render());
const loginUi = loginForm({ i18n, onLogin: async (account) => { me = account; await afterLogin(); } });

// ---------- state ----------
let setup = null;
let me = null; // { login, display_name, role, counters }
let live = null;
let status = "connecting";
let code = null; // the counter this console works at
let busy = false; // a command is in flight
const notes = new Map(); // ticket id → transfer note (seen in this session)
/** This counter's no-shows that may still come back, newest first (from the server's state). */
const noShows = () => (live?.state.noShows || []).filter((t) => t.counter === code).slice(0, NOSHOWS_KEPT);
let lastDone = null; // { number, counter }: the ticket last completed from this console
const dossiers = new Map(); // ticket number → dossier code attached from this console today

/** For tests: what the console did and what the server answered. */
const results = [];
window.luotConsole = {
  results,
  get status() { return status; },
  get counter() { return code; },
  get busy() { return busy; },
  drop() { live?.drop(); },
};

// ---------- helpers ----------
function show(screen) {
  $("app").dataset.screen = screen;
  for (const s of ["login", "choose", "console"]) $(`screen-${s}`).hidden = s !== screen;
  $("logout").hidden = screen === "login" || !me;
  $("switch-counter").hidden = screen !== "console";
  $("user").hidden = !me;
  $("figures").hidden = screen !== "console";
}

function serviceName(c) {
  const s = setup?.services.find((x) => x.code === c);
  return s ? i18n.pick(s.name) : c;
}

function counterDef(c) {
  return setup?.counters.find((x) => x.code === c);
}

function counterLabel(c) {
  const def = counterDef(c);
  if (!def) return c;
  return def.name ? i18n.pick(def.name) : i18n.t("counter.n", { n: def.number });
}

function priorityName(p) {
  const cat = setup?.priority_categories?.find((x) => x.code === p);
  return cat ? i18n.pick(cat.name) : p;
}

function reasonText(r) {
  if (!r) return "–";
  const pol = setup?.policy || {};
  return i18n.t(`reason.${r}`, { n: pol.normal_per_priority ?? 2, m: Math.round((pol.max_wait_s ?? 5400) / 60) });
}

function mmss(s) {
  s = Math.max(0, Math.floor(s));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/**
 * Shows the outcome of the last action in the result line above the buttons (never over the
 * lists): green for done, red with the server's message for a refusal (its code only as the
 * box's tooltip, for support).
 */
function toast(kind, text, detail) {
  const box = $("result");
  box.hidden = false;
  box.dataset.kind = kind;
  box.setAttribute("aria-live", kind === "error" ? "assertive" : "polite");
  const tz = setup?.time_zone || "Asia/Ho_Chi_Minh";
  $("result-time").textContent = new Intl.DateTimeFormat("vi-VN", { timeZone: tz, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false }).format(new Date(serverNow()));
  $("result-text").textContent = text;
  // The official reads a sentence; the code stays at hand for support (hover, the log).
  $("result-code").textContent = "";
  box.title = detail || "";
  box.classList.remove("c-result-new");
  void box.offsetWidth;
  box.classList.add("c-result-new");
}

function errorText(e) {
  if (e instanceof CommandError) return e.text(i18n.lang) || e.code;
  return String(e?.message || e);
}

/**
 * Sends one command and shows its outcome. Returns the result, or null when refused.
 * `done(result)` gives the success text.
 */
async function command(cmd, done, { quietCodes = [] } = {}) {
  if (busy) return null;
  busy = true;
  renderActions();
  try {
    const r = await live.send(cmd);
    results.push({ type: cmd.type, ok: true, ticket: r?.ticket?.number ?? null });
    const text = done?.(r);
    if (text) toast("ok", text);
    return r;
  } catch (e) {
    const code = e?.code || "error";
    results.push({ type: cmd.type, ok: false, code });
    if (code === "login_required") {
      me = null;
      live?.close();
      live = null;
      showLogin(errorText(e));
      return null;
    }
    if (!quietCodes.includes(code)) toast("error", `${i18n.t("error.prefix")}: ${errorText(e)}`, code);
    throw e;
  } finally {
    busy = false;
    render();
  }
}
const attempt = (p) => p.catch(() => null);

// ---------- login ----------
function showLogin(message) {
  show("login");
  loginUi.reset(message);
}

async function logout() {
  await fetch("/api/v1/logout", { method: "POST" }).catch(() => {});
  live?.close();
  live = null;
  me = null;
  code = null;
  showLogin();
}

// ---------- choose a counter ----------
function allowedCounters() {
  if (!setup || !me) return [];
  if (me.role === "manager" || me.role === "admin") return setup.counters;
  const mine = new Set(me.counters || []);
  return setup.counters.filter((c) => mine.has(c.code) || mine.has(`${setup.site}/${c.code}`));
}

function renderChoose() {
  const list = $("counter-list");
  const counters = allowedCounters();
  $("choose-error").hidden = counters.length > 0;
  $("choose-error").textContent = counters.length ? "" : i18n.t("choose.none");
  list.replaceChildren(...counters.map((def) => {
    const view = live?.state.counters.get(def.code);
    const li = el("li");
    const b = el("button", "c-counter-choice");
    b.type = "button";
    b.dataset.counter = def.code;
    b.disabled = status !== "live";
    b.append(el("span", "c-choice-name", counterLabel(def.code)));
    const svc = def.services.map(serviceName);
    b.append(el("span", "c-choice-services", svc.length > 3 ? `${svc.slice(0, 3).join(", ")} … (+${svc.length - 3})` : svc.join(", ")));
    let st = i18n.t("choose.closed");
    if (view && view.status !== "closed") {
      st = view.official === me.login ? i18n.t("choose.openMine") : i18n.t("choose.openBy", { name: view.official || "?" });
      if (view.status === "paused") st += ` · ${i18n.t("choose.paused")}`;
    }
    b.append(el("span", "c-choice-status", st));
    b.addEventListener("click", () => chooseCounter(def.code));
    li.append(b);
    return li;
  }));
}

async function chooseCounter(c) {
  code = c;
  localStorage.setItem(LAST_COUNTER_KEY, c);
  const u = new URL(location.href);
  u.searchParams.set("counter", c);
  history.replaceState(null, "", u);
  show("console");
  notes.clear();
  await openCounter();
  render();
  document.activeElement?.blur?.();
}

async function openCounter() {
  const view = live?.state.counters.get(code);
  if (view && view.status !== "closed" && view.official === me?.login) return;
  try {
    await command({ type: "open_counter", counter: code }, () => i18n.t("done.open"), { quietCodes: ["counter_already_open"] });
  } catch (e) {
    // Open already (by us after a reload, or by a colleague): the banner says which.
    if (e?.code !== "counter_already_open") throw e;
  }
}

// ---------- the console ----------
function current() {
  return live?.state.counters.get(code) || null;
}

function waitingHere(state) {
  const c = state.counters.get(code);
  if (!c) return [];
  const services = new Set(c.services);
  const list = [];
  for (const t of state.waiting.values()) {
    if (t.target_counter) {
      if (t.target_counter === code) list.push(t);
    } else if (services.has(t.service)) list.push(t);
  }
  // Tickets sent to this very counter are called first: on top; then in queue order.
  list.sort((a, b) => (b.target_counter === code) - (a.target_counter === code) || a.enqueued_at_ms - b.enqueued_at_ms || a.id - b.id);
  return list;
}

function renderActions() {
  const c = current();
  const liveOk = status === "live" && !!c && !busy;
  const cur = c?.current;
  const open = c?.status === "open";
  const set = (id, on) => { $(id).disabled = !(liveOk && on); };
  set("btn-next", open && !cur);
  set("btn-recall", cur?.state === "called");
  set("btn-start", cur?.state === "called");
  set("btn-complete", !!cur);
  set("btn-noshow", cur?.state === "called");
  set("btn-transfer", !!cur);
  set("btn-callnum", open && !cur);
  set("btn-pause", (open && !cur) || c?.status === "paused");
  set("btn-close", c && c.status !== "closed" && !cur);
  $("btn-open").disabled = !(liveOk && c?.status === "closed");
  $("pause-label").textContent = i18n.t(c?.status === "paused" ? "act.resume" : "act.pause");
  for (const b of document.querySelectorAll("#waiting button, #noshows button, #return-form button")) b.disabled = status !== "live" || busy;
  for (const b of document.querySelectorAll("#waiting .c-call")) b.disabled = !(liveOk && open && !cur);
}

function renderCurrent() {
  const c = current();
  const cur = c?.current;
  const box = $("current");
  box.dataset.state = cur ? cur.state : c?.status === "closed" ? "closed" : "none";
  $("closed-box").hidden = c?.status !== "closed";
  $("paused-box").hidden = c?.status !== "paused";
  $("paused-reason").textContent = c?.pause_reason || "";
  document.querySelector(".c-current-body").hidden = c?.status === "closed";
  if (!cur) {
    $("cur-number").textContent = "—";
    const waiting = live ? waitingHere(live.state).length : 0;
    $("cur-state").textContent = c?.status === "open" ? (waiting ? i18n.t("current.noneWaiting", { n: waiting }) : i18n.t("current.noneEmpty")) : "";
    $("cur-timer").textContent = "";
    $("cur-service").textContent = "–";
    $("cur-reason").textContent = "–";
    $("cur-priority-row").hidden = true;
    $("cur-note-row").hidden = true;
    $("cur-extra-row").hidden = true;
    return;
  }
  $("cur-number").textContent = cur.number;
  $("cur-state").textContent = i18n.t(cur.state === "serving" ? "current.serving" : "current.called");
  $("cur-service").textContent = serviceName(cur.service);
  $("cur-reason").textContent = reasonText(cur.reason);
  $("cur-priority-row").hidden = !cur.priority;
  $("cur-priority").textContent = cur.priority ? priorityName(cur.priority) : "";
  const note = notes.get(cur.id);
  $("cur-note-row").hidden = !note;
  $("cur-note").textContent = note || "";
  const extra = [i18n.t("current.channel", { c: i18n.t(`channel.${cur.channel}`) })];
  if (cur.recalls) extra.push(i18n.t("current.recalls", { n: cur.recalls }));
  if (cur.transfers) extra.push(i18n.t("current.transfers", { n: cur.transfers }));
  $("cur-extra-row").hidden = false;
  $("cur-extra").textContent = extra.join(" · ");
  tickTimer();
}

function tickTimer() {
  const cur = current()?.current;
  if (!cur) return;
  const since = cur.state === "serving" ? cur.started_at_ms : cur.called_at_ms;
  $("cur-timer").textContent = since ? mmss((serverNow() - since) / 1000) : "";
}

function renderHeader() {
  const c = current();
  if (setup) $("site-name").textContent = i18n.pick(setup.name);
  const onConsole = $("app").dataset.screen === "console" && code;
  $("counter-title").textContent = onConsole ? counterLabel(code) : i18n.t("app.title");
  const pill = $("counter-status");
  pill.hidden = !onConsole || !c;
  if (c) {
    pill.dataset.status = c.status;
    pill.textContent = i18n.t(`status.${c.status}`);
  }
  $("user-name").textContent = me ? me.display_name || me.login : "";
  const conn = $("conn");
  conn.dataset.status = status;
  conn.textContent = i18n.t(status === "live" ? "conn.live" : status === "connecting" ? "conn.connecting" : "conn.reconnecting");
  $("fig-served").textContent = c ? String(c.served_today) : "0";
  $("fig-avg").textContent = c && c.served_today ? mmss(c.service_s_today / c.served_today) : "–";
  // Banner: the connection first, then a colleague at this counter.
  const banner = $("banner");
  if (me && status !== "live" && status !== "connecting") {
    banner.hidden = false;
    banner.dataset.kind = "lost";
    banner.textContent = i18n.t("banner.lost");
  } else if (onConsole && c && c.status !== "closed" && c.official && me && c.official !== me.login) {
    banner.hidden = false;
    banner.dataset.kind = "warn";
    banner.textContent = i18n.t("banner.otherOfficial", { name: c.official });
  } else {
    banner.hidden = true;
  }
  $("app").dataset.status = status;
}

function renderServices(state) {
  const c = state.counters.get(code);
  if (!c) return;
  let total = 0;
  const items = c.services.map((s) => {
    const st = state.services.get(s);
    const n = st ? st.waiting : 0;
    total += n;
    const li = el("li", "c-service");
    li.dataset.waiting = String(n);
    li.append(el("span", "c-service-name", serviceName(s)));
    li.append(el("span", "c-service-count tabular", String(n)));
    return li;
  });
  items.sort((a, b) => Number(b.dataset.waiting) - Number(a.dataset.waiting));
  $("services").replaceChildren(...items);
  $("services-total").textContent = i18n.t("waiting.count", { n: total });
}

function renderWaiting(state) {
  const list = waitingHere(state);
  $("waiting-total").textContent = i18n.t("waiting.count", { n: list.length });
  $("waiting-empty").hidden = list.length > 0;
  const now = serverNow();
  const rows = list.slice(0, WAITING_SHOWN).map((t) => {
    const tr = el("tr");
    tr.dataset.number = t.number;
    if (t.priority) tr.className = "c-row-priority";
    const num = el("th", "c-num tabular", t.number);
    num.scope = "row";
    tr.append(num);
    const svc = el("td", "c-svc", serviceName(t.service));
    if (t.target_counter === code) svc.append(el("span", "c-badge c-badge-transfer", i18n.t("waiting.toCounter")));
    // A number taken from home, not checked in: it holds its place but "next" skips it.
    if (t.away) svc.append(el("span", "c-badge c-badge-away", i18n.t("waiting.away")));
    tr.append(svc);
    tr.append(el("td", "c-waited tabular", i18n.t("waiting.min", { n: Math.max(0, Math.floor((now - t.enqueued_at_ms) / 60000)) })));
    const pr = el("td", "c-prio");
    if (t.priority) pr.append(el("span", "c-badge c-badge-priority", priorityName(t.priority)));
    tr.append(pr);
    const act = el("td", "c-row-actions");
    const call = el("button", "c-btn c-btn-small c-call", i18n.t("waiting.call"));
    call.type = "button";
    call.setAttribute("aria-label", `${i18n.t("waiting.call")} ${t.number}`);
    call.addEventListener("click", () => attempt(callNumber(t.number)));
    const cancel = el("button", "c-btn c-btn-small c-btn-ghost c-cancel", i18n.t("waiting.cancel"));
    cancel.type = "button";
    cancel.setAttribute("aria-label", `${i18n.t("waiting.cancel")} ${t.number}`);
    cancel.addEventListener("click", () => confirmCancel(t.number));
    if (t.away) {
      const here = el("button", "c-btn c-btn-small c-btn-secondary c-checkin", i18n.t("waiting.checkIn"));
      here.type = "button";
      here.setAttribute("aria-label", `${i18n.t("waiting.checkIn")}: ${t.number}`);
      here.addEventListener("click", () => attempt(checkInTicket(t.number)));
      act.append(here);
    }
    act.append(call, cancel);
    tr.append(act);
    return tr;
  });
  if (list.length > WAITING_SHOWN) {
    const tr = el("tr");
    const td = el("td", "c-muted", i18n.t("waiting.more", { n: list.length - WAITING_SHOWN }));
    td.colSpan = 5;
    tr.append(td);
    rows.push(tr);
  }
  $("waiting").replaceChildren(...rows);
}

function renderNoShows() {
  $("noshows").replaceChildren(...noShows().map((t) => {
    const li = el("li");
    li.append(el("span", "c-num tabular", t.number));
    li.append(el("span", "c-svc", serviceName(t.service)));
    const b = el("button", "c-btn c-btn-small c-btn-secondary", i18n.t("noshow.back"));
    b.type = "button";
    b.setAttribute("aria-label", `${i18n.t("noshow.back")}: ${t.number}`);
    b.addEventListener("click", () => attempt(returnTicket(t.number)));
    li.append(b);
    return li;
  }));
}

function render() {
  i18n.apply(document);
  $("lang").textContent = i18n.t("lang.label");
  renderHeader();
  const screen = $("app").dataset.screen;
  if (screen === "choose") renderChoose();
  if (screen === "console" && live) {
    renderCurrent();
    renderServices(live.state);
    renderWaiting(live.state);
    renderNoShows();
  }
  renderDossier();
  renderActions();
}

// ---------- actions ----------
const num = (r) => r?.ticket?.number ?? "";

function callNext() {
  return command({ type: "call_next", counter: code }, (r) => i18n.t("done.call", { n: num(r) }));
}
function callNumber(n) {
  return command({ type: "call_ticket", counter: code, number: n }, (r) => i18n.t("done.call", { n: num(r) || n }));
}
function recall() {
  return command({ type: "recall", counter: code }, (r) => i18n.t("done.recall", { n: num(r) }));
}
function start() {
  return command({ type: "start", counter: code }, (r) => i18n.t("done.start", { n: num(r) }));
}
function complete() {
  return command({ type: "complete", counter: code }, (r) => i18n.t("done.complete", { n: num(r) })).then((r) => {
    // The dossier field stays on the ticket just completed until the next call.
    if (r?.ticket) lastDone = { number: r.ticket.number, counter: code };
    render();
    return r;
  });
}

// ---------- dossier code ----------

/** The ticket the dossier field is for: the current one, else the one just completed here. */
function dossierTarget() {
  const cur = current()?.current;
  if (cur) return cur.number;
  return lastDone && lastDone.counter === code ? lastDone.number : null;
}

function renderDossier() {
  const n = live && $("app").dataset.screen === "console" ? dossierTarget() : null;
  const form = $("dossier-form");
  form.hidden = !n;
  if ($("dossier-number").textContent !== (n || "")) {
    $("dossier-number").textContent = n || "";
    $("dossier-input").value = "";
    $("dossier-error").hidden = true;
  }
  const saved = n ? dossiers.get(n) : null;
  $("dossier-saved").hidden = !saved;
  $("dossier-saved").textContent = saved ? i18n.t("dossier.saved", { d: saved, n }) : "";
  $("dossier-save").disabled = status !== "live" || busy;
}

async function submitDossier(ev) {
  ev.preventDefault();
  const n = dossierTarget();
  if (!n) return;
  const d = $("dossier-input").value.trim();
  const err = $("dossier-error");
  if (!d || !checkDossier(d)) {
    err.hidden = false;
    err.textContent = i18n.t(d ? "dossier.invalid" : "dossier.empty");
    $("dossier-input").focus();
    return;
  }
  err.hidden = true;
  try {
    const r = await command({ type: "attach_dossier", counter: code, number: n, dossier: d }, () => i18n.t("dossier.saved", { d, n }));
    if (r) {
      dossiers.set(n, d);
      $("dossier-input").value = "";
      render();
    }
  } catch (e) {
    err.hidden = false;
    err.textContent = errorText(e);
  }
}
function noShow() {
  return command({ type: "no_show", counter: code }, (r) => i18n.t("done.noshow", { n: num(r) }));
}
function returnTicket(n) {
  // The list follows the server: the ticket_returned event takes it off.
  return command({ type: "return", number: n }, () => i18n.t("done.return", { n }));
}
function checkInTicket(n) {
  return command({ type: "check_in", number: n }, () => i18n.t("done.checkIn", { n }));
}
function cancelTicket(n) {
  return command({ type: "cancel", number: n }, () => i18n.t("done.cancel", { n }));
}
function resume() {
  return command({ type: "resume_counter", counter: code }, () => i18n.t("done.resume"));
}

const normNumber = (s) => s.trim().toUpperCase().replace(/\s+/g, "");

function openDialog(d, focus) {
  d.showModal();
  if (focus) setTimeout(() => focus.focus(), 0);
}

function transferDialog() {
  const cur = current()?.current;
  if (!cur) return;
  $("transfer-number").textContent = cur.number;
  const sel = $("transfer-service");
  sel.replaceChildren();
  for (const d of setup.departments) {
    const g = document.createElement("optgroup");
    g.label = `${d.prefix} · ${i18n.pick(d.name)}`;
    for (const s of setup.services.filter((x) => x.department === d.code)) {
      const o = new Option(i18n.pick(s.name), s.code);
      g.append(o);
    }
    sel.append(g);
  }
  sel.value = cur.service;
  const csel = $("transfer-counter");
  fillTransferCounters();
  $("transfer-note").value = "";
  $("transfer-error").hidden = true;
  document.querySelector('#transfer-form input[value="service"]').checked = true;
  syncTransferKind();
  openDialog($("dlg-transfer"), sel);
}

/**
 * The other counters with their state. The server refuses a transfer to a counter that is
 * closed or paused (`transfer_target_closed`), so those are listed but cannot be chosen.
 */
function fillTransferCounters() {
  const csel = $("transfer-counter");
  const before = csel.value;
  csel.replaceChildren(...setup.counters.filter((c) => c.code !== code).map((c) => {
    const v = live.state.counters.get(c.code);
    const st = v ? i18n.t(`status.${v.status}`) : "";
    const o = new Option(`${counterLabel(c.code)} — ${st}`, c.code);
    o.disabled = v?.status !== "open";
    return o;
  }));
  const open = [...csel.options].filter((o) => !o.disabled);
  csel.value = open.some((o) => o.value === before) ? before : (open[0]?.value ?? "");
  syncTransferKind();
}

function syncTransferKind() {
  const kind = document.querySelector('#transfer-form input[name="kind"]:checked').value;
  $("transfer-service-field").hidden = kind !== "service";
  $("transfer-counter-field").hidden = kind !== "counter";
  const noneOpen = kind === "counter" && !$("transfer-counter").value;
  $("transfer-ok").disabled = noneOpen;
  const err = $("transfer-error");
  if (noneOpen) {
    err.textContent = i18n.t("transfer.noneOpen");
    err.hidden = false;
    err.dataset.kind = "none";
  } else if (err.dataset.kind === "none") {
    err.hidden = true;
    err.dataset.kind = "";
  }
}

async function submitTransfer(ev) {
  ev.preventDefault();
  const cur = current()?.current;
  const kind = document.querySelector('#transfer-form input[name="kind"]:checked').value;
  const target = kind === "service" ? $("transfer-service").value : $("transfer-counter").value;
  const note = $("transfer-note").value.trim();
  const err = $("transfer-error");
  err.hidden = true;
  err.dataset.kind = "";
  try {
    await command({ type: "transfer", counter: code, to: { kind, code: target }, note }, () => i18n.t("done.transfer", { n: cur?.number ?? "" }));
    $("dlg-transfer").close();
  } catch (e) {
    // The dialog stays open to choose again, and says why in it (the result line is behind it).
    err.textContent = `${errorText(e)} (${e?.code || "error"})`;
    err.hidden = false;
    err.dataset.kind = "refused";
    if (e?.code === "transfer_target_closed") fillTransferCounters();
  }
}

function callNumberDialog() {
  $("callnum-number").value = "";
  $("callnum-error").hidden = true;
  openDialog($("dlg-callnum"), $("callnum-number"));
}

async function submitCallNumber(ev) {
  ev.preventDefault();
  const n = normNumber($("callnum-number").value);
  const err = $("callnum-error");
  if (!parseTicketNumber(n)) {
    err.hidden = false;
    err.textContent = i18n.t("callnum.invalid");
    return;
  }
  try {
    await callNumber(n);
    $("dlg-callnum").close();
  } catch (e) {
    err.hidden = false;
    err.textContent = errorText(e);
  }
}

const PAUSE_REASONS = ["pause.r1", "pause.r2", "pause.r3", "pause.r4"];

function pauseDialog() {
  const box = $("pause-reasons");
  box.querySelectorAll("label").forEach((l) => l.remove());
  PAUSE_REASONS.forEach((k, i) => {
    const l = el("label", "c-reason");
    const r = document.createElement("input");
    r.type = "radio";
    r.name = "reason";
    r.value = i18n.t(k);
    if (i === 0) r.checked = true;
    l.append(r, document.createTextNode(` ${i18n.t(k)}`));
    box.append(l);
  });
  $("pause-text").value = "";
  $("pause-error").hidden = true;
  openDialog($("dlg-pause"), box.querySelector("input"));
}

async function submitPause(ev) {
  ev.preventDefault();
  const text = $("pause-text").value.trim();
  const reason = text || document.querySelector('#pause-reasons input:checked')?.value || "";
  if (!reason) {
    $("pause-error").hidden = false;
    $("pause-error").textContent = i18n.t("pause.empty");
    return;
  }
  try {
    await command({ type: "pause_counter", counter: code, reason }, () => i18n.t("done.pause"));
    $("dlg-pause").close();
  } catch (e) {
    $("pause-error").hidden = false;
    $("pause-error").textContent = errorText(e);
  }
}

let confirmAction = null;
function confirmDialog(title, text, ok, action) {
  $("dlg-confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = ok;
  confirmAction = action;
  openDialog($("dlg-confirm"), $("dlg-confirm").querySelector("[data-close]"));
}

function confirmCancel(n) {
  confirmDialog(i18n.t("confirm.cancelTitle", { n }), i18n.t("confirm.cancelText", { n }), i18n.t("confirm.cancelOk"), () => cancelTicket(n));
}

function confirmClose() {
  confirmDialog(i18n.t("confirm.closeTitle"), i18n.t("confirm.closeText"), i18n.t("confirm.closeOk"), async () => {
    await command({ type: "close_counter", counter: code }, () => i18n.t("done.close"));
    localStorage.removeItem(LAST_COUNTER_KEY);
    const u = new URL(location.href);
    u.searchParams.delete("counter");
    history.replaceState(null, "", u);
    code = null;
    show("choose");
    render();
  });
}

function pauseOrResume() {
  if (current()?.status === "paused") return attempt(resume());
  pauseDialog();
}

// ---------- keyboard ----------
const KEYS = {
  F1: "btn-next", F2: "btn-recall", F3: "btn-start", F4: "btn-complete",
  F6: "btn-noshow", F7: "btn-transfer", F8: "btn-callnum", F9: "btn-pause",
};

function onKey(ev) {
  if ($("app").dataset.screen !== "console") return;
  if (document.querySelector("dialog[open]")) return; // the dialog has the keyboard
  let id = KEYS[ev.key];
  if (!id && (ev.key === " " || ev.code === "Space")) {
    // Space calls the next ticket unless the focus is on something Space already works on.
    const t = ev.target;
    if (t && t.closest && t.closest("button, input, textarea, select, a, [contenteditable], [role=button]")) return;
    id = "btn-next";
  }
  if (!id) return;
  ev.preventDefault();
  const b = $(id);
  if (!b.disabled) b.click();
}

// ---------- live ----------
function onChange(state, why, msg) {
  if (why && typeof why === "object") {
    if (why.type === "ticket_transferred" && msg?.ticket) notes.set(msg.ticket.id, why.note || "");
    // A counter opened, paused or closed while the transfer dialog is open: offer what is true now.
    if (why.type?.startsWith("counter_") && $("dlg-transfer").open) fillTransferCounters();
  }
  render();
}

function sessionEnded(message) {
  me = null;
  live?.close();
  live = null;
  showLogin(message);
}

function startLive() {
  live?.close();
  live = connect({
    role: "counter",
    site: setup.site,
    onWelcome: (w) => {
      setServerTime(w.server_time_ms);
      // Reconnected without a session (it ended while the socket was down, e.g. the account
      // was disabled during a reconnect): the same as being told so.
      if (!w.authenticated && me) sessionEnded(i18n.t("login.ended"));
    },
    onChange,
    onStatus: (s) => { status = s; render(); },
    onError: (e) => {
      // Disabled, or the password was reset: back to the login form, saying why.
      if (e.code !== "session_ended") return;
      sessionEnded(i18n.lang === "en" ? e.message_en : e.message);
    },
    async onConfig() {
      setup = await loadSetup(setup.site);
      render();
    },
  });
}

async function afterLogin() {
  startLive();
  const wanted = params.get("counter");
  const allowed = allowedCounters();
  if (wanted && allowed.some((c) => c.code === wanted)) {
    code = wanted;
    show("console");
    // Open once the socket is live.
    await new Promise((resolve) => {
      const check = () => (status === "live" ? resolve() : setTimeout(check, 50));
      check();
    });
    await attempt(openCounter());
  } else {
    show("choose");
  }
  render();
}

async function boot() {
  $("lang").addEventListener("click", () => i18n.set(i18n.lang === "vi" ? "en" : "vi"));
  $("logout").addEventListener("click", logout);
  $("switch-counter").addEventListener("click", () => { code = null; show("choose"); render(); });
  $("btn-open").addEventListener("click", () => attempt(openCounter()));
  $("btn-next").addEventListener("click", () => attempt(callNext()));
  $("btn-recall").addEventListener("click", () => attempt(recall()));
  $("btn-start").addEventListener("click", () => attempt(start()));
  $("btn-complete").addEventListener("click", () => attempt(complete()));
  $("btn-noshow").addEventListener("click", () => attempt(noShow()));
  $("btn-transfer").addEventListener("click", transferDialog);
  $("btn-callnum").addEventListener("click", callNumberDialog);
  $("btn-pause").addEventListener("click", pauseOrResume);
  $("btn-close").addEventListener("click", confirmClose);
  $("transfer-form").addEventListener("submit", submitTransfer);
  $("transfer-form").addEventListener("change", syncTransferKind);
  $("callnum-form").addEventListener("submit", submitCallNumber);
  $("pause-form").addEventListener("submit", submitPause);
  $("dossier-form").addEventListener("submit", submitDossier);
  $("confirm-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const a = confirmAction;
    confirmAction = null;
    $("dlg-confirm").close();
    if (a) await attempt(a());
  });
  $("return-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const n = normNumber($("return-number").value);
    if (!parseTicketNumber(n)) {
      toast("error", i18n.t("callnum.invalid"));
      return;
    }
    attempt(returnTicket(n)).then((r) => { if (r) $("return-number").value = ""; });
  });
  for (const b of document.querySelectorAll("dialog [data-close]")) b.addEventListener("click", () => b.closest("dialog").close());
  document.addEventListener("keydown", onKey);
  setInterval(() => { tickTimer(); }, 1000);
  // Waited minutes move on even when nothing happens.
  setInterval(() => { if (live && $("app").dataset.screen === "console") renderWaiting(live.state); }, 30_000);

  render();
  for (let n = 0; !setup; n++) {
    try { setup = await loadSetup(params.get("site") || undefined); } catch {
      await new Promise((r) => setTimeout(r, Math.min(10_000, 1000 * 2 ** n)));
    }
  }
  const res = await fetch("/api/v1/me").catch(() => null);
  const body = res && res.ok ? await res.json() : null;
  if (body && body.login) {
    me = body;
    await afterLogin();
  } else {
    showLogin();
  }
}

boot();
