// Python's start under Node, from Pyodide snapshots, variants alternating in
// one process: how long loading numpy, Pillow and Backgrone's wheel and then
// importing backgrone.webapi take (docs/performance.md, "The modules'
// bytecode, kept"). No browser: quick to run, but Node's figures are not the
// cold page's (tests/perf/cold_ab.py measures those). Nothing is asserted.
//
//   python3 build.py && node tests/perf/py_start_node.mjs [rounds]
//
// Variants:
//   base     the snapshot of a freshly started Python, the modules compiled from source
//   stdlib   the snapshot also holds the standard library modules the start imports
//            (as shipped: SNAPSHOT_IMPORTS in web/worker/worker.js)
//   bytecode stdlib, and the .pyc files a first start kept written back before the
//            imports (as shipped: py/backgrone/bytecode.py)
//   lazy     bytecode, and the packages' shared libraries left to load when imported
//            (random, fft, lapack_lite, Pillow's fonts, WebP...), not all as the
//            package loads (not shipped: it patches a private function of Pyodide's)
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../dist");
const { loadPyodide } = await import(path.join(dist, "pyodide/pyodide.mjs"));
const { writeFiles } = await import(path.join(dist, "worker/python-bytecode.js")); // as the worker writes them
const indexURL = path.join(dist, "pyodide") + "/";
const build = JSON.parse(fs.readFileSync(path.join(dist, "build.json"), "utf8"));
const packages = ["numpy", "pillow", path.join(dist, "py", build.wheel)];
const quiet = { messageCallback: () => {} };
const rounds = Number(process.argv[2] || 5);
const now = () => performance.now() / 1000;

const worker = fs.readFileSync(path.join(dist, "worker/worker.js"), "utf8");
const imports = [...worker.match(/const SNAPSHOT_IMPORTS = \[([^\]]*)\]/)[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]);
const LAZY = `
import pyodide._package_loader as pl
_load = pl.should_load_dynlib
_later = ("/random/", "/fft/", "lapack_lite", "_imagingft", "_webp", "_imagingmath", "_imagingmorph", "_imagingtk")
pl.should_load_dynlib = lambda p: _load(p) and not any(k in str(p) for k in _later)
`;

async function snapshot(preimport) {
  const py = await loadPyodide({ indexURL, _makeSnapshot: true });
  if (preimport) py.runPython(imports.map((name) => `import ${name}`).join("\n"));
  return py.makeMemorySnapshot();
}

// One start from `snap`: [packages s, imports s, the kept .pyc files (bytecode on)].
async function start(snap, { pyc = null, lazy = false } = {}) {
  const py = await loadPyodide({ indexURL, _loadSnapshot: snap });
  if (lazy) py.runPython(LAZY);
  const t0 = now();
  await py.loadPackage(packages, quiet);
  py.runPython("import sys; sys.dont_write_bytecode = False");
  writeFiles(py.FS, pyc ?? []);
  const t1 = now();
  py.runPython("import backgrone.webapi");
  const t2 = now();
  const found = py.pyimport("backgrone.bytecode").compiled_modules();
  const files = found.toJs();
  found.destroy();
  return [t1 - t0, t2 - t1, files];
}

const plain = await snapshot(false);
const withStdlib = await snapshot(true);
const [, , pyc] = await start(withStdlib);
const variants = {
  base: () => start(plain),
  stdlib: () => start(withStdlib),
  bytecode: () => start(withStdlib, { pyc }),
  lazy: () => start(withStdlib, { pyc, lazy: true }),
};
const times = {};
for (let round = 0; round < rounds; round++) {
  for (const [name, run] of Object.entries(variants)) (times[name] ??= []).push(await run());
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`Python's start under Node ${process.version}, medians of ${rounds} (s); ${pyc.length} .pyc kept`);
for (const [name, runs] of Object.entries(times)) {
  const [packs, imps, total] = [0, 1, 2].map((i) => median(runs.map((r) => (i < 2 ? r[i] : r[0] + r[1]))));
  console.log(`  ${name.padEnd(8)} packages ${packs.toFixed(3)}  imports ${imps.toFixed(3)}  total ${total.toFixed(3)}`);
}
