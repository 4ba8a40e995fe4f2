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
