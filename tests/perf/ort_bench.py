"""Time onnxruntime-web alone in Chromium: bundle import, session creation
and inference of one real photo, for one or more models, runs interleaved.

    .venv/bin/python tests/perf/ort_bench.py --model u8=~/.cache/backgrone/models/isnet-uint8.onnx \
        --variant wasm=ort.wasm.min.mjs,wasm,2 --variant gpubundle=ort.webgpu.min.mjs,wasm,2 --runs 4
    ... --variant gpu=ort.webgpu.min.mjs,webgpu,2      (WebGPU, SwiftShader here)
    ... --variant nopattern=ort.wasm.min.mjs,wasm,2,enableMemPattern=false   (session options)

Each variant is a worker of its own (bundle, execution provider, WASM
threads); every variant loads every model, and the runs go round robin.

Prints figures (wall milliseconds, and the CPU seconds all of Chromium's
processes used per run, which a busy machine disturbs far less; the first
run of a session apart from the median of the rest) and each mask's
difference from the first one.
Nothing is asserted: the machine is shared and noisy, so compare figures only
within one run.
"""
from __future__ import annotations

import argparse
import base64
import shutil
import statistics
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "py"), str(ROOT / "tests")]

import build  # noqa: E402
from backgrone.engines import get_engine  # noqa: E402
from backgrone.imageio import decode  # noqa: E402
from backgrone.tensors import preprocess  # noqa: E402
from helpers import PHOTOS  # noqa: E402

BASE_ARGS = ["--headless=new", "--no-sandbox", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
GPU_ARGS = ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-vulkan=swiftshader",
            "--use-webgpu-adapter=swiftshader"]
ORT_ASSETS = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm",
              "ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs",
              "ort-wasm-simd-threaded.asyncify.wasm")


def site(models: dict[str, Path], photo: str) -> Path:
    root = Path(tempfile.mkdtemp(prefix="ort-bench-"))
    build.extract(build.npm_package(build.ORT_WEB), {f"dist/{n}": root / n for n in ORT_ASSETS})
    for name in ("bench.html", "bench-worker.js"):
        shutil.copy(HERE / name, root / name)
    for name, path in models.items():
        build.link_or_copy(path, root / f"{name}.onnx")
    tensor = preprocess(decode(PHOTOS[photo].read_bytes()).rgb, get_engine("lightweight"))
    (root / "input.bin").write_bytes(np.ascontiguousarray(tensor, np.float32).tobytes())
    return root


CALL = """([i, msg]) => new Promise((resolve) => {
    const w = (self.benchWorkers ??= {})[i] ??= new Worker("bench-worker.js", { type: "module" });
    w.onmessage = (e) => resolve(e.data);
    w.onerror = (e) => resolve({ error: e.message });
    w.postMessage(msg);
})"""


def measure(variants: dict, models: list[str], runs: int, root: Path) -> dict:
    """{variant: {"setup": ..., model: {"runs": [ms], "mask": array}}}; runs go
    round robin over variants and models."""
    from playwright.sync_api import sync_playwright

    server = build.make_server(root)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    gpu = any(v["ep"] == "webgpu" for v in variants.values())
    args = BASE_ARGS + (GPU_ARGS if gpu else ["--disable-gpu"])
    out = {name: {m: {"runs": [], "cpu": []} for m in models} for name in variants}

    def call(page, i, msg):
        r = page.evaluate(CALL, [i, msg])
        if "error" in r:
            raise SystemExit(f"bench failed: {r['error']}")
        return r["result"]

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=args)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_port}/bench.html")
            assert page.evaluate("crossOriginIsolated"), "the bench page must be cross-origin isolated"
            cdp = browser.new_browser_cdp_session()

            def cpu_seconds() -> float:
                # CPU time of all the browser's processes (the worker's threads,
                # and the GPU process for WebGPU): on a shared, busy machine it
                # moves far less than wall time does.
                return sum(pr["cpuTime"] for pr in cdp.send("SystemInfo.getProcessInfo")["processInfo"])

            for i, (name, v) in enumerate(variants.items()):
                cfg = {**v, "input": "input.bin", "models": [{"name": m, "url": f"{m}.onnx"} for m in models]}
                out[name]["setup"] = call(page, i, {"op": "setup", "cfg": cfg})
            for r in range(runs):
                for i, name in enumerate(variants):
                    for m in models:
                        c0 = cpu_seconds()
                        res = call(page, i, {"op": "run", "model": m, "keepMask": r == runs - 1})
                        out[name][m]["cpu"].append(cpu_seconds() - c0)
                        out[name][m]["runs"].append(res["ms"])
                        if "mask" in res:
                            out[name][m]["mask"] = np.frombuffer(base64.b64decode(res["mask"]), np.uint8)
            browser.close()
    finally:
        server.shutdown()
    return out


def _option(spec: str) -> tuple[str, object]:
    """"enableMemPattern=false" -> ("enableMemPattern", False): a session option."""
    key, value = spec.split("=", 1)
    return key, {"true": True, "false": False}.get(value, int(value) if value.isdigit() else value)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", required=True, help="name=path.onnx (repeat)")
    ap.add_argument("--variant", action="append",
                    help="name=bundle,ep,threads[,option=value...] (repeat); default "
                         "wasm=ort.wasm.min.mjs,wasm,2; options are session options, e.g. "
                         "enableMemPattern=false")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--photo", default="astronaut", choices=sorted(PHOTOS))
    a = ap.parse_args()
    models = {m.split("=", 1)[0]: Path(m.split("=", 1)[1]).expanduser() for m in a.model}
    variants = {}
    for spec in a.variant or ["wasm=ort.wasm.min.mjs,wasm,2"]:
        name, rest = spec.split("=", 1)
        bundle, ep, threads, *extra = rest.split(",")
        options = dict(_option(o) for o in extra)
        variants[name] = {"bundle": bundle, "ep": ep, "threads": int(threads), "options": options}
    root = site(models, a.photo)
    try:
        out = measure(variants, list(models), a.runs, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"photo {a.photo}, {a.runs} runs, round robin; times in ms")
    first = None
    for name, v in variants.items():
        setup = out[name]["setup"]
        print(f"[{name}] {v['bundle']}, ep {v['ep']}, {v['threads']} threads"
              + (f", adapter {setup['adapter']}" if setup.get("adapter") else "")
              + (f", options {v['options']}" if v["options"] else "")
              + f": import {setup['importMs']:.0f}")
        for m in models:
            runs = out[name][m]["runs"]
            rest = runs[1:] or runs
            cpu = out[name][m]["cpu"]
            print(f"  {m}: session {setup['sessions'][m]:.0f}, first run {runs[0]:.0f}, "
                  f"median of the other {len(rest)} {statistics.median(rest):.0f}, best {min(runs):.0f}  "
                  f"({', '.join(f'{r:.0f}' for r in runs)})")
            print(f"  {m}: CPU seconds per run (all processes): first {cpu[0]:.1f}, median of the other "
                  f"{len(cpu[1:] or cpu)} {statistics.median(cpu[1:] or cpu):.1f}, least {min(cpu):.1f}  "
                  f"({', '.join(f'{c:.1f}' for c in cpu)})")
            mask = out[name][m]["mask"].astype(np.int16)
            if first is None:
                first = (f"{name}/{m}", mask)
            else:
                d = np.abs(mask - first[1])
                print(f"    mask vs {first[0]}: mean abs diff {d.mean():.3f}/255, max {d.max()}/255")


if __name__ == "__main__":
    main()
