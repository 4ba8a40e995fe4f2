"""Decoding and encoding with Pillow.

decode() turns whatever bytes a user dropped into an upright RGB image plus
its original alpha (if any); encode_png() turns a result back into bytes.
"""
from __future__ import annotations

import io
import struct
import warnings
import zlib
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


# PNG colour types of the modes encode_png writes itself.
_PNG_COLOUR = {"L": 0, "RGB": 2, "LA": 4, "RGBA": 6}
_PNG_FILTER_UP = 2
_BAND_BYTES = 4 << 20  # filtered and compressed a band at a time: no full-size copy
_IDAT_BYTES = 1 << 20


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def encode_png(img: Image.Image, compress_level: int = 1) -> bytes:
    """8-bit L, LA, RGB or RGBA image -> PNG bytes; other modes go to Pillow.

    Every row gets PNG's "Up" filter (the row above subtracted) and the rows
    go through zlib at level 1, a band at a time. Pillow's own encoder tries
    several filters on every row; on a 12 MP cutout that choice costs about
    as much again as the compression, for a larger file than Up alone gives
    on photos. Level 1: level 6 takes several times longer for files only
    ~10% smaller. The image's ICC profile is kept, as Pillow keeps it.
    """
    colour = _PNG_COLOUR.get(img.mode)
    if colour is None:
        out = io.BytesIO()
        img.save(out, format="PNG", compress_level=compress_level)
        return out.getvalue()
    w, h = img.size
    stride = w * len(img.getbands())
    out = io.BytesIO()  # its getvalue() hands over its buffer: no second copy
    out.write(b"\x89PNG\r\n\x1a\n")
    out.write(_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)))
    icc = img.info.get("icc_profile")
    if icc:
        out.write(_chunk(b"iCCP", b"ICC Profile\0\0" + zlib.compress(icc)))
    z = zlib.compressobj(compress_level)
    pending: list[bytes] = []
    size = 0
    band = max(1, _BAND_BYTES // max(1, stride))
    prev = None
    for y0 in range(0, h, band):
        y1 = min(h, y0 + band)
        rows = np.frombuffer(img.crop((0, y0, w, y1)).tobytes(), np.uint8).reshape(y1 - y0, stride)
        filtered = np.empty((y1 - y0, stride + 1), np.uint8)
        filtered[:, 0] = _PNG_FILTER_UP
        # uint8 arithmetic wraps modulo 256, as PNG's filters do.
        if prev is None:
            filtered[0, 1:] = rows[0]  # above the first row there are zeros
        else:
            np.subtract(rows[0], prev, out=filtered[0, 1:])
        np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])
        prev = rows[-1]
        data = z.compress(filtered)
        if data:
            pending.append(data)
            size += len(data)
        if size >= _IDAT_BYTES:
            out.write(_chunk(b"IDAT", b"".join(pending)))
            pending, size = [], 0
    pending.append(z.flush())
    out.write(_chunk(b"IDAT", b"".join(pending)))
    out.write(_chunk(b"IEND", b""))
    return out.getvalue()
