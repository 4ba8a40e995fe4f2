"""numpy between images and the network: preprocess and postprocess."""
from __future__ import annotations

import numpy as np
from PIL import Image

from .engines import Engine
from .errors import ModelError


def preprocess(rgb: Image.Image, engine: Engine) -> np.ndarray:
    """Upright RGB image -> float32 NCHW tensor in the engine's normalisation.

    The authors stretch the photo to the input size (no letterbox) and
    bilinearly resize it. Pillow resizes the 8-bit image in C, far cheaper
    than resizing floats in numpy, so the float work is on 1024x1024 only.
    """
    small = rgb.resize(engine.input_size, Image.Resampling.BILINEAR)
    hwc = np.asarray(small)  # (H, W, 3) uint8: a quarter of a float copy
    std = np.asarray(engine.std, dtype=np.float32)
    scale = 1.0 / (255.0 * std)
    offset = np.asarray(engine.mean, dtype=np.float32) / std
    chw = np.empty((1, 3) + hwc.shape[:2], dtype=np.float32)
    for c in range(3):
        # Straight from uint8 into the output, in float32 (the same values as
        # converting first): no full-size temporaries beyond the output.
        np.multiply(hwc[:, :, c], scale[c], out=chw[0, c])
        chw[0, c] -= offset[c]
    return chw


def mask_from_output(output: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """The network's first output -> 8-bit mask ("L") at the photo's size:
    network_mask() stretched bilinearly."""
    small = network_mask(output)
    if small.size == size:
        return small
    return small.resize(size, Image.Resampling.BILINEAR)


def network_mask(output: np.ndarray) -> Image.Image:
    """The network's first output -> 8-bit mask ("L") at the network's size.

    Min-max normalisation as in both reference codes. It is done at the
    network's resolution, before resizing: a bilinear resize is a convex
    combination of its inputs, so the range is the same and the work is on
    1 MP instead of the photo's size. A flat output has no range: it is
    kept as it says (all subject or none).
    """
    m = np.asarray(output, dtype=np.float32).reshape(output.shape[-2:])
    lo = float(m.min())
    hi = float(m.max())
    if not np.isfinite(lo) or not np.isfinite(hi):
        raise ModelError("The engine returned an invalid mask (not a number). Try another engine.")
    if hi - lo < 1e-6:
        level = 255 if lo >= 0.5 else 0
        return Image.new("L", (m.shape[1], m.shape[0]), level)
    u8 = ((m - lo) * (255.0 / (hi - lo)) + 0.5).astype(np.uint8)
    return Image.fromarray(u8, "L")
