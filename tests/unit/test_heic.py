"""HEIC and HEIF under CPython (pillow-heif), and from pixels another decoder
made (libheif in the browser): upright, the primary image, colours tagged."""
from __future__ import annotations

import io

import numpy as np
import pillow_heif
import pytest
from PIL import Image, ImageCms

from backgrone.errors import ImageError, TooLarge
from backgrone.imageio import decode, from_pixels
from helpers import heic


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = ((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean()
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def test_a_turned_heic_photo_comes_out_upright(photos):
    portrait = Image.open(photos["grace_hopper"]).convert("RGB")  # 512x600
    stored = portrait.transpose(Image.Transpose.ROTATE_90)  # as the sensor saw it: 600x512
    d = decode(heic(stored, orientation=6))
    assert d.format == "HEIC" and d.size == portrait.size and d.alpha is None
    assert psnr(np.asarray(d.rgb), np.asarray(portrait)) > 35  # the same picture, the right way up
    assert d.notes == []


def test_several_images_give_the_primary_one_with_a_note():
    first = Image.new("RGB", (40, 30), (200, 20, 20))
    second = Image.new("RGB", (30, 40), (20, 20, 200))
    f = pillow_heif.HeifFile()
    f.add_from_pillow(first)
    f.add_from_pillow(second)
    out = io.BytesIO()
    f.save(out, quality=90)
    d = decode(out.getvalue())
    assert d.size == (40, 30) and np.asarray(d.rgb)[15, 20, 0] > 150  # the primary (first) image
    assert d.notes == ["This HEIC file holds 2 images: its primary image was used."]


def test_its_colour_profile_and_transparency_are_kept():
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    d = decode(heic(Image.new("RGB", (32, 24), (10, 120, 240)), icc_profile=icc))
    assert d.rgb.info["icc_profile"] == icc
    rgba = Image.new("RGBA", (32, 24), (10, 120, 240, 255))
    rgba.paste((0, 0, 0, 0), (0, 0, 16, 24))
    d = decode(heic(rgba, quality=-1))  # lossless
    assert d.alpha is not None and np.asarray(d.alpha)[:, :16].max() == 0 and np.asarray(d.alpha)[:, 16:].min() == 255


def test_a_broken_heic_gets_a_message():
    data = heic(Image.new("RGB", (64, 64), (90, 90, 90)))
    with pytest.raises(ImageError, match=r"damaged|truncated"):
        decode(data[: len(data) // 2])


def test_pixels_from_the_browser_are_taken_as_they_are():
    rng = np.random.default_rng(0)
    px = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    icc = b"icc-profile-bytes"
    d = from_pixels(px.tobytes(), 32, 24, 3, icc, images=3)
    assert np.array_equal(np.asarray(d.rgb), px) and d.rgb.info["icc_profile"] == icc
    assert d.format == "HEIC" and d.notes == ["This HEIC file holds 3 images: its primary image was used."]
    # The pipeline writes into the photo in place: it must own its pixels.
    d.rgb.putalpha(Image.new("L", (32, 24), 7))
    rgba = rng.integers(0, 256, (24, 32, 4), dtype=np.uint8)
    d = from_pixels(rgba.tobytes(), 32, 24, 4)
    assert np.array_equal(np.asarray(d.rgb), rgba[:, :, :3]) and np.array_equal(np.asarray(d.alpha), rgba[:, :, 3])


def test_pixels_over_the_limit_are_refused_or_reduced():
    px = bytes(100 * 80 * 3)
    with pytest.raises(TooLarge, match=r"100x80 is 0\.0 megapixels.*reduced size") as e:
        from_pixels(px, 100, 80, 3, max_pixels=2000)
    assert e.value.code == "too-large"
    d = from_pixels(px, 100, 80, 3, max_pixels=2000, reduce=True)
    assert d.size == (50, 40) and "reduced from 100x80" in d.notes[0]
    with pytest.raises(ImageError, match="not what its size says"):
        from_pixels(px[:-1], 100, 80, 3)


def test_the_command_line_cuts_out_a_heic_photo(tmp_path, photos, standin_model):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    portrait = Image.open(photos["grace_hopper"]).convert("RGB")
    src = tmp_path / "IMG_0001.HEIC"
    src.write_bytes(heic(portrait.transpose(Image.Transpose.ROTATE_90), orientation=6))
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "backgrone", "remove", str(src), "-o", str(out),
         "--engine", "balanced", "--model", str(standin_model)],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(root / "py")}, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    (cut,) = out.glob("*.png")
    assert Image.open(cut).size == portrait.size  # upright
