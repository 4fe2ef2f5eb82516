// The console's entry point: sign-in, the navigation each role may use, and a hash router.

import { renderAudit, renderHotlists, renderReport } from "./admin.js";
import { renderAlerts } from "./alerts.js";
import { api, ApiError, setCsrf } from "./api.js";
import { forgetCameras, renderCameras } from "./cameras.js";
import { clear, h } from "./dom.js";
import * as live from "./live.js";
import { renderSearch } from "./search.js";
import { setSound } from "./sound.js";

const OPERATOR_ROLES = ["operator", "supervisor", "admin"];
const SUPERVISOR_ROLES = ["supervisor", "admin"];
const AUDIT_ROLES = ["auditor", "admin"];

// [route, label, who may see it, render(root, arg, session)]
const VIEWS = [
  ["alerts", "Live alerts", OPERATOR_ROLES, renderAlerts],
  ["search", "Search hits", OPERATOR_ROLES, renderSearch],
  ["cameras", "Cameras", OPERATOR_ROLES, renderCameras],
  ["hotlists", "Hotlists", SUPERVISOR_ROLES, renderHotlists],
  ["report", "Report", SUPERVISOR_ROLES, renderReport],
  ["audit", "Audit log", AUDIT_ROLES, renderAudit],
];

const $ = (id) => document.getElementById(id);
let session = null;
let cleanup = null;
// Counts calls of route(): a view that finishes loading after a newer one was asked for is
// neither shown nor left listening.
let routed = 0;
const RETRY_MS = 5000;
let retryTimer = null;

function viewsFor(role) {
  return VIEWS.filter(([, , roles]) => roles.includes(role));
}

function leaveView() {
  routed += 1;
  if (cleanup) cleanup();
  cleanup = null;
}

function leave() {
  session = null;
  leaveView();
  live.stop();
  forgetCameras();
  if (retryTimer) clearTimeout(retryTimer);
  retryTimer = null;
  $("bar").hidden = true;
  $("main").hidden = true;
  clear($("main"));
  $("unavailable").hidden = true;
  document.title = "ANPR control room"; // not the count of alerts the session had waiting
}

function showSignIn(message) {
  leave();
  $("signin").hidden = false;
  $("signin-error").textContent = message || "";
  $("token").focus();
}

function failure(error) {
  if (!(error instanceof ApiError)) return "no answer from the server";
  return error.body.detail ? `HTTP ${error.status}: ${error.body.detail}` : `HTTP ${error.status}`;
}

// Out of the console, a message in its place.
function showNotice(message) {
  leave();
  $("signin").hidden = true;
  $("unavailable").hidden = false;
  $("unavailable-message").textContent = message;
}

// The API is starting (503 until it has read the registry) or away: the session cookie may be
// fine, so the operator is not sent to sign in again; the console tries again by itself.
function showUnavailable(error) {
  showNotice(
    `The console service is starting or unavailable (${failure(error)}). Retrying every ${RETRY_MS / 1000} s…`);
  retryTimer = setTimeout(resume, RETRY_MS);
}

// Only a 401 says there is no valid session; anything else, the session is kept.
function cannotEnter(error) {
  if (error instanceof ApiError && error.status === 401) showSignIn("");
  else showUnavailable(error);
}

// Into the console with the session cookie.
async function resume() {
  retryTimer = null;
  try {
    await enter(await api("GET", "/console/session"));
  } catch (error) {
    cannotEnter(error);
  }
}

// Only the API's 401 (or 422, a token too long to be one) says the token is not valid.
function signInError(error) {
  if (!(error instanceof ApiError) || error.status >= 500) {
    return `Sign-in failed: the service is unavailable (${failure(error)}); try again in a moment.`;
  }
  if (error.status === 401 || error.status === 422) return "Sign-in failed: the token is not valid.";
  if (error.status === 403) return "This token may not use the console.";
  if (error.status === 429) return "Too many failed sign-ins from this address: wait a minute, then try again.";
  return `Sign-in failed (${failure(error)}).`;
}

async function enter(info) {
  session = info;
  setCsrf(info.csrf_token);
  $("signin").hidden = true;
  $("unavailable").hidden = true;
  $("bar").hidden = false;
  $("main").hidden = false;
  $("who").textContent = `${info.name} · ${info.role}`;
  const views = viewsFor(info.role);
  clear($("nav"), views.map(([route, label]) =>
    h("a", { href: `#/${route}`, dataset: { route } }, label)));
  if (views.some(([route]) => route === "alerts")) {
    await live.start();
  }
  route();
}

// The count of alerts waiting, in the tab title on every view: an operator on the camera board
// or a search sees a new alert come in another tab's title.
function drawTitle() {
  const waiting = session ? live.allAlerts().filter((a) => a.status === "new" && !a.test).length : 0;
  document.title = waiting ? `(${waiting}) ANPR control room` : "ANPR control room";
}

function drawConnection() {
  const state = live.connectionState();
  $("conn").textContent = state;
  $("conn").className = `conn ${state}`;
}

async function route() {
  if (!session) return;
  const [, name = "", arg = ""] = location.hash.split("/");
  const views = viewsFor(session.role);
  const view = views.find(([route]) => route === name) || views[0];
  leaveView();
  const turn = routed;
  for (const link of $("nav").children) link.classList.toggle("active", link.dataset.route === (view && view[0]));
  const main = $("main");
  if (!view) {
    clear(main, h("p", {}, "There is nothing in the console for your role."));
    return;
  }
  // Drawn apart, shown when loaded: until then the page shows the view it had.
  const root = h("div", { class: "view" });
  try {
    const off = await view[3](root, decodeURIComponent(arg) || null, session);
    if (turn !== routed) {
      if (typeof off === "function") off();
      return;
    }
    cleanup = typeof off === "function" ? off : null;
    clear(main, root);
  } catch (error) {
    if (turn !== routed) return;
    if (!(error instanceof ApiError && error.status === 401)) {
      clear(main, h("p", { class: "error" }, `Could not load this view: ${error.message}`));
    }
  }
}

async function signIn(event) {
  event.preventDefault();
  const token = $("token").value.trim();
  $("signin-error").textContent = "";
  let info;
  try {
    info = await api("POST", "/console/session", { token });
  } catch (error) {
    $("signin-error").textContent = signInError(error);
    return;
  }
  $("token").value = "";
  try {
    await enter(info);
  } catch (error) {
    cannotEnter(error); // signed in (the cookie is set), but the console could not load
  }
}

// DELETE /console/session. A 403 says the page's CSRF token is not the cookie's session's
// (another tab signed in since, or the page was loaded while the API was away): the current one
// is asked for, and the sign-out sent again.
async function endSession() {
  try {
    await api("DELETE", "/console/session");
    return;
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 403)) throw error;
  }
  try {
    setCsrf((await api("GET", "/console/session")).csrf_token);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return; // no session left to end
    throw error;
  }
  await api("DELETE", "/console/session");
}

// Until the server has ended the session a reload walks back into it (on a shared PC, as the
// next person): the console is left at once, and the sign-out tried until the server takes it.
let signingOut = false;

async function signOut() {
  if (signingOut) return;
  signingOut = true;
  showNotice("Signing out…");
  try {
    await endSession();
  } catch (error) {
    showNotice(`Sign-out failed (${failure(error)}): this browser is still signed in. ` +
      `Trying again every ${RETRY_MS / 1000} s…`);
    retryTimer = setTimeout(signOut, RETRY_MS);
    return;
  } finally {
    signingOut = false;
  }
  setCsrf(null);
  location.hash = "";
  showSignIn("Signed out.");
}

async function boot() {
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", signOut);
  $("unavailable-signout").addEventListener("click", signOut);
  $("sound").addEventListener("change", (event) => setSound(event.target.checked));
  window.addEventListener("hashchange", route);
  window.addEventListener("anpr:signed-out", () => {
    if (session) showSignIn("Your session has ended; please sign in again.");
  });
  live.onChange((kind) => {
    if (kind === "connection") drawConnection();
    else drawTitle();
  });
  await resume();
}

boot();
