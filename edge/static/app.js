// The page's start-up: tabs, the token dialog, device info; each tab's module does the rest.

import { api, say, state, getToken, setToken } from "./util.js";
import { initDraw } from "./draw.js";
import { initRead } from "./read.js";
import { initHistory, loadHistory, startLive, stopLive } from "./history.js";
import { initFrame } from "./frame.js";
import { loadPerformance } from "./perf.js";
import { initExplore, loadExplore, loadLabels } from "./explore.js";
import { loadMeters } from "./meters.js";

const TABS = ["draw", "read", "live", "history", "performance", "explore"];
const ON_SHOW = {
  live: () => { startLive(); loadMeters(); },
  history: loadHistory,
  performance: loadPerformance,
  explore: loadExplore,
};

function showTab(name) {
  if (!TABS.includes(name)) name = "draw";
  for (const tab of TABS) {
    document.getElementById(`tab-${tab}`).hidden = tab !== name;
    const link = document.querySelector(`nav a[href="#${tab}"]`);
    link.setAttribute("aria-current", tab === name ? "page" : "false");
  }
  if (name !== "live") stopLive();
  if (ON_SHOW[name]) ON_SHOW[name]();
}

function initToken() {
  const dialog = document.getElementById("token-panel");
  const input = document.getElementById("token-input");
  const message = document.getElementById("token-message");
  document.getElementById("token-button").addEventListener("click", () => {
    dialog.hidden = !dialog.hidden;
    input.value = getToken();
  });
  document.getElementById("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    say(message, input.value.trim() ? "Token saved in this browser." : "Token removed.", "ok");
    updateTokenButton();
  });
  document.addEventListener("need-token", () => {
    dialog.hidden = false;
    say(message, getToken() ? "The device refused this token: check api.token." : "This device needs its API token (api.token) for that.", "error");
    input.focus();
  });
}

function updateTokenButton() {
  const button = document.getElementById("token-button");
  const needed = state.info && state.info.auth_required;
  button.textContent = getToken() ? "Token ✓" : needed ? "Enter token" : "Token";
  button.classList.toggle("attention", Boolean(needed && !getToken()));
}

async function loadInfo() {
  try {
    state.info = await api("/api/v1/info");
    document.getElementById("device").textContent =
      `${state.info.device_id} · ${state.info.model} · ${state.info.mode === "serve" ? "no camera loop" : "live"}`;
  } catch (err) {
    document.getElementById("device").textContent = err.message;
  }
  updateTokenButton();
}

function start() {
  initToken();
  initDraw();
  initRead();
  initHistory();
  initFrame();
  initExplore();
  document.addEventListener("labels-changed", () => {
    if (!document.getElementById("tab-explore").hidden) loadLabels();
  });
  window.addEventListener("hashchange", () => showTab(location.hash.slice(1)));
  loadInfo().then(() => showTab(location.hash.slice(1)));
}

start();
