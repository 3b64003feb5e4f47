// Explore: MNIST sample digits (credited) beside this device's labelled examples.

import { api, el, say } from "./util.js";

export async function loadExplore() {
  await Promise.all([loadSamples(), loadLabels()]);
}

async function loadSamples() {
  const box = document.getElementById("mnist-samples");
  if (box.childElementCount) return; // they never change
  try {
    const data = await api("/api/v1/dataset/samples?count=10");
    box.replaceChildren(...grid(data.items));
    document.getElementById("mnist-credit").textContent = data.credit;
  } catch (err) {
    box.replaceChildren(el("p", { class: "message error" }, err.message));
  }
}

function grid(items) {
  const rows = [];
  for (let d = 0; d <= 9; d++) {
    const images = items.filter((item) => item.digit === d);
    if (!images.length) continue;
    rows.push(el("div", { class: "sample-row" }, el("span", { class: "row-digit" }, d),
      images.map((item) => el("img", { class: "mnist small", src: item.input, alt: `a ${d}` }))));
  }
  return rows;
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
