// A large Concat that only feeds a DynamicQuantizeLinear is quantised part
// by part instead, so that the float tensor it would make is never made.
//
// The uint8 engines quantise each convolution's input on the fly. Where a
// U-Net joins two feature maps (ISNet's decoder: 128 channels at 512x512),
// the graph first concatenates them in float32 (128 MiB), only to quantise
// the result to uint8 (32 MiB) at once: with both parts still alive, that is
// the high-water mark of onnxruntime-web's memory once the convolutions are
// cut into strips (conv-strips.js). Here the parts' minimum and maximum give
// the scale and zero point exactly as DynamicQuantizeLinear computes them
// (range stretched to include 0, scale = (max - min) / 255, or 1 when the
// range is empty, zero point = round-half-even(clamp(-min / scale, 0, 255))),
// each part is quantised with them (QuantizeLinear: the same rounding) and
// the uint8 parts are concatenated. The quantised tensor, its scale and its
// zero point are the same values, bit for bit (tests/e2e/test_conv_strips.py);
// Lightweight: onnxruntime-web's memory after a run 408 -> 340 MiB
// (docs/performance.md, "Convolutions in strips").

import {
  all,
  defaultDomain,
  floatInitializer,
  hasOp,
  inferShapes,
  intAttribute,
  nodeField,
  readGraph,
  readNode,
  writeGraph,
} from "./onnx-graph.js";
import { GRAPH_NODE, GRAPH_OUTPUT, Unexpected, VALUE_INFO_NAME, fields, ifUnderstood, str } from "./protobuf.js";

// Concats smaller than this are left as they are: each rewrite adds some
// fifteen small nodes, and below it the float tensor is not near the peak.
// Measured with Lightweight: 16 MiB (9 of ISNet's Concats) and 4 MiB (18)
// give the same memory, 340 MiB.
export const CONCAT_BYTES = 16 * 2 ** 20;

// Round, Clip with bounds as inputs, and Equal on floats came with opset 11.
const MIN_OPSET = 11;
const FLOAT_BYTES = 4;
const UINT8 = 2; // TensorProto.UINT8, for Cast's `to`

function plan(bytes, limit) {
  const g = readGraph(bytes);
  if (g.opset < MIN_OPSET || !hasOp(bytes, g.parts, "DynamicQuantizeLinear")) return null;
  const nodes = all(g.parts, GRAPH_NODE).map((f) => readNode(bytes, f));
  const shapes = inferShapes(bytes, g.parts, nodes);
  const outputs = new Set(
    all(g.parts, GRAPH_OUTPUT).map((f) => str(bytes, fields(bytes, ...f.value).find((v) => v.field === VALUE_INFO_NAME).value)),
  );
  const readers = new Map();
  for (const n of nodes) for (const i of new Set(n.inputs)) readers.set(i, [...(readers.get(i) ?? []), n]);
  const taken = new Set([...shapes.keys(), ...nodes.flatMap((n) => [...n.inputs, ...n.outputs])]);
  const name = (s) => {
    if (taken.has(s)) throw new Unexpected("name taken");
    taken.add(s);
    return s;
  };
  const replace = new Map();
  let constants = null;
  for (const concat of nodes) {
    if (concat.op !== "Concat" || !defaultDomain(concat) || concat.inputs.some((i) => !i)) continue;
    const out = concat.outputs[0];
    const shape = shapes.get(out);
    const r = readers.get(out) ?? [];
    const q = r[0];
    if (!shape || outputs.has(out) || r.length !== 1 || q.op !== "DynamicQuantizeLinear" || !defaultDomain(q)) continue;
    if (shape.reduce((a, b) => a * b, 1) * FLOAT_BYTES < limit || q.inputs[0] !== out) continue;
    constants ??= { zero: name("concat-quantize/zero"), one: name("concat-quantize/one"), qmax: name("concat-quantize/255") };
    const { zero, one, qmax } = constants;
    const [y, scale, zeroPoint] = q.outputs;
    const p = (s) => name(`${out}/quantize/${s}`);
    const chunks = [];
    const node = (op, inputs, outs, attrs = []) => chunks.push(nodeField(op, `${q.name || out}/${outs[0].split("/").pop()}`, inputs, outs, attrs));
    const keep = [intAttribute("keepdims", 0)];
    const mins = concat.inputs.map((x, k) => {
      const m = p(`min${k}`);
      node("ReduceMin", [x], [m], keep);
      return m;
    });
    const maxs = concat.inputs.map((x, k) => {
      const m = p(`max${k}`);
      node("ReduceMax", [x], [m], keep);
      return m;
    });
    const [lo, hi, range, raw, flat, ratio, negated, clipped, rounded] = [
      "min", "max", "range", "scale0", "empty", "ratio", "zero0", "zero1", "zero2",
    ].map(p);
    node("Min", [...mins, zero], [lo]);
    node("Max", [...maxs, zero], [hi]);
    node("Sub", [hi, lo], [range]);
    node("Div", [range, qmax], [raw]);
    node("Equal", [hi, lo], [flat]);
    node("Where", [flat, one, raw], [scale]);
    node("Div", [lo, scale], [ratio]);
    node("Sub", [zero, ratio], [negated]);
    node("Clip", [negated, zero, qmax], [clipped]);
    node("Round", [clipped], [rounded]);
    node("Cast", [rounded], [zeroPoint], [intAttribute("to", UINT8)]);
    const parts = concat.inputs.map((x, k) => {
      const part = p(`part${k}`);
      node("QuantizeLinear", [x, scale, zeroPoint], [part]);
      return part;
    });
    const axis = concat.attrs.get("axis");
    chunks.push(nodeField("Concat", concat.name || y, parts, [y], [bytes.subarray(axis.field.start, axis.field.end)]));
    // The quantised Concat takes the Concat's place; the DynamicQuantizeLinear goes.
    replace.set(concat.f, chunks);
    replace.set(q.f, []);
  }
  if (!replace.size) return null;
  const { zero, one, qmax } = constants;
  return { g, replace, weights: [floatInitializer(zero, 0), floatInitializer(one, 1), floatInitializer(qmax, 255)] };
}

// `bytes` (a Uint8Array) with each Concat of at least `limit` bytes that
// only feeds a DynamicQuantizeLinear quantised part by part: {bytes: a new
// model, concats: how many}. The same `bytes` when there is none or the model
// is not understood.
export function quantizeConcatParts(bytes, limit = CONCAT_BYTES) {
  const p = ifUnderstood(() => plan(bytes, limit));
  if (!p) return { bytes, concats: 0 };
  return { bytes: writeGraph(bytes, p.g, p.replace, p.weights), concats: (p.replace.size / 2) | 0 };
}
