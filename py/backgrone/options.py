"""What decides a cutout, in one object: the engine and its session, the
pipeline's switches, and the result's background, crop and format.

`backgrone remove`, its --jobs workers, `backgrone batch`'s Ray actors and
`backgrone.remove()` all take a CutoutOptions, and the command line's
switches are declared here next to the fields they fill, so a new pipeline
option is one field, one switch and one entry in pipeline_args().
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image, ImageColor

from . import compose, pipeline
from .engines import CLI_DEFAULT_ENGINE, ENGINES, get_engine

FORMATS = ("png", "webp", "jpeg", "mask")
_KEYWORDS = ("transparent", "blur")


@dataclass(frozen=True)
class CutoutOptions:
    engine: str = CLI_DEFAULT_ENGINE
    model: str | None = None  # a model file to use instead of the engine's cached one
    threads: int | None = None  # inference threads of each session; None: onnxruntime's choice
    format: str = "png"  # one of FORMATS
    quality: int = 90  # webp and jpeg
    background: str = "transparent"  # one of compose.BACKGROUNDS
    color: tuple[int, int, int] = compose.WHITE  # background "color"
    blur: float = 0.02  # background "blur": radius as a fraction of the larger side
    background_image: str | None = None  # background "image": a file, decoded once per session
    crop: bool = False  # crop to the subject
    margin: float = 0.05  # around the subject, as a fraction of its larger side
    mask: bool = False  # also write the mask (NAME-mask.png)
    refine: bool = pipeline.REFINE  # the mask's edges made to follow the photo's (refine.py)
    decontaminate: bool = pipeline.DECONTAMINATE  # the old background's colour taken out of soft edges
    reduce: bool = False  # an image over the size limit (up to twice it) cut out scaled down to fit

    def __post_init__(self) -> None:
        get_engine(self.engine)  # KeyError naming the known engines
        fmt = {"jpg": "jpeg"}.get(str(self.format).lower(), str(self.format).lower())
        if fmt not in FORMATS:
            raise compose.OptionsError(f"Unknown format {self.format!r}; choose one of: {', '.join(FORMATS)}.")
        object.__setattr__(self, "format", fmt)
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise compose.OptionsError(f"threads must be a whole number of 1 or more, not {self.threads!r}.")
        if self.background == "image" and not self.background_image:
            raise compose.OptionsError("A background image needs its file (background_image).")
        q = self.quality
        if not isinstance(q, int) or isinstance(q, bool) or not 1 <= q <= 100:
            raise compose.OptionsError(f"The quality must be a whole number from 1 to 100, not {q!r}.")
        # Background, colour, blur, crop and margin, checked as the page's are.
        opts = self.render_options(image=_PLACEHOLDER if self.background == "image" else None)
        object.__setattr__(self, "color", opts.color)

    def render_options(self, image=None) -> compose.RenderOptions:
        return compose.RenderOptions(background=self.background, color=self.color, blur=self.blur,
                                     image=image, crop=self.crop, margin=self.margin)

    def pipeline_args(self) -> dict:
        """Keyword arguments of the pipeline (pipeline.find_mask) beyond the
        image, engine and session."""
        return {"refine": self.refine, "decontaminate": self.decontaminate, "reduce": self.reduce}

    @property
    def plain(self) -> bool:
        """The page's own cutout: a transparent PNG, uncropped."""
        return self.format == "png" and self.background == "transparent" and not self.crop

    def session_key(self) -> tuple:
        return (self.engine, self.model, self.threads)

    def with_threads(self, threads: int | None) -> CutoutOptions:
        return replace(self, threads=threads)


# Stands for the picked background while the options are checked: the file
# itself is decoded where the images are cut out.
_PLACEHOLDER = Image.new("RGB", (1, 1))


def parse_background(value: str) -> dict:
    """--background: "transparent", "blur", an image file, or a colour
    (#rrggbb or a name such as white) -> CutoutOptions fields."""
    if value in _KEYWORDS:
        return {"background": value}
    if os.path.isfile(value):
        return {"background": "image", "background_image": os.path.abspath(value)}
    try:
        rgb = ImageColor.getrgb(value)[:3]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is neither transparent, blur, a colour (#rrggbb or a name such as white) "
            f"nor an image file") from None
    return {"background": "color", "color": tuple(rgb)}


def _fraction(value: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0 <= x <= 10:
        raise argparse.ArgumentTypeError(f"{value!r} is not between 0 and 10")
    return x


def positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not 1 or more")
    return n


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The switches of every CutoutOptions field, for `remove` and `batch`."""
    engines = parser.add_argument_group("engine")
    engines.add_argument("--engine", default=CLI_DEFAULT_ENGINE, choices=[e.id for e in ENGINES],
                         help=f"default: {CLI_DEFAULT_ENGINE}; fetched on first use")
    engines.add_argument("--model", type=Path, help="the engine's .onnx file, instead of the cached one")
    engines.add_argument("--threads", type=positive_int,
                         help="inference threads of each worker (default: its share of the CPUs)")
    result = parser.add_argument_group("result")
    result.add_argument("--format", default="png", choices=[*FORMATS, "jpg"],
                        help="png (default), webp, jpeg, or mask (the mask alone, greyscale PNG)")
    result.add_argument("--quality", type=positive_int, default=90, help="webp and jpeg quality, 1-100 (default 90)")
    result.add_argument("--background", type=parse_background, default={"background": "transparent"},
                        metavar="BG", help="transparent (default), blur, a colour (#rrggbb or a name "
                        "such as white) or an image file")
    result.add_argument("--blur", type=_fraction, default=0.02,
                        help="--background blur: radius as a fraction of the larger side (default 0.02)")
    result.add_argument("--crop", action="store_true", help="crop to the subject")
    result.add_argument("--margin", type=_fraction, default=0.05,
                        help="--crop: margin as a fraction of the subject's larger side (default 0.05)")
    result.add_argument("--mask", action="store_true", help="also write each mask as NAME-mask.png")
    result.add_argument("--reduce", action="store_true",
                        help="cut out an image over the 50 MP limit (up to 100 MP) scaled down to fit, "
                        "instead of failing it")
    add_edge_arguments(parser)


def add_edge_arguments(parser: argparse.ArgumentParser) -> None:
    """--refine/--no-refine and --decontaminate/--no-decontaminate, the
    page's "Refine edges" and "Remove colour spill" (on by default)."""
    edges = parser.add_argument_group("edges")
    edges.add_argument("--refine", action=argparse.BooleanOptionalAction, default=pipeline.REFINE,
                       help="make the mask's edges follow the photo's at full resolution (default: on)")
    edges.add_argument("--decontaminate", action=argparse.BooleanOptionalAction, default=pipeline.DECONTAMINATE,
                       help="take the old background's colour out of soft edges (default: on)")


def from_args(args: argparse.Namespace) -> CutoutOptions:
    return CutoutOptions(
        engine=args.engine,
        model=str(args.model) if args.model else None,
        threads=args.threads,
        format=args.format,
        quality=args.quality,
        blur=args.blur,
        crop=args.crop,
        margin=args.margin,
        mask=args.mask,
        refine=args.refine,
        decontaminate=args.decontaminate,
        reduce=args.reduce,
        **args.background,
    )
