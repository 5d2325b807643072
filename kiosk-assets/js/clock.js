// The server's clock as this page sees it: every page shows and counts times by the server's
// clock (a kiosk's or a phone's own may be minutes off). The live socket's welcome carries the
// server's time; `setServerTime(w.server_time_ms)` there, `serverNow()` wherever "now" is meant.

let offset = 0; // server clock − this clock, in ms

/** Takes the server's time (ms since the epoch) as of this moment. */
export function setServerTime(serverMs) {
  offset = serverMs - Date.now();
}

/** Now by the server's clock, in ms since the epoch. */
export const serverNow = () => Date.now() + offset;
