"""Colour decontamination: the subject's own colours under its soft edges.

A pixel the mask calls half subject is, in the photo, half subject and half
the old background: I = a F + (1 - a) B. Cut out with the photo's colours
(F = I), it carries the old background onto the new one as a fringe. This
module estimates F where 0 < a < 1, in the edge band only; opaque and
transparent pixels keep their values.

The estimate is Forte and Pitie's blur-fusion ("Approximate fast foreground
colour estimation", ICIP 2021): local means of the foreground and of the
background colours, weighted by the mask, and then the pixel's own
compositing residual given to the foreground in proportion to a:

    F = F^ + a (I - a F^ - (1 - a) B^)

Two levels, as Forte and Pitie run it (a wide blur, then a narrow one fed
the first one's estimates): the wide pass on a coarse copy of the whole
grid (COARSE_SIDE cells long, cheap), so a pixel deep in a wide soft zone
(hair, motion blur) still finds the colours of the subject and backdrop
around it; the narrow pass on the grid's band tiles (band.py), sampled per
full-resolution pixel, so the work follows the outline. The constants were
chosen with the quality benchmark (tests/quality/, docs/quality.md).
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from . import band as bands
from .guided import box_sum

# Window radius of the narrow pass's colour means, in grid cells (about mask
# pixels): past the soft edge (1-2 mask pixels) to colours that are not mixed.
RADIUS = 3
# The weights are a^POWER and (1 - a)^POWER: the nearly opaque pixels speak
# for the foreground's colour, the nearly clear ones for the background's,
# rather than the mixed ones in between. With the true alpha, 1, 2 and 4 gave
# -42%, -45%, -49% colour error (one level; docs/quality.md).
POWER = 2
# The wide pass: on a copy of the grid this many cells on its long side, with
# this radius (a window reaches about 4% of the photo's long side each way,
# as Forte and Pitie's 90 px box does on their 1-2 MP photos).
COARSE_SIDE = 48
COARSE_RADIUS = 2
# Pixels decontaminated: strictly soft ones in cells whose mask is between these.
BAND_LO = 1 / 255
BAND_HI = 254 / 255
GROW = 1


def _weighted_mean(values, weight, radius, inside=None):
    """Window means of (..., h, w, 3) values weighted by (..., h, w) weights;
    where a window holds no weight, the pixel's own value."""
    w = weight if inside is None else weight * inside.astype(weight.dtype)
    total = box_sum(w, radius)
    out = np.empty_like(values)
    for c in range(3):
        out[..., c] = box_sum(values[..., c] * w, radius)
    ok = total > 1e-6
    out[ok] /= total[ok][:, None]
    out[~ok] = values[~ok]
    return out


def _fuse(colour, a, f_mean, b_mean):
    """Forte and Pitie's estimate: the local foreground mean plus the share
    a of the compositing residual."""
    a = a[..., None]
    return np.clip(f_mean + a * (colour - a * f_mean - (1 - a) * b_mean), 0.0, 1.0)


def _coarse_pass(grid: np.ndarray, small_alpha: np.ndarray, power: float):
    """The wide pass over the whole grid, on a coarse copy: (F, B) estimates,
    (ch, cw, 6)."""
    factor = max(1, -(-max(grid.shape[:2]) // COARSE_SIDE))
    colour = np.asarray(bands.reduce(Image.fromarray(grid), factor), np.float64) / 255.0
    a = np.asarray(bands.reduce(Image.fromarray((small_alpha * 255 + 0.5).astype(np.uint8)), factor),
                   np.float64) / 255.0
    f_mean = _weighted_mean(colour, a ** power, COARSE_RADIUS)
    b_mean = _weighted_mean(colour, (1 - a) ** power, COARSE_RADIUS)
    return np.concatenate([_fuse(colour, a, f_mean, b_mean), b_mean], axis=-1)


def decontaminate(rgb: Image.Image, alpha: Image.Image, scale: float, *, radius: int = RADIUS,
                  power: float = POWER, grid: np.ndarray | None = None) -> Image.Image:
    """`rgb` with the foreground's estimated colours where 0 < alpha < 255 in
    the edge band; changed in place (and returned): the caller's photo is
    about to become the cutout. `alpha` is the mask the cutout will carry."""
    step = bands.grid_step(scale)
    small_alpha = np.asarray(bands.reduce(alpha, step), np.float32) / 255.0
    band = bands.Band.find(small_alpha, step, rgb.size, BAND_LO, BAND_HI, GROW)
    if band.empty:
        return rgb
    if grid is None:
        grid = bands.photo_grid(rgb, step)
    coarse = _coarse_pass(grid, small_alpha, power)
    tiles = bands.Tiles(bands.dilate(band.cells, 1), radius)
    # float32: these are ratios of window sums, no differences of them.
    colour = tiles.gather(grid).astype(np.float32) * np.float32(1 / 255)
    a = tiles.gather(small_alpha.astype(np.float32))
    # The narrow pass, fed the wide pass's estimates, stretched to the grid
    # (Pillow, in C) and cut into the same tiles.
    gh, gw = small_alpha.shape
    wide = np.empty(a.shape + (6,), np.float32)
    for c in range(6):
        channel = Image.fromarray(coarse[..., c].astype(np.float32)).resize((gw, gh), Image.Resampling.BILINEAR)
        wide[..., c] = tiles.gather(np.asarray(channel))
    f_wide = _fuse(colour, a, wide[..., :3], wide[..., 3:])
    f_mean = _weighted_mean(f_wide, a ** power, radius, tiles.inside)
    b_mean = _weighted_mean(wide[..., 3:], (1 - a) ** power, radius, tiles.inside)
    means = np.zeros(small_alpha.shape + (6,), np.float32)
    tiles.put(np.concatenate([f_mean, b_mean], axis=-1), means)
    del colour, a, wide, f_wide, f_mean, b_mean

    for c0, cy, cx in band.strips():
        al = band.blocks(alpha, c0, cy, cx)  # (cells, s, s)
        soft = (al > 0) & (al < 255)
        keep = soft.any(axis=(1, 2))
        if not keep.any():
            continue
        cy, cx, al, soft = cy[keep], cx[keep], al[keep], soft[keep]
        old = band.blocks(rgb, c0, cy, cx)
        i = old.astype(np.float32) * np.float32(1 / 255)
        m = band.interpolate(means, cy + c0, cx)
        f, b = m[..., :3], m[..., 3:]
        a_ = (al.astype(np.float32) * np.float32(1 / 255))[..., None]
        est = f + a_ * (i - a_ * f - (1 - a_) * b)
        np.clip(est, 0.0, 1.0, out=est)
        new = (est * 255.0 + 0.5).astype(np.uint8)
        band.paste(rgb, c0, cy, cx, np.where(soft[..., None], new, old))
    return rgb
