"""backgrone.guided: the guided filter, against brute force and its known
properties."""
from __future__ import annotations

import numpy as np
import pytest

from backgrone.guided import apply, box_mean, coefficients, guided_filter


def brute_box(x: np.ndarray, r: int) -> np.ndarray:
    h, w = x.shape
    out = np.empty((h, w))
    for y in range(h):
        for x0 in range(w):
            out[y, x0] = x[max(0, y - r): y + r + 1, max(0, x0 - r): x0 + r + 1].mean()
    return out


@pytest.mark.parametrize("r", [0, 1, 3, 9])
def test_box_mean_is_the_window_mean_clipped_at_the_border(r):
    x = np.random.default_rng(r).random((13, 17)).astype(np.float32)
    assert np.allclose(box_mean(x, r), brute_box(x.astype(np.float64), r), atol=1e-9)


def test_a_flat_guide_only_smooths():
    # No edge to follow: a = 0 and the output is the mean of the window means.
    src = np.random.default_rng(1).random((20, 24)).astype(np.float32)
    guide = np.full((20, 24, 3), 0.4, np.float32)
    out = guided_filter(guide, src, 2, 1e-3)
    assert np.allclose(out, box_mean(box_mean(src, 2), 2), atol=1e-5)


def test_the_mask_follows_an_edge_of_the_photo():
    # A photo with a sharp vertical edge at x = 32, and a mask blurred across it.
    h, w = 40, 64
    guide = np.zeros((h, w, 3), np.float32)
    guide[:, 32:] = (0.9, 0.7, 0.2)
    x = np.arange(w, dtype=np.float32)
    soft = np.clip((x - 24) / 16, 0, 1)  # a ramp from x = 24 to 40
    src = np.broadcast_to(soft, (h, w)).copy()
    out = guided_filter(guide, src, 8, 1e-4)
    row = out[h // 2]
    # The mask's step of 1/16 a pixel becomes a jump where the photo's edge is.
    assert row[32] - row[31] > 0.4 > soft[32] - soft[31]
    assert (np.diff(row) > -1e-6).all()  # still monotonic: no ringing
    # Far from the edge each side stays clear.
    assert np.abs(row[:8]).max() < 0.05 and np.abs(row[56:] - 1).max() < 0.05


def test_a_colour_guide_of_three_equal_channels_is_the_grey_filter_with_a_third_of_eps():
    rng = np.random.default_rng(2)
    grey = rng.random((18, 22)).astype(np.float32)
    src = rng.random((18, 22)).astype(np.float32)
    colour = np.repeat(grey[:, :, None], 3, axis=2)
    eps = 3e-3
    assert np.allclose(guided_filter(colour, src, 3, eps), guided_filter(grey, src, 3, eps / 3), atol=1e-4)


def test_coefficients_applied_elsewhere_give_the_same_output():
    # apply() on any subset of pixels equals the full output there: what lets
    # a caller evaluate the filter in an edge band only.
    rng = np.random.default_rng(3)
    guide = rng.random((16, 16, 3)).astype(np.float32)
    src = rng.random((16, 16)).astype(np.float32)
    a, b = coefficients(guide, src, 2, 1e-3)
    full = apply(a, b, guide)
    ys, xs = np.nonzero(rng.random((16, 16)) < 0.2)
    assert np.allclose(apply(a[ys, xs], b[ys, xs], guide[ys, xs]), full[ys, xs], atol=1e-6)
