// Scores the kiosk search against the labelled citizen queries in
// tests/fixtures/search-queries.json (see docs/search.md). Pure functions, used by
// search.test.mjs; `node tests/browser/search-fixture.mjs SETUP.json` prints the same report
// for a setup saved from GET /api/v1/sites/<site>/setup.

import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildIndex, search } from "../../kiosk-assets/js/search.js";

const here = path.dirname(fileURLToPath(import.meta.url));
export const FIXTURE = path.resolve(here, "../fixtures/search-queries.json");

/** Share of queries whose expected procedure must be in the top results, and how many count as "top". */
export const FOUND_SHARE_MIN = 0.95;
export const TOP_N = 3;

export function loadFixture(file = FIXTURE) {
  return JSON.parse(readFileSync(file, "utf8"));
}

/** Codes acceptable for one labelled query: its `expect` list, or every procedure of its `department`. */
function acceptable(entry, services) {
  if (entry.department) return services.filter((s) => s.department === entry.department).map((s) => s.code);
  return entry.expect;
}

/**
 * Runs every labelled query through `search` on the real setup. Returns
 * { all: {found, total, share}, heldout: {...}, tuned: {...}, misses: [{q, expected, top}],
 *   falseMatches: [{q, problems: [..]}] } — `problems` empty when that false match is fixed.
 */
export function evaluate(setup, fixture) {
  const index = buildIndex(setup.services, setup.departments);
  const codes = new Set(setup.services.map((s) => s.code));
  const deptOf = new Map(setup.services.map((s) => [s.code, s.department]));
  const tally = () => ({ found: 0, total: 0, share: 0 });
  const all = tally(), heldout = tally(), tuned = tally();
  const misses = [];
  const unknown = [];
  for (const entry of fixture.queries) {
    const expected = acceptable(entry, setup.services);
    for (const c of entry.expect || []) if (!codes.has(c)) unknown.push(`${JSON.stringify(entry.q)} expects unknown procedure ${c}`);
    if (entry.department && expected.length === 0) unknown.push(`${JSON.stringify(entry.q)} names unknown department ${entry.department}`);
    const top = search(index, entry.q).slice(0, TOP_N).map((r) => r.service.code);
    const ok = top.some((c) => expected.includes(c));
    for (const t of [all, entry.heldout ? heldout : tuned]) {
      t.total += 1;
      if (ok) t.found += 1;
    }
    if (!ok) misses.push({ q: entry.q, heldout: !!entry.heldout, expected: entry.department ? `@${entry.department}` : expected.join(","), top });
  }
  for (const t of [all, heldout, tuned]) t.share = t.total ? t.found / t.total : 0;

  const falseMatches = (fixture.false_matches || []).map((fm) => {
    const found = search(index, fm.q).map((r) => r.service.code);
    const top = found.slice(0, TOP_N);
    const problems = [];
    if (fm.finds_all_of) {
      const want = setup.services.filter((s) => s.department === fm.finds_all_of).map((s) => s.code);
      const missing = want.filter((c) => !found.includes(c));
      if (missing.length) problems.push(`finds ${want.length - missing.length} of the ${want.length} procedures of ${fm.finds_all_of}; missing ${missing.join(", ")}`);
    }
    if (fm.top3_includes && !top.includes(fm.top3_includes)) problems.push(`${fm.top3_includes} is not in the top ${TOP_N}`);
    for (const c of fm.never || []) if (found.includes(c)) problems.push(`finds ${c} (place ${found.indexOf(c) + 1})`);
    if (fm.top3_departments) {
      for (const c of top) if (!fm.top3_departments.includes(deptOf.get(c))) problems.push(`${c} of department ${deptOf.get(c)} is in the top ${TOP_N}`);
      if (top.length === 0) problems.push("finds nothing");
    }
    return { q: fm.q, top, problems };
  });
  return { all, heldout, tuned, misses, falseMatches, unknown };
}

const pct = (t) => `${t.found}/${t.total} = ${(100 * t.share).toFixed(1)} %`;

/** Human-readable report: the scores first, then every miss and false match. */
export function report(r) {
  const lines = [
    `search fixture: expected procedure in the top ${TOP_N}: all ${pct(r.all)}; held-out ${pct(r.heldout)}; tuned-on ${pct(r.tuned)}`,
  ];
  for (const m of r.misses) lines.push(`  miss${m.heldout ? " (held-out)" : ""}: ${JSON.stringify(m.q)} expected ${m.expected}, top ${TOP_N}: ${m.top.join(", ") || "(nothing)"}`);
  for (const f of r.falseMatches) lines.push(`  false match ${JSON.stringify(f.q)}: ${f.problems.length ? f.problems.join("; ") : "fixed"} (top ${TOP_N}: ${f.top.join(", ") || "nothing"})`);
  for (const u of r.unknown) lines.push(`  fixture error: ${u}`);
  return lines.join("\n");
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const setup = JSON.parse(readFileSync(process.argv[2], "utf8"));
  console.log(report(evaluate(setup, loadFixture())));
}
