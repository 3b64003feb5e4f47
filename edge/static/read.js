// Read an uploaded image or a camera capture; show the image with the digit boxes drawn on it.

import { api, el, say, state, percent, statusText, digitCard } from "./util.js";

export function initRead() {
  const input = document.getElementById("upload-file");
  const drop = document.getElementById("upload-drop");
  input.addEventListener("change", () => input.files[0] && readFile(input.files[0]));
  document.getElementById("camera-capture").addEventListener("click", readCamera);
  // Meter kinds read a window of N digits side by side (default 1); a number may say how many
  // digits it has (default any), and one digit is one.
  const kindSelect = document.getElementById("read-kind");
  kindSelect.addEventListener("change", () => {
    document.getElementById("read-digits-label").hidden = kind() === "digit";
    document.getElementById("read-digits-text").textContent =
      isMeter() ? "side by side" : "digits";
    document.getElementById("read-digits").placeholder = isMeter() ? "1" : "any";
  });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files[0]) readFile(e.dataTransfer.files[0]);
  });
}

function kind() {
  return document.getElementById("read-kind").value;
}

function isMeter() {
  return kind() === "counter" || kind() === "display";
}

function appendKind(form) {
  form.append("kind", kind());
  const digits = document.getElementById("read-digits").value;
  if (isMeter()) form.append("digits", digits || "1");
  else if (kind() === "number" && digits) form.append("digits", digits);
}

async function readFile(file) {
  const message = document.getElementById("read-message");
  const limit = state.info ? state.info.max_upload_bytes : Infinity;
  if (file.size > limit) {
    return say(message, `${file.name} is ${(file.size / 1e6).toFixed(1)} MB; the device accepts up to ${(limit / 1e6).toFixed(1)} MB.`, "error");
  }
  const form = new FormData();
  form.append("file", file, file.name);
  appendKind(form);
  say(message, `Reading ${file.name}…`);
  try {
    const reading = await api("/api/v1/predict", { method: "POST", body: form });
    await show(reading, URL.createObjectURL(file));
    say(message, `Read ${file.name}: stored as reading #${reading.seq}.`, "ok");
  } catch (err) {
    say(message, err.message, "error");
  }
}

async function readCamera() {
  const message = document.getElementById("read-message");
  say(message, "Asking the camera…");
  const form = new FormData();
  form.append("use_camera", "true");
  appendKind(form);
  try {
    const reading = await api("/api/v1/predict", { method: "POST", body: form });
    await show(reading, reading.image);
    say(message, `Camera frame read: stored as reading #${reading.seq}.`, "ok");
  } catch (err) {
    say(message, err.message, "error");
  }
}

function loadImage(src) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("the browser cannot show this image"));
    img.src = src;
  });
}

async function show(reading, src) {
  const out = document.getElementById("read-result");
  const canvas = el("canvas", { class: "frame", "aria-label": "the image with the digits found" });
  out.replaceChildren(
    el("p", { class: "answer" }, el("span", { class: "big", "data-testid": "read-answer" }, statusText(reading)),
      el("span", {}, ` ${reading.status.replace("_", " ")}`,
        reading.confidence !== null ? `, lowest confidence ${percent(reading.confidence)}` : "",
        `, ${reading.latency_ms.toFixed(1)} ms`)),
    canvas,
    el("div", { class: "digit-cards" }, reading.digits.map(digitCard)));
  try {
    drawBoxes(canvas, await loadImage(src), reading);
  } catch (err) {
    canvas.replaceWith(el("p", { class: "hint" }, err.message));
  }
}

// The image scaled to fit, each digit's box and answer drawn over it.
function drawBoxes(canvas, img, reading) {
  const [width, height] = reading.image_size;
  const scale = Math.min(1, 720 / width);
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  ctx.lineWidth = Math.max(2, canvas.width / 240);
  ctx.font = `bold ${Math.max(14, Math.round(canvas.width / 30))}px system-ui, sans-serif`;
  // Printed digits (counters, displays) have a threshold of their own.
  const info = state.info;
  const threshold = !info ? 0.6 : isMeter() ? info.printed_min_confidence : info.min_confidence;
  for (const digit of reading.digits) {
    const [x, y, w, h] = digit.box.map((v) => v * scale);
    const sure = digit.confidence >= threshold;
    ctx.strokeStyle = sure ? "#0a7d38" : "#c25e00";
    ctx.strokeRect(x, y, w, h);
    ctx.fillStyle = ctx.strokeStyle;
    ctx.fillText(String(digit.digit), x, Math.max(16, y - 4));
  }
}
