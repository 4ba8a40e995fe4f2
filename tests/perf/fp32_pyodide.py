"""Time the fp16 -> fp32 conversion of Precision's model in Pyodide (Chromium),
as the engine worker runs it, and the Pyodide heap it leaves behind.

    python3 build.py && .venv/bin/python tests/perf/fp32_pyodide.py --runs 3
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "py"), str(ROOT / "tests")]

import build  # noqa: E402
from perf.ort_bench import BASE_ARGS  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="fp32-bench-"))
    for name in ("pyodide", "py", "models", "build.json"):
        os.symlink(build.DIST / name, root / name)
    for name in ("bench.html", "fp32-worker.js"):
        shutil.copy(HERE / name, root / name)
    server = build.make_server(root)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=BASE_ARGS + ["--disable-gpu"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_port}/bench.html")
            out = page.evaluate(
                """(cfg) => new Promise((resolve) => {
                    const w = new Worker("fp32-worker.js", { type: "module" });
                    w.onmessage = (e) => resolve(e.data);
                    w.onerror = (e) => resolve({ error: e.message });
                    w.postMessage(cfg);
                })""",
                {"model": "models/isnet-fp16.onnx", "runs": a.runs},
            )
            browser.close()
    finally:
        server.shutdown()
        shutil.rmtree(root, ignore_errors=True)
    if "error" in out:
        raise SystemExit(out["error"])
    runs = out["runs"]
    print(f"Precision fp16 -> fp32 in Pyodide: {out['size']:,} bytes; "
          f"{', '.join(f'{r / 1000:.1f}' for r in runs)} s (median {statistics.median(runs) / 1000:.1f} s); "
          f"Pyodide heap {out['heapBeforeMiB']:.0f} MiB before, {out['heapAfterMiB']:.0f} MiB after")


if __name__ == "__main__":
    main()
