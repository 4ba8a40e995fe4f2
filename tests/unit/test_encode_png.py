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
    img = Image.fromarray(arr[:, :, 0] if bands == 1 else arr, mode)
    back = _read(encode_png(img))
    assert back.mode == mode and back.size == size
    assert back.tobytes() == img.tobytes()


def test_bands_join_seamlessly(monkeypatch):
    # Rows are filtered against the row above across band boundaries too.
    monkeypatch.setattr(imageio, "_BAND_BYTES", 100)
    monkeypatch.setattr(imageio, "_IDAT_BYTES", 50)
    arr = np.random.default_rng(1).integers(0, 256, (230, 170, 4), dtype=np.uint8)
    img = Image.fromarray(arr, "RGBA")
    data = encode_png(img)
    assert data.count(b"IDAT") > 1  # several IDAT chunks, as big files get
    assert _read(data).tobytes() == img.tobytes()


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
    assert _read(ours).tobytes() == img.tobytes()


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
