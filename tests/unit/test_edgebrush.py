"""backgrone.edgebrush: the editor's edge-aware brush stops at the photo's edges."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from backgrone import edgebrush
from backgrone.engines import get_engine
from backgrone.inference.native import NativeSession
from backgrone.pipeline import remove_background
from helpers import run


def capsule(shape, a, b) -> np.ndarray:
    """Each pixel centre's distance to the segment a-b."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]] + 0.5
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = np.clip(((xx - ax) * dx + (yy - ay) * dy) / (dx * dx + dy * dy), 0, 1)
    return np.hypot(xx - ax - t * dx, yy - ay - t * dy)


def two_colours(h=200, w=200, edge=100, noise=0):
    """Blue on the left of x = edge, red (the subject, mask 255) on the right."""
    rgb = np.zeros((h, w, 3), np.int32)
    rgb[:] = (20, 40, 230)
    rgb[:, edge:] = (235, 25, 20)
    if noise:
        rgb += np.random.default_rng(0).integers(-noise, noise + 1, rgb.shape)
    mask = np.zeros((h, w), np.uint8)
    mask[:, edge:] = 255
    return np.clip(rgb, 0, 255).astype(np.uint8), mask


@pytest.mark.parametrize("offset", [0, 6])
@pytest.mark.parametrize("noise", [0, 15])
def test_an_erase_stroke_over_the_edge_clears_the_background_and_keeps_the_subject(offset, noise):
    rgb, mask = two_colours(noise=noise)
    radius = 18
    d = capsule(mask.shape, (100 - offset, 60), (100 - offset, 140))
    brush = d <= radius
    painted = mask.copy()
    painted[brush] = 0  # what the plain brush gives
    out = edgebrush.refine(rgb, painted, radius)
    x = np.arange(200)
    assert (out[brush & (x < 98)] <= 8).all()  # the background under the brush: clear
    subject = out[brush & (x >= 102)]
    # The subject under the brush: kept (centred on the edge, the fit is least sure).
    assert subject.min() >= (180 if offset == 0 else 225) and np.median(subject) >= 245


def test_a_restore_stroke_over_the_edge_brings_back_only_the_subject():
    rgb, mask = two_colours(noise=15)
    mask[:, 100:125] = 0  # the engine missed a band of the subject
    radius = 18
    brush = capsule(mask.shape, (110, 40), (110, 160)) <= radius  # spills 8 px past the edge
    painted = mask.copy()
    painted[brush] = 255
    out = edgebrush.refine(rgb, painted, radius)
    x = np.arange(200)
    assert (out[brush & (x < 98)] <= 8).all()
    assert np.median(out[brush & (x >= 102)]) >= 250


def test_a_flat_photo_only_smooths_and_the_work_copy_keeps_the_size():
    rgb = np.full((700, 900, 3), 128, np.uint8)  # larger than WORK_PIXELS: fitted on a copy
    painted = np.zeros((700, 900), np.uint8)
    painted[:, 450:] = 255
    out = edgebrush.refine(rgb, painted, 40)
    assert out.shape == painted.shape and out.dtype == np.uint8
    assert out[:, :300].max() <= 2 and out[:, 600:].min() >= 253  # far from the step: unchanged
    row = out[350].astype(int)
    assert (np.diff(row) >= -1).all()  # a smooth ramp where the photo gives no edge


def test_on_a_photo_the_stroke_keeps_the_fur(photos, model_path):
    """An erase stroke along the cat's cheek, half of it on the cat: the cat's
    pixels under the brush keep about half their mask (the plain stroke's all
    go to 0), the background's go to 0."""
    engine = get_engine("lightweight")
    data = photos["chelsea"].read_bytes()
    mask = np.asarray(run(remove_background(data, engine, NativeSession(model_path("lightweight"), engine))).mask)
    rgb = np.asarray(Image.open(photos["chelsea"]).convert("RGB"))
    radius = 15
    brush = capsule(mask.shape, (362, 60), (362, 240)) <= radius
    painted = mask.copy()
    painted[brush] = 0
    out = np.minimum(mask, edgebrush.refine(rgb, painted, radius))
    cat = brush & (mask >= 250)
    background = brush & (mask <= 10)
    assert cat.sum() > 500 and background.sum() > 500
    print(f"\ncat under the brush: mean mask {out[cat].mean():.0f} of 255; background {out[background].mean():.1f}")
    assert out[cat].mean() > 100
    assert out[background].mean() < 5
