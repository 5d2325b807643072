// Accent-free procedure search for the kiosk: words in any order, with or without Vietnamese
// marks, prefixes of words while typing, one typo in longer words, and the services' extra
// keywords ("so do" finds "Cấp Giấy chứng nhận quyền sử dụng đất lần đầu" through "sổ đỏ").
// Pure functions, no DOM: the browser tests also import it in Node.
//
//   const index = buildIndex(setup.services, setup.departments);
//   search(index, "dang ky ket hon")  // → [{ service, score, via: "name" | "keyword", keyword? }]

/** "Đăng Ký" → "dang ky": no marks, đ → d, lower case. */
export function fold(s) {
  return String(s ?? "")
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/đ/g, "d")
    .replace(/Đ/g, "d")
    .toLowerCase();
}

/** Folded words of a text: letters and digits only. */
export function words(s) {
  return fold(s).split(/[^a-z0-9]+/).filter(Boolean);
}

/** True when a and b differ by at most one insertion, deletion, substitution or swap of two
 * neighbouring letters ("khia" → "khai"). */
function withinOneEdit(a, b) {
  if (a === b) return true;
  const la = a.length, lb = b.length;
  if (la === lb) {
    const diff = [];
    for (let i = 0; i < la && diff.length < 3; i++) if (a[i] !== b[i]) diff.push(i);
    if (diff.length === 2 && diff[1] === diff[0] + 1 && a[diff[0]] === b[diff[1]] && a[diff[1]] === b[diff[0]]) return true;
  }
  if (Math.abs(la - lb) > 1) return false;
  let i = 0, j = 0, edits = 0;
  while (i < la && j < lb) {
    if (a[i] === b[j]) { i++; j++; continue; }
    if (++edits > 1) return false;
    if (la > lb) i++;
    else if (lb > la) j++;
    else { i++; j++; }
  }
  return edits + (la - i) + (lb - j) <= 1;
}

/** How well one query word matches one indexed word: 3 exact, 2 prefix, 1 one typo, 0 none. */
function wordMatch(q, w) {
  if (q === w) return 3;
  if (w.startsWith(q)) return 2;
  if (q.length >= 4 && (withinOneEdit(q, w) || (w.length > q.length && withinOneEdit(q, w.slice(0, q.length))))) return 1;
  return 0;
}

function bestIn(q, list) {
  let best = 0;
  for (const w of list) {
    const m = wordMatch(q, w);
    if (m > best) best = m;
    if (best === 3) break;
  }
  return best;
}

// Weight of a match by where it was found.
const FIELD_NAME = 1;
const FIELD_KEYWORD = 0.9;
const FIELD_DEPARTMENT = 0.4;
/** Results scoring below this share of the best one are left out. */
const RELATIVE_SCORE_MIN = 0.55;

/**
 * Prepares the services for searching. `services` and `departments` as in the setup
 * (`name: {vi, en}`, `keywords: [..]`). Searches both languages' names.
 */
export function buildIndex(services, departments = []) {
  const deptName = new Map(departments.map((d) => [d.code, d.name]));
  return services.map((s, order) => {
    const names = [s.name?.vi, s.name?.en].filter(Boolean);
    const dn = deptName.get(s.department);
    const keywords = (s.keywords || []).map((k) => ({ text: k, folded: fold(k), words: words(k) }));
    return {
      service: s,
      order,
      nameFolded: names.map(fold),
      nameWords: names.flatMap(words),
      keywords,
      keywordWords: keywords.flatMap((k) => k.words),
      deptWords: dn ? [dn.vi, dn.en].filter(Boolean).flatMap(words) : [],
    };
  });
}

/**
 * Services matching every word of the query, best first. A phrase found whole in a name or a
 * keyword ranks higher; so do shorter names (the plain procedure before its variants).
 */
export function search(index, query, limit = 50) {
  const q = words(query);
  if (q.length === 0) return [];
  const phrase = q.join(" ");
  const out = [];
  for (const e of index) {
    let score = 0;
    let viaKeyword = false;
    let all = true;
    for (const w of q) {
      const n = bestIn(w, e.nameWords) * FIELD_NAME;
      const k = bestIn(w, e.keywordWords) * FIELD_KEYWORD;
      const d = bestIn(w, e.deptWords) * FIELD_DEPARTMENT;
      const best = Math.max(n, k, d);
      if (best === 0) { all = false; break; }
      if (k > n && k >= d) viaKeyword = true;
      score += best;
    }
    if (!all) continue;
    let keyword = null;
    if (e.nameFolded.some((n) => n.includes(phrase))) score += 4;
    else {
      const exact = e.keywords.find((k) => k.words.join(" ") === phrase);
      const kw = exact || e.keywords.find((k) => k.folded.includes(phrase));
      if (kw) { score += exact ? 4.5 : 3.5; keyword = kw.text; viaKeyword = true; }
    }
    if (viaKeyword && !keyword) {
      keyword = (e.keywords.find((k) => q.every((w) => bestIn(w, k.words) > 0)) || e.keywords.find((k) => q.some((w) => bestIn(w, k.words) > 0)))?.text ?? null;
    }
    // Fewer extra words in the name: "Đăng ký kết hôn" before "… có yếu tố nước ngoài".
    score -= Math.min(2, e.nameWords.length / (e.nameFolded.length * 12));
    out.push({ service: e.service, score, via: viaKeyword ? "keyword" : "name", keyword, order: e.order });
  }
  out.sort((a, b) => b.score - a.score || a.order - b.order);
  // Weak matches far behind the best ("so" in "hồ sơ" when "sổ đỏ" matched whole) are noise.
  const floor = out.length ? out[0].score * RELATIVE_SCORE_MIN : 0;
  return out.filter((r) => r.score >= floor).slice(0, limit);
}
