// Times Precision's fp16 -> fp32 conversion in Pyodide, the way the engine
// worker does it for a GPU without fp16 shaders (backgrone.inference.web).
const here = new URL("./", self.location.href).href;

self.onmessage = async ({ data: cfg }) => {
  try {
    const build = await (await fetch(here + "build.json")).json();
    const { loadPyodide } = await import(here + "pyodide/pyodide.mjs");
    // As the engine worker loads them: the packages and Backgrone's wheel with Pyodide.
    const pyodide = await loadPyodide({ indexURL: here + "pyodide/", packages: ["numpy", "pillow", here + `py/${build.wheel}`] });
    const bytes = new Uint8Array(await (await fetch(here + cfg.model)).arrayBuffer());
    const heap = () => pyodide._module.HEAPU8.length / 2 ** 20;
    const out = { heapBeforeMiB: heap(), runs: [] };
    const convert = pyodide.runPython("from backgrone.inference.web import fp32_model; fp32_model");
    for (let i = 0; i < cfg.runs; i++) {
      const t = performance.now();
      const fp32 = convert(bytes);
      out.runs.push(performance.now() - t);
      out.size = fp32.length;
    }
    out.heapAfterMiB = heap();
    self.postMessage(out);
  } catch (err) {
    self.postMessage({ error: String(err?.stack ?? err) });
  }
};
