// Times Python's start in a worker, the engine worker's way before and after
// the packages came with Pyodide's own start (tests/perf/py_start.py).
const here = new URL("./", self.location.href).href;

self.onmessage = async ({ data: cfg }) => {
  try {
    const build = await (await fetch(here + "build.json")).json();
    const wheel = here + `py/${build.wheel}`;
    const t = [performance.now()];
    const { loadPyodide } = await import(here + "pyodide/pyodide.mjs");
    let pyodide;
    if (cfg.way === "before") {
      // As shipped before: Pyodide, then the packages, then micropip installs the wheel.
      pyodide = await loadPyodide({ indexURL: here + "pyodide/" });
      t.push(performance.now());
      await pyodide.loadPackage(["numpy", "pillow", "micropip"], { messageCallback: () => {} });
      const micropip = pyodide.pyimport("micropip");
      await micropip.install.callKwargs(wheel, { deps: false });
      micropip.destroy();
    } else {
      // The packages and the wheel download while Pyodide starts.
      pyodide = await loadPyodide({ indexURL: here + "pyodide/", packages: ["numpy", "pillow", wheel] });
      t.push(performance.now());
    }
    t.push(performance.now());
    pyodide.pyimport("backgrone.webapi");
    t.push(performance.now());
    // What the first cutout no longer imports (webapi imports them when asked for).
    pyodide.runPython("import backgrone.compose, backgrone.arena");
    t.push(performance.now());
    const s = (i) => (t[i + 1] - t[i]) / 1000;
    self.postMessage({ pyodide: s(0), packages: s(1), webapi: s(2), later: s(3), total: (t[3] - t[0]) / 1000 });
  } catch (err) {
    self.postMessage({ error: String(err?.stack ?? err) });
  }
};
