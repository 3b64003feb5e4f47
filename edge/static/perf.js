// Performance: summary figures and three hand-drawn SVG charts (no chart library).

import { api, el, svgEl, say, percent } from "./util.js";

const W = 360, H = 200, PAD = { left: 36, right: 8, top: 10, bottom: 28 };

export async function loadPerformance() {
  const message = document.getElementById("perf-message");
  try {
    const report = await api("/api/v1/performance");
    render(report);
    say(message, "");
  } catch (err) {
    say(message, err.message, "error");
  }
}

function render(r) {
  const model = r.model || {};
  document.getElementById("perf-figures").replaceChildren(
    figure("Accuracy on your examples", percent(r.examples.accuracy), count(r.examples.count, "digit")),
    figure("Corrected readings right", percent(r.readings.accuracy), `${r.readings.count} corrected`),
    figure("Labelled drawings right", percent(r.drawings.accuracy), count(r.drawings.count, "drawing")),
    figure("MNIST test accuracy", percent(model.mnist_test_accuracy, 2), model.version || "no model"),
    figure("Latency p50 · p95 · p99 (ms)", latencyText(r.latency_ms), `over ${count(r.latency_ms.readings, "reading")}`));
  document.getElementById("chart-digits").replaceChildren(digitChart(r.per_digit));
  document.getElementById("chart-calibration").replaceChildren(calibrationChart(r.calibration));
  document.getElementById("chart-hours").replaceChildren(hourChart(r.per_hour));
  document.querySelector("#perf-models tbody").replaceChildren(...(r.models || []).map(modelRow));
}

// One model version: what it read, how its corrected readings and the labelled examples went.
function modelRow(m) {
  const part = (p) => (p && p.count ? `${percent(p.accuracy)} of ${p.count}` : "–");
  return el("tr", { "data-version": m.version, class: m.in_use ? "in-use" : "" },
    el("td", {}, m.version, m.in_use ? " (in use)" : ""),
    el("td", {}, m.installed ? m.installed.slice(0, 16).replace("T", " ") : "shipped"),
    el("td", {}, String(m.readings)),
    el("td", {}, part(m.corrected)),
    el("td", {}, part(m.labels)));
}

function figure(title, value, detail) {
  return el("div", { class: "figure" }, el("div", { class: "figure-value" }, value),
    el("div", { class: "figure-title" }, title), el("div", { class: "muted" }, detail));
}

function latencyText(lat) {
  if (lat.p50 === null) return "–";
  return [lat.p50, lat.p95, lat.p99].map((v) => v.toFixed(1)).join(" · ");
}

function count(n, noun) {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function frame(yLabel) {
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img" });
  const plotH = H - PAD.top - PAD.bottom;
  for (const t of [0, 0.5, 1]) {
    const y = PAD.top + plotH * (1 - t);
    svg.append(svgEl("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: "grid" }),
      svgEl("text", { x: PAD.left - 4, y: y + 4, class: "tick", "text-anchor": "end" }, yLabel(t)));
  }
  return svg;
}

// Columns of height value (0..1); null draws nothing, 0 a thin mark only when markZero.
function bars(svg, values, labels, title, markZero) {
  const plotW = W - PAD.left - PAD.right, plotH = H - PAD.top - PAD.bottom;
  const step = plotW / values.length;
  values.forEach((v, i) => {
    const x = PAD.left + i * step;
    if (v !== null && (v > 0 || markZero)) {
      const h = Math.max(plotH * v, 2);
      svg.append(svgEl("rect", { x: x + step * 0.15, y: PAD.top + plotH - h, width: step * 0.7, height: h,
        class: v > 0 ? "col" : "col zero" }, svgEl("title", {}, title(i))));
    }
    if (labels[i] !== "") {
      svg.append(svgEl("text", { x: x + step / 2, y: H - PAD.bottom + 16, class: "tick", "text-anchor": "middle" }, labels[i]));
    }
  });
}

// Accuracy per true digit; a digit without examples shows no bar.
function digitChart(perDigit) {
  const svg = frame((t) => `${t * 100}%`);
  svg.setAttribute("aria-label", "accuracy per digit");
  bars(svg, perDigit.map((d) => d.accuracy), perDigit.map((d) => String(d.digit)),
    (i) => `${i}: ${percent(perDigit[i].accuracy)} of ${perDigit[i].count}`, true);
  if (perDigit.every((d) => d.count === 0)) svg.append(empty("no corrected or labelled digits yet"));
  return svg;
}

// Confidence (x) against how often the model was right (y); the diagonal is perfect calibration.
function calibrationChart(buckets) {
  const svg = frame((t) => `${t * 100}%`);
  svg.setAttribute("aria-label", "confidence against accuracy");
  const plotW = W - PAD.left - PAD.right, plotH = H - PAD.top - PAD.bottom;
  const x = (c) => PAD.left + plotW * c, y = (a) => PAD.top + plotH * (1 - a);
  svg.append(svgEl("line", { x1: x(0), y1: y(0), x2: x(1), y2: y(1), class: "diagonal" }));
  const used = buckets.filter((b) => b.count > 0);
  if (used.length) {
    svg.append(svgEl("polyline", { points: used.map((b) => `${x(b.mean_confidence)},${y(b.accuracy)}`).join(" "), class: "line" }));
    for (const b of used) {
      svg.append(svgEl("circle", { cx: x(b.mean_confidence), cy: y(b.accuracy), r: 3 + Math.min(5, Math.log2(b.count)), class: "point" },
        svgEl("title", {}, `confidence ${b.low.toFixed(1)}–${b.high.toFixed(1)}: right ${percent(b.accuracy)} of ${b.count}`)));
    }
  } else {
    svg.append(empty("no labelled examples yet"));
  }
  for (const [t, anchor] of [[0, "start"], [0.5, "middle"], [1, "end"]]) {
    svg.append(svgEl("text", { x: x(t), y: H - PAD.bottom + 16, class: "tick", "text-anchor": anchor }, `${t * 100}%`));
  }
  return svg;
}

// Readings per hour over the last 24 hours (UTC hours shown in local time).
function hourChart(hours) {
  const top = Math.max(1, ...hours.map((h) => h.count));
  const svg = frame((t) => (Number.isInteger(top * t) ? String(top * t) : ""));
  svg.setAttribute("aria-label", "readings per hour, last 24 hours");
  const labels = hours.map((h, i) => (i % 6 === 0 ? new Date(h.hour.replace("Z", ":00Z")).getHours() + "h" : ""));
  bars(svg, hours.map((h) => h.count / top), labels, (i) => `${hours[i].hour}: ${hours[i].count} readings`, false);
  return svg;
}

function empty(text) {
  return svgEl("text", { x: W / 2, y: H / 2, class: "empty", "text-anchor": "middle" }, text);
}
