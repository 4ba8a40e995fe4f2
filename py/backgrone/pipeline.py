"""The one data path: bytes -> decode -> preprocess -> inference -> postprocess
-> refine -> decontaminate -> composite -> encode -> bytes. The same code runs
under CPython and Pyodide; only the session behind `Session.run` differs."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from PIL import Image

from . import band, composite, foreground, imageio, refine as edges, tensors
from .engines import Engine
from .inference import Session

# "handover": the tensor's way into the session and the mask's way back (in
# the browser, the copies between numpy and onnxruntime-web), apart from
# "inference", the session's own run, where the session reports it.
STAGES = ("decode", "preprocess", "handover", "inference", "postprocess", "refine", "decontaminate",
          "composite", "encode")

# On by default for every engine: the quality benchmark (docs/quality.md)
# shows both help every engine on large photos and cost nothing measurable
# in quality where the photo is no larger than the network's mask.
REFINE = True
DECONTAMINATE = True


@dataclass
class Result:
    png: bytes  # the RGBA cutout
    mask: Image.Image  # "L", the photo's size: the mask shown (refined when asked)
    raw_mask: Image.Image | None  # "L": the network's mask stretched bilinearly, as it always was
    width: int
    height: int
    format: str
    notes: list[str]
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    raw_png: bytes | None = None  # with raw_png=True: raw_mask as PNG, and raw_mask None
    copy_png: bytes | None = None  # with copy_side: the cutout at most that long, as PNG


class _Clock:
    def __init__(self):
        self.timings: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = now - self._t
        self._t = now


@dataclass
class Masked:
    """A photo and its mask, before compositing: what the command line's
    backgrounds, crops and formats start from (see cutter.py). With
    decontamination on, the photo's colours under its soft edges are already
    the estimated foreground's."""

    decoded: imageio.Decoded
    mask: Image.Image  # "L", the photo's size: refined when asked
    raw_mask: Image.Image | None  # "L", the network's mask stretched bilinearly
    clock: _Clock
    raw_png: bytes | None = None  # raw_mask as PNG, in its place, when asked for


async def find_mask(data: bytes, engine: Engine, session: Session, *, refine: bool = REFINE,
                    decontaminate: bool = DECONTAMINATE, reduce: bool = False,
                    raw_png: bool = False) -> Masked:
    """decode -> preprocess -> inference -> postprocess -> refine ->
    decontaminate, timed per stage. `reduce`: an image over the size limit
    (up to twice it) is scaled down to fit while it is decoded, not refused.
    `raw_png`: the network's stretched mask is wanted as a PNG (the page's
    "Refine edges" switch shows it), not as an image: it is encoded in the
    postprocess stage and refined in place, so one full-size mask fewer is
    alive at the pipeline's peak (46 MiB at 48 MP)."""
    clock = _Clock()
    decoded = imageio.decode(data, reduce=reduce)
    clock.lap("decode")
    tensor = tensors.preprocess(decoded.rgb, engine)
    clock.lap("preprocess")
    output = await session.run(tensor)
    del tensor
    clock.lap("inference")
    run = getattr(session, "run_seconds", None)
    total = clock.timings.pop("inference")
    clock.timings["handover"] = max(0.0, total - run) if run is not None else 0.0
    clock.timings["inference"] = run if run is not None else total
    raw_mask = tensors.mask_from_output(output, decoded.size)
    del output
    raw = imageio.encode_png(raw_mask) if raw_png else None
    clock.lap("postprocess")
    scale = edges.network_scale(decoded.size, engine.input_size)
    # The photo's cell means, made once for both stages when both run.
    grid = band.photo_grid(decoded.rgb, band.grid_step(scale)) if refine and decontaminate else None
    mask = edges.refine(decoded.rgb, raw_mask, scale, grid=grid, in_place=raw_png) if refine else raw_mask
    clock.lap("refine")
    if decontaminate:
        # The photo is about to become the cutout: its soft edges are
        # changed in place.
        foreground.decontaminate(decoded.rgb, mask, scale, grid=grid)
    del grid
    clock.lap("decontaminate")
    return Masked(decoded, mask, None if raw_png else raw_mask, clock, raw)


def cutout_png(masked: Masked, copy_side: int | None = None) -> Result:
    """composite -> encode: the RGBA cutout as PNG. The photo becomes the
    cutout (no second full-size image), so `masked.decoded` is used up.
    `copy_side`: also the cutout at most that long on its longer side (a
    view's copy, timed as "copy"), when the cutout is longer."""
    decoded, mask, clock = masked.decoded, masked.mask, masked.clock
    rgba = composite.cutout(decoded.rgb, mask, decoded.alpha, in_place=True)
    clock.lap("composite")
    png = imageio.encode_png(rgba)
    clock.lap("encode")
    copy = None
    if copy_side and max(rgba.size) > copy_side:
        copy = imageio.encode_png(imageio.fit(rgba, copy_side))
        clock.lap("copy")
    del rgba
    w, h = decoded.size
    return Result(png, mask, masked.raw_mask, w, h, decoded.format, decoded.notes, clock.timings,
                  masked.raw_png, copy)


async def remove_background(data: bytes, engine: Engine, session: Session, *, refine: bool = REFINE,
                            decontaminate: bool = DECONTAMINATE, reduce: bool = False,
                            raw_png: bool = False, copy_side: int | None = None) -> Result:
    return cutout_png(await find_mask(data, engine, session, refine=refine, decontaminate=decontaminate,
                                      reduce=reduce, raw_png=raw_png), copy_side)
