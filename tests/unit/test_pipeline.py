"""backgrone.pipeline.remove_background on the `onnxruntime` package: the real
Lightweight model once, and the stand-in model whose mask is known."""
from __future__ import annotations

import io
from helpers import run

import numpy as np
import pytest
from PIL import Image

from backgrone.engines import get_engine
from backgrone.errors import ImageError, ModelError
from backgrone.inference.native import NativeSession
from backgrone.pipeline import STAGES, remove_background
from standin import make_standin

LIGHTWEIGHT = get_engine("lightweight")
BALANCED = get_engine("balanced")  # the engine the stand-in replaces


@pytest.fixture(scope="module")
def astronaut(photos, model_path):
    """One real inference, shared by the tests below."""
    session = NativeSession(model_path("lightweight"), LIGHTWEIGHT)
    data = photos["astronaut"].read_bytes()
    result = run(remove_background(data, LIGHTWEIGHT, session))
    photo = np.asarray(Image.open(photos["astronaut"]).convert("RGB"))
    cut = Image.open(io.BytesIO(result.png))
    cut.load()
    return result, photo, cut


@pytest.fixture(scope="module")
def astronaut_plain(photos, model_path):
    """The same photo with refinement and decontamination off: the path as
    it always was."""
    session = NativeSession(model_path("lightweight"), LIGHTWEIGHT)
    data = photos["astronaut"].read_bytes()
    result = run(remove_background(data, LIGHTWEIGHT, session, refine=False, decontaminate=False))
    cut = Image.open(io.BytesIO(result.png))
    cut.load()
    return result, cut


@pytest.fixture(scope="module")
def standin_session(standin_model):
    return NativeSession(standin_model, BALANCED)


# -- the real model -------------------------------------------------------

def test_cutout_is_an_rgba_png_of_the_photo_size(astronaut):
    result, photo, cut = astronaut
    assert cut.format == "PNG" and cut.mode == "RGBA"
    assert cut.size == (photo.shape[1], photo.shape[0]) == (result.width, result.height)
    assert result.mask.size == cut.size


def test_cutout_keeps_the_photo_colours_where_opaque(astronaut):
    _, photo, cut = astronaut
    arr = np.asarray(cut)
    opaque = arr[:, :, 3] == 255
    assert opaque.mean() > 0.2
    assert np.array_equal(arr[:, :, :3][opaque], photo[opaque])
    # Under the soft edges (not the faint haze far from any edge) the colours
    # are the subject's, estimated: many change.
    soft = (arr[:, :, 3] > 0) & (arr[:, :, 3] < 255)
    assert (arr[:, :, :3][soft] != photo[soft]).any(axis=1).mean() > 0.2


def test_without_decontamination_the_cutout_keeps_the_photo_colours_where_visible(astronaut, astronaut_plain):
    _, photo, _ = astronaut
    _, cut = astronaut_plain
    arr = np.asarray(cut)
    visible = arr[:, :, 3] > 0
    assert visible.any()
    assert np.array_equal(arr[:, :, :3][visible], photo[visible])


def test_cutout_alpha_is_the_mask(astronaut, astronaut_plain):
    result, _, cut = astronaut
    assert np.array_equal(np.asarray(cut)[:, :, 3], np.asarray(result.mask))
    plain, plain_cut = astronaut_plain
    assert np.array_equal(np.asarray(plain_cut)[:, :, 3], np.asarray(plain.mask))


def test_the_raw_mask_is_the_unrefined_path_bit_for_bit(astronaut, astronaut_plain):
    result, _, _ = astronaut
    plain, _ = astronaut_plain
    assert plain.mask is plain.raw_mask
    assert np.array_equal(np.asarray(result.raw_mask), np.asarray(plain.mask))
    # Refinement changed the edge, and only near it.
    diff = np.asarray(result.mask).astype(int) - np.asarray(result.raw_mask)
    assert 0 < (diff != 0).mean() < 0.1


def test_astronaut_is_kept_and_backdrop_removed(astronaut):
    _, _, cut = astronaut
    alpha = np.asarray(cut)[:, :, 3]
    # Face (x 215..260, y 110..135) and the orange suit's chest.
    assert alpha[110:135, 215:260].min() > 230
    assert alpha[280:320, 280:320].min() > 230
    # Top-left corner (the flag behind her) and the grey backdrop right of her hair.
    assert alpha[0:20, 0:20].max() < 25
    assert alpha[30:50, 320:340].max() < 25


def test_timings_cover_every_stage(astronaut):
    result, _, _ = astronaut
    assert set(STAGES) <= set(result.timings)
    assert all(result.timings[s] >= 0 for s in STAGES)
    assert result.timings["inference"] > 0


# -- the stand-in model: an exactly known mask ---------------------------------

def expected_standin_mask(rgb: Image.Image) -> np.ndarray:
    """The stand-in's mask, from its formula, independently of backgrone."""
    small = np.asarray(rgb.resize((1024, 1024), Image.Resampling.BILINEAR), np.float64)
    x = small / 255.0 - 0.5
    s = 1.0 / (1.0 + np.exp(-(4.0 * x[:, :, 0] - 4.0 * x[:, :, 2])))
    u8 = np.floor((s - s.min()) / (s.max() - s.min()) * 255.0 + 0.5).astype(np.uint8)
    big = Image.fromarray(u8, "L").resize(rgb.size, Image.Resampling.BILINEAR)
    return np.asarray(big).astype(int)


def test_standin_mask_matches_its_formula(photos, standin_session):
    data = photos["coffee"].read_bytes()
    result = run(remove_background(data, BALANCED, standin_session))
    rgb = Image.open(photos["coffee"]).convert("RGB")
    assert result.raw_mask.size == result.mask.size == rgb.size
    want = expected_standin_mask(rgb)
    got = np.asarray(result.raw_mask).astype(int)
    assert np.abs(got - want).max() <= 1
    # Not a trivial mask: the coffee photo has red and blue parts.
    assert got.min() < 30 and got.max() > 225


def test_the_pages_path_gives_the_raw_mask_as_png_and_the_same_cutout(photos, standin_session):
    # The web worker asks for the raw mask as a PNG, so the pipeline refines
    # the mask in place: the cutout and both masks must be those of the
    # usual path, bit for bit.
    data = photos["coffee"].read_bytes()
    usual = run(remove_background(data, BALANCED, standin_session))
    page = run(remove_background(data, BALANCED, standin_session, raw_png=True))
    assert page.raw_mask is None and usual.raw_png is None
    raw = Image.open(io.BytesIO(page.raw_png))
    assert raw.mode == "L" and np.array_equal(np.asarray(raw), np.asarray(usual.raw_mask))
    assert np.array_equal(np.asarray(page.mask), np.asarray(usual.mask))
    assert (np.asarray(usual.mask) != np.asarray(usual.raw_mask)).any()  # refinement did something
    assert page.png == usual.png


def test_a_screen_size_copy_of_the_cutout_when_asked(photos, standin_session):
    data = photos["coffee"].read_bytes()
    usual = run(remove_background(data, BALANCED, standin_session))
    result = run(remove_background(data, BALANCED, standin_session, copy_side=100))
    assert usual.copy_png is None and result.png == usual.png
    full = Image.open(io.BytesIO(result.png))
    copy = Image.open(io.BytesIO(result.copy_png))
    assert copy.mode == "RGBA" and max(copy.size) == 100
    assert copy.size[0] / copy.size[1] == pytest.approx(full.size[0] / full.size[1], rel=0.02)
    # The cutout itself, scaled (up to the filter).
    want = np.asarray(full.convert("RGBa").resize(copy.size, Image.Resampling.BOX).convert("RGBA")).astype(int)
    got = np.asarray(copy).astype(int)
    seen = want[..., 3] > 64
    assert np.abs(got[..., 3] - want[..., 3]).mean() < 3
    assert np.abs(got[seen][:, :3] - want[seen][:, :3]).mean() < 4
    # No copy where the cutout is no longer than the side.
    assert run(remove_background(data, BALANCED, standin_session, copy_side=max(full.size))).copy_png is None


def test_red_is_kept_and_blue_removed_by_the_standin(standin_session):
    img = Image.new("RGB", (60, 30), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 30, 30))
    out = io.BytesIO()
    img.save(out, format="PNG")
    result = run(remove_background(out.getvalue(), BALANCED, standin_session))
    alpha = np.asarray(Image.open(io.BytesIO(result.png)))[:, :, 3]
    assert (alpha[:, :25] == 255).all()
    assert (alpha[:, 35:] == 0).all()


# -- refusals ---------------------------------------------------------------

def test_model_of_the_wrong_input_size_is_refused(tmp_path):
    wrong = make_standin(tmp_path / "small.onnx", size=(512, 512))
    with pytest.raises(ModelError, match=r"does not fit the Balanced engine.*512x512"):
        NativeSession(wrong, BALANCED)


def test_broken_image_raises_image_error(standin_session):
    with pytest.raises(ImageError, match=r"not an image"):
        run(remove_background(b"this is not a picture at all", BALANCED, standin_session))
