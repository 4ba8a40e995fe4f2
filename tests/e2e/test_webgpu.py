"""The engines on WebGPU, in Chromium with SwiftShader's WebGPU adapter (a real
WebGPU implementation on the CPU), against the same engine on WASM.

The suite's own browser runs with --disable-gpu, so this module launches a
second one with WebGPU on. The model is the Balanced stand-in (tests/standin.py),
as it is and with fp16 weights like Precision's: it runs in seconds even on
SwiftShader and gives a known mask. The real
engines on WebGPU are measured by tests/perf/ort_bench.py (docs/performance.md).
"""
from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backgrone.engines import get_engine
from browser import READY_TIMEOUT, choose_engine, drop_files, export, state, wait_results
from e2e.conftest import CHROMIUM_ARGS
from e2e.test_cutout import check_against_reference, reference
from standin import make_standin

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


def fp16_standin(path: Path) -> Path:
    """The stand-in the way fp16 exports look (Precision): fp16 weights, Casts
    at the edges. SwiftShader has no fp16 shaders, so WebGPU needs them made
    fp32 first."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(make_standin(path))
    g = model.graph
    for t in g.initializer:
        t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name))
    conv, sigmoid = g.node
    conv.input[0], sigmoid.output[0] = "x16", "y16"
    g.node.insert(0, helper.make_node("Cast", [g.input[0].name], ["x16"], to=TensorProto.FLOAT16))
    g.node.append(helper.make_node("Cast", ["y16"], [g.output[0].name], to=TensorProto.FLOAT))
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


@pytest.fixture(params=["fp32", "fp16"], ids=["fp32-standin", "fp16-standin"])
def balanced_model(request, standin_model, tmp_path) -> Path:
    return standin_model if request.param == "fp32" else fp16_standin(tmp_path / "fp16.onnx")


@pytest.fixture
def open_app(gpu_browser, pinned_site, standin_model):
    """open_app(query, model) -> the app, ready, in a fresh context of the
    WebGPU browser, with `model` (default the stand-in) served as the Balanced
    engine's download, on a site pinned to it."""
    contexts, errors, outside = [], [], []

    def open_(query: str = "", model: Path = standin_model):
        site_url = pinned_site(model)
        model = model.read_bytes()
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


def test_webgpu_forced_runs_the_engine_and_matches_wasm(open_app, photos, balanced_model):
    photo = photos["astronaut"].read_bytes()

    gpu = open_app("?backend=webgpu", balanced_model)
    runtime = gpu.inner_text("#runtime-info")
    print(f"\nWebGPU page: {runtime}")
    assert "on WebGPU" in runtime and "swiftshader" in runtime.lower()
    assert gpu.get_attribute("body", "data-backend") == "webgpu"
    gpu_alpha, gpu_meta = cut_out(gpu, photo)
    print(f"WebGPU result: {gpu_meta}")
    assert gpu_meta.endswith("on WebGPU") or " on WebGPU \u00b7" in gpu_meta
    # No fallback note: WebGPU really ran it.
    assert "runs on WASM instead" not in gpu.inner_text("body")

    cpu = open_app("?backend=wasm", balanced_model)
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
    check_against_reference(export(gpu)[0], photo, reference(photo, "balanced", balanced_model),
                            f"Balanced ({balanced_model.name}) on WebGPU")
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


# The file names the service worker keeps, once it is installed and active.
PRECACHED = """async () => {
    await navigator.serviceWorker.ready;
    const name = (await caches.keys()).find((n) => n.startsWith("backgrone-"));
    const cache = await caches.open(name);
    return (await cache.keys()).map((r) => new URL(r.url).pathname.split("/").pop());
}"""
WEBGPU_RUNTIME = {"ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs",
                  "ort-wasm-simd-threaded.asyncify.wasm"}


def test_the_webgpu_runtime_is_kept_offline_only_where_it_can_run(open_app, page, site_url):
    # Without an adapter (the suite's browser) the 27 MB WebGPU runtime could
    # never run: the first visit does not download it.
    page.goto(site_url)
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    kept = set(page.evaluate(PRECACHED))
    assert "ort-wasm-simd-threaded.wasm" in kept and "pyodide.asm.wasm" in kept
    assert not kept & WEBGPU_RUNTIME
    # With one, it is kept with the rest.
    gpu = open_app()
    assert WEBGPU_RUNTIME <= set(gpu.evaluate(PRECACHED))


def test_offline_without_the_webgpu_runtime_runs_on_wasm_and_says_why(open_app, photos):
    page = open_app("?backend=webgpu")
    assert page.get_attribute("body", "data-backend") == "webgpu"
    choose_engine(page, "balanced")
    drop_files(page, [("astronaut.png", photos["astronaut"].read_bytes(), "image/png")])
    assert state(wait_results(page, 1)[0]) == "done"  # the engine is stored now
    # As on a device whose adapter appeared after the site was installed: the
    # WebGPU runtime is not in the service worker's cache, and the network is off.
    page.evaluate("""async () => {
        const cache = await caches.open((await caches.keys()).find((n) => n.startsWith("backgrone-")));
        for (const request of await cache.keys())
            if (/ort\\.webgpu|asyncify/.test(request.url)) await cache.delete(request);
    }""")
    page.context.set_offline(True)
    page.reload()
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    assert page.get_attribute("body", "data-backend") == "wasm"
    assert "WebGPU runtime could not be loaded" in page.inner_text("#runtime-info")
    choose_engine(page, "balanced")
    drop_files(page, [("astronaut.png", photos["astronaut"].read_bytes(), "image/png")])
    (item,) = wait_results(page, 1)
    assert state(item) == "done", item.inner_text()
    assert "on WASM" in page.inner_text("#view-meta")
