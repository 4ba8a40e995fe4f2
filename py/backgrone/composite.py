"""Compositing a mask with the photo."""
from __future__ import annotations

from PIL import Image, ImageChops


def cutout(
    rgb: Image.Image,
    mask: Image.Image,
    alpha: Image.Image | None = None,
    in_place: bool = False,
) -> Image.Image:
    """RGBA cutout: the photo's colours, the mask as transparency.

    A photo that was already partly transparent stays so: the two alphas
    multiply, so nothing hidden before becomes visible.

    in_place=True turns `rgb` itself into the cutout, for a caller that no
    longer needs the photo: Pillow keeps RGB pixels in 4 bytes, so adding the
    alpha allocates nothing, where a copy would cost a second full-size image
    (48 MB at 12 MP).
    """
    if alpha is not None:
        mask = ImageChops.multiply(mask, alpha)
    out = rgb if in_place else rgb.convert("RGBA")
    out.putalpha(mask)
    return out
