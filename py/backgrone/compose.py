"""What the result view and the exports need once the mask exists: the box
around the subject, the result on a chosen background, the encoded files,
their names and a ZIP of several.

Inputs are the decoded photo (`rgb`, "RGB"), its mask ("L", the same size,
255 = subject) and the photo's own transparency (`alpha`, "L", or None).
"""
from __future__ import annotations

import io
import math
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageChops, ImageFilter, ImageOps

from .composite import cutout
from .errors import BackgroneError
from .imageio import encode_png

Box = tuple[int, int, int, int]  # left, top, right, bottom; right/bottom exclusive

BACKGROUNDS = ("transparent", "color", "blur", "image")

# The blur is computed on a copy whose larger side is at most this: a wide
# Gaussian looks the same after a bilinear upscale and costs a fraction.
BLUR_WORK_SIDE = 512

WHITE = (255, 255, 255)

# Largest side each format can store; checked so the user gets a message that
# says what to do instead of the encoder's bare "encoder error".
_FORMATS: dict[str, tuple[str, str, int | None]] = {
    # fmt: (extension, mime type, largest side)
    "png": ("png", "image/png", None),
    "webp": ("webp", "image/webp", 16383),
    "jpeg": ("jpg", "image/jpeg", 65535),
}
_ALIASES = {"jpg": "jpeg"}


class OptionsError(BackgroneError):
    """The page asked for a result or export that does not exist."""

    code = "bad-options"


# -- where the subject is --------------------------------------------------


def subject_box(mask: Image.Image, threshold: int = 8) -> Box | None:
    """Bounding box of the pixels with mask > threshold; None if there are none.

    The threshold ignores the faint haze a network leaves over the background,
    which would otherwise stretch the box to the whole image.
    """
    sel = np.asarray(mask) > threshold
    rows = np.flatnonzero(sel.any(axis=1))
    if rows.size == 0:
        return None
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    # Columns only over the rows that have any: less to scan on a small subject.
    cols = np.flatnonzero(sel[top:bottom].any(axis=0))
    return int(cols[0]), top, int(cols[-1]) + 1, bottom


def crop_box(mask: Image.Image, margin: float) -> Box | None:
    """subject_box grown by `margin` times its larger side on every side,
    clamped to the image. None for an empty mask: keep the whole image."""
    _check_margin(margin)
    box = subject_box(mask)
    if box is None:
        return None
    left, top, right, bottom = box
    # The larger side on all four sides: an even frame, whatever the shape.
    pad = int(margin * max(right - left, bottom - top) + 0.5)
    width, height = mask.size
    return max(0, left - pad), max(0, top - pad), min(width, right + pad), min(height, bottom + pad)


# -- options -----------------------------------------------------------------


@dataclass(frozen=True)
class RenderOptions:
    background: str = "transparent"  # one of BACKGROUNDS
    color: tuple[int, int, int] = WHITE
    blur: float = 0.02  # radius as a fraction of the image's larger side
    # The picked background; not compared or printed (it is pixels).
    image: Image.Image | None = field(default=None, compare=False, repr=False)
    crop: bool = False
    margin: float = 0.05

    def __post_init__(self) -> None:
        # Checked here rather than only in from_dict, so that no invalid
        # options exist however they were made.
        if self.background not in BACKGROUNDS:
            raise OptionsError(
                f"Unknown background {self.background!r}; choose one of: {', '.join(BACKGROUNDS)}."
            )
        object.__setattr__(self, "color", _parse_color(self.color))
        if not _is_number(self.blur) or self.blur < 0:
            raise OptionsError(f"The blur must be a number of 0 or more, not {self.blur!r}.")
        if not isinstance(self.crop, bool):
            raise OptionsError(f"crop must be true or false, not {self.crop!r}.")
        _check_margin(self.margin)
        if self.background == "image" and self.image is None:
            raise OptionsError("Pick a background image first, or choose another background.")

    @classmethod
    def from_dict(cls, d: dict[str, Any], image: Image.Image | None = None) -> RenderOptions:
        """Options from the plain dict the page sends. Missing keys (or None,
        which is what JavaScript's undefined becomes) keep their defaults;
        unknown keys are refused, so a misspelt option is not silently ignored."""
        if not isinstance(d, dict):
            raise OptionsError(f"Render options must be a dictionary, not {type(d).__name__}.")
        known = ("background", "color", "blur", "crop", "margin")
        unknown = sorted(str(k) for k in d if k not in known)
        if unknown:
            raise OptionsError(
                f"Unknown render option {', '.join(unknown)}; known: {', '.join(known)}."
            )
        given = {k: d[k] for k in known if d.get(k) is not None}
        return cls(image=image, **given)


def _is_number(x: Any) -> bool:
    # bool is an int in Python, but true is not a blur radius.
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _check_margin(margin: Any) -> None:
    if not _is_number(margin) or margin < 0:
        raise OptionsError(f"The crop margin must be a number of 0 or more, not {margin!r}.")


_HEX_COLOR = re.compile(r"#([0-9a-fA-F]{6})")


def _parse_color(value: Any) -> tuple[int, int, int]:
    """"#rrggbb" (what <input type=color> gives) or [r, g, b] -> (r, g, b)."""
    if isinstance(value, str):
        m = _HEX_COLOR.fullmatch(value.strip())
        if m:
            n = int(m.group(1), 16)
            return n >> 16, (n >> 8) & 0xFF, n & 0xFF
    elif isinstance(value, (list, tuple)) and len(value) == 3:
        if all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in value):
            return int(value[0]), int(value[1]), int(value[2])
    raise OptionsError(
        f"The colour {value!r} is not valid; give it as \"#rrggbb\" or as [r, g, b] with 0-255 each."
    )


# -- the result image ------------------------------------------------------


def render(
    rgb: Image.Image, mask: Image.Image, alpha: Image.Image | None, options: RenderOptions
) -> Image.Image:
    """The result: an RGBA cutout for "transparent", else RGB on the background;
    cropped around the subject if asked and there is one."""
    _check_inputs(rgb, mask, alpha)
    box = crop_box(mask, options.margin) if options.crop else None
    if options.background == "transparent":
        cropped_alpha = None if alpha is None else _crop(alpha, box)
        return cutout(_crop(rgb, box), _crop(mask, box), cropped_alpha)
    # What was transparent in the photo shows the background too.
    weight = mask if alpha is None else ImageChops.multiply(mask, alpha)
    if options.background == "color":
        size = rgb.size if box is None else (box[2] - box[0], box[3] - box[1])
        background = Image.new("RGB", size, options.color)
    else:
        # Blur and picked image are made at the photo's size and then cropped,
        # so a crop shows the same background as the full view, not a rescaled one.
        if options.background == "blur":
            background = _blurred(rgb, options.blur)
        else:
            background = _cover(options.image, rgb.size)
        background = _crop(background, box)
    # Crop before compositing: no work on pixels that are cut away.
    return Image.composite(_crop(rgb, box), background, _crop(weight, box))


def _check_inputs(rgb: Image.Image, mask: Image.Image, alpha: Image.Image | None) -> None:
    # A mismatch is a bug in the caller, not something the user can fix.
    if rgb.mode != "RGB" or mask.mode != "L" or (alpha is not None and alpha.mode != "L"):
        raise ValueError(
            f"render needs an RGB photo and L masks, got {rgb.mode}, {mask.mode}, "
            f"{alpha.mode if alpha is not None else None}"
        )
    if mask.size != rgb.size or (alpha is not None and alpha.size != rgb.size):
        raise ValueError(f"mask/alpha size differs from the photo's {rgb.size}")


def _crop(img: Image.Image, box: Box | None) -> Image.Image:
    if box is None or box == (0, 0) + img.size:
        return img
    return img.crop(box)


def _blurred(rgb: Image.Image, blur: float) -> Image.Image:
    """Gaussian blur of the photo, radius `blur` times its larger side, worked
    on a copy at most BLUR_WORK_SIDE px on its larger side."""
    width, height = rgb.size
    scale = min(1.0, BLUR_WORK_SIDE / max(width, height))
    if scale < 1.0:
        small_size = (max(1, round(width * scale)), max(1, round(height * scale)))
        # reducing_gap: a box pre-reduction, half the cost; the blur hides the difference.
        small = rgb.resize(small_size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    else:
        small = rgb
    radius = blur * max(small.size)
    blurred = small.filter(ImageFilter.GaussianBlur(radius))
    if scale < 1.0:
        blurred = blurred.resize((width, height), Image.Resampling.BILINEAR)
    return blurred


def _cover(picked: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The picked image scaled to cover `size`, centre-cropped, as RGB."""
    # Convert first: Pillow resizes palette images with nearest neighbour only.
    return ImageOps.fit(_flatten(picked), size, Image.Resampling.BICUBIC)


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info


def _flatten(img: Image.Image, color: tuple[int, int, int] = WHITE) -> Image.Image:
    """RGB, with transparent parts on `color`. A plain convert("RGB") would
    show whatever colours happen to be stored under alpha 0, often black."""
    if not _has_alpha(img):
        return img if img.mode == "RGB" else img.convert("RGB")
    rgba = img.convert("RGBA")
    out = Image.new("RGB", img.size, color)
    out.paste(rgba.convert("RGB"), mask=rgba.getchannel("A"))
    return out


# -- files -----------------------------------------------------------------


def _format(fmt: str) -> str:
    key = _ALIASES.get(str(fmt).lower(), str(fmt).lower())
    if key not in _FORMATS:
        raise OptionsError(f"Unknown export format {fmt!r}; choose png, webp or jpeg.")
    return key


def encode(img: Image.Image, fmt: str, quality: int = 90) -> tuple[bytes, str]:
    """(file bytes, mime type) of a result in "png", "webp" or "jpeg".

    PNG and WebP keep transparency; JPEG cannot, so transparent parts become white.
    """
    key = _format(fmt)
    if not isinstance(quality, int) or isinstance(quality, bool) or not 1 <= quality <= 100:
        raise OptionsError(f"The quality must be a whole number from 1 to 100, not {quality!r}.")
    _, mime, largest = _FORMATS[key]
    if largest is not None and max(img.size) > largest:
        raise OptionsError(
            f"{key.upper()} cannot store an image of {img.width}x{img.height}: "
            f"the largest side it allows is {largest} px. Export as PNG instead."
        )
    if key == "png":
        return encode_png(img), mime
    out = io.BytesIO()
    if key == "webp":
        if img.mode not in ("RGB", "RGBA"):
            img = img.convert("RGBA" if _has_alpha(img) else "RGB")
        # method 4 of 0-6: Pillow's default; 6 is far slower for a few % less.
        img.save(out, format="WEBP", quality=quality, method=4)
    else:
        # Baseline, not optimized: both options cost time and little size.
        _flatten(img).save(out, format="JPEG", quality=quality, optimize=False, progressive=False)
    return out.getvalue(), mime


def encode_mask(mask: Image.Image) -> tuple[bytes, str]:
    """The mask alone as a greyscale PNG."""
    return encode_png(mask if mask.mode == "L" else mask.convert("L")), "image/png"


def export(
    rgb: Image.Image, mask: Image.Image, alpha: Image.Image | None, options: RenderOptions,
    fmt: str, quality: int = 90,
) -> tuple[bytes, str]:
    """(file bytes, mime type) of a result as the page exports it and the
    command line writes it: "png", "webp" or "jpeg" (the photo on its
    background, cropped if asked), or "mask" (the mask alone, cropped alike)."""
    if fmt == "mask":
        box = crop_box(mask, options.margin) if options.crop else None
        return encode_mask(mask.crop(box) if box else mask)
    return encode(render(rgb, mask, alpha, options), fmt, quality)


# A fixed date keeps the ZIP reproducible; 1980 is the earliest ZIP can store.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# Characters Windows refuses in names, or reads as a drive ("C:x"); control characters.
_UNSAFE = re.compile(r'[<>:"|?*\x00-\x1f\x7f]')


def _base_name(name: str) -> str:
    """The base name only: no folder, no "..", no drive, so unpacking writes
    nothing outside the folder the ZIP is unpacked into. "" if nothing is left."""
    base = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip()
    return base if base.strip(".") else ""


def make_zip(entries: list[tuple[str, bytes]]) -> bytes:
    """A ZIP of (name, bytes) entries, stored uncompressed: the images are
    compressed already. Duplicate names get " (2)", " (3)"... before the extension."""
    used: set[str] = set()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for name, data in entries:
            unique = unique_name(_base_name(name) or "file", used)
            info = zipfile.ZipInfo(unique, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16  # rw-r--r-- where unpackers honour it
            zf.writestr(info, bytes(data))
    return out.getvalue()


def unique_name(name: str, used: set[str]) -> str:
    """`name`, or "stem (2).ext", "stem (3).ext"... if it is in `used`
    (lower-cased names); the name returned is added to `used`."""
    # Case-insensitive: "A.png" and "a.png" are one file on Windows and macOS.
    stem, ext = posixpath.splitext(name)
    candidate, n = name, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{stem} ({n}){ext}"
    used.add(candidate.lower())
    return candidate


def output_name(original_name: str, fmt: str, suffix: str = "-cutout") -> str:
    """The download name: "photo.jpg" + "webp" -> "photo-cutout.webp";
    fmt "mask" -> "photo-mask.png"; no usable name -> "image-cutout.png"."""
    if fmt == "mask":
        suffix, ext = "-mask", "png"
    else:
        ext = _FORMATS[_format(fmt)][0]
    stem = posixpath.splitext(_base_name(original_name or ""))[0].strip()
    if not stem.strip("."):
        stem = "image"
    return f"{stem}{suffix}.{ext}"
