// The app page: wires the engine panel, the queue and the result view to the
// engine worker. All image work happens in the worker (engine-client.js).

import { EngineClient } from "./engine-client.js";
import { registerServiceWorker } from "./offline.js";
import { EnginePanel } from "./ui/engines.js";
import { MemoryMode } from "./ui/memory-mode.js";
import { backendParam, runtimeLine } from "./ui/format.js";
import { Queue, wireInputs } from "./ui/queue.js";
import { Viewer } from "./ui/viewer.js";

const $ = (sel) => document.querySelector(sel);

function setStatus(text, progress) {
  $("#status-text").textContent = text;
  const bar = $("#status-progress");
  bar.hidden = progress == null;
  if (progress != null) {
    bar.max = progress.total ?? 1;
    if (progress.loaded != null) bar.value = progress.loaded;
    else bar.removeAttribute("value");
  }
}

function onProgress(msg) {
  if (msg.stage === "boot") setStatus(`${msg.message}\u2026 (${msg.step} of ${msg.steps})`, { loaded: msg.step - 1, total: msg.steps });
  else if (msg.stage === "download") {
    const pct = msg.total ? ` ${Math.floor((100 * msg.loaded) / msg.total)}%` : "";
    setStatus(`${msg.message}${pct}`, { loaded: msg.loaded, total: msg.total });
  } else setStatus(`${msg.message}\u2026`, {});
}

// Which memory mode is on, and a switch to the other.
function showMemoryMode(memory) {
  const { text, action } = memory.describe();
  $("#memory-mode-text").textContent = text;
  const button = $("#memory-mode-switch");
  button.textContent = action;
  button.onclick = () => memory.set(!memory.low);
  document.body.dataset.memoryMode = memory.low ? "low" : "standard";
}

async function openSample(queue) {
  const sample = new URLSearchParams(location.search).get("sample");
  if (!sample || !/^samples\/[\w.-]+$/.test(sample)) return;
  const blob = await (await fetch(sample)).blob();
  queue.add([new File([blob], sample.split("/").pop(), { type: blob.type })]);
}

async function main() {
  await registerServiceWorker();
  const engines = await (await fetch("engines.json")).json();
  const client = new EngineClient();
  const panel = new EnginePanel({ client, engines, setStatus });
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
    onSelect: (item) => {
      item.engineLabel = panel.label(item.engine);
      for (const li of document.querySelectorAll("#queue .item")) li.classList.toggle("selected", li.dataset.id === String(item.id));
      viewer.show(item);
    },
    onChange: (removed) => {
      if (removed && viewer.item === removed) viewer.hide();
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
  try {
    const info = await queue.ready;
    $("#runtime-info").textContent = runtimeLine(info);
    document.body.dataset.backend = info.backendId;
    document.body.dataset.ready = "true";
    setStatus("Ready. Drop images anywhere to cut them out.");
  } catch (err) {
    setStatus(`Backgrone could not start: ${err.message}`);
  }
}

main();
