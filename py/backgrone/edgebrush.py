"""The touch-up editor's edge-aware brush: inside a stroke's footprint, the
mask the stroke gives is made to follow the photo's edges.

The page paints the stroke plainly (erase towards 0, restore towards 255)
and sends a crop around it: the photo's pixels and that painted mask. The
guided filter (guided.py) then does what He et al. call feathering: a rough
mask filtered with the photo as guide takes the photo's edges. In each
window the output is a linear function of the colours, fitted to the painted
mask; a colour that lies mostly outside the brush keeps the value it has
there, so a restore stroke that spills over the subject's edge stops at it,
and an erase stroke leaves the subject's colours standing. The page blends
the result in by the brush's coverage, so nothing outside the footprint
changes.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from .guided import apply, coefficients

# The filter's window radius as a share of the brush's radius. The fit weighs
# colours by area, so each window must see more of a colour outside the
# brush (where the mask is as it was) than inside: with 3 radii an erase
# stroke centred on the subject's edge leaves the subject at 239 of 255 on
# flat colours (71 with 1.5 radii), and on a photo the wider fit still
# follows the edge of fur (tests/unit/test_edgebrush.py).
RADIUS_SHARE = 3.0
MIN_RADIUS = 2
# The ridge on the colour fit, for a guide in 0..1: small, so that a colour
# edge decides, but above the variance of a JPEG's noise.
EPS = 1e-3
# The fit leaves a colour seen on both sides of the brush's rim in between
# (a restore stroke over part of a missing band gives about 0.7 on the
# subject, 0.1 beside it): the output is stretched so that what is clearly
# one side or the other becomes 0 or 255, and only real mixtures (hair, a
# soft edge) stay in between.
STRETCH = (0.25, 0.75)
# The coefficients are fitted on a copy of the crop of at most this many
# pixels (He and Sun's fast guided filter) and evaluated on every pixel of
# the crop: a long stroke across a 12 MP photo stays well under a second.
WORK_PIXELS = 384 * 384


def window_radius(brush_radius: float) -> int:
    """The guided filter's radius, in full-resolution pixels, for a brush of
    this radius."""
    return max(MIN_RADIUS, round(RADIUS_SHARE * float(brush_radius)))


def _resize_float(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(np.ascontiguousarray(x, np.float32), "F").resize(size, Image.Resampling.BILINEAR))


def refine(rgb: np.ndarray, painted: np.ndarray, brush_radius: float) -> np.ndarray:
    """The painted mask of a crop made to follow the crop's edges.

    rgb: (H, W, 3) uint8, the photo's pixels; painted: (H, W) uint8, the mask
    with the stroke applied plainly. Returns (H, W) uint8.
    """
    rgb = np.asarray(rgb, np.uint8)
    painted = np.asarray(painted, np.uint8)
    if rgb.shape[:2] != painted.shape or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"refine needs an (H, W, 3) photo and an (H, W) mask, got {rgb.shape} and {painted.shape}")
    h, w = painted.shape
    radius = window_radius(brush_radius)
    guide = rgb.astype(np.float32) / 255
    scale = min(1.0, (WORK_PIXELS / (h * w)) ** 0.5)
    if scale < 1.0:
        small_size = (max(1, round(w * scale)), max(1, round(h * scale)))
        # BOX: the mean of the pixels each small one covers, what the filter's
        # window means would see.
        small_rgb = np.asarray(Image.fromarray(rgb).resize(small_size, Image.Resampling.BOX), np.float32) / 255
        small_src = np.asarray(Image.fromarray(painted).resize(small_size, Image.Resampling.BOX), np.float32) / 255
        a, b = coefficients(small_rgb, small_src, max(1, round(radius * scale)), EPS)
        a = np.stack([_resize_float(a[:, :, c], (w, h)) for c in range(3)], axis=-1)
        b = _resize_float(b, (w, h))
    else:
        a, b = coefficients(guide, painted.astype(np.float32) / 255, radius, EPS)
    lo, hi = STRETCH
    q = (apply(a, b, guide) - lo) / (hi - lo)
    return np.clip(q * 255 + 0.5, 0, 255).astype(np.uint8)
