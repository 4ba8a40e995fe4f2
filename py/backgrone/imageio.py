"""Decoding and encoding with Pillow.

decode() turns whatever bytes a user dropped into an upright RGB image plus
its original alpha (if any); encode_png() turns a result back into bytes.
"""
from __future__ import annotations

import functools
import io
import re
import struct
import warnings
import zlib
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError, TooLarge, UnsupportedFormat

# Largest image accepted, in pixels. Checked from the header, before any pixel
# is decoded, so a decompression bomb costs nothing. 50 MP is above every
# current phone and most cameras; the page keeps several full-size planes of
# this size in the 4 GiB a WebAssembly module can address.
MAX_PIXELS = 50_000_000
# Larger images can be cut out at a reduced size (decode(reduce=True)) up to
# this: their pixels are decoded in full before they are scaled down (JPEG
# excepted, which Pillow can decode at 1/2, 1/4 or 1/8 of its size), so twice
# the limit bounds that one large buffer.
REDUCE_LIMIT = 2 * MAX_PIXELS

# The raster formats Backgrone opens. Others Pillow knows (EPS, WMF, FITS...)
# are documents or science data, or need programs the browser does not have.
FORMATS = ("PNG", "JPEG", "WEBP", "AVIF", "GIF", "BMP", "DIB", "TIFF", "ICO", "TGA",
           "PPM", "QOI")  # JPEG covers MPO (several pictures in one JPEG)
READABLE = "PNG, JPEG, WebP, AVIF, GIF, BMP or TIFF"
ANIMATED = ("GIF", "PNG", "WEBP", "AVIF")  # several frames = an animation


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


def sniff(data: bytes) -> str | None:
    """Name formats this runtime's Pillow may lack a codec for, from their
    first bytes: Pyodide's Pillow has no AVIF or JPEG 2000, and no Pillow
    reads HEIC or JPEG XL by itself."""
    if data[4:8] == b"ftyp":
        box = int.from_bytes(data[:4], "big")
        brands = {data[i : i + 4] for i in range(8, min(max(box, 16), 64), 4)}
        if brands & {b"avif", b"avis"}:
            return "AVIF"
        if brands & {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}:
            return "HEIC"
    if data.startswith((b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")):
        return "JPEG 2000"
    if data.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")):
        return "JPEG XL"
    return None


def _unsupported(fmt: str) -> UnsupportedFormat:
    hint = (
        "Convert it to JPEG or PNG first (on an iPhone: Settings > Camera > Formats > "
        "Most Compatible)."
        if fmt == "HEIC"
        else "Convert it to PNG or JPEG first."
    )
    article = "an" if fmt[0] in "AEIOU" else "a"
    return UnsupportedFormat(f"This is {article} {fmt} image, which Backgrone cannot read in this browser. {hint}", fmt)


def decode(data: bytes, max_pixels: int = MAX_PIXELS, reduce: bool = False) -> Decoded:
    """Any bytes -> Decoded, or ImageError with a message for the user; no
    other exception escapes, whatever the bytes.

    An image over `max_pixels` is refused (TooLarge), unless `reduce`: then,
    up to REDUCE_LIMIT, it is scaled down to fit, and a note says so."""
    if not data:
        raise ImageError("The file is empty.")
    try:
        return _decode(bytes(data), max_pixels, reduce)
    except ImageError:
        raise
    except MemoryError:
        raise ImageError(
            "There is not enough memory to decode this image. Scale it down, or close other "
            "tabs, and try again."
        ) from None
    except Exception as exc:  # Pillow raises many types for broken files
        raise ImageError(
            f"This image is damaged or truncated and cannot be read ({_reason(exc)})."
        ) from None


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def fit_size(size: tuple[int, int], max_pixels: int) -> tuple[int, int]:
    """The largest size of the same shape with at most `max_pixels` pixels."""
    w, h = size
    if w * h <= max_pixels:
        return size
    scale = (max_pixels / (w * h)) ** 0.5
    fw, fh = max(1, int(w * scale)), max(1, int(h * scale))
    while fw * fh > max_pixels:  # float rounding at the boundary
        fw, fh = (fw - 1, fh) if fw >= fh else (fw, fh - 1)
    return fw, fh


def fit(img: Image.Image, max_side: int | None) -> Image.Image:
    """`img` at most `max_side` pixels on its longer side (itself when it is
    no larger): for views, which need no more pixels than a screen has. An
    RGBA image is scaled with its colours weighted by their alpha, as Pillow
    does, so that no colour hidden under a transparent pixel bleeds into the
    edges."""
    if not max_side or max(img.size) <= max_side:
        return img
    scale = max_side / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


@functools.cache
def _heif_formats() -> tuple[str, ...]:
    """("HEIF",) where pillow-heif is installed (the command line's `cli`
    extra), which then reads HEIC and HEIF files, applying their rotation and
    mirroring and resetting the EXIF orientation. Pyodide has no such
    package: there the page decodes HEIC with libheif and hands over the
    pixels (from_pixels)."""
    try:
        import pillow_heif
    except ImportError:
        return ()
    pillow_heif.register_heif_opener()
    return ("HEIF",)


def _decode(data: bytes, max_pixels: int, reduce: bool = False) -> Decoded:
    try:
        with warnings.catch_warnings():
            # Our own limit below replaces Pillow's bomb warning; Pillow also
            # warns about codecs it lacks, which sniff() names instead.
            warnings.simplefilter("ignore")
            formats = FORMATS + _heif_formats() if sniff(data) == "HEIC" else FORMATS
            img = Image.open(io.BytesIO(data), formats=formats)
    except UnidentifiedImageError:
        fmt = sniff(data)
        if fmt == "HEIC" and _heif_formats():  # a reader was there: the file is broken
            raise ImageError("This HEIC image is damaged or truncated and cannot be read.") from None
        if fmt:
            raise _unsupported(fmt) from None
        raise ImageError(f"This file is not an image Backgrone can read. Use {READABLE}.") from None
    except Image.DecompressionBombError as exc:
        # Pillow's own guard (at twice its default limit) fired first.
        pixels = re.search(r"\((\d+) pixels\)", str(exc))
        message = _too_large_message(None, max_pixels, int(pixels[1]) if pixels else None)
        raise TooLarge(message, None, reducible=False) from None
    width, height = img.size
    reduced_from = None
    if width * height > max_pixels:
        reducible = width * height <= REDUCE_LIMIT
        if not (reduce and reducible):
            message = _too_large_message((width, height), max_pixels, reducible=reducible)
            raise TooLarge(message, (width, height), reducible)
        reduced_from = (width, height)
        # JPEG: decode at the smallest of 1/2, 1/4, 1/8 that still covers the
        # target (a no-op for other formats).
        img.draft("RGB", fit_size((width, height), max_pixels))
    if width < 1 or height < 1:
        raise ImageError("This image has no pixels.")

    notes = []
    fmt = img.format or "unknown"
    if fmt == "HEIF":
        fmt = "HEIC"
        if getattr(img, "n_frames", 1) > 1:
            notes.append(heif_note(img.n_frames))
    elif getattr(img, "is_animated", False):
        notes.append(
            f"Animated {fmt}: only the first frame was used."
            if fmt in ANIMATED
            else f"This {fmt} file holds several images: only the first was used."
        )
    img.load()
    upright = img
    try:
        # In place: without it Pillow returns a full copy even when there is
        # nothing to turn (48 MB more at 12 MP, the pipeline's peak).
        ImageOps.exif_transpose(img, in_place=True)
    except Exception:  # a broken EXIF block: the pixels themselves are fine
        notes.append("Its orientation tag could not be read: the image is used as stored.")
    if reduced_from is not None:
        upright = _reduce(upright, max_pixels)
        notes.append(_reduced_note(upright.size, reduced_from, max_pixels))

    if upright.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
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


def _reduce(img: Image.Image, max_pixels: int) -> Image.Image:
    """Scaled down to fit max_pixels; the ICC profile kept."""
    small = img.resize(fit_size(img.size, max_pixels), Image.Resampling.LANCZOS, reducing_gap=3.0)
    if "icc_profile" in img.info:
        small.info["icc_profile"] = img.info["icc_profile"]
    return small


def _reduced_note(size, original, max_pixels: int) -> str:
    return (f"Cut out at {size[0]}x{size[1]}, reduced from {original[0]}x{original[1]}: "
            f"the largest size is {max_pixels / 1e6:g} megapixels.")


def heif_note(images: int) -> str:
    return f"This HEIC file holds {images} images: its primary image was used."


def from_pixels(pixels: bytes, width: int, height: int, channels: int, icc: bytes | None = None,
                max_pixels: int = MAX_PIXELS, reduce: bool = False, images: int = 1) -> Decoded:
    """Decoded from pixels another decoder made (libheif, in the browser, for
    HEIC): tightly packed 8-bit RGB (channels 3) or RGBA (4), already upright.
    The same limit as decode(): over max_pixels it is refused, or with
    `reduce` scaled down to fit."""
    if channels not in (3, 4) or len(pixels) != width * height * channels or width < 1 or height < 1:
        raise ImageError("The decoded image is not what its size says: the file may be damaged.")
    if width * height > max_pixels and not reduce:
        message = _too_large_message((width, height), max_pixels, reducible=True)
        raise TooLarge(message, (width, height), True)
    img = Image.frombuffer("RGBA" if channels == 4 else "RGB", (width, height), bytes(pixels), "raw")
    if icc:
        img.info["icc_profile"] = bytes(icc)
    notes = [heif_note(images)] if images > 1 else []
    if width * height > max_pixels:
        img = _reduce(img, max_pixels)
        notes.append(_reduced_note(img.size, (width, height), max_pixels))
    alpha = None
    if channels == 4:
        alpha = img.getchannel("A")
        icc_profile = img.info.get("icc_profile")
        img = img.convert("RGB")
        if icc_profile:
            img.info["icc_profile"] = icc_profile
    elif img.readonly:
        img = img.copy()  # frombuffer shares the bytes; the pipeline writes in place
    return Decoded(rgb=img, alpha=alpha, format="HEIC", notes=notes)


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


def _too_large_message(size, max_pixels: int = MAX_PIXELS, pixels: int | None = None,
                       reducible: bool = False) -> str:
    limit = f"{max_pixels / 1e6:g} megapixels"
    if size is None:
        count = f" ({pixels / 1e6:,.0f} megapixels)" if pixels else ""
        return f"This image is too large{count}: the limit is {limit}. Scale it down and try again."
    w, h = size
    then = "It can be cut out at a reduced size instead." if reducible else "Scale it down and try again."
    return f"This image is too large: {w}x{h} is {w * h / 1e6:.1f} megapixels, the limit is {limit}. {then}"


# PNG colour types of the modes encode_png writes itself.
_PNG_COLOUR = {"L": 0, "RGB": 2, "LA": 4, "RGBA": 6}
_PNG_FILTER_UP = 2
_BAND_BYTES = 4 << 20  # filtered and compressed a band at a time: no full-size copy
_IDAT_BYTES = 1 << 20


_PNG_ALPHA = (4, 6)  # LA, RGBA


def _clear_transparent(rows: np.ndarray, colour: int) -> np.ndarray:
    """Rows of LA or RGBA pixels with every alpha-0 pixel made all zeros."""
    if colour == 6:
        # One little-endian uint32 per pixel: alpha is its top byte.
        px = rows.view("<u4")
        return (px * (px > 0x00FFFFFF)).view(np.uint8)
    px = rows.view("<u2")
    return (px * (px > 0x00FF)).view(np.uint8)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def encode_png(img: Image.Image, compress_level: int = 1, clear_transparent: bool = True) -> bytes:
    """8-bit L, LA, RGB or RGBA image -> PNG bytes; other modes go to Pillow.

    Every row gets PNG's "Up" filter (the row above subtracted) and the rows
    go through zlib at level 1, a band at a time. Pillow's own encoder tries
    several filters on every row; on a 12 MP cutout that choice costs about
    as much again as the compression, for a larger file than Up alone gives
    on photos. Level 1: level 6 takes several times longer for files only
    ~10% smaller. The image's ICC profile is kept, as Pillow keeps it.

    Fully transparent pixels (alpha 0) are written as all zeros: their
    colour cannot be seen, and zeros cost zlib almost nothing. On a 12 MP
    portrait cutout (40% background) that makes the file a third smaller and
    the encode a sixth faster in the browser. Every other pixel is kept exactly.
    clear_transparent=False keeps them too (a photo kept as a PNG, whose hidden
    colours the engines still see).
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
        if colour in _PNG_ALPHA and clear_transparent:
            rows = _clear_transparent(rows, colour)
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
