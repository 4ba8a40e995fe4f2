"""Small stand-in ONNX models with an engine's input and output shapes.

They run in milliseconds and give known masks, so the code path of an engine
whose real weights cannot be had here (RMBG-1.4) is tested for real: download,
session, preprocessing, output handling.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def make_standin(
    path: Path,
    weights=(4.0, 0.0, -4.0),
    bias: float = 0.0,
    input_name: str = "pixel_values",
    output_name: str = "alphas",
    size: tuple[int, int] = (1024, 1024),
) -> Path:
    """mask = sigmoid(w . rgb + bias) per pixel: a 1x1 convolution over the
    normalised image. With the default weights, red regions come out opaque and
    blue ones transparent. The names differ from ISNet's on purpose: the app
    must read them from the session."""
    w, h = size
    weight = numpy_helper.from_array(np.asarray(weights, np.float32).reshape(1, 3, 1, 1), "w")
    b = numpy_helper.from_array(np.asarray([bias], np.float32), "b")
    graph = helper.make_graph(
        [
            helper.make_node("Conv", [input_name, "w", "b"], ["logits"]),
            helper.make_node("Sigmoid", ["logits"], [output_name]),
        ],
        "standin",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [1, 3, h, w])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, [1, 1, h, w])],
        initializer=[weight, b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9  # read by onnxruntime 1.30, native and web
    onnx.checker.check_model(model)
    path = Path(path)
    path.write_bytes(model.SerializeToString())
    return path


def side_output_model() -> bytes:
    """mask = sigmoid(conv(x)), besides two side outputs and the nodes only
    they need, as ISNet's files have."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, c, 8, 8])
            for n, c in (("mask", 1), ("side", 1), ("feature", 3))]
    w = numpy_helper.from_array(np.asarray([0.5, -1.0, 2.0], np.float32).reshape(1, 3, 1, 1), "w")
    side_w = numpy_helper.from_array(np.asarray([3.0], np.float32), "side_w")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["logits"], name="conv"),
        helper.make_node("Sigmoid", ["logits"], ["mask"], name="sigmoid"),
        helper.make_node("Relu", ["logits"], ["relu"], name="side_relu"),
        helper.make_node("Mul", ["relu", "side_w"], ["side"], name="side_mul"),
        helper.make_node("Mul", ["x", "x"], ["feature"], name="feature_mul"),
    ]
    graph = helper.make_graph(nodes, "sides", [x], outs, initializer=[w, side_w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8).SerializeToString()


def subgraph_model() -> bytes:
    """Two outputs, one of them made by an If node (whose branches may read
    any name of the outer graph): a model the graph trim leaves alone."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    c = helper.make_tensor_value_info("c", TensorProto.BOOL, [])
    branch = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "branch", [],
                               [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    graph = helper.make_graph(
        [helper.make_node("If", ["c"], ["out"], then_branch=branch, else_branch=branch),
         helper.make_node("Neg", ["x"], ["side"])],
        "with_if", [x, c],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1]),
         helper.make_tensor_value_info("side", TensorProto.FLOAT, [1])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def quantized_conv_model(unknown_op: bool = False) -> bytes:
    """Two quantised convolutions as the uint8 engines have them
    (DynamicQuantizeLinear -> ConvInteger -> Cast -> Mul), one with uneven
    padding and a dilation, one with a stride of 2, with a ceil-mode MaxPool,
    a Resize to given sizes, a Concat and a bias Reshape between them: what
    the session worker's convolution cut (web/worker/session/conv-strips.js)
    works shapes out through. `unknown_op`: a Transpose first, an operator it
    does not follow, so that no input shape is known."""
    rng = np.random.default_rng(7)
    u8 = lambda name, shape: numpy_helper.from_array(rng.integers(0, 256, shape, dtype=np.uint8), name)
    f32 = lambda name, values: numpy_helper.from_array(np.asarray(values, np.float32), name)
    i64 = lambda name, values: numpy_helper.from_array(np.asarray(values, np.int64), name)
    weights = [
        u8("w1", (8, 3, 3, 3)), numpy_helper.from_array(np.asarray(128, np.uint8), "w1_zp"),
        u8("w2", (4, 16, 3, 3)), numpy_helper.from_array(np.asarray(120, np.uint8), "w2_zp"),
        f32("s1", 0.003), f32("s2", 0.0005), f32("b1", rng.standard_normal(8)),
        i64("b1_shape", [1, 8, 1, 1]), i64("sizes", [1, 8, 24, 20]),
    ]
    first = "x"
    nodes = []
    if unknown_op:
        nodes.append(helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 1, 2, 3], name="transpose"))
        first = "xt"
    nodes += [
        helper.make_node("DynamicQuantizeLinear", [first], ["xq", "xs", "xz"], name="quant1"),
        helper.make_node("ConvInteger", ["xq", "w1", "xz", "w1_zp"], ["c1"], name="conv1",
                         kernel_shape=[3, 3], pads=[2, 1, 0, 1], dilations=[2, 1]),
        helper.make_node("Cast", ["c1"], ["c1f"], to=TensorProto.FLOAT, name="cast1"),
        helper.make_node("Mul", ["c1f", "s1"], ["m1"], name="scale1"),
        helper.make_node("Reshape", ["b1", "b1_shape"], ["b1r"], name="bias_shape"),
        helper.make_node("Add", ["m1", "b1r"], ["a1"], name="bias1"),
        helper.make_node("Relu", ["a1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1, name="pool"),
        helper.make_node("Resize", ["p1", "", "", "sizes"], ["up"], mode="linear", name="resize"),
        helper.make_node("Concat", ["up", "up"], ["cat"], axis=1, name="concat"),
        helper.make_node("DynamicQuantizeLinear", ["cat"], ["cq", "cs", "cz"], name="quant2"),
        helper.make_node("ConvInteger", ["cq", "w2", "cz", "w2_zp"], ["c2"], name="conv2",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Cast", ["c2"], ["c2f"], to=TensorProto.FLOAT, name="cast2"),
        helper.make_node("Mul", ["c2f", "s2"], ["out"], name="scale2"),
    ]
    graph = helper.make_graph(
        nodes, "quantized",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 20, 17])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 4, 12, 10])],
        initializer=weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)], ir_version=8)
    onnx.checker.check_model(model)
    return model.SerializeToString()
