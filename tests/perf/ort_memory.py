"""onnxruntime-web's memory and run time for one engine's network, as stored,
trimmed to its mask (web/worker/session/prune-graph.js) and also rewritten for
the CPU (web/worker/session/cpu-graph.js), each in a new page and worker of
its own, the variants alternating round by round:

    python3 build.py && .venv/bin/python tests/perf/ort_memory.py --engine lightweight --rounds 2

`--levels all,extended` also runs each variant at each of onnxruntime's
graph optimisation levels (the app's is "extended" on the CPU).

The worker loads the site's own modules and bundle (dist/), applies the
rewrites to the model it fetched, makes the session with the app's options
and runs it on a 1024x1024 input (a constant, then noise). Prints the
WebAssembly memory once the session is made and after the runs (it only
grows: the high-water mark), the renderer's peak resident set, and the
seconds of each run. Nothing is asserted: compare figures within one run of
the script.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, ROOT / "py", ROOT / "tests", ROOT / "tests" / "bench"):
    sys.path.insert(0, str(p))

import browser as bench_browser  # noqa: E402

from backgrone.engines import get_engine  # noqa: E402

MIB = 2**20

WORKER = """
const memories = [];
WebAssembly.Memory = class extends WebAssembly.Memory { constructor(d) { super(d); memories.push(this); } };
const wasm = () => memories.reduce((s, m) => s + m.buffer.byteLength, 0);
let ort, session;
self.onmessage = async (event) => {
  const m = event.data;
  try {
    if (m.op === "init") {
      const base = m.base + "worker/session/";
      const { keepFirstOutput } = await import(base + "prune-graph.js");
      const { forCpu } = await import(base + "cpu-graph.js");
      ort = await import(m.base + "ort/ort.wasm.min.mjs");
      ort.env.wasm.wasmPaths = m.base + "ort/";
      ort.env.wasm.numThreads = 2;
      let bytes = new Uint8Array(await (await fetch(m.model)).arrayBuffer());
      let rewrite = null;
      if (m.variant !== "stored") bytes = keepFirstOutput(bytes).bytes;
      if (m.variant === "rewritten") {
        const r = forCpu(bytes);
        bytes = r.bytes;
        rewrite = { concats: r.concats, convs: r.convs, strips: r.strips };
      }
      const t0 = performance.now();
      session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], ...m.options });
      bytes = null;
      postMessage({ ok: true, create: (performance.now() - t0) / 1000, created: wasm(), rewrite });
    } else if (m.op === "run") {
      const a = new Float32Array(3 * 1024 * 1024);
      if (m.fill === "noise") { let x = 1; for (let i = 0; i < a.length; i++) { x = (x * 1103515245 + 12345) >>> 0; a[i] = (x / 4294967296) * 4 - 2; } }
      else a.fill(0.3);
      const feed = new ort.Tensor("float32", a, [1, 3, 1024, 1024]);
      const name = session.outputNames[0];
      const t0 = performance.now();
      const out = await session.run({ [session.inputNames[0]]: feed }, [name]);
      const seconds = (performance.now() - t0) / 1000;
      out[name].dispose();
      postMessage({ ok: true, seconds, wasm: wasm() });
    }
  } catch (err) { postMessage({ ok: false, error: String((err && err.stack) || err) }); }
};
"""

# The app's session options on the CPU (web/worker/session/session-worker.js).
OPTIONS = bench_browser.SESSION_OPTIONS["wasm"]
VARIANTS = ("stored", "trimmed", "rewritten")
FILLS = ("const", "noise", "noise")


def one(bench, model_url: str, variant: str, level: str) -> dict:
    page = bench.context.new_page()
    try:
        page.goto(bench.url + "licenses/")
        page.evaluate("""(url) => { window.__raw = new Worker(url, { type: "module" });
            window.__ask = (msg) => new Promise((resolve) => { window.__raw.onmessage = (e) => resolve(e.data); window.__raw.postMessage(msg); }); }""",
                      bench.url + "__bench/raw-worker.js")
        bench_browser.reset_peaks(bench_browser.renderers(bench.profile))
        init = page.evaluate("(m) => __ask(m)", {"op": "init", "base": bench.url, "model": model_url,
                                                 "variant": variant,
                                                 "options": {**OPTIONS, "graphOptimizationLevel": level}})
        if not init["ok"]:
            raise RuntimeError(init["error"])
        runs = []
        for fill in FILLS:
            r = page.evaluate("(m) => __ask(m)", {"op": "run", "fill": fill})
            if not r["ok"]:
                raise RuntimeError(r["error"])
            runs.append(r)
        hwm = max((bench_browser._status(p, "VmHWM") or 0) for p in bench_browser.renderers(bench.profile))
        return {"variant": variant, "create": init["create"], "created": init["created"] / MIB, "rewrite": init["rewrite"],
                "wasm": runs[-1]["wasm"] / MIB, "renderer": hwm / MIB, "seconds": [r["seconds"] for r in runs]}
    finally:
        page.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", default="lightweight")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--levels", default=OPTIONS["graphOptimizationLevel"])
    args = ap.parse_args()
    engine = get_engine(args.engine)
    bench_browser.RAW_WORKER = WORKER
    bench = bench_browser.BrowserBench()
    levels = args.levels.split(",")
    results = {(v, lv): [] for v in args.variants.split(",") for lv in levels}
    try:
        model_url = bench.url + "models/" + engine.file
        for _ in range(args.rounds):
            for variant, level in results:
                r = one(bench, model_url, variant, level)
                results[variant, level].append(r)
                s = r["seconds"]
                print(f"{engine.id:12s} {variant:10s} {level:9s} create {r['create']:5.2f} s | runs {s[0]:5.2f} {s[1]:5.2f} {s[2]:5.2f} s"
                      f" | WebAssembly {r['created']:4.0f} MiB made, {r['wasm']:4.0f} run | renderer peak {r['renderer']:5.0f} MiB"
                      + (f" | {r['rewrite']}" if r["rewrite"] else ""), flush=True)
    finally:
        bench.close()
    print()
    for (variant, level), rs in results.items():
        later = [x for r in rs for x in r["seconds"][1:]]
        print(f"{variant:10s} {level:9s} WebAssembly {max(r['wasm'] for r in rs):5.0f} MiB, renderer peak "
              f"{statistics.median(r['renderer'] for r in rs):5.0f} MiB (median), first run "
              f"{statistics.median(r['seconds'][0] for r in rs):5.2f} s, later runs {statistics.median(later):5.2f} s (median)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
