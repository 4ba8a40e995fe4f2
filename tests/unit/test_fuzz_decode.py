"""Fuzzing the decode path: mutated and malformed PNG, JPEG, GIF, WebP, TIFF
and BMP files (headers and bodies). Whatever the bytes, decode() returns an
image or raises the app's ImageError with a message; it never raises anything
else, never hangs, and never decodes pixels for an image over its limit.

The run's figures (examples, time) are printed: `pytest -s` shows them."""
from __future__ import annotations

import io
import threading
import time
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from backgrone.errors import ImageError
from backgrone.imageio import decode

# Small limits keep each example fast; the guard is the same code at any limit.
MAX_PIXELS = 1_000_000
CALL_SECONDS = 10.0  # generous: a valid seed decodes in milliseconds
PEAK_BYTES = 64 * 2**20  # Python-side allocations of one call (numpy arrays included)
EXAMPLES = 2500  # about 20 s on an idle 2-core machine


def _save(img: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def _seeds() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))
    rgba = Image.fromarray(rng.integers(0, 256, (12, 16, 4), dtype=np.uint8))
    frames = [rgb, rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    exif = Image.Exif()
    exif[0x0112] = 6
    return {
        "png-rgb": _save(rgb, "PNG"),
        "png-rgba": _save(rgba, "PNG"),
        "png-palette-trns": _save(rgb.convert("P"), "PNG", transparency=3),
        "png-16bit": _save(Image.fromarray(rng.integers(0, 65535, (12, 16), dtype=np.uint16)), "PNG"),
        "png-grey": _save(rgb.convert("L"), "PNG"),
        "apng": _save(frames[0], "PNG", save_all=True, append_images=frames[1:]),
        "jpeg": _save(rgb, "JPEG", quality=90),
        "jpeg-progressive-exif": _save(rgb, "JPEG", progressive=True, exif=exif),
        "jpeg-cmyk": _save(rgb.convert("CMYK"), "JPEG"),
        "gif-animated": _save(frames[0], "GIF", save_all=True, append_images=frames[1:]),
        "webp-lossy": _save(rgb, "WEBP", quality=80),
        "webp-lossless-alpha": _save(rgba, "WEBP", lossless=True),
        "webp-animated": _save(frames[0], "WEBP", save_all=True, append_images=frames[1:]),
        "tiff-raw": _save(rgb, "TIFF"),
        "tiff-lzw": _save(rgba, "TIFF", compression="tiff_lzw"),
        "tiff-deflate-exif": _save(rgb, "TIFF", compression="tiff_adobe_deflate", exif=exif),
        "bmp": _save(rgb, "BMP"),
        "bmp-rgba": _save(rgba, "BMP"),
    }


SEEDS = _seeds()


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[name])
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "overwrite", "header", "insert", "delete", "truncate", "grow"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "overwrite":
            data[at : at + 4] = draw(st.binary(min_size=1, max_size=4))
        elif kind == "header":  # the sizes and flags live in the first bytes
            at = draw(st.integers(0, min(len(data), 64)))
            data[at : at + 4] = draw(st.sampled_from([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00",
                                                      b"\x7f\xff", b"\x00\x01\x00\x00", b"\xff"]))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 32))]
        elif kind == "truncate":
            del data[at:]
        elif kind == "grow":
            data += draw(st.binary(max_size=64))
    return name, bytes(data)


@pytest.fixture(scope="module")
def stats():
    s = {"examples": 0, "decoded": 0, "refused": 0, "slowest": 0.0, "peak": 0, "start": time.perf_counter()}
    yield s
    took = time.perf_counter() - s["start"]
    print(f"\nfuzz decode: {s['examples']} examples in {took:.1f} s: {s['decoded']} decoded, "
          f"{s['refused']} refused with ImageError; slowest call {s['slowest'] * 1000:.0f} ms, "
          f"largest Python-side peak {s['peak'] / 2**20:.1f} MiB")


@pytest.fixture(scope="module")
def loads():
    """Every image whose pixels Pillow decoded, by size."""
    sizes = []
    real = ImageFile.ImageFile.load

    def load(self):
        sizes.append(self.size)
        return real(self)
    ImageFile.ImageFile.load = load
    yield sizes
    ImageFile.ImageFile.load = real


def run_bounded(data: bytes):
    """decode() in a thread, so a hang fails the test instead of stalling it.
    Returns (outcome, seconds, peak bytes)."""
    box = {}

    def target():
        tracemalloc.start()
        t0 = time.perf_counter()
        try:
            box["value"] = decode(data, max_pixels=MAX_PIXELS)
        except BaseException as exc:  # noqa: BLE001 - judged below
            box["value"] = exc
        box["seconds"] = time.perf_counter() - t0
        box["peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(CALL_SECONDS * 3)
    assert not thread.is_alive(), f"decode() did not return within {CALL_SECONDS * 3:.0f} s"
    return box["value"], box["seconds"], box["peak"]


def test_every_seed_decodes():
    for name, data in SEEDS.items():
        assert decode(data).size[0] > 0, name


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=mutated())
def test_mutated_files_decode_or_fail_with_an_image_error(case, stats, loads):
    name, data = case
    before = len(loads)
    outcome, seconds, peak = run_bounded(data)
    stats["examples"] += 1
    stats["slowest"] = max(stats["slowest"], seconds)
    stats["peak"] = max(stats["peak"], peak)
    if isinstance(outcome, BaseException):
        assert isinstance(outcome, ImageError), f"{name}: {type(outcome).__name__}: {outcome}"
        assert str(outcome) and "Traceback" not in str(outcome)
        stats["refused"] += 1
    else:
        assert outcome.rgb.mode == "RGB"
        assert outcome.alpha is None or outcome.alpha.size == outcome.rgb.size
        stats["decoded"] += 1
    # Pixels were decoded only for images within the limit, checked from the header.
    assert all(w * h <= MAX_PIXELS for w, h in loads[before:]), loads[before:]
    assert seconds < CALL_SECONDS, f"{name}: {seconds:.1f} s"
    assert peak < PEAK_BYTES, f"{name}: {peak / 2**20:.0f} MiB"
