// Procedure search for the kiosk, as citizens type: without Vietnamese marks (đ → d, "kí" or
// "ký"), words in any order, each word matched whole or as the start of a word (never a piece
// that crosses words), over the procedure's names (vi, en), its keywords and its department's
// name. Words the index does not know are read as:
//   - an abbreviation: the first letters of words in a name or keyword ("gks" → giấy khai sinh,
//     "sd" → sổ đỏ, "hkd" → hộ kinh doanh, "bhyt", "cccd", "dk" → đăng ký);
//   - words run together ("khaisinh", "sodo");
//   - a typo of one letter ("khia sinh", "vneld").
// Typos are tried only for unknown words, so "chet" is never read as "chế" nor "thuong" as
// "truong". Filler words ("lam", "xin", "cho", "toi muon", …) and words found nowhere need not
// match; when no procedure has every other word, the ones with the most telling words come first.
// How well this finds the right procedure is measured on labelled citizen queries
// (tests/fixtures/search-queries.json, docs/search.md). Pure functions, no DOM: the tests
// import it in Node.
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

/** Words as compared: folded, and y read as i ("ký" and "kí" are both written). */
function keys(s) {
  return words(s).map((w) => w.replace(/y/g, "i"));
}

/** Words that may be left out of a match: what citizens add around a procedure's name
 * ("làm", "xin", "cho", "tôi muốn", "thủ tục", "ở đâu", …), folded. */
export const FILLER_WORDS = new Set(
  ["lam", "xin", "cho", "toi", "muon", "can", "thu", "tuc", "cua", "va", "de", "o", "dau", "bi", "nhu", "nao", "ve", "trong", "mot", "giup", "hoi", "di", "nay", "luon", "roi"]
);
/** Abbreviations are read from words of this many letters. */
const ABBREVIATION_LEN = { min: 2, max: 6 };
/** Shortest unknown word read as words run together, and the most words it may hold. */
const JOINED_LEN_MIN = 3;
const JOINED_PARTS_MAX = 4;
/** Shortest unknown word read as a typo (3-letter ones only with one letter left out). */
const TYPO_LEN_MIN = 3;
/** Longest query read, in characters; the rest is ignored (the on-screen keyboard stops at 60). */
export const QUERY_LEN_MAX = 100;

// How well one query word matches: exact, start of a word, abbreviation, typo.
const MATCH_EXACT = 3;
const MATCH_PREFIX = 2;
const MATCH_ABBREVIATION_WHOLE = 3;
const MATCH_ABBREVIATION_PART = 2;
const MATCH_TYPO = 1;
// Weight of a match by where it was found.
const FIELD_NAME = 1;
const FIELD_KEYWORD = 0.9;
const FIELD_DEPARTMENT = 0.8;
// Bonus when the query's words follow each other in a name or keyword.
const PHRASE_NAME = 4;
const PHRASE_KEYWORD_WHOLE = 4.5;
const PHRASE_KEYWORD = 3.5;
const PHRASE_DEPARTMENT = 3;
/** A partial match may have this many fewer of the query's words than the closest one. */
const PARTIAL_WORDS_BEHIND_MAX = 1;
/** Results scoring below this share of the best one are left out. */
const RELATIVE_SCORE_MIN = 0.55;

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

/** An unknown query word `q` read as a typo of the indexed word `w` (or of its start). */
function isTypo(q, w) {
  if (q.length < TYPO_LEN_MIN) return false;
  if (q.length === TYPO_LEN_MIN) return w.length === q.length + 1 && withinOneEdit(q, w);
  return withinOneEdit(q, w) || (w.length > q.length && withinOneEdit(q, w.slice(0, q.length)));
}

/**
 * Prepares the services for searching. `services` and `departments` as in the setup
 * (`name: {vi, en}`, `keywords: [..]`). Names and department names are kept per language
 * (a query is matched in one language at a time); keywords count in both.
 */
export function buildIndex(services, departments = []) {
  const deptName = new Map(departments.map((d) => [d.code, d.name]));
  const phrase = (text, field, lang) => {
    const w = keys(text);
    return { text, field, lang, words: w, initials: w.map((x) => x[0]).join("") };
  };
  const entries = services.map((s, order) => {
    const dn = deptName.get(s.department);
    // "Đất đai – Xây dựng – Môi trường": each part is its own phrase.
    const parts = (n) => (n ? n.split(/\s[–—-]\s|,\s*|\s+and\s+/) : []);
    const phrases = [
      ...["vi", "en"].map((lang) => phrase(s.name?.[lang] || "", "name", lang)),
      ...(s.keywords || []).map((k) => phrase(k, "keyword", null)),
      ...["vi", "en"].flatMap((lang) => parts(dn?.[lang]).map((n) => phrase(n, "department", lang))),
    ].filter((p) => p.words.length);
    return { service: s, order, phrases, nameLen: keys(s.name?.vi || s.name?.en || "").length };
  });
  const vocab = [...new Set(entries.flatMap((e) => e.phrases.flatMap((p) => p.words)))].sort();
  // Words standing side by side somewhere ("ket hon"): how run-together words are cut.
  const pairs = new Set(entries.flatMap((e) => e.phrases.flatMap((p) => p.words.slice(1).map((w, i) => p.words[i] + " " + w))));
  return { entries, vocab, vocabSet: new Set(vocab), pairs };
}

/** First index in the sorted `vocab` whose word is ≥ `q`. */
function lowerBound(vocab, q) {
  let lo = 0, hi = vocab.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (vocab[mid] < q) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function startsSomeWord(index, q) {
  const i = lowerBound(index.vocab, q);
  return i < index.vocab.length && index.vocab[i].startsWith(q);
}

/**
 * "khaisinh" → ["khai", "sinh"]: known words (the last may be a word's start), or null. Of the
 * ways to cut, the one whose neighbouring words most often stand side by side in a name or
 * keyword wins ("dangkykethon" → "dang ki ket hon", not "… ke thon"), then the one with fewest
 * words; a cut with no such pair is none.
 */
function splitJoined(index, q) {
  let best = null, bestPairs = -1;
  const walk = (at, parts) => {
    if (at === q.length) {
      if (parts.length < 2) return;
      let pairs = 0;
      for (let i = 1; i < parts.length; i++) if (index.pairs.has(parts[i - 1] + " " + parts[i])) pairs += 1;
      if (pairs > bestPairs || (pairs === bestPairs && parts.length < best.length)) { best = [...parts]; bestPairs = pairs; }
      return;
    }
    if (parts.length === JOINED_PARTS_MAX) return;
    for (let j = at + 1; j <= q.length; j++) {
      const part = q.slice(at, j);
      if (index.vocabSet.has(part) || (j === q.length && part.length >= 2 && startsSomeWord(index, part))) {
        parts.push(part);
        walk(j, parts);
        parts.pop();
      }
    }
  };
  walk(0, []);
  // A cut into words never seen side by side ("anh" → "a nh…") is not a reading.
  return bestPairs > 0 ? best : null;
}

/** Reads each query word: a known word (or its start), an abbreviation, joined words, a typo, or unknown. */
export function readQuery(index, query) {
  const terms = [];
  for (const w of keys(query)) {
    if (startsSomeWord(index, w)) { terms.push({ w, how: "word" }); continue; }
    if (w.length >= ABBREVIATION_LEN.min && w.length <= ABBREVIATION_LEN.max && /^[a-z]+$/.test(w)
      && index.entries.some((e) => e.phrases.some((p) => p.initials.includes(w)))) {
      terms.push({ w, how: "abbreviation" });
      continue;
    }
    const parts = w.length >= JOINED_LEN_MIN ? splitJoined(index, w) : null;
    if (parts) { for (const p of parts) terms.push({ w: p, how: "word" }); continue; }
    terms.push({ w, how: index.vocab.some((v) => isTypo(w, v)) ? "typo" : "unknown" });
  }
  return terms;
}

/** Best match of one query term in one phrase: a score before the field's weight. */
function matchIn(term, p) {
  if (term.how === "abbreviation") {
    if (p.initials === term.w) return MATCH_ABBREVIATION_WHOLE;
    return p.initials.includes(term.w) ? MATCH_ABBREVIATION_PART : 0;
  }
  let best = 0;
  for (const w of p.words) {
    let m = 0;
    if (term.how === "word") m = w === term.w ? MATCH_EXACT : w.startsWith(term.w) ? MATCH_PREFIX : 0;
    else if (term.how === "typo") m = isTypo(term.w, w) ? MATCH_TYPO : 0;
    if (m > best) best = m;
    if (best === MATCH_EXACT) break;
  }
  return best;
}

const FIELD_WEIGHT = { name: FIELD_NAME, keyword: FIELD_KEYWORD, department: FIELD_DEPARTMENT };

/** True when the query words `q` follow each other in `words` (the last one may be a word's start). */
function followEachOther(q, words) {
  for (let i = 0; i + q.length <= words.length; i++) {
    let ok = true;
    for (let j = 0; j < q.length && ok; j++) {
      ok = j === q.length - 1 ? words[i + j].startsWith(q[j]) : words[i + j] === q[j];
    }
    if (ok) return true;
  }
  return false;
}

/** How one service matches the query terms, reading its phrases in one language (keywords in both). */
function matchEntry(e, terms, required, lang) {
  const phrases = e.phrases.filter((p) => p.lang === null || p.lang === lang);
  let score = 0, matchedRequired = 0, viaKeyword = false;
  const matched = [];
  const keywordHits = new Map();
  terms.forEach((t, ti) => {
    let best = 0, bestField = null;
    for (const p of phrases) {
      const m = matchIn(t, p) * FIELD_WEIGHT[p.field];
      if (m > 0 && p.field === "keyword") keywordHits.set(p, (keywordHits.get(p) || 0) + m);
      if (m > best) { best = m; bestField = p.field; }
    }
    matched.push(best > 0);
    if (best > 0) {
      score += best;
      if (required[ti]) matchedRequired += 1;
      if (bestField === "keyword") viaKeyword = true;
    }
  });
  return { e, phrases, score, matched, matchedRequired, keywordHits, viaKeyword };
}

/**
 * Services matching the query, best first: those matching every word that matters, else (when
 * none does) those matching the most telling words, marked `partial`. A phrase found whole in a
 * name or a keyword ranks higher; so do shorter names (the plain procedure before its variants).
 * Each result: { service, score, via: "name" | "keyword", keyword, partial }.
 */
export function search(index, query, limit = 50) {
  const terms = readQuery(index, String(query ?? "").slice(0, QUERY_LEN_MAX)).filter((t) => t.how !== "unknown");
  if (terms.length === 0) return [];
  // Filler words and typos only help the ranking, unless the query has nothing else.
  const optional = (t) => FILLER_WORDS.has(t.w) || t.how === "typo";
  const required = terms.some((t) => !optional(t)) ? terms.map((t) => !optional(t)) : terms.map(() => true);
  const requiredCount = required.filter(Boolean).length;
  const n = index.entries.length;

  // Words of one language only: "so do" is not "social" (en) + "độ" (vi).
  const rows = index.entries.map((e) => {
    const vi = matchEntry(e, terms, required, "vi");
    const en = matchEntry(e, terms, required, "en");
    return en.matchedRequired > vi.matchedRequired || (en.matchedRequired === vi.matchedRequired && en.score > vi.score) ? en : vi;
  });

  let found = rows.filter((r) => r.matchedRequired === requiredCount);
  const partial = found.length === 0;
  if (partial) {
    // Nobody has every word: weigh each matched word by how few procedures have it.
    const df = terms.map((_, ti) => rows.filter((r) => r.matched[ti]).length);
    for (const r of rows) {
      r.score = terms.reduce((sum, t, ti) => sum + (r.matched[ti] && required[ti] ? Math.log(1 + n / df[ti]) : 0), 0);
    }
    // … and among those with at most one word fewer than the closest.
    const most = Math.max(...rows.map((r) => r.matchedRequired));
    found = rows.filter((r) => r.score > 0 && r.matchedRequired >= most - PARTIAL_WORDS_BEHIND_MAX);
  }

  const q = terms.filter((t) => t.how === "word").map((t) => t.w);
  const phraseText = q.join(" ");
  const out = found.map((r) => {
    const { e } = r;
    let score = r.score;
    let keyword = null, viaKeyword = r.viaKeyword;
    if (q.length && !partial) {
      if (r.phrases.some((p) => p.field === "name" && followEachOther(q, p.words))) score += PHRASE_NAME;
      else {
        const exact = r.phrases.find((p) => p.field === "keyword" && p.words.join(" ") === phraseText);
        const kw = exact || r.phrases.find((p) => p.field === "keyword" && followEachOther(q, p.words));
        if (kw) { score += exact ? PHRASE_KEYWORD_WHOLE : PHRASE_KEYWORD; keyword = kw.text; viaKeyword = true; }
        else if (r.phrases.some((p) => p.field === "department" && followEachOther(q, p.words))) score += PHRASE_DEPARTMENT;
      }
    }
    if (viaKeyword && !keyword && r.keywordHits.size) {
      // The keyword that matched the query best.
      let best = 0;
      for (const [p, hits] of r.keywordHits) if (hits > best) { best = hits; keyword = p.text; }
    }
    // Fewer extra words in the name: "Đăng ký kết hôn" before "… có yếu tố nước ngoài".
    score -= Math.min(2, e.nameLen / 12);
    return { service: e.service, score, via: viaKeyword && keyword ? "keyword" : "name", keyword: viaKeyword ? keyword : null, partial, order: e.order };
  });
  out.sort((a, b) => b.score - a.score || a.order - b.order);
  // Weak matches far behind the best ("so" in "hồ sơ" when "sổ đỏ" matched whole) are noise.
  const floor = out.length ? out[0].score * RELATIVE_SCORE_MIN : 0;
  return out.filter((r) => r.score >= floor).slice(0, limit);
}
