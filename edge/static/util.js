// Shared helpers: API calls (with the token), DOM building, messages, formatting.

const TOKEN_KEY = "digitcam.token";

export const state = { info: null };

export function getToken() {
  return localStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(token) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// fetch() that sends the token, parses JSON and turns error bodies into ApiError messages.
export async function api(path, { method = "GET", body = null, json = undefined } = {}) {
  const headers = {};
  const token = getToken();
  if (token) headers["Authorization"] = `Bearer ${token}`;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body });
  } catch (err) {
    throw new ApiError(0, "the device did not answer (is digitcam still running?)");
  }
  if (response.status === 401) document.dispatchEvent(new CustomEvent("need-token"));
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, describeError(response.status, data));
  return data;
}

function describeError(status, data) {
  const detail = data && data.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail) && detail.length) {
    return detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
  }
  return `request failed (HTTP ${status})`;
}

// el("div", {class: "card"}, "text", child) -> element; attributes starting with "on" bind events.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    // Through the CSSOM: the page's Content-Security-Policy refuses style attributes.
    else if (key === "style") node.style.cssText = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function svgEl(tag, attrs = {}, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

// Where a pointer event falls on a canvas, in the canvas's own pixels (it may be shown
// scaled), kept on the canvas.
export function canvasPoint(canvas, e) {
  const rect = canvas.getBoundingClientRect();
  const x = (e.clientX - rect.left) * canvas.width / rect.width;
  const y = (e.clientY - rect.top) * canvas.height / rect.height;
  return [Math.min(Math.max(x, 0), canvas.width), Math.min(Math.max(y, 0), canvas.height)];
}

// A short message under a control: kind is "ok", "error" or "" (neutral).
export function say(target, text, kind = "") {
  target.textContent = text;
  target.className = `message ${kind}`.trim();
}

export function percent(value, digits = 1) {
  return value === null || value === undefined ? "–" : `${(value * 100).toFixed(digits)}%`;
}

export function localTime(ts) {
  if (!ts) return "";
  const date = new Date(ts);
  return date.toLocaleString([], { dateStyle: "short", timeStyle: "medium" });
}

export function ago(ts) {
  const seconds = Math.max(0, (Date.now() - new Date(ts).getTime()) / 1000);
  if (seconds < 60) return `${Math.round(seconds)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

export function statusText(reading) {
  if (reading.status === "ok") return reading.value;
  if (reading.status === "no_digit") return "no digit";
  // A meter's reading that breaks its rules: what was read, never shown as the value.
  if (reading.status === "implausible") return `implausible (read ${reading.raw_value ?? "?"})`;
  return "unsure";
}

// The top-3 alternatives of a digit as labelled bars.
export function topBars(top3) {
  return el("ol", { class: "top3" }, (top3 || []).map((alt) =>
    el("li", {},
      el("span", { class: "alt-digit" }, alt.digit),
      el("span", { class: "bar" }, el("span", { style: `width:${(alt.confidence * 100).toFixed(1)}%` })),
      el("span", { class: "alt-conf" }, percent(alt.confidence)),
    )));
}

// One digit's card: the 28x28 the model saw, its answer and the alternatives.
export function digitCard(digit) {
  return el("figure", { class: "digit-card" },
    digit.input ? el("img", { class: "mnist", src: digit.input, alt: `the 28x28 input read as ${digit.digit}` }) : null,
    el("figcaption", {}, el("strong", {}, digit.digit), " ", percent(digit.confidence),
      digit.position !== undefined && digit.position !== null ? ` (wheel at ${digit.position.toFixed(1)})` : ""),
    topBars(digit.top3));
}
