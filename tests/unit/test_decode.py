"""backgrone.imageio: whatever a user drops in becomes an upright RGB image
plus its own transparency, or a clear ImageError."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from backgrone.errors import ImageError
from backgrone.imageio import decode, encode_png

ORIENTATION = 0x0112


def save(img: Image.Image, fmt: str = "PNG", **params) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def pixels(img: Image.Image) -> np.ndarray:
    return np.asarray(img)


def gradient_rgb(w: int = 32, h: int = 24) -> Image.Image:
    y, x = np.mgrid[0:h, 0:w]
    arr = np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) % 256], axis=-1)
    return Image.fromarray(arr.astype(np.uint8), "RGB")


# -- formats that must decode ------------------------------------------------

def test_rgb_png_decodes_to_the_same_pixels_without_alpha():
    img = gradient_rgb()
    d = decode(save(img))
    assert d.size == (32, 24)
    assert d.rgb.mode == "RGB"
    assert d.alpha is None
    assert d.format == "PNG"
    assert np.array_equal(pixels(d.rgb), pixels(img))


def test_rgb_jpeg_decodes_to_rgb_without_alpha():
    img = gradient_rgb()
    d = decode(save(img, "JPEG", quality=95))
    assert d.size == (32, 24)
    assert d.rgb.mode == "RGB"
    assert d.alpha is None
    assert d.format == "JPEG"
    # Lossy, but the picture is the same one.
    diff = np.abs(pixels(d.rgb).astype(int) - pixels(img).astype(int))
    assert diff.mean() < 8


def test_rgba_png_keeps_its_alpha_exactly():
    rng = np.random.default_rng(1)
    arr = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
    d = decode(save(Image.fromarray(arr, "RGBA")))
    assert d.rgb.mode == "RGB"
    assert d.alpha is not None and d.alpha.mode == "L"
    assert np.array_equal(pixels(d.alpha), arr[:, :, 3])
    assert np.array_equal(pixels(d.rgb), arr[:, :, :3])


def test_greyscale_with_alpha_keeps_grey_and_alpha():
    img = Image.new("LA", (5, 4), (100, 50))
    img.putpixel((0, 0), (200, 255))
    d = decode(save(img))
    rgb, alpha = pixels(d.rgb), pixels(d.alpha)
    assert rgb[1, 1].tolist() == [100, 100, 100] and alpha[1, 1] == 50
    assert rgb[0, 0].tolist() == [200, 200, 200] and alpha[0, 0] == 255


def test_palette_png_transparent_index_becomes_alpha_zero():
    img = Image.new("P", (4, 4), 0)
    img.putpalette([255, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 6))
    img.putpixel((1, 2), 1)  # index 1 (green) is the transparent one
    d = decode(save(img, transparency=1))
    alpha = pixels(d.alpha)
    assert alpha[2, 1] == 0
    assert (alpha == 255).sum() == 15
    assert pixels(d.rgb)[0, 0].tolist() == [255, 0, 0]


def test_greyscale_png_becomes_grey_rgb():
    img = Image.fromarray(np.arange(0, 240, 10, dtype=np.uint8).reshape(4, 6), "L")
    d = decode(save(img))
    rgb = pixels(d.rgb)
    assert d.alpha is None
    for c in range(3):
        assert np.array_equal(rgb[:, :, c], pixels(img))


def test_cmyk_jpeg_comes_out_as_rgb_of_the_intended_colour():
    cmyk_red = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # no cyan, full M+Y
    d = decode(save(cmyk_red, "JPEG", quality=95))
    assert d.rgb.mode == "RGB"
    r, g, b = pixels(d.rgb)[8, 8].tolist()
    assert r > 220 and g < 35 and b < 35


def test_16_bit_greyscale_is_scaled_not_clipped_to_white():
    arr = np.array([[0, 32768, 65535]], dtype=np.uint16)
    img = Image.fromarray(arr)
    assert img.mode == "I;16"
    d = decode(save(img))
    grey = pixels(d.rgb)[0, :, 0].tolist()
    assert grey[0] == 0
    assert 126 <= grey[1] <= 129  # 32768 / 65535 of full scale
    assert grey[2] == 255


def test_16_bit_greyscale_with_a_transparent_key_is_scaled_not_clipped():
    # A 16-bit grey PNG with a tRNS key: the key's pixels are transparent and
    # the rest must keep their grey, as without the key.
    arr = np.full((4, 4), 32768, dtype=np.uint16)
    arr[0, 0] = 0
    d = decode(save(Image.fromarray(arr), transparency=0))
    alpha = pixels(d.alpha)
    assert alpha[0, 0] == 0 and alpha[2, 2] == 255
    assert 126 <= pixels(d.rgb)[2, 2, 0] <= 129


def test_exif_orientation_6_is_applied():
    # Stored 40x20 with a red patch top-left; orientation 6 means "rotate
    # 90 degrees clockwise to display", so the upright image is 20x40 and the
    # stored top-left corner lands at the top-right.
    img = Image.new("RGB", (40, 20), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 10, 5))
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    d = decode(save(img, "JPEG", quality=95, exif=exif))
    assert d.size == (20, 40)
    rgb = pixels(d.rgb).astype(int)
    assert rgb[2, 17, 0] > 200 and rgb[2, 17, 2] < 60  # top-right: red
    for y, x in [(2, 2), (37, 2), (37, 17)]:  # other corners: blue
        assert rgb[y, x, 0] < 60 and rgb[y, x, 2] > 200


def test_animated_gif_uses_the_first_frame_and_says_so():
    first = Image.new("RGB", (10, 10), (255, 0, 0))
    second = Image.new("RGB", (10, 10), (0, 0, 255))
    data = save(first, "GIF", save_all=True, append_images=[second])
    d = decode(data)
    assert pixels(d.rgb)[5, 5].tolist() == [255, 0, 0]
    assert any("first frame" in n for n in d.notes)


def test_still_image_has_no_notes():
    assert decode(save(gradient_rgb())).notes == []


def test_one_pixel_image_decodes():
    d = decode(save(Image.new("RGB", (1, 1), (1, 2, 3))))
    assert d.size == (1, 1)
    assert pixels(d.rgb)[0, 0].tolist() == [1, 2, 3]


# -- inputs that must be refused with a clear message ---------------------------

def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("photo.jpg", b"not really")
    return out.getvalue()


@pytest.mark.parametrize(
    "data, words",
    [
        (b"", r"empty"),
        (b"Dear friend,\nthis is plain text, not a picture.\n" * 5, r"not an image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", r"not an image"),
        (b"\x7fELF\x02\x01\x01\x00" + bytes(120), r"not an image"),
        (zip_bytes(), r"not an image"),
    ],
    ids=["empty", "text", "pdf", "elf", "zip-named-jpg"],
)
def test_non_images_are_refused(data, words):
    with pytest.raises(ImageError, match=words):
        decode(data)


def test_truncated_jpeg_is_refused(photos):
    data = photos["grace_hopper"].read_bytes()
    with pytest.raises(ImageError, match=r"damaged|truncated"):
        decode(data[: len(data) // 2])


def test_truncated_png_is_refused(photos):
    data = photos["astronaut"].read_bytes()
    with pytest.raises(ImageError, match=r"damaged|truncated"):
        decode(data[: len(data) // 2])


def test_image_over_the_pixel_limit_is_refused():
    data = save(gradient_rgb(40, 40))  # 1600 pixels
    with pytest.raises(ImageError, match=r"too large.*40x40"):
        decode(data, max_pixels=1599)
    assert decode(data, max_pixels=1600).size == (40, 40)


def test_60_megapixel_image_is_refused_from_its_header():
    data = save(Image.new("1", (10000, 6000)))  # a few kB on disk
    assert len(data) < 100_000
    with pytest.raises(ImageError, match=r"10000x6000 is 60\.0 megapixels.*limit is 50 megapixels"):
        decode(data)


# -- encoding ---------------------------------------------------------------

def test_encode_png_round_trips_rgba_losslessly():
    rng = np.random.default_rng(7)
    arr = rng.integers(0, 256, (17, 23, 4), dtype=np.uint8)
    data = encode_png(Image.fromarray(arr, "RGBA"))
    back = Image.open(io.BytesIO(data))
    assert back.format == "PNG" and back.mode == "RGBA"
    assert np.array_equal(np.asarray(back), arr)
