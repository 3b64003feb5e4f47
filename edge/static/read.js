// Read an uploaded image or a camera capture; show the image with the digit boxes drawn on it.
// Drag a box on the image to read only that part, as a configured region reads it, and copy
// the region's lines for the configuration file.

import { api, canvasPoint, el, say, state, percent, statusText, digitCard } from "./util.js";

// The image read last (to read again with a box), the box drawn on it (image pixels) and how
// the canvas is scaled: { blob, name, src, box, camera, scale, reading }.
let current = null;
const MIN_BOX_PX = 8; // the device refuses a smaller box: no digit fits in it
// Still wheels half a tenth off whole digits: on the bundled water meter, a box about 4 px off
// (README, "Finding the box").
const LEVEL_TENTHS = 0.5;

export function initRead() {
  const input = document.getElementById("upload-file");
  const drop = document.getElementById("upload-drop");
  input.addEventListener("change", () => input.files[0] && readFile(input.files[0]));
  document.getElementById("camera-capture").addEventListener("click", readCamera);
  // Meter kinds read a window of N digits side by side (default 1); a number may say how many
  // digits it has (default any), and one digit is one.
  const kindSelect = document.getElementById("read-kind");
  // A new kind or count reads the same image (and box) again.
  kindSelect.addEventListener("change", () => {
    document.getElementById("read-digits-label").hidden = kind() === "digit";
    document.getElementById("read-digits-text").textContent =
      isMeter() ? "side by side" : "digits";
    document.getElementById("read-digits").placeholder = isMeter() ? "1" : "any";
    if (current) readAgain();
  });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files[0]) readFile(e.dataTransfer.files[0]);
  });
  document.getElementById("read-digits").addEventListener("change", () => current && readAgain());
  document.getElementById("region-name").addEventListener("input", showRegion);
  document.getElementById("region-whole").addEventListener("click", () => {
    if (current) readAgain(null);
  });
  document.getElementById("region-copy").addEventListener("click", copyRegion);
}

function kind() {
  return document.getElementById("read-kind").value;
}

function isMeter() {
  return kind() === "counter" || kind() === "display";
}

function digitsAsked() {
  const digits = document.getElementById("read-digits").value;
  if (isMeter()) return digits || "1";
  return kind() === "number" && digits ? digits : null;
}

function appendKind(form) {
  form.append("kind", kind());
  const digits = digitsAsked();
  if (digits) form.append("digits", digits);
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
    current = { blob: file, name: file.name, src: URL.createObjectURL(file), box: null, camera: false };
    await show(reading);
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
    current = { blob: dataUrlBlob(reading.image), name: "camera.jpg", src: reading.image, box: null, camera: true };
    await show(reading);
    say(message, `Camera frame read: stored as reading #${reading.seq}.`, "ok");
  } catch (err) {
    say(message, err.message, "error");
  }
}

// The same image read again, only `box` of it when given: a look, not stored. The box shown
// and written for the configuration changes only once the device has read it.
async function readAgain(box = current.box) {
  const message = document.getElementById("read-message");
  const form = new FormData();
  form.append("file", current.blob, current.name);
  appendKind(form);
  if (box) form.append("box", box.join(","));
  say(message, box ? "Reading the box…" : "Reading the whole image…");
  try {
    const reading = await api("/api/v1/predict?record=false", { method: "POST", body: form });
    await show(reading);
    say(message, current.box
      ? `Read the box [${current.box.join(", ")}] (not stored): its lines for the configuration are below.`
      : "Read the whole image (not stored).", "ok");
  } catch (err) {
    say(message, err.message, "error");
  }
}

// A data: URL as a Blob (the page's policy lets fetch() reach the device only).
function dataUrlBlob(url) {
  const [head, data] = url.split(",", 2);
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  return new Blob([bytes], { type: head.slice(5).split(";")[0] });
}

function loadImage(src) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("the browser cannot show this image"));
    img.src = src;
  });
}

async function show(reading) {
  const out = document.getElementById("read-result");
  const canvas = el("canvas", {
    class: "frame boxable", "aria-label": "the image with the digits found; drag a box to read only that part",
  });
  out.replaceChildren(
    el("p", { class: "answer" }, el("span", { class: "big", "data-testid": "read-answer" }, statusText(reading)),
      el("span", {}, ` ${reading.status.replace("_", " ")}`,
        reading.confidence !== null ? `, lowest confidence ${percent(reading.confidence)}` : "",
        `, ${reading.latency_ms.toFixed(1)} ms`)),
    canvas,
    el("div", { class: "digit-cards" }, reading.digits.map(digitCard)));
  try {
    const img = await loadImage(current.src);
    drawBoxes(canvas, img, reading);
    dragBox(canvas, img, reading);
  } catch (err) {
    canvas.replaceWith(el("p", { class: "hint" }, err.message));
  }
  current.box = reading.region_box; // as the device cut it to the image
  current.reading = reading;
  document.getElementById("region-setup").hidden = false;
  showRegion();
}

// Drag on the image to box the part to read: a rectangle follows the pointer (mouse, finger
// or pen), and letting go reads the box.
function dragBox(canvas, img, reading) {
  let start = null;
  const at = (e) => canvasPoint(canvas, e);
  const boxOf = (a, b) => [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.abs(b[0] - a[0]), Math.abs(b[1] - a[1])];
  canvas.addEventListener("pointerdown", (e) => {
    start = at(e);
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!start) return;
    drawBoxes(canvas, img, reading);
    const ctx = canvas.getContext("2d");
    ctx.strokeStyle = "#1f5fbf";
    ctx.setLineDash([6, 4]);
    ctx.strokeRect(...boxOf(start, at(e)));
    ctx.setLineDash([]);
  });
  canvas.addEventListener("pointerup", (e) => {
    if (!start) return;
    const [x, y, w, h] = boxOf(start, at(e)).map((v) => v / current.scale);
    start = null;
    if (w < MIN_BOX_PX || h < MIN_BOX_PX) return drawBoxes(canvas, img, reading);
    readAgain([Math.round(x), Math.round(y), Math.round(w), Math.round(h)]);
  });
}

// The region as the configuration file writes it: name, kind, box and digits.
function regionToml() {
  const name = document.getElementById("region-name").value.trim();
  const lines = ["[[regions]]", `name = "${name}"`, `kind = "${kind()}"`, `box = [${current.box.join(", ")}]`];
  const digits = digitsAsked();
  if (digits) lines.push(`digits = ${digits}`);
  if (isMeter()) {
    lines.push(
      "# decimals = 1             # digits after the point (the last wheels or digits)",
      '# device_class = "water"   # a meter\'s: water, gas or energy, for Home Assistant',
      '# unit = "m³"',
      "# max_rate_per_min = 0.1   # the most it counts a minute: faster is a misread, and an",
      "#                          # unsure wheel that cannot have moved is read from it",
      "# align = true             # follow the meter when the camera shifts");
  }
  return lines.join("\n");
}

function showRegion() {
  const out = document.getElementById("region-toml");
  const message = document.getElementById("region-message");
  const copy = document.getElementById("region-copy");
  const name = document.getElementById("region-name").value.trim();
  if (!current || !current.box) {
    out.textContent = "";
    copy.disabled = true;
    return say(message, "Drag a box on the image to read only that part, as a region of the configuration reads it.");
  }
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    out.textContent = "";
    copy.disabled = true;
    return say(message, "A region's name is letters, digits, - and _ only.", "error");
  }
  out.textContent = regionToml();
  copy.disabled = false;
  say(message, (current.camera
    ? "Add these lines to the configuration file (digitcam.toml): the box is in the camera's pixels."
    : "Add these lines to the configuration file: the box is in this photo's pixels, which are the camera's only when the photo came from it (capture from the camera to be sure).")
    + levelHint());
}

// Counter wheels other than the last stand on whole digits nearly always, and the model reads
// a wheel's position from where its digit sits in the box: when they read off a whole digit
// together, the box sits too high (they read low) or too low.
function levelHint() {
  if (kind() !== "counter" || !current.reading) return "";
  const offsets = current.reading.digits.slice(0, -1)
    .filter((d) => d.position !== null && d.position !== undefined)
    .map((d) => { const f = (d.position * 10) % 10; return f < 5 ? f : f - 10; })
    .sort((a, b) => a - b);
  if (offsets.length < 3) return "";
  const median = offsets[Math.floor(offsets.length / 2)];
  if (Math.abs(median) < LEVEL_TENTHS) return "";
  return ` The wheels left of the last read about ${Math.abs(median).toFixed(1)} tenths ${median < 0 ? "below" : "above"} whole digits, `
    + `where they stand still: the box probably sits too ${median < 0 ? "high" : "low"}; move it ${median < 0 ? "down" : "up"} a few pixels and look again.`;
}

async function copyRegion() {
  const message = document.getElementById("region-message");
  try {
    await navigator.clipboard.writeText(document.getElementById("region-toml").textContent);
    say(message, "Copied.", "ok");
  } catch (err) {
    say(message, "The browser did not allow copying: select the lines and copy them.", "error");
  }
}

// The image scaled to fit, each digit's box and answer drawn over it.
function drawBoxes(canvas, img, reading) {
  const [width, height] = reading.image_size;
  const scale = Math.min(1, 720 / width);
  current.scale = scale;
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  if (reading.region_box) { // the part read, the rest dimmed
    const [x, y, w, h] = reading.region_box.map((v) => v * scale);
    ctx.fillStyle = "rgba(0, 0, 0, 0.35)";
    ctx.fillRect(0, 0, canvas.width, y);
    ctx.fillRect(0, y + h, canvas.width, canvas.height - y - h);
    ctx.fillRect(0, y, x, h);
    ctx.fillRect(x + w, y, canvas.width - x - w, h);
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#1f5fbf";
    ctx.strokeRect(x, y, w, h);
  }
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
