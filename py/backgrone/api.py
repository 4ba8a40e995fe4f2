"""The library API for scripts and notebooks:

    import backgrone
    cutout = backgrone.remove("photo.jpg")                     # PIL RGBA image
    cutout, mask = backgrone.remove(data, engine="precision", return_mask=True)
    on_white = backgrone.remove(pil_image, background="#ffffff", crop=True)

One session per (engine, model, threads) is kept and reused by every call.
"""
from __future__ import annotations

import io
import os
import threading
from collections import OrderedDict
from pathlib import Path

from PIL import Image

from .engines import CLI_DEFAULT_ENGINE
from .errors import ImageError
from .options import CutoutOptions, parse_background

# Sessions kept at once: each holds a model (44-88 MB, more once running).
KEPT_SESSIONS = 2

_cutters: OrderedDict = OrderedDict()
_lock = threading.Lock()


def remove(
    image: bytes | str | os.PathLike | Image.Image,
    engine: str = CLI_DEFAULT_ENGINE,
    *,
    background: str | tuple[int, int, int] | Image.Image | None = None,
    crop: bool = False,
    margin: float = 0.05,
    blur: float = 0.02,
    return_mask: bool = False,
    refine: bool = True,
    decontaminate: bool = True,
    reduce: bool = False,
    model: str | os.PathLike | None = None,
    threads: int | None = None,
    fetch: bool = True,
    progress: bool = True,
) -> Image.Image | tuple[Image.Image, Image.Image]:
    """Cut out the subject of one image.

    image: the file's bytes, its path, or a PIL image (taken as it is: no
        EXIF turn, its own transparency kept).
    engine: "lightweight" (default), "precision" or "balanced"; its model is
        fetched into the cache on first use (fetch=False: only use what is there).
    background: None or "transparent" (an RGBA cutout), "blur", a colour
        ("#rrggbb", a name such as "white", or (r, g, b)), an image file or a
        PIL image (an RGB result on it).
    crop, margin: crop to the subject, with a margin of `margin` times its
        larger side.
    return_mask: also return the mask ("L", the photo's size, 255 = subject).
    refine, decontaminate: the mask's edges made to follow the photo's, and
        the old background's colour taken out of soft edges (both on, as in
        the app).
    reduce: an image over the 50 MP limit (up to 100 MP) is cut out scaled
        down to fit, as the app offers, instead of raising ImageError.
    model: the engine's .onnx file, instead of the cached one.
    threads: inference threads (default: onnxruntime's choice).
    """
    from . import compose, imageio

    session_options = CutoutOptions(engine=engine, model=os.fspath(model) if model else None,
                                    threads=threads)
    fields = _background(background)
    if fields.get("background") == "image" and not isinstance(fields.get("image"), Image.Image):
        fields["image"] = imageio.decode(_bytes(fields.pop("background_image"))).rgb
    render = compose.RenderOptions(crop=crop, margin=margin, blur=blur, **fields)
    masked = _cutter(session_options, fetch, progress).masked(_bytes(image), refine=refine,
                                                              decontaminate=decontaminate, reduce=reduce)
    decoded = masked.decoded
    result = compose.render(decoded.rgb, masked.mask, decoded.alpha, render)
    return (result, masked.mask) if return_mask else result


def _background(value) -> dict:
    """RenderOptions fields for the `background` argument."""
    if value is None:
        return {"background": "transparent"}
    if isinstance(value, Image.Image):
        return {"background": "image", "image": value}
    if isinstance(value, (tuple, list)):
        return {"background": "color", "color": tuple(value)}
    try:
        return parse_background(os.fspath(value) if isinstance(value, os.PathLike) else str(value))
    except Exception as exc:  # argparse's error type, raised as the API's
        raise ValueError(str(exc)) from None


def _bytes(image) -> bytes:
    if isinstance(image, (bytes, bytearray, memoryview)):
        return bytes(image)
    if isinstance(image, Image.Image):
        # Uncompressed TIFF: lossless, keeps any mode and alpha, and costs
        # next to nothing; decode() then treats it as any other file.
        out = io.BytesIO()
        image.save(out, format="TIFF")
        return out.getvalue()
    if isinstance(image, (str, os.PathLike)):
        try:
            return Path(image).read_bytes()
        except OSError as exc:
            raise ImageError(f"{image}: cannot read: {exc.strerror}") from None
    raise TypeError(f"remove() takes bytes, a path or a PIL image, not {type(image).__name__}")


def _cutter(options: CutoutOptions, fetch: bool, progress: bool):
    """The Cutter of these options' session, made once and kept (the
    KEPT_SESSIONS used last)."""
    from .cutter import Cutter

    key = options.session_key()
    with _lock:
        cutter = _cutters.get(key)
        if cutter is None:
            cutter = Cutter(options, fetch=fetch, progress=progress)
            _cutters[key] = cutter
            while len(_cutters) > KEPT_SESSIONS:
                _cutters.popitem(last=False)
        _cutters.move_to_end(key)
    return cutter
