// Explore: the 1,000 MNIST test digits shipped with the device (credited), a page at a time,
// each readable by the model, beside this device's labelled examples.

import { api, el, say, percent } from "./util.js";

const PAGE = 100;
const SIDE = 28;

let offset = 0;
let loaded = null; // the query of the page on screen

export function initExplore() {
  document.getElementById("mnist-digit").addEventListener("change", () => {
    offset = 0;
    loadSamples();
  });
  document.getElementById("mnist-prev").addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE);
    loadSamples();
  });
  document.getElementById("mnist-next").addEventListener("click", () => {
    offset += PAGE;
    loadSamples();
  });
}

export async function loadExplore() {
  await Promise.all([loadSamples(), loadLabels()]);
}

async function loadSamples() {
  const box = document.getElementById("mnist-samples");
  const message = document.getElementById("mnist-message");
  const query = new URLSearchParams({ offset, limit: PAGE });
  const digit = document.getElementById("mnist-digit").value;
  if (digit) query.set("digit", digit);
  if (loaded === query.toString()) return; // the shipped samples never change
  try {
    const page = await api(`/api/v1/dataset/mnist?${query}`);
    loaded = query.toString();
    box.replaceChildren(...page.items.map(sampleButton));
    document.getElementById("mnist-credit").textContent = page.credit;
    const what = digit ? `${digit}s` : "Samples";
    const n = (count) => count.toLocaleString("en");
    say(message, page.items.length
      ? `${what} ${n(page.offset + 1)}–${n(page.offset + page.items.length)} of ${n(page.total)}`
      : "No more samples.");
    document.getElementById("mnist-prev").disabled = page.offset === 0;
    document.getElementById("mnist-next").disabled = page.next_offset === null;
  } catch (err) {
    say(message, err.message, "error");
  }
}

function sampleButton(item) {
  const img = el("img", { class: "mnist", src: item.input, alt: "" });
  return el("button", { type: "button", class: "sample", title: `MNIST test image #${item.index}: a ${item.digit}`,
    "aria-label": `MNIST test image ${item.index}, a ${item.digit}`, "data-index": item.index,
    onclick: () => readSample(item, img) }, img);
}

// The image's own 784 values, read back from the PNG the page was sent.
function pixelsOf(img) {
  const small = document.createElement("canvas");
  small.width = small.height = SIDE;
  const ctx = small.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const rgba = ctx.getImageData(0, 0, SIDE, SIDE).data;
  return Array.from({ length: SIDE * SIDE }, (_, i) => rgba[i * 4]);
}

async function readSample(item, img) {
  const box = document.getElementById("mnist-read");
  box.replaceChildren(el("p", { class: "hint" }, `Reading MNIST test image #${item.index}…`));
  try {
    const reading = await api("/api/v1/predict?record=false", { method: "POST", json: { pixels: pixelsOf(img) } });
    const digit = reading.digits[0];
    const right = digit && digit.digit === item.digit;
    box.replaceChildren(el("p", { class: `answer ${right ? "ok" : "wrong"}` },
      el("img", { class: "mnist small", src: item.input, alt: `test image ${item.index}` }),
      el("span", {}, `#${item.index}, labelled ${item.digit}: the model reads `),
      el("span", { class: "big", "data-testid": "sample-answer" }, digit ? digit.digit : "nothing"),
      el("span", {}, digit ? ` ${percent(digit.confidence)} sure${right ? "" : " (wrong)"}` : "")));
  } catch (err) {
    box.replaceChildren(el("p", { class: "message error" }, err.message));
  }
}

export async function loadLabels() {
  const box = document.getElementById("user-labels");
  const message = document.getElementById("labels-message");
  try {
    const page = await api("/api/v1/labels?limit=1000");
    if (!page.items.length) {
      box.replaceChildren(el("p", { class: "hint" }, "No labelled examples yet: label a drawing, or correct a reading whose digits were found."));
    } else {
      box.replaceChildren(...page.items.slice().reverse().map(labelTile));
    }
    say(message, `${page.items.length}${page.next_offset !== null ? "+" : ""} examples`);
  } catch (err) {
    say(message, err.message, "error");
  }
}

function labelTile(label) {
  const tile = el("figure", { class: "label-tile", "data-label-id": label.id },
    el("img", { class: "mnist small", src: label.input, alt: `example ${label.id}: a ${label.label}` }),
    el("figcaption", {}, el("strong", {}, label.label), " ",
      el("span", { class: "muted" }, label.source === "drawing" ? "drawn" : "corrected"),
      el("button", { type: "button", class: "link danger", title: "forget this example",
        "aria-label": `forget example ${label.id}`, onclick: () => remove(label.id, tile) }, "×")));
  return tile;
}

async function remove(id, tile) {
  try {
    await api(`/api/v1/labels/${id}`, { method: "DELETE" });
    tile.remove();
  } catch (err) {
    say(document.getElementById("labels-message"), err.message, "error");
  }
}
