"""Command line: `python -m backgrone remove IMAGES... -o OUTDIR --engine ID`,
and `python -m backgrone refine PHOTO MASK -o OUTDIR`.

The same pipeline as the page, on the `onnxruntime` package; a batch tool and
the reference the browser's results are checked against.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from .engines import DEFAULT_ENGINE, ENGINES, get_engine
from .errors import BackgroneError

# In a folder, files with these names are taken. HEIC and the other formats
# Pillow may not read are included, so each gets a message rather than
# being skipped without a word.
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".avif", ".gif", ".bmp", ".tif", ".tiff",
                  ".heic", ".heif", ".jxl", ".jp2"}


def _expand(paths: list[str]) -> list[Path]:
    """Files as given; folders give the images directly inside them."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES))
        else:
            out.append(p)
    return out


class Progress:
    """A one-line progress bar on stderr (plain lines when not a terminal)."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total = total
        self.done = 0
        self.stream = stream
        self.tty = stream.isatty()
        self.start = time.perf_counter()

    def step(self, label: str) -> None:
        self.done += 1
        width = 30
        filled = width * self.done // max(self.total, 1)
        elapsed = time.perf_counter() - self.start
        bar = "#" * filled + "-" * (width - filled)
        line = f"[{bar}] {self.done}/{self.total} {elapsed:5.1f}s {label}"
        if self.tty:
            self.stream.write("\r\x1b[2K" + line)
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r\x1b[2K")
        self.stream.write(text + "\n")
        self.stream.flush()


async def _remove(args) -> int:
    from .inference.native import NativeSession
    from .models import find_model
    from .pipeline import STAGES, remove_background

    engine = get_engine(args.engine)
    model = Path(args.model) if args.model else find_model(engine)
    session = NativeSession(model, engine, threads=args.threads)
    files = _expand(args.images)
    if not files:
        print("backgrone: no images given", file=sys.stderr)
        return 2
    outdir = Path(args.output)
    outdir.mkdir(parents=True, exist_ok=True)
    progress = Progress(len(files))
    failed = 0
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            progress.message(f"{path}: cannot read: {exc.strerror}")
            failed += 1
            progress.step(path.name)
            continue
        try:
            result = await remove_background(data, engine, session, refine=args.refine,
                                             decontaminate=args.decontaminate)
        except BackgroneError as exc:
            progress.message(f"{path}: {exc}")
            failed += 1
        else:
            target = outdir / (path.stem + ".png")
            target.write_bytes(result.png)
            if args.mask:
                result.mask.save(outdir / (path.stem + ".mask.png"))
            for note in result.notes:
                progress.message(f"{path}: {note}")
            if args.timings:
                stages = " ".join(f"{s}={result.timings[s] * 1000:.0f}ms" for s in STAGES)
                progress.message(f"{path}: {stages}")
        progress.step(path.name)
    ok = len(files) - failed
    print(f"{ok} of {len(files)} images cut out into {outdir}", file=sys.stderr)
    return 1 if failed else 0


def _refine(args) -> int:
    """`refine PHOTO MASK -o OUTDIR`: a mask of any size (another tool's, a
    cutout's alpha, a network's output) refined against the photo; writes
    NAME.mask.png (the refined mask) and NAME.png (the cutout)."""
    from . import composite, foreground, imageio
    from .refine import refine, stretched

    try:
        decoded = imageio.decode(Path(args.photo).read_bytes())
        given = imageio.decode(Path(args.mask).read_bytes())
    except OSError as exc:
        print(f"backgrone: cannot read: {exc}", file=sys.stderr)
        return 2
    # A cutout gives its alpha; a plain mask its grey levels.
    mask = given.alpha if given.alpha is not None else given.rgb.convert("L")
    full, scale = stretched(mask, decoded.size)
    refined = refine(decoded.rgb, full, scale) if args.refine else full
    if args.decontaminate:
        foreground.decontaminate(decoded.rgb, refined, scale)
    outdir = Path(args.output)
    outdir.mkdir(parents=True, exist_ok=True)
    stem = Path(args.photo).stem
    refined.save(outdir / f"{stem}.mask.png")
    rgba = composite.cutout(decoded.rgb, refined, decoded.alpha, in_place=True)
    (outdir / f"{stem}.png").write_bytes(imageio.encode_png(rgba))
    print(f"wrote {outdir / (stem + '.png')} and {outdir / (stem + '.mask.png')}", file=sys.stderr)
    return 0


def _edge_options(parser) -> None:
    parser.add_argument("--refine", action=argparse.BooleanOptionalAction, default=True,
                        help="refine the mask's edges against the full-resolution photo (default: on)")
    parser.add_argument("--decontaminate", action=argparse.BooleanOptionalAction, default=True,
                        help="remove the old background's colour from soft edges (default: on)")


def _add_refine_parser(sub) -> None:
    ref = sub.add_parser("refine", help="refine a mask of any size against its photo")
    ref.add_argument("photo", help="the photo")
    ref.add_argument("mask", help="its mask (greyscale) or a cutout (its alpha), any size")
    ref.add_argument("-o", "--output", required=True, help="folder for NAME.png and NAME.mask.png")
    _edge_options(ref)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backgrone", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rm = sub.add_parser("remove", help="cut out the subject of each image")
    rm.add_argument("images", nargs="+", help="image files or folders")
    rm.add_argument("-o", "--output", required=True, help="folder for the cutouts (PNG)")
    rm.add_argument(
        "--engine",
        default=DEFAULT_ENGINE,
        choices=[e.id for e in ENGINES],
        help=f"default: {DEFAULT_ENGINE}",
    )
    rm.add_argument("--model", help="the engine's .onnx file, instead of the cached one")
    rm.add_argument("--threads", type=int, default=None, help="inference threads")
    rm.add_argument("--mask", action="store_true", help="also write each mask as NAME.mask.png")
    rm.add_argument("--timings", action="store_true", help="print the time of each stage")
    _edge_options(rm)
    _add_refine_parser(sub)
    args = parser.parse_args(argv)
    try:
        if args.command == "refine":
            return _refine(args)
        return asyncio.run(_remove(args))
    except BackgroneError as exc:
        print(f"backgrone: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
