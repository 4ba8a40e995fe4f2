"""Before making a CPU session, the session worker rewrites the uint8
engines' graphs for a lower peak of memory (web/worker/session/cpu-graph.js):
large Concats that feed a quantisation are quantised part by part
(concat-quantize.js), and large quantised convolutions are cut into strips of
rows (conv-strips.js). Run here in Chromium on models made by the tests and
on the real Lightweight file; the results are checked with the `onnx` package
(shapes, the largest scratch buffer left) and run by native onnxruntime,
whose kernels for these operators are the same code as onnxruntime-web's:
every value must be the same bit for bit."""
from __future__ import annotations

import base64

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import shape_inference

from backgrone import graph_trim
from standin import quantized_conv_model, side_output_model

pytestmark = pytest.mark.browser

# Rewrite the model in the page (`step`: "cut", "concat" or "cpu", the
# session worker's two steps; after the trim when `trim` is set); the bytes
# and the shapes worked out come back.
REWRITE = """async ([base, model, step, limit, trim]) => {
  const session = base + "worker/session/";
  const { cutConvolutions, STRIP_BYTES } = await import(session + "conv-strips.js");
  const { quantizeConcatParts } = await import(session + "concat-quantize.js");
  const { forCpu } = await import(session + "cpu-graph.js");
  const { tensorShapes } = await import(session + "onnx-graph.js");
  const { keepFirstOutput } = await import(session + "prune-graph.js");
  let bytes = typeof model === "string" && model.startsWith("http")
    ? new Uint8Array(await (await fetch(model)).arrayBuffer())
    : Uint8Array.from(atob(model), (c) => c.charCodeAt(0));
  if (trim) bytes = keepFirstOutput(bytes).bytes;
  let shapes = null;
  try { shapes = tensorShapes(bytes); } catch { shapes = null; }
  const t0 = performance.now();
  const r = step === "cut" ? cutConvolutions(bytes, limit ?? STRIP_BYTES)
    : step === "concat" ? quantizeConcatParts(bytes, limit ?? undefined) : forCpu(bytes);
  const ms = performance.now() - t0;
  let s = "";
  for (let i = 0; i < r.bytes.length; i += 0x8000) s += String.fromCharCode(...r.bytes.subarray(i, i + 0x8000));
  return { ...r, bytes: undefined, b64: btoa(s), same: r.bytes === bytes, shapes, ms, limit: STRIP_BYTES };
}"""


def rewrite(page, site_url: str, model, step: str, limit: int | None = None, trim: bool = False) -> dict:
    page.goto(site_url + "licenses/")
    arg = model if isinstance(model, str) else base64.b64encode(model).decode()
    r = page.evaluate(REWRITE, [site_url, arg, step, limit, trim])
    return {**r, "bytes": base64.b64decode(r["b64"])}


def cut(page, site_url: str, model, limit: int | None = None) -> dict:
    return rewrite(page, site_url, model, "cut", limit)


def run_native(model: bytes, feed: dict, outputs: list[str] | None = None):
    """The model's first output (or `outputs`, added as graph outputs)."""
    if outputs:
        m = onnx.load_from_string(model)
        m.graph.output.extend(onnx.helper.make_empty_tensor_value_info(o) for o in outputs)
        model = m.SerializeToString()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    r = session.run(outputs or [session.get_outputs()[0].name], feed)
    return r if outputs else r[0]


def onnx_shapes(model: bytes) -> dict:
    inferred = shape_inference.infer_shapes(onnx.load_from_string(model))
    g = inferred.graph
    out = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in [*g.value_info, *g.input, *g.output]}
    out.update({i.name: list(i.dims) for i in g.initializer})
    return out


def im2col_bytes(model: bytes) -> dict:
    """Each ConvInteger's scratch buffer, as onnxruntime allocates it:
    input channels per group x kernel x output pixels."""
    m = onnx.load_from_string(model)
    shapes = onnx_shapes(model)
    out = {}
    for n in m.graph.node:
        if n.op_type != "ConvInteger":
            continue
        w = shapes[n.input[1]]  # [M, C / group, kH, kW]
        y = shapes[n.output[0]]
        out[n.name] = w[1] * w[2] * w[3] * y[2] * y[3]
    return out


def test_quantised_convolutions_are_cut_into_strips_with_the_same_output(page, site_url):
    model = quantized_conv_model()
    before = im2col_bytes(model)
    limit = 3000  # conv1 needs 8262 bytes (three strips), conv2 17280 (six)
    r = cut(page, site_url, model, limit)
    assert (r["convs"], r["strips"]) == (2, 9)
    out = onnx.load_from_string(r["bytes"])
    onnx.checker.check_model(out, full_check=True)
    after = im2col_bytes(r["bytes"])
    assert set(before) == {"conv1", "conv2"} and max(before.values()) > limit
    assert len(after) == 9 and max(after.values()) <= limit
    # Its shapes, worked out through DynamicQuantizeLinear, ConvInteger, a
    # bias Reshape, a ceil-mode MaxPool, a Resize and a Concat, are onnx's.
    expected = onnx_shapes(model)
    assert r["shapes"] == {k: v for k, v in expected.items() if k in r["shapes"]}
    assert set(expected) - set(r["shapes"]) <= {"out"}  # the graph output: onnx's own declaration
    rng = np.random.default_rng(3)
    for _ in range(3):
        feed = {"x": rng.standard_normal((1, 3, 20, 17)).astype(np.float32) * 3}
        np.testing.assert_array_equal(run_native(r["bytes"], feed), run_native(model, feed))


def test_models_it_cannot_or_need_not_cut_are_left_as_they_are(page, site_url):
    # No ConvInteger at all (Precision's fp16 file, the stand-ins).
    plain = side_output_model()
    r = cut(page, site_url, plain, 1)
    assert r["same"] and r["bytes"] == plain and r["convs"] == 0
    # An operator whose output shape it does not work out, before both
    # convolutions: nothing can be cut safely.
    unknown = quantized_conv_model(unknown_op=True)
    r = cut(page, site_url, unknown, 3000)
    assert r["same"] and r["bytes"] == unknown and r["convs"] == 0
    # Small enough already.
    small = quantized_conv_model()
    r = cut(page, site_url, small, 20_000)
    assert r["same"] and r["convs"] == 0
    # Not a model, or a truncated one: no error, nothing changed.
    for junk in (b"not an onnx file at all", quantized_conv_model()[:-9]):
        r = cut(page, site_url, junk, 3000)
        assert r["same"] and r["bytes"] == junk and r["convs"] == 0
        r = rewrite(page, site_url, junk, "concat", 1)
        assert r["same"] and r["concats"] == 0
    # The Concat step: nothing to quantise, or a Concat of unknown size.
    for model in (plain, unknown):
        r = rewrite(page, site_url, model, "concat", 1)
        assert r["same"] and r["bytes"] == model and r["concats"] == 0
    # Both steps on a model without quantisation (Precision's file is one).
    r = rewrite(page, site_url, plain, "cpu")
    assert r["same"] and (r["concats"], r["convs"]) == (0, 0)


def test_concats_are_quantised_part_by_part_to_the_same_values(page, site_url):
    model = quantized_conv_model()  # concat (16 x 24 x 20 floats) -> quant2
    r = rewrite(page, site_url, model, "concat", 1000)
    assert r["concats"] == 1
    out = onnx.load_from_string(r["bytes"])
    onnx.checker.check_model(out, full_check=True)
    ops = [n.op_type for n in out.graph.node]
    assert "DynamicQuantizeLinear" in ops and ops.count("DynamicQuantizeLinear") == 1  # quant1's input is no Concat
    assert ops.count("QuantizeLinear") == 2
    # The quantised tensor, its scale and its zero point, bit for bit: on
    # photos' ranges, inputs all positive or all negative (the range is
    # stretched to 0) and all zeros (an empty range: scale 1).
    rng = np.random.default_rng(5)
    names = ["cq", "cs", "cz", "out"]
    for x in (rng.standard_normal((1, 3, 20, 17)) * 3, rng.random((1, 3, 20, 17)) + 0.5,
              -rng.random((1, 3, 20, 17)) - 0.5, np.zeros((1, 3, 20, 17))):
        feed = {"x": x.astype(np.float32)}
        for a, b, name in zip(run_native(r["bytes"], feed, names), run_native(model, feed, names), names):
            assert a.dtype == b.dtype and a.shape == b.shape, name
            np.testing.assert_array_equal(a, b, err_msg=name)
    # Both steps together, as the session worker runs them.
    r = rewrite(page, site_url, model, "cut", 3000)
    both = rewrite(page, site_url, rewrite(page, site_url, model, "concat", 1000)["bytes"], "cut", 3000)
    assert (both["convs"], both["strips"]) == (r["convs"], r["strips"]) == (2, 9)
    feed = {"x": rng.standard_normal((1, 3, 20, 17)).astype(np.float32)}
    np.testing.assert_array_equal(run_native(both["bytes"], feed), run_native(model, feed))


def test_the_real_lightweight_network_gives_the_same_mask_rewritten(page, site_url, model_path):
    path = model_path("lightweight")
    trimmed = graph_trim.keep_first_output(path.read_bytes())
    r = rewrite(page, site_url, site_url + "models/" + path.name, "cpu", trim=True)
    print(f"\nrewritten in {r['ms']:.0f} ms: {r['concats']} Concats quantised by parts, "
          f"{r['convs']} convolutions cut into {r['strips']} strips, {len(trimmed)} -> {len(r['bytes'])} bytes")
    before = im2col_bytes(trimmed)
    after = im2col_bytes(r["bytes"])
    big = [k for k, v in before.items() if v > r["limit"]]
    print(f"largest scratch buffer {max(before.values()) / 2**20:.0f} -> {max(after.values()) / 2**20:.0f} MiB")
    # Every convolution over the limit, and only those, is cut.
    assert r["convs"] == len(big) >= 7
    assert max(after.values()) <= r["limit"]
    assert len(after) == len(before) - len(big) + r["strips"]
    # The decoder's joins of 64-channel maps at 512x512, and more.
    assert r["concats"] >= 4
    # The shapes it worked out are onnx's, for every convolution's input.
    expected = onnx_shapes(trimmed)
    m = onnx.load_from_string(trimmed)
    for n in m.graph.node:
        if n.op_type == "ConvInteger":
            assert r["shapes"][n.input[0]] == expected[n.input[0]], n.name
    rng = np.random.default_rng(0)
    feed = {"input": rng.standard_normal((1, 3, 1024, 1024)).astype(np.float32)}
    np.testing.assert_array_equal(run_native(r["bytes"], feed), run_native(trimmed, feed))
