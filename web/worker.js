// The engine worker: Pyodide (the image work, in Python) and onnxruntime-web
// (the network) live here, never on the page's thread. See protocol.js.

import { Reply, Request, WorkerError } from "./protocol.js";
import { fetchModel } from "./model-fetch.js";

const base = new URL("./", import.meta.url).href;
let runtime = null; // {pyodide, ort, api, engines, threads}
let queue = Promise.resolve(); // requests run one at a time, in order

const post = (msg, transfer = []) => self.postMessage(msg, transfer);

function progress(id, stage, message, loaded, total) {
  post({ id, type: Reply.PROGRESS, stage, message, loaded, total });
}

async function fetchJSON(path) {
  const r = await fetch(new URL(path, base));
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

async function boot(id) {
  if (runtime) return runtime;
  const [build, engines] = await Promise.all([fetchJSON("build.json"), fetchJSON("engines.json")]);

  progress(id, "boot", "Starting Python (Pyodide)");
  const { loadPyodide } = await import(new URL("pyodide/pyodide.mjs", base).href);
  const pyodide = await loadPyodide({ indexURL: new URL("pyodide/", base).href });

  progress(id, "boot", "Loading numpy and Pillow");
  await pyodide.loadPackage(["numpy", "pillow", "micropip"], { messageCallback: () => {} });

  progress(id, "boot", "Loading Backgrone");
  const micropip = pyodide.pyimport("micropip");
  await micropip.install.callKwargs(new URL(`py/${build.wheel}`, base).href, { deps: false });
  micropip.destroy();
  const api = pyodide.pyimport("backgrone.webapi");

  progress(id, "boot", "Loading onnxruntime-web");
  const ort = await import(new URL("ort/ort.wasm.min.mjs", base).href);
  ort.env.wasm.wasmPaths = new URL("ort/", base).href; // must be absolute
  // WASM threads need a cross-origin isolated page; without it ort would
  // quietly fall back to one thread, so say which one we got.
  const threads = self.crossOriginIsolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)) : 1;
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false; // already off the main thread

  runtime = { pyodide, ort, api, engines, threads, build };
  return runtime;
}

const engineById = (id) => {
  const engine = runtime.engines.find((e) => e.id === id);
  if (!engine) throw new WorkerError("internal", `unknown engine ${id}`);
  return engine;
};

async function loadEngine(id, { engine: engineId }) {
  const { api, ort, pyodide } = runtime;
  if (api.loaded_engine() === engineId) return { engine: engineId, cached: true };
  const engine = engineById(engineId);
  const { bytes, sha256 } = await fetchModel(engine, base, (loaded, total) =>
    progress(id, "download", `Downloading the ${engine.label} engine`, loaded, total),
  );
  progress(id, "session", `Starting the ${engine.label} engine`);
  const options = pyodide.toPy({ executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  const info = (await api.load_engine(engine.id, bytes, ort, options)).toJs({ dict_converter: Object.fromEntries });
  options.destroy();
  return { ...info, bytes: bytes.length, sha256, sessionSeconds: info.seconds };
}

async function processImage(id, { engine, name, bytes }) {
  const { api } = runtime;
  if (api.loaded_engine() !== engine) await loadEngine(id, { engine });
  progress(id, "image", `Cutting out ${name}`);
  const proxy = await api.process(new Uint8Array(bytes), engine);
  const result = proxy.toJs({ dict_converter: Object.fromEntries });
  proxy.destroy();
  if (!result.ok) throw new WorkerError(result.code, result.message);
  const png = result.png.buffer;
  return {
    reply: {
      png,
      width: result.width,
      height: result.height,
      format: result.format,
      notes: result.notes,
      timings: result.timings,
    },
    transfer: [png],
  };
}

const handlers = {
  [Request.INIT]: async (id) => {
    const { threads, pyodide, build } = await boot(id);
    return {
      threads,
      crossOriginIsolated: self.crossOriginIsolated,
      versions: { pyodide: pyodide.version, ...build.versions },
    };
  },
  [Request.LOAD_ENGINE]: async (id, msg) => {
    await boot(id);
    return loadEngine(id, msg);
  },
  [Request.PROCESS]: async (id, msg) => {
    await boot(id);
    return processImage(id, msg);
  },
};

async function handle(msg) {
  const { id, type } = msg;
  try {
    const handler = handlers[type];
    if (!handler) throw new WorkerError("internal", `unknown request type ${type}`);
    const out = await handler(id, msg);
    const { reply, transfer } = out && out.reply ? out : { reply: out, transfer: [] };
    post({ id, type: Reply.REPLY, result: reply }, transfer);
  } catch (err) {
    const code = err.code || "internal";
    // A Python exception arrives as a PythonError whose message is the whole
    // traceback: keep its last line for the user.
    let message = String(err.message || err);
    if (err.type) message = message.trim().split("\n").pop();
    post({ id, type: Reply.ERROR, code, message });
  }
}

self.onmessage = (event) => {
  queue = queue.then(() => handle(event.data));
};
