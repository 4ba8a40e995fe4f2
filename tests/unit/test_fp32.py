"""py/backgrone/fp32.py: Precision's fp16 weights turned into fp32 by a small
protobuf rewriter, checked against the `onnx` package and onnxruntime."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from backgrone.engines import get_engine
from backgrone.fp32 import ProtoError, parse, serialize, to_fp32
from backgrone.inference.native import NativeSession
from backgrone.pipeline import remove_background
from helpers import run


def expected_fp32(model: onnx.ModelProto) -> onnx.ModelProto:
    """The same conversion done with the `onnx` package, field by field."""
    out = onnx.ModelProto()
    out.CopyFrom(model)

    def tensor(t: TensorProto) -> None:
        if t.data_type == TensorProto.FLOAT16:
            arr = numpy_helper.to_array(t).astype(np.float32)
            t.data_type = TensorProto.FLOAT
            t.ClearField("int32_data")
            t.raw_data = arr.tobytes()

    def graph(g: onnx.GraphProto) -> None:
        for t in g.initializer:
            tensor(t)
        for v in [*g.input, *g.output, *g.value_info]:
            if v.type.tensor_type.elem_type == TensorProto.FLOAT16:
                v.type.tensor_type.elem_type = TensorProto.FLOAT
        for n in g.node:
            for a in n.attribute:
                if a.name in ("to", "dtype") and a.i == TensorProto.FLOAT16:
                    a.i = TensorProto.FLOAT
                if a.HasField("t"):
                    tensor(a.t)
                if a.HasField("g"):
                    graph(a.g)

    graph(out.graph)
    return out


def small_fp16_model(int32_data: bool) -> onnx.ModelProto:
    """y = Cast(Cast(x, fp16) * w + c, fp32), w an fp16 initializer, c an fp16
    Constant: the pattern of the fp16 export, in both fp16 storage forms."""
    w = np.asarray([[0.5, -1.25], [2.0, 3.5]], np.float16)
    if int32_data:
        w_t = helper.make_tensor("w", TensorProto.FLOAT16, w.shape, w.view(np.uint16).ravel().tolist())
        assert len(w_t.int32_data) == 4 and not w_t.raw_data
    else:
        w_t = numpy_helper.from_array(w, "w")
        assert w_t.raw_data
    c = numpy_helper.from_array(np.asarray([0.25, -0.125], np.float16), "c_value")
    nodes = [
        helper.make_node("Cast", ["x"], ["x16"], to=TensorProto.FLOAT16),
        helper.make_node("Constant", [], ["c"], value=c),
        helper.make_node("MatMul", ["x16", "w"], ["m"]),
        helper.make_node("Add", ["m", "c"], ["a"]),
        helper.make_node("Cast", ["a"], ["y"], to=TensorProto.FLOAT),
    ]
    g = helper.make_graph(
        nodes, "small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 2])],
        initializer=[w_t],
        value_info=[helper.make_tensor_value_info("m", TensorProto.FLOAT16, [3, 2])],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model


@pytest.mark.parametrize("int32_data", [False, True], ids=["raw_data", "int32_data"])
def test_small_model_converts_as_onnx_would_and_computes_the_same(int32_data):
    import onnxruntime as ort

    model = small_fp16_model(int32_data)
    converted = onnx.load_from_string(to_fp32(model.SerializeToString()))
    onnx.checker.check_model(converted)
    assert converted == expected_fp32(model)
    assert [t.data_type for t in converted.graph.initializer] == [TensorProto.FLOAT]
    x = np.asarray([[1, 2], [-3, 0.5], [0.125, 8]], np.float32)
    (want,) = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})
    (got,) = ort.InferenceSession(converted.SerializeToString()).run(None, {"x": x})
    np.testing.assert_allclose(got, want, rtol=2e-3, atol=2e-3)  # fp16 rounding in `want`


def test_wire_format_round_trips_and_refuses_garbage(model_path):
    small = small_fp16_model(False).SerializeToString()
    assert serialize(parse(small)) == small
    with pytest.raises(ProtoError):
        to_fp32(small[:-3])  # cut in the middle of a field
    # A model without fp16 comes out byte for byte the same.
    from standin import make_standin
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        plain = make_standin(Path(d) / "s.onnx").read_bytes()
    assert to_fp32(plain) == plain


def test_parts_add_up_to_the_whole():
    from backgrone.fp32 import to_fp32_parts

    small = small_fp16_model(False).SerializeToString()
    size, parts = to_fp32_parts(small, part_size=16)
    parts = list(parts)
    assert len(parts) > 1 and sum(map(len, parts)) == size
    assert b"".join(parts) == to_fp32(small)


@pytest.fixture(scope="module")
def precision_fp32(model_path) -> tuple[bytes, bytes]:
    fp16 = model_path("precision").read_bytes()
    return fp16, to_fp32(fp16)


def test_precision_model_converts_as_onnx_would(precision_fp32):
    fp16, fp32 = precision_fp32
    assert len(fp32) > 1.9 * len(fp16)  # every weight now takes 4 bytes, not 2
    converted = onnx.load_from_string(fp32)
    assert converted == expected_fp32(onnx.load_from_string(fp16))
    assert {t.data_type for t in converted.graph.initializer} == {TensorProto.FLOAT}
    assert TensorProto.FLOAT16 not in {v.type.tensor_type.elem_type for v in converted.graph.value_info}


@pytest.mark.parametrize("photo", ["grace_hopper", "chelsea"])
def test_precision_fp32_masks_match_fp16_on_photos(precision_fp32, photos, photo):
    fp16, fp32 = precision_fp32
    engine = get_engine("precision")
    data = photos[photo].read_bytes()
    masks = [
        np.asarray(run(remove_background(data, engine, NativeSession(m, engine))).mask, np.int16)
        for m in (fp16, fp32)
    ]
    diff = np.abs(masks[0] - masks[1])
    print(f"\n{photo}: fp32 vs fp16 mask: mean abs diff {diff.mean():.3f}/255, max {diff.max()}/255")
    assert diff.mean() <= 1.0
    # A real cutout, not two equally empty masks.
    assert masks[0].max() == 255 and masks[0].min() == 0
