"""The Engine Arena's mask maths and exports: how far engines agree, where one
disagrees with the others, their consensus, one side-by-side picture, and the
figures as CSV and JSON.

Masks are "L" images (or uint8 arrays) of the same size, 255 = subject.
"""
from __future__ import annotations

import csv
import io
import json
from itertools import combinations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .composite import cutout
from .errors import BackgroneError

# A pixel counts as subject for IoU from this mask value on (half opacity).
SUBJECT_THRESHOLD = 128

CONSENSUS = "consensus"


class ArenaError(BackgroneError):
    code = "bad-options"


def _array(mask) -> np.ndarray:
    arr = np.asarray(mask)
    if arr.dtype != np.uint8 or arr.ndim != 2:
        raise ArenaError("A mask must be one 8-bit channel.")
    return arr


def _check_same_size(masks: dict[str, np.ndarray]) -> None:
    if len({m.shape for m in masks.values()}) > 1:
        raise ArenaError("The masks do not belong to the same image.")


def agreement(a, b) -> dict[str, float]:
    """IoU of the subjects (mask >= 128) and mean absolute difference of the
    masks, in mask units (0-255). Two empty subjects agree fully (IoU 1)."""
    a, b = _array(a), _array(b)
    fa, fb = a >= SUBJECT_THRESHOLD, b >= SUBJECT_THRESHOLD
    union = int(np.count_nonzero(fa | fb))
    inter = int(np.count_nonzero(fa & fb))
    # |a - b| as uint8 without a wider copy: max - min never wraps.
    diff = np.maximum(a, b) - np.minimum(a, b)
    mad = float(diff.mean(dtype=np.float64)) if diff.size else 0.0
    return {"iou": inter / union if union else 1.0, "mad": mad}


def pairs(masks: dict[str, object]) -> list[dict]:
    """agreement() of every pair, in the order the masks are given."""
    arrays = {k: _array(m) for k, m in masks.items()}
    _check_same_size(arrays)
    return [{"a": a, "b": b, **agreement(arrays[a], arrays[b])} for a, b in combinations(arrays, 2)]


def _sum(arrays: list[np.ndarray]) -> np.ndarray:
    total = np.zeros(arrays[0].shape, np.uint16)  # 255 x 257 engines fit
    for arr in arrays:
        total += arr
    return total


def consensus(masks: list) -> np.ndarray:
    """The per-pixel mean of the masks, rounded half up."""
    arrays = [_array(m) for m in masks]
    if not arrays:
        raise ArenaError("The consensus needs at least one mask.")
    _check_same_size(dict(enumerate(arrays)))
    n = len(arrays)
    total = _sum(arrays)
    total += n // 2
    total //= n
    return total.astype(np.uint8)


def disagreement(masks: dict[str, object], engine: str) -> np.ndarray:
    """Where `engine` disagrees with the others: |its mask - the mean of the
    other masks|, rounded half up (0 = agrees, 255 = opposite). For the
    consensus, the spread of all the masks (max - min)."""
    arrays = {k: _array(m) for k, m in masks.items()}
    _check_same_size(arrays)
    if engine == CONSENSUS:
        stack = list(arrays.values())
        return np.maximum.reduce(stack) - np.minimum.reduce(stack)
    if engine not in arrays:
        raise ArenaError(f"No mask for the engine {engine!r}.")
    others = [m for k, m in arrays.items() if k != engine]
    if not others:
        return np.zeros_like(arrays[engine])
    # |mine - total/n| = |n*mine - total| / n, rounded once at the end; int16
    # holds n*255 for the few engines there are.
    n = len(others)
    dev = arrays[engine].astype(np.int16) * n
    dev -= _sum(others).astype(np.int16)
    np.abs(dev, out=dev)
    dev *= 2
    dev += n
    dev //= 2 * n
    return dev.astype(np.uint8)


def _heat_palette() -> list[int]:
    """0 (agree) near black through purple and red to yellow (disagree).
    Colours follow the square root of the value, so that the small
    differences that matter at edges (a few percent) are visible."""
    stops = [(0, (17, 17, 24)), (64, (96, 24, 140)), (128, (214, 40, 60)), (192, (250, 140, 20)), (255, (255, 240, 80))]
    palette: list[int] = []
    for value in range(256):
        v = 255 * (value / 255) ** 0.5
        for (v0, c0), (v1, c1) in zip(stops, stops[1:]):
            if v0 <= v <= v1:
                t = (v - v0) / (v1 - v0)
                palette += [round(a + (b - a) * t) for a, b in zip(c0, c1)]
                break
    return palette


HEAT_PALETTE = _heat_palette()


def heat_image(values: np.ndarray) -> Image.Image:
    """A palette image whose pixel indices are the disagreement values, so the
    file keeps the exact figures while it shows colours."""
    img = Image.fromarray(_array(values), "L").convert("P")
    img.putpalette(HEAT_PALETTE)
    return img


# -- the side-by-side picture ------------------------------------------------

CHECKER = (204, 204, 204), (255, 255, 255)


def checkerboard(size: tuple[int, int], square: int = 12) -> Image.Image:
    w, h = size
    y, x = np.indices((h, w))
    light = ((x // square + y // square) % 2).astype(bool)
    arr = np.empty((h, w, 3), np.uint8)
    arr[light], arr[~light] = CHECKER[1], CHECKER[0]
    return Image.fromarray(arr, "RGB")


def _font(size: int):
    try:
        return ImageFont.load_default(size)
    except (OSError, TypeError, ValueError):  # no FreeType: the bitmap font
        return ImageFont.load_default()


def comparison(
    rgb: Image.Image,
    alpha: Image.Image | None,
    columns: list[tuple[str, Image.Image, list[str]]],
    height: int = 640,
) -> Image.Image:
    """One picture: each column's cutout on a checkerboard, scaled to
    `height` (never up), with its title and figure lines underneath."""
    scale = min(1.0, height / rgb.height)
    size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
    pad, title_px, line_px = 16, 22, 17
    text_h = title_px + 6 + line_px * max((len(lines) for _, _, lines in columns), default=0)
    col_w = max(size[0], 180)
    out = Image.new("RGB", (pad + len(columns) * (col_w + pad), pad + size[1] + 8 + text_h + pad), (255, 255, 255))
    draw = ImageDraw.Draw(out)
    title_font, line_font = _font(title_px - 4), _font(line_px - 4)
    small_rgb = rgb.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0) if scale < 1 else rgb
    small_alpha = None
    if alpha is not None:
        small_alpha = alpha.resize(size, Image.Resampling.BILINEAR) if scale < 1 else alpha
    board = checkerboard(size).convert("RGBA")
    for i, (title, mask, lines) in enumerate(columns):
        x = pad + i * (col_w + pad)
        small_mask = mask.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0) if scale < 1 else mask
        rgba = cutout(small_rgb, small_mask, small_alpha)
        tile = Image.alpha_composite(board, rgba).convert("RGB")
        out.paste(tile, (x + (col_w - size[0]) // 2, pad))
        y = pad + size[1] + 8
        draw.text((x, y), title, fill=(20, 20, 30), font=title_font)
        y += title_px + 6
        for line in lines:
            draw.text((x, y), line, fill=(70, 70, 80), font=line_font)
            y += line_px
    return out


# -- the figures ---------------------------------------------------------------

CSV_FIELDS = ("engine", "compared_with", "figure", "value", "unit")


def figures_rows(figures: dict) -> list[dict]:
    """The figures as rows: one per engine figure, one per pair figure."""
    rows = []
    for e in figures.get("engines", []):
        for key, unit in (("engine_start", "s"), ("inference", "s"), ("python", "s"), ("refine", "s"),
                          ("decontaminate", "s"), ("total", "s"), ("memory", "bytes")):
            if e.get(key) is not None:
                rows.append({"engine": e["engine"], "compared_with": "", "figure": key, "value": e[key], "unit": unit})
    for p in figures.get("agreement", []):
        rows.append({"engine": p["a"], "compared_with": p["b"], "figure": "iou", "value": p["iou"], "unit": ""})
        rows.append({"engine": p["a"], "compared_with": p["b"], "figure": "mean_abs_diff", "value": p["mad"], "unit": "/255"})
    # Both kinds of masks, whichever was shown: the refined and the raw.
    for edges, pairs in sorted((figures.get("agreement_by_edges") or {}).items()):
        for p in pairs:
            rows.append({"engine": p["a"], "compared_with": p["b"], "figure": f"iou_{edges}", "value": p["iou"], "unit": ""})
            rows.append({"engine": p["a"], "compared_with": p["b"], "figure": f"mean_abs_diff_{edges}",
                         "value": p["mad"], "unit": "/255"})
    return rows


def figures_csv(figures: dict) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(figures_rows(figures))
    return out.getvalue()


def figures_json(figures: dict) -> str:
    return json.dumps(figures, indent=2, sort_keys=True)
