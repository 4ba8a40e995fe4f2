// The engine worker: Pyodide (the image work, in Python) and the model store
// live here, never on the page's thread; onnxruntime-web (the network) runs in
// a worker of its own beside this one, the session worker
// (session/session-worker.js, which the page makes and connects to this one),
// so that an engine's start runs beside Python's.
// See ../shared/protocol.js for the page's messages, session/protocol.js for
// the session worker's.

import { Reply, Request, WorkerError } from "../shared/protocol.js";
import { fetchModel, sha256 } from "./model-fetch.js";
import { ModelStore } from "./model-store.js";
import { SessionClient } from "./session/session-client.js";
import { HeifError, decodeHeif } from "./heic.js";
import { dropKept, readKept, writeKept } from "./python-cache.js";
import { packFiles, unpackFiles, writeFiles } from "./python-bytecode.js";
import { isHeif } from "../shared/formats.js";

// WebAssembly memories only ever grow, so their total is the workers' peak so
// far: Python's (Pyodide's heap, made inside its module: ask it) and
// onnxruntime's (the session worker's, as its last run reported), in bytes.
const wasmMemoryParts = () => ({
  python: runtime?.pyodide._module?.HEAPU8?.byteLength ?? 0,
  onnxruntime: sessions?.memory ?? 0,
});
const wasmMemory = () => {
  const { python, onnxruntime } = wasmMemoryParts();
  return python + onnxruntime;
};

// The site's root: this file lives in worker/.
const base = new URL("../", import.meta.url).href;
let runtime = null; // {pyodide, api, engines, threads, build, backend, session}
let store = null; // ModelStore, or null where IndexedDB is unavailable
let sessions = null; // SessionClient: the session worker
let imageWaiting = false; // the page has an image waiting (an `expect` or `process` came)
let queue = Promise.resolve(); // requests run one at a time, in order
const downloads = new Map(); // request id -> AbortController, for "cancel"

const post = (msg, transfer = []) => self.postMessage(msg, transfer);

function progress(id, stage, message, extra = {}) {
  post({ id, type: Reply.PROGRESS, stage, message, ...extra });
}

async function fetchJSON(path) {
  const r = await fetch(new URL(path, base));
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

// A Python copy of a JS value for the length of one call, then freed.
async function withPy(value, use) {
  const py = runtime.pyodide.toPy(value);
  try {
    return await use(py);
  } finally {
    py.destroy();
  }
}

const toJs = (proxy) => {
  const value = proxy.toJs({ dict_converter: Object.fromEntries });
  proxy.destroy();
  return value;
};

// Which onnxruntime-web backend runs the engines: "webgpu" or "wasm".
// `requested` is "auto" (the default), or "webgpu"/"wasm" forced by the page
// (its ?backend= parameter). In auto mode a software WebGPU adapter
// (SwiftShader, llvmpipe, WARP, or one the browser calls a fallback adapter)
// is passed over: it emulates the GPU on the same CPU, where WASM runs these
// engines several times faster. Forced "webgpu" uses it anyway; forced "wasm"
// never asks for an adapter, for users with a bad GPU driver.
async function chooseBackend(requested) {
  const want = requested === "webgpu" || requested === "wasm" ? requested : "auto";
  const choice = { id: "wasm", requested: want, adapter: null, note: null };
  if (want === "wasm") return choice;
  const adapter = await navigator.gpu?.requestAdapter().catch(() => null);
  if (!adapter) {
    if (want === "webgpu") choice.note = "This browser offers no WebGPU adapter: the engines run on WASM.";
    return choice;
  }
  const info = adapter.info ?? {};
  choice.adapter = [info.vendor, info.architecture, info.description].filter(Boolean).join(" ") || "unnamed";
  const software =
    info.isFallbackAdapter === true ||
    adapter.isFallbackAdapter === true ||
    /swiftshader|llvmpipe|lavapipe|softpipe|warp|basic render|software/i.test(choice.adapter);
  if (want === "auto" && software) return choice;
  return { ...choice, id: "webgpu" };
}

const backendLabel = (backend, threads) =>
  backend === "webgpu" ? "WebGPU" : `WASM, ${threads} thread${threads > 1 ? "s" : ""}`;

// The backends to try for an engine, in order: WebGPU (where chosen), then WASM.
const backendsFor = (backend) => (backend === "webgpu" ? ["webgpu", "wasm"] : ["wasm"]);

// Everything before the first request can run: the session worker and its
// onnxruntime-web bundle, the early start of the page's engine (both beside
// Python's start), then Pyodide with numpy, Pillow and Backgrone.
async function boot(id, { backend: requestedBackend = "auto", engine: likely = null } = {}) {
  if (runtime) return runtime;
  const [build, engines] = await Promise.all([fetchJSON("build.json"), fetchJSON("engines.json")]);
  store = await ModelStore.open();
  // WASM threads need a cross-origin isolated page; without it ort would
  // quietly fall back to one thread, so say which one we got.
  const threads = self.crossOriginIsolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)) : 1;
  let backend = await chooseBackend(requestedBackend);
  if (!sessions) throw new WorkerError("internal", "no channel to the session worker (the page sends `connect` first)");
  const started = sessions.start(backend.id, threads);
  early = openEarly(engines, likely, started); // beside Pyodide's start (see below)

  progress(id, "boot", "Starting Python (Pyodide)", { step: 1, steps: 3 });
  const { pyodide, python, bytecode } = await startPython(build);

  progress(id, "boot", "Loading Backgrone", { step: 2, steps: 3 });
  let api;
  try {
    api = pyodide.pyimport("backgrone.webapi");
  } catch (err) {
    if (python === "snapshot") await dropKept("snapshot"); // the next start is a fresh one
    if (bytecode > 0) await dropKept("bytecode");
    throw err;
  }

  progress(id, "boot", "Loading onnxruntime-web", { step: 3, steps: 3 });
  const loaded = await started;
  if (loaded.backend !== backend.id) backend = { ...backend, id: loaded.backend, note: loaded.note };

  runtime = { pyodide, api, engines, threads, build, backend, python, bytecode, session: null };
  return runtime;
}

// The standard library's modules that loading the packages and importing
// Backgrone would otherwise compile from source on every start (Pyodide's
// standard library holds no bytecode): imported before the snapshot is taken,
// so that a restored Python has them already. SNAPSHOT_FORM names what a
// snapshot holds; a stored one of another form is replaced.
const SNAPSHOT_IMPORTS = [
  "tarfile", "importlib.metadata", "sysconfig", "platform", "email", "encodings.cp437",
  "ctypes", "datetime", "pickle", "numbers",
];
const SNAPSHOT_FORM = "imports-1";

// Pyodide, then numpy, Pillow and Backgrone's wheel, their modules' bytecode
// from an earlier visit written back before anything is imported. `python`
// says how Python started: "snapshot" (a stored snapshot of a freshly started
// Python was restored, python-cache.js) or "fresh" (Python started, and a
// snapshot of it, taken before any package, is being kept for the next
// visits); `bytecode` how many compiled modules were written back (0: none
// kept, Python writes its own as it imports, and keepBytecode keeps them).
async function startPython(build) {
  const { loadPyodide } = await import(new URL("pyodide/pyodide.mjs", base).href);
  const indexURL = new URL("pyodide/", base).href;
  const version = `${build.versions.pyodide}/${SNAPSHOT_FORM}`;
  const kept = readKept("bytecode", bytecodeVersion(build)); // read beside Python's start
  const saved = await readKept("snapshot", version);
  if (saved) {
    try {
      const pyodide = await loadPyodide({ indexURL, _loadSnapshot: saved });
      await loadPackages(pyodide, build);
      return { pyodide, python: "snapshot", bytecode: writeBytecode(pyodide, await kept) };
    } catch {
      await dropKept("snapshot"); // unusable (another build's, or damaged): start afresh below
    }
  }
  const pyodide = await loadPyodide({ indexURL, _makeSnapshot: true });
  pyodide.runPython(SNAPSHOT_IMPORTS.map((name) => `import ${name}`).join("\n"));
  try {
    // Kept while the packages load; a failure to keep it costs only the next visit's gain.
    writeKept("snapshot", version, pyodide.makeMemorySnapshot()).catch(() => {});
  } catch {
    // no snapshot this time
  }
  await loadPackages(pyodide, build);
  return { pyodide, python: "fresh", bytecode: writeBytecode(pyodide, await kept) };
}

// Before the packages load. Pyodide turns bytecode writing off; on, Python
// leaves a .pyc beside each module it compiles, which keepBytecode keeps for
// the next visits. And Pyodide loads every shared library of a package as it
// installs it (numpy's 13 and Pillow's 6, 7 MB), where the first cutout needs
// three: left to load when Python imports them (at once, as a worker may),
// the others load only if asked for (numpy.random, Pillow's fonts and WebP).
// should_load_dynlib is Pyodide's own (pinned) choice of what to load early.
const BEFORE_PACKAGES = `
import sys
sys.dont_write_bytecode = False
import pyodide._package_loader
pyodide._package_loader.should_load_dynlib = lambda path: False
`;

async function loadPackages(pyodide, build) {
  pyodide.runPython(BEFORE_PACKAGES);
  const packages = ["numpy", "pillow", new URL(`py/${build.wheel}`, base).href];
  await pyodide.loadPackage(packages, { messageCallback: () => {} });
}

// The kept bytecode is valid for these packages (and checked against each
// module's source as it is imported: py/backgrone/bytecode.py).
const bytecodeVersion = (build) =>
  [build.versions.pyodide, build.versions.numpy, build.versions.pillow, build.wheelSha256].join("/");

function writeBytecode(pyodide, blob) {
  if (!blob) return 0;
  try {
    return writeFiles(pyodide.FS, unpackFiles(blob));
  } catch {
    dropKept("bytecode"); // not a blob of ours: Python compiles the sources, and a new one is kept
    return 0;
  }
}

// Once, after the first cutout on a page whose Python had no kept bytecode:
// the .pyc files Python wrote as it imported, kept for the next visits.
let bytecodeKept = false;

async function keepBytecode() {
  if (bytecodeKept || !runtime || runtime.bytecode > 0) return;
  bytecodeKept = true;
  try {
    const found = runtime.pyodide.pyimport("backgrone.bytecode").compiled_modules();
    const files = found.toJs();
    found.destroy();
    if (files.length) await writeKept("bytecode", bytecodeVersion(runtime.build), packFiles(files));
  } catch {
    // not kept: the next visit compiles the modules, as this one did
  }
}

// -- early start: the first image after a page load waits less -------------
// While Pyodide boots, the session worker reads the engine the page expects to
// use first (init's `engine`) from IndexedDB, checks it and starts its session;
// right after the init reply Python takes that session, ahead of any request.
// Unless an image is already waiting, the session worker then makes one
// warm-up run. If the engine is not stored, or the page asks for another, the
// usual path loads it.
let early = null; // Promise of {engine, info} or null

async function openEarly(engines, engineId, started) {
  const engine = engineId && store && engines.find((e) => e.id === engineId);
  if (!engine) return null;
  try {
    const { backend } = await started;
    const info = await sessions.open(engine, backendsFor(backend), { warmUp: !imageWaiting });
    return { engine, info };
  } catch {
    return null; // not stored, a bad copy, or no session: left to the usual path, which says why
  }
}

async function takeEarly() {
  const found = await early;
  early = null;
  if (!found || runtime.api.loaded_engine()) return null;
  try {
    return await attach(found.engine, found.info);
  } catch {
    return null;
  }
}

const engineById = (id) => {
  const engine = runtime.engines.find((e) => e.id === id);
  if (!engine) throw new WorkerError("internal", `unknown engine ${id}`);
  return engine;
};

// -- the model store ---------------------------------------------------------
// This worker writes it; the session worker reads it too (for the early start).

// A stored model's bytes and whether they still check out: its recorded size,
// and the pinned sha256 where there is one, else the one recorded at its
// first download. null when nothing is stored or the store fails to read.
async function readStored(engine) {
  if (!store) return null;
  try {
    const meta = await store.meta(engine.id);
    if (!meta) return null;
    const bytes = await store.bytes(engine.id);
    const ok = !!bytes && bytes.length === meta.size && (await sha256(bytes)) === (engine.sha256 ?? meta.sha256);
    return { bytes, ok };
  } catch {
    return null; // a store that fails to read: download instead
  }
}

const removedNotice = (engine) => `The stored ${engine.label} engine failed its check and was removed; downloading it again`;

// A stored model is used only if its bytes still check out; a bad copy is
// removed and the user told.
async function storedModel(id, engine) {
  const stored = await readStored(engine);
  if (!stored) return null;
  if (stored.ok) return stored.bytes;
  await store.delete(engine.id);
  progress(id, "download", removedNotice(engine), { notice: true });
  return null;
}

async function keep(id, engine, bytes, digest, source) {
  if (!store) return "This browser offers no storage here (private window?): the engine will be downloaded again next time.";
  try {
    await store.put(engine.id, bytes, { sha256: digest, source, label: engine.label });
    await navigator.storage?.persist?.().catch(() => false);
    return null;
  } catch (err) {
    const full = err?.name === "QuotaExceededError";
    return full
      ? `Not enough storage to keep the ${engine.label} engine: it works now and will be downloaded again next time.`
      : `The ${engine.label} engine could not be stored (${err?.message ?? err}): it will be downloaded again next time.`;
  }
}

async function download(id, engine) {
  const controller = new AbortController();
  downloads.set(id, controller);
  try {
    const { bytes, sha256: digest, notices } = await fetchModel(
      engine,
      base,
      (loaded, total, note) =>
        progress(id, "download", note ?? `Downloading the ${engine.label} engine`, { engine: engine.id, loaded, total }),
      controller.signal,
      (notice) => progress(id, "download", notice, { engine: engine.id, notice: true }),
    );
    const stored = await keep(id, engine, bytes, digest, engine.source);
    const warning = [...notices, stored].filter(Boolean).join(" ") || null;
    return { bytes, warning };
  } finally {
    downloads.delete(id);
  }
}

async function loadEngine(id, engineId) {
  const { api } = runtime;
  if (api.loaded_engine() !== engineId && early) await takeEarly();
  if (api.loaded_engine() === engineId) return { engine: engineId, backend: runtime.session?.backend, warning: null };
  const engine = engineById(engineId);
  progress(id, "session", `Starting the ${engine.label} engine`);
  if (store) {
    // The stored copy, read and checked by the session worker while it
    // starts the session.
    try {
      return { ...(await startSession(id, engine, null)), warning: null };
    } catch (err) {
      if (err.code === "bad-copy") {
        await store.delete(engine.id);
        progress(id, "download", removedNotice(engine), { notice: true });
      } else if (err.code !== "not-stored") throw err;
    }
  }
  const { bytes, warning } = await download(id, engine);
  return { ...(await startSession(id, engine, bytes)), warning };
}

// Python takes the session the session worker opened; its figures are the
// reply of loadEngine and importEngine.
async function attach(engine, info) {
  const { api, threads } = runtime;
  const remote = sessions.remote;
  const taken = toJs(await api.load_engine(engine.id, remote, info));
  const backend = backendLabel(info.backend, threads);
  runtime.session = { engine: engine.id, backend };
  return { ...taken, backend, note: info.note ?? null };
}

// Start the engine (bytes: its checked model, or null to read the stored copy)
// on the chosen backend; if WebGPU cannot create or run it, on WASM, with a
// note saying so. (A model that is itself broken fails on WASM too, and that
// error is the one reported.) On a GPU without fp16 shaders, fp16 weights
// are widened to fp32 in memory first; the stored file stays as it is.
async function startSession(id, engine, bytes) {
  const { api, backend } = runtime;
  if (api.loaded_engine()) await api.unload_engine();
  let info;
  try {
    info = await sessions.open(engine, backendsFor(backend.id), { bytes });
  } catch (err) {
    if (err.code !== "needs-fp32") throw err;
    info = await sessions.open(engine, backendsFor(backend.id), { bytes: api.widen_model(err.bytes) });
  }
  return attach(engine, info);
}

async function storageInfo() {
  const estimate = (await navigator.storage?.estimate?.().catch(() => null)) ?? {};
  return {
    available: store !== null,
    stored: store ? await store.list().catch(() => []) : [],
    usage: estimate.usage ?? null,
    quota: estimate.quota ?? null,
    persisted: (await navigator.storage?.persisted?.().catch(() => false)) ?? false,
  };
}

// -- Python calls ------------------------------------------------------------

// Python answers {ok: false, code, message} for the user's own mistakes.
function unwrap(result) {
  if (!result.ok) throw new WorkerError(result.code, result.message);
  return result;
}

async function processImage(id, { engine, name, bytes, copySide = 0 }) {
  const { api } = runtime;
  const t0 = performance.now();
  const loaded = await loadEngine(id, engine);
  // Reading, checking and starting the engine, when this image needed it.
  const engineStart = loaded.seconds === undefined ? 0 : (performance.now() - t0) / 1000;
  progress(id, "image", `Cutting out ${name}`);
  const r = unwrap(toJs(await api.process(new Uint8Array(bytes), engine, copySide)));
  const png = r.png.buffer;
  const mask = r.mask.buffer;
  const rawMask = r.rawMask.buffer;
  const copy = r.copy?.buffer ?? null;
  return {
    reply: {
      png,
      mask,
      rawMask,
      copy,
      width: r.width,
      height: r.height,
      format: r.format,
      notes: r.notes,
      timings: r.timings,
      engineStart,
      memory: wasmMemory(),
      memoryParts: wasmMemoryParts(),
      backend: runtime.session?.backend ?? null,
      warning: [loaded.warning, loaded.note].filter(Boolean).join(" ") || null,
    },
    transfer: copy ? [png, mask, rawMask, copy] : [png, mask, rawMask],
  };
}

// A HEIC photo or an image over the size limit, as a PNG the engines take
// (see protocol.js: convert).
async function convert(id, { bytes, reduce = false }) {
  const data = new Uint8Array(bytes);
  let px = null;
  if (isHeif(data)) {
    progress(id, "image", "Decoding the HEIC photo");
    try {
      px = await decodeHeif(data);
    } catch (err) {
      if (err instanceof HeifError) throw new WorkerError("bad-image", err.message);
      throw err;
    }
  }
  const r = unwrap(
    toJs(
      runtime.api.convert(
        px ? undefined : data,
        px?.pixels,
        px?.width ?? 0,
        px?.height ?? 0,
        px?.channels ?? 3,
        px?.icc ?? undefined,
        px?.images ?? 1,
        reduce,
      ),
    ),
  );
  const out = r.bytes.buffer;
  return { reply: { bytes: out, width: r.width, height: r.height, format: r.format, notes: r.notes }, transfer: [out] };
}

async function render(id, { bytes, mask, maskSize, options, background, format, maxSide }) {
  return withPy(options, async (opts) => {
    const r = unwrap(
      toJs(
        await runtime.api.render(
          new Uint8Array(bytes),
          new Uint8Array(mask),
          opts,
          // undefined, not null: Pyodide turns null into jsnull, undefined into None.
          background ? new Uint8Array(background) : undefined,
          format,
          maxSide ?? undefined,
          maskSize ?? undefined,
        ),
      ),
    );
    const out = r.bytes.buffer;
    return { reply: { bytes: out, mime: r.mime }, transfer: [out] };
  });
}

// The photo at a screen's size, for low-memory mode's view.
async function preview(id, { bytes, maxSide }) {
  const r = unwrap(toJs(runtime.api.preview(new Uint8Array(bytes), maxSide)));
  const out = r.bytes.buffer;
  return { reply: { bytes: out, mime: r.mime }, transfer: [out] };
}

// The editor's edge-aware brush on one stroke's crop.
async function refineStroke(id, { rgba, mask, width, height, radius }) {
  const r = unwrap(toJs(runtime.api.refine_stroke(new Uint8Array(rgba), new Uint8Array(mask), width, height, radius)));
  const out = r.mask.buffer;
  return { reply: { mask: out }, transfer: [out] };
}

async function makeZip(id, { entries }) {
  return withPy(entries.map((e) => [e.name, new Uint8Array(e.bytes)]), async (list) => {
    const r = unwrap(toJs(await runtime.api.make_zip(list)));
    const out = r.bytes.buffer;
    return { reply: { bytes: out }, transfer: [out] };
  });
}

// -- the Engine Arena ----------------------------------------------------------

async function compare(id, { masks }) {
  return withPy(masks.map((m) => [m.engine, new Uint8Array(m.mask)]), async (list) => {
    const r = unwrap(toJs(runtime.api.compare(list)));
    const consensus = r.consensus.buffer;
    const heat = Object.fromEntries(Object.entries(r.heat).map(([engine, png]) => [engine, png.buffer]));
    return { reply: { pairs: r.pairs, consensus, heat }, transfer: [consensus, ...Object.values(heat)] };
  });
}

async function arenaExport(id, { bytes, columns, figures }) {
  return withPy(columns.map((c) => [c.title, new Uint8Array(c.mask), c.lines]), async (list) => {
    const r = unwrap(
      toJs(runtime.api.arena_export(bytes ? new Uint8Array(bytes) : undefined, list, JSON.stringify(figures))),
    );
    const png = r.png ? r.png.buffer : null;
    return { reply: { png, csv: r.csv, json: r.json }, transfer: png ? [png] : [] };
  });
}

async function importEngine(id, { engine: engineId, bytes }) {
  const engine = engineById(engineId);
  const data = new Uint8Array(bytes);
  const digest = await sha256(data);
  if (engine.sha256 && digest !== engine.sha256) {
    throw new WorkerError(
      "bad-model",
      `This file is not the ${engine.label} engine's model: its checksum differs from the one this site pins.`,
    );
  }
  // Starting a session checks the file against the engine's input and output
  // shapes before anything is stored (the session worker gets a copy: the
  // bytes it is given are transferred).
  const info = await startSession(id, engine, data.slice());
  const warning = await keep(id, engine, data, digest, "imported");
  return { ...info, sha256: digest, warning };
}

const handlers = {
  [Request.INIT]: async (id) => {
    const { threads, pyodide, build, backend } = await boot(id);
    queue = queue.then(takeEarly); // after this reply, before the next request
    return {
      threads,
      backend: backendLabel(backend.id, threads),
      backendId: backend.id,
      requestedBackend: backend.requested,
      adapter: backend.adapter,
      backendNote: backend.note,
      crossOriginIsolated: self.crossOriginIsolated,
      python: runtime.python,
      bytecode: runtime.bytecode,
      versions: { pyodide: pyodide.version, ...build.versions },
      storage: await storageInfo(),
    };
  },
  [Request.LOAD_ENGINE]: async (id, msg) => loadEngine(id, msg.engine),
  [Request.DOWNLOAD_ENGINE]: async (id, msg) => {
    const engine = engineById(msg.engine);
    if (await storedModel(id, engine)) return { engine: engine.id, warning: null };
    const { warning } = await download(id, engine);
    return { engine: engine.id, warning };
  },
  [Request.DELETE_ENGINE]: async (id, msg) => {
    if (runtime.api.loaded_engine() === msg.engine) await runtime.api.unload_engine();
    if (store) await store.delete(msg.engine);
    return storageInfo();
  },
  [Request.IMPORT_ENGINE]: importEngine,
  [Request.STORAGE]: async () => storageInfo(),
  [Request.PROCESS]: processImage,
  [Request.CONVERT]: convert,
  [Request.RENDER]: render,
  [Request.PREVIEW]: preview,
  [Request.REFINE_STROKE]: refineStroke,
  [Request.ZIP]: makeZip,
  [Request.COMPARE]: compare,
  [Request.ARENA_EXPORT]: arenaExport,
};

function isOutOfMemory(err, message) {
  return (
    err?.type === "MemoryError" ||
    /out of memory|could not allocate|allocation failed|bad_alloc|failed to allocate|Maximum memory size exceeded/i.test(message)
  );
}

async function handle(msg) {
  const { id, type } = msg;
  try {
    const handler = handlers[type];
    if (!handler) throw new WorkerError("internal", `unknown request type ${type}`);
    await boot(id, msg);
    const out = await handler(id, msg);
    const { reply, transfer } = out && out.reply ? out : { reply: out, transfer: [] };
    post({ id, type: Reply.REPLY, result: reply }, transfer);
    if (type === Request.PROCESS) queue = queue.then(keepBytecode); // after the requests already waiting
  } catch (err) {
    let code = err.code || "internal";
    // A Python exception arrives as a PythonError whose message is the whole
    // traceback: keep its last line.
    let message = String(err.message || err);
    if (err.type) message = message.trim().split("\n").pop();
    // Out of memory, or a runtime that can no longer run: the page starts a
    // new worker, and a new session worker (see engine-client.js).
    if (code === "internal" && isOutOfMemory(err, message)) {
      code = "memory";
      message =
        "The engine ran out of memory on this image. Try a smaller image, or the Lightweight engine, " +
        "which needs the least memory; the engine was restarted.";
    } else if (err.pyodide_fatal_error) {
      code = "crashed";
      message = `The engine stopped unexpectedly (${message}) and was restarted.`;
    }
    post({ id, type: Reply.ERROR, code, message });
  }
}

self.onmessage = (event) => {
  const msg = event.data;
  // The channel to the session worker, which the page made beside this one.
  if (msg.type === Request.CONNECT) {
    sessions = new SessionClient(msg.port);
    return;
  }
  // Cancelling must not wait behind the request it cancels.
  if (msg.type === Request.CANCEL) {
    downloads.get(msg.target)?.abort();
    return;
  }
  // An image is waiting: no warm-up run may begin (it could not be stopped).
  if (msg.type === Request.EXPECT || msg.type === Request.PROCESS) {
    imageWaiting = true;
    sessions?.expect();
    if (msg.type === Request.EXPECT) return;
  }
  queue = queue.then(() => handle(msg));
};
