// Manager pages: log in (the console's form: POST /api/v1/login, a cookie session, /api/v1/me),
// then reports (reports.js), the center's configuration (a TOML editor with line numbers, check,
// apply live, export, import, and quick edits that change the right lines: admin-toml.js),
// accounts, the hall display's voice clips (replace one with the center's recording, put the
// built-in one back, try a call) and paired devices. Managers get reports, configuration, voice
// clips and the list of accounts; admins also add accounts and pair or revoke devices. An official gets a "no access" page (the
// API refuses them anyway).
import { loadSetup } from "/js/live.js";
import { createI18n } from "/js/i18n.js";
import { mountReports } from "/reports.js";
import { mountFloor } from "/admin-floor.js";
import * as toml from "/admin-toml.js";
import { createAnnouncer, compose, parseTemplate } from "/js/announcer.js";
import { ADMIN_TEXT as TEXT } from "/js/text/admin.js";
import { request, loginForm } from "/js/api.js";
import { REPORT_TEXT } from "/js/text/reports.js";
import { FLOOR_TEXT } from "/js/text/floor.js";
import { $, el } from "/js/dom.js";

const params = new URLSearchParams(location.search);
const TABS = ["floor", "reports", "config", "users", "voice", "devices", "integrations", "audit"];
/** Tabs only admins see (the API refuses managers anyway). */
const ADMIN_TABS = ["devices", "integrations"];

for (const l of ["vi", "en"]) Object.assign(TEXT[l], REPORT_TEXT[l], FLOOR_TEXT[l]);
const i18n = createI18n(TEXT, () => render());
const t = (k, v) => i18n.t(k, v);
const loginUi = loginForm({ i18n, onLogin: (account) => { me = account; afterLogin(); } });

// ---------- state ----------
let setup = null;
let me = null;
let screen = "loading";
let tab = "reports";
let officials = new Map();
let today = null;
const config = { loaded: false, text: "", version: null, errors: [], busy: false, unavailable: null, status: null, changed: new Set() };
let users = [];
let devices = [];
const integrations = { tokens: [], hooks: [], log: [], logHook: null };
const voice = { loaded: false, clips: [], languages: [], limits: null, lang: "vi", announcers: new Map(), msg: null, phraseError: null };

window.luotAdmin = {
  get screen() { return screen; },
  get tab() { return tab; },
  get config() { return config; },
  get voice() { return voice; },
  get integrations() { return integrations; },
};

// ---------- helpers ----------
/** JSON API call; a lost session shows the login form, a refusal the "no access" page. */
async function api(path, opts) {
  try {
    return await request(path, opts);
  } catch (e) {
    if (e.status === 401) {
      me = null;
      showLogin(t("login.expired"));
    }
    throw e;
  }
}

function isAdmin() { return me?.role === "admin"; }
function isManager() { return me?.role === "manager" || me?.role === "admin"; }

function counterLabel(code) {
  const c = setup?.counters.find((x) => x.code === code);
  if (!c) return code;
  return c.name && (c.name.vi || c.name.en) ? i18n.pick(c.name) : t("counter.n", { n: c.number });
}

function fmtTime(ms, seconds = false) {
  if (!ms) return "";
  return new Intl.DateTimeFormat(i18n.lang === "en" ? "en-GB" : "vi-VN", {
    timeZone: setup?.time_zone || "Asia/Ho_Chi_Minh", day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit", second: seconds ? "2-digit" : undefined, hour12: false,
  }).format(new Date(ms));
}

function banner(text, kind = "error") {
  const b = $("banner");
  b.hidden = !text;
  b.textContent = text || "";
  b.dataset.kind = kind;
}

// ---------- screens ----------
function show(next) {
  screen = next;
  $("app").dataset.screen = next;
  for (const s of ["login", "denied", ...TABS]) $(`screen-${s}`).hidden = s !== next;
  $("nav").hidden = !TABS.includes(next);
  $("logout").hidden = !me && next !== "denied";
  $("user").hidden = !me;
  render();
}

function showLogin(message) {
  show("login");
  loginUi.reset(message);
}

function showDenied(text) {
  $("denied-text").textContent = text;
  show("denied");
}

function tabFromHash() {
  const h = location.hash.replace(/^#/, "");
  return TABS.includes(h) ? h : "reports";
}

function openTab(next) {
  if (!me) return;
  if (!isManager()) {
    showDenied(t("denied.official", { name: me.display_name || me.login }));
    return;
  }
  if (ADMIN_TABS.includes(next) && !isAdmin()) next = "reports";
  tab = next;
  if (location.hash !== `#${next}`) history.replaceState(null, "", `#${next}`);
  banner(null);
  show(next);
  if (next === "floor") floor.show();
  else floor.hide();
  if (next === "reports") reports.show();
  if (next === "config" && !config.loaded) loadConfig();
  if (next === "users") loadUsers();
  if (next === "devices") loadDevices();
  if (next === "integrations") loadIntegrations();
  if (next === "voice") loadClips();
  if (next === "audit") loadAudit();
}

function render() {
  i18n.apply(document);
  $("lang").textContent = i18n.t("lang.label");
  if (setup) $("site-name").textContent = i18n.pick(setup.name);
  $("user-name").textContent = me ? me.display_name || me.login : "";
  $("user-role").textContent = me ? t(`role.${me.role}`) : "";
  for (const a of $("nav").querySelectorAll("a")) {
    a.hidden = ADMIN_TABS.includes(a.dataset.tab) && !isAdmin();
    if (a.dataset.tab === tab) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (screen === "denied" && me) $("denied-text").textContent = me.role === "official" || !me.role ? t("denied.official", { name: me.display_name || me.login }) : $("denied-text").textContent;
  if (screen === "floor") floor.render();
  if (screen === "reports") reports.render();
  if (screen === "config") renderConfig();
  if (screen === "users") renderUsers();
  if (screen === "devices") renderDevices();
  if (screen === "integrations") renderIntegrations();
  if (screen === "voice") renderVoice();
  if (screen === "audit") renderAudit();
}

// ---------- login ----------
async function logout() {
  if (config.text !== $("config-text").value && !confirm(t("config.leave"))) return;
  await fetch("/api/v1/logout", { method: "POST" }).catch(() => {});
  me = null;
  config.loaded = false;
  showLogin();
}

function afterLogin() {
  if (!isManager()) {
    showDenied(me.kind ? t("denied.device") : t("denied.official", { name: me.display_name || me.login }));
    return;
  }
  loadOfficials();
  openTab(tabFromHash());
}

async function loadOfficials() {
  try {
    const list = await (await fetch(`/api/v1/sites/${encodeURIComponent(setup.site)}/officials`)).json();
    if (Array.isArray(list)) officials = new Map(list.map((o) => [o.login, o.display_name || o.login]));
  } catch { /* the report shows logins then */ }
  // An admin or manager can read the accounts: names for the report even without that endpoint.
  if (!officials.size) {
    try {
      const list = await api("/api/v1/admin/users");
      officials = new Map(list.map((u) => [u.login, u.display_name || u.login]));
    } catch { /* fine */ }
  }
}

// ---------- configuration ----------
const editor = () => $("config-text");

function lineStarts(text) {
  const s = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) s.push(i + 1);
  return s;
}

function renderGutter() {
  const text = editor().value;
  const n = lineStarts(text).length;
  const errLines = new Set(config.errors.map((e) => e.line));
  const g = $("gutter");
  if (g.dataset.n !== String(n) || g.dataset.marks !== [...errLines, "|", ...config.changed].join(",")) {
    const frag = document.createDocumentFragment();
    for (let i = 1; i <= n; i++) {
      const s = el("span", null, String(i));
      if (errLines.has(i)) s.className = "err";
      else if (config.changed.has(i)) s.className = "chg";
      frag.append(s, "\n");
    }
    g.replaceChildren(frag);
    g.dataset.n = String(n);
    g.dataset.marks = [...errLines, "|", ...config.changed].join(",");
  }
  g.scrollTop = editor().scrollTop;
}

function cursorPos() {
  const ta = editor();
  const before = ta.value.slice(0, ta.selectionStart);
  const l = before.split("\n").length;
  const c = ta.selectionStart - before.lastIndexOf("\n");
  $("config-pos").textContent = t("config.pos", { l, c });
}

/** Selects line `line` (1-based) and scrolls it into the middle of the editor. */
function jumpTo(line, column = 1) {
  const ta = editor();
  const starts = lineStarts(ta.value);
  const l = Math.min(Math.max(1, line), starts.length);
  const start = starts[l - 1];
  const end = l < starts.length ? starts[l] - 1 : ta.value.length;
  ta.focus({ preventScroll: true });
  const col = Math.min(start + Math.max(0, column - 1), end);
  ta.setSelectionRange(column > 1 ? col : start, end);
  const lh = parseFloat(getComputedStyle(ta).lineHeight) || 20;
  ta.scrollTop = Math.max(0, (l - 1) * lh - ta.clientHeight / 3);
  renderGutter();
  cursorPos();
}

function dirty() { return config.loaded && editor().value !== config.text; }

function setStatus(kind, text) {
  config.status = text ? { kind, text } : null;
  renderConfigStatus();
}

function renderConfigStatus() {
  const s = $("config-status");
  s.hidden = !config.status;
  s.dataset.kind = config.status?.kind || "";
  s.textContent = config.status?.text || "";
  const list = $("config-errors");
  list.hidden = !config.errors.length;
  list.replaceChildren(...config.errors.map((e) => {
    const li = el("li");
    const b = el("button", "m-error-item");
    b.type = "button";
    b.dataset.line = String(e.line || "");
    b.append(el("span", "m-error-pos tabular", e.line ? t("config.errLine", { l: e.line, c: e.column || 1 }) : "—"), el("span", "m-error-msg", (i18n.lang === "en" && e.message_en) || e.message));
    b.addEventListener("click", () => { if (e.line) jumpTo(e.line, e.column || 1); });
    li.append(b);
    return li;
  }));
}

function renderConfig() {
  $("config-version").textContent = config.version == null ? "–" : String(config.version);
  $("config-dirty").hidden = !dirty();
  const off = !config.loaded || config.busy;
  for (const id of ["config-check", "config-apply", "config-export", "config-revert"]) $(id).disabled = off;
  $("config-import").disabled = !config.loaded;
  editor().readOnly = !config.loaded;
  for (const b of document.querySelectorAll(".m-quick-form button")) b.disabled = off;
  renderConfigStatus();
  renderGutter();
}

function errorsOf(e) {
  const list = e?.body?.errors;
  if (Array.isArray(list) && list.length) return list.map((x) => ({ line: x.line, column: x.column, message: x.message, message_en: x.message_en }));
  return [];
}

async function loadConfig() {
  config.errors = [];
  setStatus("info", t("config.loading"));
  try {
    const r = await api("/api/v1/admin/config");
    config.text = r.toml;
    config.version = r.version;
    config.loaded = true;
    config.unavailable = null;
    config.changed.clear();
    editor().value = r.toml;
    setStatus(null);
    fillQuick();
  } catch (e) {
    if (e.status === 401) return;
    config.unavailable = e.code;
    setStatus("error", e.status === 403 ? t("banner.forbidden") : t("config.unavailable", { code: e.code }));
  }
  renderConfig();
}

async function checkConfig({ quiet = false } = {}) {
  config.busy = true;
  config.errors = [];
  if (!quiet) setStatus("info", t("config.checking"));
  renderConfig();
  try {
    const r = await api("/api/v1/admin/config/check", { method: "POST", body: { toml: editor().value } });
    const summary = summaryText(r.summary);
    setStatus("ok", `${dirty() ? t("config.okApply") : t("config.ok")}${summary ? ` (${summary})` : ""}`);
    return true;
  } catch (e) {
    if (e.status === 401) return false;
    config.errors = errorsOf(e);
    setStatus("error", config.errors.length ? t("config.invalid", { n: config.errors.length }) : e.text(i18n.lang));
    return false;
  } finally {
    config.busy = false;
    renderConfig();
  }
}

function summaryText(s) {
  if (!s) return "";
  if (typeof s === "string") return s;
  if (typeof s === "object" && "services" in s) return t("config.summary", { sites: s.sites ?? 1, services: s.services, counters: s.counters ?? "?" });
  return JSON.stringify(s);
}

async function applyConfig() {
  if (!dirty()) {
    setStatus("info", t("config.nothing"));
    return;
  }
  config.busy = true;
  config.errors = [];
  setStatus("info", t("config.applying"));
  renderConfig();
  try {
    const text = editor().value;
    const r = await api("/api/v1/admin/config", { method: "PUT", body: { toml: text } });
    config.text = text;
    config.version = r.version ?? config.version;
    config.changed.clear();
    setStatus("ok", `${t("config.applied", { v: config.version })}${r.restart_needed ? ` ${t("config.restart")}` : ""}`);
    renderConfig();
    // The server may have normalised the text or another manager may have changed it: reload quietly.
    try {
      const fresh = await api("/api/v1/admin/config");
      if (editor().value === text) {
        config.text = fresh.toml;
        config.version = fresh.version;
        editor().value = fresh.toml;
      }
    } catch { /* the applied text stays */ }
    try { setup = await loadSetup(setup.site); } catch { /* the old names stay */ }
    fillQuick();
  } catch (e) {
    if (e.status === 401) return;
    config.errors = errorsOf(e);
    setStatus("error", config.errors.length ? t("config.invalid", { n: config.errors.length }) : e.text(i18n.lang));
  } finally {
    config.busy = false;
    renderConfig();
  }
}

function exportConfig() {
  const blob = new Blob([editor().value], { type: "application/toml" });
  const a = el("a");
  a.href = URL.createObjectURL(blob);
  a.download = `luot-${setup.site}-v${config.version ?? "x"}${dirty() ? "-draft" : ""}.toml`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

async function importConfig(ev) {
  const file = ev.target.files?.[0];
  ev.target.value = "";
  if (!file) return;
  if (file.size > 2 * 1024 * 1024) {
    setStatus("error", t("config.importBig"));
    return;
  }
  editor().value = (await file.text()).replace(/\r\n/g, "\n");
  config.changed.clear();
  setStatus("info", t("config.imported", { name: file.name }));
  renderConfig();
  fillQuick();
  await checkConfig({ quiet: true });
}

// ---------- quick edits ----------
function editError(e) {
  if (e instanceof toml.EditError) {
    const vars = { ...e.vars, line: e.line ?? "" };
    if (vars.day) vars.day = t(`day.${vars.day}`);
    return t(e.key, vars);
  }
  return String(e?.message || e);
}

function quickResult(kind, text) {
  const p = $("quick-result");
  p.hidden = !text;
  p.dataset.kind = kind;
  p.textContent = text || "";
}

/** Prefills the quick-edit forms from the editor's text. */
function fillQuick() {
  const text = editor().value;
  const site = setup.site;
  try {
    const n = toml.getNotice(text, site);
    $("q-notice-vi").value = n.vi;
    $("q-notice-en").value = n.en;
  } catch { /* the form stays as it is */ }
  try {
    const h = toml.getHours(text, site);
    const box = $("q-hours-days");
    box.replaceChildren(...toml.DAYS.map((d) => {
      const l = el("label", "m-hours-day");
      const input = el("input");
      input.id = `q-hours-${d}`;
      input.dataset.day = d;
      input.value = h[d].join(", ");
      input.placeholder = "07:00-11:30, 13:30-17:00";
      input.autocomplete = "off";
      l.append(el("span", null, t(`day.${d}`)), input);
      return l;
    }));
  } catch { /* idem */ }
  try {
    const list = toml.services(text, site);
    const depts = setup.departments;
    const fill = (sel, keep) => {
      const before = sel.value;
      sel.replaceChildren(...list.map((s) => {
        const d = depts.find((x) => x.code === s.department);
        const name = s.name && typeof s.name === "object" ? i18n.pick(s.name) : s.code;
        const o = new Option(`${d ? `${d.prefix} · ` : ""}${name}`, s.code);
        o.dataset.cap = s.daily_cap ?? "";
        return o;
      }));
      if (keep && list.some((s) => s.code === before)) sel.value = before;
    };
    fill($("q-cap-service"), true);
    fill($("q-counter-service"), true);
    syncCap();
    const cs = toml.counters(text, site);
    const csel = $("q-counter-code");
    const before = csel.value;
    csel.replaceChildren(...cs.map((c) => new Option(c.name && typeof c.name === "object" ? i18n.pick(c.name) : t("counter.n", { n: c.number ?? c.code }), c.code)));
    if (cs.some((c) => c.code === before)) csel.value = before;
    syncCounter();
  } catch { /* idem */ }
}

function syncCap() {
  const o = $("q-cap-service").selectedOptions[0];
  $("q-cap-value").value = o?.dataset.cap || "";
  $("q-cap-value").placeholder = t("quick.capDefault");
}

function syncCounter() {
  try {
    const c = toml.counters(editor().value, setup.site).find((x) => x.code === $("q-counter-code").value);
    if (!c) return;
    const d = c.departments.length ? t("quick.counterDepts", { d: c.departments.join(", ") }) : "";
    $("q-counter-now").textContent = t("quick.counterNow", { n: c.effective.length, d });
  } catch { /* idem */ }
}

/** Runs one quick edit: puts the new text in the editor, marks and shows the line, checks. */
async function quick(fn) {
  let r;
  try {
    r = fn(editor().value);
  } catch (e) {
    quickResult("error", editError(e));
    if (e instanceof toml.EditError && e.line) jumpTo(e.line);
    return;
  }
  const ta = editor();
  ta.value = r.text;
  config.changed.add(r.line);
  jumpTo(r.line);
  renderConfig();
  const ok = await checkConfig({ quiet: true });
  quickResult(ok ? "ok" : "error", t("quick.done", { l: r.line, check: ok ? t("config.okApply") : t("config.invalid", { n: config.errors.length }) }));
  fillQuick();
}

// ---------- users ----------
async function loadUsers() {
  try {
    users = await api("/api/v1/admin/users");
  } catch (e) {
    if (e.status === 403) banner(t("banner.forbidden"));
  }
  renderUsers();
}

function renderUsers() {
  $("users").replaceChildren(...users.map((u) => {
    const tr = el("tr");
    tr.dataset.login = u.login;
    const th = el("th", "m-mono", u.login);
    th.scope = "row";
    tr.append(th, el("td", null, u.display_name));
    const role = el("td");
    role.append(el("span", `m-role m-role-${u.role}`, t(`role.${u.role}`)));
    if (u.disabled) role.append(" ", el("span", "m-badge", t("users.disabled")));
    tr.append(role);
    const cs = u.role === "official" ? (u.counters || []).map((c) => counterLabel(c.split("/").pop())).join(", ") : t("users.allCounters");
    tr.append(el("td", null, cs || "–"));
    if (u.disabled) tr.classList.add("m-users-disabled");
    const act = el("td", "m-actions-cell");
    if (isAdmin()) {
      const b = el("button", "m-btn m-btn-small m-btn-ghost", t("users.edit"));
      b.type = "button";
      b.setAttribute("aria-label", `${t("users.edit")}: ${u.login}`);
      b.addEventListener("click", () => editUser(u.login));
      act.append(b);
    }
    tr.append(act);
    return tr;
  }));
  const admin = isAdmin();
  $("users-actions-head").hidden = !admin;
  for (const td of document.querySelectorAll("#users .m-actions-cell")) td.hidden = !admin;
  $("users-add-note").hidden = admin;
  $("user-form").hidden = !admin;
  const box = $("u-counters");
  if (setup && box.childElementCount !== setup.counters.length) {
    box.replaceChildren(...setup.counters.map((c) => {
      const l = el("label", "m-check");
      const i = el("input");
      i.type = "checkbox";
      i.value = c.code;
      i.name = "counter";
      l.append(i, el("span", null, counterLabel(c.code)));
      return l;
    }));
  } else if (setup) {
    for (const l of box.querySelectorAll("label")) l.querySelector("span").textContent = counterLabel(l.querySelector("input").value);
  }
  $("u-counters-box").hidden = $("u-role").value !== "official";
}

function generatePassword() {
  const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  const bytes = crypto.getRandomValues(new Uint8Array(14));
  const p = [...bytes].map((b) => alphabet[b % alphabet.length]).join("");
  return `${p.slice(0, 5)}-${p.slice(5, 10)}-${p.slice(10)}`;
}

async function addUser(ev) {
  ev.preventDefault();
  const err = $("user-error");
  const ok = $("user-ok");
  err.hidden = true;
  ok.hidden = true;
  const login = $("u-login").value.trim();
  const name = $("u-name").value.trim();
  const role = $("u-role").value;
  const password = $("u-password").value;
  const counters = role === "official" ? [...document.querySelectorAll('#u-counters input:checked')].map((i) => i.value) : [];
  const fail = (m) => { err.hidden = false; err.textContent = m; };
  if (!/^[A-Za-z0-9._@-]{1,31}$/.test(login)) return fail(t("users.badLogin"));
  if (!name) return fail(t("users.badName"));
  if (password.length < 10) return fail(t("users.short"));
  if (role === "official" && !counters.length) return fail(t("users.noCounter"));
  $("user-submit").disabled = true;
  try {
    await api("/api/v1/admin/users", { method: "POST", body: { login, display_name: name, role, password, counters } });
    ok.hidden = false;
    ok.textContent = t("users.created", { login, password });
    $("user-form").reset();
    $("u-counters-box").hidden = false;
    officials.set(login, name);
    await loadUsers();
  } catch (e) {
    if (e.status !== 401) fail(e.text(i18n.lang));
  } finally {
    $("user-submit").disabled = false;
  }
}

// ---------- editing an account ----------
let editing = null; // login in the edit dialog

function counterChecks(box, checked) {
  box.replaceChildren(...(setup?.counters || []).map((c) => {
    const l = el("label", "m-check");
    const i = el("input");
    i.type = "checkbox";
    i.value = c.code;
    i.name = "counter";
    i.checked = checked.some((x) => x === c.code || x.endsWith(`/${c.code}`));
    l.append(i, el("span", null, counterLabel(c.code)));
    return l;
  }));
}

function renderEdit() {
  const u = users.find((x) => x.login === editing);
  if (!u) return;
  $("e-login").textContent = u.login;
  $("e-disabled").hidden = !u.disabled;
  $("e-toggle").textContent = t(u.disabled ? "edit.enable" : "edit.disable");
  $("e-toggle").className = `m-btn m-btn-small ${u.disabled ? "m-btn-secondary" : "m-btn-danger"}`;
  $("e-counters-box").hidden = $("e-role").value !== "official";
}

function editUser(login) {
  const u = users.find((x) => x.login === login);
  if (!u) return;
  editing = login;
  $("e-name").value = u.display_name;
  $("e-role").value = u.role;
  counterChecks($("e-counters"), u.counters || []);
  $("edit-error").hidden = true;
  $("edit-ok").hidden = true;
  renderEdit();
  $("dlg-user").showModal();
}

function editMessage(kind, text) {
  $("edit-error").hidden = kind !== "error";
  $("edit-ok").hidden = kind !== "ok";
  $(kind === "error" ? "edit-error" : "edit-ok").textContent = text;
}

async function saveUser(ev) {
  ev.preventDefault();
  const login = editing;
  const name = $("e-name").value.trim();
  const role = $("e-role").value;
  const counters = role === "official" ? [...document.querySelectorAll("#e-counters input:checked")].map((i) => i.value) : [];
  if (!name) return editMessage("error", t("users.badName"));
  if (role === "official" && !counters.length) return editMessage("error", t("users.noCounter"));
  $("e-save").disabled = true;
  try {
    await api(`/api/v1/admin/users/${encodeURIComponent(login)}`, { method: "POST", body: { display_name: name, role, counters } });
    officials.set(login, name);
    await loadUsers();
    editMessage("ok", t("edit.saved"));
  } catch (e) {
    if (e.status !== 401) editMessage("error", e.text(i18n.lang));
  } finally {
    $("e-save").disabled = false;
    renderEdit();
  }
}

async function userAction(login, action) {
  try {
    const r = await api(`/api/v1/admin/users/${encodeURIComponent(login)}/${action}`, { method: "POST", body: {} });
    await loadUsers();
    if (!$("dlg-user").open) $("dlg-user").showModal();
    if (action === "password") editMessage("ok", t("edit.passwordDone", { login, password: r.password }));
    else editMessage("ok", t(action === "disable" ? "edit.disabled" : "edit.enabled", { login }));
  } catch (e) {
    if (!$("dlg-user").open) $("dlg-user").showModal();
    if (e.status !== 401) editMessage("error", e.text(i18n.lang));
  }
  renderEdit();
}

function toggleUser() {
  const u = users.find((x) => x.login === editing);
  if (!u) return;
  if (u.disabled) return userAction(u.login, "enable");
  $("dlg-user").close();
  confirmDialog(t("edit.disableTitle", { login: u.login }), t("edit.disableText"), t("edit.disable"), () => userAction(u.login, "disable"));
}

function resetPassword() {
  const login = editing;
  $("dlg-user").close();
  confirmDialog(t("edit.passwordTitle", { login }), t("edit.passwordText"), t("edit.password"), () => userAction(login, "password"));
}

// ---------- audit log ----------
// 50 lines a page; `?audit_page_size=N` (1–500, the server's cap) for a shorter or longer page.
const AUDIT_PAGE_SIZE = Math.min(500, Math.max(1, Number(params.get("audit_page_size")) || 50));
const audit = { page: 1, pages: 1, total: 0, entries: [], actions: [], actors: [], names: {}, loaded: false };

function auditQuery(extra = {}) {
  const q = new URLSearchParams();
  for (const [k, id] of [["from", "a-from"], ["to", "a-to"], ["actor", "a-actor"], ["action", "a-action"]]) {
    const v = $(id).value;
    if (v) q.set(k, v);
  }
  for (const [k, v] of Object.entries(extra)) q.set(k, String(v));
  return q;
}

async function loadAudit(page = audit.page) {
  const err = $("audit-error");
  err.hidden = true;
  const from = $("a-from").value;
  const to = $("a-to").value;
  if (from && to && from > to) {
    err.hidden = false;
    err.textContent = t("audit.badRange");
    return;
  }
  try {
    const r = await api(`/api/v1/admin/audit?${auditQuery({ page, page_size: AUDIT_PAGE_SIZE })}`);
    Object.assign(audit, { page: r.page, pages: r.pages, total: r.total, entries: r.entries, actions: r.actions, actors: r.actors, names: r.action_names || {}, loaded: true });
  } catch (e) {
    if (e.status !== 401) {
      err.hidden = false;
      err.textContent = e.text(i18n.lang);
    }
  }
  renderAudit();
}

function fillSelect(sel, values, label) {
  const keep = sel.value;
  const first = sel.options[0];
  sel.replaceChildren(first, ...values.map((v) => new Option(label(v), v)));
  if (keep && !values.includes(keep)) sel.append(new Option(label(keep), keep));
  sel.value = keep;
}

// The server names each action in both languages (`action_names`); an unknown one shows its code.
function actionLabel(a) {
  return audit.names[a]?.[i18n.lang === "en" ? "en" : "vi"] ?? a;
}

function renderAudit() {
  fillSelect($("a-actor"), audit.actors, (v) => v);
  fillSelect($("a-action"), audit.actions, actionLabel);
  $("audit").replaceChildren(...(audit.entries.length ? audit.entries.map((e) => {
    const tr = el("tr");
    tr.append(el("td", "tabular", fmtTime(e.at_ms, true)), el("td", "m-mono", e.actor), el("td", null, actionLabel(e.action)), el("td", "m-mono", e.detail), el("td", "m-mono", e.address));
    return tr;
  }) : [(() => { const tr = el("tr"); const td = el("td", "m-muted", audit.loaded ? t("audit.none") : ""); td.colSpan = 5; tr.append(td); return tr; })()]));
  $("a-page").textContent = audit.loaded ? t("audit.page", { p: audit.page, n: audit.pages, total: audit.total }) : "";
  $("a-prev").disabled = audit.page <= 1;
  $("a-next").disabled = audit.page >= audit.pages;
  $("a-csv").href = `/api/v1/admin/audit?${auditQuery({ format: "csv", lang: i18n.lang === "en" ? "en" : "vi" })}`;
}

// ---------- voice clips ----------
const TRY_TICKET = "B017";
const TRY_COUNTER = 4;

async function loadClips() {
  try { setup = await loadSetup(setup.site); } catch { /* the setup we have: the template may be older */ }
  try {
    const r = await api("/api/v1/admin/clips");
    voice.clips = r.clips;
    voice.languages = r.languages;
    voice.limits = r.limits;
    voice.loaded = true;
    if (!voice.languages.includes(voice.lang)) voice.lang = voice.languages[0] || "vi";
  } catch (e) {
    if (e.status !== 401) voiceMessage("error", () => e.text(i18n.lang));
  }
  renderVoice();
}

/** A message above the list; `text` is a function, so it follows a change of language. */
function voiceMessage(kind, text) {
  voice.msg = kind ? { kind, text } : null;
  paintVoiceMessages();
}

function paintVoiceMessages() {
  const m = voice.msg;
  $("voice-error").hidden = m?.kind !== "error";
  $("voice-ok").hidden = m?.kind !== "ok";
  if (m) $(m.kind === "error" ? "voice-error" : "voice-ok").textContent = m.text();
  const pe = $("v-phrase-error");
  pe.hidden = !voice.phraseError;
  pe.textContent = voice.phraseError ? voice.phraseError() : "";
}

const clipLabel = (c) => (c.lang ? `${c.lang}/${c.name}` : c.name);
const num = (x, digits = 1) => new Intl.NumberFormat(i18n.lang === "en" ? "en-GB" : "vi-VN", { maximumFractionDigits: digits }).format(x);

function renderVoice() {
  const sel = $("v-lang");
  const langs = voice.languages.length ? voice.languages : ["vi", "en"];
  sel.replaceChildren(...langs.map((l) => new Option(t(`voice.lang.${l}`) === `voice.lang.${l}` ? l : t(`voice.lang.${l}`), l)));
  sel.value = voice.lang;
  $("v-try").textContent = t("voice.try", { ticket: TRY_TICKET, counter: TRY_COUNTER });
  if (voice.limits) $("v-limits").textContent = t("voice.limits", { max: num(voice.limits.bytes_max / 1024, 0), sec: num(voice.limits.seconds_max) });
  const q = $("v-filter").value.trim().toLowerCase();
  const only = $("v-replaced").checked;
  const rows = voice.clips.filter((c) => (c.lang === null || c.lang === voice.lang)
    && (!only || c.replaced)
    && (!q || c.name.includes(q) || (c.text || "").toLowerCase().includes(q)));
  renderTemplate();
  paintVoiceMessages();
  $("voice").replaceChildren(...(rows.length ? rows.map(voiceRow) : [(() => { const tr = el("tr"); const td = el("td", "m-muted", voice.loaded ? t("voice.none") : ""); td.colSpan = 4; tr.append(td); return tr; })()]));
}

const DEFAULT_TEMPLATE = { vi: "Mời công dân có số thứ tự {ticket} đến quầy số {counter}", en: "Ticket {ticket}, please go to counter {counter}" };

/** The template in force, with the words no clip says marked, and chips to add them. */
function renderTemplate() {
  const lang = voice.lang;
  const template = setup?.announcement?.[lang] || DEFAULT_TEMPLATE[lang] || "";
  const clips = Object.fromEntries(voice.clips.filter((c) => c.lang === lang).map((c) => [c.name, c.text]));
  const missing = voice.loaded ? compose(template, clips, TRY_TICKET, TRY_COUNTER).filter((p) => typeof p !== "string").map((p) => p.say) : [];
  const out = $("v-template");
  out.replaceChildren(...parseTemplate(template).map((p) => {
    if (p.slot) return el("span", "m-slot", `{${p.slot}}`);
    const covered = compose(p.text, clips, "", "").every((x) => typeof x === "string");
    return el("span", covered ? null : "m-uncovered", p.text);
  }));
  const cov = $("v-coverage");
  if (!voice.loaded) { cov.textContent = ""; return; }
  if (!missing.length) { cov.textContent = t("voice.covered"); return; }
  cov.replaceChildren(el("strong", null, t("voice.uncovered")), ...missing.map((m) => {
    const b = el("button", "m-chip", m);
    b.type = "button";
    b.addEventListener("click", () => { $("v-phrase-text").value = m; $("v-phrase-file").focus(); });
    return b;
  }), el("span", "m-muted", ` ${t("voice.uncoveredHint")}`));
}

/** Adds a phrase clip: the next free name phrase_N of the language, with its text. */
async function addPhrase(ev) {
  ev.preventDefault();
  const fail = (m) => { voice.phraseError = m; paintVoiceMessages(); };
  fail(null);
  const text = $("v-phrase-text").value.trim();
  const file = $("v-phrase-file").files?.[0];
  if (!text) return fail(() => t("voice.phraseNeedText"));
  if (!file) return fail(() => t("voice.phraseNeedFile"));
  const used = voice.clips.filter((c) => c.lang === voice.lang).map((c) => /^phrase_(\d+)$/.exec(c.name)?.[1]).filter(Boolean).map(Number);
  const name = `phrase_${Math.max(0, ...used) + 1}`;
  const c = { lang: voice.lang, name };
  $("v-phrase-add").disabled = true;
  try {
    const data = await putClip(c, file, text);
    if (!data) return;
    if (data.error) return fail(data.error);
    $("v-phrase-form").reset();
    await loadClips();
    voiceMessage("ok", () => t("voice.phraseAdded", { text: data.text, name: `${c.lang}/${name}` }));
  } finally {
    $("v-phrase-add").disabled = false;
  }
}

function voiceRow(c) {
  const label = clipLabel(c);
  const tr = el("tr", c.replaced ? "m-voice-row-replaced" : null);
  tr.dataset.clip = label;
  const th = el("th", "m-mono", c.name);
  th.scope = "row";
  const r = c.replaced;
  const current = r
    ? t(c.custom ? "voice.custom" : "voice.replaced", { s: num(r.duration_ms / 1000), kb: num(r.bytes / 1024), who: r.uploaded_by, when: fmtTime(r.uploaded_at) })
    : t("voice.builtIn");
  tr.append(th, el("td", "m-voice-text", c.lang ? c.text : t("voice.chime")), el("td", "m-small", current));
  const act = el("td", "m-actions-cell");
  const play = el("button", "m-btn m-btn-small m-btn-ghost", t("voice.play"));
  play.type = "button";
  play.dataset.action = "play";
  play.setAttribute("aria-label", t("voice.playAria", { name: label }));
  play.addEventListener("click", () => playClip(c));
  const up = el("label", "m-btn m-btn-small m-btn-secondary m-file-btn");
  up.append(document.createTextNode(t("voice.upload")));
  const input = el("input");
  input.type = "file";
  input.accept = ".ogg,.oga,.opus,audio/ogg";
  input.dataset.action = "upload";
  input.setAttribute("aria-label", t("voice.uploadAria", { name: label }));
  input.addEventListener("change", () => { const f = input.files?.[0]; input.value = ""; if (f) uploadClip(c, f); });
  up.append(input);
  act.append(play, up);
  if (r && c.custom) {
    const rm = el("button", "m-btn m-btn-small m-btn-danger", t("voice.remove"));
    rm.type = "button";
    rm.dataset.action = "remove";
    rm.addEventListener("click", () => confirmDialog(t("voice.removeTitle", { text: c.text }), t("voice.removeText"), t("voice.remove"), () => restoreClip(c)));
    act.append(rm);
  } else if (r) {
    const back = el("button", "m-btn m-btn-small m-btn-ghost", t("voice.restore"));
    back.type = "button";
    back.dataset.action = "restore";
    back.addEventListener("click", () => confirmDialog(t("voice.restoreTitle", { name: label }), t("voice.restoreText"), t("voice.restore"), () => restoreClip(c)));
    act.append(back);
  }
  tr.append(act);
  return tr;
}

let playing = null;
function playClip(c) {
  playing?.pause();
  playing = new Audio(c.url);
  playing.play().catch(() => {});
}

function clipPath(c) {
  return c.lang ? `/api/v1/admin/clips/${encodeURIComponent(c.lang)}/${encodeURIComponent(c.name)}` : "/api/v1/admin/clips/chime";
}

/**
 * PUTs a recording (and a new phrase's text); resolves with the clip as listed, with { error }
 * (a message for the user), or null when the session ended.
 */
async function putClip(c, file, text) {
  const max = voice.limits?.bytes_max;
  if (max && file.size > max) return { error: () => t("voice.tooBig", { file: file.name, kb: num(file.size / 1024), max: num(max / 1024, 0) }) };
  const q = text ? `?${new URLSearchParams({ text })}` : "";
  try {
    return await api(clipPath(c) + q, { method: "PUT", raw: file, type: "audio/ogg" });
  } catch (e) {
    if (e.status === 401) return null;
    return { error: () => e.text(i18n.lang) };
  }
}

async function uploadClip(c, file) {
  const label = clipLabel(c);
  voiceMessage("ok", () => t("voice.uploading", { file: file.name }));
  const data = await putClip(c, file);
  if (!data) return;
  if (data.error) {
    voiceMessage("error", () => t("voice.failed", { name: label, error: data.error() }));
    return;
  }
  Object.assign(c, data);
  voiceMessage("ok", () => t("voice.done", { name: label, file: file.name, s: num(data.replaced.duration_ms / 1000) }));
  renderVoice();
}

async function restoreClip(c) {
  try {
    const data = await api(clipPath(c), { method: "DELETE" });
    if (data.removed) {
      voice.clips = voice.clips.filter((x) => x !== c);
      voiceMessage("ok", () => t("voice.removed", { text: c.text }));
    } else {
      Object.assign(c, data);
      voiceMessage("ok", () => t("voice.restored", { name: clipLabel(c) }));
    }
  } catch (e) {
    if (e.status !== 401) voiceMessage("error", () => e.text(i18n.lang));
  }
  renderVoice();
}

/** Says a sample call with the site's template and the clips in use, as a hall display would. */
async function tryCall() {
  const lang = voice.lang;
  let a = voice.announcers.get(lang);
  try { setup = await loadSetup(setup.site); } catch { /* the setup we have */ }
  if (!a) {
    a = createAnnouncer({
      templates: setup.announcement || {},
      voice: lang,
      preload: false,
      onSpeaking: (item) => { $("v-try-status").textContent = item ? t("voice.trying") : ""; },
      onBlocked: () => { $("v-try-status").textContent = t("voice.tryBlocked"); },
    });
    voice.announcers.set(lang, a);
  }
  a.setTemplates(setup.announcement || {});
  window.luotAdmin.announcer = a;
  const unlocked = a.unlock(); // within the click: browsers allow sound after a gesture
  await a.load(); // the manifest again: a clip replaced a moment ago has a new URL
  await unlocked;
  a.announce({ ticket: TRY_TICKET, counter: TRY_COUNTER });
}

// ---------- devices ----------
const PAGES = { kiosk: "kiosk", display: "display", counter_display: "counter-display", rating: "rating" };

async function loadDevices() {
  try {
    devices = await api("/api/v1/admin/devices");
  } catch (e) {
    if (e.status === 403) banner(t("denied.manager"));
  }
  renderDevices();
}

function renderDevices() {
  const rows = devices.slice().sort((a, b) => (a.revoked_at ? 1 : 0) - (b.revoked_at ? 1 : 0) || a.id - b.id);
  $("devices").replaceChildren(...(rows.length ? rows.map((d) => {
    const tr = el("tr", d.revoked_at ? "m-revoked" : null);
    tr.dataset.id = String(d.id);
    const th = el("th", "tabular", String(d.id));
    th.scope = "row";
    tr.append(th, el("td", null, t(`kind.${d.kind}`)), el("td", null, d.name), el("td", null, d.counter ? counterLabel(d.counter) : "–"), el("td", "tabular", fmtTime(d.created_at)));
    const act = el("td", "m-actions-cell");
    if (d.revoked_at) act.append(el("span", "m-muted m-small", t("devices.revoked", { t: fmtTime(d.revoked_at) })));
    else {
      const b = el("button", "m-btn m-btn-small m-btn-ghost", t("devices.revoke"));
      b.type = "button";
      b.setAttribute("aria-label", `${t("devices.revoke")}: ${d.name}`);
      b.addEventListener("click", () => confirmDialog(t("devices.revokeTitle", { name: d.name }), t("devices.revokeText"), t("devices.revoke"), () => revoke(d.id)));
      act.append(b);
    }
    tr.append(act);
    return tr;
  }) : [(() => { const tr = el("tr"); const td = el("td", "m-muted", t("devices.none")); td.colSpan = 6; tr.append(td); return tr; })()]));
  const sel = $("p-counter");
  const before = sel.value;
  if (setup) sel.replaceChildren(...setup.counters.map((c) => new Option(counterLabel(c.code), c.code)));
  if (before) sel.value = before;
  const kind = $("p-kind").value;
  $("p-counter-field").hidden = !(kind === "rating" || kind === "counter_display");
}

async function revoke(id) {
  try {
    await api(`/api/v1/admin/devices/${id}/revoke`, { method: "POST" });
  } catch (e) {
    if (e.status !== 401) banner(e.text(i18n.lang));
  }
  await loadDevices();
}

async function pair(ev) {
  ev.preventDefault();
  const err = $("pair-error");
  err.hidden = true;
  const kind = $("p-kind").value;
  const name = $("p-name").value.trim();
  const needsCounter = kind === "rating" || kind === "counter_display";
  const counter = needsCounter ? $("p-counter").value : null;
  const fail = (m) => { err.hidden = false; err.textContent = m; };
  if (!name) return fail(t("devices.needName"));
  if (needsCounter && !counter) return fail(t("devices.needCounter"));
  $("pair-submit").disabled = true;
  try {
    const body = { kind, name };
    if (counter) body.counter = counter;
    const r = await api("/api/v1/admin/devices", { method: "POST", body });
    const base = (setup.public_url || location.origin).replace(/\/$/, "");
    const q = new URLSearchParams();
    if (kind === "counter_display") q.set("counter", counter);
    q.set("device", r.token);
    $("paired-url").textContent = `${base}/${PAGES[kind]}?${q}`;
    $("paired").hidden = false;
    $("paired-copied").textContent = "";
    $("pair-form").reset();
    renderDevices();
    await loadDevices();
    $("paired-url").focus();
  } catch (e) {
    if (e.status !== 401) fail(e.text(i18n.lang));
  } finally {
    $("pair-submit").disabled = false;
  }
}

async function copyUrl() {
  const text = $("paired-url").textContent;
  try {
    await navigator.clipboard.writeText(text);
    $("paired-copied").textContent = t("devices.copied");
  } catch {
    const r = document.createRange();
    r.selectNodeContents($("paired-url"));
    const s = getSelection();
    s.removeAllRanges();
    s.addRange(r);
    let ok = false;
    try { ok = document.execCommand("copy"); } catch { /* no */ }
    $("paired-copied").textContent = t(ok ? "devices.copied" : "devices.copyFailed");
  }
}

// ---------- integrations: API tokens, webhooks, delivery log ----------
async function loadIntegrations() {
  try {
    [integrations.tokens, integrations.hooks] = await Promise.all([api("/api/v1/admin/tokens"), api("/api/v1/admin/webhooks")]);
    if (!integrations.hooks.some((h) => h.id === integrations.logHook)) integrations.logHook = integrations.hooks[0]?.id ?? null;
    await loadLog();
  } catch (e) {
    if (e.status === 403) banner(t("denied.manager"));
    else if (e.status !== 401) banner(e.text(i18n.lang));
  }
  renderIntegrations();
}

async function loadLog() {
  integrations.log = integrations.logHook == null ? [] : await api(`/api/v1/admin/webhooks/${integrations.logHook}/deliveries`);
}

function emptyRow(text, cols) {
  const tr = el("tr");
  const td = el("td", "m-muted", text);
  td.colSpan = cols;
  tr.append(td);
  return tr;
}

function actionButton(label, aria, onClick) {
  const b = el("button", "m-btn m-btn-small m-btn-ghost", label);
  b.type = "button";
  b.setAttribute("aria-label", aria);
  b.addEventListener("click", onClick);
  return b;
}

function renderIntegrations() {
  const { tokens, hooks, log } = integrations;
  $("tokens").replaceChildren(...(tokens.length ? tokens.map((k) => {
    const tr = el("tr", k.revoked_at ? "m-revoked" : null);
    tr.dataset.id = String(k.id);
    const th = el("th", "tabular", String(k.id));
    th.scope = "row";
    tr.append(th, el("td", null, k.name), el("td", null, k.scopes.join(", ")), el("td", "tabular", k.last_used_at ? fmtTime(k.last_used_at) : t("tokens.never")));
    const act = el("td", "m-actions-cell");
    if (k.revoked_at) act.append(el("span", "m-muted m-small", t("tokens.revoked", { t: fmtTime(k.revoked_at) })));
    else act.append(actionButton(t("tokens.revoke"), `${t("tokens.revoke")}: ${k.name}`, () => confirmDialog(t("tokens.revokeTitle", { name: k.name }), t("tokens.revokeText"), t("tokens.revoke"), () => revokeToken(k.id))));
    tr.append(act);
    return tr;
  }) : [emptyRow(t("tokens.none"), 5)]));
  $("hooks").replaceChildren(...(hooks.length ? hooks.map((h) => {
    const tr = el("tr", h.enabled ? null : "m-revoked");
    tr.dataset.id = String(h.id);
    const th = el("th", "tabular", String(h.id));
    th.scope = "row";
    const state = el("td", null, t(h.enabled ? "hooks.on" : "hooks.off"));
    if (h.dropped > 0) state.append(el("div", "m-small m-muted", t("hooks.dropped", { n: h.dropped })));
    tr.append(th, el("td", "m-url-cell", h.url), el("td", null, h.events.map((e) => t(`event.${e}`)).join(", ")), state);
    const act = el("td", "m-actions-cell");
    act.append(
      actionButton(t(h.enabled ? "hooks.disable" : "hooks.enable"), `${t(h.enabled ? "hooks.disable" : "hooks.enable")}: ${h.url}`, () => setHook(h.id, !h.enabled)),
      actionButton(t("hooks.remove"), `${t("hooks.remove")}: ${h.url}`, () => confirmDialog(t("hooks.removeTitle", { url: h.url }), t("hooks.removeText"), t("hooks.remove"), () => removeHook(h.id))),
    );
    tr.append(act);
    return tr;
  }) : [emptyRow(t("hooks.none"), 5)]));
  const sel = $("log-hook");
  sel.replaceChildren(...hooks.map((h) => new Option(`#${h.id} ${h.url}`, String(h.id))));
  if (integrations.logHook != null) sel.value = String(integrations.logHook);
  $("log").replaceChildren(...(log.length ? log.map((d) => {
    const tr = el("tr", `m-delivery m-delivery-${d.state}`);
    tr.dataset.id = String(d.id);
    let number = "–";
    try { number = JSON.parse(d.body)?.data?.ticket?.number ?? "–"; } catch { /* shown as sent */ }
    tr.append(
      el("td", "tabular", fmtTime(d.last_at ?? d.created_at, true)),
      el("td", null, t(`event.${d.type}`)),
      el("td", "tabular", number),
      el("td", null, t(`state.${d.state}`) + (d.last_status ? ` (HTTP ${d.last_status})` : "")),
      el("td", "tabular", String(d.attempts)),
      el("td", "m-small", d.last_error || "–"),
    );
    const act = el("td", "m-actions-cell");
    if (d.state !== "pending") act.append(actionButton(t("log.resend"), `${t("log.resend")}: ${d.event_id}`, () => resend(d.id)));
    tr.append(act);
    return tr;
  }) : [emptyRow(t("log.none"), 7)]));
}

async function guarded(fn, errorBox) {
  try {
    await fn();
  } catch (e) {
    if (e.status === 401) return;
    if (errorBox) { $(errorBox).hidden = false; $(errorBox).textContent = e.text(i18n.lang); } else banner(e.text(i18n.lang));
  }
}

async function makeToken(ev) {
  ev.preventDefault();
  const err = $("token-error");
  err.hidden = true;
  const name = $("t-name").value.trim();
  const scopes = [...$("t-scopes").querySelectorAll("input:checked")].map((i) => i.value);
  const fail = (m) => { err.hidden = false; err.textContent = m; };
  if (!name) return fail(t("tokens.needName"));
  if (!scopes.length) return fail(t("tokens.needScope"));
  $("token-submit").disabled = true;
  await guarded(async () => {
    const r = await api("/api/v1/admin/tokens", { method: "POST", body: { name, scopes } });
    $("token-value").textContent = r.token;
    $("token-made").hidden = false;
    $("t-name").value = "";
    await loadIntegrations();
    $("token-value").focus();
  }, "token-error");
  $("token-submit").disabled = false;
}

async function revokeToken(id) {
  await guarded(() => api(`/api/v1/admin/tokens/${id}/revoke`, { method: "POST" }));
  await loadIntegrations();
}

async function addHook(ev) {
  ev.preventDefault();
  const err = $("hook-error");
  err.hidden = true;
  const url = $("h-url").value.trim();
  const events = [...$("h-events").querySelectorAll("input:checked")].map((i) => i.value);
  const fail = (m) => { err.hidden = false; err.textContent = m; };
  if (!/^https?:\/\/./i.test(url)) return fail(t("hooks.needUrl"));
  if (!events.length) return fail(t("hooks.needEvent"));
  $("hook-submit").disabled = true;
  await guarded(async () => {
    const r = await api("/api/v1/admin/webhooks", { method: "POST", body: { url, events, near: Number($("h-near").value) } });
    $("hook-secret").textContent = r.secret;
    $("hook-made").hidden = false;
    $("h-url").value = "";
    integrations.logHook = r.id;
    await loadIntegrations();
    $("hook-secret").focus();
  }, "hook-error");
  $("hook-submit").disabled = false;
}

async function setHook(id, enabled) {
  await guarded(() => api(`/api/v1/admin/webhooks/${id}`, { method: "PATCH", body: { enabled } }));
  await loadIntegrations();
}

async function removeHook(id) {
  await guarded(() => api(`/api/v1/admin/webhooks/${id}`, { method: "DELETE" }));
  await loadIntegrations();
}

async function resend(id) {
  await guarded(() => api(`/api/v1/admin/webhooks/deliveries/${id}/resend`, { method: "POST" }));
  await guarded(loadLog);
  renderIntegrations();
}

// ---------- dialog ----------
let confirmAction = null;
function confirmDialog(title, text, ok, action) {
  $("dlg-confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = ok;
  confirmAction = action;
  $("dlg-confirm").showModal();
}

// ---------- boot ----------
const reports = mountReports($("screen-reports"), {
  i18n,
  el,
  api: (path) => api(path),
  setup: () => setup,
  officials: () => officials,
  today: () => today || new Date().toISOString().slice(0, 10),
});

/** Names are fetched again at most this often when a login without one shows up. */
const OFFICIALS_RELOAD_MS = 10_000;
let officialsReloadedAt = 0;

const floor = mountFloor($("screen-floor"), {
  i18n,
  el,
  setup: () => setup,
  officials: () => officials,
  missingOfficial: async () => {
    if (Date.now() - officialsReloadedAt < OFFICIALS_RELOAD_MS) return;
    officialsReloadedAt = Date.now();
    const before = officials.size;
    await loadOfficials();
    if (officials.size !== before) floor.render();
  },
  counterLabel,
  reloadSetup: async () => { try { setup = await loadSetup(setup.site); } catch { /* keep the one we have */ } },
});

async function boot() {
  $("lang").addEventListener("click", () => i18n.set(i18n.lang === "vi" ? "en" : "vi"));
  $("logout").addEventListener("click", logout);
  $("denied-logout").addEventListener("click", logout);
  window.addEventListener("hashchange", () => { if (me && isManager()) openTab(tabFromHash()); });
  // Config editor.
  const ta = editor();
  ta.addEventListener("scroll", () => { $("gutter").scrollTop = ta.scrollTop; });
  ta.addEventListener("input", () => { renderGutter(); $("config-dirty").hidden = !dirty(); });
  ta.addEventListener("keyup", cursorPos);
  ta.addEventListener("click", cursorPos);
  ta.addEventListener("keydown", (e) => {
    if (e.key === "Tab" && !e.shiftKey && !e.ctrlKey && !e.altKey) {
      // Two spaces, not a focus move (Esc then Tab leaves the editor).
      e.preventDefault();
      ta.setRangeText("  ", ta.selectionStart, ta.selectionEnd, "end");
      ta.dispatchEvent(new Event("input"));
    }
    if ((e.ctrlKey || e.metaKey) && e.key === "s") { e.preventDefault(); checkConfig(); }
  });
  $("config-check").addEventListener("click", () => checkConfig());
  $("config-apply").addEventListener("click", applyConfig);
  $("config-export").addEventListener("click", exportConfig);
  $("config-import").addEventListener("change", importConfig);
  $("config-revert").addEventListener("click", () => confirmDialog(t("config.revertConfirm"), t("config.revertText", { v: config.version }), t("config.revertOk"), () => {
    editor().value = config.text;
    config.errors = [];
    config.changed.clear();
    setStatus(null);
    quickResult(null, null);
    fillQuick();
    renderConfig();
  }));
  window.addEventListener("beforeunload", (e) => { if (dirty()) { e.preventDefault(); e.returnValue = ""; } });
  // Quick edits.
  const site = () => setup.site;
  $("q-notice").addEventListener("submit", (e) => {
    e.preventDefault();
    quick((text) => toml.setNotice(text, site(), { vi: $("q-notice-vi").value, en: $("q-notice-en").value }));
  });
  $("q-hours").addEventListener("submit", (e) => {
    e.preventDefault();
    quick((text) => {
      const hours = {};
      for (const d of toml.DAYS) hours[d] = toml.parseSpans($(`q-hours-${d}`).value, d);
      return toml.setHours(text, site(), hours);
    });
  });
  $("q-cap-service").addEventListener("change", syncCap);
  $("q-cap").addEventListener("submit", (e) => {
    e.preventDefault();
    quick((text) => toml.setDailyCap(text, site(), $("q-cap-service").value, Number($("q-cap-value").value)));
  });
  $("q-counter-code").addEventListener("change", syncCounter);
  $("q-counter").addEventListener("submit", (e) => {
    e.preventDefault();
    const remove = e.submitter?.value === "remove";
    const c = $("q-counter-code").value;
    const s = $("q-counter-service").value;
    quick((text) => (remove ? toml.removeServiceFromCounter(text, site(), c, s) : toml.addServiceToCounter(text, site(), c, s)));
  });
  // Users and devices.
  $("user-form").addEventListener("submit", addUser);
  $("u-role").addEventListener("change", () => { $("u-counters-box").hidden = $("u-role").value !== "official"; });
  $("u-generate").addEventListener("click", () => { $("u-password").value = generatePassword(); });
  $("pair-form").addEventListener("submit", pair);
  $("edit-form").addEventListener("submit", saveUser);
  $("e-role").addEventListener("change", renderEdit);
  $("e-toggle").addEventListener("click", toggleUser);
  $("e-password").addEventListener("click", resetPassword);
  $("audit-form").addEventListener("submit", (e) => { e.preventDefault(); loadAudit(1); });
  for (const id of ["a-actor", "a-action"]) $(id).addEventListener("change", () => loadAudit(1));
  $("a-clear").addEventListener("click", () => { for (const id of ["a-from", "a-to", "a-actor", "a-action"]) $(id).value = ""; loadAudit(1); });
  $("a-prev").addEventListener("click", () => loadAudit(audit.page - 1));
  $("a-next").addEventListener("click", () => loadAudit(audit.page + 1));
  $("p-kind").addEventListener("change", renderDevices);
  $("v-lang").addEventListener("change", () => { voice.lang = $("v-lang").value; renderVoice(); });
  $("v-filter").addEventListener("input", renderVoice);
  $("v-replaced").addEventListener("change", renderVoice);
  $("v-try").addEventListener("click", tryCall);
  $("v-phrase-form").addEventListener("submit", addPhrase);
  $("paired-copy").addEventListener("click", copyUrl);
  $("token-form").addEventListener("submit", makeToken);
  $("token-hide").addEventListener("click", () => { $("token-made").hidden = true; $("token-value").textContent = ""; });
  $("hook-form").addEventListener("submit", addHook);
  $("hook-hide").addEventListener("click", () => { $("hook-made").hidden = true; $("hook-secret").textContent = ""; });
  $("log-hook").addEventListener("change", async () => { integrations.logHook = Number($("log-hook").value); await guarded(loadLog); renderIntegrations(); });
  $("log-reload").addEventListener("click", async () => { await guarded(loadLog); renderIntegrations(); });
  $("paired-hide").addEventListener("click", () => { $("paired").hidden = true; $("paired-url").textContent = ""; });
  $("confirm-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const a = confirmAction;
    confirmAction = null;
    $("dlg-confirm").close();
    if (a) await a();
  });
  for (const b of document.querySelectorAll("dialog [data-close]")) b.addEventListener("click", () => b.closest("dialog").close());

  render();
  for (let n = 0; !setup; n++) {
    try { setup = await loadSetup(params.get("site") || undefined); } catch {
      await new Promise((r) => setTimeout(r, Math.min(10_000, 1000 * 2 ** n)));
    }
  }
  try {
    const s = await (await fetch(`/api/v1/sites/${encodeURIComponent(setup.site)}/summary`)).json();
    if (s?.day) today = s.day;
  } catch { /* the browser's date */ }
  const res = await fetch("/api/v1/me").catch(() => null);
  const body = res && res.ok ? await res.json() : null;
  if (body && (body.login || body.kind)) {
    me = body;
    afterLogin();
  } else {
    showLogin();
  }
}

boot();
