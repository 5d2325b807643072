// Luot live connection: hello → snapshot → events, resume after a drop, commands with replies.
// Shared by every page. No framework; an ES module.
//
//   const live = connect({ role: "display", deviceToken, onChange, onStatus });
//   live.state   // { seq, day, counters: Map, waiting: Map, recent: [], services: Map, intakeOpen }
//   await live.send({ type: "call_next", counter: "quay-1" })   // resolves with the result or throws

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10_000;
/** A command without a reply after this long fails (the socket is then probably gone). */
const COMMAND_TIMEOUT_MS = 15_000;
/** Recent calls kept for the hall display. */
const RECENT_MAX = 12;

export class CommandError extends Error {
  constructor(error) {
    super(error.message_en || error.code);
    this.code = error.code;
    this.vi = error.message;
    this.en = error.message_en;
    this.field = error.field;
  }
  text(lang) { return lang === "en" ? this.en : this.vi; }
}

function wsUrl() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/ws`;
}

function emptyState() {
  return {
    seq: 0,
    site: null,
    day: null,
    counters: new Map(), // code → CounterView
    waiting: new Map(), // id → TicketView
    recent: [], // newest first: TicketView with counter
    noShows: [], // consoles: returnable no-shows, newest first, each with its counter
    services: new Map(), // code → ServiceStatsDto
    intakeOpen: true,
    ticket: null, // phone: its own ticket
    estimatesAsOf: 0, // the last event the latest `estimates` message took into account
  };
}

function applySnapshot(state, snap, seq) {
  const s = emptyState();
  s.seq = seq;
  s.site = snap.site;
  s.day = snap.day ?? null;
  for (const c of snap.counters) s.counters.set(c.code, c);
  for (const t of snap.waiting) s.waiting.set(t.id, t);
  s.recent = snap.recent_calls.slice(0, RECENT_MAX);
  s.noShows = snap.no_shows || [];
  for (const st of snap.services) s.services.set(st.service, st);
  s.intakeOpen = snap.intake_open;
  s.ticket = state.ticket;
  return s;
}

/** Applies one event to the client-side state. Returns a short description for UIs. */
function applyEvent(state, msg) {
  const e = msg.event;
  const t = msg.ticket;
  state.seq = msg.seq;
  for (const st of msg.stats || []) state.services.set(st.service, st);
  const counter = e.counter ? state.counters.get(e.counter) : null;
  const setCurrent = (code, ticket) => {
    const c = state.counters.get(code);
    if (c) c.current = ticket;
  };
  if (t) {
    if (t.state === "waiting") state.waiting.set(t.id, t);
    else state.waiting.delete(t.id);
    // A no-show leaves the list when it is put back, cancelled or expires (any other state).
    if (t.state !== "no_show") state.noShows = state.noShows.filter((x) => x.id !== t.id);
    // Recent calls show each ticket in its current state (protocol §5.1).
    state.recent = state.recent.map((r) => (r.id === t.id ? t : r));
  }
  // What the floor page reads of a counter (CounterView `idle_since_ms`, `no_show_streak`), kept
  // as the core keeps it (crates/luot-core/src/site/floor.rs).
  const idle = (code, since) => { const c = state.counters.get(code); if (c) c.idle_since_ms = since; };
  const streak = (code, f) => { const c = state.counters.get(code); if (c) c.no_show_streak = f(c.no_show_streak || 0); };
  switch (e.type) {
    case "counter_opened": idle(e.counter, msg.at_ms); streak(e.counter, () => 0); break;
    case "counter_closed": idle(e.counter, null); break;
    case "ticket_called": idle(e.counter, null); break;
    case "service_started": streak(e.counter, () => 0); break;
    case "service_completed": idle(e.counter, msg.at_ms); streak(e.counter, () => 0); break;
    case "ticket_no_show": idle(e.counter, msg.at_ms); streak(e.counter, (n) => n + 1); break;
    case "ticket_transferred": idle(e.from_counter, msg.at_ms); break;
    case "counter_paused": if (e.requeued != null) idle(e.counter, msg.at_ms); break;
  }
  switch (e.type) {
    case "ticket_called":
      setCurrent(e.counter, t);
      state.recent = [t, ...state.recent.filter((r) => r.id !== t.id)].slice(0, RECENT_MAX);
      break;
    case "ticket_recalled":
    case "service_started":
      setCurrent(e.counter, t);
      break;
    case "service_completed":
      setCurrent(e.counter, null);
      if (counter) {
        counter.served_today += 1;
        counter.service_s_today += e.service_s;
      }
      break;
    case "ticket_no_show":
      setCurrent(e.counter, null);
      if (t) state.noShows = [{ ...t, counter: e.counter }, ...state.noShows.filter((x) => x.id !== t.id)];
      break;
    case "ticket_transferred":
      setCurrent(e.from_counter, null);
      break;
    case "counter_opened":
      if (counter) Object.assign(counter, { status: "open", official: e.official, pause_reason: null });
      break;
    case "counter_paused":
      if (counter) Object.assign(counter, { status: "paused", pause_reason: e.reason });
      // Paused for an absent console: the ticket it had called is back in line (`ticket`).
      if (e.requeued != null) setCurrent(e.counter, null);
      break;
    case "counter_resumed":
      if (counter) Object.assign(counter, { status: "open", pause_reason: null });
      break;
    case "counter_closed":
      if (counter) Object.assign(counter, { status: "closed", official: null, current: null });
      break;
  }
  // `away` is left out once false (a number from home checked in): it must not stick.
  if (state.ticket && t && t.id === state.ticket.id) state.ticket = { ...state.ticket, away: false, ...t };
  return e;
}

/**
 * Opens and keeps a live connection.
 * options: role, site?, deviceToken?, ticketToken?,
 *   onChange(state, why, msg)  why: "snapshot" | event object | "ticket" | "intake" | "stats" | "estimates";
 *                         msg: for an event, the whole server message (seq, at_ms, ticket)
 *   onStatus(status)      "connecting" | "live" | "reconnecting" | "refused"
 *   onWelcome(welcome), onError(error)
 *   onConfig(msg)         the configuration changed: reload the setup (may return a promise)
 *   onPrinter(status)     a network printer's state after a job (kiosks)
 */
export function connect(options) {
  let state = emptyState();
  let ws = null;
  let attempt = 0;
  let closedByUs = false;
  let nextId = 1;
  const pending = new Map();
  let status = "connecting";

  const setStatus = (s) => {
    status = s;
    options.onStatus?.(s);
  };

  const failPending = (why) => {
    for (const [, p] of pending) {
      clearTimeout(p.timer);
      p.reject(new CommandError({ code: "disconnected", message: "Mất kết nối, vui lòng thử lại", message_en: why }));
    }
    pending.clear();
  };

  function open(resume) {
    setStatus(attempt === 0 ? "connecting" : "reconnecting");
    const sock = new WebSocket(wsUrl());
    ws = sock;
    let resumed = false;
    sock.onopen = () => {
      const hello = { type: "hello", role: options.role };
      if (options.site) hello.site = options.site;
      if (options.deviceToken) hello.device_token = options.deviceToken;
      if (options.ticketToken) hello.ticket_token = options.ticketToken;
      if (resume && state.seq > 0) {
        hello.resume_from = state.seq;
        resumed = true;
      }
      sock.send(JSON.stringify(hello).normalize("NFC"));
    };
    sock.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      switch (msg.type) {
        case "welcome":
          options.onWelcome?.(msg);
          // A resumed socket that missed nothing gets no snapshot and no event: the welcome is
          // all it hears. The replay (or snapshot), if any, follows on this socket in order.
          if (resumed && status !== "live") { attempt = 0; setStatus("live"); }
          break;
        case "snapshot":
          state = applySnapshot(state, msg.snapshot, msg.seq);
          attempt = 0;
          setStatus("live");
          options.onChange?.(state, "snapshot");
          break;
        case "event":
          if (msg.seq <= state.seq) break; // already applied (replay overlap)
          if (state.seq && msg.seq !== state.seq + 1) {
            // A gap: never show a state we cannot vouch for. Start over from a snapshot.
            state.seq = 0;
            sock.close(4000, "gap");
            break;
          }
          if (msg.event.type === "day_opened" || msg.event.type === "day_closed") {
            state.seq = 0; // a new day: take a fresh snapshot
            sock.close(4001, "new day");
            break;
          }
          if (status !== "live") { attempt = 0; setStatus("live"); }
          options.onChange?.(state, applyEvent(state, msg), msg);
          break;
        case "ticket":
          state.ticket = msg.ticket;
          options.onChange?.(state, "ticket");
          break;
        case "stats":
          // A session boundary passed (opening, lunch, closing, intake_close): the server's
          // own view of every service now.
          for (const st of msg.stats || []) state.services.set(st.service, st);
          options.onChange?.(state, "stats");
          break;
        case "estimates":
          // Fresh wait estimates (the server computes them off its broker, a moment after a
          // change): the stats of the services whose estimate changed.
          for (const st of msg.stats || []) state.services.set(st.service, st);
          state.estimatesAsOf = Math.max(state.estimatesAsOf, msg.as_of_seq || 0);
          options.onChange?.(state, "estimates");
          break;
        case "intake":
          state.intakeOpen = msg.open;
          options.onChange?.(state, "intake");
          break;
        case "printer":
          options.onPrinter?.(msg.printer);
          break;
        case "config":
          // The center was reconfigured: the page reloads its setup (names, services,
          // counters) and the state is taken afresh, as on a new day.
          Promise.resolve(options.onConfig?.(msg)).finally(() => {
            state.seq = 0;
            sock.close(4003, "new configuration");
          });
          break;
        case "reply": {
          const p = pending.get(msg.id);
          if (!p) break;
          pending.delete(msg.id);
          clearTimeout(p.timer);
          if (msg.ok) p.resolve(msg.result);
          else p.reject(new CommandError(msg.error));
          break;
        }
        case "error":
          options.onError?.(msg.error);
          if (["device_unknown", "device_revoked", "ticket_unknown", "unknown_ticket", "unknown_site", "session_ended"].includes(msg.error.code)) {
            closedByUs = true;
            setStatus("refused");
          }
          break;
      }
    };
    sock.onclose = () => {
      if (ws !== sock) return;
      failPending("connection lost");
      if (closedByUs) return;
      // A resumed socket that had replayed nothing yet is fine to resume again.
      if (status === "live") setStatus("reconnecting");
      const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
      attempt += 1;
      setTimeout(() => open(true), delay);
    };
  }

  open(false);

  return {
    get state() { return state; },
    get status() { return status; },
    /** Sends a command; resolves with its result, rejects with a CommandError. */
    send(command) {
      if (!ws || ws.readyState !== WebSocket.OPEN || status !== "live") {
        return Promise.reject(new CommandError({ code: "disconnected", message: "Đang mất kết nối với máy chủ", message_en: "Not connected to the server" }));
      }
      const id = String(nextId++);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new CommandError({ code: "timeout", message: "Máy chủ không trả lời", message_en: "The server did not answer" }));
        }, COMMAND_TIMEOUT_MS);
        pending.set(id, { resolve, reject, timer });
        // Text in NFC, as the server keeps it (crates/luot-proto/src/text.rs).
        ws.send(JSON.stringify({ type: "command", id, command }).normalize("NFC"));
      });
    },
    close() {
      closedByUs = true;
      ws?.close(1000, "bye");
    },
    /** For tests and the "reconnect" button: drop the socket as if the network failed. */
    drop() { ws?.close(4002, "dropped"); },
  };
}

/** Loads the site's public setup (names, services, counters). */
export async function loadSetup(site) {
  let code = site;
  if (!code) {
    const sites = await (await fetch("/api/v1/sites")).json();
    code = sites[0].code;
  }
  const res = await fetch(`/api/v1/sites/${encodeURIComponent(code)}/setup`);
  if (!res.ok) throw new Error(`setup: HTTP ${res.status}`);
  return res.json();
}

/** A device token from `?device=…`, remembered in localStorage so the URL can be bookmarked bare. */
export function deviceToken(kind) {
  const key = `luot.device.${kind}`;
  const fromUrl = new URLSearchParams(location.search).get("device");
  if (fromUrl) {
    localStorage.setItem(key, fromUrl);
    const u = new URL(location.href);
    u.searchParams.delete("device");
    history.replaceState(null, "", u);
    return fromUrl;
  }
  return localStorage.getItem(key);
}

// The wait in words lives in rules.js (checked against the server's vectors); pages took it from here.
export { NOT_ENOUGH_DATA, waitRange } from "/js/rules.js";
