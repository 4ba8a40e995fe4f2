// The network's graph trimmed to the one output the app reads.
//
// ISNet's files declare twelve outputs besides the mask: five side masks at
// 1024x1024 and six of its decoder's feature maps (64 channels at 512x512
// alone are 64 MiB). onnxruntime computes and keeps every graph output until
// a run ends, even when the caller asks for one. Dropping the others from the
// graph, with the nodes and weights only they need, lowers a 12 MP cutout's
// peak by some 67 MiB and each run's time by 1-3% (docs/performance.md, "Only
// the mask"); the mask is computed by the same nodes from the same weights.
//
// The model is an ONNX ModelProto (protobuf). Only the fields this needs are
// read: the graph (ModelProto 7), its nodes (GraphProto 1) with their input
// and output names (NodeProto 1, 2), its weights (GraphProto 5, names in
// TensorProto 8) and its outputs (GraphProto 12, names in ValueInfoProto 1).
// Everything else is copied byte for byte. A graph with subgraphs (If, Loop:
// they may use any outer name) or anything unexpected is left as it is. The
// command line trims its native sessions the same way (py/backgrone/graph_trim.py).
// The wire format is protobuf.js's; the model's one graph is found by
// onnx-graph.js's readGraph, as the CPU rewrites find it.

import {
  ATTRIBUTE_GRAPH,
  ATTRIBUTE_GRAPHS,
  GRAPH_INITIALIZER,
  GRAPH_NODE,
  GRAPH_OUTPUT,
  MODEL_GRAPH,
  NODE_ATTRIBUTE,
  NODE_INPUT,
  NODE_OUTPUT,
  TENSOR_NAME,
  Unexpected,
  VALUE_INFO_NAME,
  WIRE_LEN,
  encodeVarint,
  fields,
  ifUnderstood,
  str,
} from "./protobuf.js";
import { readGraph } from "./onnx-graph.js";

function node(bytes, f) {
  const inputs = [];
  const outputs = [];
  for (const g of fields(bytes, ...f.value)) {
    if (g.field === NODE_INPUT) inputs.push(str(bytes, g.value));
    else if (g.field === NODE_OUTPUT) outputs.push(str(bytes, g.value));
    else if (g.field === NODE_ATTRIBUTE) {
      for (const a of fields(bytes, ...g.value))
        if (a.field === ATTRIBUTE_GRAPH || a.field === ATTRIBUTE_GRAPHS) throw new Unexpected("subgraph");
    }
  }
  return { inputs, outputs };
}

// The byte ranges of the graph to keep, or null when there is nothing to drop.
function plan(bytes) {
  const { graph, parts } = readGraph(bytes);
  const outputs = parts.filter((f) => f.field === GRAPH_OUTPUT);
  if (outputs.length < 2) return null;
  const name = (f) => str(bytes, fields(bytes, ...f.value).find((g) => g.field === VALUE_INFO_NAME).value);
  const live = new Set([name(outputs[0])]);
  const drop = new Set(outputs.slice(1));
  // Walk back from the kept output through each name's producer (not the
  // list's order: not every file lists its nodes sorted, as ONNX asks).
  const nodes = parts.filter((f) => f.field === GRAPH_NODE).map((f) => ({ f, ...node(bytes, f) }));
  const producer = new Map();
  for (const n of nodes) for (const o of n.outputs) producer.set(o, n);
  const needed = new Set();
  const todo = [...live];
  while (todo.length) {
    const n = producer.get(todo.pop());
    if (!n || needed.has(n)) continue;
    needed.add(n);
    for (const x of n.inputs) {
      if (live.has(x)) continue;
      live.add(x);
      todo.push(x);
    }
  }
  for (const n of nodes) if (!needed.has(n)) drop.add(n.f);
  const nodesDropped = drop.size - (outputs.length - 1);
  // Weights only dropped nodes used (onnxruntime would drop them too, with a
  // console warning for each).
  let weights = 0;
  for (const f of parts.filter((f) => f.field === GRAPH_INITIALIZER)) {
    const n = fields(bytes, ...f.value).find((g) => g.field === TENSOR_NAME);
    if (n && !live.has(str(bytes, n.value))) {
      drop.add(f);
      weights++;
    }
  }
  const keep = parts.filter((f) => !drop.has(f));
  return { graph, keep, outputs: outputs.length - 1, nodes: nodesDropped, weights };
}

// `bytes` (a Uint8Array) with every graph output but the first, and every node
// and weight only they need, removed, rewritten in place (no second copy of
// the model): {bytes: the model, now a view of the same buffer, outputs,
// nodes, weights: how many were dropped}. The model as it was when it cannot
// be trimmed. The caller must not use the original bytes afterwards (take
// their sha256 first: crypto.subtle.digest copies its input when called).
export function keepFirstOutput(bytes) {
  const p = ifUnderstood(() => plan(bytes));
  if (!p) return { bytes, outputs: 0, nodes: 0, weights: 0 };
  // Every write lands at or before what it moves (only bytes are removed), so
  // the ranges can be moved down in order.
  const length = p.keep.reduce((n, f) => n + (f.end - f.start), 0);
  const head = [MODEL_GRAPH * 8 + WIRE_LEN, ...encodeVarint(length)];
  let at = p.graph.start;
  bytes.set(head, at);
  at += head.length;
  for (const f of p.keep) {
    bytes.copyWithin(at, f.start, f.end);
    at += f.end - f.start;
  }
  bytes.copyWithin(at, p.graph.end, bytes.length);
  at += bytes.length - p.graph.end;
  return { bytes: bytes.subarray(0, at), outputs: p.outputs, nodes: p.nodes, weights: p.weights };
}
