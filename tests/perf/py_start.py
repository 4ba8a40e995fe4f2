"""Python's start in the engine worker, before and after the packages and
Backgrone's wheel came with Pyodide's own start (loadPyodide's `packages`,
instead of loadPackage afterwards and micropip installing the wheel), in
fresh workers, the two ways alternating. Also the import of
backgrone.webapi, and of what it now imports only when asked for (compose,
arena).

    python3 build.py && .venv/bin/python tests/perf/py_start.py --runs 4

"before" loads micropip 0.11.1 from the download cache (the build no longer
ships it). Nothing is asserted.
"""
from __future__ import annotations

import argparse
import json
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
from backgrone.models import cache_dir  # noqa: E402
from perf.ort_bench import BASE_ARGS  # noqa: E402

STEPS = ("pyodide", "packages", "webapi", "later", "total")


def site() -> Path:
    root = Path(tempfile.mkdtemp(prefix="py-start-"))
    (root / "pyodide").mkdir()
    for f in (build.DIST / "pyodide").iterdir():
        os.symlink(f, root / "pyodide" / f.name)
    lock = json.loads((build.DIST / "pyodide" / "pyodide-lock.json").read_text())
    micropip = lock["packages"]["micropip"]["file_name"]
    os.symlink(cache_dir() / "pyodide" / micropip, root / "pyodide" / micropip)
    for name in ("py", "build.json"):
        os.symlink(build.DIST / name, root / name)
    for name in ("bench.html", "py-start-worker.js"):
        shutil.copy(HERE / name, root / name)
    return root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=4)
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    root = site()
    server = build.make_server(root)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out = {"before": [], "after": []}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=BASE_ARGS + ["--disable-gpu"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_port}/bench.html")
            for i in range(a.runs):
                for way in ("before", "after") if i % 2 == 0 else ("after", "before"):
                    r = page.evaluate(
                        """(cfg) => new Promise((resolve) => {
                            const w = new Worker("py-start-worker.js", { type: "module" });
                            w.onmessage = (e) => { w.terminate(); resolve(e.data); };
                            w.onerror = (e) => resolve({ error: e.message });
                            w.postMessage(cfg);
                        })""", {"way": way})
                    if "error" in r:
                        raise SystemExit(r["error"])
                    out[way].append(r)
            browser.close()
    finally:
        server.shutdown()
        shutil.rmtree(root, ignore_errors=True)
    print(f"Python's start in a worker, seconds, median of {a.runs} (alternating):")
    print("| | " + " | ".join(STEPS) + " |")
    print("|---|" + "---|" * len(STEPS))
    for way, runs in out.items():
        print(f"| {way} | " + " | ".join(f"{statistics.median(r[s] for r in runs):.2f}" for s in STEPS) + " |")
    print("pyodide = loadPyodide (after: with the packages); packages = loadPackage + micropip's install "
          "(before only); webapi = import backgrone.webapi; later = import backgrone.compose, arena "
          "(after: no longer before the first cutout); total = pyodide + packages + webapi")


if __name__ == "__main__":
    main()
