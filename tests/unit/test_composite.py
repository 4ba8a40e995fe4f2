"""backgrone.composite.cutout: the photo's colours with the mask as alpha."""
from __future__ import annotations

import numpy as np
from PIL import Image

from backgrone.composite import cutout


def test_cutout_keeps_the_colours_and_uses_the_mask_as_alpha():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    mask = rng.integers(0, 256, (12, 16), dtype=np.uint8)
    out = cutout(Image.fromarray(rgb, "RGB"), Image.fromarray(mask, "L"))
    assert out.mode == "RGBA"
    arr = np.asarray(out)
    assert np.array_equal(arr[:, :, :3], rgb)
    assert np.array_equal(arr[:, :, 3], mask)


def test_cutout_does_not_change_the_photo_passed_in():
    photo = Image.new("RGB", (4, 4), (9, 8, 7))
    cutout(photo, Image.new("L", (4, 4), 0))
    assert photo.mode == "RGB"


def test_original_transparency_stays_hidden():
    rgb = Image.new("RGB", (2, 1), (50, 60, 70))
    mask = Image.fromarray(np.array([[255, 128]], np.uint8), "L")
    alpha = Image.fromarray(np.array([[0, 255]], np.uint8), "L")
    out = np.asarray(cutout(rgb, mask, alpha))
    assert out[0, 0, 3] == 0  # mask opaque, photo transparent: stays transparent
    assert out[0, 1, 3] == 128  # photo opaque: the mask decides


def test_alphas_multiply():
    mask = Image.new("L", (1, 1), 128)
    alpha = Image.new("L", (1, 1), 128)
    out = np.asarray(cutout(Image.new("RGB", (1, 1)), mask, alpha))
    assert abs(int(out[0, 0, 3]) - 64) <= 1  # 128/255 * 128/255 of full


def test_cutout_in_place_turns_the_photo_itself_into_the_cutout():
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)
    mask = rng.integers(0, 256, (9, 11), dtype=np.uint8)
    photo = Image.fromarray(rgb, "RGB")
    expected = np.asarray(cutout(photo, Image.fromarray(mask, "L")))
    out = cutout(photo, Image.fromarray(mask, "L"), in_place=True)
    assert out is photo and out.mode == "RGBA"
    assert np.array_equal(np.asarray(out), expected)
