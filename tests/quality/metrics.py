"""Matting and segmentation metrics, in numpy, as the literature defines them.

Alphas are float arrays in 0..1 of one shape. Each metric is taken over a
region (a boolean mask): the whole image, or the edge band (band()).

- SAD: sum of |pred - gt| / 1000 (Rhemann et al. 2009; Xu et al., Deep Image
  Matting 2017).
- MSE: mean of (pred - gt)^2 over the region, reported x 1e3.
- Gradient error: sum over the region of (|grad pred| - |grad gt|)^2 / 1000,
  the gradients from first-derivative-of-Gaussian filters with sigma 1.4
  (the evaluation code of Deep Image Matting, replicate border).
- Connectivity error: sum over the region of |phi(pred) - phi(gt)| / 1000,
  phi from the largest 4-connected component common to both at thresholds
  0.1 ... 1.0 (Rhemann et al.; Deep Image Matting's code).
- MAE: mean |pred - gt| over the region (the salient-object literature's).
- IoU at 0.5: |P and G| / |P or G| with P = pred >= 0.5, G = gt >= 0.5.
"""
from __future__ import annotations

import math

import numpy as np

GRAD_SIGMA = 1.4
CONN_STEP = 0.1
CONN_THETA = 0.15  # phi ignores distances below this (Rhemann et al.)
BAND_RADIUS = 10  # px: the edge band is the soft region and the edge, dilated this far


# -- regions ------------------------------------------------------------------

def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation with a (2r+1) x (2r+1) square, separable."""
    out = mask.copy()
    for axis in (0, 1):
        src = out.copy()
        n = src.shape[axis]
        for d in range(1, radius + 1):
            if d >= n:
                break
            lo = [slice(None)] * 2
            hi = [slice(None)] * 2
            lo[axis], hi[axis] = slice(0, n - d), slice(d, n)
            out[tuple(lo)] |= src[tuple(hi)]
            out[tuple(hi)] |= src[tuple(lo)]
    return out


def band(gt: np.ndarray, radius: int = BAND_RADIUS) -> np.ndarray:
    """Pixels where the ground truth is strictly between 0 and 1, or where its
    binary form (>= 0.5) changes between 4-neighbours, dilated by `radius`."""
    soft = (gt > 0) & (gt < 1)
    hard = gt >= 0.5
    edge = np.zeros_like(hard)
    dy = hard[1:] != hard[:-1]
    dx = hard[:, 1:] != hard[:, :-1]
    edge[1:] |= dy
    edge[:-1] |= dy
    edge[:, 1:] |= dx
    edge[:, :-1] |= dx
    return dilate(soft | edge, radius)


# -- the metrics -----------------------------------------------------------------

def sad(pred, gt, region) -> float:
    return float(np.abs(pred - gt)[region].sum() / 1000.0)


def mse(pred, gt, region) -> float:
    n = int(region.sum())
    return float(((pred - gt) ** 2)[region].sum() / n) if n else 0.0


def mae(pred, gt, region) -> float:
    n = int(region.sum())
    return float(np.abs(pred - gt)[region].sum() / n) if n else 0.0


def iou(pred, gt, region) -> float:
    p = (pred >= 0.5) & region
    g = (gt >= 0.5) & region
    union = int((p | g).sum())
    return float((p & g).sum() / union) if union else 1.0


def _gauss(x, sigma):
    return np.exp(-x * x / (2 * sigma * sigma)) / (sigma * math.sqrt(2 * math.pi))


def _filter_1d(img: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    """Correlation along one axis, border replicated."""
    half = len(kernel) // 2
    pad = [(0, 0), (0, 0)]
    pad[axis] = (half, half)
    padded = np.pad(img, pad, mode="edge")
    n = img.shape[axis]
    out = np.zeros_like(img, dtype=np.float64)
    for i, k in enumerate(kernel):
        sl = [slice(None)] * 2
        sl[axis] = slice(i, i + n)
        out += k * padded[tuple(sl)]
    return out


def gradient_magnitude(alpha: np.ndarray, sigma: float = GRAD_SIGMA) -> np.ndarray:
    """|grad alpha| by derivative-of-Gaussian filters, as Deep Image Matting's
    gaussgradient: a 2-D kernel g(y) g'(x), normalised to unit L2 norm. It
    is separable: g along one axis, g' along the other, each normalised."""
    eps = 1e-2
    half = int(math.ceil(sigma * math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * sigma * eps))))
    x = np.arange(-half, half + 1, dtype=np.float64)
    g = _gauss(x, sigma)
    dg = -x * g / (sigma * sigma)
    g = g / np.sqrt((g * g).sum())
    dg = dg / np.sqrt((dg * dg).sum())
    # Convolution flips the kernel; the magnitude does not care about the sign.
    gx = _filter_1d(_filter_1d(alpha, g, 0), dg[::-1], 1)
    gy = _filter_1d(_filter_1d(alpha, g, 1), dg[::-1], 0)
    return np.sqrt(gx * gx + gy * gy)


def gradient_error(pred, gt, region, pred_grad=None, gt_grad=None) -> float:
    pg = gradient_magnitude(pred) if pred_grad is None else pred_grad
    gg = gradient_magnitude(gt) if gt_grad is None else gt_grad
    return float(((pg - gg) ** 2)[region].sum() / 1000.0)


def largest_component(binary: np.ndarray) -> np.ndarray:
    """The largest 4-connected component of a 2-D boolean array.

    Labelled by runs: each row's runs of True, joined to the runs they
    overlap in the row below, the joins resolved by repeated minimum-label
    propagation. numpy only, and fast: the work is per run, not per pixel."""
    h, w = binary.shape
    if not binary.any():
        return np.zeros_like(binary)
    padded = np.zeros((h, w + 2), np.int8)
    padded[:, 1:-1] = binary
    d = np.diff(padded, axis=1)
    sr, sc = np.nonzero(d == 1)  # run starts (row, col), sorted by row then col
    er, ec = np.nonzero(d == -1)  # run ends (exclusive), same order
    n = len(sr)
    stride = w + 1
    start_key = sr * stride + sc
    end_key = er * stride + ec
    # Runs in row r overlapping run b of row r+1 form a contiguous range.
    below = sr > 0
    b_idx = np.nonzero(below)[0]
    r_above = sr[b_idx] - 1
    lo = np.searchsorted(end_key, r_above * stride + sc[b_idx], side="right")
    hi = np.searchsorted(start_key, r_above * stride + ec[b_idx], side="left")
    count = np.maximum(hi - lo, 0)
    u = np.repeat(b_idx, count)
    offsets = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    v = np.repeat(lo, count) + offsets
    labels = np.arange(n)
    if len(u):
        while True:
            m = np.minimum(labels[u], labels[v])
            new = labels.copy()
            np.minimum.at(new, u, m)
            np.minimum.at(new, v, m)
            new = new[new]
            while True:  # pointer jumping
                jumped = new[new]
                if np.array_equal(jumped, new):
                    break
                new = jumped
            if np.array_equal(new, labels):
                break
            labels = new
    sizes = np.bincount(labels, weights=(ec - sc), minlength=n)
    keep = labels == np.argmax(sizes)
    out = np.zeros((h, w + 1), np.int32)
    np.add.at(out, (sr[keep], sc[keep]), 1)
    np.add.at(out, (er[keep], ec[keep]), -1)
    return np.cumsum(out, axis=1)[:, :w] > 0


def _phi(alpha, l_map):
    d = alpha - l_map
    return 1 - d * (d >= CONN_THETA)


def connectivity_levels(pred, gt) -> np.ndarray:
    """The level map l of the connectivity error: for each pixel, the highest
    threshold at which it is still in the largest common component."""
    steps = np.arange(0, 1 + CONN_STEP, CONN_STEP)
    l_map = np.full(pred.shape, -1.0)
    for i in range(1, len(steps)):
        omega = largest_component((pred >= steps[i]) & (gt >= steps[i]))
        l_map[(l_map == -1) & ~omega] = steps[i - 1]
    l_map[l_map == -1] = 1.0
    return l_map


def connectivity_error(pred, gt, region) -> float:
    l_map = connectivity_levels(pred, gt)
    return float(np.abs(_phi(pred, l_map) - _phi(gt, l_map))[region].sum() / 1000.0)


MASK_METRICS = ("sad", "mse", "grad", "conn", "mae", "iou")


def mask_metrics(pred: np.ndarray, gt: np.ndarray, bands: np.ndarray, gt_grad=None) -> dict:
    """Every mask metric over the whole image and over the edge band.
    MSE is reported x 1e3."""
    pred = np.asarray(pred, np.float64)
    gt = np.asarray(gt, np.float64)
    everywhere = np.ones(gt.shape, bool)
    pg = gradient_magnitude(pred)
    gg = gradient_magnitude(gt) if gt_grad is None else gt_grad
    l_map = connectivity_levels(pred, gt)
    conn_map = np.abs(_phi(pred, l_map) - _phi(gt, l_map))
    out = {}
    for name, region in (("image", everywhere), ("band", bands)):
        out[name] = {
            "sad": sad(pred, gt, region),
            "mse": 1e3 * mse(pred, gt, region),
            "grad": gradient_error(pred, gt, region, pg, gg),
            "conn": float(conn_map[region].sum() / 1000.0),
            "mae": mae(pred, gt, region),
            "iou": iou(pred, gt, region),
        }
    return out


def colour_error(alpha, fg, gt_alpha, gt_fg, new_bg, region) -> float:
    """The cutout (alpha and colours) on a new background against the ground
    truth's composite on the same background: mean absolute difference in
    8-bit levels over the region, all channels."""
    a = np.asarray(alpha, np.float64)[..., None]
    g = np.asarray(gt_alpha, np.float64)[..., None]
    shown = a * fg + (1 - a) * new_bg
    truth = g * gt_fg + (1 - g) * new_bg
    n = int(region.sum())
    return float(255 * np.abs(shown - truth)[region].sum() / (3 * n)) if n else 0.0
