"""The engines on WebGPU, in Chromium with SwiftShader's WebGPU adapter (a real
WebGPU implementation on the CPU), against the same engine on WASM.

The suite's own browser runs with --disable-gpu, so this module launches a
second one with WebGPU on. The model is the Balanced stand-in (tests/standin.py):
it runs in milliseconds even on SwiftShader and gives a known mask. The real
engines on WebGPU are measured by tests/perf/ort_bench.py (docs/performance.md).
"""
from __future__ import annotations

import io
import os
import re
import shutil

import numpy as np
import pytest
from PIL import Image

from backgrone.engines import get_engine
from browser import READY_TIMEOUT, choose_engine, drop_files, export, state, wait_results
from e2e.conftest import CHROMIUM_ARGS
from e2e.test_cutout import check_against_reference, reference

pytestmark = pytest.mark.browser

BALANCED = get_engine("balanced")
CORS = {"access-control-allow-origin": "*", "content-type": "application/octet-stream"}
WEBGPU_ARGS = [a for a in CHROMIUM_ARGS if a != "--disable-gpu"] + [
    "--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-vulkan=swiftshader",
    "--use-webgpu-adapter=swiftshader",
]


@pytest.fixture(scope="module")
def gpu_browser(playwright):
    chromium = os.environ.get("BACKGRONE_CHROMIUM") or shutil.which("chromium")
    browser = playwright.chromium.launch(executable_path=chromium, args=WEBGPU_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def open_app(gpu_browser, site_url, standin_model):
    """open_app(query) -> the app, ready, in a fresh context of the WebGPU
    browser, with the stand-in served as the Balanced engine's download."""
    contexts, errors, outside = [], [], []
    model = standin_model.read_bytes()

    def open_(query: str = ""):
        context = gpu_browser.new_context(accept_downloads=True)
        contexts.append(context)
        context.on("request", lambda r: None if r.url.startswith(
            (site_url, "blob:", "data:", BALANCED.source)) else outside.append(r.url))
        context.route(BALANCED.source, lambda route: route.fulfill(status=200, body=model, headers=CORS))
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(site_url + query)
        page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"
    assert outside == [], "requests left the site's origin"


def cut_out(page, photo: bytes) -> tuple[np.ndarray, str]:
    """Drop the photo, wait for it, export the cutout: (alpha, the meta line)."""
    choose_engine(page, "balanced")
    drop_files(page, [("astronaut.png", photo, "image/png")])
    (item,) = wait_results(page, 1)
    assert state(item) == "done", item.inner_text()
    png, _ = export(page, item)
    alpha = np.asarray(Image.open(io.BytesIO(png)).getchannel("A"), np.float64)
    return alpha, page.inner_text("#view-meta")


def test_webgpu_forced_runs_the_engine_and_matches_wasm(open_app, photos, standin_model):
    photo = photos["astronaut"].read_bytes()

    gpu = open_app("?backend=webgpu")
    runtime = gpu.inner_text("#runtime-info")
    print(f"\nWebGPU page: {runtime}")
    assert "on WebGPU" in runtime and "swiftshader" in runtime.lower()
    assert gpu.get_attribute("body", "data-backend") == "webgpu"
    gpu_alpha, gpu_meta = cut_out(gpu, photo)
    print(f"WebGPU result: {gpu_meta}")
    assert gpu_meta.endswith("on WebGPU") or " on WebGPU \u00b7" in gpu_meta
    # No fallback note: WebGPU really ran it.
    assert "runs on WASM instead" not in gpu.inner_text("body")

    cpu = open_app("?backend=wasm")
    runtime = cpu.inner_text("#runtime-info")
    assert re.search(r"on WASM, [1-4] threads?\b", runtime), runtime
    assert cpu.get_attribute("body", "data-backend") == "wasm"
    cpu_alpha, cpu_meta = cut_out(cpu, photo)
    print(f"WASM result: {cpu_meta}")
    assert re.search(r"on WASM, [1-4] threads?", cpu_meta)

    diff = np.abs(gpu_alpha - cpu_alpha)
    print(f"mask WebGPU vs WASM: mean abs diff {diff.mean():.4f}/255, max {diff.max():.0f}/255")
    assert diff.mean() <= 1.0
    # And both are the engine's real mask (CPython's onnxruntime), not two equal blanks.
    check_against_reference(export(gpu)[0], photo, reference(photo, "balanced", standin_model),
                            "Balanced (stand-in) on WebGPU")
    assert gpu_alpha[400:500, 100:200].mean() > gpu_alpha[:50, 250:350].mean() + 50


def test_auto_passes_over_a_software_adapter(open_app):
    # SwiftShader is WebGPU emulated on the CPU: slower than WASM, so auto
    # mode must not choose it.
    page = open_app()
    runtime = page.inner_text("#runtime-info")
    assert page.get_attribute("body", "data-backend") == "wasm"
    assert re.search(r"on WASM, [1-4] threads?\b", runtime), runtime


def test_no_adapter_means_wasm(page, site_url, requests_log):
    # The suite's browser runs with --disable-gpu: no WebGPU adapter at all.
    page.goto(site_url)
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    assert page.get_attribute("body", "data-backend") == "wasm"
    assert re.search(r"on WASM, [1-4] threads?\b", page.inner_text("#runtime-info"))
    # Forcing WebGPU there falls back, and says why.
    page.goto(site_url + "?backend=webgpu")
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    runtime = page.inner_text("#runtime-info")
    assert page.get_attribute("body", "data-backend") == "wasm"
    assert "on WASM" in runtime and "no WebGPU adapter" in runtime
