"""backgrone.imageio: whatever a user drops in becomes an upright RGB image
plus its own transparency, or a clear ImageError."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from backgrone import imageio
from backgrone.errors import ImageError, UnsupportedFormat
from backgrone.imageio import MAX_PIXELS, decode, encode_png, fit_size

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
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(300), r"not an image"),
        # Pillow knows EPS, but it is a document needing Ghostscript.
        (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", r"not an image.*PNG, JPEG"),
    ],
    ids=["empty", "text", "pdf", "elf", "zip-named-jpg", "exe", "eps"],
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


def test_60_megapixel_image_is_refused_from_its_header_with_an_offer(loads):
    data = save(Image.new("1", (10000, 6000)))  # a few kB on disk
    assert len(data) < 100_000
    with pytest.raises(ImageError, match=r"10000x6000 is 60\.0 megapixels.*limit is 50 megapixels\. "
                                         r"It can be cut out at a reduced size instead\.") as e:
        decode(data)
    assert e.value.code == "too-large" and loads == []


def test_too_large_even_to_reduce_says_to_scale_it_down():
    data = save(Image.new("1", (12000, 9000)))  # 108 MP
    with pytest.raises(ImageError, match=r"Scale it down and try again") as e:
        decode(data, reduce=True)
    assert e.value.code == "bad-image"


def test_an_image_over_the_limit_is_reduced_to_fit_when_asked(loads):
    img = gradient_rgb(400, 300)
    img.info["icc_profile"] = b"profile"
    data = save(img, "JPEG", quality=95, icc_profile=b"profile")
    d = decode(data, max_pixels=30_000, reduce=True)
    assert d.size == fit_size((400, 300), 30_000) and d.size[0] * d.size[1] <= 30_000
    assert d.size == (200, 150)
    assert d.notes == ["Cut out at 200x150, reduced from 400x300: the largest size is 0.03 megapixels."]
    assert d.rgb.info.get("icc_profile") == b"profile"
    # JPEG decodes at half size first: the full 400x300 is never in memory.
    assert set(loads) == {(200, 150)}
    # The same picture, smaller.
    ref = np.asarray(img.resize((200, 150), Image.Resampling.LANCZOS), dtype=np.float64)
    assert np.abs(np.asarray(d.rgb, dtype=np.float64) - ref).mean() < 3


def test_reduction_turns_first_and_keeps_the_shape():
    img = gradient_rgb(300, 200)
    exif = Image.Exif()
    exif[0x0112] = 6
    d = decode(save(img, "PNG", exif=exif.tobytes()), max_pixels=15_000, reduce=True)
    assert d.size == fit_size((200, 300), 15_000) == (100, 150)


@pytest.mark.parametrize("size, limit", [((7, 5), 10), ((8000, 6001), 48_000_000), ((1, 99), 50), ((3, 3), 9)])
def test_fit_size_is_the_largest_that_fits(size, limit):
    w, h = fit_size(size, limit)
    assert w * h <= limit and (w, h) <= size
    assert (w + 1) * (h + 1) > limit or (w, h) == size


def png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.fixture
def loads(monkeypatch):
    """The sizes of the images whose pixels Pillow decoded."""
    sizes = []
    real = ImageFile.ImageFile.load

    def load(self):
        sizes.append(self.size)
        return real(self)
    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return sizes


@pytest.mark.parametrize("size, words", [
    ((8000, 6251), r"too large: 8000x6251 is 50\.0 megapixels, the limit is 50 megapixels"),
    ((100_000, 100_000), r"too large \(10,000 megapixels\): the limit is 50 megapixels"),
])
def test_decompression_bomb_is_refused_before_any_pixel_is_decoded(loads, size, words):
    with pytest.raises(ImageError, match=words):
        decode(png_header_only(*size))
    assert loads == []  # no pixel buffer was ever allocated


def test_the_largest_accepted_size_is_the_limit(loads):
    assert MAX_PIXELS == 50_000_000
    with pytest.raises(ImageError, match="damaged"):  # decoded (and found short), not refused
        decode(png_header_only(10_000, 5_000))
    assert loads == [(10_000, 5_000)]


def test_heic_is_named_with_what_to_do_where_nothing_reads_it(monkeypatch):
    # As in Pyodide, which has no pillow-heif (the page decodes HEIC itself there).
    monkeypatch.setattr(imageio, "_heif_formats", lambda: ())
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(100)
    with pytest.raises(UnsupportedFormat, match=r"This is a HEIC image.*Convert it to JPEG or PNG") as e:
        decode(heic)
    assert e.value.code == "unsupported-format" and e.value.format == "HEIC"


def test_jpeg_2000_is_named():
    with pytest.raises(UnsupportedFormat, match=r"This is a JPEG 2000 image"):
        decode(save(gradient_rgb(), "JPEG2000"))


def test_avif_decodes_where_pillow_has_the_codec():
    d = decode(save(gradient_rgb(), "AVIF", quality=100))
    assert d.format == "AVIF" and d.size == (32, 24) and d.alpha is None


def test_avif_is_named_where_pillow_lacks_the_codec(monkeypatch):
    # As in the browser: Pyodide's Pillow 12.2 has no AVIF codec.
    from PIL import AvifImagePlugin
    monkeypatch.setattr(AvifImagePlugin, "SUPPORTED", False)
    with pytest.raises(UnsupportedFormat, match=r"This is an AVIF image, which Backgrone cannot read in this browser"):
        decode(save(gradient_rgb(), "AVIF"))


def test_animated_webp_uses_the_first_frame_and_says_so():
    frames = [Image.new("RGB", (10, 10), (255, 0, 0)), Image.new("RGB", (10, 10), (0, 0, 255))]
    d = decode(save(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True))
    assert pixels(d.rgb)[5, 5].tolist() == [255, 0, 0]
    assert d.notes == ["Animated WEBP: only the first frame was used."]


def test_16_bit_rgb_png_decodes_to_8_bit_rgb():
    arr = np.zeros((2, 2, 3), np.uint16)
    arr[0, 0] = (65535, 0, 32768)
    png = io.BytesIO()
    # Pillow cannot write 16-bit RGB: build it with the PNG writer of numpy bytes.
    raw = b"".join(b"\0" + row.astype(">u2").tobytes() for row in arr)
    png.write(b"\x89PNG\r\n\x1a\n")
    for kind, data in [(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 16, 2, 0, 0, 0)),
                       (b"IDAT", zlib.compress(raw)), (b"IEND", b"")]:
        png.write(struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data)))
    d = decode(png.getvalue())
    assert d.rgb.mode == "RGB" and pixels(d.rgb)[0, 0].tolist()[:2] == [255, 0]


def test_exif_of_a_damaged_kind_does_not_lose_the_image(monkeypatch):
    from PIL import ImageOps

    def broken(img):
        raise SyntaxError("not a TIFF file (header b'xx' not valid)")
    monkeypatch.setattr(ImageOps, "exif_transpose", broken)
    d = decode(save(gradient_rgb(), "JPEG"))
    assert d.size == (32, 24)
    assert d.notes == ["Its orientation tag could not be read: the image is used as stored."]


# -- encoding ---------------------------------------------------------------

def test_encode_png_round_trips_rgba_losslessly():
    rng = np.random.default_rng(7)
    arr = rng.integers(0, 256, (17, 23, 4), dtype=np.uint8)
    arr[:, :, 3] |= 1  # every pixel visible (fully transparent ones lose their colour)
    data = encode_png(Image.fromarray(arr, "RGBA"))
    back = Image.open(io.BytesIO(data))
    assert back.format == "PNG" and back.mode == "RGBA"
    assert np.array_equal(np.asarray(back), arr)


def test_fit_scales_to_the_longer_side_and_hidden_colours_do_not_darken_edges():
    # An opaque red square beside a transparent area whose hidden colour is
    # black (as a cutout stores it): scaled down, the edge stays red.
    img = Image.new("RGBA", (400, 100), (0, 0, 0, 0))
    img.paste((250, 20, 20, 255), (0, 0, 201, 100))
    small = imageio.fit(img, 40)
    assert small.size == (40, 10)
    px = np.asarray(small).astype(int)
    edge = px[5, 19:21]  # partly red, partly transparent
    assert (edge[:, 3] > 20).all() and (edge[:, 3] < 250).all()
    assert (edge[:, 0] > 240).all() and (edge[:, 1] < 30).all()  # unweighted: 225 and 50
    assert imageio.fit(img, 400) is img and imageio.fit(img, None) is img
