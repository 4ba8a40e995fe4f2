"""One image through the pipeline and into the result asked for, under
CPython, with one onnxruntime session kept for every image: what
`backgrone remove`, its --jobs workers, `backgrone batch`'s Ray actors and
`backgrone.remove()` run."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from . import compose, imageio
from .engines import get_engine
from .errors import ImageError
from .options import CutoutOptions
from .pipeline import Masked, cutout_png, find_mask


def run_sync(coro):
    """Run a pipeline coroutine to its end without an event loop. Under
    CPython nothing in it waits (NativeSession.run computes and returns), so
    it ends at its first step; this works inside a running loop too (a
    notebook), where asyncio.run would refuse."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RuntimeError("the pipeline waited on something: await it in an event loop instead")


@dataclass
class Cut:
    """One image's files: the result (its format's bytes) and, if asked, the mask."""

    output: bytes
    mask: bytes | None
    width: int
    height: int
    notes: list[str]
    timings: dict[str, float] = field(default_factory=dict)


class Cutter:
    """An engine session and the options every image is cut out with."""

    def __init__(self, options: CutoutOptions, model: str | os.PathLike | bytes | None = None,
                 fetch: bool = True, progress=True):
        """`model`: the model file or its bytes; by default options.model, else
        the engine's cached model, fetched on first use if `fetch`."""
        from .inference.native import NativeSession
        from .models import find_model

        self.options = options
        self.engine = get_engine(options.engine)
        if model is None:
            model = options.model or find_model(self.engine, fetch=fetch, progress=progress)
        self.session = NativeSession(model, self.engine, threads=options.threads)
        self.picked = None
        if options.background == "image":
            path = Path(options.background_image)
            try:
                self.picked = imageio.decode(path.read_bytes()).rgb
            except OSError as exc:
                raise ImageError(f"The background image {path} cannot be read: {exc.strerror}.") from None
            except ImageError as exc:
                raise ImageError(f"The background image {path}: {exc}") from None
        self.render_options = options.render_options(self.picked)

    def masked(self, data: bytes, **pipeline_args) -> Masked:
        """The photo and its mask (ImageError for a file that is not one);
        `pipeline_args` override the options' (refine, decontaminate)."""
        args = {**self.options.pipeline_args(), **pipeline_args}
        return run_sync(find_mask(data, self.engine, self.session, **args))

    def cut(self, data: bytes) -> Cut:
        masked = self.masked(data)
        decoded, mask = masked.decoded, masked.mask
        width, height = decoded.size
        mask_png = compose.encode_mask(mask)[0] if self.options.mask else None
        if self.options.plain:
            # The page's own cutout, byte for byte.
            result = cutout_png(masked)
            return Cut(result.png, mask_png, width, height, result.notes, result.timings)
        t0 = time.perf_counter()
        output, _ = compose.export(decoded.rgb, mask, decoded.alpha, self.render_options,
                                   self.options.format, self.options.quality)
        timings = dict(masked.clock.timings, render=time.perf_counter() - t0)
        return Cut(output, mask_png, width, height, decoded.notes, timings)

    def image(self, data: bytes) -> tuple[Image.Image, Image.Image]:
        """(the result as a PIL image, the mask): an RGBA cutout on a
        transparent background, else RGB on the chosen one."""
        masked = self.masked(data)
        decoded = masked.decoded
        return compose.render(decoded.rgb, masked.mask, decoded.alpha, self.render_options), masked.mask
