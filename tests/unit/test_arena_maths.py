"""The Arena's mask maths and exports, under CPython: the browser shows and
exports what these functions compute (tests/e2e/test_arena.py checks that)."""
from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from PIL import Image

from backgrone import arena


def masks_abc():
    """Three 4x4 masks with hand-computable figures."""
    a = np.zeros((4, 4), np.uint8)
    b = np.zeros((4, 4), np.uint8)
    c = np.zeros((4, 4), np.uint8)
    a[:2] = 255  # top half
    b[:3] = 200  # top three quarters, less sure
    c[:, :2] = 100  # left half, below the subject threshold
    return {"a": a, "b": b, "c": c}


def test_agreement_iou_and_mean_abs_difference():
    m = masks_abc()
    r = arena.agreement(m["a"], m["b"])
    assert r["iou"] == pytest.approx(8 / 12)  # 8 shared of 12 subject pixels
    assert r["mad"] == pytest.approx((8 * 55 + 4 * 200) / 16)
    r = arena.agreement(m["a"], m["c"])
    assert r["iou"] == 0  # c has no pixel >= 128
    assert r["mad"] == pytest.approx((4 * 155 + 4 * 255 + 4 * 100) / 16)
    # Identical masks, and two empty subjects, agree fully.
    assert arena.agreement(m["a"], m["a"]) == {"iou": 1.0, "mad": 0.0}
    assert arena.agreement(m["c"], m["c"])["iou"] == 1.0


def test_agreement_is_symmetric_and_pairs_keep_order():
    m = masks_abc()
    assert arena.agreement(m["a"], m["b"]) == arena.agreement(m["b"], m["a"])
    got = arena.pairs(m)
    assert [(p["a"], p["b"]) for p in got] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert got[1] == {"a": "a", "b": "c", **arena.agreement(m["a"], m["c"])}


def test_consensus_is_the_rounded_mean():
    m = masks_abc()
    got = arena.consensus(list(m.values()))
    exact = (m["a"].astype(float) + m["b"] + m["c"]) / 3
    assert np.abs(got - exact).max() <= 0.5
    assert got[0, 0] == round((255 + 200 + 100) / 3)  # 185
    assert got[3, 3] == 0
    # Two masks: halves round up.
    assert arena.consensus([np.full((1, 1), 1, np.uint8), np.full((1, 1), 2, np.uint8)])[0, 0] == 2
    assert arena.consensus([m["a"]]).tolist() == m["a"].tolist()


def test_disagreement_is_distance_to_the_others_mean():
    m = masks_abc()
    got = arena.disagreement(m, "a")
    others_mean = (m["b"].astype(float) + m["c"]) / 2
    exact = np.abs(m["a"] - others_mean)
    assert np.abs(got - exact).max() <= 0.5
    assert got[0, 0] == round(abs(255 - 150))  # 105
    assert got[3, 3] == 0
    # The consensus's map is the spread of all masks.
    spread = arena.disagreement(m, arena.CONSENSUS)
    stack = np.stack(list(m.values()))
    assert spread.tolist() == (stack.max(0) - stack.min(0)).tolist()


def test_masks_of_different_images_are_refused():
    with pytest.raises(arena.ArenaError):
        arena.pairs({"a": np.zeros((4, 4), np.uint8), "b": np.zeros((4, 5), np.uint8)})
    with pytest.raises(arena.ArenaError):
        arena.consensus([np.zeros((4, 4), np.float32)])


def test_heat_image_keeps_the_values_and_colours_them():
    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    img = arena.heat_image(values)
    out = io.BytesIO()
    img.save(out, format="PNG")
    back = Image.open(io.BytesIO(out.getvalue()))
    assert back.mode == "P"
    assert np.asarray(back).tolist() == values.tolist()  # the indices are the figures
    rgb = np.asarray(back.convert("RGB")).reshape(-1, 3).astype(int)
    assert rgb[0].sum() < 100 and rgb[255].sum() > 500  # dark where engines agree, bright where not
    assert (np.diff(rgb.sum(1)) >= -20).all()  # brighter as disagreement grows


def test_comparison_picture_has_a_column_per_engine():
    rgb = Image.new("RGB", (300, 200), (200, 0, 0))
    full = Image.new("L", (300, 200), 255)
    empty = Image.new("L", (300, 200), 0)
    pic = arena.comparison(rgb, None, [("Kept", full, ["1 s"]), ("Removed", empty, ["2 s"])])
    arr = np.asarray(pic)
    assert pic.width > 2 * 300 and pic.height > 200
    # First column: the red photo; second: only the checkerboard shows.
    assert tuple(arr[16 + 100, 16 + 150]) == (200, 0, 0)
    second = arr[16:216, 16 + 300 + 16 : 16 + 300 + 16 + 300]
    assert set(map(tuple, second.reshape(-1, 3))) == set(arena.CHECKER)


def test_comparison_scales_large_photos_down():
    rgb = Image.new("RGB", (3000, 2000), (0, 200, 0))
    pic = arena.comparison(rgb, None, [("A", Image.new("L", rgb.size, 255), [])], height=400)
    assert 400 < pic.height < 520 and pic.width < 700


FIGURES = {
    "image": {"name": "cat.jpg", "width": 4, "height": 4},
    "engines": [
        {"engine": "precision", "label": "Precision", "engine_start": 1.5, "inference": 6.25,
         "python": 0.25, "total": 8.0, "memory": 123456789},
        {"engine": "lightweight", "label": "Lightweight", "engine_start": 0.5, "inference": 4.0,
         "python": 0.5, "total": 5.0, "memory": None},
    ],
    "agreement": [{"a": "precision", "b": "lightweight", "iou": 0.75, "mad": 3.5}],
}


def test_figures_as_csv_and_json():
    rows = list(csv.DictReader(io.StringIO(arena.figures_csv(FIGURES))))
    assert {"engine": "precision", "compared_with": "", "figure": "inference", "value": "6.25", "unit": "s"} in rows
    assert {"engine": "precision", "compared_with": "lightweight", "figure": "iou", "value": "0.75", "unit": ""} in rows
    assert {"engine": "precision", "compared_with": "lightweight", "figure": "mean_abs_diff", "value": "3.5",
            "unit": "/255"} in rows
    # A figure the browser could not measure is left out, not written as 0.
    assert not [r for r in rows if r["engine"] == "lightweight" and r["figure"] == "memory"]
    assert len(rows) == 5 + 4 + 2
    assert json.loads(arena.figures_json(FIGURES)) == FIGURES
