// Small SVG charts for the manager's report page: bars, a weekday × hour heatmap, a line and
// 100% stacked bars. No library: each function returns an <svg> element that scales to its
// container (viewBox), prints sharply, and carries a text summary for screen readers
// (role="img" + <title>/<desc>); every mark has its own <title> for a hover tooltip.
//
//   import { barChart, heatmap, lineChart, stackedBars } from "/js/charts.js";
//   box.replaceChildren(barChart({ values, labels, title, format: (v) => `${v}` }));

const NS = "http://www.w3.org/2000/svg";
let uid = 0;

/** Colours from tokens.css (SVG attributes cannot read CSS variables in every print engine). */
export const COLORS = {
  primary: "#0b4ea2",
  primarySoft: "#e7effa",
  accent: "#c0142e",
  success: "#1b6e31",
  warning: "#f2a900",
  text: "#141b26",
  muted: "#475264",
  grid: "#d5dde7",
  axis: "#7a8596",
};

function svgEl(tag, attrs = {}, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) e.setAttribute(k, String(v));
  if (text != null) e.textContent = text;
  return e;
}

function frame(width, height, title, desc) {
  const id = `chart-${++uid}`;
  const svg = svgEl("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width: "100%",
    role: "img",
    "aria-labelledby": `${id}-t ${id}-d`,
    class: "chart",
    preserveAspectRatio: "xMidYMid meet",
    "font-family": "Be Vietnam Pro, system-ui, sans-serif",
  });
  svg.append(svgEl("title", { id: `${id}-t` }, title || ""));
  svg.append(svgEl("desc", { id: `${id}-d` }, desc || ""));
  return svg;
}

/** A "nice" axis maximum and step for `max` with about `ticks` gridlines. */
export function niceScale(max, ticks = 4) {
  if (!(max > 0)) return { max: 1, step: 1 };
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || 10 * mag;
  return { max: Math.ceil(max / step - 1e-9) * step, step };
}

const defaultFormat = (v) => (Math.round(v * 10) / 10).toLocaleString("vi-VN");

/**
 * Vertical bars with a value axis.
 *   values: numbers; labels: one per bar (shown every `labelEvery`); highlight: index set drawn in
 *   the accent colour; format(v) for axis, tooltips and the value written above the tallest bars.
 */
export function barChart({
  values, labels, title = "", desc, width = 720, height = 260, color = COLORS.primary,
  highlight = new Set(), format = defaultFormat, labelEvery = 1, unit = "", showValues = true,
}) {
  const m = { top: 22, right: 8, bottom: 30, left: 44 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const max = Math.max(0, ...values);
  const scale = niceScale(max);
  const summary = desc || values.map((v, i) => `${labels[i]}: ${format(v)}${unit}`).join("; ");
  const svg = frame(width, height, title, summary);
  const g = svgEl("g", { transform: `translate(${m.left},${m.top})` });
  svg.append(g);
  for (let v = 0; v <= scale.max + 1e-9; v += scale.step) {
    const y = h - (v / scale.max) * h;
    g.append(svgEl("line", { x1: 0, x2: w, y1: y, y2: y, stroke: v === 0 ? COLORS.axis : COLORS.grid, "stroke-width": 1 }));
    g.append(svgEl("text", { x: -6, y: y + 4, "text-anchor": "end", "font-size": 11, fill: COLORS.muted }, format(v)));
  }
  const n = values.length || 1;
  const band = w / n;
  const barW = Math.max(2, band * 0.72);
  values.forEach((v, i) => {
    const bh = scale.max ? (v / scale.max) * h : 0;
    const x = i * band + (band - barW) / 2;
    const fill = highlight.has(i) ? COLORS.accent : color;
    const r = svgEl("rect", { x, y: h - bh, width: barW, height: Math.max(0, bh), fill, rx: 2, class: "chart-bar", "data-index": i });
    r.append(svgEl("title", {}, `${labels[i]}: ${format(v)}${unit}`));
    g.append(r);
    if (showValues && v > 0 && bh > 0 && barW >= 16) {
      g.append(svgEl("text", { x: x + barW / 2, y: h - bh - 4, "text-anchor": "middle", "font-size": 10.5, fill: COLORS.text, "font-weight": 600 }, format(v)));
    }
    if (i % labelEvery === 0) {
      g.append(svgEl("text", { x: i * band + band / 2, y: h + 18, "text-anchor": "middle", "font-size": 11, fill: COLORS.muted }, labels[i]));
    }
  });
  return svg;
}

/** Interpolates between two #rrggbb colours, t in 0..1. */
function mix(a, b, t) {
  const pa = [1, 3, 5].map((i) => parseInt(a.slice(i, i + 2), 16));
  const pb = [1, 3, 5].map((i) => parseInt(b.slice(i, i + 2), 16));
  return `#${pa.map((x, i) => Math.round(x + (pb[i] - x) * t).toString(16).padStart(2, "0")).join("")}`;
}

/**
 * A heatmap: rows × columns of counts, darker = more (white → primary blue).
 *   matrix[r][c]; rowLabels; colLabels; format(v) for tooltips and cell text.
 */
export function heatmap({ matrix, rowLabels, colLabels, title = "", desc, width = 720, cellH = 30, format = defaultFormat, showValues = true }) {
  const m = { top: 22, right: 8, bottom: 8, left: 74 };
  const cols = colLabels.length;
  const w = width - m.left - m.right;
  const cellW = w / cols;
  const height = m.top + rowLabels.length * cellH + m.bottom;
  const max = Math.max(0, ...matrix.flat());
  const svg = frame(width, height, title, desc || `${title}. Max ${format(max)}`);
  const g = svgEl("g", { transform: `translate(${m.left},${m.top})` });
  svg.append(g);
  colLabels.forEach((l, c) => {
    g.append(svgEl("text", { x: c * cellW + cellW / 2, y: -7, "text-anchor": "middle", "font-size": 11, fill: COLORS.muted }, l));
  });
  rowLabels.forEach((l, r) => {
    g.append(svgEl("text", { x: -8, y: r * cellH + cellH / 2 + 4, "text-anchor": "end", "font-size": 12, fill: COLORS.text }, l));
    colLabels.forEach((cl, c) => {
      const v = matrix[r]?.[c] ?? 0;
      const t = max ? v / max : 0;
      const fill = v ? mix("#eef3fb", COLORS.primary, Math.sqrt(t)) : "#f6f8fb";
      const rect = svgEl("rect", { x: c * cellW + 1, y: r * cellH + 1, width: cellW - 2, height: cellH - 2, fill, rx: 3, class: "chart-cell" });
      rect.append(svgEl("title", {}, `${l} ${cl}: ${format(v)}`));
      g.append(rect);
      if (showValues && v && cellW >= 22) {
        g.append(svgEl("text", {
          x: c * cellW + cellW / 2, y: r * cellH + cellH / 2 + 4, "text-anchor": "middle", "font-size": 10.5,
          fill: t > 0.45 ? "#ffffff" : COLORS.text, "pointer-events": "none",
        }, format(v)));
      }
    });
  });
  return svg;
}

/** A line (with a light area under it) over labelled points. */
export function lineChart({ values, labels, title = "", desc, width = 720, height = 240, color = COLORS.primary, format = defaultFormat, labelEvery = 1, unit = "" }) {
  const m = { top: 22, right: 12, bottom: 30, left: 44 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const scale = niceScale(Math.max(0, ...values));
  const svg = frame(width, height, title, desc || values.map((v, i) => `${labels[i]}: ${format(v)}${unit}`).join("; "));
  const g = svgEl("g", { transform: `translate(${m.left},${m.top})` });
  svg.append(g);
  for (let v = 0; v <= scale.max + 1e-9; v += scale.step) {
    const y = h - (v / scale.max) * h;
    g.append(svgEl("line", { x1: 0, x2: w, y1: y, y2: y, stroke: v === 0 ? COLORS.axis : COLORS.grid }));
    g.append(svgEl("text", { x: -6, y: y + 4, "text-anchor": "end", "font-size": 11, fill: COLORS.muted }, format(v)));
  }
  const n = values.length;
  const x = (i) => (n <= 1 ? w / 2 : (i / (n - 1)) * w);
  const y = (v) => h - (v / scale.max) * h;
  const pts = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`);
  if (n) {
    g.append(svgEl("path", { d: `M${x(0)},${h} L${pts.join(" L")} L${x(n - 1)},${h} Z`, fill: color, "fill-opacity": 0.12 }));
    g.append(svgEl("polyline", { points: pts.join(" "), fill: "none", stroke: color, "stroke-width": 2.5, "stroke-linejoin": "round", class: "chart-line" }));
  }
  values.forEach((v, i) => {
    const c = svgEl("circle", { cx: x(i), cy: y(v), r: 3.5, fill: "#fff", stroke: color, "stroke-width": 2, class: "chart-point" });
    c.append(svgEl("title", {}, `${labels[i]}: ${format(v)}${unit}`));
    g.append(c);
    if (i % labelEvery === 0) g.append(svgEl("text", { x: x(i), y: h + 18, "text-anchor": "middle", "font-size": 11, fill: COLORS.muted }, labels[i]));
  });
  return svg;
}

/** Colours for a satisfaction scale of `n` levels, best (green) first, worst (red) last. */
export function scaleColors(n) {
  const stops = ["#1b6e31", "#5c9e3c", "#f2a900", "#e06a1b", "#c0142e"];
  if (n <= 1) return [stops[0]];
  return Array.from({ length: n }, (_, i) => {
    const t = (i / (n - 1)) * (stops.length - 1);
    const k = Math.min(stops.length - 2, Math.floor(t));
    return mix(stops[k], stops[k + 1], t - k);
  });
}

/**
 * Horizontal 100% stacked bars, one per row, with a legend.
 *   rows: [{ label, values: [count per series], note? }]; series: [{ label, color }].
 *   The row's total (and `note`) is written at its right end.
 */
export function stackedBars({ rows, series, title = "", desc, width = 720, rowH = 30, labelW = 220, totalLabel = (n) => String(n) }) {
  const m = { top: 34, right: 90, bottom: 6, left: labelW };
  const w = width - m.left - m.right;
  const height = m.top + rows.length * (rowH + 8) + m.bottom;
  const svg = frame(width, height, title, desc || rows.map((r) => `${r.label}: ${r.values.map((v, i) => `${series[i].label} ${v}`).join(", ")}`).join("; "));
  // Legend on top.
  let lx = 0;
  const legend = svgEl("g", { transform: `translate(${Math.max(4, Math.min(m.left, width - 8 - series.reduce((s, x) => s + 26 + x.label.length * 6.6, 0)))},14)` });
  for (const s of series) {
    legend.append(svgEl("rect", { x: lx, y: -9, width: 12, height: 12, rx: 2, fill: s.color }));
    const t = svgEl("text", { x: lx + 17, y: 1.5, "font-size": 12, fill: COLORS.text }, s.label);
    legend.append(t);
    lx += 26 + s.label.length * 6.6;
  }
  svg.append(legend);
  const g = svgEl("g", { transform: `translate(${m.left},${m.top})` });
  svg.append(g);
  rows.forEach((r, ri) => {
    const y = ri * (rowH + 8);
    const total = r.values.reduce((a, b) => a + b, 0);
    // About 6.4 px per character at 12 px: cut what would not fit left of the bars.
    const fit = Math.max(8, Math.floor((labelW - 12) / 6.4));
    const label = r.label.length > fit ? `${r.label.slice(0, fit - 1).trimEnd()}…` : r.label;
    const lt = svgEl("text", { x: -8, y: y + rowH / 2 + 4, "text-anchor": "end", "font-size": 12, fill: COLORS.text, "font-weight": r.strong ? 700 : 400 }, label);
    lt.append(svgEl("title", {}, r.label));
    g.append(lt);
    if (!total) {
      g.append(svgEl("rect", { x: 0, y, width: w, height: rowH, fill: "#f6f8fb", rx: 3 }));
      g.append(svgEl("text", { x: 8, y: y + rowH / 2 + 4, "font-size": 11, fill: COLORS.muted }, "—"));
      return;
    }
    let x = 0;
    r.values.forEach((v, i) => {
      if (!v) return;
      const sw = (v / total) * w;
      const rect = svgEl("rect", { x, y, width: sw, height: rowH, fill: series[i].color, class: "chart-seg" });
      const pct = Math.round((v / total) * 100);
      rect.append(svgEl("title", {}, `${r.label} · ${series[i].label}: ${v} (${pct}%)`));
      g.append(rect);
      if (sw > 34) {
        g.append(svgEl("text", { x: x + sw / 2, y: y + rowH / 2 + 4, "text-anchor": "middle", "font-size": 11, fill: "#fff", "font-weight": 700, "pointer-events": "none" }, `${pct}%`));
      }
      x += sw;
    });
    g.append(svgEl("text", { x: w + 8, y: y + rowH / 2 + 4, "font-size": 12, fill: COLORS.muted }, r.note ?? totalLabel(total)));
  });
  return svg;
}
