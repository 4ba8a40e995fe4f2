"""Command line: `python -m backgrone remove IMAGES... -o OUTDIR --engine ID`.

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
            result = await remove_background(data, engine, session)
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
    args = parser.parse_args(argv)
    try:
        return asyncio.run(_remove(args))
    except BackgroneError as exc:
        print(f"backgrone: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
