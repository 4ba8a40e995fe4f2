"""backgrone.remove(): the library API, as a script or a notebook calls it."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import backgrone
from backgrone import api
from backgrone.engines import get_engine
from backgrone.inference.native import NativeSession
from backgrone.pipeline import remove_background
from helpers import run

ROOT = Path(__file__).resolve().parents[2]


def halves(size=(40, 20)) -> Image.Image:
    img = Image.new("RGB", size, (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return img


def png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def standin(standin_model):
    """remove() with the stand-in as the Balanced engine's model."""
    api._cutters.clear()
    yield lambda image, **kw: backgrone.remove(image, engine="balanced", model=standin_model, **kw)
    api._cutters.clear()


def test_bytes_path_and_pil_image_give_the_same_cutout(standin, tmp_path):
    photo = halves()
    path = tmp_path / "photo.png"
    photo.save(path)
    results = [standin(png(photo)), standin(path), standin(str(path)), standin(photo)]
    for img in results:
        assert img.mode == "RGBA" and img.size == (40, 20)
        assert np.array_equal(np.asarray(img), np.asarray(results[0]))
    alpha = np.asarray(results[0])[:, :, 3]
    assert alpha[:, :18].min() > 200 and alpha[:, 22:].max() < 20


def test_the_mask_on_request(standin):
    cutout, mask = standin(halves(), return_mask=True)
    assert mask.mode == "L" and mask.size == cutout.size
    assert np.array_equal(np.asarray(mask), np.asarray(cutout)[:, :, 3])


def test_backgrounds_and_crop(standin):
    white = standin(halves(), background="#ffffff")
    assert white.mode == "RGB" and white.getpixel((35, 10)) == (255, 255, 255)
    assert standin(halves(), background=(0, 255, 0)).getpixel((35, 10)) == (0, 255, 0)
    picked = standin(halves(), background=Image.new("RGB", (5, 5), (255, 255, 0)))
    assert picked.getpixel((35, 10)) == (255, 255, 0)
    # The unrefined mask's soft edge is one pixel; refinement may widen it by one a side.
    cropped = standin(halves(), crop=True, margin=0, refine=False)
    assert cropped.height == 20 and 20 <= cropped.width <= 21
    assert 20 <= standin(halves(), crop=True, margin=0).width <= 23
    with pytest.raises(ValueError, match="neither transparent, blur, a colour"):
        standin(halves(), background="no-such-colour")


def test_refinement_is_on_by_default_and_can_be_turned_off(standin, tmp_path):
    photo = Image.open(io.BytesIO(png(halves((1600, 400)))))
    raw = standin(photo, refine=False, decontaminate=False, return_mask=True)[1]
    shown = standin(photo, return_mask=True)[1]
    assert (np.asarray(raw) != np.asarray(shown)).any()


def test_one_session_serves_every_call(standin, monkeypatch):
    made = []
    real_init = NativeSession.__init__

    def counting(self, *args, **kwargs):
        made.append(1)
        real_init(self, *args, **kwargs)
    monkeypatch.setattr(NativeSession, "__init__", counting)
    for background in (None, "#ffffff", "blur"):
        standin(halves(), background=background)
    assert len(made) == 1
    standin(halves(), threads=1)  # other session options: another session
    assert len(made) == 2


def test_a_file_that_is_not_an_image_raises_the_users_message(standin):
    from backgrone.errors import ImageError

    with pytest.raises(ImageError, match="not an image Backgrone can read"):
        standin(b"a shopping list")


def test_the_real_engine_gives_the_pipelines_cutout(photos, model_path):
    """Lightweight, its model from the cache: the same pixels as the page's pipeline."""
    api._cutters.clear()
    data = photos["grace_hopper"].read_bytes()
    cutout = backgrone.remove(data, fetch=False)
    engine = get_engine("lightweight")
    reference = run(remove_background(data, engine, NativeSession(model_path("lightweight"), engine)))
    got, want = np.asarray(cutout), np.asarray(Image.open(io.BytesIO(reference.png)))
    assert np.array_equal(got[..., 3], want[..., 3])
    seen = got[..., 3] > 0  # the PNG stores fully transparent pixels as zeros
    assert np.array_equal(got[seen], want[seen])
    api._cutters.clear()


def test_importing_the_package_loads_nothing_heavy():
    """`import backgrone` also runs in the browser's Pyodide: no onnxruntime,
    no Ray, no downloads until they are used."""
    code = ("import sys, backgrone, backgrone.pipeline, backgrone.compose, backgrone.engines, "
            "backgrone.sources; print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('onnxruntime', 'ray', 'pyarrow') or m in ('urllib.request', 'backgrone.fetch', 'backgrone.api'))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "py")})
    assert proc.stdout.split() == []
