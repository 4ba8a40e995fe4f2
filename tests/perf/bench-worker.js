// Measures onnxruntime-web alone, in a worker like the app's: bundle import,
// session creation, and session.run on one preprocessed image. The page may
// keep several of these workers (other bundles, backends, thread counts) and
// call them in turn, so every variant sees the same machine load.
const here = new URL("./", self.location.href).href;
let ort = null;
const sessions = new Map();

function toBase64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

async function setup(cfg) {
  const out = { adapter: null, sessions: {} };
  if (cfg.ep === "webgpu") {
    const adapter = await navigator.gpu?.requestAdapter();
    if (!adapter) throw new Error("no WebGPU adapter");
    out.adapter = `${adapter.info?.vendor} ${adapter.info?.architecture} ${adapter.info?.description}`.trim();
  }
  let t = performance.now();
  // One release per folder (cfg.dir), its WASM files beside its bundles.
  const dir = new URL(cfg.dir ?? "./", here).href;
  ort = await import(dir + cfg.bundle);
  ort.env.wasm.wasmPaths = dir;
  ort.env.wasm.numThreads = cfg.threads;
  ort.env.wasm.proxy = false;
  out.importMs = performance.now() - t;
  self.input = new Float32Array(await (await fetch(here + cfg.input)).arrayBuffer());
  for (const m of cfg.models) {
    const bytes = new Uint8Array(await (await fetch(here + m.url)).arrayBuffer());
    t = performance.now();
    const options = { executionProviders: [cfg.ep], ...(cfg.options ?? {}) };
    const s = await ort.InferenceSession.create(bytes, options);
    out.sessions[m.name] = performance.now() - t;
    sessions.set(m.name, s);
  }
  return out;
}

async function runOnce(name, keepMask) {
  const s = sessions.get(name);
  const feed = new ort.Tensor("float32", self.input, [1, 3, 1024, 1024]);
  const t = performance.now();
  const r = await s.run({ [s.inputNames[0]]: feed }, [s.outputNames[0]]);
  const data = r[s.outputNames[0]].data;
  const ms = performance.now() - t;
  if (!keepMask) return { ms };
  const q = new Uint8Array(data.length);
  for (let j = 0; j < data.length; j++) q[j] = Math.round(Math.min(1, Math.max(0, data[j])) * 255);
  return { ms, mask: toBase64(q) };
}

self.onmessage = async ({ data }) => {
  try {
    const result = data.op === "setup" ? await setup(data.cfg) : await runOnce(data.model, data.keepMask);
    self.postMessage({ result });
  } catch (err) {
    self.postMessage({ error: String(err?.stack ?? err) });
  }
};
