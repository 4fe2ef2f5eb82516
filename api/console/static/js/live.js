// The live alert feed: loaded from GET /v1/alerts, kept current by the hit stream's `alert` and
// `sighting` events (the session cookie authenticates the EventSource; on reconnect the browser
// sends Last-Event-ID and the API replays what was missed). The stream starts from the newest
// hit of the list, so no alert opened between loading the list and opening the stream is
// missed (or left unsounded). Views subscribe with onChange().

import { api } from "./api.js";
import { beep } from "./sound.js";

const alerts = new Map();
// Alerts already sounded: not "alerts this page holds", as the periodic refresh can list a new
// alert before the stream's `alert` event for it comes (a replica's stream polls the shared store).
const sounded = new Set();
const listeners = new Set();
let source = null;
let lastEventId = null;
let refreshTimer = null;
let reopenTimer = null;
let connection = "offline";
// Counts start() and stop(): an answer that comes after a sign-out (or a sign-in since) belongs
// to a session that is gone and writes nothing, or the next person on the page sees its alerts.
let generation = 0;

// The session the page is in now, for a caller that writes live state after an await.
export function currentSession() {
  return generation;
}

export function allAlerts() {
  return [...alerts.values()].sort((a, b) =>
    a.last_seen_at === b.last_seen_at ? (a.alert_id < b.alert_id ? 1 : -1)
      : a.last_seen_at < b.last_seen_at ? 1 : -1);
}

export function connectionState() {
  return connection;
}

export function onChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function changed(kind, alert) {
  for (const listener of listeners) listener(kind, alert);
}

// Snapshots of an alert can arrive out of order (a refresh answered just before the operator's
// acknowledgement or a sighting reached the page): an alert only moves on, never back to `new`
// or to fewer sightings. Answers the alert as the page now holds it.
function put(alert) {
  const held = alerts.get(alert.alert_id);
  if (held && behind(alert, held)) return held;
  alerts.set(alert.alert_id, alert);
  return alert;
}

function behind(incoming, held) {
  const done = (a) => (a.status === "new" ? 0 : 1);
  if (done(incoming) !== done(held)) return done(incoming) < done(held);
  return incoming.sightings < held.sightings;
}

// An alert this page changed itself (acknowledged) in session `asOf` (currentSession() when the
// request was sent): the list redraws, the open detail stays.
export function remember(alert, asOf = generation) {
  if (asOf !== generation) return;
  put(alert);
  changed("refresh", null);
}

async function refresh(mine) {
  const page = await api("GET", "/v1/alerts?limit=200");
  if (mine !== generation) return null;
  for (const alert of page.items) put(alert);
  changed("refresh", null);
  return page.items;
}

// The hit that last moved an alert of the list: every hit stored after the list was read comes
// after it, so a stream resumed from it misses nothing opened between the list and the stream.
function newestHit(items) {
  let newest = null;
  for (const alert of items) {
    if (!newest || Date.parse(alert.last_seen_at) > Date.parse(newest.last_seen_at)) newest = alert;
  }
  return newest ? newest.last_hit_id : null;
}

const STALE_MS = 10 * 60 * 1000;

function stale(alert) {
  return Date.now() - Date.parse(alert.last_seen_at) > STALE_MS;
}

function setConnection(state) {
  connection = state;
  changed("connection", null);
}

function open() {
  // A new EventSource forgets the last id it saw: pass it on, so nothing is missed.
  const url = lastEventId ? `/v1/hits/stream?last_event_id=${encodeURIComponent(lastEventId)}` : "/v1/hits/stream";
  source = new EventSource(url);
  source.addEventListener("open", () => setConnection("live"));
  source.addEventListener("error", () => {
    if (!source || source.readyState !== EventSource.CLOSED) {
      setConnection("reconnecting"); // the browser retries by itself, with Last-Event-ID
      return;
    }
    // Refused (signed out, session expired) or the API was not ready: find out which. The
    // answer may come after a sign-out and the next sign-in: it is then the old session's, and
    // neither opens a stream beside the new one's nor signs the new one out.
    setConnection("offline");
    const mine = generation;
    const reopen = () => {
      if (mine !== generation) return;
      reopenTimer = setTimeout(() => { if (mine === generation && source) open(); }, 3000);
    };
    api("GET", "/console/session").then(reopen, (error) => {
      if (mine !== generation) return;
      if (error.status === 401) window.dispatchEvent(new Event("anpr:signed-out"));
      else reopen();
    });
  });
  source.addEventListener("hit", (event) => {
    lastEventId = event.lastEventId || lastEventId;
  });
  source.addEventListener("alert", (event) => {
    const alert = JSON.parse(event.data);
    const isNew = !sounded.has(alert.alert_id);
    sounded.add(alert.alert_id);
    put(alert);
    changed("alert", alert);
    // A past read (past-read matching) is shown, not sounded: the vehicle was there then. So is
    // an alert last seen long ago (a resumed stream gets the hits a replica replays into an
    // empty store after its last one: history, not news).
    if (isNew && !alert.test && !alert.historical && alert.status === "new" && alert.priority <= 2
        && !stale(alert)) {
      beep(alert.priority === 1 ? 2 : 1);
    }
  });
  source.addEventListener("sighting", (event) => {
    const { alert } = JSON.parse(event.data);
    put(alert);
    changed("sighting", alert);
  });
}

export async function start() {
  generation += 1;
  const mine = generation;
  const listed = await refresh(mine);
  if (listed === null) return; // signed out while the list loaded
  // What the list shows on load is not news (the resume may replay its latest hits): only
  // alerts opened from here on are sounded.
  for (const alert of listed) sounded.add(alert.alert_id);
  lastEventId = newestHit(listed);
  open();
  // Acknowledgements by other operators reach this page with the next refresh.
  refreshTimer = setInterval(() => refresh(mine).catch(() => {}), 15000);
}

export function stop() {
  generation += 1;
  if (source) source.close();
  source = null;
  lastEventId = null;
  if (reopenTimer) clearTimeout(reopenTimer);
  reopenTimer = null;
  if (refreshTimer) clearInterval(refreshTimer);
  refreshTimer = null;
  alerts.clear();
  sounded.clear();
  setConnection("offline");
}
