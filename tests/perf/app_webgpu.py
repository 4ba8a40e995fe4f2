"""Cut out one photo with a real engine in the built app, forced onto WebGPU
(SwiftShader here) and onto WASM, in one Chromium with WebGPU on; print the
app's own figures and how far the WebGPU mask is from the WASM one.

    python3 build.py && .venv/bin/python tests/perf/app_webgpu.py --engine lightweight

Slow on SwiftShader (minutes): it is WebGPU emulated on the CPU.
"""
from __future__ import annotations

import argparse
import io
import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "py"), str(ROOT / "tests"), str(ROOT / "tests" / "e2e")]

import build  # noqa: E402
from browser import choose_engine, drop_files, export, wait_results  # noqa: E402
from helpers import PHOTOS  # noqa: E402
from perf.ort_bench import BASE_ARGS, GPU_ARGS  # noqa: E402


def cut_out(browser, url: str, engine: str, photo: Path) -> tuple[np.ndarray, dict]:
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=600_000)
    figures = {"boot s": time.perf_counter() - t0, "runtime": page.inner_text("#runtime-info")}
    choose_engine(page, engine)
    t0 = time.perf_counter()
    drop_files(page, [(photo.name, photo.read_bytes(), "image/png")])
    (item,) = wait_results(page, 1, timeout=3_600_000)
    figures["session + cutout s"] = time.perf_counter() - t0
    assert item.get_attribute("data-state") == "done", item.inner_text()
    png, _ = export(page, item)
    figures["meta"] = page.inner_text("#view-meta")
    figures["status"] = page.inner_text("body").count("runs on WASM instead") and "fell back to WASM" or "ok"
    context.close()
    return np.asarray(Image.open(io.BytesIO(png)).getchannel("A"), np.int16), figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", default="lightweight", choices=["lightweight", "precision"])
    ap.add_argument("--photo", default="astronaut", choices=sorted(PHOTOS))
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    server = build.make_server(build.DIST)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    masks = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=BASE_ARGS + GPU_ARGS)
            for backend in ("webgpu", "wasm"):
                masks[backend], figures = cut_out(browser, f"{url}?backend={backend}", a.engine, PHOTOS[a.photo])
                print(f"[{backend}]", "; ".join(f"{k}: {v:.1f}" if isinstance(v, float) else f"{k}: {v}"
                                             for k, v in figures.items()), flush=True)
            browser.close()
    finally:
        server.shutdown()
    d = np.abs(masks["webgpu"] - masks["wasm"])
    print(f"{a.engine}, {a.photo}: mask WebGPU vs WASM: mean abs diff {d.mean():.3f}/255, max {d.max()}/255")


if __name__ == "__main__":
    main()
