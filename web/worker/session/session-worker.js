// The session worker: onnxruntime-web on a thread of its own, started by the
// engine worker (../worker.js). See protocol.js for the messages and why.

import { sha256 } from "../model-fetch.js";
import { ModelStore } from "../model-store.js";
import { forCpu } from "./cpu-graph.js";
import { discard } from "./discard.js";
import { keepFirstOutput } from "./prune-graph.js";
import { SessionReply, SessionRequest } from "./protocol.js";

// WebAssembly memories only ever grow, so their total is this worker's peak
// so far. onnxruntime-web makes its memory in JavaScript: count memories as
// they are made.
const memories = [];
WebAssembly.Memory = class extends WebAssembly.Memory {
  constructor(descriptor) {
    super(descriptor);
    memories.push(new WeakRef(this));
  }
};
const wasmMemory = () => memories.reduce((sum, m) => sum + (m.deref()?.buffer.byteLength ?? 0), 0);

// The site's root: this file lives in worker/session/.
const base = new URL("../../", import.meta.url).href;

// Each backend has its own bundle: ort.webgpu's WASM runtime is an asyncify
// build, twice the size of ort.wasm's, slower to start and about 9% slower on
// the CPU (docs/performance.md), so only the bundle a backend runs is
// imported, and ort.wasm later only if WebGPU fails on an engine.
const ORT_BUNDLES = { webgpu: "ort/ort.webgpu.min.mjs", wasm: "ort/ort.wasm.min.mjs" };

// Session options by backend: the peer's (docs/performance.md, "Which
// runtime"). The same masks and the same CPU per run as the optimisation level
// alone, and parallel execution lets ISNet's independent branches run at once
// where a core is free. On the CPU the level is "extended", not "all": for
// fp16 Precision "all" holds 97 MiB more for the worker's life and takes 0.3 s
// longer to make the session, for 1-3% less CPU per run and the same mask; it
// changes nothing for the uint8 engines (docs/performance.md, "The
// optimisation level on the CPU").
// One line: tests/bench/browser.py reads it, so its raw runs use the same.
const SESSION_OPTIONS = { wasm: { graphOptimizationLevel: "extended", executionMode: "parallel", enableCpuMemArena: true }, webgpu: { graphOptimizationLevel: "all", executionMode: "parallel", enableCpuMemArena: true } };

class SessionError extends Error {
  constructor(code, message, extra = {}) {
    super(message);
    this.code = code;
    this.extra = extra;
  }
}

let threads = 1;
const orts = {}; // backend -> the imported bundle
let current = null; // {engine, backend, session}
let expecting = false; // an image is on its way (a `run` or `expect` came)
let queue = Promise.resolve();

async function importOrt(backend) {
  const ort = await import(new URL(ORT_BUNDLES[backend], base).href);
  ort.env.wasm.wasmPaths = new URL("ort/", base).href; // must be absolute
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false; // already off the main thread
  return ort;
}

// The smallest model: one Identity node, a float in and out (71 bytes, made
// with onnx.helper: make_model(make_graph([make_node("Identity", ["x"], ["y"])],
// "start", x, y), opset 13, ir_version 7)).
const IDENTITY_MODEL = "CAcSADo7ChAKAXgSAXkiCElkZW50aXR5EgVzdGFydFoPCgF4EgoKCAgBEgQKAggBYg8KAXkSCgoICAESBAoCCAFCBAoAEA0=";

// onnxruntime-web compiles its WASM and starts its threads at its first
// session: make that session a trivial one now, while Python boots, so no
// engine's start pays for it (and the threads' workers are made before the
// first image, not during it).
async function startRuntime(ort) {
  const model = Uint8Array.from(atob(IDENTITY_MODEL), (c) => c.charCodeAt(0));
  const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"] });
  await session.release();
}

async function start({ backend, threads: n }) {
  threads = n;
  let note = null;
  try {
    orts[backend] ??= await importOrt(backend);
  } catch (err) {
    if (backend !== "webgpu") throw err;
    // Offline, where the service worker did not keep the WebGPU runtime
    // (the browser offered no adapter when it installed): WASM is kept.
    backend = "wasm";
    orts.wasm ??= await importOrt("wasm");
    note = "The WebGPU runtime could not be loaded (offline?): the engines run on WASM.";
  }
  await startRuntime(orts[backend]);
  return { backend, note };
}

// The stored model's bytes, and a promise of whether they check out (size,
// and the pinned sha256, else the one recorded at its download), to be
// awaited before the session is used: the digest runs beside the session's
// creation instead of before it.
async function readStored(engine) {
  let meta, bytes;
  try {
    const store = await ModelStore.open();
    meta = store && (await store.meta(engine.id));
    bytes = meta && (await store.bytes(engine.id));
  } catch {
    meta = null;
  }
  if (!meta || !bytes) throw new SessionError("not-stored", `The ${engine.label} engine is not stored.`);
  const want = engine.sha256 ?? meta.sha256;
  const ok = bytes.length === meta.size ? sha256(bytes).then((d) => d === want) : Promise.resolve(false);
  return { bytes, ok };
}

const badCopy = (engine) => new SessionError("bad-copy", `The stored ${engine.label} engine failed its check.`);

const shapeOf = (meta) => (meta?.isTensor ? Array.from(meta.shape) : null);

async function create(ort, bytes, backend) {
  const options = { executionProviders: [backend], ...SESSION_OPTIONS[backend] };
  if (backend === "wasm") {
    // On the CPU, the same network with a lower peak (cpu-graph.js); should
    // onnxruntime refuse the rewritten graph, the model as it is.
    const lower = forCpu(bytes).bytes;
    if (lower.buffer !== bytes.buffer) {
      try {
        return await ort.InferenceSession.create(lower, options);
      } catch (err) {
        console.warn("The rewritten graph was refused; the model runs as it is:", err);
      } finally {
        discard(lower); // the session has its own copy
      }
    }
  }
  const session = await ort.InferenceSession.create(bytes, options);
  if (backend === "webgpu") {
    // WebGPU kernels that cannot run a node fail at the first run, not at
    // creation: make that run now, so that WASM can still take over (it
    // also compiles the shaders before the first image).
    try {
      await blankRun(ort, session);
    } catch (err) {
      await session.release();
      throw err;
    }
  }
  return session;
}

async function blankRun(ort, session) {
  const name = session.inputNames[0];
  const dims = session.inputMetadata?.[0]?.shape?.map((d) => (typeof d === "number" && d > 0 ? d : 1)) ?? [1, 3, 1024, 1024];
  const feed = new ort.Tensor("float32", new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
  const out = await session.run({ [name]: feed }, [session.outputNames[0]]);
  out[session.outputNames[0]].dispose();
  feed.dispose();
}

async function open({ engine, backends, bytes, warmUp }) {
  await release();
  const t0 = performance.now();
  let ok = null;
  if (!bytes) ({ bytes, ok } = await readStored(engine));
  // Rewritten in place, after the digest took its copy: from here on `bytes`
  // is the trimmed model (also what a needs-fp32 reply hands back).
  bytes = keepFirstOutput(bytes).bytes;
  const read = (performance.now() - t0) / 1000;
  let note = null;
  let lastError = null;
  const t1 = performance.now();
  for (const backend of backends) {
    let session;
    try {
      orts[backend] ??= await importOrt(backend);
      session = await create(orts[backend], bytes, backend);
    } catch (err) {
      if (ok && !(await ok)) throw badCopy(engine);
      const message = String(err?.message ?? err).trim();
      // A GPU without fp16 shaders ("shader-f16") cannot run fp16 weights
      // (Precision): the engine worker widens them to fp32 and asks again.
      if (backend === "webgpu" && /f16/.test(message)) {
        throw new SessionError("needs-fp32", message, { bytes });
      }
      lastError = new SessionError("bad-model", `The ${engine.label} model could not be loaded: ${message}`);
      if (backend === "webgpu") {
        note = `WebGPU could not run the ${engine.label} engine (${message.split("\n").pop()}); it runs on WASM instead.`;
      }
      continue;
    }
    if (ok && !(await ok)) {
      await session.release();
      throw badCopy(engine);
    }
    discard(bytes); // the digest and the session have their own copies
    current = { engine: engine.id, backend, session, ort: orts[backend] };
    const seconds = (performance.now() - t1) / 1000;
    const warm = Boolean(warmUp) && backend === "wasm";
    if (warm) queue = queue.then(warmUpRun);
    return {
      engine: engine.id,
      backend,
      note,
      input: session.inputNames[0],
      output: session.outputNames[0],
      inputShape: shapeOf(session.inputMetadata?.[0]),
      outputShape: shapeOf(session.outputMetadata?.[0]),
      seconds,
      read,
      warmUp: warm,
    };
  }
  throw lastError;
}

// One run on a blank input while nothing waits: onnxruntime-web's first run of
// a session is 0.5-1.7 s slower than the next ones (docs/performance.md). A
// run cannot be stopped once begun, so it begins only if no image is on its
// way; messages that came while the session was created are read first.
async function warmUpRun() {
  await new Promise((resolve) => setTimeout(resolve, 0));
  if (expecting || !current) return;
  const start = performance.now();
  await blankRun(current.ort, current.session).catch(() => {});
  // Shown in a profile (and read by tests/e2e/test_app.py): when it ran.
  performance.measure("warm-up", { start });
}

async function run({ input, dims }) {
  if (!current) throw new SessionError("internal", "no engine session is open");
  const { ort, session } = current;
  const feed = new ort.Tensor("float32", input, dims);
  const name = session.outputNames[0];
  try {
    // Fetch the first output alone (a model the trim left as it was may declare more).
    const t0 = performance.now();
    const results = await session.run({ [session.inputNames[0]]: feed }, [name]);
    const seconds = (performance.now() - t0) / 1000;
    const out = results[name];
    const output = out.data;
    const outDims = Array.from(out.dims);
    out.dispose();
    return { reply: { output, dims: outDims, seconds, memory: wasmMemory() }, transfer: [output.buffer] };
  } finally {
    feed.dispose();
  }
}

async function release() {
  const was = current;
  current = null;
  if (was) await was.session.release();
  return {};
}

const handlers = {
  [SessionRequest.START]: start,
  [SessionRequest.OPEN]: open,
  [SessionRequest.RUN]: run,
  [SessionRequest.RELEASE]: release,
};

let port = null; // the channel to the engine worker (see `connect` in protocol.js)

async function handle(msg) {
  const { id, type } = msg;
  try {
    const handler = handlers[type];
    if (!handler) throw new SessionError("internal", `unknown session request ${type}`);
    const out = await handler(msg);
    const { reply, transfer } = out && out.reply ? out : { reply: out, transfer: [] };
    port.postMessage({ id, type: SessionReply.REPLY, result: reply }, transfer);
  } catch (err) {
    const extra = err.extra ?? {};
    const transfer = extra.bytes ? [extra.bytes.buffer] : [];
    port.postMessage({ id, type: SessionReply.ERROR, code: err.code ?? "internal", message: String(err.message ?? err), ...extra }, transfer);
  }
}

function receive(event) {
  const msg = event.data;
  if (msg.type === SessionRequest.RUN || msg.type === SessionRequest.EXPECT) expecting = true;
  if (msg.type === SessionRequest.EXPECT) return;
  queue = queue.then(() => handle(msg));
}

// The page's one message: the channel to the engine worker.
self.onmessage = (event) => {
  if (event.data?.type !== SessionRequest.CONNECT) return;
  port = event.data.port;
  port.onmessage = receive;
};
