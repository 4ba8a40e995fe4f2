"""Decoding and encoding with Pillow.

decode() turns whatever bytes a user dropped into an upright RGB image plus
its original alpha (if any); encode_png() turns a result back into bytes.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError

# Largest image accepted, in pixels. Checked from the header, before any pixel
# is decoded, so a decompression bomb costs nothing. 50 MP is above every
# current phone and most cameras; the page keeps several full-size planes of
# this size in the 4 GiB a WebAssembly module can address.
MAX_PIXELS = 50_000_000


@dataclass
class Decoded:
    rgb: Image.Image  # mode "RGB", EXIF orientation applied
    alpha: Image.Image | None  # mode "L", the image's own transparency, if any
    format: str
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.size


def _has_transparency(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        "transparency" in img.info
    )


def decode(data: bytes, max_pixels: int = MAX_PIXELS) -> Decoded:
    if not data:
        raise ImageError("The file is empty.")
    try:
        with warnings.catch_warnings():
            # Our own limit below replaces Pillow's bomb warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageError("This file is not an image Backgrone can read.") from None
    except Image.DecompressionBombError:
        img = None
    except Exception as exc:  # Pillow raises many types for broken headers
        raise ImageError(f"This image is damaged and cannot be read ({exc}).") from None
    if img is None:
        raise ImageError(_too_large_message(None))
    width, height = img.size
    if width * height > max_pixels:
        raise ImageError(_too_large_message((width, height), max_pixels))
    if width < 1 or height < 1:
        raise ImageError("This image has no pixels.")

    notes = []
    fmt = img.format or "unknown"
    if getattr(img, "n_frames", 1) > 1:
        notes.append(f"Animated {fmt}: only the first frame was used.")
    try:
        img.load()
        upright = ImageOps.exif_transpose(img)
    except Exception as exc:
        raise ImageError(
            f"This image is damaged or truncated and cannot be read ({exc})."
        ) from None

    if upright.mode in ("I;16", "I;16B", "I;16L", "I"):
        upright = _integer_to_8bit(upright)
    alpha = None
    if _has_transparency(upright):
        rgba = upright.convert("RGBA")
        alpha = rgba.getchannel("A")
        rgb = rgba.convert("RGB")
    elif upright.mode == "RGB":
        rgb = upright
    else:
        # CMYK, greyscale, palette, YCbCr...: Pillow's conversion to RGB.
        rgb = upright.convert("RGB")
    return Decoded(rgb=rgb, alpha=alpha, format=fmt, notes=notes)


def _integer_to_8bit(img: Image.Image) -> Image.Image:
    """16- or 32-bit greyscale -> "L", scaled rather than clipped to white.
    A transparent key colour becomes an alpha channel ("LA")."""
    arr = np.asarray(img, dtype=np.int64)
    top = 255 if img.mode == "I" and arr.max() <= 255 else max(65535, int(arr.max()))
    grey = Image.fromarray((np.clip(arr, 0, None) * 255 // top).astype(np.uint8), "L")
    key = img.info.get("transparency")
    if isinstance(key, int):
        grey.putalpha(Image.fromarray(np.where(arr == key, 0, 255).astype(np.uint8), "L"))
    return grey


def _too_large_message(size, max_pixels: int = MAX_PIXELS) -> str:
    limit = f"{max_pixels / 1e6:g} megapixels"
    if size is None:
        return f"This image is too large: the limit is {limit}."
    w, h = size
    return (
        f"This image is too large: {w}x{h} is {w * h / 1e6:.1f} megapixels, "
        f"the limit is {limit}. Scale it down and try again."
    )


def encode_png(img: Image.Image, compress_level: int = 1) -> bytes:
    # Level 1: PNG at the default level 6 takes several times longer on a
    # 12 MP cutout for files only ~10% smaller.
    out = io.BytesIO()
    img.save(out, format="PNG", compress_level=compress_level)
    return out.getvalue()
