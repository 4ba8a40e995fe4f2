"""A user cuts out real photos in the built site, in Chromium.

The browser's result is checked against the CPython pipeline's for the same
photo and engine: the same Python code, the `onnxruntime` package instead of
onnxruntime-web.
"""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from backgrone.engines import get_engine
from backgrone.inference.native import NativeSession
from backgrone.pipeline import remove_background
from helpers import run
from browser import choose_engine, drop_files, export, runs_threaded, state, wait_results

pytestmark = pytest.mark.browser


def reference(photo_bytes: bytes, engine_id: str, model):
    """The CPython pipeline's result (the same defaults: refined edges, colour
    spill removed)."""
    engine = get_engine(engine_id)
    return run(remove_background(photo_bytes, engine, NativeSession(model, engine)))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = ((a.astype(np.float64) - b) ** 2).mean()
    return float("inf") if mse == 0 else float(10 * np.log10(255**2 / mse))


def check_against_reference(png: bytes, photo: bytes, ref, label: str) -> np.ndarray:
    cut = Image.open(io.BytesIO(png))
    original = Image.open(io.BytesIO(photo)).convert("RGB")
    assert cut.mode == "RGBA" and cut.size == original.size
    alpha = np.asarray(cut.getchannel("A"), dtype=np.float64)
    # Fully transparent pixels are written as zeros (a smaller file), nothing else.
    assert not np.asarray(cut)[alpha == 0].any()
    ref_mask = np.asarray(ref.mask, dtype=np.float64)
    mad = float(np.abs(alpha - ref_mask).mean())
    print(f"\n{label}: mask mean absolute difference browser vs CPython = {mad:.3f} / 255")
    assert mad <= 1.0
    # Where the cutout is opaque it keeps the photo's own colours; under the
    # soft edges they are the decontaminated ones CPython makes too. Not bit
    # for bit: the JPEG decoder in Pyodide's Pillow is another build of
    # libjpeg than CPython's, and the engines' masks differ a little, so PSNRs
    # that mean "the same picture".
    rgb = np.asarray(cut.convert("RGB"))
    opaque, visible = alpha == 255, alpha > 0
    ref_rgb = np.asarray(Image.open(io.BytesIO(ref.png)).convert("RGB"))
    to_photo = psnr(rgb[opaque], np.asarray(original)[opaque])
    to_cpython = psnr(rgb[visible], ref_rgb[visible])
    print(f"{label}: colours, opaque pixels vs the photo: PSNR {to_photo:.1f} dB; visible pixels vs CPython's "
          f"cutout: {to_cpython:.1f} dB")
    # (Photo colours under the soft edges instead of decontaminated ones give
    # about 20-23 dB here.)
    assert to_photo >= 40 and to_cpython >= 30
    return alpha


def test_lightweight_cutout_by_drop_matches_cpython(app, photos, model_path):
    photo = photos["astronaut"].read_bytes()
    choose_engine(app, "lightweight")
    drop_files(app, [("astronaut.png", photo, "image/png")])
    (item,) = wait_results(app, 1)
    assert state(item) == "done"
    # The finished cutout opens in the viewer, on the checkerboard.
    app.wait_for_function("() => document.querySelector('#view-after').naturalWidth === 512")
    assert "checker" in app.get_attribute("#compare", "class")
    print("\nbrowser:", app.inner_text("#view-meta"))
    png, filename = export(app)
    assert filename == "astronaut-cutout.png"
    alpha = check_against_reference(png, photo, reference(photo, "lightweight", model_path("lightweight")),
                            "Lightweight, astronaut")
    # A real subject: the astronaut kept, the sky behind her gone.
    assert alpha[60:130, 180:270].mean() > 240  # her face
    assert alpha[300:400, 100:250].mean() > 240  # the suit
    assert alpha[:60, :60].mean() < 10  # the flag in the top-left corner
    assert (alpha == 0).mean() > 0.1  # so the check of cleared pixels above had pixels to check


def test_precision_cutout_by_file_picker_matches_cpython(app, photos, model_path):
    photo = photos["grace_hopper"].read_bytes()
    choose_engine(app, "precision")
    app.set_input_files("#file-input", str(photos["grace_hopper"]))
    (item,) = wait_results(app, 1)
    png, filename = export(app, item)
    assert filename == "grace_hopper-cutout.png"
    alpha = check_against_reference(png, photo, reference(photo, "precision", model_path("precision")),
                            "Precision, grace_hopper")
    h, w = alpha.shape
    assert alpha[h // 3 : h // 2, w // 3 : 2 * w // 3].mean() > 240  # her face
    assert alpha[: h // 10, : w // 10].mean() < 10  # background, top-left


def test_page_runs_threaded_and_says_so(app):
    assert app.evaluate("crossOriginIsolated") is True
    info = app.inner_text("#runtime-info")
    assert "Pyodide 314.0.3" in info and "onnxruntime-web 1.30.0" in info
    assert runs_threaded(app)
