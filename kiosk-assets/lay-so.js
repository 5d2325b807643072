// Taking a number from home (`/lay-so`, phone first, no login): choose the procedure with the
// kiosk's search, see how many wait and the wait a newcomer has, give a mobile number (and the
// ID number if one wants), and go to the ticket's own page (/t/<token>) with its QR code. What
// may be taken and why not is the server's (GET /sites/{site}/remote-services): the hall's share
// of each cap, hours, intake close; refusals show the server's own sentence.

import { loadSetup } from "/js/live.js";
import { waitText } from "/js/rules.js";
import { createI18n } from "/js/i18n.js";
import { LAY_SO_TEXT as dict } from "/js/text/lay-so.js";
import { request, ApiError } from "/js/api.js";
import { buildIndex, search } from "/js/search.js";
import { $, el } from "/js/dom.js";

/** How often the list of procedures is asked again while the page is open. */
const REFRESH_MS = 30_000;
/** What a typed phone number may hold before the server sees it (digits, spaces, + . - ( )). */
const PHONE_RE = /^[0-9+ .()-]{9,20}$/;

const i18n = createI18n(dict, () => render());
const t = (k, v) => i18n.t(k, v);

let setup = null;
let index = null;
let remote = new Map();
let chosen = null;
let sending = false;

const siteCode = () => new URLSearchParams(location.search).get("site") || setup?.site;
const serviceDef = (code) => setup?.services.find((s) => s.code === code);
const deptName = (code) => i18n.pick(setup?.departments.find((d) => d.code === code)?.name);

async function refresh() {
  const list = await request(`/api/v1/sites/${encodeURIComponent(siteCode())}/remote-services`);
  remote = new Map(list.map((r) => [r.service, r]));
  render();
}

function closedText(r) {
  const key = `svc.closed.${r.closed_reason}`;
  let s = dict.vi[key] ? t(key) : t("svc.closed.other");
  if (r.opens_at) s += ` · ${t("svc.opens", { t: r.opens_at.slice(11) + " " + r.opens_at.slice(8, 10) + "/" + r.opens_at.slice(5, 7) })}`;
  return s;
}

function factsText(r) {
  const parts = [t("svc.waiting", { n: r.waiting })];
  const w = waitText(r.estimate, i18n.lang);
  if (w) parts.push(t("svc.wait", { w }));
  parts.push(t("svc.left", { n: r.remote_left }));
  return parts.join(" · ");
}

function renderServices() {
  const ul = $("services");
  ul.replaceChildren();
  if (!setup) return;
  const q = $("search").value.trim();
  const found = q ? search(index, q).map((f) => f.service.code) : setup.services.map((s) => s.code);
  $("search-status").textContent = q && !found.length ? t("search.none") : "";
  for (const code of found) {
    const svc = serviceDef(code);
    const r = remote.get(code);
    if (!svc || !r) continue;
    const b = el("button", null);
    b.type = "button";
    b.dataset.service = code;
    b.disabled = !r.open;
    b.append(el("span", "l-svc-name", i18n.pick(svc.name)), el("span", "l-svc-dept", deptName(svc.department)));
    b.append(r.open ? el("span", "l-svc-facts", factsText(r)) : el("span", "l-svc-closed", closedText(r)));
    b.addEventListener("click", () => choose(code));
    const li = el("li", null);
    li.append(b);
    ul.append(li);
  }
}

function render() {
  $("lang").textContent = t("lang.button");
  $("lang").setAttribute("lang", i18n.lang === "vi" ? "en" : "vi");
  i18n.apply(document);
  document.title = `${t("title")} · Luot`;
  if (setup) $("site-name").textContent = i18n.pick(setup.name);
  renderServices();
  $("step-service").hidden = !!chosen;
  $("step-contact").hidden = !chosen;
  if (chosen) {
    const svc = serviceDef(chosen);
    const r = remote.get(chosen);
    $("chosen").textContent = t("chosen", { s: i18n.pick(svc?.name) });
    $("chosen-facts").textContent = r ? (r.open ? factsText(r) : closedText(r)) : "";
  }
  const p = setup?.policy ?? {};
  $("rules").textContent = t("rules", {
    d: p.per_person_day_max ?? 2,
    p: p.per_person_department_max ?? 1,
    h: Math.round((p.remote_hold_s ?? 900) / 60),
  });
  $("submit").textContent = sending ? t("sending") : t("submit");
  $("submit").disabled = sending;
}

function choose(code) {
  chosen = code;
  $("error").hidden = true;
  render();
  $("phone").focus();
}

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = false;
}

async function submit(e) {
  e.preventDefault();
  if (sending || !chosen) return;
  $("error").hidden = true;
  const phone = $("phone").value.trim();
  const id = $("person-id").value.trim();
  if (!PHONE_RE.test(phone)) {
    showError(t("phone.invalid"));
    $("phone").focus();
    return;
  }
  if (id && !/^[0-9]{12}$/.test(id)) {
    showError(t("id.invalid"));
    $("person-id").focus();
    return;
  }
  sending = true;
  render();
  try {
    const body = { service: chosen, phone };
    if (id) body.person_id = id;
    const r = await request(`/api/v1/sites/${encodeURIComponent(siteCode())}/remote-tickets`, { method: "POST", body });
    // The ticket's own page, on this server (the answer's URL may name the public address).
    location.assign(`/t/${encodeURIComponent(r.token)}`);
    return;
  } catch (err) {
    showError(err instanceof ApiError ? err.text(i18n.lang, t("error")) : t("error"));
    refresh().catch(() => {});
  } finally {
    sending = false;
    render();
  }
}

async function start() {
  $("lang").addEventListener("click", () => i18n.set(i18n.lang === "vi" ? "en" : "vi"));
  $("search").addEventListener("input", () => renderServices());
  $("change").addEventListener("click", () => {
    chosen = null;
    render();
    $("search").focus();
  });
  $("step-contact").addEventListener("submit", submit);
  setup = await loadSetup(new URLSearchParams(location.search).get("site"));
  index = buildIndex(setup.services, setup.departments);
  await refresh();
  setInterval(() => refresh().catch(() => {}), REFRESH_MS);
}

start().catch(() => {
  $("services").replaceChildren(el("li", "p-error", t("error")));
});
