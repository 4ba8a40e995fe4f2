"""Edge refinement at full resolution: the network's mask, stretched to the
photo, made to follow the photo's own edges in the edge band.

A 1024x1024 mask on a 4000x3000 photo has one mask pixel per 4x3 photo
pixels: bilinearly stretched, its edges are ramps several pixels wide that
ignore where the photo's edge really is. In the band (band.py) a colour
guided filter (guided.py; He et al.) fits the mask as a linear function of
the photo's colours in each window: where the photo has an edge the fit
puts the mask's step on it. The coefficients are fitted on the grid (about
the mask's own resolution, where the mask holds its information) and
evaluated at every full-resolution pixel of the band, with that pixel's own
colour (He and Sun's fast guided filter): the edge comes from the photo at
full resolution. Outside the band the mask is kept as it is, bit for bit.

The constants were chosen with the quality benchmark (tests/quality/,
docs/quality.md), which says what each alternative gave.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from . import band as bands
from .guided import coefficients, tile_mean

# The guided filter's window radius, in grid cells (about mask pixels): the
# window must span the stretched mask's ramp (1-2 mask pixels) with room to
# see both sides of the photo's edge. On the 12 MP-like set 1, 2 and 3 were
# within a point or two of each other (SAD -42/-43/-43%); on the native set
# 2 and 3 gained most MSE and gradient error. 2, the cheaper.
RADIUS = 2
# The ridge on the colour coefficients (colours 0..1): below the variance of
# a real edge (1e-3 and up), above sensor noise in a flat area. 1e-4 beat
# 1e-3 and 1e-2 on every metric of the 12 MP-like set.
EPS = 1e-4
# The band: grid cells whose mask is strictly between these (0..1), grown by
# GROW cells so that the edge can move off the stretched one.
BAND_LO = 2 / 255
BAND_HI = 253 / 255
GROW = 2
# A contrast curve about one half on the filtered mask: q -> (q - 1/2) g + 1/2.
# The guided filter finds the photo's edge but leaves both sides a little off
# 0 and 1 (its windows mix both sides, the more so the wider the stretched
# ramp was); real edges are narrower. g is 1 (no curve) for masks stretched
# up to SOFT_SCALE times, GAIN from SHARPEN_SCALE on, linear in between. On
# the benchmark's 12 MP-like set (stretched 4 times) 1.5 beat 1, 2 and 3 on
# every metric but MAE; on the large set (1.5-2.9 times) and the native one
# any curve made MSE worse (1.15: +5%, 1.3: +8%), none made every metric
# better.
GAIN = 1.5
SOFT_SCALE = 3.0
SHARPEN_SCALE = 4.0
# Tiles fitted at once. The fit keeps about 30 float64 arrays of its tiles
# alive (26x26 cells each at RADIUS 2): 128 tiles are about 20 MB of them,
# where every tile at once was about 70 MB on a 12 or 48 MP portrait, on top
# of the photo, at the pipeline's peak. Tiles are fitted independently, so
# the result is the same for any count.
TILES_PER_FIT = 128


def contrast_gain(scale: float) -> float:
    t = min(1.0, max(0.0, (scale - SOFT_SCALE) / (SHARPEN_SCALE - SOFT_SCALE)))
    return 1.0 + (GAIN - 1.0) * t


def network_scale(size: tuple[int, int], mask_size: tuple[int, int] = (1024, 1024)) -> float:
    """Photo pixels per mask pixel, along the photo's more stretched side."""
    return max(size[0] / mask_size[0], size[1] / mask_size[1])


def refine(rgb: Image.Image, mask: Image.Image, scale: float, *, radius: int = RADIUS, eps: float = EPS,
           gain: float | None = None, grow: int = GROW, grid: np.ndarray | None = None,
           in_place: bool = False) -> Image.Image:
    """The refined mask ("L", the photo's size) of `mask` ("L", the photo's
    size, stretched from a mask of `scale` photo pixels per pixel) against
    the photo `rgb` ("RGB"). `grid`: the photo's band.photo_grid, if the
    caller has it. `gain`: the contrast curve's, by default contrast_gain().
    in_place=True refines `mask` itself, for a caller that no longer needs
    it as it was (no second full-size mask)."""
    if gain is None:
        gain = contrast_gain(scale)
    step = bands.grid_step(scale)
    small_mask = np.asarray(bands.reduce(mask, step), np.float32) / 255.0
    band = bands.Band.find(small_mask, step, rgb.size, BAND_LO, BAND_HI, grow)
    if band.empty:
        return mask
    if grid is None:
        grid = bands.photo_grid(rgb, step)
    # Coefficients wherever a band pixel's bilinear sample reaches: the
    # band's cells and one more ring.
    tiles = bands.Tiles(bands.dilate(band.cells, 1), 2 * radius + 1)
    src_grid = small_mask.astype(np.float64)
    ab = np.zeros(small_mask.shape + (4,), np.float32)
    for part in tiles.parts(TILES_PER_FIT):
        guide = tiles.gather(grid, part).astype(np.float64) / 255.0
        src = tiles.gather(src_grid, part)
        a, b = coefficients(guide, src, radius, eps, mean=tile_mean(tiles.inside[part], radius))
        tiles.put(np.concatenate([a, b[..., None]], axis=-1), ab, part)
    del a, b, guide, src, src_grid

    # Outside the band the mask stays as it is; the band's cells are
    # written into it (or into a copy) a strip at a time.
    out = mask if in_place else mask.copy()
    for c0, cy, cx in band.strips():
        colour = band.blocks(rgb, c0, cy, cx).astype(np.float32) * np.float32(1 / 255)
        coef = band.interpolate(ab, cy + c0, cx)
        q = np.einsum("...c,...c->...", coef[..., :3], colour) + coef[..., 3]
        if gain != 1.0:
            q = (q - 0.5) * gain + 0.5
        np.clip(q, 0.0, 1.0, out=q)
        band.paste(out, c0, cy, cx, (q * 255.0 + 0.5).astype(np.uint8))
    return out


def stretched(mask: Image.Image, size: tuple[int, int]) -> tuple[Image.Image, float]:
    """A mask of any size (from another tool, a cutout's alpha, a network's
    output) at the photo's size, stretched bilinearly as the pipeline's is,
    and its scale for refine(). A mask of the photo's own size is taken to
    come from a 1024x1024 network, the usual case."""
    if mask.mode != "L":
        mask = mask.convert("L")
    if mask.size == tuple(size):
        return mask, max(1.0, network_scale(size))
    return mask.resize(size, Image.Resampling.BILINEAR), network_scale(size, mask.size)
