"""The benchmark's photos, made from the largest real sample the project pins.

grace_hopper.jpg (512x600, 0.31 MP, a real JPEG) is used as it is. The 1, 12
and 48 MP photos are the same picture resized with Pillow's LANCZOS filter,
keeping its aspect ratio, and saved as baseline JPEG at quality 90 like a
camera's file. The 12 and 48 MP ones are upscales: the decode, resize and encode
costs are those of a real photo of that size, but its content is not a real scene of it
(no finer detail than the original).
"""
from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

SOURCE = "grace_hopper.jpg"
SIZES = (("0.3MP", None), ("1MP", 1_000_000), ("12MP", 12_000_000), ("48MP", 48_000_000))
DEFAULT = ("0.3MP", "1MP", "12MP")  # 48MP when asked for (--photos): a phone's largest


@dataclass(frozen=True)
class Photo:
    name: str  # "0.3MP", "1MP", "12MP", "48MP"
    data: bytes
    width: int
    height: int
    how: str  # how it was made, for the table

    @property
    def b64(self) -> str:
        return base64.b64encode(self.data).decode()

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6


def make_photos(source: Path, only: tuple[str, ...] | None = None) -> list[Photo]:
    raw = source.read_bytes()
    original = Image.open(io.BytesIO(raw))
    original.load()
    photos = []
    for name, pixels in SIZES:
        if name not in (only or DEFAULT):
            continue
        if pixels is None:
            w, h = original.size
            photos.append(Photo(name, raw, w, h, f"{source.name} as it is"))
            continue
        scale = math.sqrt(pixels / (original.width * original.height))
        size = (round(original.width * scale), round(original.height * scale))
        out = io.BytesIO()
        original.convert("RGB").resize(size, Image.Resampling.LANCZOS).save(out, "JPEG", quality=90)
        photos.append(Photo(name, out.getvalue(), *size,
                            f"{source.name} resized with LANCZOS, JPEG q90"))
    return photos
