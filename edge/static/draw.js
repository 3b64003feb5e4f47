// The drawing pad: pointer events (mouse, touch, pen), the model's view and answer, labelling.

import { api, el, say, percent, topBars } from "./util.js";

const STROKE_PX = 20; // on the 280 px canvas: about MNIST's stroke width once shrunk to 28 px
const QUIET_MS = 250; // read the drawing once the pen has rested this long
// One black pixel: what the model sees of an empty pad.
const NOTHING = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVQIHWNgAAAAAgABz8g15QAAAABJRU5ErkJggg==";

let canvas, ctx, drawing = false, dirty = false, timer = null, last = null, pending = null;

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
  const form = new FormData();
  form.append("file", await padBlob(), "drawing.png");
  const request = api(`/api/v1/draw?record=${record}`, { method: "POST", body: form });
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
