"""The guided filter (He, Sun and Tang, "Guided Image Filtering", TPAMI 2013).

Filters `src` (a mask) so that it follows the edges of `guide` (the photo):
in every window the output is a linear function of the guide's colours,
q = a . I + b, fitted to `src` by least squares with a ridge `eps` on `a`.
Where the photo is flat the ridge wins and the mask is smoothed; where the
photo has an edge the fit follows it. Costs a fixed number of box filters,
whatever the radius.

The steps are split so that callers can fit the coefficients on a smaller
copy of the photo and evaluate them at full resolution only where they need
to (He and Sun, "Fast Guided Filter", 2015): coefficients() on the small
copy, then apply() on full-resolution guide pixels with the coefficients
sampled there.

Arrays are float32 (float64 inside the sums, where float32 would lose the
small variances that decide an edge), guide values in 0..1.
"""
from __future__ import annotations

import numpy as np


def box_mean(x: np.ndarray, radius: int) -> np.ndarray:
    """The mean of x over the (2r+1)x(2r+1) window around each pixel of a 2-D
    array; near the border, over the part of the window inside the image."""
    h, w = x.shape
    r = int(radius)
    if r <= 0:
        return x.astype(np.float64)
    # A summed-area table with one leading row and column of zeros.
    table = np.zeros((h + 1, w + 1), np.float64)
    np.cumsum(x, axis=0, dtype=np.float64, out=table[1:, 1:])
    np.cumsum(table[1:, 1:], axis=1, out=table[1:, 1:])
    y0 = np.clip(np.arange(h) - r, 0, h)
    y1 = np.clip(np.arange(h) + r + 1, 0, h)
    x0 = np.clip(np.arange(w) - r, 0, w)
    x1 = np.clip(np.arange(w) + r + 1, 0, w)
    total = table[y1][:, x1] - table[y0][:, x1] - table[y1][:, x0] + table[y0][:, x0]
    count = np.outer(y1 - y0, x1 - x0)
    total /= count
    return total


def box_sum(x: np.ndarray, radius: int) -> np.ndarray:
    """The sum of x over the (2r+1)x(2r+1) window around each pixel, over the
    last two axes of any array (a stack of tiles), zeros beyond the edges.
    For small tiles: the summed-area table is padded so that every window
    is a plain slice, no gather."""
    h, w = x.shape[-2:]
    r = int(radius)
    k = 2 * r + 1
    # float32 in, float32 sums (for ratios of sums, where it is enough);
    # anything else in float64.
    dtype = np.float32 if x.dtype == np.float32 else np.float64
    table = np.zeros(x.shape[:-2] + (h + k, w + k), dtype)
    table[..., r + 1:r + 1 + h, r + 1:r + 1 + w] = x
    np.cumsum(table, axis=-2, out=table)
    np.cumsum(table, axis=-1, out=table)
    return table[..., k:, k:] - table[..., :h, k:] - table[..., k:, :w] + table[..., :h, :w]


def tile_mean(inside: np.ndarray, radius: int):
    """box_mean for a stack of tiles cut from an image: `inside` (the tiles'
    shape, 1 where a tile holds an image pixel, 0 past the image's border)
    makes each window's mean one over its image pixels only, as box_mean's
    is at the border. Returns the mean function."""
    count = np.maximum(box_sum(inside, radius), 1.0)

    def mean(x: np.ndarray) -> np.ndarray:
        return box_sum(x * inside, radius) / count

    return mean


def coefficients(guide: np.ndarray, src: np.ndarray, radius: int, eps: float,
                 mean=None) -> tuple[np.ndarray, np.ndarray]:
    """The window-averaged coefficients (a, b) of the guided filter: the
    output at a pixel with guide colour I is a . I + b.

    guide: (H, W, 3) colour or (H, W) grey, values 0..1; src: (H, W).
    Returns a as (H, W, 3) (or (H, W) for a grey guide) and b as (H, W),
    float32. `mean` replaces box_mean (radius `radius`), e.g. tile_mean()
    for a stack of tiles: guide (N, h, w, 3), src (N, h, w).
    """
    if mean is None:
        def mean(x):
            return box_mean(x, radius)
    p = np.asarray(src, np.float64)
    mean_p = mean(p)
    if guide.ndim == src.ndim:
        g = np.asarray(guide, np.float64)
        mean_i = mean(g)
        var = mean(g * g) - mean_i * mean_i
        cov = mean(g * p) - mean_i * mean_p
        a = cov / (var + eps)
        b = mean_p - a * mean_i
        return mean(a).astype(np.float32), mean(b).astype(np.float32)

    g = [np.asarray(guide[..., c], np.float64) for c in range(3)]
    mean_i = [mean(c) for c in g]
    cov_ip = [mean(g[c] * p) - mean_i[c] * mean_p for c in range(3)]
    # The guide's 3x3 colour covariance in each window, plus the ridge.
    s = {}
    for i in range(3):
        for j in range(i, 3):
            s[i, j] = mean(g[i] * g[j]) - mean_i[i] * mean_i[j]
    rr, rg, rb, gg, gb, bb = (s[0, 0] + eps, s[0, 1], s[0, 2], s[1, 1] + eps, s[1, 2], s[2, 2] + eps)
    # Its inverse by cofactors: one closed form per pixel, no loop.
    inv = [
        gg * bb - gb * gb, gb * rb - rg * bb, rg * gb - gg * rb,
        rr * bb - rb * rb, rb * rg - rr * gb,
        rr * gg - rg * rg,
    ]
    det = rr * inv[0] + rg * inv[1] + rb * inv[2]
    i_rr, i_rg, i_rb, i_gg, i_gb, i_bb = (m / det for m in inv)
    a0 = i_rr * cov_ip[0] + i_rg * cov_ip[1] + i_rb * cov_ip[2]
    a1 = i_rg * cov_ip[0] + i_gg * cov_ip[1] + i_gb * cov_ip[2]
    a2 = i_rb * cov_ip[0] + i_gb * cov_ip[1] + i_bb * cov_ip[2]
    b = mean_p - a0 * mean_i[0] - a1 * mean_i[1] - a2 * mean_i[2]
    a = np.stack([mean(a0), mean(a1), mean(a2)], axis=-1)
    return a.astype(np.float32), mean(b).astype(np.float32)


def apply(a: np.ndarray, b: np.ndarray, guide: np.ndarray) -> np.ndarray:
    """q = a . I + b, pixel by pixel (any shape, as long as they agree)."""
    if a.ndim == b.ndim:  # grey guide
        return (a * guide + b).astype(np.float32)
    return (np.einsum("...c,...c->...", a, guide, dtype=np.float32) + b).astype(np.float32)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """The guided filter of `src` by `guide` at one resolution."""
    a, b = coefficients(guide, src, radius, eps)
    return apply(a, b, np.asarray(guide, np.float32))
