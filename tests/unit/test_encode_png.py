"""backgrone.imageio.encode_png: PNG files any decoder reads back exactly."""
from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms

from backgrone import imageio
from backgrone.imageio import encode_png


def _read(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    assert img.format == "PNG"
    return img


@pytest.mark.parametrize("mode,bands", [("L", 1), ("LA", 2), ("RGB", 3), ("RGBA", 4)])
@pytest.mark.parametrize("size", [(1, 1), (7, 3), (61, 47)])
def test_round_trips_every_pixel(mode, bands, size):
    rng = np.random.default_rng(sum(size) + bands)
    w, h = size
    arr = rng.integers(0, 256, (h, w, bands), dtype=np.uint8)
    if mode in ("LA", "RGBA"):
        arr[::3, ::2, -1] = 0  # some fully transparent pixels
    img = Image.fromarray(arr[:, :, 0] if bands == 1 else arr, mode)
    back = _read(encode_png(img))
    assert back.mode == mode and back.size == size
    assert back.tobytes() == _visible(img).tobytes()


def _visible(img: Image.Image) -> Image.Image:
    """What encode_png promises to keep: every pixel, except that fully
    transparent ones become all zeros."""
    if img.mode not in ("LA", "RGBA"):
        return img
    arr = np.asarray(img).copy()
    arr[arr[:, :, -1] == 0] = 0
    return Image.fromarray(arr, img.mode)


def test_transparent_pixels_lose_only_their_invisible_colour():
    arr = np.full((4, 5, 4), (200, 100, 50, 255), np.uint8)
    arr[1, 2] = (9, 8, 7, 0)  # transparent: its colour is never seen
    arr[2, 3] = (9, 8, 7, 1)  # barely visible: kept exactly
    back = np.asarray(_read(encode_png(Image.fromarray(arr, "RGBA"))))
    assert tuple(back[1, 2]) == (0, 0, 0, 0)
    assert tuple(back[2, 3]) == (9, 8, 7, 1)
    mask = np.ones(arr.shape[:2], bool)
    mask[1, 2] = False
    assert np.array_equal(back[mask], arr[mask])


def test_a_cleared_background_makes_the_cutout_smaller():
    # Half the picture transparent, as in a cutout: the noise under it costs nothing.
    arr = np.random.default_rng(3).integers(0, 256, (200, 300, 4), dtype=np.uint8)
    arr[:, :150, 3] = 0
    arr[:, 150:, 3] = 255
    img = Image.fromarray(arr, "RGBA")
    ours = encode_png(img)
    pillow = io.BytesIO()
    img.save(pillow, "PNG", compress_level=1)
    assert len(ours) < 0.6 * len(pillow.getvalue())
    assert _read(ours).tobytes() == _visible(img).tobytes()


def test_bands_join_seamlessly(monkeypatch):
    # Rows are filtered against the row above across band boundaries too.
    monkeypatch.setattr(imageio, "_BAND_BYTES", 100)
    monkeypatch.setattr(imageio, "_IDAT_BYTES", 50)
    arr = np.random.default_rng(1).integers(0, 256, (230, 170, 4), dtype=np.uint8)
    img = Image.fromarray(arr, "RGBA")
    data = encode_png(img)
    assert data.count(b"IDAT") > 1  # several IDAT chunks, as big files get
    assert _read(data).tobytes() == _visible(img).tobytes()


def test_a_cutout_of_a_photo_is_no_larger_than_pillows(photos):
    # A real photo with a soft round mask, like a cutout.
    img = Image.open(photos["grace_hopper"]).convert("RGBA")
    w, h = img.size
    y, x = np.mgrid[0:h, 0:w]
    r = np.hypot((x - w / 2) / w, (y - h / 2) / h)
    img.putalpha(Image.fromarray(np.clip((0.4 - r) * 2000, 0, 255).astype(np.uint8), "L"))
    ours = encode_png(img)
    pillow = io.BytesIO()
    img.save(pillow, "PNG", compress_level=1)
    assert len(ours) <= len(pillow.getvalue())
    assert _read(ours).tobytes() == _visible(img).tobytes()


def test_keeps_the_icc_profile():
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    img = Image.new("RGBA", (5, 4), (10, 20, 30, 40))
    img.info["icc_profile"] = icc
    assert _read(encode_png(img)).info.get("icc_profile") == icc


def test_other_modes_still_encode():
    img = Image.new("P", (6, 6), 3)
    img.putpalette([i % 256 for i in range(768)])
    back = _read(encode_png(img))
    assert back.mode == "P" and back.tobytes() == img.tobytes()


def test_file_is_well_formed():
    data = encode_png(Image.new("RGB", (3, 2), (1, 2, 3)))
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82")
    # Every chunk's CRC is right: Pillow checks them when it verifies.
    Image.open(io.BytesIO(data)).verify()
    # The image data is one zlib stream.
    assert zlib.decompress(data[data.index(b"IDAT") + 4 : data.index(b"IEND") - 8])
