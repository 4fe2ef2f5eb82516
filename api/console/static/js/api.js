// Calls to the API with the session cookie; writes carry the session's CSRF token.

let csrfToken = null;
// Counts setCsrf() (a sign-in, a sign-out): a request of an ended session answered 401 up to
// TIMEOUT_MS later, when the next person may have signed in, does not sign them out.
let session = 0;

export function setCsrf(token) {
  csrfToken = token;
  session += 1;
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

// A call (not the hit stream, which is an EventSource) that has not answered by then fails as
// "no answer": a request a proxy or a hung API holds must not leave the page waiting for good.
export const TIMEOUT_MS = 30000;

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  const asOf = session;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  let response;
  let text;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      signal: controller.signal,
    });
    text = await response.text();
  } catch (error) {
    if (controller.signal.aborted) throw new Error(`no answer from the server in ${TIMEOUT_MS / 1000} s`);
    throw error;
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (response.status === 401 && path !== "/console/session" && asOf === session) {
    window.dispatchEvent(new Event("anpr:signed-out"));
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export function query(path, params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") search.set(key, value);
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}
