// A reading's frame with its digit boxes; draw boxes around the digits and type the value to
// correct a reading the device got wrong or found nothing in. The boxes become its examples.

import { api, canvasPoint, say } from "./util.js";

const SHOWN_WIDTH = 640;
let current = null; // { reading, frame, img, scale, boxes }

export function initFrame() {
  const canvas = document.getElementById("frame-canvas");
  let start = null;
  const at = (e) => canvasPoint(canvas, e);
  canvas.addEventListener("mousedown", (e) => { start = at(e); });
  canvas.addEventListener("mouseup", (e) => {
    if (!start || !current) return;
    const end = at(e);
    const [x0, y0] = [Math.min(start[0], end[0]), Math.min(start[1], end[1])];
    const [w, h] = [Math.abs(end[0] - start[0]), Math.abs(end[1] - start[1])];
    start = null;
    if (w < 4 || h < 4) return;
    current.boxes.push(toFrame([x0, y0, w, h]));
    draw();
  });
  document.getElementById("frame-clear").addEventListener("click", () => {
    if (current) { current.boxes = []; draw(); }
  });
  document.getElementById("frame-close").addEventListener("click", () => document.getElementById("frame-dialog").close());
  document.getElementById("frame-form").addEventListener("submit", save);
}

export async function openFrame(reading) {
  const dialog = document.getElementById("frame-dialog");
  const message = document.getElementById("frame-message");
  say(message, "");
  document.getElementById("frame-value").value = reading.corrected_value ?? reading.value ?? "";
  document.getElementById("frame-title").textContent = `Reading #${reading.seq}: ${reading.status.replace("_", " ")}`;
  dialog.showModal();
  try {
    const frame = await api(`/api/v1/readings/${reading.seq}/frame`);
    const img = new Image();
    await new Promise((ok, fail) => { img.onload = ok; img.onerror = fail; img.src = frame.image; });
    current = { reading, frame, img, scale: Math.min(1, SHOWN_WIDTH / img.width), boxes: [] };
    draw();
  } catch (err) {
    current = null;
    say(message, err.message, "error");
  }
}

// Canvas pixels <-> frame pixels: the stored image is the region, `scale` frame px per px.
function toFrame([x, y, w, h]) {
  const { frame, scale } = current;
  const k = frame.scale / scale;
  return [Math.round(frame.origin[0] + x * k), Math.round(frame.origin[1] + y * k), Math.round(w * k), Math.round(h * k)];
}

function toCanvas([x, y, w, h]) {
  const { frame, scale } = current;
  const k = scale / frame.scale;
  return [(x - frame.origin[0]) * k, (y - frame.origin[1]) * k, w * k, h * k];
}

function draw() {
  const canvas = document.getElementById("frame-canvas");
  const { img, scale, reading, boxes } = current;
  canvas.width = Math.round(img.width * scale);
  canvas.height = Math.round(img.height * scale);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  ctx.lineWidth = 2;
  ctx.strokeStyle = "#c25e00"; // what the device found
  for (const digit of reading.digits) ctx.strokeRect(...toCanvas(digit.box));
  ctx.strokeStyle = "#1f5fbf"; // what the person drew
  for (const box of boxes) ctx.strokeRect(...toCanvas(box));
  document.getElementById("frame-count").textContent =
    boxes.length ? `${boxes.length} box${boxes.length > 1 ? "es" : ""} drawn` : "drag around each digit to box it";
}

async function save(e) {
  e.preventDefault();
  const message = document.getElementById("frame-message");
  if (!current) return;
  const value = document.getElementById("frame-value").value.trim();
  if (!/^[0-9]{1,32}$/.test(value)) return say(message, "type the true value, digits only", "error");
  const body = { value };
  if (current.boxes.length) body.boxes = [...current.boxes].sort((a, b) => a[0] - b[0]);
  try {
    const result = await api(`/api/v1/readings/${current.reading.seq}/correction`, { method: "PUT", json: body });
    const made = result.labels_added.length;
    say(message, `saved; ${made} training example${made === 1 ? "" : "s"} made${result.labels_note ? ` (${result.labels_note})` : ""}`, "ok");
    if (made) document.dispatchEvent(new CustomEvent("labels-changed"));
    document.dispatchEvent(new CustomEvent("reading-corrected", { detail: { seq: current.reading.seq, value } }));
  } catch (err) {
    say(message, err.message, "error");
  }
}
