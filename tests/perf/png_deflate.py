"""What a 12 MP cutout's PNG costs, by filter and zlib setting, under CPython.

    .venv/bin/python tests/perf/png_deflate.py [--engine lightweight] [--runs 3]

Makes the benchmark's 12 MP photo (tests/bench/photos.py), cuts it out with
the CPython pipeline (native onnxruntime) and times, on that RGBA cutout:
PNG's Up and Sub filters, zlib level 1 and 2, Z_RLE and Huffman-only, each
with the colour of fully transparent pixels kept or cleared, and
imageio.encode_png as shipped. Prints seconds (best of --runs) and sizes.
Nothing is asserted: compare figures within one run.
"""
from __future__ import annotations

import argparse
import sys
import time
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT / "py", ROOT / "tests", ROOT / "tests" / "bench"):
    sys.path.insert(0, str(p))

import photos as photo_maker  # noqa: E402
from backgrone import imageio, tensors  # noqa: E402
from backgrone.composite import cutout  # noqa: E402
from backgrone.engines import get_engine  # noqa: E402
from backgrone.inference.native import NativeSession  # noqa: E402
from backgrone.models import find_model  # noqa: E402
from helpers import PHOTOS, run  # noqa: E402
from PIL import Image  # noqa: E402


def best(fn, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def filtered(arr: np.ndarray, kind: str) -> np.ndarray:
    h = arr.shape[0]
    rows = arr.reshape(h, -1)
    out = np.empty((h, rows.shape[1] + 1), np.uint8)
    if kind == "up":
        out[:, 0] = 2
        out[0, 1:] = rows[0]
        np.subtract(rows[1:], rows[:-1], out=out[1:, 1:])
    else:  # sub: the pixel to the left (4 bytes) subtracted
        out[:, 0] = 1
        out[:, 1:5] = rows[:, :4]
        np.subtract(rows[:, 4:], rows[:, :-4], out=out[:, 5:])
    return out


def deflated_size(data: np.ndarray, level: int, strategy: int) -> int:
    z = zlib.compressobj(level, zlib.DEFLATED, 15, 8, strategy)
    return len(z.compress(data)) + len(z.flush())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default="lightweight")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)

    engine = get_engine(args.engine)
    photo = photo_maker.make_photos(PHOTOS["grace_hopper"], ("12MP",))[0]
    decoded = imageio.decode(photo.data)
    session = NativeSession(find_model(engine), engine)
    output = run(session.run(tensors.preprocess(decoded.rgb, engine)))
    rgba = cutout(decoded.rgb, tensors.mask_from_output(output, decoded.size))
    arr = np.asarray(rgba)
    cleared = arr * (arr[:, :, 3:] != 0)
    print(f"{engine.label}, {photo.width}x{photo.height} cutout, {arr.nbytes / 1e6:.0f} MB of RGBA; "
          f"{(arr[:, :, 3] == 0).mean():.0%} of it fully transparent. Best of {args.runs}, seconds.\n")
    print("| transparent pixels | filter | zlib | filter s | deflate s | size MB |")
    print("|---|---|---|---|---|---|")
    settings = (("level 1", 1, zlib.Z_DEFAULT_STRATEGY), ("level 2", 2, zlib.Z_DEFAULT_STRATEGY),
                ("Z_RLE", 1, zlib.Z_RLE), ("Huffman only", 1, zlib.Z_HUFFMAN_ONLY))
    for label, pixels in (("colour kept", arr), ("cleared to 0", cleared)):
        for kind in ("up", "sub"):
            t_filter, data = best(lambda: filtered(pixels, kind), args.runs)
            for name, level, strategy in settings:
                t, size = best(lambda: deflated_size(data, level, strategy), args.runs)
                print(f"| {label} | {kind} | {name} | {t_filter:.3f} | {t:.3f} | {size / 1e6:.2f} |")
    t, png = best(lambda: imageio.encode_png(rgba), args.runs)
    print(f"\nimageio.encode_png as shipped (Up, level 1, cleared, in bands): {t:.3f} s, "
          f"{len(png) / 1e6:.2f} MB")
    t, _ = best(lambda: imageio.decode(photo.data), args.runs)
    print(f"imageio.decode of the {photo.megapixels:.0f} MP JPEG: {t:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
