// Quantised convolutions cut into strips of rows, so that onnxruntime never
// needs one huge scratch buffer for them.
//
// onnxruntime's CPU ConvInteger (the convolution of the uint8 engines) first
// copies its input into one im2col buffer of C x kH x kW bytes for every
// output pixel, then runs one integer GEMM over it. For ISNet's first decoder
// convolution (128 channels, 3x3, 512x512) that buffer is 288 MiB, and six
// more take 144 MiB: on top of the activations alive at that moment, they
// set the high-water mark of onnxruntime-web's WebAssembly memory, which
// never shrinks. Its float Conv works through small per-thread buffers, so
// only ConvInteger is cut.
//
// A convolution whose buffer would pass STRIP_BYTES becomes Slice ->
// ConvInteger -> Concat over strips of its output rows: each strip reads its
// input rows with the rows the kernel reaches above and below it, and keeps
// the original padding only at the image's top and bottom edge (ConvInteger
// pads with the input's zero point, as before). Every output value is the
// same integer sum of the same products, so the mask is bit for bit the same
// (tests/e2e/test_conv_strips.py). Lightweight: 10 convolutions cut into 29
// strips; onnxruntime-web's memory after a run 544 -> 408 MiB, 340 with
// concat-quantize.js (docs/performance.md, "Convolutions in strips").
//
// The cut needs each input's height (onnx-graph.js works the shapes out); a
// convolution whose input shape is not known, or a model with anything
// unexpected, is left as it is.

import {
  all,
  convGeometry,
  defaultDomain,
  hasOp,
  inferShapes,
  int64Initializer,
  intAttribute,
  intsAttribute,
  nodeField,
  readGraph,
  readNode,
  writeGraph,
} from "./onnx-graph.js";
import { GRAPH_NODE, Unexpected, ifUnderstood } from "./protobuf.js";

// The largest im2col buffer a convolution keeps whole: the size of the
// network's largest activation (64 channels at 512x512 in float32), so a
// strip's buffer is never what sets the peak. Measured with Lightweight (raw
// onnxruntime-web, one 1024x1024 run, after concat-quantize.js): 340 MiB at
// 64 MiB, 407 at 128 (the 72 MiB buffers left whole then set the peak); on
// its own, 406-408 MiB from 48 to 128 MiB and 489 at 16 and 32 (more strips
// run side by side).
export const STRIP_BYTES = 64 * 2 ** 20;

// Slice with its bounds as inputs, as written here, came with opset 10.
const MIN_OPSET = 10;

// The strips of one convolution: {nodes: [chunks], weights: [chunks], names}, or null.
function strips(bytes, node, x, g, limit) {
  const [, channels, height] = x;
  const [, , oh, ow] = g.out;
  const col = (channels / g.group) * g.kh * g.kw * oh * ow;
  const pointwise = g.kh * g.kw === 1 && g.sh === 1 && g.sw === 1 && !g.pt && !g.pl && !g.pb && !g.pr;
  if (col <= limit || pointwise || oh < 2) return null;
  const rows = Math.ceil(oh / Math.ceil(col / limit));
  const out = node.outputs[0];
  const kept = [...node.attrs.values()].filter((a) => a !== node.attrs.get("pads")).map((a) => bytes.subarray(a.field.start, a.field.end));
  const nodes = [];
  const weights = [];
  const names = [];
  const pieces = [];
  for (let s = 0, o0 = 0; o0 < oh; s++, o0 += rows) {
    const o1 = Math.min(oh, o0 + rows);
    // The input rows these output rows read, padding included.
    const i0 = o0 * g.sh - g.pt;
    const i1 = (o1 - 1) * g.sh - g.pt + g.dh * (g.kh - 1) + 1;
    const a = Math.max(0, i0);
    const b = Math.min(height, i1);
    if (b <= a) return null;
    const base = `${out}/strip${s}`;
    const [starts, ends, axes, input, output] = ["starts", "ends", "axes", "input", "output"].map((k) => `${base}/${k}`);
    names.push(starts, ends, axes, input, output);
    weights.push(int64Initializer(starts, a), int64Initializer(ends, b), int64Initializer(axes, 2));
    nodes.push(nodeField("Slice", `${node.name}/slice${s}`, [node.inputs[0], starts, ends, axes], [input], []));
    const pads = intsAttribute("pads", [a - i0, g.pl, i1 - b, g.pr]);
    nodes.push(nodeField("ConvInteger", `${node.name}/strip${s}`, [input, ...node.inputs.slice(1)], [output], [...kept, pads]));
    pieces.push(output);
  }
  nodes.push(nodeField("Concat", `${node.name}/concat`, pieces, [out], [intAttribute("axis", 2)]));
  return { nodes, weights, names, count: pieces.length };
}

function plan(bytes, limit) {
  const g = readGraph(bytes);
  // Most models have no ConvInteger: they are not read further.
  if (g.opset < MIN_OPSET || !hasOp(bytes, g.parts, "ConvInteger")) return null;
  const nodes = all(g.parts, GRAPH_NODE).map((f) => readNode(bytes, f));
  const shapes = inferShapes(bytes, g.parts, nodes);
  const taken = new Set([...shapes.keys(), ...nodes.flatMap((n) => [...n.inputs, ...n.outputs])]);
  const cut = new Map();
  let count = 0;
  for (const n of nodes) {
    if (n.op !== "ConvInteger" || !defaultDomain(n)) continue;
    const x = shapes.get(n.inputs[0]);
    const geometry = convGeometry(n, x, shapes.get(n.inputs[1]));
    const s = geometry && strips(bytes, n, x, geometry, limit);
    if (!s) continue;
    if (s.names.some((name) => taken.has(name))) throw new Unexpected("name taken");
    cut.set(n.f, s);
    count += s.count;
  }
  return cut.size ? { g, cut, convs: cut.size, strips: count } : null;
}

// `bytes` (a Uint8Array) with every ConvInteger whose im2col buffer would
// pass `limit` bytes cut into strips of rows: {bytes: a new model, convs: how
// many were cut, strips: into how many}. The same `bytes` when there is
// nothing to cut or the model is not understood.
export function cutConvolutions(bytes, limit = STRIP_BYTES) {
  const p = ifUnderstood(() => plan(bytes, limit));
  if (!p) return { bytes, convs: 0, strips: 0 };
  const replace = new Map([...p.cut].map(([f, s]) => [f, s.nodes]));
  const weights = [...p.cut.values()].flatMap((s) => s.weights);
  return { bytes: writeGraph(bytes, p.g, replace, weights), convs: p.convs, strips: p.strips };
}
