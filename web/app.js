// The page: engine picker, drop/pick input, results. All image work happens
// in the engine worker (engine-client.js); this file only shows it.

import { EngineClient } from "./engine-client.js";

const $ = (sel) => document.querySelector(sel);
const STORAGE_KEY = "backgrone.engine";

const state = {
  engines: [],
  engine: null,
  client: null,
  ready: null, // promise of the worker's init reply
  queue: Promise.resolve(), // images are cut out one after another
};

const mb = (bytes) => `${(bytes / 1e6).toFixed(0)} MB`;

function setStatus(text, loaded, total) {
  $("#status-text").textContent = text;
  const bar = $("#status-progress");
  if (loaded == null) {
    bar.hidden = true;
    return;
  }
  bar.hidden = false;
  if (total) {
    bar.max = total;
    bar.value = loaded;
  } else bar.removeAttribute("value");
}

function onProgress(msg) {
  if (msg.stage === "download" && msg.total) {
    const pct = Math.floor((100 * msg.loaded) / msg.total);
    setStatus(`${msg.message}: ${mb(msg.loaded)} of ${mb(msg.total)} (${pct}%)`, msg.loaded, msg.total);
  } else setStatus(`${msg.message}\u2026`, 0, 0);
}

function defaultEngine(engines) {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (engines.some((e) => e.id === saved)) return { id: saved };
  const balanced = engines.find((e) => e.id === "balanced");
  if (balanced?.self_hosted) return { id: "balanced" };
  return {
    id: "lightweight",
    why:
      "Lightweight is selected: this site does not host a copy of the Balanced engine, " +
      "which downloads from its own source when you choose it.",
  };
}

function renderEngines(engines, selected) {
  const box = $("#engines");
  for (const e of engines) {
    const label = document.createElement("label");
    label.className = "engine";
    label.innerHTML = `
      <input type="radio" name="engine">
      <span class="name"></span><span class="size"></span>
      <span class="model"></span><span class="summary"></span><span class="when"></span>`;
    const input = label.querySelector("input");
    input.value = e.id;
    input.checked = e.id === selected;
    label.querySelector(".name").textContent = e.label;
    label.querySelector(".size").textContent = e.guide["Model size"];
    label.querySelector(".model").textContent = e.model;
    label.querySelector(".summary").textContent = e.summary;
    label.querySelector(".when").textContent = `Choose it for: ${e.choose_when.join("; ")}.`;
    input.addEventListener("change", () => {
      state.engine = e.id;
      localStorage.setItem(STORAGE_KEY, e.id);
      $("#engine-note").hidden = true;
    });
    box.append(label);
  }
}

function addResultCard(file) {
  const li = $("#result-template").content.firstElementChild.cloneNode(true);
  li.querySelector(".result-name").textContent = file.name;
  li.querySelector(".result-state").textContent = "Waiting";
  $("#results").prepend(li);
  return li;
}

function cutoutName(name) {
  const stem = name.replace(/\.[^.]+$/, "") || "image";
  return `${stem}-cutout.png`;
}

async function processFile(file) {
  const card = addResultCard(file);
  const stateEl = card.querySelector(".result-state");
  const fail = (message) => {
    stateEl.textContent = "Failed";
    const err = card.querySelector(".result-error");
    err.textContent = message;
    err.hidden = false;
    card.classList.add("failed");
  };
  let bytes;
  try {
    bytes = await file.arrayBuffer();
  } catch (err) {
    return fail(`This file could not be read: ${err.message}`);
  }
  const before = card.querySelector(".before");
  before.src = URL.createObjectURL(file);
  before.onerror = () => before.removeAttribute("src");
  stateEl.textContent = "Working";
  const engine = state.engine;
  try {
    await state.ready;
    const r = await state.client.process(engine, file.name, bytes, { onProgress });
    const url = URL.createObjectURL(new Blob([r.png], { type: "image/png" }));
    card.querySelector(".after").src = url;
    const link = card.querySelector(".download");
    link.href = url;
    link.download = cutoutName(file.name);
    link.hidden = false;
    const total = Object.values(r.timings).reduce((a, b) => a + b, 0);
    const label = state.engines.find((e) => e.id === engine).label;
    card.querySelector(".result-meta").textContent =
      `${r.width}\u00d7${r.height} \u00b7 ${label} \u00b7 ${total.toFixed(1)} s` +
      (r.notes.length ? ` \u00b7 ${r.notes.join(" ")}` : "");
    card.dataset.timings = JSON.stringify(r.timings);
    stateEl.textContent = "Done";
    card.classList.add("done");
    setStatus(`Done: ${file.name}`);
  } catch (err) {
    fail(err.message);
    setStatus(`Failed: ${file.name}`);
  }
}

function addFiles(files) {
  for (const file of files) {
    state.queue = state.queue.then(() => processFile(file));
  }
}

function wireInput() {
  $("#file-input").addEventListener("change", (e) => {
    addFiles([...e.target.files]);
    e.target.value = "";
  });
  // The whole page is a drop target.
  let depth = 0;
  document.addEventListener("dragenter", (e) => {
    e.preventDefault();
    depth++;
    document.body.classList.add("dragging");
  });
  document.addEventListener("dragleave", () => {
    if (--depth <= 0) {
      depth = 0;
      document.body.classList.remove("dragging");
    }
  });
  document.addEventListener("dragover", (e) => e.preventDefault());
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    depth = 0;
    document.body.classList.remove("dragging");
    addFiles([...(e.dataTransfer?.files || [])]);
  });
}

async function main() {
  state.engines = await (await fetch("engines.json")).json();
  const choice = defaultEngine(state.engines);
  state.engine = choice.id;
  if (choice.why) {
    $("#engine-note").textContent = choice.why;
    $("#engine-note").hidden = false;
  }
  renderEngines(state.engines, state.engine);
  wireInput();

  state.client = new EngineClient();
  state.ready = state.client.init({ onProgress });
  try {
    const info = await state.ready;
    $("#runtime-info").textContent =
      `Python ${info.versions.python ?? ""} in Pyodide ${info.versions.pyodide}, onnxruntime-web ` +
      `${info.versions["onnxruntime-web"]}, ${info.threads} thread${info.threads > 1 ? "s" : ""}` +
      (info.crossOriginIsolated ? "." : " (this page is not cross-origin isolated, so it runs single-threaded).");
    document.body.dataset.ready = "true";
    setStatus("Ready. Drop images to cut them out.");
  } catch (err) {
    setStatus(`Backgrone could not start: ${err.message}`);
  }
}

main();
