// Live view (the newest reading, polled every 2 s) and the history table with corrections.

import { api, el, say, percent, localTime, ago, statusText } from "./util.js";
import { openFrame } from "./frame.js";

const POLL_MS = 2000;
const PAGE = 25;

let offset = 0;
let pollTimer = null;

export function initHistory() {
  document.addEventListener("reading-corrected", (e) => {
    const input = document.querySelector(`tr[data-seq="${e.detail.seq}"] .correction input`);
    if (input) input.value = e.detail.value;
  });
  document.getElementById("history-filters").addEventListener("submit", (e) => {
    e.preventDefault();
    offset = 0;
    loadHistory();
  });
  document.getElementById("history-prev").addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE);
    loadHistory();
  });
  document.getElementById("history-next").addEventListener("click", () => {
    offset += PAGE;
    loadHistory();
  });
}

// ---- live ------------------------------------------------------------------------------
export function startLive() {
  stopLive();
  pollLive();
  pollTimer = setInterval(() => { if (!document.hidden) pollLive(); }, POLL_MS);
}

export function stopLive() {
  clearInterval(pollTimer);
  pollTimer = null;
}

async function pollLive() {
  const box = document.getElementById("live-reading");
  try {
    const [page, health] = await Promise.all([
      api("/api/v1/readings?limit=1"),
      fetch("/api/v1/health").then((r) => r.json()),
    ]);
    const reading = page.items[0];
    box.replaceChildren(reading ? liveCard(reading) : el("p", { class: "hint" }, "No reading yet."));
    document.getElementById("live-health").replaceChildren(healthList(health));
  } catch (err) {
    box.replaceChildren(el("p", { class: "message error" }, err.message));
  }
}

function liveCard(r) {
  return el("div", { class: `live ${r.status}` },
    el("div", { class: "live-value", "data-testid": "live-value" }, statusText(r)),
    el("dl", { class: "facts" },
      el("dt", {}, "region"), el("dd", {}, r.region),
      el("dt", {}, "when"), el("dd", { title: localTime(r.ts) }, ago(r.ts)),
      el("dt", {}, "confidence"), el("dd", {}, percent(r.confidence)),
      el("dt", {}, "digits"), el("dd", {}, r.digits.map((d) => `${d.digit} (${percent(d.confidence, 0)})`).join("  ") || "–"),
      el("dt", {}, "seq"), el("dd", {}, r.seq),
      el("dt", {}, "latency"), el("dd", {}, `${r.latency_ms.toFixed(1)} ms`)));
}

function healthList(health) {
  const camera = health.camera || {};
  const broker = health.broker || {};
  return el("dl", { class: "facts" },
    el("dt", {}, "status"), el("dd", { class: health.status }, health.status,
      health.reasons && health.reasons.length ? `: ${health.reasons.join("; ")}` : ""),
    el("dt", {}, "camera"), el("dd", {}, camera.state || "–", camera.frames !== undefined ? `, ${camera.frames} frames` : ""),
    el("dt", {}, "broker"), el("dd", {}, broker.state || "–"),
    el("dt", {}, "outbox"), el("dd", {}, health.outbox ? String(health.outbox.depth ?? "–") : "–"));
}

// ---- history ---------------------------------------------------------------------------
export async function loadHistory() {
  const form = new FormData(document.getElementById("history-filters"));
  const query = new URLSearchParams({ limit: PAGE, offset });
  for (const key of ["region", "status", "value"]) {
    if (form.get(key)) query.set(key, form.get(key));
  }
  const message = document.getElementById("history-message");
  try {
    const page = await api(`/api/v1/readings?${query}`);
    document.getElementById("history-rows").replaceChildren(...page.items.map(row));
    if (!page.items.length) say(message, offset ? "No more readings." : "No readings match.");
    else say(message, `Readings ${offset + 1}–${offset + page.items.length}`);
    document.getElementById("history-prev").disabled = offset === 0;
    document.getElementById("history-next").disabled = page.next_offset === null;
  } catch (err) {
    say(message, err.message, "error");
  }
}

function row(r) {
  // data-label names each cell where a narrow screen stacks a row into a card (style.css).
  const tr = el("tr", { "data-seq": r.seq },
    el("td", { "data-label": "#" }, r.seq),
    el("td", { "data-label": "Time", title: r.ts }, localTime(r.ts)),
    el("td", { "data-label": "Region" }, r.region),
    el("td", { "data-label": "Read", class: "value" }, r.value ?? el("span", { class: "muted" }, r.digits.map((d) => d.digit).join("") || "–")),
    el("td", { "data-label": "Status" }, el("span", { class: `badge ${r.status}` }, r.status.replace("_", " "))),
    el("td", { "data-label": "Confidence" }, percent(r.confidence)),
    el("td", { "data-label": "Correction", class: "correction" }, correctionCell(r)),
    el("td", { class: "actions" },
      el("button", { type: "button", class: "link", title: "see the frame; box the digits to correct it",
        onclick: () => openFrame(r) }, "Frame"),
      el("button", { type: "button", class: "link danger", title: "delete this reading",
        onclick: () => remove(r.seq, tr) }, "Delete")));
  return tr;
}

// The correction is edited in place: type the true value, press Enter or Save.
function correctionCell(r) {
  const input = el("input", { type: "text", inputmode: "numeric", pattern: "[0-9]{1,32}", size: 6,
    value: r.corrected_value ?? "", placeholder: "true value", "aria-label": `true value of reading ${r.seq}` });
  const note = el("span", { class: "note" });
  const form = el("form", { class: "inline", onsubmit: async (e) => {
    e.preventDefault();
    await correct(r.seq, input.value.trim(), note);
  } }, input, el("button", { type: "submit", class: "small" }, "Save"), note);
  return form;
}

async function correct(seq, value, note) {
  if (value && !/^[0-9]{1,32}$/.test(value)) return say(note, "digits only", "error");
  try {
    const result = await api(`/api/v1/readings/${seq}/correction`, { method: "PUT", json: { value: value || null } });
    const made = result.labels_added.length;
    say(note, value ? (made ? `saved; ${made} training example${made > 1 ? "s" : ""} made` : `saved${result.labels_note ? " (no examples: see tooltip)" : ""}`) : "cleared", "ok");
    note.title = result.labels_note || "";
    if (made) document.dispatchEvent(new CustomEvent("labels-changed"));
  } catch (err) {
    say(note, err.message, "error");
  }
}

async function remove(seq, tr) {
  if (!confirm(`Delete reading #${seq}?`)) return;
  try {
    await api(`/api/v1/readings/${seq}`, { method: "DELETE" });
    tr.remove();
  } catch (err) {
    say(document.getElementById("history-message"), err.message, "error");
  }
}
