"""Time onnxruntime-web alone in Chromium: bundle import, session creation
and inference of one real photo, for one or more models, runs interleaved.

    .venv/bin/python tests/perf/ort_bench.py --model u8=~/.cache/backgrone/models/isnet-uint8.onnx \
        --variant wasm=ort.wasm.min.mjs,wasm,2 --variant gpubundle=ort.webgpu.min.mjs,wasm,2 --runs 4
    ... --variant gpu=ort.webgpu.min.mjs,webgpu,2      (WebGPU, SwiftShader here)
    ... --variant nopattern=ort.wasm.min.mjs,wasm,2,enableMemPattern=false   (session options)
    ... --variant old=1.21.0:ort.wasm.min.mjs,wasm,2   (another onnxruntime-web release)
    ... --versions 1.30.0,1.21.0,1.17.3 --option-sets app,peer   (every release with both
                                                                sets of session options, WASM)

Each variant is a worker of its own (onnxruntime-web release and bundle,
execution provider, WASM threads, session options); every variant loads every
model, and the runs go round robin. The releases are pinned in
tests/bench/peer.py (ORT_RELEASES); 1.30.0 is the one build.py ships.

Prints figures (wall milliseconds, and the CPU seconds all of Chromium's
processes used per run, which a busy machine disturbs far less; the first
run of a session apart from the median of the rest) and each mask's
difference from native onnxruntime's on the same tensor (the reference the
browser's masks are tested against) and from the first variant's.
Nothing is asserted: the machine is shared and noisy, so compare figures only
within one run.
"""
from __future__ import annotations

import argparse
import base64
import shutil
import statistics
import sys
import tarfile
import tempfile
import threading
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "py"), str(ROOT / "tests"), str(ROOT / "tests" / "bench")]

import build  # noqa: E402
from peer import ORT_RELEASES  # noqa: E402
from backgrone.engines import get_engine  # noqa: E402
from backgrone.imageio import decode  # noqa: E402
from backgrone.tensors import preprocess  # noqa: E402
from helpers import PHOTOS  # noqa: E402

BASE_ARGS = ["--headless=new", "--no-sandbox", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
GPU_ARGS = ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-vulkan=swiftshader",
            "--use-webgpu-adapter=swiftshader"]
SHIPPED = build.ORT_WEB.version
# The WASM bundle of each release (1.17 had no .mjs; its ES module is esm/*.js).
WASM_BUNDLE = {"1.17.3": "esm/ort.wasm.min.js"}
# Session options: the app's (web/worker/, as shipped before this comparison)
# and the peer's (@imgly/background-removal 1.4.5 and 1.7.0 alike).
OPTION_SETS = {
    "app": {"graphOptimizationLevel": "all"},
    "peer": {"graphOptimizationLevel": "all", "executionMode": "parallel", "enableCpuMemArena": True},
}


def unpack_release(version: str, dest: Path) -> None:
    """A pinned onnxruntime-web release's runtime files (its dist/ folder, no
    source maps) into dest."""
    with tarfile.open(build.npm_package(ORT_RELEASES[version])) as tar:
        for m in tar.getmembers():
            name = m.name.removeprefix("package/dist/")
            if not m.isfile() or not m.name.startswith("package/dist/") or name.endswith(".map"):
                continue
            if not name.endswith((".mjs", ".wasm")) and not name.startswith("esm/"):
                continue
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(m) as src, open(dest / name, "wb") as out:
                shutil.copyfileobj(src, out)


def site(models: dict[str, Path], photo: str, versions) -> tuple[Path, np.ndarray]:
    root = Path(tempfile.mkdtemp(prefix="ort-bench-"))
    for version in sorted(set(versions)):
        unpack_release(version, root / version)
    for name in ("bench.html", "bench-worker.js"):
        shutil.copy(HERE / name, root / name)
    for name, path in models.items():
        build.link_or_copy(path, root / f"{name}.onnx")
    tensor = preprocess(decode(PHOTOS[photo].read_bytes()).rgb, get_engine("lightweight"))
    (root / "input.bin").write_bytes(np.ascontiguousarray(tensor, np.float32).tobytes())
    return root, tensor


def reference_masks(models: dict[str, Path], tensor: np.ndarray) -> dict[str, np.ndarray]:
    """Native onnxruntime's first output on the same tensor, quantised as the
    worker quantises its own: the reference each variant's mask is held to."""
    import onnxruntime as ort

    out = {}
    for name, path in models.items():
        s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (y,) = s.run([s.get_outputs()[0].name], {s.get_inputs()[0].name: tensor})
        out[name] = np.round(np.clip(y.reshape(-1), 0, 1) * 255).astype(np.uint8)
    return out


CALL = """([i, msg]) => new Promise((resolve) => {
    const w = (self.benchWorkers ??= {})[i] ??= new Worker("bench-worker.js", { type: "module" });
    w.onmessage = (e) => resolve(e.data);
    w.onerror = (e) => resolve({ error: e.message });
    w.postMessage(msg);
})"""


def measure(variants: dict, models: list[str], runs: int, root: Path, js_flags: str | None = None) -> dict:
    """{variant: {"setup": ..., model: {"runs": [ms], "mask": array}}}; runs go
    round robin over variants and models."""
    from playwright.sync_api import sync_playwright

    server = build.make_server(root)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    gpu = any(v["ep"] == "webgpu" for v in variants.values())
    args = BASE_ARGS + (GPU_ARGS if gpu else ["--disable-gpu"]) + ([f"--js-flags={js_flags}"] if js_flags else [])
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
                cfg = {**v, "dir": f"{v['version']}/", "input": "input.bin",
                       "models": [{"name": m, "url": f"{m}.onnx"} for m in models]}
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


def parse_variant(spec: str) -> tuple[str, dict]:
    """"name=[version:]bundle,ep,threads[,option=value...]" -> (name, variant)."""
    name, rest = spec.split("=", 1)
    bundle, ep, threads, *extra = rest.split(",")
    version, _, bundle = bundle.rpartition(":")
    version = version or SHIPPED
    if version not in ORT_RELEASES:
        raise SystemExit(f"onnxruntime-web {version} is not pinned (tests/bench/peer.py: ORT_RELEASES)")
    options = {**OPTION_SETS["app"], **dict(_option(o) for o in extra)}
    return name, {"version": version, "bundle": bundle, "ep": ep, "threads": int(threads), "options": options}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", required=True, help="name=path.onnx (repeat)")
    ap.add_argument("--variant", action="append",
                    help="name=[version:]bundle,ep,threads[,option=value...] (repeat); default "
                         f"wasm=ort.wasm.min.mjs,wasm,2 (onnxruntime-web {SHIPPED}); options are session "
                         "options, e.g. enableMemPattern=false, over the app's")
    ap.add_argument("--versions", help="comma-separated releases (of " + ", ".join(ORT_RELEASES)
                    + "): a WASM variant with 2 threads for each release and each --option-sets")
    ap.add_argument("--option-sets", default="app,peer", help="with --versions: of " + ", ".join(OPTION_SETS))
    ap.add_argument("--threads", type=int, default=2, help="with --versions: WASM threads")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--photo", default="astronaut", choices=sorted(PHOTOS))
    ap.add_argument("--js-flags", help="V8 flags for the whole browser, e.g. --no-wasm-lazy-compilation")
    a = ap.parse_args()
    models = {m.split("=", 1)[0]: Path(m.split("=", 1)[1]).expanduser() for m in a.model}
    variants = dict(parse_variant(spec) for spec in a.variant or ([] if a.versions else ["wasm=ort.wasm.min.mjs,wasm,2"]))
    for version in (a.versions or "").split(","):
        if not version:
            continue
        if version not in ORT_RELEASES:
            raise SystemExit(f"onnxruntime-web {version} is not pinned (tests/bench/peer.py: ORT_RELEASES)")
        for opts in a.option_sets.split(","):
            variants[f"{version}/{opts}"] = {"version": version, "bundle": WASM_BUNDLE.get(version, "ort.wasm.min.mjs"),
                                             "ep": "wasm", "threads": a.threads, "options": OPTION_SETS[opts]}
    root, tensor = site(models, a.photo, [v["version"] for v in variants.values()])
    try:
        reference = reference_masks(models, tensor)
        out = measure(variants, list(models), a.runs, root, a.js_flags)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"photo {a.photo}, {a.runs} runs, round robin; times in ms")
    first = {}
    for name, v in variants.items():
        setup = out[name]["setup"]
        print(f"[{name}] onnxruntime-web {v['version']} {v['bundle']}, ep {v['ep']}, {v['threads']} threads"
              + (f", adapter {setup['adapter']}" if setup.get("adapter") else "")
              + f", options {v['options']}: import {setup['importMs']:.0f}")
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
            d = np.abs(mask - reference[m].astype(np.int16))
            print(f"    mask vs native onnxruntime: mean abs diff {d.mean():.3f}/255, max {d.max()}/255")
            if m not in first:
                first[m] = (name, mask)
            else:
                d = np.abs(mask - first[m][1])
                print(f"    mask vs {first[m][0]}: mean abs diff {d.mean():.3f}/255, max {d.max()}/255")
    if len(variants) > 1:
        print("\nsummary, median CPU seconds per run after the first (wall ms median after the first):")
        print("| variant | " + " | ".join(models) + " |")
        print("|---|" + "---|" * len(models))
        for name in variants:
            cells = []
            for m in models:
                cpu, runs = out[name][m]["cpu"], out[name][m]["runs"]
                cells.append(f"{statistics.median(cpu[1:] or cpu):.2f} ({statistics.median(runs[1:] or runs):.0f})")
            print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
