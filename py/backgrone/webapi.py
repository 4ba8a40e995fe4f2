"""Entry points for the web worker (Pyodide only).

The worker (web/worker/worker.js) owns fetching and messaging; this module owns the
image work. It keeps one engine session at a time, so memory stays bounded
however often the user switches engines.

What only some requests need (compose's backgrounds and exports, the Arena's
maths, the editor's brush) is imported when first asked for, not before the first cutout.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from . import foreground, imageio
from .refine import network_scale
from .engines import get_engine
from .errors import BackgroneError, ImageError
from .inference.web import WebSession, fp32_model
from .pipeline import remove_background

_current: dict = {"engine": None, "session": None}


async def load_engine(engine_id: str, remote, info) -> dict:
    """Take the engine's session, opened in the session worker: `remote` is
    its proxy, `info` the session worker's open reply (names, shapes, the
    seconds its creation took). A model whose shapes do not fit is refused."""
    engine = get_engine(engine_id)
    info = info.to_py() if hasattr(info, "to_py") else dict(info)
    _current.update(engine=None, session=None)
    session = await WebSession.attach(remote, engine, info)
    _current.update(engine=engine, session=session)
    return {
        "engine": engine.id,
        "input": session.input_name,
        "output": session.output_name,
        "seconds": info.get("seconds"),
    }


def widen_model(model_bytes):
    """The model with fp16 weights made fp32 (a new JS Uint8Array), for a GPU
    without fp16 shaders."""
    return fp32_model(model_bytes)


async def unload_engine() -> None:
    session = _current["session"]
    _current.update(engine=None, session=None)
    if session is not None:
        await session.release()


def loaded_engine() -> str | None:
    engine = _current["engine"]
    return engine.id if engine is not None else None


async def process(data, engine_id: str, copy_side: int = 0) -> dict:
    """Cut out one image. `data` is the file's bytes (a JS Uint8Array).

    Returns a plain dict (the worker converts it): ok=True with the PNG (the
    default cutout: refined edges, colours decontaminated), the mask it shows
    and the engine's raw mask, size and timings, and with `copy_side` the
    cutout at most that long as "copy" (None when it is no larger), made
    from the cutout's pixels before they are freed: the Arena's view of it
    at the screen's size, which the page could only make by decoding the
    whole PNG (48 MB at 12 MP); or ok=False with a message
    for the user. Only errors the user can act on are caught here; anything
    else is a bug and propagates.
    """
    from pyodide.ffi import to_js

    engine = _current["engine"]
    if engine is None or engine.id != engine_id:
        return {"ok": False, "code": "engine-not-loaded", "message": f"The {engine_id} engine is not loaded."}
    raw = _bytes(data)
    try:
        # The raw mask as PNG from the pipeline: it refines the mask in place.
        result = await remove_background(raw, engine, _current["session"], raw_png=True,
                                         copy_side=int(copy_side) or None)
    except BackgroneError as exc:
        return {"ok": False, "code": exc.code, "message": str(exc)}
    # "L" PNGs: what compose.encode_mask writes, without importing compose.
    mask_png = imageio.encode_png(result.mask)
    raw_png = result.raw_png
    return {
        "ok": True,
        "png": to_js(result.png),
        "mask": to_js(mask_png),
        "rawMask": to_js(raw_png),
        "copy": to_js(result.copy_png) if result.copy_png is not None else None,
        "width": result.width,
        "height": result.height,
        "format": result.format,
        "notes": result.notes,
        "timings": result.timings,
    }


def convert(data, pixels=None, width: int = 0, height: int = 0, channels: int = 3, icc=None,
            images: int = 1, reduce: bool = False) -> dict:
    """A file the engines cannot take as it is, made into a PNG they can, which
    the page then keeps in its place (its thumbnail, its view and every
    export read it): a HEIC photo from the pixels libheif decoded in the
    browser (`pixels`, 8-bit RGB or RGBA, upright, with its ICC profile), or,
    with `reduce`, an image over the size limit scaled down to fit."""
    from pyodide.ffi import to_js

    try:
        if pixels is not None:
            decoded = imageio.from_pixels(_bytes(pixels), int(width), int(height), int(channels),
                                          _bytes(icc) if icc is not None else None,
                                          reduce=bool(reduce), images=int(images))
        else:
            decoded = imageio.decode(_bytes(data), reduce=bool(reduce))
    except BackgroneError as exc:
        return {"ok": False, "code": exc.code, "message": str(exc)}
    img = decoded.rgb
    if decoded.alpha is not None:
        img = img.convert("RGBA")
        img.putalpha(decoded.alpha)
        if "icc_profile" in decoded.rgb.info:
            img.info["icc_profile"] = decoded.rgb.info["icc_profile"]
    png = imageio.encode_png(img, clear_transparent=False)
    w, h = img.size
    return {"ok": True, "bytes": to_js(png), "width": w, "height": h, "format": decoded.format,
            "notes": decoded.notes}


def _bytes(data) -> bytes:
    return data.to_bytes() if hasattr(data, "to_bytes") else bytes(data)


def _render_mask(data, size) -> Image.Image:
    """The mask `render` was given: a greyscale PNG, or with `size` (w, h) its
    raw 8-bit pixels, row by row (an edited mask: no PNG encoding on the page)."""
    if size is None:
        mask = Image.open(io.BytesIO(_bytes(data)))
        mask.load()
        return mask
    w, h = (int(v) for v in size)
    raw = _bytes(data)
    if w <= 0 or h <= 0 or len(raw) != w * h:
        raise ImageError("The edited mask does not belong to this image.")
    return Image.frombytes("L", (w, h), raw)


def render(original, mask_png, options: dict, background, fmt: str, max_side: int | None = None,
           mask_size=None) -> dict:
    """The photo on a chosen background, cropped or not, encoded as `fmt`
    ("png", "webp", "jpeg" or "mask"). `max_side` scales it down first, for
    previews. options["decontaminate"]: the subject's own colours under its
    soft edges (backgrone.foreground). `mask_size` says the mask is raw
    pixels (see _render_mask). Stateless: the page keeps the file and the
    mask it shows, so the worker holds no image between requests."""
    from pyodide.ffi import to_js

    from . import compose

    try:
        decoded = imageio.decode(_bytes(original))
        mask = _render_mask(mask_png, mask_size)
        if mask.mode != "L" or mask.size != decoded.size:
            raise ImageError("The stored mask does not belong to this image.")
        picked = imageio.decode(_bytes(background)).rgb if background is not None else None
        options = dict(options)
        clean = options.pop("decontaminate", None)
        if clean not in (None, True, False):
            raise compose.OptionsError(f"decontaminate must be true or false, not {clean!r}.")
        opts = compose.RenderOptions.from_dict(options, image=picked)
        rgb, mask = imageio.fit(decoded.rgb, max_side), imageio.fit(mask, max_side)
        if clean and fmt != "mask":
            # rgb is this request's own decoded (or scaled) copy.
            foreground.decontaminate(rgb, mask, network_scale(rgb.size))
        alpha = imageio.fit(decoded.alpha, max_side) if decoded.alpha is not None else None
        data, mime = compose.export(rgb, mask, alpha, opts, fmt)
    except BackgroneError as exc:
        return {"ok": False, "code": exc.code, "message": str(exc)}
    return {"ok": True, "bytes": to_js(data), "mime": mime}


def preview(original, max_side: int) -> dict:
    """The photo itself, at most `max_side` pixels on its longer side, as PNG
    (low-memory mode's view of the photo beside its cutout; the Arena's
    screen-size copies of its masks and cutouts). A JPEG is
    decoded at 1/2 to 1/8 of its size where that still covers the view
    (Pillow's draft mode): the photo is never whole in memory, here or in the
    page, whose own decoder would hold all of it (183 MiB at 48 MP)."""
    from pyodide.ffi import to_js

    side = max(1, int(max_side))
    try:
        decoded = imageio.decode(_bytes(original), max_pixels=side * side, reduce=True)
    except BackgroneError as exc:
        return {"ok": False, "code": exc.code, "message": str(exc)}
    img = decoded.rgb
    if decoded.alpha is not None:  # scaled as one RGBA image: see imageio.fit
        img = img.convert("RGBA")
        img.putalpha(decoded.alpha)
    img = imageio.fit(img, side)
    return {"ok": True, "bytes": to_js(imageio.encode_png(img, clear_transparent=False)), "mime": "image/png"}


def refine_stroke(rgba, painted, width: int, height: int, brush_radius: float) -> dict:
    """The edge-aware brush (edgebrush.refine) on a crop around one stroke:
    `rgba` the photo's pixels (4 bytes each, as a canvas gives them),
    `painted` the mask with the stroke applied plainly (1 byte each)."""
    from pyodide.ffi import to_js

    from . import edgebrush

    w, h = int(width), int(height)
    pixels = np.frombuffer(_bytes(rgba), np.uint8)
    mask = np.frombuffer(_bytes(painted), np.uint8)
    if w <= 0 or h <= 0 or pixels.size != w * h * 4 or mask.size != w * h:
        return {"ok": False, "code": "bad-options", "message": "The stroke's crop has the wrong size."}
    out = edgebrush.refine(pixels.reshape(h, w, 4)[:, :, :3], mask.reshape(h, w), brush_radius)
    return {"ok": True, "mask": to_js(out.tobytes())}


def make_zip(entries) -> dict:
    """One ZIP of (name, bytes) pairs."""
    from pyodide.ffi import to_js

    from . import compose

    pairs = [(str(name), _bytes(data)) for name, data in entries]
    return {"ok": True, "bytes": to_js(compose.make_zip(pairs))}


def _mask(data) -> Image.Image:
    mask = Image.open(io.BytesIO(_bytes(data)))
    mask.load()
    if mask.mode != "L":
        raise ImageError("A stored mask is not a greyscale image.")
    return mask


def compare(masks) -> dict:
    """The Arena's figures for [(engine, mask PNG)]: every pair's agreement,
    the consensus mask, and each engine's disagreement heat-map (the
    consensus's is the spread of all masks)."""
    from pyodide.ffi import to_js

    from . import arena, compose

    try:
        decoded = {str(engine): _mask(data) for engine, data in masks}
        together = arena.pairs(decoded)
        heat = {e: imageio.encode_png(arena.heat_image(arena.disagreement(decoded, e))) for e in decoded}
        heat[arena.CONSENSUS] = imageio.encode_png(arena.heat_image(arena.disagreement(decoded, arena.CONSENSUS)))
        consensus, _ = compose.encode_mask(Image.fromarray(arena.consensus(list(decoded.values())), "L"))
    except BackgroneError as exc:
        return {"ok": False, "code": exc.code, "message": str(exc)}
    return {
        "ok": True,
        "pairs": together,
        "consensus": to_js(consensus),
        "heat": {e: to_js(png) for e, png in heat.items()},
    }


def arena_export(original, columns, figures_json: str) -> dict:
    """The side-by-side picture of [(title, mask PNG, [lines])] (None
    without the original), and the figures (a JSON string) as CSV and JSON."""
    import json

    from pyodide.ffi import to_js

    from . import arena

    figures = json.loads(figures_json)
    tables = {"csv": arena.figures_csv(figures), "json": arena.figures_json(figures)}
    if original is None:
        return {"ok": True, "png": None, **tables}
    try:
        decoded = imageio.decode(_bytes(original))
        cols = [(str(title), _mask(mask), [str(x) for x in lines]) for title, mask, lines in columns]
        w, h = decoded.size
        cols.insert(0, ("Original", Image.new("L", decoded.size, 255), [f"{w} x {h} px"]))
        if any(m.size != decoded.size for _, m, _ in cols):
            raise ImageError("The stored masks do not belong to this image.")
        picture = arena.comparison(decoded.rgb, decoded.alpha, cols)
        png = imageio.encode_png(picture)
    except BackgroneError as exc:
        return {"ok": False, "code": exc.code, "message": str(exc)}
    return {"ok": True, "png": to_js(png), **tables}
