// Live tab: each meter region's last accepted value, and setting it to what the meter shows
// (PUT /api/v1/meters/<region>), for a meter replaced or a misread that was accepted.

import { api, el, say, localTime, ago } from "./util.js";

export async function loadMeters() {
  const card = document.getElementById("meters-card");
  const box = document.getElementById("meters");
  try {
    const { meters } = await api("/api/v1/meters");
    card.hidden = meters.length === 0;
    box.replaceChildren(...meters.map(meterCard));
  } catch (err) {
    card.hidden = false;
    box.replaceChildren(el("p", { class: "message error" }, err.message));
  }
}

function facts(m) {
  const waiting = m.pending === null ? "–" : `${m.pending} (${m.pending_readings} of ${m.confirm_readings} readings agree)`;
  return el("dl", { class: "facts" },
    el("dt", {}, "value"), el("dd", { "data-testid": "meter-value" }, m.value ?? "none yet"),
    el("dt", {}, "since"), el("dd", { title: localTime(m.accepted_at), "data-testid": "meter-since" },
      m.accepted_at ? ago(m.accepted_at) + (m.set_by_hand ? ", set by hand" : "") : "–"),
    el("dt", {}, "new level waiting"), el("dd", {}, waiting),
    m.shift === undefined ? null : [el("dt", {}, "camera shift"), el("dd", { "data-testid": "meter-shift" }, shiftText(m))]);
}

// Regions with align: how far the boxes follow the camera, and whether the meter is lost.
function shiftText(m) {
  if (m.shift === null) return "no reference yet (taken from the first frame read ok)";
  const shown = `${m.shift[0]}, ${m.shift[1]} px`;
  return m.unmatched_frames ? `${shown}; meter not found in the last ${m.unmatched_frames} frames` : shown;
}

function meterCard(m) {
  let shown = facts(m);
  const show = (state) => {  // the facts of the meter as the device now answers
    const next = facts(state);
    shown.replaceWith(next);
    shown = next;
  };
  const message = el("p", { class: "message", "aria-live": "polite" });
  const input = el("input", {
    name: "value", inputmode: "decimal", size: 10, required: true, autocomplete: "off",
    placeholder: m.value ?? "1234.5", "aria-label": `what the ${m.region} meter shows`,
  });
  const form = el("form", { class: "row wrap" },
    el("label", {}, "The meter shows ", input),
    el("button", { type: "submit" }, "Set"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const set = await api(`/api/v1/meters/${encodeURIComponent(m.region)}`,
        { method: "PUT", json: { value: input.value.trim() } });
      show(set);
      input.value = "";
      input.placeholder = set.value;
      say(message, `Set to ${set.value}: the next readings are checked against it.`, "ok");
    } catch (err) {
      say(message, err.message, "error");
    }
  });
  // Regions with align: the reference taken again from the next frame read ok.
  const retake = m.shift === undefined ? null : el("button", {
    type: "button", class: "small", title: "after re-aiming the camera with the boxes still right",
    onclick: async () => {
      try {
        const again = await api(`/api/v1/meters/${encodeURIComponent(m.region)}/reference`, { method: "DELETE" });
        show(again);
        say(message, "The next frame read ok gives the new reference.", "ok");
      } catch (err) {
        say(message, err.message, "error");
      }
    },
  }, "Take the reference again");
  return el("div", { class: "meter", "data-region": m.region },
    el("h3", {}, `${m.region} (${m.kind})`), shown, form, retake, message);
}
