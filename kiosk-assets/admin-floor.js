// The floor page (/admin#floor): every counter and every service of the site, live over the
// websocket (js/live.js), with the alerts a manager acts on and the manager's actions: pause or
// close a counter, stop and resume issuing for one procedure, raise today's cap, cancel a ticket.
// Each action is a command on the same socket; the server audits it.

import { connect, waitRange } from "/js/live.js";
import { parseTicketNumber } from "/js/rules.js";

/** The reason the server gives a counter it paused for an absent console (consoles.rs). */
const ABSENT_REASON = "Cán bộ vắng mặt";
/** No-shows in a row at one counter that make an alert. */
export const NO_SHOW_STREAK_ALERT = 3;
/** How often the durations on the page are recomputed. */
const TICK_MS = 1000;

/**
 * ctx: i18n, el, setup() (the site's setup), officials() (login → display name), missingOfficial(login)
 * (a login without a name: the names are fetched again), counterLabel(code)
 * Returns { show(), hide(), render() }.
 */
export function mountFloor(root, ctx) {
  const { i18n, el } = ctx;
  const t = (k, v) => i18n.t(k, v);
  const st = { live: null, status: "connecting", offsetMs: 0, dialog: null, message: null, timer: null };
  window.luotFloor = { get state() { return st.live?.state; }, get status() { return st.status; } };

  root.append(buildSkeleton());
  const $ = (id) => root.querySelector(`#${id}`);

  // ---------- time ----------
  /** The server's clock now (the welcome's `server_time_ms` corrects this browser's skew). */
  const nowMs = () => Date.now() + st.offsetMs;
  function dur(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return t("dur.s", { n: s });
    const m = Math.floor(s / 60);
    if (m < 60) return t("dur.m", { n: m });
    return t("dur.hm", { h: Math.floor(m / 60), m: m % 60 });
  }
  const targetS = () => ctx.setup()?.policy?.wait_target_s ?? 15 * 60;
  const serviceDef = (code) => ctx.setup()?.services.find((s) => s.code === code);
  const serviceName = (code) => { const s = serviceDef(code); return s ? i18n.pick(s.name) : code; };
  const officialName = (login) => {
    if (!login) return t("none");
    const name = ctx.officials().get(login);
    if (name) return name;
    // An account made after the page loaded: ask for the names again (then render anew).
    ctx.missingOfficial?.(login);
    return login;
  };

  // ---------- the socket ----------
  function show() {
    if (!st.live) {
      st.live = connect({
        role: "admin",
        site: ctx.setup()?.site,
        onWelcome: (w) => { if (w.server_time_ms) st.offsetMs = w.server_time_ms - Date.now(); },
        onStatus: (s) => { st.status = s; render(); },
        onChange: () => render(),
        onConfig: () => ctx.reloadSetup?.(),
      });
    }
    if (!st.timer) st.timer = setInterval(render, TICK_MS);
    render();
  }

  function hide() {
    clearInterval(st.timer);
    st.timer = null;
  }

  // ---------- reading the state ----------
  /** Oldest `enqueued_at_ms` of each service's waiting tickets. */
  function oldestWaiting(state) {
    const m = new Map();
    for (const tk of state.waiting.values()) {
      const o = m.get(tk.service);
      if (o == null || tk.enqueued_at_ms < o) m.set(tk.service, tk.enqueued_at_ms);
    }
    return m;
  }

  function alerts(state) {
    const out = [];
    const target = targetS();
    for (const c of state.counters.values()) {
      if (c.status === "paused" && c.pause_reason === ABSENT_REASON) {
        out.push({ kind: "absent", text: t("alert.absent", { counter: ctx.counterLabel(c.code), name: officialName(c.official) }) });
      }
      if ((c.no_show_streak || 0) >= NO_SHOW_STREAK_ALERT) {
        out.push({ kind: "no-shows", text: t("alert.noShows", { counter: ctx.counterLabel(c.code), n: c.no_show_streak }) });
      }
    }
    const oldest = oldestWaiting(state);
    for (const s of ctx.setup()?.services || []) {
      const since = oldest.get(s.code);
      const waited = since == null ? 0 : nowMs() - since;
      const stats = state.services.get(s.code);
      if (since != null && waited > target * 1000) {
        out.push({ kind: "wait", text: t("alert.wait", { service: i18n.pick(s.name), n: Math.floor(waited / 60000), t: Math.round(target / 60) }) });
      } else if (stats?.waiting && stats.estimate?.low_s != null && stats.estimate.low_s > target) {
        // Even the estimate's low end is past the target: a newcomer will wait longer.
        out.push({ kind: "wait", text: t("alert.estimate", { service: i18n.pick(s.name), range: waitRange(stats.estimate, i18n.lang), t: Math.round(target / 60) }) });
      }
    }
    return out;
  }

  // ---------- rendering ----------
  function render() {
    if (root.hidden) return;
    const state = st.live?.state;
    const status = $("f-status");
    status.dataset.status = st.status;
    status.textContent = t({ live: "floor.live", connecting: "floor.connecting", reconnecting: "floor.reconnecting", refused: "floor.refused" }[st.status] || "floor.connecting");
    $("f-target").textContent = t("floor.target", { n: Math.round(targetS() / 60) });
    paintMessage();
    if (!state || !state.site) return;
    renderAlerts(state);
    renderCounters(state);
    renderServices(state);
  }

  function renderAlerts(state) {
    const list = alerts(state);
    const ul = $("f-alerts");
    ul.replaceChildren(...list.map((a) => {
      const li = el("li", `f-alert f-alert-${a.kind}`, a.text);
      return li;
    }));
    $("f-no-alerts").hidden = list.length > 0;
    $("f-alert-count").textContent = list.length ? String(list.length) : "";
  }

  function stateBadge(kind, text) {
    return el("span", `f-badge f-badge-${kind}`, text);
  }

  function button(text, label, onClick, cls = "m-btn-secondary") {
    const b = el("button", `m-btn m-btn-small ${cls}`, text);
    b.type = "button";
    b.setAttribute("aria-label", label);
    b.addEventListener("click", onClick);
    return b;
  }

  function renderCounters(state) {
    const rows = [];
    const defs = ctx.setup()?.counters || [];
    for (const def of defs) {
      const c = state.counters.get(def.code);
      if (!c) continue;
      const label = ctx.counterLabel(c.code);
      const tr = el("tr");
      tr.dataset.counter = c.code;
      tr.dataset.status = c.status;
      tr.append(el("th", "f-name", label));
      tr.lastChild.scope = "row";
      const state_ = el("td");
      state_.append(stateBadge(c.status, t(`state.${c.status}`)));
      if (c.status === "paused" && c.pause_reason) state_.append(el("span", "f-reason", c.pause_reason));
      tr.append(state_);
      tr.append(el("td", null, c.official ? officialName(c.official) : t("none")));
      const cur = el("td", "f-current");
      if (c.current) {
        const serving = c.current.state === "serving";
        const since = serving ? c.current.started_at_ms : c.current.called_at_ms;
        cur.textContent = t(serving ? "current.serving" : "current.called", { n: c.current.number, d: dur(nowMs() - (since ?? nowMs())) });
      } else cur.textContent = t("none");
      tr.append(cur);
      tr.append(el("td", "tabular f-num", String(c.served_today)));
      const idle = !c.current && c.status !== "closed" && c.idle_since_ms != null;
      tr.append(el("td", "tabular", idle ? dur(nowMs() - c.idle_since_ms) : t("none")));
      const acts = el("div", "f-actions");
      if (c.status === "open") acts.append(button(t("act.pause"), t("act.pauseOf", { counter: label }), () => openDialog("pause", c.code)));
      if (c.status !== "closed") acts.append(button(t("act.close"), t("act.closeOf", { counter: label }), () => openDialog("close", c.code), "m-btn-danger"));
      tr.append(el("td", "f-actions-cell"));
      tr.lastChild.append(acts);
      rows.push(tr);
    }
    $("f-counters").replaceChildren(...rows);
  }

  function renderServices(state) {
    const oldest = oldestWaiting(state);
    const target = targetS();
    const rows = [];
    for (const s of ctx.setup()?.services || []) {
      const stats = state.services.get(s.code);
      if (!stats) continue;
      const name = i18n.pick(s.name);
      const tr = el("tr");
      tr.dataset.service = s.code;
      const th = el("th", "f-name", name);
      th.scope = "row";
      tr.append(th);
      tr.append(el("td", "tabular f-num", String(stats.waiting)));
      const since = oldest.get(s.code);
      const longest = el("td", "tabular");
      if (since != null) {
        const w = nowMs() - since;
        longest.textContent = dur(w);
        if (w > target * 1000) longest.append(" ", stateBadge("over", t("overTarget")));
      } else longest.textContent = t("none");
      tr.append(longest);
      const est = el("td");
      const range = waitRange(stats.estimate, i18n.lang);
      if (range) {
        est.append(range, " ");
        const e = stats.estimate;
        if (e.low_s > target) est.append(stateBadge("over", t("overTarget")));
        else if (e.high_s > target) est.append(stateBadge("maybe", t("mayExceed")));
        else est.append(stateBadge("ok", t("withinTarget")));
      } else est.append(el("span", "m-muted", t("noCounter")));
      tr.append(est);
      const issued = el("td", "tabular", `${stats.issued} / ${stats.daily_cap}`);
      if (stats.daily_cap > s.daily_cap) issued.append(" ", el("span", "f-raised", t("raised")));
      tr.append(issued);
      const stateCell = el("td");
      if (stats.closed_reason === "service_paused") {
        stateCell.append(stateBadge("paused", t("state.stopped")));
        if (stats.paused_reason) stateCell.append(el("span", "f-reason", stats.paused_reason));
      } else if (stats.closed_reason === "daily_cap_reached") stateCell.append(stateBadge("paused", t("state.full")));
      else if (!stats.open) stateCell.append(stateBadge("closed", t("state.notIssuing")));
      else stateCell.append(stateBadge("open", t("state.issuing")));
      tr.append(stateCell);
      const acts = el("div", "f-actions");
      if (stats.paused_reason) acts.append(button(t("act.resume"), t("act.resumeOf", { service: name }), () => openDialog("resume", s.code), "m-btn-primary"));
      else acts.append(button(t("act.stop"), t("act.stopOf", { service: name }), () => openDialog("stop", s.code), "m-btn-danger"));
      acts.append(button(t("act.cap"), t("act.capOf", { service: name }), () => openDialog("cap", s.code)));
      tr.append(el("td", "f-actions-cell"));
      tr.lastChild.append(acts);
      rows.push(tr);
    }
    $("f-services").replaceChildren(...rows);
  }

  // ---------- actions ----------
  function openDialog(kind, code) {
    const state = st.live?.state;
    const dlg = $("f-dialog");
    const isCounter = kind === "pause" || kind === "close";
    const name = isCounter ? ctx.counterLabel(code) : serviceName(code);
    const stats = state?.services.get(code);
    st.dialog = { kind, code, name, cap: stats?.daily_cap };
    $("f-dlg-title").textContent = t(`dlg.${kind}`, { counter: name, service: name });
    $("f-dlg-text").textContent = t(`dlg.${kind}Text`, {
      name: officialName(state?.counters.get(code)?.official),
      cap: stats?.daily_cap ?? "", issued: stats?.issued ?? "",
    });
    const needsReason = kind === "pause" || kind === "stop";
    $("f-dlg-reason-box").hidden = !needsReason;
    $("f-dlg-cap-box").hidden = kind !== "cap";
    $("f-dlg-reason").value = "";
    $("f-dlg-reason").required = needsReason;
    $("f-dlg-cap").value = kind === "cap" ? String((stats?.daily_cap ?? 0) + 50) : "";
    $("f-dlg-cap").min = String((stats?.daily_cap ?? 0) + 1);
    $("f-dlg-error").hidden = true;
    dlg.showModal();
    setTimeout(() => (needsReason ? $("f-dlg-reason") : kind === "cap" ? $("f-dlg-cap") : $("f-dlg-ok")).focus(), 0);
  }

  function dialogError(text) {
    const e = $("f-dlg-error");
    e.textContent = text;
    e.hidden = !text;
  }

  async function submitDialog(ev) {
    ev.preventDefault();
    const d = st.dialog;
    if (!d) return;
    const reason = $("f-dlg-reason").value.trim();
    let command;
    switch (d.kind) {
      case "pause":
        if (!reason) return dialogError(t("dlg.reasonEmpty"));
        command = { type: "pause_counter", counter: d.code, reason };
        break;
      case "close": command = { type: "close_counter", counter: d.code }; break;
      case "stop":
        if (!reason) return dialogError(t("dlg.reasonEmpty"));
        command = { type: "pause_service", service: d.code, reason };
        break;
      case "resume": command = { type: "resume_service", service: d.code }; break;
      case "cap": {
        const cap = Number($("f-dlg-cap").value);
        if (!Number.isInteger(cap) || cap <= (d.cap ?? 0)) return dialogError(t("dlg.capBad", { cap: d.cap ?? 0 }));
        command = { type: "raise_daily_cap", service: d.code, cap };
        break;
      }
    }
    const ok = $("f-dlg-ok");
    ok.disabled = true;
    try {
      await st.live.send(command);
      $("f-dialog").close();
      st.dialog = null;
      const done = { pause: "done.pause", close: "done.close", stop: "done.stop", resume: "done.resume", cap: "done.cap" }[d.kind];
      // Named when painted, so the note follows a change of language.
      const named = () => (d.kind === "pause" || d.kind === "close" ? ctx.counterLabel(d.code) : serviceName(d.code));
      message("ok", () => t(done, { counter: named(), service: named(), cap: command.cap }));
    } catch (e) {
      dialogError(e.text ? e.text(i18n.lang) : String(e));
    } finally {
      ok.disabled = false;
    }
  }

  async function cancelTicket(ev) {
    ev.preventDefault();
    const input = $("f-cancel-number");
    const number = input.value.trim().toUpperCase();
    const err = $("f-cancel-error");
    err.hidden = true;
    if (!parseTicketNumber(number)) {
      err.textContent = t("cancel.bad");
      err.hidden = false;
      return;
    }
    try {
      await st.live.send({ type: "cancel", number });
      input.value = "";
      message("ok", () => t("cancel.done", { n: number }));
    } catch (e) {
      err.textContent = e.text ? e.text(i18n.lang) : String(e);
      err.hidden = false;
    }
  }

  /** A note above the tables; `text` is a function, so it follows a change of language. */
  function message(kind, text) {
    st.message = kind ? { kind, text } : null;
    paintMessage();
  }

  function paintMessage() {
    const m = $("f-message");
    m.hidden = !st.message;
    m.dataset.kind = st.message?.kind || "";
    m.textContent = st.message ? st.message.text() : "";
  }

  // ---------- markup ----------
  function buildSkeleton() {
    const wrap = document.createElement("div");
    wrap.className = "f-floor";
    wrap.innerHTML = `
      <div class="m-section-head f-head">
        <div>
          <h1 data-i18n="floor.title"></h1>
          <p class="m-muted" data-i18n="floor.lead"></p>
        </div>
        <div class="f-head-right">
          <span class="f-target" id="f-target"></span>
          <span class="f-status" id="f-status" role="status"></span>
        </div>
      </div>
      <p class="f-message" id="f-message" role="status" hidden></p>
      <section class="m-card f-card f-alerts-card" aria-labelledby="f-alerts-title">
        <h2 class="m-card-title" id="f-alerts-title"><span data-i18n="floor.alerts"></span> <span class="f-count" id="f-alert-count"></span></h2>
        <ul class="f-alerts" id="f-alerts"></ul>
        <p class="m-muted f-no-alerts" id="f-no-alerts" data-i18n="floor.noAlerts"></p>
      </section>
      <section class="m-card f-card" aria-labelledby="f-counters-title">
        <h2 class="m-card-title" id="f-counters-title" data-i18n="floor.counters"></h2>
        <div class="m-table-wrap">
          <table class="m-table f-table">
            <thead><tr>
              <th scope="col" data-i18n="col.counter"></th><th scope="col" data-i18n="col.state"></th>
              <th scope="col" data-i18n="col.official"></th><th scope="col" data-i18n="col.current"></th>
              <th scope="col" class="f-num" data-i18n="col.served"></th><th scope="col" data-i18n="col.idle"></th>
              <th scope="col" data-i18n="col.actions"></th>
            </tr></thead>
            <tbody id="f-counters"></tbody>
          </table>
        </div>
      </section>
      <section class="m-card f-card" aria-labelledby="f-services-title">
        <h2 class="m-card-title" id="f-services-title" data-i18n="floor.services"></h2>
        <div class="m-table-wrap">
          <table class="m-table f-table">
            <thead><tr>
              <th scope="col" data-i18n="col.service"></th><th scope="col" class="f-num" data-i18n="col.waiting"></th>
              <th scope="col" data-i18n="col.longest"></th><th scope="col" data-i18n="col.estimate"></th>
              <th scope="col" data-i18n="col.issued"></th><th scope="col" data-i18n="col.state"></th>
              <th scope="col" data-i18n="col.actions"></th>
            </tr></thead>
            <tbody id="f-services"></tbody>
          </table>
        </div>
      </section>
      <section class="m-card f-card" aria-labelledby="f-cancel-title">
        <h2 class="m-card-title" id="f-cancel-title" data-i18n="cancel.title"></h2>
        <p class="m-muted m-small" data-i18n="cancel.lead"></p>
        <form class="m-row f-cancel" id="f-cancel" novalidate>
          <label class="m-field f-cancel-field">
            <span data-i18n="cancel.number"></span>
            <input id="f-cancel-number" autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="8" placeholder="A001">
          </label>
          <button type="submit" class="m-btn m-btn-danger" id="f-cancel-submit" data-i18n="act.cancel"></button>
        </form>
        <p class="m-form-error" id="f-cancel-error" role="alert" hidden></p>
      </section>
      <dialog class="m-dialog f-dialog" id="f-dialog" aria-labelledby="f-dlg-title">
        <form method="dialog" id="f-dlg-form" novalidate>
          <h2 id="f-dlg-title"></h2>
          <p id="f-dlg-text"></p>
          <label class="m-field" id="f-dlg-reason-box">
            <span data-i18n="dlg.reason"></span>
            <input id="f-dlg-reason" maxlength="200" autocomplete="off">
          </label>
          <label class="m-field" id="f-dlg-cap-box">
            <span data-i18n="dlg.newCap"></span>
            <input id="f-dlg-cap" type="number" inputmode="numeric" step="1">
          </label>
          <p class="m-form-error" id="f-dlg-error" role="alert" hidden></p>
          <div class="m-dialog-buttons">
            <button type="button" class="m-btn m-btn-secondary" id="f-dlg-back" data-i18n="dlg.cancel"></button>
            <button type="submit" class="m-btn m-btn-primary" id="f-dlg-ok" data-i18n="dlg.ok"></button>
          </div>
        </form>
      </dialog>`;
    wrap.querySelector("#f-dlg-form").addEventListener("submit", submitDialog);
    wrap.querySelector("#f-dlg-back").addEventListener("click", () => { wrap.querySelector("#f-dialog").close(); st.dialog = null; });
    wrap.querySelector("#f-cancel").addEventListener("submit", cancelTicket);
    return wrap;
  }

  return { show, hide, render };
}
