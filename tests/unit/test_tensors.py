"""backgrone.tensors: the photo into the network's tensor, the network's
output back into a mask at the photo's size."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from backgrone.engines import get_engine
from backgrone.errors import ModelError
from backgrone.tensors import mask_from_output, preprocess

ENGINE = get_engine("lightweight")  # mean 0.5, std 1.0, 1024x1024


# -- preprocess ---------------------------------------------------------------

def test_tensor_has_the_network_shape_and_layout():
    t = preprocess(Image.new("RGB", (300, 200), (10, 20, 30)), ENGINE)
    assert t.shape == (1, 3, 1024, 1024)
    assert t.dtype == np.float32
    assert t.flags["C_CONTIGUOUS"]


@pytest.mark.parametrize("v", [0, 51, 128, 255])
def test_uniform_image_gives_the_normalised_value_everywhere(v):
    t = preprocess(Image.new("RGB", (64, 48), (v, v, v)), ENGINE)
    want = (v / 255 - 0.5) / 1.0
    assert np.allclose(t, want, atol=1e-6)


def test_channels_are_in_rgb_order():
    t = preprocess(Image.new("RGB", (32, 32), (255, 0, 0)), ENGINE)
    assert np.allclose(t[0, 0], 0.5)
    assert np.allclose(t[0, 1], -0.5)
    assert np.allclose(t[0, 2], -0.5)


def test_non_square_image_is_stretched_to_fill_the_input():
    arr = np.zeros((100, 200, 3), np.uint8)
    arr[:, 100:] = 255  # left half black, right half white
    t = preprocess(Image.fromarray(arr, "RGB"), ENGINE)[0, 0]
    # Stretched, not letterboxed: every row, top to bottom, is the photo.
    assert np.allclose(t[:, :500], -0.5)
    assert np.allclose(t[:, 524:], 0.5)
    assert np.array_equal(t[0], t[1023])
    assert np.array_equal(t[0], t[512])


# -- mask_from_output -------------------------------------------------------------

def test_output_range_is_stretched_to_the_full_mask_range():
    out = np.array([[[[0.2, 0.5, 0.8]]]], dtype=np.float32)  # (1, 1, 1, 3)
    mask = mask_from_output(out, (3, 1))
    # (x - 0.2) / 0.6 * 255, rounded: 0.5 is half way, 127.5 -> 128.
    assert np.asarray(mask).tolist() == [[0, 128, 255]]


def test_mask_spans_0_to_255_for_a_ramp_output():
    out = np.linspace(0.2, 0.8, 64 * 64, dtype=np.float32).reshape(1, 1, 64, 64)
    m = np.asarray(mask_from_output(out, (64, 64)))
    assert m.min() == 0 and m.max() == 255


def test_mask_is_resized_to_the_requested_width_and_height():
    out = np.random.default_rng(0).random((1, 1, 64, 64), dtype=np.float32)
    mask = mask_from_output(out, (30, 20))
    assert mask.mode == "L"
    assert mask.size == (30, 20)


def test_resized_mask_keeps_the_left_right_layout():
    out = np.zeros((1, 1, 64, 64), np.float32)
    out[..., 32:] = 1.0
    m = np.asarray(mask_from_output(out, (200, 50)))
    assert m.shape == (50, 200)
    assert (m[:, :90] == 0).all() and (m[:, 110:] == 255).all()


@pytest.mark.parametrize("value, level", [(0.1, 0), (0.49, 0), (0.5, 255), (0.9, 255)])
def test_flat_output_gives_a_flat_mask_without_dividing_by_zero(value, level):
    out = np.full((1, 1, 16, 16), value, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a division by zero would warn
        with np.errstate(all="raise"):
            mask = mask_from_output(out, (7, 5))
    assert mask.size == (7, 5)
    assert np.asarray(mask).min() == level and np.asarray(mask).max() == level


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_invalid_output_values_are_refused_with_a_message(bad):
    out = np.zeros((1, 1, 8, 8), np.float32)
    out[0, 0, 3, 3] = bad
    with pytest.raises(ModelError):
        mask_from_output(out, (8, 8))


def test_two_dimensional_output_gives_the_same_mask_as_nchw():
    out = np.random.default_rng(3).random((32, 32), dtype=np.float32)
    a = np.asarray(mask_from_output(out, (20, 40)))
    b = np.asarray(mask_from_output(out.reshape(1, 1, 32, 32), (20, 40)))
    assert a.shape == (40, 20)
    assert np.array_equal(a, b)
