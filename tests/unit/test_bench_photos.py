"""The benchmark's photos are what its table says they are."""
from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from photos import make_photos  # noqa: E402


def test_bench_photos_are_jpegs_of_the_stated_sizes(photos):
    made = {p.name: p for p in make_photos(photos["grace_hopper"])}
    assert list(made) == ["0.3MP", "1MP", "12MP"]
    assert made["0.3MP"].data == photos["grace_hopper"].read_bytes()  # the real file, untouched
    for name, mp in (("0.3MP", 0.31), ("1MP", 1.0), ("12MP", 12.0)):
        p = made[name]
        img = Image.open(io.BytesIO(p.data))
        assert img.format == "JPEG" and img.size == (p.width, p.height)
        assert abs(p.megapixels - mp) < 0.01
        # The aspect ratio of the original (512x600) is kept.
        assert abs(p.width / p.height - 512 / 600) < 0.002
