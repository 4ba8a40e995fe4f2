// The app page: wires the engine panel, the queue and the result view to the
// engine worker. All image work happens in the worker (engine-client.js).

import { takeOver } from "./editor/handoff.js";
import { EngineClient } from "./engine-client.js";
import { registerServiceWorker } from "./offline.js";
import { EnginePanel } from "./ui/engines.js";
import { MemoryMode } from "./ui/memory-mode.js";
import { backendParam, runtimeLine } from "./ui/format.js";
import { Queue, wireInputs } from "./ui/queue.js";
import { Viewer } from "./ui/viewer.js";

const $ = (sel) => document.querySelector(sel);

// The status line. `text` is announced (#status-text is a live region), so it
// changes only when something new happens; the running figures of a download
// or a start-up go to `detail`, shown beside it and not read out each time.
function setStatus(text, progress, detail = "") {
  $("#status-text").textContent = text;
  $("#status-detail").textContent = detail;
  const bar = $("#status-progress");
  bar.hidden = progress == null;
  if (progress != null) {
    bar.max = progress.total ?? 1;
    if (progress.loaded != null) bar.value = progress.loaded;
    else bar.removeAttribute("value");
  }
}

function onProgress(msg) {
  if (msg.stage === "boot")
    setStatus("Starting\u2026", { loaded: msg.step - 1, total: msg.steps }, `${msg.message} (${msg.step} of ${msg.steps})`);
  else if (msg.stage === "download") {
    const pct = msg.total ? `${Math.floor((100 * msg.loaded) / msg.total)}%` : "";
    setStatus(msg.message, { loaded: msg.loaded, total: msg.total }, pct);
  } else setStatus(`${msg.message}\u2026`, {});
}

// Which memory mode is on, and a switch to the other.
function showMemoryMode(memory) {
  const { text, action } = memory.describe();
  $("#memory-mode-text").textContent = `${text} `;
  const button = $("#memory-mode-switch");
  button.textContent = action;
  button.onclick = () => memory.set(!memory.low);
  document.body.dataset.memoryMode = memory.low ? "low" : "standard";
}

// A result the user opened: on a narrow screen the viewer is below the queue,
// out of sight, so it is brought into view, and the focus with it, so that
// the keyboard's next Tab (and a screen reader) goes on from the result, not
// from the queue's button scrolled away (a result shown on its own, as a
// cutout finishes, moves nothing).
function revealViewer() {
  const viewer = $("#viewer");
  const top = viewer.getBoundingClientRect().top;
  if (top >= 0 && top < innerHeight / 2) return;
  const behavior = matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth";
  viewer.scrollIntoView({ block: "start", behavior });
  viewer.focus({ preventScroll: true });
}

async function openSample(queue) {
  const sample = new URLSearchParams(location.search).get("sample");
  if (!sample || !/^samples\/[\w.-]+$/.test(sample)) return;
  const blob = await (await fetch(sample)).blob();
  queue.add([new File([blob], sample.split("/").pop(), { type: blob.type })]);
}

// The Arena's "Use ENGINE" opens the app with ?result=KEY: its image and that
// engine's result, handed over in IndexedDB, join the queue ready to edit.
async function openHandedOver(queue, viewer) {
  const params = new URLSearchParams(location.search);
  const key = params.get("result");
  if (!key) return;
  params.delete("result");
  history.replaceState(null, "", `${location.pathname}${params.size ? `?${params}` : ""}`);
  const r = await takeOver(key);
  if (!r) {
    setStatus("The Arena's result is no longer here: drop the image again to cut it out.");
    return;
  }
  queue.addResult(new File([r.bytes], r.name, { type: r.type }), r.engine, r.result);
  viewer.edit();
}

async function main() {
  await registerServiceWorker();
  const engines = await (await fetch("engines.json")).json();
  const client = new EngineClient();
  const panel = new EnginePanel({ client, engines, setStatus, onProgress });
  const memory = new MemoryMode({
    onChange: () => {
      showMemoryMode(memory);
      panel.chooseDefault({ lowMemory: memory.low });
      viewer.refresh();
    },
  });
  showMemoryMode(memory);
  const viewer = new Viewer({ client, setStatus, memory });
  const queue = new Queue({
    client,
    engines: panel,
    setStatus,
    onProgress: (msg) => {
      onProgress(msg);
      panel.onDownloadProgress(msg);
    },
    onSelect: (item, { auto = false } = {}) => {
      // A finished image does not pull the user out of the editor.
      if (auto && viewer.editor.isOpen) return;
      item.engineLabel = panel.label(item.engine);
      for (const li of document.querySelectorAll("#queue .item")) li.classList.toggle("selected", li.dataset.id === String(item.id));
      viewer.show(item);
      if (!auto) revealViewer();
    },
    onChange: (removed) => {
      if (removed && viewer.item === removed) viewer.hide();
      $("#workspace").hidden = queue.items.length === 0; // nothing to show before the first photo
      const done = queue.done().length;
      $("#queue-count").textContent = queue.items.length ? `(${done} of ${queue.items.length} done)` : "";
      $("#download-all").disabled = done === 0;
    },
  });
  $("#download-all").addEventListener("click", () =>
    viewer.downloadAll(queue.done()).catch((err) => setStatus(`The ZIP could not be made: ${err.message}`)),
  );
  wireInputs((files) => queue.add(files));

  // The Arena's "Use this engine" opens the app with ?engine=ID.
  const wanted = new URLSearchParams(location.search).get("engine");
  if (engines.some((e) => e.id === wanted)) panel.select(wanted);
  panel.chooseDefault({ lowMemory: memory.low }); // provisional, until the worker says what is stored
  queue.ready = client.init({ onProgress, backend: backendParam(), engine: panel.selected }).then((info) => {
    panel.applyStorage(info.storage);
    panel.chooseDefault({ lowMemory: memory.low });
    return info;
  });
  openSample(queue).catch((err) => setStatus(`The sample could not be opened: ${err.message}`));
  openHandedOver(queue, viewer).catch((err) => setStatus(`The Arena's result could not be opened: ${err.message}`));
  try {
    const info = await queue.ready;
    $("#runtime-info").textContent = runtimeLine(info);
    document.body.dataset.backend = info.backendId;
    document.body.dataset.python = info.python; // "snapshot" or "fresh": how Python started
    document.body.dataset.bytecode = info.bytecode; // how many compiled modules an earlier visit kept
    document.body.dataset.ready = "true";
    setStatus("Ready for your photos.");
  } catch (err) {
    setStatus(`Backgrone could not start: ${err.message}`);
  }
}

main();
