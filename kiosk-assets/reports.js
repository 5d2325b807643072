// The report section of the manager pages (admin.html#reports): a date range (today, this week,
// this month, custom), a grouping and a wait target; the table (counts, waits, service time,
// share within target, satisfaction), SVG charts (js/charts.js): arrivals by hour, weekday × hour
// heatmap, queue length over the day, satisfaction distribution; low-score reasons; the staffing
// advice (departments × hours, Erlang C from the history) with a sentence saying what it means;
// CSV and Excel downloads from the same API; a print layout (A4 landscape, reports.css).
import { barChart, heatmap, lineChart, stackedBars, scaleColors } from "/js/charts.js";

/** Charts are drawn at about the size they show in a two-column layout, so their text is ~11 px. */
const CHART_W = 620;
const GROUPS = ["department", "service", "counter", "official", "hour", "day", "weekday", "channel"];
const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/**
 * ctx: { i18n, setup(), api(path) → JSON, el(tag, cls, text), officials() → Map, today() → "YYYY-MM-DD" }
 * Returns { show(), render() }.
 */
export function mountReports(root, ctx) {
  const { i18n, el } = ctx;
  const t = (k, v) => i18n.t(k, v);
  const state = { period: "today", from: null, to: null, by: "department", target: 15, share: 90, data: null, loading: false, error: null, seq: 0 };
  window.luotReports = { get state() { return state; } };

  // ---------- helpers ----------
  const fmtInt = (n) => (n ?? 0).toLocaleString(i18n.lang === "en" ? "en-GB" : "vi-VN");
  const fmtMin = (s) => (s == null ? "–" : (s / 60).toLocaleString(i18n.lang === "en" ? "en-GB" : "vi-VN", { maximumFractionDigits: 1, minimumFractionDigits: 1 }));
  const fmtPct = (x) => (x == null ? "–" : `${Math.round(x * 100)}%`);
  const fmtDay = (d) => {
    const [y, m, dd] = d.split("-");
    if (i18n.lang === "en") return new Date(Date.UTC(+y, +m - 1, +dd)).toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
    return `${dd}/${m}/${y}`;
  };
  const addDays = (d, n) => {
    const x = new Date(`${d}T00:00:00Z`);
    x.setUTCDate(x.getUTCDate() + n);
    return x.toISOString().slice(0, 10);
  };
  const weekday = (d) => (new Date(`${d}T00:00:00Z`).getUTCDay() + 6) % 7; // Monday = 0

  function range() {
    const today = ctx.today();
    switch (state.period) {
      case "week": return [addDays(today, -weekday(today)), today];
      case "month": return [`${today.slice(0, 8)}01`, today];
      case "custom": return [state.from || today, state.to || today];
      default: return [today, today];
    }
  }

  function query(format) {
    const [from, to] = range();
    const q = new URLSearchParams({ from, to, by: state.by, target_wait_min: String(state.target), target_share: String(state.share / 100) });
    if (format) q.set("format", format);
    if (format && format !== "json") q.set("lang", i18n.lang); // exports in the page's language
    return `/api/v1/sites/${encodeURIComponent(ctx.setup().site)}/reports?${q}`;
  }

  function label(key) {
    const s = ctx.setup();
    const data = state.data;
    switch (state.by) {
      case "department": {
        const d = s.departments.find((x) => x.code === key);
        if (d) return `${d.prefix} – ${i18n.pick(d.name)}`;
        break;
      }
      case "service": {
        const v = s.services.find((x) => x.code === key);
        if (v) return i18n.pick(v.name);
        break;
      }
      case "counter": {
        const c = s.counters.find((x) => x.code === key);
        if (c) return c.name && (c.name.vi || c.name.en) ? i18n.pick(c.name) : (i18n.lang === "en" ? `Counter ${c.number}` : `Quầy ${c.number}`);
        break;
      }
      case "official": {
        const n = ctx.officials().get(key);
        if (n) return n;
        break;
      }
      case "weekday": {
        const i = WEEKDAYS.indexOf(key);
        if (i >= 0) return i18n.lang === "en" ? ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"][i] : data?.labels?.[key] || key;
        break;
      }
      case "channel":
        if (i18n.lang === "en") return { kiosk: "Kiosk", phone: "Phone", appointment: "Appointment", staff: "Issued by staff" }[key] || key;
        break;
      case "day":
        return fmtDay(key);
      case "hour":
        return `${String(Number(key)).padStart(2, "0")}:00`;
    }
    return data?.labels?.[key] || key;
  }

  function deptLabel(code) {
    const d = ctx.setup().departments.find((x) => x.code === code);
    return d ? `${d.prefix} – ${i18n.pick(d.name)}` : state.data?.staffing?.department_labels?.[code] || state.data?.department_labels?.[code] || code;
  }

  // ---------- layout ----------
  root.replaceChildren();
  const head = el("div", "m-section-head");
  const headText = el("div");
  headText.append(el("h1", null, ""), el("p", "m-muted rp-lead", ""));
  const actions = el("div", "m-row rp-actions");
  const csv = el("a", "m-btn m-btn-secondary", "");
  csv.id = "rp-csv";
  const xlsx = el("a", "m-btn m-btn-secondary", "");
  xlsx.id = "rp-xlsx";
  const print = el("button", "m-btn m-btn-secondary", "");
  print.type = "button";
  print.id = "rp-print";
  print.addEventListener("click", () => window.print());
  actions.append(csv, xlsx, print);
  head.append(headText, actions);

  const printHead = el("div", "rp-print-head");
  const form = el("form", "m-card rp-controls");
  form.id = "rp-form";
  form.noValidate = true;
  form.innerHTML = `
    <fieldset class="rp-period"><legend data-k="rp.period"></legend>
      <div class="m-seg" role="radiogroup">
        ${["today", "week", "month", "custom"].map((p) => `<label><input type="radio" name="period" value="${p}"><span data-k="rp.${p}"></span></label>`).join("")}
      </div>
    </fieldset>
    <label class="m-field rp-date"><span data-k="rp.from"></span><input type="date" id="rp-from"></label>
    <label class="m-field rp-date"><span data-k="rp.to"></span><input type="date" id="rp-to"></label>
    <label class="m-field"><span data-k="rp.by"></span><select id="rp-by">${GROUPS.map((g) => `<option value="${g}" data-k="by.${g}"></option>`).join("")}</select></label>
    <label class="m-field rp-num"><span data-k="rp.target"></span><input type="number" id="rp-target" min="1" max="240" step="1"></label>
    <label class="m-field rp-num"><span data-k="rp.share"></span><input type="number" id="rp-share" min="50" max="99" step="1"></label>
    <button type="submit" class="m-btn m-btn-primary" data-k="rp.show"></button>`;
  const rangeLine = el("p", "rp-range");
  rangeLine.id = "rp-range";
  rangeLine.setAttribute("aria-live", "polite");
  const body = el("div", "rp-body");
  body.id = "rp-body";
  root.append(head, printHead, form, rangeLine, body);

  const $f = (sel) => form.querySelector(sel);
  form.addEventListener("change", (e) => {
    if (e.target.name === "period") {
      state.period = e.target.value;
      if (state.period === "custom" && !state.from) [state.from, state.to] = range();
      if (state.period !== "custom") { const [a, b] = range(); $f("#rp-from").value = a; $f("#rp-to").value = b; }
      syncForm();
      load();
    } else if (e.target.id === "rp-from" || e.target.id === "rp-to") {
      state.period = "custom";
      state.from = $f("#rp-from").value || null;
      state.to = $f("#rp-to").value || null;
      syncForm();
      load();
    } else if (e.target.id === "rp-by") {
      state.by = e.target.value;
      load();
    } else if (e.target.id === "rp-target" || e.target.id === "rp-share") {
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    state.target = Math.min(240, Math.max(1, Math.round(Number($f("#rp-target").value) || 15)));
    state.share = Math.min(99, Math.max(50, Math.round(Number($f("#rp-share").value) || 90)));
    load();
  });

  function syncForm() {
    for (const r of form.querySelectorAll('input[name="period"]')) r.checked = r.value === state.period;
    const [a, b] = range();
    $f("#rp-from").value = a;
    $f("#rp-to").value = b;
    $f("#rp-by").value = state.by;
    if (document.activeElement !== $f("#rp-target")) $f("#rp-target").value = String(state.target);
    if (document.activeElement !== $f("#rp-share")) $f("#rp-share").value = String(state.share);
    csv.href = query("csv");
    xlsx.href = query("xlsx");
    csv.setAttribute("download", "");
    xlsx.setAttribute("download", "");
  }

  // ---------- data ----------
  async function load() {
    const seq = ++state.seq;
    state.loading = true;
    state.error = null;
    syncForm();
    renderRange();
    body.setAttribute("aria-busy", "true");
    try {
      const data = await ctx.api(query());
      if (seq !== state.seq) return;
      state.data = data;
    } catch (e) {
      if (seq !== state.seq) return;
      state.error = e;
      state.data = null;
    } finally {
      if (seq === state.seq) {
        state.loading = false;
        body.removeAttribute("aria-busy");
        render();
      }
    }
  }

  // ---------- drawing ----------
  function renderRange() {
    const [from, to] = range();
    const parts = [from === to ? t("rp.oneDay", { day: fmtDay(from) }) : t("rp.range", { from: fmtDay(from), to: fmtDay(to) })];
    if (state.data?.staffing?.days && from !== to) parts.push(t("rp.days", { n: state.data.staffing.days }));
    parts.push(`${t("rp.by")}: ${t(`by.${state.by}`).toLowerCase()}`);
    if (state.loading) parts.push(t("rp.loading"));
    rangeLine.textContent = parts.join(" · ");
    const site = ctx.setup();
    printHead.replaceChildren(
      el("div", "rp-print-site", i18n.pick(site.name)),
      el("div", "rp-print-title", `${t("rp.title")} — ${parts.slice(0, 2).join(" · ")}`),
      el("div", "rp-print-made", t("print.made", { t: new Date().toLocaleString(i18n.lang === "en" ? "en-GB" : "vi-VN") })),
    );
  }

  function card(cls, title, sub) {
    const c = el("section", `m-card ${cls}`);
    const h = el("h2", "m-card-title", title);
    c.append(h);
    if (sub) c.append(el("p", "m-muted m-small rp-sub", sub));
    return c;
  }

  function kpi(value, labelText, note, kind, unit) {
    const k = el("div", "rp-kpi");
    if (kind) k.dataset.kind = kind;
    const v = el("span", "rp-kpi-value tabular", value);
    if (unit && value !== "–") v.append(el("span", "rp-kpi-unit", unit));
    k.append(v, el("span", "rp-kpi-label", labelText));
    if (note) k.append(el("span", "rp-kpi-note", note));
    return k;
  }

  function renderKpis(total) {
    const box = el("div", "rp-kpis");
    box.id = "rp-kpis";
    const within = total.within_target;
    const targetShare = state.share / 100;
    box.append(
      kpi(fmtInt(total.issued), t("kpi.issued")),
      kpi(fmtInt(total.served), t("kpi.served"), total.issued ? t("kpi.ofIssued", { p: fmtPct(total.served / total.issued) }) : null),
      kpi(fmtInt(total.no_show), t("kpi.noShow"), total.issued ? t("kpi.ofIssued", { p: fmtPct(total.no_show / total.issued) }) : null),
      kpi(fmtMin(total.wait.mean_s), t("kpi.wait"), total.wait.p90_s == null ? null : t("kpi.p90", { m: fmtMin(total.wait.p90_s) }), null, t("kpi.unit")),
      kpi(fmtPct(within), t("kpi.within", { m: state.target }), null, within == null ? null : within >= targetShare ? "good" : "bad"),
      kpi(fmtMin(total.service.mean_s), t("kpi.service"), null, null, t("kpi.unit")),
      kpi(fmtPct(total.satisfied), t("kpi.satisfied"), t("kpi.rated", { n: fmtInt(total.rated) }), total.satisfied == null ? null : total.satisfied >= 0.8 ? "good" : "bad"),
    );
    return box;
  }

  function renderTable(report) {
    const c = card("rp-table-card", t("tbl.title", { by: t(`by.${state.by}`).toLowerCase() }));
    const wrap = el("div", "m-table-wrap rp-table-wrap");
    const table = el("table", "m-table rp-table");
    table.id = "rp-table";
    const m = state.target;
    table.innerHTML = `<thead>
      <tr><th scope="col" rowspan="2" class="rp-key-col">${esc(t(`by.${state.by}`))}</th>
        <th scope="col" rowspan="2" class="num">${esc(t("tbl.issued"))}</th><th scope="col" rowspan="2" class="num">${esc(t("tbl.served"))}</th>
        <th scope="col" rowspan="2" class="num">${esc(t("tbl.noShow"))}</th><th scope="col" rowspan="2" class="num">${esc(t("tbl.cancelled"))}</th>
        <th scope="col" rowspan="2" class="num">${esc(t("tbl.transferred"))}</th>
        <th scope="colgroup" colspan="5" class="rp-group">${esc(t("tbl.wait"))}</th>
        <th scope="col" rowspan="2" class="num">${esc(t("tbl.service"))}</th><th scope="col" rowspan="2" class="num">${esc(t("tbl.satisfied"))}</th></tr>
      <tr><th scope="col" class="num">${esc(t("tbl.mean"))}</th><th scope="col" class="num">${esc(t("tbl.median"))}</th><th scope="col" class="num">${esc(t("tbl.p90"))}</th><th scope="col" class="num">${esc(t("tbl.max"))}</th><th scope="col" class="num">${esc(t("tbl.within", { m }))}</th></tr>
    </thead>`;
    const tb = el("tbody");
    const row = (r, name, cls) => {
      const tr = el("tr", cls);
      tr.dataset.key = r.key;
      const th = el("th", "rp-key", name);
      th.scope = "row";
      tr.append(th);
      const cells = [
        fmtInt(r.issued), fmtInt(r.served), fmtInt(r.no_show), fmtInt(r.cancelled), fmtInt(r.transferred),
        fmtMin(r.wait.mean_s), fmtMin(r.wait.median_s), fmtMin(r.wait.p90_s), fmtMin(r.wait.max_s), fmtPct(r.within_target),
        fmtMin(r.service.mean_s),
      ];
      for (const v of cells) tr.append(el("td", "num tabular", v));
      const sat = el("td", "num tabular");
      sat.append(document.createTextNode(fmtPct(r.satisfied)));
      if (r.rated) sat.append(el("span", "rp-rated", t("tbl.rated", { n: fmtInt(r.rated) })));
      tr.append(sat);
      if (r.within_target != null && r.within_target < state.share / 100) tr.children[10].classList.add("rp-bad");
      if (r.satisfied != null && r.satisfied < 0.8) sat.classList.add("rp-bad");
      return tr;
    };
    for (const r of report.rows) tb.append(row(r, label(r.key)));
    table.append(tb);
    const tf = el("tfoot");
    tf.append(row(report.total, t("tbl.total"), "rp-total"));
    table.append(tf);
    wrap.append(table);
    c.append(wrap);
    return c;
  }

  /** The hours worth drawing: from the first to the last with any arrivals or queue (at least 7–17). */
  function hourSpan(report) {
    const any = (h) => report.arrivals.some((d) => d[h] > 0) || report.queue_by_hour[h] > 0.05;
    let lo = 7;
    let hi = 17;
    for (let h = 0; h < 24; h++) if (any(h)) { lo = Math.min(lo, h); break; }
    for (let h = 23; h >= 0; h--) if (any(h)) { hi = Math.max(hi, h); break; }
    return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  }

  function renderCharts(data) {
    const report = data.report;
    const hours = hourSpan(report);
    const hl = hours.map((h) => `${h}h`);
    const days = data.staffing?.days || 0;
    const [from, to] = range();
    const perDay = from !== to && days > 1;
    const grid = el("div", "rp-charts");

    // Arrivals by hour.
    const byHour = hours.map((h) => report.arrivals.reduce((s, d) => s + (d[h] || 0), 0) / (perDay ? days : 1));
    const peak = Math.max(...byHour);
    const c1 = card("rp-chart", t("ch.arrivals"), perDay ? t("ch.arrivalsAvg") : t("ch.arrivalsSum"));
    c1.id = "rp-chart-arrivals";
    c1.append(barChart({
      values: byHour, labels: hl, title: t("ch.arrivals"), width: CHART_W,
      highlight: new Set(byHour.map((v, i) => (v === peak && v > 0 ? i : -1)).filter((i) => i >= 0)),
      format: (v) => (perDay ? (Math.round(v * 10) / 10).toLocaleString(i18n.lang === "en" ? "en-GB" : "vi-VN") : String(Math.round(v))),
    }));
    grid.append(c1);

    // Weekday × hour.
    const c2 = card("rp-chart", t("ch.heatmap"), t("ch.heatmapSub"));
    c2.id = "rp-chart-heatmap";
    const rows = [];
    const rowLabels = [];
    report.arrivals.forEach((d, i) => {
      if (d.some((v) => v > 0) || i < 5) {
        rows.push(hours.map((h) => d[h] || 0));
        rowLabels.push(t(`wd.${i}`));
      }
    });
    c2.append(heatmap({ matrix: rows, rowLabels, colLabels: hl, title: t("ch.heatmap"), width: CHART_W, cellH: 34, format: (v) => String(Math.round(v)) }));
    grid.append(c2);

    // Queue length over the day.
    const c3 = card("rp-chart", t("ch.queue"), t("ch.queueSub"));
    c3.id = "rp-chart-queue";
    c3.append(lineChart({ values: hours.map((h) => report.queue_by_hour[h] || 0), labels: hl, title: t("ch.queue"), width: CHART_W, format: (v) => (Math.round(v * 10) / 10).toLocaleString(i18n.lang === "en" ? "en-GB" : "vi-VN") }));
    grid.append(c3);

    // Satisfaction.
    const c4 = card("rp-chart", t("ch.satisfaction"), t("ch.satisfactionSub"));
    c4.id = "rp-chart-satisfaction";
    const levels = report.rating_levels || ctx.setup().rating.labels.length;
    const colors = scaleColors(levels);
    const names = ctx.setup().rating.labels;
    const series = Array.from({ length: levels }, (_, i) => ({ label: names[i] ? i18n.pick(names[i]) : String(i + 1), color: colors[i] }));
    const satRows = [report.total, ...report.rows.filter((r) => r.rated > 0).slice(0, 12)].map((r, i) => ({
      label: i === 0 ? t("tbl.total") : label(r.key),
      strong: i === 0,
      values: Array.from({ length: levels }, (_, k) => r.ratings?.[k] || 0),
      note: r.rated ? t("ch.satNote", { p: fmtPct(r.satisfied), n: fmtInt(r.rated) }) : "",
    }));
    if (report.total.rated) c4.append(stackedBars({ rows: satRows, series, title: t("ch.satisfaction"), width: CHART_W, labelW: 236 }));
    else c4.append(el("p", "m-muted", t("ch.noRatings")));
    grid.append(c4);
    return grid;
  }

  function renderReasons(report) {
    const c = card("rp-reasons", t("reasons.title"));
    c.id = "rp-reasons";
    // Phone and tablet send the chosen chips joined by "; ": count each.
    const known = new Map();
    const other = [];
    const chips = new Set(ctx.setup().rating.low_score_reasons.map((r) => r.vi));
    for (const [text, n] of Object.entries(report.total.reasons || {})) {
      for (const part of text.split(";").map((s) => s.trim()).filter(Boolean)) {
        if (chips.has(part)) known.set(part, (known.get(part) || 0) + n);
        else other.push([part, n]);
      }
    }
    if (!known.size && !other.length) {
      c.append(el("p", "m-muted", t("reasons.none")));
      return c;
    }
    const list = el("ol", "rp-reason-list");
    const max = Math.max(1, ...known.values());
    for (const [text, n] of [...known].sort((a, b) => b[1] - a[1])) {
      const li = el("li");
      const r = ctx.setup().rating.low_score_reasons.find((x) => x.vi === text);
      li.append(el("span", "rp-reason-text", r ? i18n.pick(r) : text), el("span", "rp-reason-bar"), el("span", "rp-reason-n tabular", fmtInt(n)));
      li.querySelector(".rp-reason-bar").style.setProperty("--w", `${Math.round((n / max) * 100)}%`);
      list.append(li);
    }
    c.append(list);
    if (other.length) {
      c.append(el("h3", "rp-other-title", `${t("reasons.other")} (${other.length})`));
      const ul = el("ul", "rp-other");
      for (const [text, n] of other.slice(0, 12)) ul.append(el("li", null, n > 1 ? `${text} (×${n})` : text));
      c.append(ul);
    }
    return c;
  }

  /** Most rating lines drawn on the page; the CSV has every one the report lists. */
  const RATED_SHOWN = 50;

  function renderRated(report) {
    const list = report.rated_tickets || [];
    const c = card("rp-rated-card", t("rated.title"), t("rated.sub", { shown: fmtInt(Math.min(list.length, RATED_SHOWN)), n: fmtInt(report.total.rated) }) + (report.rated_tickets_truncated ? t("rated.truncated", { n: fmtInt(list.length) }) : ""));
    c.id = "rp-rated";
    if (!list.length) {
      c.append(el("p", "m-muted", t("rated.none")));
      return c;
    }
    const s = ctx.setup();
    const wrap = el("div", "m-table-wrap");
    const table = el("table", "m-table rp-rated-table");
    table.id = "rp-rated-table";
    const hr = el("tr");
    for (const k of ["day", "number", "service", "official", "score", "reason", "dossier"]) {
      const th = el("th", null, t(`rated.${k}`));
      th.scope = "col";
      hr.append(th);
    }
    const thead = el("thead");
    thead.append(hr);
    const tb = el("tbody");
    for (const r of list.slice(0, RATED_SHOWN)) {
      const tr = el("tr");
      tr.dataset.number = r.number;
      const svc = s.services.find((x) => x.code === r.service);
      const levelName = s.rating.labels[r.score - 1];
      const score = el("td", null, levelName ? `${r.score} · ${i18n.pick(levelName)}` : String(r.score));
      if (r.score > (report.rating_levels || s.rating.labels.length) / 2) score.classList.add("rp-bad");
      tr.append(
        el("td", "tabular", fmtDay(r.day)),
        el("td", "tabular rp-rated-number", r.number),
        el("td", null, svc ? i18n.pick(svc.name) : r.service),
        el("td", null, r.official ? ctx.officials().get(r.official) || r.official : "–"),
        score,
        el("td", null, r.reason || ""),
        el("td", "m-mono rp-dossier", r.dossier || "–"),
      );
      tb.append(tr);
    }
    table.append(thead, tb);
    wrap.append(table);
    const a = el("a", "m-btn m-btn-small m-btn-secondary rp-rated-csv", t("rated.csv"));
    a.id = "rp-rated-csv";
    a.href = query("ratings-csv");
    a.setAttribute("download", "");
    c.append(wrap, a);
    return c;
  }

  function renderStaffing(data) {
    const s = data.staffing;
    const c = card("rp-staffing", t("st.title"));
    c.id = "rp-staffing";
    const [from, to] = range();
    const hasHistory = s && s.days > 0 && s.rows.some((r) => r.arrivals_per_hour.some((a) => a > 0));
    const p = el("p", "rp-sentence");
    p.id = "rp-staffing-sentence";
    p.textContent = hasHistory
      ? t("st.sentence", { share: Math.round(s.target_share * 100), min: Math.round(s.target_wait_s / 60), days: s.days, range: from === to ? fmtDay(from) : `${fmtDay(from)} – ${fmtDay(to)}` })
      : t("st.sentenceNone");
    c.append(p);
    if (!hasHistory) return c;
    const hours = [];
    for (let h = 0; h < 24; h++) if (s.rows.some((r) => r.counters[h] > 0 || r.arrivals_per_hour[h] > 0)) hours.push(h);
    const setup = ctx.setup();
    const have = (dept) => {
      const svc = new Set(setup.services.filter((v) => v.department === dept).map((v) => v.code));
      return setup.counters.filter((k) => k.services.some((x) => svc.has(x))).length;
    };
    const wrap = el("div", "m-table-wrap");
    const table = el("table", "m-table rp-staff-table");
    table.id = "rp-staff-table";
    const thead = el("thead");
    const hr = el("tr");
    hr.append(el("th", "rp-key-col", t("st.dept")), el("th", "num", t("st.service")));
    for (const h of hours) hr.append(el("th", "num rp-hour", `${h}h`));
    hr.append(el("th", "num", t("st.peak")), el("th", "num", t("st.have")));
    for (const th of hr.children) th.scope = "col";
    thead.append(hr);
    table.append(thead);
    const tb = el("tbody");
    const order = (code) => { const i = setup.departments.findIndex((d) => d.code === code); return i < 0 ? 999 : i; };
    for (const r of s.rows.slice().sort((a, b) => order(a.department) - order(b.department))) {
      const tr = el("tr");
      tr.dataset.department = r.department;
      const minNeed = Math.min(...hours.map((h) => r.counters[h] || 0).filter((n) => n > 0));
      const th = el("th", "rp-key", deptLabel(r.department));
      th.scope = "row";
      tr.append(th, el("td", "num tabular", `${fmtMin(r.mean_service_s)}′`));
      for (const h of hours) {
        const n = r.counters[h] || 0;
        const td = el("td", "num tabular rp-need", n ? String(n) : "·");
        td.dataset.level = String(Math.min(4, n));
        // A peak only where the need rises: a department that needs the same all day has none.
        if (n && n === r.peak_counters && r.peak_counters > minNeed) td.classList.add("rp-peak");
        td.title = t("st.cell", { h, a: (Math.round((r.arrivals_per_hour[h] || 0) * 10) / 10).toLocaleString(i18n.lang === "en" ? "en-GB" : "vi-VN"), c: n });
        tr.append(td);
      }
      const now = have(r.department);
      const peakTd = el("td", "num tabular rp-peak-col", String(r.peak_counters));
      const haveTd = el("td", "num tabular", String(now));
      if (r.peak_counters > now) {
        haveTd.classList.add("rp-bad");
        haveTd.title = t("st.short");
        haveTd.textContent = `${now} ⚠`;
      }
      tr.append(peakTd, haveTd);
      tb.append(tr);
    }
    table.append(tb);
    wrap.append(table);
    c.append(wrap);
    return c;
  }

  // ---------- the staffing plan: a past day replayed with the counters and officials at hand ----------
  /** A plan asked while the server makes another is asked again this many times, this far apart. */
  const PLAN_BUSY_RETRIES = 5;
  const PLAN_BUSY_RETRY_MS = 2000;
  const plan = { day: "", officials: "", target: "", data: null, error: null, loading: false, seq: 0, asked: false };
  const planCard = el("section", "m-card rp-plan");
  planCard.id = "rp-plan";

  function planQuery(format) {
    const q = new URLSearchParams({ lang: i18n.lang });
    if (plan.day) q.set("day", plan.day);
    if (plan.officials) q.set("officials", plan.officials);
    if (plan.target) q.set("target_min", plan.target);
    if (format) q.set("format", format);
    return `/api/v1/sites/${encodeURIComponent(ctx.setup().site)}/staffing-plan?${q}`;
  }

  async function loadPlan(busyRetries = PLAN_BUSY_RETRIES) {
    const seq = ++plan.seq;
    plan.asked = true;
    plan.loading = true;
    plan.error = null;
    renderPlan();
    let retrying = false;
    try {
      const data = await ctx.api(planQuery());
      if (seq !== plan.seq) return;
      plan.data = data;
    } catch (e) {
      if (seq !== plan.seq) return;
      // The server makes one plan at a time: another manager's will be done in a moment.
      if (e?.code === "plan_busy" && busyRetries > 0) {
        retrying = true;
        setTimeout(() => { if (seq === plan.seq) loadPlan(busyRetries - 1); }, PLAN_BUSY_RETRY_MS);
        return;
      }
      plan.error = e;
      plan.data = null;
    } finally {
      if (seq === plan.seq && !retrying) {
        plan.loading = false;
        renderPlan();
      }
    }
  }

  function planForm() {
    const f = el("form", "m-row rp-plan-form");
    f.id = "rp-plan-form";
    const field = (id, labelKey, input, hint) => {
      const w = el("label", "m-field rp-plan-field");
      w.htmlFor = id;
      input.id = id;
      w.append(el("span", "m-label", t(labelKey)), input);
      if (hint) w.append(el("span", "m-muted m-small", hint));
      return w;
    };
    const day = el("input");
    day.type = "date";
    day.max = addDays(ctx.today(), -1);
    day.value = plan.day || "";
    const officials = el("input", "rp-num-input");
    officials.type = "number";
    officials.min = "1";
    officials.max = "500";
    officials.value = plan.officials || (plan.data ? String(plan.data.officials) : "");
    const target = el("input", "rp-num-input");
    target.type = "number";
    target.min = "1";
    target.max = "240";
    target.value = plan.target || (plan.data ? String(Math.round(plan.data.target_s / 60)) : "");
    const go = el("button", "m-btn m-btn-primary", t("pl.make"));
    go.type = "submit";
    go.id = "rp-plan-make";
    go.disabled = plan.loading;
    f.append(field("rp-plan-day", "pl.day", day, t("pl.dayHint")), field("rp-plan-officials", "pl.officials", officials), field("rp-plan-target", "pl.target", target), go);
    f.addEventListener("submit", (e) => {
      e.preventDefault();
      plan.day = day.value;
      plan.officials = officials.value ? String(Math.min(500, Math.max(1, Math.round(Number(officials.value))))) : "";
      plan.target = target.value ? String(Math.min(240, Math.max(1, Math.round(Number(target.value))))) : "";
      loadPlan();
    });
    return f;
  }

  function renderPlan() {
    const d = plan.data;
    planCard.replaceChildren(el("h2", "m-card-title", t("pl.title")), el("p", "m-muted m-small rp-sub", t("pl.lead", { share: 90 })), planForm());
    if (plan.loading) {
      planCard.setAttribute("aria-busy", "true");
      planCard.append(el("p", "m-muted rp-loading", t("pl.working")));
      return;
    }
    planCard.removeAttribute("aria-busy");
    if (plan.error) {
      const p = el("p", "m-form-error", plan.error.text?.(i18n.lang) || plan.error.message);
      p.id = "rp-plan-error";
      planCard.append(p);
      return;
    }
    if (!d) return;
    if (!d.day) {
      const p = el("p", "rp-sentence", t("pl.none"));
      p.id = "rp-plan-sentence";
      planCard.append(p);
      return;
    }
    const met = d.checks.filter((c) => c.met).length;
    const sentence = el("p", "rp-sentence", t("pl.sentence", {
      day: fmtDay(d.day), tickets: fmtInt(d.tickets), officials: fmtInt(d.officials), from: t(`pl.from.${d.officials_from}`),
      share: Math.round(d.target_share * 100), min: Math.round(d.target_s / 60), met: fmtInt(met), n: fmtInt(d.checks.length), replays: fmtInt(d.replays),
    }));
    sentence.id = "rp-plan-sentence";
    planCard.append(sentence);
    const notes = [t("pl.moves", { n: fmtInt(d.moves) })];
    if (d.refused) notes.push(t("pl.refused", { n: fmtInt(d.refused) }));
    planCard.append(el("p", "m-muted m-small", notes.join(" ")));

    // Counters × half hours: a cell is filled while the counter is open.
    const used = d.counters.filter((c) => c.open.some(Boolean));
    const wrap = el("div", "m-table-wrap");
    // Wider than the screen on a long day: the keyboard can scroll it too.
    wrap.tabIndex = 0;
    wrap.setAttribute("role", "region");
    wrap.setAttribute("aria-label", t("pl.title"));
    const table = el("table", "m-table rp-plan-table");
    table.id = "rp-plan-table";
    const hr = el("tr");
    hr.append(el("th", "rp-key-col", t("pl.counter")));
    d.half_hours.forEach((h) => {
      const th = el("th", "rp-half", h.endsWith(":00") ? h.slice(0, 2) + "h" : "");
      th.title = h;
      hr.append(th);
    });
    hr.append(el("th", null, t("pl.shifts")));
    for (const th of hr.children) th.scope = "col";
    const thead = el("thead");
    thead.append(hr);
    const tb = el("tbody");
    for (const c of used) {
      const tr = el("tr");
      tr.dataset.counter = c.code;
      const th = el("th", "rp-key");
      th.scope = "row";
      th.append(el("span", "rp-plan-counter", c.name), el("span", "m-muted m-small rp-plan-depts", c.departments.join(", ")));
      tr.append(th);
      c.open.forEach((o, k) => {
        const td = el("td", o ? "rp-plan-on" : "rp-plan-off");
        td.title = `${c.name} · ${d.half_hours[k]}${o ? ` · ${t("pl.open")}` : ""}`;
        if (o) td.append(el("span", "sr-only", t("pl.open")));
        tr.append(td);
      });
      const shifts = el("td", "tabular rp-plan-shifts");
      c.shifts.forEach(([a, b], i) => {
        if (i) shifts.append(", "); // a line may break here, never inside a shift
        shifts.append(el("span", null, `${a}–${b}`));
      });
      tr.append(shifts);
      tb.append(tr);
    }
    // One row per department: was the target met in each half hour?
    const depts = [...new Map(d.checks.map((c) => [c.department, c.department_name])).entries()];
    for (const [code, name] of depts) {
      const tr = el("tr", "rp-plan-dept");
      tr.dataset.department = code;
      const th = el("th", "rp-key");
      th.scope = "row";
      th.append(el("span", null, name), el("span", "m-muted m-small", t("pl.deptRow")));
      tr.append(th);
      for (const h of d.half_hours) {
        const c = d.checks.find((x) => x.department === code && x.from === h);
        const td = el("td", c ? (c.met ? "rp-plan-met" : "rp-plan-miss") : "rp-plan-off", c ? (c.met ? "✓" : "✗") : "");
        if (c) td.title = c.met
          ? t("pl.met", { from: c.from, dept: name, n: fmtInt(c.tickets), p: fmtMin(c.p90_wait_s) })
          : `${name} · ${missText(c)}`;
        if (c) td.append(el("span", "sr-only", c.met ? t("pl.yes") : t("pl.no")));
        tr.append(td);
      }
      tr.append(el("td"));
      tb.append(tr);
    }
    table.append(thead, tb);
    wrap.append(table);
    planCard.append(wrap);
    const closed = d.counters.filter((c) => !c.open.some(Boolean)).map((c) => c.name);
    if (closed.length) planCard.append(el("p", "m-muted m-small", t("pl.closed", { list: closed.join(", ") })));

    const missed = d.checks.filter((c) => !c.met);
    if (missed.length) {
      const box = el("div", "rp-plan-missed");
      box.id = "rp-plan-missed";
      box.append(el("h3", null, t("pl.missed")));
      // One line per department: how often, the worst half hour, and why.
      const ul = el("ul");
      const byDept = new Map();
      for (const c of missed) byDept.set(c.department, [...(byDept.get(c.department) || []), c]);
      const worse = (a, b) => (a.over_s == null ? Infinity : a.over_s) > (b.over_s == null ? Infinity : b.over_s);
      for (const list of byDept.values()) {
        const worst = list.reduce((w, c) => (worse(c, w) ? c : w));
        const li = el("li", null, t("pl.missDept", { dept: worst.department_name, n: fmtInt(list.length), worst: missText(worst) }));
        li.dataset.department = worst.department;
        ul.append(li);
      }
      box.append(ul);
      planCard.append(box);
    } else {
      const p = el("p", "rp-plan-allmet", t("pl.allMet"));
      p.id = "rp-plan-allmet";
      planCard.append(p);
    }
    const a = el("a", "m-btn m-btn-small m-btn-secondary", t("pl.csv"));
    a.id = "rp-plan-csv";
    a.href = planQuery("csv");
    a.setAttribute("download", "");
    planCard.append(a);
  }

  function missText(c) {
    const why = c.shortfall_text || "";
    return c.over_s == null
      ? t("pl.missUncalled", { from: c.from, dept: c.department_name, n: fmtInt(c.tickets), left: fmtInt(c.tickets - c.served), why })
      : t("pl.missRow", { from: c.from, dept: c.department_name, n: fmtInt(c.tickets), p: fmtMin(c.p90_wait_s), over: fmtMin(c.over_s), why });
  }

  function render() {
    // Static texts.
    headText.querySelector("h1").textContent = t("rp.title");
    headText.querySelector(".rp-lead").textContent = t("rp.lead");
    csv.textContent = t("rp.csv");
    xlsx.textContent = t("rp.xlsx");
    print.textContent = t("rp.print");
    for (const e of form.querySelectorAll("[data-k]")) e.textContent = t(e.dataset.k);
    syncForm();
    renderRange();
    if (state.loading && !state.data) {
      body.replaceChildren(el("p", "m-muted rp-loading", t("rp.loading")));
      return;
    }
    if (state.error) {
      const msg = state.error.text?.(i18n.lang) || state.error.message;
      const p = el("p", "m-form-error", `${t("rp.failed")}: ${msg}`);
      p.id = "rp-error";
      body.replaceChildren(p);
      return;
    }
    const data = state.data;
    if (!data) return;
    if (!plan.asked) loadPlan();
    else renderPlan();
    const report = data.report;
    if (!report.total.issued) {
      const p = el("p", "m-card rp-empty", t("rp.empty"));
      p.id = "rp-empty";
      body.replaceChildren(p, renderStaffing(data), planCard);
      return;
    }
    body.replaceChildren(renderKpis(report.total), renderTable(report), renderCharts(data), renderReasons(report), renderRated(report), renderStaffing(data), planCard);
  }

  let loaded = false;
  return {
    show() {
      if (!loaded) {
        loaded = true;
        render();
        load();
      } else render();
    },
    render,
    reload: load,
  };
}

function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}
