// The one door to FlowForge's public /api/v1: it holds the key, adds it to every request,
// and turns HTTP and network failures into states the views render.
//
// The key reaches the page once, in the URL fragment (#key=…), which browsers never send to
// a server. It moves to sessionStorage (this tab only) and is stripped from the address bar
// at once, so it is in no history entry, bookmark, referrer or server log.

const STORAGE = "flowforge.key";

/** Moves `key` from the fragment to sessionStorage; returns the fragment without it. */
export function adoptKeyFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const key = params.get("key");
  if (key !== null) {
    if (key) sessionStorage.setItem(STORAGE, key);
    params.delete("key");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? "#" + rest : ""));
  }
  return params;
}

export function hasKey() {
  return Boolean(sessionStorage.getItem(STORAGE));
}

/** A failure the views know how to show. `state` is one of: no-key, bad-key, limited,
 * not-found, gone (409), busy (503: try again), down (network or other 5xx), bad (other 4xx). */
export class ApiError extends Error {
  constructor(state, status, detail, retryAfter) {
    super(detail || state);
    this.state = state;
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

async function problemDetail(response) {
  try {
    const body = await response.json();
    return body.detail || body.title || "";
  } catch {
    return "";
  }
}

async function request(method, path, { etag, body, headers = {}, signal } = {}) {
  const key = sessionStorage.getItem(STORAGE);
  if (!key) throw new ApiError("no-key", 0, "no API key");
  const h = { Authorization: "Bearer " + key, ...headers };
  if (etag) h["If-None-Match"] = etag;
  if (body !== undefined) h["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
      signal,
    });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError("down", 0, "the server did not answer");
  }
  if (response.status === 304) return { status: 304, etag, body: null };
  if (response.ok) {
    const text = await response.text();
    return { status: response.status, etag: response.headers.get("ETag"), body: text ? JSON.parse(text) : null };
  }
  const detail = await problemDetail(response);
  const states = { 401: "bad-key", 403: "bad", 404: "not-found", 409: "gone", 429: "limited", 503: "busy" };
  const state = states[response.status] || (response.status >= 500 ? "down" : "bad");
  const retry = Number(response.headers.get("Retry-After")) || 0;
  throw new ApiError(state, response.status, detail, retry);
}

export const api = {
  get: (path, options) => request("GET", path, options),
  post: (path, body, options = {}) => request("POST", path, { ...options, body }),
};

/** What a person should read for an ApiError, with the next step. */
export function explain(error) {
  switch (error.state) {
    case "no-key":
    case "bad-key":
      return "The API key is missing or wrong — run `flowforge dashboard` again and open the link it prints.";
    case "limited":
      return `Too many failed requests from this browser; retrying in ${error.retryAfter || 1} s.`;
    case "down":
      return "The server stopped or is not reachable — retrying. Start it with `flowforge dashboard`.";
    case "not-found":
      return "There is no such run in this store. It may have been pruned; see the runs list.";
    case "gone":
      return error.message || "The run has already ended.";
    case "busy":
      return (error.message || "The server is busy") + " — try again in a moment.";
    default:
      return error.message || `The request failed (HTTP ${error.status}).`;
  }
}
