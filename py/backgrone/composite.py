"""Compositing a mask with the photo."""
from __future__ import annotations

from PIL import Image, ImageChops


def cutout(rgb: Image.Image, mask: Image.Image, alpha: Image.Image | None = None) -> Image.Image:
    """RGBA cutout: the photo's colours, the mask as transparency.

    A photo that was already partly transparent stays so: the two alphas
    multiply, so nothing hidden before becomes visible.
    """
    if alpha is not None:
        mask = ImageChops.multiply(mask, alpha)
    out = rgb.copy()
    out.putalpha(mask)
    return out
