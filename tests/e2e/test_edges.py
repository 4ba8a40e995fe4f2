"""The result view's edges, as a visitor uses them: "Refine edges" and
"Remove colour spill" (on by default), the raw mask to compare, and every
export using what is shown. The browser's refined mask and decontaminated
colours are checked against the same Python under CPython, from the raw mask
the browser itself made: the same numpy code, WebAssembly against native."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from backgrone import foreground, refine
from browser import choose_engine, drop_files, export, open_result, wait_results
from test_app import import_model

pytestmark = pytest.mark.browser

W, H = 2400, 1600  # larger than the network's 1024: refinement has work to do


def scene_png() -> bytes:
    """A red disc with a soft, noisy edge on blue: the stand-in keeps red and
    removes blue, and its 1024x1024 mask, stretched, is softer than the photo."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:H, 0:W]
    r = np.hypot(x - W * 0.45, y - H * 0.5)
    a = np.clip((500 - r) / 3, 0, 1)[..., None]
    photo = a * np.array([230, 40, 30]) + (1 - a) * np.array([30, 60, 220]) + rng.normal(0, 3, (H, W, 3))
    out = io.BytesIO()
    Image.fromarray(np.clip(photo + 0.5, 0, 255).astype(np.uint8)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def standin_app(app, standin_model):
    assert "is now the Balanced engine" in import_model(app, "balanced", standin_model)
    choose_engine(app, "balanced")
    return app


def grey(data: bytes) -> np.ndarray:
    img = Image.open(io.BytesIO(data))
    assert img.mode == "L"
    return np.asarray(img)


def test_the_refined_mask_and_colours_match_cpython(standin_app):
    app = standin_app
    photo_bytes = scene_png()
    drop_files(app, [("disc.png", photo_bytes, "image/png")])
    (item,) = wait_results(app, 1)
    open_result(app, item)
    assert app.is_checked("#refine") and app.is_checked("#decontaminate")  # on by default

    refined = grey(export(app, fmt="mask")[0])
    cut = np.asarray(Image.open(io.BytesIO(export(app, fmt="png")[0])))
    app.uncheck("#refine")
    raw = grey(export(app, fmt="mask")[0])
    assert refined.shape == raw.shape == (H, W)
    changed = refined != raw
    assert 0.001 < changed.mean() < 0.1  # refinement worked, and only along the edge

    # CPython refines the browser's own raw mask: the same to within 1/255.
    photo = Image.open(io.BytesIO(photo_bytes)).convert("RGB")
    scale = refine.network_scale(photo.size)
    want = np.asarray(refine.refine(photo, Image.fromarray(raw), scale))
    diff = np.abs(want.astype(int) - refined)
    print(f"\nrefined mask, browser vs CPython: max {diff.max()}/255, differing pixels {(diff > 0).mean():.2e}")
    assert diff.max() <= 1

    # The default cutout: the refined mask, the decontaminated colours.
    assert np.array_equal(cut[..., 3], refined)
    clean = np.asarray(foreground.decontaminate(photo.copy(), Image.fromarray(refined), scale))
    visible = cut[..., 3] > 0
    cdiff = np.abs(clean[visible].astype(int) - cut[..., :3][visible])
    print(f"decontaminated colours, browser vs CPython: max {cdiff.max()}")
    assert cdiff.max() <= 1
    soft = (refined > 0) & (refined < 255)
    original = np.asarray(photo)
    assert (cut[..., :3][soft] != original[soft]).any(axis=1).mean() > 0.5  # the spill was removed...
    opaque = refined == 255
    assert np.array_equal(cut[..., :3][opaque], original[opaque])  # ...and nothing else changed


def test_every_export_uses_what_is_shown(standin_app):
    app = standin_app
    photo_bytes = scene_png()
    drop_files(app, [("disc.png", photo_bytes, "image/png")])
    (item,) = wait_results(app, 1)
    open_result(app, item)
    original = np.asarray(Image.open(io.BytesIO(photo_bytes)).convert("RGB"))
    app.uncheck("#refine")
    app.uncheck("#decontaminate")
    raw = grey(export(app, fmt="mask")[0])
    cut = np.asarray(Image.open(io.BytesIO(export(app, fmt="png")[0])))
    # The engine's own mask and the photo's own colours, as before refinement existed.
    assert np.array_equal(cut[..., 3], raw)
    visible = cut[..., 3] > 0
    assert np.array_equal(cut[..., :3][visible], original[visible])
    # On a white background, the spill is there without decontamination and
    # gone with it: the JPEG export follows the checkbox.
    app.check("input[name=bg][value=color]")
    app.fill("#bg-color", "#ffffff")
    soft = (raw > 40) & (raw < 215)
    with_spill = np.asarray(Image.open(io.BytesIO(export(app, fmt="jpeg")[0])), float)
    app.check("#decontaminate")
    clean = np.asarray(Image.open(io.BytesIO(export(app, fmt="jpeg")[0])), float)
    blue = lambda img: (img[..., 2] - img[..., 0])[soft].mean()  # noqa: E731
    print(f"\nblue over red under the soft edge: {blue(with_spill):.1f} with spill, {blue(clean):.1f} without")
    assert blue(clean) < blue(with_spill) - 10

    # The slider compares with the raw masks on request.
    app.check("#refine")
    app.select_option("#compare-with", "masks")
    app.wait_for_function("() => document.querySelector('#compare').dataset.compare === 'masks'")
    assert app.get_attribute("#view-before", "src").startswith("blob:")
