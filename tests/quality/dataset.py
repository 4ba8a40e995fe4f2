"""The ground-truth sets, made at run time from two Debian packages (never
shipped): photographs cut out by hand with true alpha (tuxpaint-stamps-default,
GPL-2) composited onto background photographs (mate-backgrounds, GPL-2+, and
the scikit-image photos the tests already use), I = a*F + (1-a)*B in float,
as Adobe's Composition-1k is made. The stamp's alpha is then the exact ground
truth, and its colours the exact foreground. Deterministic: every random
choice comes from a generator seeded by the stamp's name and the set.

Sets:
- native: each photo stamp on a canvas 1.3-1.8x its size;
- 12mp: the same composites; the benchmark brings the engine's mask to 1/4
  of the photo's size and back up (the gap a 1024^2 mask has on a 4000x3000
  photo) while the photo keeps its sharp edges;
- large: the stamps with a long side of LARGE_MIN px or more, on canvases
  1.5-2.5x their size and of LARGE_PIXELS at least (1.5-5 MP).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

STAMPS = Path("/usr/share/tuxpaint/stamps")
BACKGROUNDS = Path("/usr/share/backgrounds/mate/nature")

# A stamp counts as a photograph when its visible pixels have at least this
# many distinct colours, and distinct colours are at least this share of its
# visible pixels: drawings have few flat colours, photos thousands.
MIN_COLOURS = 2000
MIN_COLOUR_SHARE = 0.2
MIN_VISIBLE = 500  # px: smaller stamps are icons
LARGE_MIN = 600  # px, long side of a stamp for the large set
LARGE_PIXELS = 1_500_000  # the smallest large composite

SETS = ("native", "12mp", "large")


@dataclass
class Case:
    name: str  # stamp path under STAMPS, and its background
    set: str
    rgb: np.ndarray  # (H, W, 3) uint8: the composite, as a photo would be stored
    alpha: np.ndarray  # (H, W) float32 0..1: the ground truth
    fg: np.ndarray  # (H, W, 3) float32 0..1: the true foreground colours
    new_bg: np.ndarray  # (H, W, 3) float32 0..1: another background, for the colour error

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]


def _seed(*parts) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


def photo_stamps() -> list[tuple[str, Image.Image]]:
    """(name, RGBA image) of every stamp that is a photograph, sorted by name.
    Drawings are left out by their colours, and so are the package's
    "cartoon" folders and its mirrored copies of other stamps."""
    out = []
    for path in sorted(STAMPS.rglob("*.png")):
        rel = str(path.relative_to(STAMPS))
        if "cartoon" in rel or "_mirror" in rel:
            continue
        img = Image.open(path)
        img.load()
        rgba = img.convert("RGBA")
        a = np.asarray(rgba)
        alpha = a[..., 3]
        visible = alpha > 0
        if visible.sum() < MIN_VISIBLE or (alpha == 0).mean() < 0.05:
            continue  # an icon, or a photo with no background cut away
        rgb = a[..., :3][visible].astype(np.int32)
        colours = len(np.unique((rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]))
        if colours >= MIN_COLOURS and colours / visible.sum() >= MIN_COLOUR_SHARE:
            out.append((rel, rgba))
    return out


def background_photos() -> list[tuple[str, Image.Image]]:
    import skimage  # the test dependencies carry its public-domain photos

    paths = sorted(BACKGROUNDS.glob("*.jpg"))
    data = Path(skimage.__file__).parent / "data"
    paths += [data / n for n in ("astronaut.png", "coffee.png", "chelsea.png")]
    out = []
    for p in paths:
        img = Image.open(p).convert("RGB")
        out.append((p.name, img))
    return out


def _crop_cover(bg: Image.Image, size: tuple[int, int], rng) -> np.ndarray:
    """A random crop of the background, scaled to cover `size`, as float 0..1."""
    w, h = size
    cover = max(w / bg.width, h / bg.height) * rng.uniform(1.0, 1.6)
    sw, sh = max(w, round(bg.width * cover)), max(h, round(bg.height * cover))
    scaled = bg.resize((sw, sh), Image.Resampling.LANCZOS) if (sw, sh) != bg.size else bg
    x0 = int(rng.integers(0, sw - w + 1))
    y0 = int(rng.integers(0, sh - h + 1))
    return np.asarray(scaled.crop((x0, y0, x0 + w, y0 + h)), np.float32) / 255.0


def composite(name: str, stamp: Image.Image, backgrounds, set_name: str, factor: tuple[float, float],
              min_pixels: int = 0) -> Case:
    rng = np.random.default_rng(_seed(name, set_name))
    sw, sh = stamp.size
    f = max(rng.uniform(*factor), (min_pixels / (sw * sh)) ** 0.5)
    w, h = max(sw + 2, round(sw * f)), max(sh + 2, round(sh * f))
    x0 = int(rng.integers(0, w - sw + 1))
    y0 = int(rng.integers(0, h - sh + 1))
    i_bg, i_new = rng.choice(len(backgrounds), 2, replace=False)
    bg_name, bg = backgrounds[i_bg]
    back = _crop_cover(bg, (w, h), rng)
    new_bg = _crop_cover(backgrounds[i_new][1], (w, h), rng)
    a = np.asarray(stamp, np.float32) / 255.0
    alpha = np.zeros((h, w), np.float32)
    fg = np.zeros((h, w, 3), np.float32)
    alpha[y0:y0 + sh, x0:x0 + sw] = a[..., 3]
    fg[y0:y0 + sh, x0:x0 + sw] = a[..., :3]
    img = alpha[..., None] * fg + (1 - alpha[..., None]) * back
    rgb = np.clip(np.round(img * 255), 0, 255).astype(np.uint8)
    return Case(f"{name} on {bg_name}", set_name, rgb, alpha, fg, new_bg)


def cases(sets=SETS, limit: int | None = None):
    """The composites of the given sets, in a fixed order; `limit` takes the
    first N stamps of each set (evenly spread over the sorted list)."""
    stamps = photo_stamps()
    backgrounds = background_photos()
    # native and 12mp share their composites: the engine runs once for both.
    base = [s for s in ("native", "12mp") if s in sets]
    chosen = _spread(stamps, limit)
    if base:
        for name, stamp in chosen:
            yield composite(name, stamp, backgrounds, "native", (1.3, 1.8)), base
    if "large" in sets:
        large = [s for s in stamps if max(s[1].size) >= LARGE_MIN]
        for name, stamp in _spread(large, limit):
            yield composite(name, stamp, backgrounds, "large", (1.5, 2.5), LARGE_PIXELS), ["large"]


def _spread(items, limit):
    if not limit or limit >= len(items):
        return items
    idx = np.linspace(0, len(items) - 1, limit).round().astype(int)
    return [items[i] for i in idx]
