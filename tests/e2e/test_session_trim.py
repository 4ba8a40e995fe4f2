"""The session worker trims each engine's graph to the one output the app
reads (web/worker/session/prune-graph.js), run here in Chromium on models
made by the tests and on the real Lightweight and Precision files; the
trimmed models are then checked with the `onnx` package, run by native
onnxruntime, and compared with the command line's own trim
(py/backgrone/graph_trim.py, tests/unit/test_graph_trim.py)."""
from __future__ import annotations

import base64

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from backgrone import graph_trim
from standin import side_output_model, subgraph_model

pytestmark = pytest.mark.browser

# Trim the model in the page; the bytes come back as base64.
TRIM = """async ([module, model]) => {
  const { keepFirstOutput } = await import(module);
  const bytes = typeof model === "string" && model.startsWith("http")
    ? new Uint8Array(await (await fetch(model)).arrayBuffer())
    : Uint8Array.from(atob(model), (c) => c.charCodeAt(0));
  const t0 = performance.now();
  const r = keepFirstOutput(bytes);
  const ms = performance.now() - t0;
  let s = "";
  for (let i = 0; i < r.bytes.length; i += 0x8000) s += String.fromCharCode(...r.bytes.subarray(i, i + 0x8000));
  return { b64: btoa(s), outputs: r.outputs, nodes: r.nodes, weights: r.weights, ms };
}"""


def trim(page, site_url: str, model) -> dict:
    page.goto(site_url + "licenses/")
    arg = model if isinstance(model, str) else base64.b64encode(model).decode()
    r = page.evaluate(TRIM, [site_url + "worker/session/prune-graph.js", arg])
    return {**r, "bytes": base64.b64decode(r["b64"])}


def run_native(model: bytes, feed: dict, output: str):
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    return session.run([output], feed)[0]


def test_side_outputs_and_their_nodes_are_dropped(page, site_url):
    model = side_output_model()
    r = trim(page, site_url, model)
    trimmed = onnx.load_from_string(r["bytes"])
    onnx.checker.check_model(trimmed)
    assert [o.name for o in trimmed.graph.output] == ["mask"]
    assert [n.name for n in trimmed.graph.node] == ["conv", "sigmoid"]
    assert [i.name for i in trimmed.graph.initializer] == ["w"]
    assert (r["outputs"], r["nodes"], r["weights"]) == (2, 3, 1)
    assert len(r["bytes"]) < len(model)
    feed = {"x": np.random.default_rng(1).standard_normal((1, 3, 8, 8)).astype(np.float32)}
    np.testing.assert_array_equal(run_native(r["bytes"], feed, "mask"), run_native(model, feed, "mask"))


def test_models_it_cannot_or_need_not_trim_are_left_as_they_are(page, site_url, standin_model):
    # One output already (the stand-in engine's).
    one = standin_model.read_bytes()
    r = trim(page, site_url, one)
    assert r["bytes"] == one and (r["outputs"], r["nodes"]) == (0, 0)
    # A subgraph may read any outer name: left alone.
    with_if = subgraph_model()
    r = trim(page, site_url, with_if)
    assert r["bytes"] == with_if and r["outputs"] == 0
    # Not a model at all, or a truncated one: no error, nothing changed.
    for junk in (b"not an onnx file at all", side_output_model()[:-7]):
        r = trim(page, site_url, junk)
        assert r["bytes"] == junk and r["outputs"] == 0


@pytest.mark.parametrize("engine", ["lightweight", "precision"])
def test_the_real_networks_give_the_same_mask_trimmed(page, site_url, model_path, engine):
    original = model_path(engine).read_bytes()
    r = trim(page, site_url, site_url + "models/" + model_path(engine).name)
    print(f"\n{engine} trimmed in {r['ms']:.0f} ms: {r['outputs']} outputs, {r['nodes']} nodes and "
          f"{r['weights']} weights dropped, "
          f"{len(original)} -> {len(r['bytes'])} bytes")
    trimmed = onnx.load_from_string(r["bytes"])
    assert [o.name for o in trimmed.graph.output] == ["output"]
    assert r["outputs"] == 11 and r["nodes"] > 0
    # The command line's trim (py/backgrone/graph_trim.py) writes the same file.
    assert r["bytes"] == graph_trim.keep_first_output(original)
    # The nodes kept are exactly those the mask needs (onnx's own extractor).
    full = onnx.load_from_string(original)
    needed = onnx.utils.Extractor(full).extract_model(["input"], ["output"])
    assert [n.name for n in trimmed.graph.node] == [n.name for n in needed.graph.node]
    used = {i for n in trimmed.graph.node for i in n.input}
    assert {i.name for i in trimmed.graph.initializer} <= used
    rng = np.random.default_rng(0)
    feed = {"input": rng.standard_normal((1, 3, 1024, 1024)).astype(np.float32)}
    diff = np.abs(run_native(r["bytes"], feed, "output") - run_native(original, feed, "output")).max()
    print(f"largest difference in the mask: {diff * 255:.4f} / 255")
    # onnxruntime fuses a little differently once the feature maps are no
    # longer outputs; in fp16 (Precision) that moves a few values by ~0.1/255.
    assert diff <= 0.5 / 255
