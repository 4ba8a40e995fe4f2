// ONNX graphs read, their tensor shapes worked out, and graphs written back,
// for the session worker's rewrites of a model before its session is made
// (conv-strips.js, concat-quantize.js). The wire format is protobuf.js's.
//
// The files do not record most tensors' shapes, so they are worked out here
// from the graph's input, for the operators these networks use; a tensor
// after anything else has no known shape, and the rewrites leave the nodes
// that would need it alone.

import {
  ATTRIBUTE_GRAPH,
  ATTRIBUTE_GRAPHS,
  ATTRIBUTE_I,
  ATTRIBUTE_INTS,
  ATTRIBUTE_NAME,
  ATTRIBUTE_S,
  ATTRIBUTE_TYPE,
  ATTRIBUTE_TYPE_INT,
  ATTRIBUTE_TYPE_INTS,
  DATA_FLOAT,
  DATA_INT64,
  DIM_VALUE,
  GRAPH_INITIALIZER,
  GRAPH_INPUT,
  GRAPH_NODE,
  MODEL_GRAPH,
  MODEL_OPSET,
  NODE_ATTRIBUTE,
  NODE_DOMAIN,
  NODE_INPUT,
  NODE_NAME,
  NODE_OP_TYPE,
  NODE_OUTPUT,
  OPSET_DOMAIN,
  OPSET_VERSION,
  SHAPE_DIM,
  TENSOR_DATA_LOCATION,
  TENSOR_DATA_TYPE,
  TENSOR_DIMS,
  TENSOR_FLOAT_DATA,
  TENSOR_INT64_DATA,
  TENSOR_NAME,
  TENSOR_RAW_DATA,
  TENSOR_TYPE_SHAPE,
  TYPE_TENSOR,
  Unexpected,
  VALUE_INFO_NAME,
  VALUE_INFO_TYPE,
  WIRE_32,
  WIRE_LEN,
  encodeVarint,
  fields,
  int64,
  int64s,
  join,
  lenField,
  str,
  stringField,
  varintField,
} from "./protobuf.js";

export const first = (list, field) => list.find((f) => f.field === field);
export const all = (list, field) => list.filter((f) => f.field === field);

function attributes(bytes, list) {
  const out = new Map();
  for (const a of list) {
    const parts = fields(bytes, ...a.value);
    if (first(parts, ATTRIBUTE_GRAPH) || first(parts, ATTRIBUTE_GRAPHS)) throw new Unexpected("subgraph");
    const name = str(bytes, first(parts, ATTRIBUTE_NAME).value);
    const i = first(parts, ATTRIBUTE_I);
    const s = first(parts, ATTRIBUTE_S);
    out.set(name, {
      field: a,
      i: i ? int64(bytes, i.at)[0] : undefined,
      s: s ? str(bytes, s.value) : undefined,
      ints: int64s(bytes, all(parts, ATTRIBUTE_INTS)),
    });
  }
  return out;
}

export function readNode(bytes, f) {
  const parts = fields(bytes, ...f.value);
  const names = (field) => all(parts, field).map((g) => str(bytes, g.value));
  const domain = first(parts, NODE_DOMAIN);
  return {
    f,
    op: str(bytes, first(parts, NODE_OP_TYPE)?.value ?? [0, 0]),
    domain: domain ? str(bytes, domain.value) : "",
    name: first(parts, NODE_NAME) ? str(bytes, first(parts, NODE_NAME).value) : "",
    inputs: names(NODE_INPUT),
    outputs: names(NODE_OUTPUT),
    attrs: attributes(bytes, all(parts, NODE_ATTRIBUTE)),
  };
}

// A weight: its dims, and a reader of its values (int64 or float) when they are in the file.
function readInitializer(bytes, f) {
  const parts = fields(bytes, ...f.value);
  const dims = int64s(bytes, all(parts, TENSOR_DIMS));
  const type = first(parts, TENSOR_DATA_TYPE) ? int64(bytes, first(parts, TENSOR_DATA_TYPE).at)[0] : 0;
  const external = first(parts, TENSOR_DATA_LOCATION) && int64(bytes, first(parts, TENSOR_DATA_LOCATION).at)[0] === 1;
  const values = () => {
    if (external) return null;
    const raw = first(parts, TENSOR_RAW_DATA);
    const count = dims.reduce((a, b) => a * b, 1);
    if (raw) {
      const view = new DataView(bytes.buffer, bytes.byteOffset + raw.value[0], raw.value[1] - raw.value[0]);
      if (type === DATA_INT64 && view.byteLength === count * 8)
        return Array.from({ length: count }, (_, k) => Number(view.getBigInt64(k * 8, true)));
      if (type === DATA_FLOAT && view.byteLength === count * 4)
        return Array.from({ length: count }, (_, k) => view.getFloat32(k * 4, true));
      return null;
    }
    if (type === DATA_INT64) return int64s(bytes, all(parts, TENSOR_INT64_DATA));
    if (type === DATA_FLOAT) {
      const out = [];
      for (const g of all(parts, TENSOR_FLOAT_DATA)) {
        const [from, to] = g.wire === WIRE_32 ? [g.at, g.at + 4] : g.value;
        const view = new DataView(bytes.buffer, bytes.byteOffset + from, to - from);
        for (let k = 0; k + 4 <= view.byteLength; k += 4) out.push(view.getFloat32(k, true));
      }
      return out;
    }
    return null;
  };
  return { name: str(bytes, first(parts, TENSOR_NAME).value), dims, values };
}

// A graph input's shape, when every dimension is a number.
function inputShape(bytes, f) {
  const parts = fields(bytes, ...f.value);
  const name = str(bytes, first(parts, VALUE_INFO_NAME).value);
  let shape = null;
  const type = first(parts, VALUE_INFO_TYPE);
  const tensor = type && first(fields(bytes, ...type.value), TYPE_TENSOR);
  const dims = tensor && first(fields(bytes, ...tensor.value), TENSOR_TYPE_SHAPE);
  if (dims) {
    shape = [];
    for (const d of all(fields(bytes, ...dims.value), SHAPE_DIM)) {
      const v = first(fields(bytes, ...d.value), DIM_VALUE);
      if (!v) return { name, shape: null };
      shape.push(int64(bytes, v.at)[0]);
    }
  }
  return { name, shape };
}

// -- shapes ------------------------------------------------------------------

const UNARY = new Set(["Relu", "Sigmoid", "Cast", "Tanh", "Identity", "LeakyRelu", "Clip", "Sqrt", "Exp", "Neg", "Abs", "Erf", "Round"]);
// Shapes broadcast over every input.
const BROADCAST = new Set(["Add", "Sub", "Mul", "Div", "Min", "Max", "Equal", "Where"]);

function broadcast(a, b) {
  const n = Math.max(a.length, b.length);
  const out = [];
  for (let k = 0; k < n; k++) {
    const x = a[a.length - n + k] ?? 1;
    const y = b[b.length - n + k] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

const ints = (node, name, fallback) => {
  const a = node.attrs.get(name);
  return a && a.ints.length ? a.ints : fallback;
};
export const int = (node, name, fallback) => node.attrs.get(name)?.i ?? fallback;
const noAutoPad = (node) => (node.attrs.get("auto_pad")?.s ?? "NOTSET") === "NOTSET";

// Output size of a window of `k` with dilation `d`, stride `s`, pads `p0`, `p1` over `n`.
function windows(n, k, d, s, p0, p1, ceil) {
  const span = n + p0 + p1 - d * (k - 1) - 1;
  if (span < 0) return null;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // A last window that would start in the end padding is dropped (ONNX's rule for ceil_mode).
  if (ceil && (out - 1) * s >= n + p0) out -= 1;
  return out;
}

// The geometry of a Conv or ConvInteger node, or null.
export function convGeometry(node, x, w) {
  if (!x || !w || x.length !== 4 || w.length !== 4 || !noAutoPad(node)) return null;
  const group = int(node, "group", 1);
  const [kh, kw] = ints(node, "kernel_shape", w.slice(2));
  if (kh !== w[2] || kw !== w[3] || x[1] !== w[1] * group) return null;
  const [pt, pl, pb, pr] = ints(node, "pads", [0, 0, 0, 0]);
  const [sh, sw] = ints(node, "strides", [1, 1]);
  const [dh, dw] = ints(node, "dilations", [1, 1]);
  const oh = windows(x[2], kh, dh, sh, pt, pb, false);
  const ow = windows(x[3], kw, dw, sw, pl, pr, false);
  if (!oh || !ow) return null;
  return { group, kh, kw, pt, pl, pb, pr, sh, sw, dh, dw, out: [x[0], w[0], oh, ow] };
}

function outputShapes(node, shapeOf, valuesOf) {
  if (node.domain !== "" && node.domain !== "ai.onnx") return null;
  const ins = node.inputs.map((n) => (n ? shapeOf(n) : undefined));
  const x = ins[0];
  if (UNARY.has(node.op)) return x ? [x] : null;
  if (BROADCAST.has(node.op)) {
    if (ins.some((s) => !s)) return null;
    const out = ins.reduce((a, b) => a && broadcast(a, b));
    return out ? [out] : null;
  }
  switch (node.op) {
    case "ReduceMin":
    case "ReduceMax":
      // Over every axis (no axes given): a scalar, or ones with keepdims.
      if (!x || node.attrs.has("axes") || node.inputs.length > 1) return null;
      return [int(node, "keepdims", 1) ? x.map(() => 1) : []];
    case "Slice": {
      // Bounds as weights (opset 10 on), steps of 1.
      const [starts, ends, axes, steps] = [1, 2, 3, 4].map((k) => (node.inputs[k] ? valuesOf(node.inputs[k]) : undefined));
      if (!x || !starts || !ends || starts.length !== ends.length || axes === null || steps === null) return null;
      if (steps && steps.some((v) => v !== 1)) return null;
      const out = [...x];
      for (let k = 0; k < starts.length; k++) {
        let axis = axes ? axes[k] : k;
        if (axis < 0) axis += x.length;
        if (!(axis >= 0 && axis < x.length)) return null;
        const dim = x[axis];
        const clamp = (v) => Math.min(dim, Math.max(0, v < 0 ? v + dim : v));
        out[axis] = Math.max(0, clamp(ends[k]) - clamp(starts[k]));
      }
      return [out];
    }
    case "DynamicQuantizeLinear":
      return x ? [x, [], []] : null;
    case "QuantizeLinear":
    case "DequantizeLinear":
      return x ? [x] : null;
    case "Conv":
    case "ConvInteger": {
      const g = convGeometry(node, x, ins[1]);
      return g ? [g.out] : null;
    }
    case "MaxPool":
    case "AveragePool": {
      if (!x || x.length !== 4 || !noAutoPad(node) || node.outputs.length !== 1) return null;
      const [kh, kw] = ints(node, "kernel_shape", []);
      const [pt, pl, pb, pr] = ints(node, "pads", [0, 0, 0, 0]);
      const [sh, sw] = ints(node, "strides", [1, 1]);
      const [dh, dw] = ints(node, "dilations", [1, 1]);
      const ceil = int(node, "ceil_mode", 0) === 1;
      if (!kh || !kw) return null;
      const oh = windows(x[2], kh, dh, sh, pt, pb, ceil);
      const ow = windows(x[3], kw, dw, sw, pl, pr, ceil);
      return oh && ow ? [[x[0], x[1], oh, ow]] : null;
    }
    case "Concat": {
      if (ins.some((s) => !s) || !ins.length) return null;
      const rank = x.length;
      let axis = int(node, "axis", null);
      if (axis === null) return null;
      if (axis < 0) axis += rank;
      const out = [...x];
      out[axis] = 0;
      for (const s of ins) {
        if (s.length !== rank || s.some((d, k) => k !== axis && d !== x[k])) return null;
        out[axis] += s[axis];
      }
      return [out];
    }
    case "Reshape": {
      const target = valuesOf(node.inputs[1]);
      if (!x || !target || int(node, "allowzero", 0) !== 0) return null;
      const out = target.map((d, k) => (d === 0 ? x[k] : d));
      const total = x.reduce((a, b) => a * b, 1);
      const known = out.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      const unknown = out.filter((d) => d === -1).length;
      if (unknown > 1 || out.some((d) => d === undefined)) return null;
      if (unknown) out[out.indexOf(-1)] = total / known;
      return out.every(Number.isInteger) && out.reduce((a, b) => a * b, 1) === total ? [out] : null;
    }
    case "Resize": {
      if (!x || node.attrs.has("axes")) return null;
      const sizes = node.inputs[3] ? valuesOf(node.inputs[3]) : null;
      if (sizes) return sizes.length === x.length ? [sizes] : null;
      const scales = valuesOf(node.inputs[node.inputs.length === 2 ? 1 : 2]);
      return scales && scales.length === x.length ? [x.map((d, k) => Math.floor(d * scales[k]))] : null;
    }
    default:
      return null;
  }
}

// Every tensor's shape that can be worked out: Map name -> dims.
export function inferShapes(bytes, parts, nodes) {
  const shapes = new Map();
  const weights = new Map();
  for (const f of all(parts, GRAPH_INITIALIZER)) {
    const w = readInitializer(bytes, f);
    weights.set(w.name, w);
    shapes.set(w.name, w.dims);
  }
  for (const f of all(parts, GRAPH_INPUT)) {
    const { name, shape } = inputShape(bytes, f);
    if (!weights.has(name) && shape) shapes.set(name, shape);
  }
  const valuesOf = (name) => weights.get(name)?.values() ?? null;
  const producer = new Map();
  for (const n of nodes) for (const o of n.outputs) producer.set(o, n);
  // In dependency order (Kahn's), whatever the file's order: a node whose
  // inputs never all arrive (a cycle) is not reached, and its outputs stay unknown.
  const waiting = new Map();
  const consumers = new Map(nodes.map((n) => [n, []]));
  for (const n of nodes) {
    const deps = new Set(n.inputs.map((i) => producer.get(i)).filter((p) => p && p !== n));
    waiting.set(n, deps.size);
    for (const d of deps) consumers.get(d).push(n);
  }
  const ready = nodes.filter((n) => waiting.get(n) === 0);
  while (ready.length) {
    const n = ready.pop();
    const out = outputShapes(n, (name) => shapes.get(name), valuesOf);
    if (out) n.outputs.forEach((o, k) => out[k] && o && shapes.set(o, out[k]));
    for (const c of consumers.get(n)) {
      waiting.set(c, waiting.get(c) - 1);
      if (waiting.get(c) === 0) ready.push(c);
    }
  }
  return shapes;
}

// -- writing -----------------------------------------------------------------

export const intsAttribute = (name, values) =>
  lenField(
    NODE_ATTRIBUTE,
    join([
      stringField(ATTRIBUTE_NAME, name),
      varintField(ATTRIBUTE_TYPE, ATTRIBUTE_TYPE_INTS),
      ...values.map((v) => varintField(ATTRIBUTE_INTS, v)),
    ]),
  );

export const intAttribute = (name, value) =>
  lenField(NODE_ATTRIBUTE, join([stringField(ATTRIBUTE_NAME, name), varintField(ATTRIBUTE_TYPE, ATTRIBUTE_TYPE_INT), varintField(ATTRIBUTE_I, value)]));

export function int64Initializer(name, value) {
  const raw = new Uint8Array(8);
  new DataView(raw.buffer).setBigInt64(0, BigInt(value), true);
  return lenField(
    GRAPH_INITIALIZER,
    join([varintField(TENSOR_DIMS, 1), varintField(TENSOR_DATA_TYPE, DATA_INT64), stringField(TENSOR_NAME, name), lenField(TENSOR_RAW_DATA, raw)]),
  );
}

export const nodeField = (op, name, inputs, outputs, attrs) =>
  lenField(
    GRAPH_NODE,
    join([
      ...inputs.map((i) => stringField(NODE_INPUT, i)),
      ...outputs.map((o) => stringField(NODE_OUTPUT, o)),
      stringField(NODE_NAME, name),
      stringField(NODE_OP_TYPE, op),
      ...attrs,
    ]),
  );


// The model's one graph: {graph (its field), parts (the graph's fields), opset
// (the default domain's version, 0 when none is declared)}. Unexpected when
// the model does not have exactly one graph.
export function readGraph(bytes) {
  const top = fields(bytes, 0, bytes.length);
  const graphs = top.filter((f) => f.field === MODEL_GRAPH && f.value);
  if (graphs.length !== 1) throw new Unexpected("no single graph");
  const opset = top
    .filter((f) => f.field === MODEL_OPSET)
    .map((f) => fields(bytes, ...f.value))
    .find((p) => !first(p, OPSET_DOMAIN) || ["", "ai.onnx"].includes(str(bytes, first(p, OPSET_DOMAIN).value)));
  const version = opset && first(opset, OPSET_VERSION) ? int64(bytes, first(opset, OPSET_VERSION).at)[0] : 0;
  const graph = graphs[0];
  return { graph, parts: fields(bytes, ...graph.value), opset: version };
}

// Whether any node of the graph is `op` (read without parsing the nodes whole).
export function hasOp(bytes, parts, op) {
  return all(parts, GRAPH_NODE).some((f) => {
    const t = first(fields(bytes, ...f.value), NODE_OP_TYPE);
    return t && str(bytes, t.value) === op;
  });
}

export const defaultDomain = (node) => node.domain === "" || node.domain === "ai.onnx";

// The model with the graph's fields in `replace` (Map field -> chunks) put
// in their place and `extra` chunks (new weights) after them: a new buffer.
export function writeGraph(bytes, { graph, parts }, replace, extra) {
  const body = [];
  for (const f of parts) body.push(...(replace.get(f) ?? [bytes.subarray(f.start, f.end)]));
  body.push(...extra);
  const length = body.reduce((n, c) => n + c.length, 0);
  const head = Uint8Array.from([...encodeVarint(MODEL_GRAPH * 8 + WIRE_LEN), ...encodeVarint(length)]);
  return join([bytes.subarray(0, graph.start), head, ...body, bytes.subarray(graph.end)]);
}

// A scalar float weight.
export function floatInitializer(name, value) {
  const raw = new Uint8Array(4);
  new DataView(raw.buffer).setFloat32(0, value, true);
  return lenField(
    GRAPH_INITIALIZER,
    join([varintField(TENSOR_DATA_TYPE, DATA_FLOAT), stringField(TENSOR_NAME, name), lenField(TENSOR_RAW_DATA, raw)]),
  );
}

// For the tests: every tensor shape worked out, as {name: dims}.
export function tensorShapes(bytes) {
  const { parts } = readGraph(bytes);
  const nodes = all(parts, GRAPH_NODE).map((f) => readNode(bytes, f));
  return Object.fromEntries(inferShapes(bytes, parts, nodes));
}
