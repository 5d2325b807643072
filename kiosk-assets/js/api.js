// REST calls of the web clients, with one error type, and the login form of the counter console
// and the manager pages.
//
//   const data = await request("/api/v1/admin/users");                       // GET, JSON back
//   await request(path, { method: "POST", body: { score: 5 } });              // JSON in (NFC)
//   await request(path, { method: "PUT", raw: file, type: "audio/ogg" });     // bytes in
//   catch (e) { if (e instanceof ApiError) show(e.text(lang)); }              // the server's words
//
// Every refusal of the API carries { code, message (vi), message_en } (docs/protocol.md); an
// ApiError keeps them, so a page shows the server's own sentence in the page's language. When the
// server cannot be reached at all, the error's code is "network" and its status 0.
import { $ } from "/js/dom.js";

/** Said when the server cannot be reached (no answer at all). */
export const NETWORK = { vi: "Không kết nối được máy chủ", en: "Cannot reach the server" };

export class ApiError extends Error {
  /** `status`: the HTTP status, 0 when there was no answer; `body`: the JSON the server sent. */
  constructor(status, body) {
    super(body?.message_en || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code || `http_${status}`;
    this.vi = body?.message;
    this.en = body?.message_en;
    this.field = body?.field;
    this.body = body || {};
  }

  /** The server's message in `lang` ("vi" or "en"); `fallback` (else "HTTP 500") when it sent none. */
  text(lang, fallback) {
    return (lang === "en" ? this.en : this.vi) || fallback || this.message;
  }
}

/**
 * fetch() of a JSON API: resolves with the answer's JSON (null when it has none), throws an
 * ApiError for any status but 2xx and when the server cannot be reached. `body` is sent as JSON
 * in NFC (Vietnamese typed on some keyboards comes decomposed); `raw` is sent as it is, typed
 * `type`. `headers` are added (e.g. a device's authorization).
 */
export async function request(path, { method = "GET", body, raw, type, headers = {} } = {}) {
  const h = { accept: "application/json", ...headers };
  let payload;
  if (raw !== undefined) {
    payload = raw;
    if (type) h["content-type"] = type;
  } else if (body !== undefined) {
    payload = JSON.stringify(body).normalize("NFC");
    h["content-type"] = "application/json";
  }
  let res;
  try {
    res = await fetch(path, { method, headers: h, body: payload });
  } catch {
    throw new ApiError(0, { code: "network", message: NETWORK.vi, message_en: NETWORK.en });
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/**
 * The login form both the counter console and the manager pages show: #login-form with
 * #login-name, #login-password, #login-error and #login-submit. On submit it POSTs
 * /api/v1/login (the server sets the session cookie) and hands the account it answers with
 * (as /api/v1/me gives it) to `onLogin`. The page's i18n has the texts login.empty, login.busy,
 * login.submit and login.network.
 *   const login = loginForm({ i18n, onLogin: (me) => … });
 *   login.reset("Phiên làm việc đã hết…")   // clears the form's message, or shows one; focuses the name
 */
export function loginForm({ i18n, onLogin }) {
  const t = (k) => i18n.t(k);
  const err = () => $("login-error");
  const say = (text) => {
    err().hidden = !text;
    err().textContent = text || "";
  };

  async function submit(ev) {
    ev.preventDefault();
    const login = $("login-name").value.trim();
    const password = $("login-password").value;
    if (!login || !password) {
      say(t("login.empty"));
      return;
    }
    const btn = $("login-submit");
    btn.disabled = true;
    btn.textContent = t("login.busy");
    try {
      let me;
      try {
        me = await request("/api/v1/login", { method: "POST", body: { login, password } });
      } catch (e) {
        if (e.status === 0) throw e;
        say(e.text(i18n.lang, `HTTP ${e.status}`));
        $("login-password").select();
        return;
      }
      $("login-password").value = "";
      say(null);
      await onLogin(me || {});
    } catch {
      say(t("login.network"));
    } finally {
      btn.disabled = false;
      btn.textContent = t("login.submit");
    }
  }

  $("login-form").addEventListener("submit", submit);
  return {
    reset(message) {
      say(message);
      setTimeout(() => $("login-name").focus(), 0);
    },
  };
}
