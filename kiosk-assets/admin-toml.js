// Careful, line-based edits of the center's TOML for the manager's "quick edit" forms: the display
// notice line, opening hours, a service's daily cap, adding or removing a service at a counter.
// Only the lines an edit is about change; comments and layout elsewhere stay as they are. The
// server's check (`POST /api/v1/admin/config/check`) remains the judge: these helpers only find
// the right place and write valid TOML values there. Where the file is laid out in a way they do
// not handle (e.g. `[site.notice]` as its own table), they throw an EditError that names the line,
// so the page can send the manager there instead of guessing.
//
// Pure functions, no DOM: the browser tests import this file directly.

export class EditError extends Error {
  /** `key`: an i18n key of the page; `line`: 1-based line to show, if any. */
  constructor(key, line = null, vars = {}) {
    super(key);
    this.key = key;
    this.line = line;
    this.vars = vars;
  }
}

export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

// ---------------------------------------------------------------------------------------------
// A small reader of TOML values (strings, numbers, booleans, dates as text, arrays, inline
// tables), enough to know where a value ends (it may span lines) and what it holds.

function valueParser(src, pos) {
  let i = pos;
  const fail = (why) => { const e = new Error(why); e.at = i; throw e; };
  const skipWs = (newlines) => {
    for (;;) {
      const c = src[i];
      if (c === " " || c === "\t") i++;
      else if (newlines && (c === "\n" || c === "\r")) i++;
      else if (newlines && c === "#") { while (i < src.length && src[i] !== "\n") i++; }
      else return;
    }
  };
  const basic = () => {
    const multi = src.startsWith('"""', i);
    i += multi ? 3 : 1;
    if (multi && src[i] === "\n") i++;
    else if (multi && src.startsWith("\r\n", i)) i += 2;
    let out = "";
    for (;;) {
      if (i >= src.length) fail("unterminated string");
      const c = src[i];
      if (multi && src.startsWith('"""', i)) {
        // Up to two quotes may end a multi-line string's content.
        let n = 3;
        while (src[i + n] === '"' && n < 5) n++;
        out += '"'.repeat(n - 3);
        i += n;
        return out;
      }
      if (!multi && c === '"') { i++; return out; }
      if (!multi && c === "\n") fail("newline in string");
      if (c === "\\") {
        const e = src[i + 1];
        const map = { b: "\b", t: "\t", n: "\n", f: "\f", r: "\r", '"': '"', "\\": "\\", e: "\x1b" };
        if (e in map) { out += map[e]; i += 2; continue; }
        if (e === "u" || e === "U") {
          const len = e === "u" ? 4 : 8;
          const hex = src.slice(i + 2, i + 2 + len);
          if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) fail("bad escape");
          out += String.fromCodePoint(parseInt(hex, 16));
          i += 2 + len;
          continue;
        }
        if (multi && /[ \t\r\n]/.test(e)) {
          // Line-ending backslash: trims the newline and the whitespace after it.
          i += 1;
          while (/[ \t\r\n]/.test(src[i] || "")) i++;
          continue;
        }
        fail("bad escape");
      }
      out += c;
      i++;
    }
  };
  const literal = () => {
    const multi = src.startsWith("'''", i);
    i += multi ? 3 : 1;
    if (multi && src[i] === "\n") i++;
    const end = src.indexOf(multi ? "'''" : "'", i);
    if (end < 0) fail("unterminated string");
    const s = src.slice(i, end);
    if (!multi && s.includes("\n")) fail("newline in string");
    i = end + (multi ? 3 : 1);
    return s;
  };
  const key = () => {
    skipWs(false);
    const parts = [];
    for (;;) {
      skipWs(false);
      if (src[i] === '"') parts.push(basic());
      else if (src[i] === "'") parts.push(literal());
      else {
        const m = /^[A-Za-z0-9_-]+/.exec(src.slice(i, i + 200));
        if (!m) fail("bad key");
        parts.push(m[0]);
        i += m[0].length;
      }
      skipWs(false);
      if (src[i] !== ".") return parts.join(".");
      i++;
    }
  };
  const value = () => {
    const c = src[i];
    if (c === '"') return basic();
    if (c === "'") return literal();
    if (c === "[") {
      i++;
      const arr = [];
      for (;;) {
        skipWs(true);
        if (src[i] === "]") { i++; return arr; }
        arr.push(value());
        skipWs(true);
        if (src[i] === ",") { i++; continue; }
        if (src[i] === "]") { i++; return arr; }
        fail("expected , or ]");
      }
    }
    if (c === "{") {
      i++;
      const obj = {};
      skipWs(false);
      if (src[i] === "}") { i++; return obj; }
      for (;;) {
        const k = key();
        skipWs(false);
        if (src[i] !== "=") fail("expected =");
        i++;
        skipWs(false);
        obj[k] = value();
        skipWs(false);
        if (src[i] === ",") { i++; skipWs(false); continue; }
        if (src[i] === "}") { i++; return obj; }
        fail("expected , or }");
      }
    }
    const m = /^[^\s,\]}#]+/.exec(src.slice(i, i + 100));
    if (!m) fail("expected a value");
    i += m[0].length;
    const raw = m[0];
    if (raw === "true") return true;
    if (raw === "false") return false;
    const num = raw.replace(/_/g, "");
    if (/^[+-]?\d+$/.test(num)) return Number(num);
    if (/^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|inf|nan)$/.test(num)) return Number(num);
    return raw; // a date or time: kept as text
  };
  return {
    value() { skipWs(false); const v = value(); return { value: v, end: i }; },
    get pos() { return i; },
  };
}

// ---------------------------------------------------------------------------------------------
// The document: headers, and `key = value` lines with the range of lines each value spans.

/** Splits TOML text into blocks (root, `[table]`, `[[array]]`) with their key lines. */
export function parse(text) {
  const lines = text.split("\n");
  const starts = [];
  let off = 0;
  for (const l of lines) { starts.push(off); off += l.length + 1; }
  const blocks = [];
  let cur = { header: null, name: "", array: false, start: 0, end: lines.length - 1, keys: new Map(), site: -1 };
  blocks.push(cur);
  let site = -1;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    const h = /^\s*(\[\[?)\s*([A-Za-z0-9_.\-"' ]+?)\s*(\]\]?)\s*(#.*)?$/.exec(line);
    if (h && h[1].length === h[3].length) {
      cur.end = n - 1;
      const name = h[2].replace(/\s+/g, "");
      const array = h[1] === "[[";
      if (array && name === "site") site++;
      cur = { header: n, name, array, start: n, end: lines.length - 1, keys: new Map(), site };
      blocks.push(cur);
      continue;
    }
    const k = /^(\s*)([A-Za-z0-9_-]+|"[^"]*")\s*=\s*/.exec(line);
    if (!k) continue;
    const keyName = k[2].replace(/^"|"$/g, "");
    const at = starts[n] + k[0].length;
    let endLine = n;
    let value;
    let ok = true;
    try {
      const p = valueParser(text, at).value();
      value = p.value;
      // The line holding the value's last character.
      let e = p.end - 1;
      while (endLine + 1 < lines.length && starts[endLine + 1] <= e) endLine++;
    } catch {
      ok = false;
    }
    cur.keys.set(keyName, { line: n, endLine, value, ok, indent: k[1] });
    n = endLine;
  }
  return { text, lines, blocks };
}

/** The blocks of the site with this code (its `[[site]]` and everything under it). */
export function siteBlocks(doc, code) {
  const heads = doc.blocks.filter((b) => b.array && b.name === "site");
  let idx = heads.findIndex((b) => b.keys.get("code")?.value === code);
  if (idx < 0 && heads.length === 1) idx = 0;
  if (idx < 0) throw new EditError("edit.noSite");
  return doc.blocks.filter((b) => b.site === idx && b.name.startsWith("site"));
}

function siteHead(blocks) { return blocks.find((b) => b.array && b.name === "site"); }

// ---------------------------------------------------------------------------------------------
// Writing values.

/** A TOML basic string. */
export function tomlString(s) {
  let out = '"';
  for (const ch of String(s)) {
    const c = ch.codePointAt(0);
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (c < 0x20 || c === 0x7f) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

function tomlValue(v) {
  if (typeof v === "string") return tomlString(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map(tomlValue).join(", ")}]`;
  if (v && typeof v === "object") {
    const parts = Object.entries(v).map(([k, x]) => `${/^[A-Za-z0-9_-]+$/.test(k) ? k : tomlString(k)} = ${tomlValue(x)}`);
    return parts.length ? `{ ${parts.join(", ")} }` : "{}";
  }
  throw new Error(`cannot write ${v}`);
}

/** Replaces lines [from..to] (0-based, inclusive) with `newLines`. */
function splice(doc, from, to, newLines) {
  const lines = doc.lines.slice();
  lines.splice(from, to - from + 1, ...newLines);
  return lines.join("\n");
}

/** The last key line of a block (0-based), or its header line. */
function lastKeyLine(block) {
  let last = block.header ?? 0;
  for (const k of block.keys.values()) last = Math.max(last, k.endLine);
  return last;
}

/** Sets `key = value` in a block: replaces its line(s), or inserts after `afterKeys[0..]` or at the block's end. */
function setKey(doc, block, key, value, afterKeys = []) {
  const k = block.keys.get(key);
  const text = `${key} = ${tomlValue(value)}`;
  if (k) {
    const first = doc.lines[k.line];
    // Keep a trailing comment on a one-line value.
    let comment = "";
    if (k.line === k.endLine) {
      const m = /\s+#[^"']*$/.exec(first);
      if (m && k.ok) comment = m[0];
    }
    return { text: splice(doc, k.line, k.endLine, [`${k.indent}${text}${comment}`]), line: k.line + 1 };
  }
  let at = null;
  for (const a of afterKeys) {
    const x = block.keys.get(a);
    if (x) { at = x.endLine; break; }
  }
  if (at == null) at = lastKeyLine(block);
  return { text: splice(doc, at + 1, at, [text]), line: at + 2 };
}

function removeKey(doc, block, key) {
  const k = block.keys.get(key);
  if (!k) return { text: doc.text, line: null };
  return { text: splice(doc, k.line, k.endLine, []), line: k.line + 1 };
}

// ---------------------------------------------------------------------------------------------
// Notice line.

export function getNotice(text, site) {
  const doc = parse(text);
  const head = siteHead(siteBlocks(doc, site));
  const n = head.keys.get("notice");
  if (n && n.ok && n.value && typeof n.value === "object") return { vi: n.value.vi ?? "", en: n.value.en ?? "", line: n.line + 1 };
  if (n && n.ok && typeof n.value === "string") return { vi: n.value, en: "", line: n.line + 1 };
  return { vi: "", en: "", line: null };
}

export function setNotice(text, site, { vi, en }) {
  const doc = parse(text);
  const blocks = siteBlocks(doc, site);
  const table = blocks.find((b) => b.name === "site.notice");
  if (table) throw new EditError("edit.byHand", table.header + 1);
  const head = siteHead(blocks);
  const old = head.keys.get("notice");
  if (old && !old.ok) throw new EditError("edit.byHand", old.line + 1);
  return setKey(doc, head, "notice", { vi: vi.trim(), en: en.trim() }, ["holidays", "time_zone", "name", "code"]);
}

// ---------------------------------------------------------------------------------------------
// Opening hours: [site.hours] mon = ["07:00-11:30", "13:30-17:00"] …

const SPAN_RE = /^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/;

/** "7:00 - 11:30, 13:30-17:00" → ["07:00-11:30", "13:30-17:00"]; throws EditError on a bad span. */
export function parseSpans(s, day) {
  const out = [];
  for (const part of s.split(/[,;]+/).map((x) => x.trim()).filter(Boolean)) {
    const m = /^(\d{1,2})[:h.](\d{2})\s*[-–—]\s*(\d{1,2})[:h.](\d{2})$/.exec(part);
    const span = m ? `${m[1].padStart(2, "0")}:${m[2]}-${m[3].padStart(2, "0")}:${m[4]}` : part;
    if (!SPAN_RE.test(span) || span.slice(0, 5) >= span.slice(6)) throw new EditError("edit.badSpan", null, { day, span: part });
    out.push(span);
  }
  return out;
}

export function getHours(text, site) {
  const doc = parse(text);
  const blocks = siteBlocks(doc, site);
  const head = siteHead(blocks);
  const hours = {};
  const table = blocks.find((b) => b.name === "site.hours");
  const inline = head.keys.get("hours");
  for (const d of DAYS) {
    const v = table ? table.keys.get(d)?.value : inline?.ok ? inline.value?.[d] : undefined;
    hours[d] = Array.isArray(v) ? v.filter((x) => typeof x === "string") : [];
  }
  return hours;
}

export function setHours(text, site, hours) {
  const doc = parse(text);
  const blocks = siteBlocks(doc, site);
  const head = siteHead(blocks);
  const table = blocks.find((b) => b.name === "site.hours");
  const dayLines = DAYS.filter((d) => hours[d]?.length).map((d) => `${d} = ${tomlValue(hours[d])}`);
  if (!table) {
    if (head.keys.has("hours")) {
      // `hours = { … }` inline in [[site]]: rewrite it in place.
      const obj = Object.fromEntries(DAYS.filter((d) => hours[d]?.length).map((d) => [d, hours[d]]));
      return setKey(doc, head, "hours", obj);
    }
    const at = lastKeyLine(head);
    return { text: splice(doc, at + 1, at, ["", "[site.hours]", ...dayLines]), line: at + 3 };
  }
  // Drop the old day lines (bottom up, so line numbers stay valid), then write the new ones
  // right under the header. Comments in the table stay.
  const lines = doc.lines.slice();
  const old = DAYS.map((d) => table.keys.get(d)).filter(Boolean).map((k) => [k.line, k.endLine]);
  // Comments about a day ("# sun: nghỉ") would contradict the new hours: they go too.
  const end = Math.min(table.end, lines.length - 1);
  for (let n = table.header + 1; n <= end; n++) {
    if (/^\s*#\s*(mon|tue|wed|thu|fri|sat|sun)\b/.test(lines[n])) old.push([n, n]);
  }
  old.sort((a, b) => b[0] - a[0]);
  for (const [from, to] of old) lines.splice(from, to - from + 1);
  lines.splice(table.header + 1, 0, ...dayLines);
  return { text: lines.join("\n"), line: table.header + 2 };
}

// ---------------------------------------------------------------------------------------------
// Services and counters.

export function services(text, site) {
  const doc = parse(text);
  return siteBlocks(doc, site)
    .filter((b) => b.array && b.name === "site.service")
    .map((b) => ({
      code: b.keys.get("code")?.value,
      department: b.keys.get("department")?.value,
      name: b.keys.get("name")?.value,
      daily_cap: b.keys.get("daily_cap")?.value ?? null,
      line: b.header + 1,
    }))
    .filter((s) => typeof s.code === "string");
}

function serviceBlock(doc, site, code) {
  const b = siteBlocks(doc, site).find((x) => x.array && x.name === "site.service" && x.keys.get("code")?.value === code);
  if (!b) throw new EditError("edit.noService", null, { code });
  return b;
}

export function setDailyCap(text, site, code, cap) {
  if (!Number.isInteger(cap) || cap < 1) throw new EditError("edit.badCap");
  const doc = parse(text);
  const b = serviceBlock(doc, site, code);
  return setKey(doc, b, "daily_cap", cap, ["expected_service_min", "name", "department", "code"]);
}

function counterBlocks(doc, site) {
  return siteBlocks(doc, site).filter((b) => b.array && b.name === "site.counter");
}

export function counters(text, site) {
  const doc = parse(text);
  const svc = services(text, site);
  return counterBlocks(doc, site).map((b) => {
    const raw = b.keys.get("services");
    const list = raw?.ok && Array.isArray(raw.value) ? raw.value : [];
    const direct = list.map((x) => (typeof x === "string" ? x : x?.service)).filter(Boolean);
    const depts = b.keys.get("departments")?.ok && Array.isArray(b.keys.get("departments").value) ? b.keys.get("departments").value : [];
    const viaDept = svc.filter((s) => depts.includes(s.department)).map((s) => s.code);
    return {
      code: b.keys.get("code")?.value,
      number: b.keys.get("number")?.value,
      name: b.keys.get("name")?.value,
      services: direct,
      departments: depts,
      effective: [...new Set([...direct, ...viaDept])],
      line: b.header + 1,
    };
  }).filter((c) => typeof c.code === "string");
}

function counterBlock(doc, site, code) {
  const b = counterBlocks(doc, site).find((x) => x.keys.get("code")?.value === code);
  if (!b) throw new EditError("edit.noCounter", null, { code });
  for (const k of ["services", "departments"]) {
    const v = b.keys.get(k);
    if (v && (!v.ok || !Array.isArray(v.value))) throw new EditError("edit.byHand", v.line + 1);
  }
  return b;
}

/** Applies several key changes to one block, bottom-up so earlier line numbers stay right. */
function setKeys(doc, block, changes) {
  // changes: [{ key, value | null (remove), after: [...] }]
  let text = doc.text;
  let line = null;
  const ordered = changes
    .map((c) => ({ ...c, at: block.keys.get(c.key)?.line ?? Infinity }))
    .sort((a, b) => b.at - a.at);
  for (const c of ordered) {
    const d = parse(text);
    const b = d.blocks.find((x) => x.header === block.header);
    const r = c.value == null ? removeKey(d, b, c.key) : setKey(d, b, c.key, c.value, c.after || []);
    text = r.text;
    if (r.line != null) line = line == null ? r.line : Math.min(line, r.line);
  }
  return { text, line: line ?? block.header + 1 };
}

export function addServiceToCounter(text, site, counter, service) {
  const doc = parse(text);
  const all = services(text, site);
  if (!all.some((s) => s.code === service)) throw new EditError("edit.noService", null, { code: service });
  const c = counters(text, site).find((x) => x.code === counter);
  if (!c) throw new EditError("edit.noCounter", null, { code: counter });
  if (c.effective.includes(service)) throw new EditError("edit.already", c.line);
  const b = counterBlock(doc, site, counter);
  const list = b.keys.get("services")?.value || [];
  return setKeys(doc, b, [{ key: "services", value: [...list, service], after: ["departments", "name", "number", "code"] }]);
}

export function removeServiceFromCounter(text, site, counter, service) {
  const doc = parse(text);
  const all = services(text, site);
  const c = counters(text, site).find((x) => x.code === counter);
  if (!c) throw new EditError("edit.noCounter", null, { code: counter });
  if (!c.effective.includes(service)) throw new EditError("edit.notThere", c.line);
  const b = counterBlock(doc, site, counter);
  let list = (b.keys.get("services")?.value || []).filter((x) => (typeof x === "string" ? x : x?.service) !== service);
  let depts = c.departments.slice();
  const dept = all.find((s) => s.code === service)?.department;
  if (depts.includes(dept)) {
    // The service comes with its whole department: list the department's other services instead.
    depts = depts.filter((d) => d !== dept);
    const have = new Set(list.map((x) => (typeof x === "string" ? x : x?.service)));
    for (const s of all) if (s.department === dept && s.code !== service && !have.has(s.code)) list.push(s.code);
  }
  const changes = [];
  if (b.keys.has("departments") || depts.length) changes.push({ key: "departments", value: depts.length ? depts : null });
  changes.push({ key: "services", value: list.length ? list : null, after: ["departments", "name", "number", "code"] });
  return setKeys(doc, b, changes);
}
