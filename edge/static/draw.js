// The drawing pad: pointer events (mouse, touch, pen), the model's view and answer, labelling;
// or 784 pasted pixel values (a row of an MNIST CSV), shown on the pad and read as they are.

import { api, el, say, percent, topBars } from "./util.js";

const STROKE_PX = 20; // on the 280 px canvas: about MNIST's stroke width once shrunk to 28 px
const QUIET_MS = 250; // read the drawing once the pen has rested this long
// One black pixel: what the model sees of an empty pad.
const NOTHING = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVQIHWNgAAAAAgABz8g15QAAAABJRU5ErkJggg==";

const SIDE = 28;
let canvas, ctx, drawing = false, dirty = false, timer = null, last = null, pending = null;
let pasted = null; // the pad shows these pixels and nothing has been drawn over them

export function initDraw() {
  canvas = document.getElementById("pad");
  ctx = canvas.getContext("2d");
  clearPad();
  canvas.addEventListener("pointerdown", startStroke);
  canvas.addEventListener("pointermove", moveStroke);
  canvas.addEventListener("pointerup", endStroke);
  canvas.addEventListener("pointercancel", endStroke);
  document.getElementById("pad-clear").addEventListener("click", clearPad);
  document.getElementById("pad-keep").addEventListener("click", () => readDrawing(true));
  document.getElementById("label-save").addEventListener("click", saveLabel);
  document.getElementById("pixels-form").addEventListener("submit", (e) => {
    e.preventDefault();
    readPasted();
  });
  const picker = document.getElementById("label-digits");
  for (let d = 0; d <= 9; d++) {
    picker.append(el("button", { type: "button", class: "digit-pick", "data-digit": d,
      "aria-pressed": "false", onclick: () => pickLabel(d) }, d));
  }
}

function clearPad() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  dirty = false;
  pasted = null;
  document.getElementById("draw-result").replaceChildren(
    el("p", { class: "hint" }, "Draw one digit, large, in the box. The answer appears when you lift the pen."));
  document.getElementById("draw-input").src = NOTHING;
  say(document.getElementById("draw-message"), "");
}

function point(event) {
  const rect = canvas.getBoundingClientRect();
  return [(event.clientX - rect.left) * (canvas.width / rect.width),
          (event.clientY - rect.top) * (canvas.height / rect.height)];
}

function startStroke(event) {
  event.preventDefault();
  canvas.setPointerCapture(event.pointerId);
  drawing = true;
  pasted = null; // drawn over: from now on the pad's picture is what is read
  last = point(event);
  ctx.strokeStyle = "#111";
  ctx.lineWidth = STROKE_PX;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  dot(last);
  clearTimeout(timer);
}

function moveStroke(event) {
  if (!drawing) return;
  // Coalesced events keep fast strokes smooth where the browser batches pointer moves.
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const e of events.length ? events : [event]) {
    const next = point(e);
    ctx.beginPath();
    ctx.moveTo(last[0], last[1]);
    ctx.lineTo(next[0], next[1]);
    ctx.stroke();
    last = next;
  }
  dirty = true;
}

function dot([x, y]) {
  ctx.beginPath();
  ctx.arc(x, y, STROKE_PX / 2, 0, Math.PI * 2);
  ctx.fillStyle = "#111";
  ctx.fill();
  dirty = true;
}

function endStroke() {
  if (!drawing) return;
  drawing = false;
  clearTimeout(timer);
  timer = setTimeout(() => readDrawing(false), QUIET_MS);
}

function padBlob() {
  return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
}

// record=false reads without storing; "Save to history" stores the reading (and its crop).
async function readDrawing(record) {
  const message = document.getElementById("draw-message");
  if (!dirty) return say(message, "Draw a digit first.", "error");
  let request;
  if (pasted) {
    request = api(`/api/v1/predict?record=${record}`, { method: "POST", json: { pixels: pasted } });
  } else {
    const form = new FormData();
    form.append("file", await padBlob(), "drawing.png");
    request = api(`/api/v1/draw?record=${record}`, { method: "POST", body: form });
  }
  pending = request;
  try {
    const reading = await request;
    if (pending !== request) return; // a newer stroke's answer is on its way
    showAnswer(reading);
    if (record) say(message, `Saved as reading #${reading.seq}. Correct it in History if it is wrong.`, "ok");
  } catch (err) {
    say(message, err.message, "error");
  }
}

function showAnswer(reading) {
  const box = document.getElementById("draw-result");
  const img = document.getElementById("draw-input");
  const digit = reading.digits[0];
  if (!digit) {
    img.src = NOTHING;
    box.replaceChildren(el("p", { class: "hint" }, "No digit found: draw bigger or bolder."));
    return;
  }
  if (digit.input) img.src = digit.input;
  box.replaceChildren(
    el("p", { class: "answer" }, el("span", { class: "big", "data-testid": "draw-answer" }, digit.digit),
      el("span", {}, ` ${percent(digit.confidence)} sure`,
        reading.status === "low_confidence" ? " (below the confidence threshold)" : "")),
    topBars(digit.top3));
  pickLabel(digit.digit);
}

let chosenLabel = null;

function pickLabel(digit) {
  chosenLabel = digit;
  for (const button of document.querySelectorAll(".digit-pick")) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.digit) === digit));
  }
}

async function saveLabel() {
  const message = document.getElementById("draw-message");
  if (!dirty) return say(message, "Draw a digit first.", "error");
  if (chosenLabel === null) return say(message, "Pick the digit you drew.", "error");
  const form = new FormData();
  form.append("label", String(chosenLabel));
  form.append("file", await padBlob(), "drawing.png");
  try {
    const label = await api("/api/v1/labels", { method: "POST", body: form });
    say(message, `Kept as example #${label.id} of a ${label.label}. See Explore.`, "ok");
    document.dispatchEvent(new CustomEvent("labels-changed"));
  } catch (err) {
    say(message, err.message, "error");
  }
}

// "12, 0 34 ..." -> { pixels: [784 numbers], label: digit or null }; throws with a message.
function parsePixels(text) {
  const tokens = text.trim().split(/[\s,;]+/).filter(Boolean);
  let label = null;
  if (tokens.length === SIDE * SIDE + 1) {
    label = tokens.shift();
    if (!/^[0-9]$/.test(label)) throw new Error(`785 values: the first (${label}) should be the label, a digit 0-9`);
    label = Number(label);
  }
  if (tokens.length !== SIDE * SIDE) {
    throw new Error(`${tokens.length} values: 784 are needed (28 rows of 28, row by row)`);
  }
  const pixels = tokens.map(Number);
  const bad = pixels.findIndex((v) => !Number.isFinite(v) || v < 0 || v > 255);
  if (bad >= 0) throw new Error(`value ${bad + 1} ("${tokens[bad].slice(0, 20)}") is not a number from 0 to 255`);
  return { pixels, label };
}

// The pixels as dark ink on the white pad, each one a 10x10 block.
function paintPixels(pixels) {
  const small = document.createElement("canvas");
  small.width = small.height = SIDE;
  const image = small.getContext("2d").createImageData(SIDE, SIDE);
  pixels.forEach((value, i) => {
    const ink = 255 - Math.round(value);
    image.data.set([ink, ink, ink, 255], i * 4);
  });
  small.getContext("2d").putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
}

async function readPasted() {
  const message = document.getElementById("draw-message");
  let parsed;
  try {
    parsed = parsePixels(document.getElementById("pixels-input").value);
  } catch (err) {
    return say(message, err.message, "error");
  }
  clearPad();
  paintPixels(parsed.pixels);
  pasted = parsed.pixels;
  dirty = true;
  await readDrawing(false);
  if (parsed.label !== null) pickLabel(parsed.label);
}
