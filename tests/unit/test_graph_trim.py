"""py/backgrone/graph_trim.py: the command line's sessions see only the
nodes the mask needs (the browser's trim, in JavaScript, is tested in
tests/e2e/test_session_trim.py, which also checks both write the same file)."""
from __future__ import annotations

import numpy as np
import onnx
import onnx.utils
import onnxruntime as ort
import pytest

from backgrone import graph_trim
from backgrone.engines import get_engine
from backgrone.inference.native import NativeSession
from standin import side_output_model, subgraph_model


def test_side_outputs_their_nodes_and_weights_are_dropped():
    model = side_output_model()
    out = graph_trim.keep_first_output(model)
    trimmed = onnx.load_from_string(out)
    onnx.checker.check_model(trimmed)
    assert [o.name for o in trimmed.graph.output] == ["mask"]
    assert [n.name for n in trimmed.graph.node] == ["conv", "sigmoid"]
    assert [i.name for i in trimmed.graph.initializer] == ["w"]
    feed = {"x": np.random.default_rng(1).standard_normal((1, 3, 8, 8)).astype(np.float32)}
    run = lambda m: ort.InferenceSession(m, providers=["CPUExecutionProvider"]).run(["mask"], feed)[0]  # noqa: E731
    np.testing.assert_array_equal(run(out), run(model))


def test_what_it_cannot_or_need_not_trim_is_returned_as_it_is(standin_model):
    for model in (standin_model.read_bytes(), subgraph_model(), b"not an onnx file", side_output_model()[:-7]):
        assert graph_trim.keep_first_output(model) == model


@pytest.mark.parametrize("engine_id", ["lightweight", "precision"])
def test_the_real_files_keep_the_nodes_the_mask_needs(model_path, engine_id):
    original = model_path(engine_id).read_bytes()
    trimmed = onnx.load_from_string(graph_trim.keep_first_output(original))
    needed = onnx.utils.Extractor(onnx.load_from_string(original)).extract_model(["input"], ["output"])
    assert [o.name for o in trimmed.graph.output] == ["output"]
    assert [n.name for n in trimmed.graph.node] == [n.name for n in needed.graph.node]
    assert sorted(i.name for i in trimmed.graph.initializer) == sorted(i.name for i in needed.graph.initializer)
    # The command line's session is made from the trimmed graph.
    session = NativeSession(model_path(engine_id), get_engine(engine_id))
    assert [o.name for o in session._session.get_outputs()] == ["output"]
