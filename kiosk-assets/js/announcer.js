// Voice calls for the hall display, offline: a chime, then the announcement composed from
// recorded clips (kiosk-assets/audio/<lang>/*.ogg, described by audio/manifest.json) following
// the site's template, said `repeat` times. One announcement at a time; later calls wait in a
// queue. The browser's speech engine (speechSynthesis) is an option, never a requirement.
//
//   const a = createAnnouncer({ templates: setup.announcement, voice: "vi" });
//   await a.load();                      // manifest + every clip, decoded (Web Audio)
//   a.announce({ ticket: "B017", counter: 4 });
//   a.log                                // [{ url | tts, at }] in the order they were played
//
// Template: "Mời công dân có số thứ tự {ticket} đến quầy số {counter}". Literal text is matched
// to phrase clips by their text in the manifest ("Mời công dân có số thứ tự" → invite.ogg); the
// ticket is read one character at a time (B017 → letter_b, digit_0, digit_1, digit_7); the
// counter as a whole number (number_4.ogg, number_1..99), else digit by digit. A manager replaces
// clips with the center's own recordings on the administration pages (tab "Giọng đọc"): the
// served manifest then lists them in `replaced` ("vi/invite.ogg" → version), their URLs carry
// `?v=<version>`, and a `config` message makes the display call load() again, which fetches
// just the clips whose URL changed.
//
// Voices: "vi" (default), "en", "both" (Vietnamese then English, each repetition), "tts" (the
// browser's speech engine in the display's language), "off".

/** Silence between two clips of one sentence, and between repetitions. */
const GAP_MS = 60;
const REPEAT_GAP_MS = 700;
/** A clip (or spoken sentence) that has not ended after this long is given up on. */
const CLIP_TIMEOUT_MS = 8_000;
const TTS_TIMEOUT_MS = 15_000;
/** Announcements waiting at most; the oldest are dropped beyond this (the board still shows them). */
export const QUEUE_MAX = 20;
/** When more than this many wait, each is said once instead of `repeat` times, to catch up. */
const CATCH_UP_AFTER = 3;
/** A call that waited longer than this (sound blocked, long queue) is dropped, not said late. */
const STALE_MS = 90_000;
/** Entries kept in `log` (for tests and diagnostics). */
const LOG_MAX = 500;

const PUNCT = /[.,!?;:…"'“”‘’()\[\]–—-]+/g;

export function normalize(text) {
  return text.normalize("NFC").toLowerCase().replace(PUNCT, " ").replace(/\s+/g, " ").trim();
}

/** Splits a template into literal text and placeholders. */
export function parseTemplate(template) {
  const parts = [];
  const re = /\{(ticket|counter)\}/g;
  let last = 0;
  let m;
  while ((m = re.exec(template))) {
    if (m.index > last) parts.push({ text: template.slice(last, m.index) });
    parts.push({ slot: m[1] });
    last = re.lastIndex;
  }
  if (last < template.length) parts.push({ text: template.slice(last) });
  return parts;
}

/**
 * The clip names (without folder and extension) for one announcement in one language, e.g.
 * ["invite", "letter_b", "digit_0", "digit_1", "digit_7", "to_counter", "number_4"].
 * Text that no clip covers becomes { say: "..." } (spoken by the speech engine if there is one).
 */
export function compose(template, clips, ticket, counter) {
  const phrases = new Map();
  for (const [name, text] of Object.entries(clips)) {
    if (/^(letter|digit|number)_/.test(name)) continue;
    phrases.set(normalize(text), name);
  }
  const out = [];
  for (const part of parseTemplate(template)) {
    if (part.slot === "ticket") {
      for (const ch of String(ticket).toLowerCase()) {
        if (ch >= "a" && ch <= "z" && clips[`letter_${ch}`] !== undefined) out.push(`letter_${ch}`);
        else if (ch >= "0" && ch <= "9") out.push(`digit_${ch}`);
      }
    } else if (part.slot === "counter") {
      const n = Number(counter);
      if (Number.isInteger(n) && clips[`number_${n}`] !== undefined) out.push(`number_${n}`);
      else for (const ch of String(counter)) if (ch >= "0" && ch <= "9") out.push(`digit_${ch}`);
    } else {
      // Greedy: the longest run of words that is a phrase clip, then the rest.
      const words = normalize(part.text).split(" ").filter(Boolean);
      let i = 0;
      let unmatched = [];
      while (i < words.length) {
        let j = words.length;
        for (; j > i; j--) if (phrases.has(words.slice(i, j).join(" "))) break;
        if (j > i) {
          if (unmatched.length) out.push({ say: unmatched.join(" ") });
          unmatched = [];
          out.push(phrases.get(words.slice(i, j).join(" ")));
          i = j;
        } else {
          unmatched.push(words[i]);
          i += 1;
        }
      }
      if (unmatched.length) out.push({ say: unmatched.join(" ") });
    }
  }
  return out;
}

/** The sentence for the speech engine: the ticket spelled the way the clips say it. */
export function sentence(template, clips, ticket, counter) {
  const spell = [];
  for (const ch of String(ticket).toLowerCase()) {
    spell.push(clips?.[`letter_${ch}`] ?? clips?.[`digit_${ch}`] ?? ch.toUpperCase());
  }
  return template.replace("{ticket}", spell.join(" ")).replace("{counter}", String(counter));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * options: templates {vi, en, repeat}, voice ("vi" | "en" | "both" | "tts" | "off"),
 *   lang (for "tts": which template), base ("/audio"),
 *   onBlocked() / onUnblocked(): the browser refuses to play until a user gesture,
 *   onSpeaking(item | null): an announcement starts / the queue is empty.
 */
export function createAnnouncer(options = {}) {
  const base = options.base ?? "/audio";
  let templates = options.templates ?? {};
  let repeat = Math.max(1, Math.min(5, Number(templates.repeat) || 2));
  const voice = options.voice ?? "vi";
  const langs = voice === "both" ? ["vi", "en"] : voice === "en" ? ["en"] : ["vi"];
  let manifest = null;
  let loaded = false;
  let ctx = null;
  const buffers = new Map(); // url → AudioBuffer
  const queue = [];
  let running = false;
  let blocked = false;
  let current = null;
  const log = [];

  // A clip replaced on the administration pages has a version: a new URL, never a stale cache.
  const versioned = (path) => {
    const v = manifest?.replaced?.[path];
    return `${base}/${path}${v ? `?v=${encodeURIComponent(v)}` : ""}`;
  };
  const url = (lang, clip) => versioned(`${lang}/${clip}.${manifest?.format || "ogg"}`);
  const chimeUrl = () => versioned(manifest?.chime || "chime.ogg");
  const record = (entry) => {
    log.push({ ...entry, at: Date.now() });
    if (log.length > LOG_MAX) log.splice(0, log.length - LOG_MAX);
  };

  function setBlocked(b) {
    if (b === blocked) return;
    blocked = b;
    if (b) options.onBlocked?.();
    else options.onUnblocked?.();
  }

  function audioContext() {
    if (ctx) return ctx;
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return null;
    ctx = new AC();
    ctx.onstatechange = () => {
      setBlocked(ctx.state === "suspended");
      if (ctx.state === "running") pump();
    };
    // Chromium starts a context "suspended" until a user gesture unless autoplay is allowed.
    setTimeout(() => setBlocked(ctx.state === "suspended"), 300);
    return ctx;
  }

  async function fetchClip(u) {
    if (buffers.has(u)) return buffers.get(u);
    const c = audioContext();
    const res = await fetch(u);
    if (!res.ok) throw new Error(`${u}: HTTP ${res.status}`);
    const data = await res.arrayBuffer();
    if (!c) return null;
    const buf = await c.decodeAudioData(data);
    buffers.set(u, buf);
    return buf;
  }

  /** Plays one clip to its end. Web Audio when the clip is decoded, an <audio> element otherwise. */
  async function play(u) {
    record({ url: u });
    let buf = buffers.get(u);
    if (!buf) {
      try { buf = await fetchClip(u); } catch { buf = null; }
    }
    if (buf && ctx && ctx.state === "running") {
      return new Promise((resolve) => {
        const src = ctx.createBufferSource();
        src.buffer = buf;
        src.connect(ctx.destination);
        const t = setTimeout(resolve, buf.duration * 1000 + 1000);
        src.onended = () => { clearTimeout(t); resolve(); };
        src.start();
      });
    }
    return new Promise((resolve) => {
      const el = new Audio(u);
      const done = () => { clearTimeout(t); resolve(); };
      const t = setTimeout(done, CLIP_TIMEOUT_MS);
      el.onended = done;
      el.onerror = done;
      el.play().catch((e) => {
        if (e && e.name === "NotAllowedError") setBlocked(true);
        done();
      });
    });
  }

  function speak(text, lang) {
    record({ tts: text, lang });
    const synth = window.speechSynthesis;
    if (!synth || typeof SpeechSynthesisUtterance === "undefined") return Promise.resolve();
    return new Promise((resolve) => {
      const u = new SpeechSynthesisUtterance(text);
      u.lang = lang === "en" ? "en-US" : "vi-VN";
      const v = synth.getVoices().find((x) => x.lang?.toLowerCase().startsWith(lang));
      if (v) u.voice = v;
      u.rate = 0.9;
      const done = () => { clearTimeout(t); resolve(); };
      const t = setTimeout(done, TTS_TIMEOUT_MS);
      u.onend = done;
      u.onerror = done;
      synth.speak(u);
    });
  }

  async function say(item) {
    const times = queue.length >= CATCH_UP_AFTER ? 1 : repeat;
    await play(chimeUrl());
    for (let r = 0; r < times; r++) {
      if (r > 0) await sleep(REPEAT_GAP_MS);
      if (voice === "tts") {
        const lang = options.lang === "en" ? "en" : "vi";
        const clips = manifest?.languages?.[lang]?.clips;
        await speak(sentence(templates[lang] || templates.vi || "{ticket} {counter}", clips, item.ticket, item.counter), lang);
        continue;
      }
      for (const lang of langs) {
        const clips = manifest?.languages?.[lang]?.clips || {};
        const template = templates[lang] || (lang === "en" ? "Ticket {ticket}, please go to counter {counter}" : "Mời công dân có số thứ tự {ticket} đến quầy số {counter}");
        for (const part of compose(template, clips, item.ticket, item.counter)) {
          if (typeof part === "string") await play(url(lang, part));
          else await speak(part.say, lang);
          await sleep(GAP_MS);
        }
      }
    }
  }

  async function pump() {
    if (running || blocked) return;
    running = true;
    try {
      while (queue.length && !blocked) {
        current = queue.shift();
        if (Date.now() - current.queuedAt > STALE_MS) { record({ dropped: current.ticket }); current = null; continue; }
        options.onSpeaking?.(current);
        try { await say(current); } catch (e) { console.warn("announcer:", e); }
        current = null;
      }
    } finally {
      running = false;
      if (!queue.length) options.onSpeaking?.(null);
    }
  }

  return {
    log,
    /** New templates from a live configuration change; the next call uses them. */
    setTemplates(next) {
      templates = next ?? {};
      repeat = Math.max(1, Math.min(5, Number(templates.repeat) || 2));
    },
    get queue() { return queue.slice(); },
    get current() { return current; },
    get blocked() { return blocked; },
    get voice() { return voice; },
    get manifest() { return manifest; },
    /** True once load() has fetched and decoded every clip it could. */
    get loaded() { return loaded; },
    /** The clip URLs (and { say } items) an announcement would play, without the chime. */
    plan(ticket, counter) {
      const out = [];
      if (voice === "tts" || voice === "off") return out;
      for (const lang of langs) {
        const clips = manifest?.languages?.[lang]?.clips || {};
        for (const p of compose(templates[lang] || "", clips, ticket, counter)) out.push(typeof p === "string" ? url(lang, p) : p);
      }
      return out;
    },
    /**
     * Loads the manifest and decodes the chime and every clip of the chosen languages. Called
     * again (after a `config` message), it fetches only the clips whose URL changed.
     * `options.preload === false`: the manifest only; clips are fetched when first played.
     */
    async load() {
      try {
        const res = await fetch(`${base}/manifest.json`, { cache: "no-cache" });
        if (res.ok) manifest = await res.json();
        else if (!manifest) manifest = null;
      } catch { /* keep the manifest we had, if any */ }
      if (voice === "off") { loaded = true; return; }
      audioContext();
      const urls = [chimeUrl()];
      if (voice !== "tts") {
        for (const lang of langs) for (const clip of Object.keys(manifest?.languages?.[lang]?.clips || {})) urls.push(url(lang, clip));
      }
      // Clips replaced since: their old URLs are no longer played.
      const keep = new Set(urls);
      for (const u of [...buffers.keys()]) if (!keep.has(u)) buffers.delete(u);
      if (options.preload === false) { loaded = true; return; }
      // Six at a time: a display on a slow link still comes up quickly.
      let i = 0;
      const worker = async () => {
        while (i < urls.length) {
          const u = urls[i++];
          try { await fetchClip(u); } catch (e) { console.warn("announcer: cannot load", u, e.message); }
        }
      };
      await Promise.all(Array.from({ length: 6 }, worker));
      loaded = true;
    },
    /** Queues one call. A call for the same ticket and counter already waiting is not added twice. */
    announce(item) {
      if (voice === "off") return;
      if (queue.some((q) => q.ticket === item.ticket && q.counter === item.counter)) return;
      queue.push({ ticket: item.ticket, counter: item.counter, recall: !!item.recall, queuedAt: Date.now() });
      while (queue.length > QUEUE_MAX) queue.shift();
      pump();
    },
    /** After a user gesture (the "enable sound" button): let audio play. */
    async unlock() {
      const c = audioContext();
      if (c && c.state !== "running") {
        try { await c.resume(); } catch { /* stays blocked */ }
      }
      setBlocked(c ? c.state !== "running" : false);
      pump();
    },
  };
}
