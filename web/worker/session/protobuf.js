// The protobuf wire format, as much of it as rewriting an ONNX model in the
// session worker needs (prune-graph.js, conv-strips.js): a message is read as
// a list of fields whose nested messages stay byte ranges until someone reads
// them, and written as a list of byte chunks joined once. The command line's
// reader is py/backgrone/protowire.py.

export const WIRE_VARINT = 0;
export const WIRE_64 = 1;
export const WIRE_LEN = 2;
export const WIRE_32 = 5;

// The ONNX messages' field numbers used here, from onnx.proto.
export const MODEL_GRAPH = 7;
export const MODEL_OPSET = 8;
export const OPSET_DOMAIN = 1;
export const OPSET_VERSION = 2;
export const GRAPH_NODE = 1;
export const GRAPH_INITIALIZER = 5;
export const GRAPH_INPUT = 11;
export const GRAPH_OUTPUT = 12;
export const NODE_INPUT = 1;
export const NODE_OUTPUT = 2;
export const NODE_NAME = 3;
export const NODE_OP_TYPE = 4;
export const NODE_ATTRIBUTE = 5;
export const NODE_DOMAIN = 7;
export const ATTRIBUTE_NAME = 1;
export const ATTRIBUTE_I = 3;
export const ATTRIBUTE_S = 4;
export const ATTRIBUTE_GRAPH = 6;
export const ATTRIBUTE_INTS = 8;
export const ATTRIBUTE_GRAPHS = 11;
export const ATTRIBUTE_TYPE = 20;
export const ATTRIBUTE_TYPE_INT = 2;
export const ATTRIBUTE_TYPE_INTS = 7;
export const TENSOR_DIMS = 1;
export const TENSOR_DATA_TYPE = 2;
export const TENSOR_FLOAT_DATA = 4;
export const TENSOR_INT64_DATA = 7;
export const TENSOR_NAME = 8;
export const TENSOR_RAW_DATA = 9;
export const TENSOR_DATA_LOCATION = 14;
export const DATA_FLOAT = 1;
export const DATA_INT64 = 7;
export const VALUE_INFO_NAME = 1;
export const VALUE_INFO_TYPE = 2;
export const TYPE_TENSOR = 1;
export const TENSOR_TYPE_SHAPE = 2;
export const SHAPE_DIM = 1;
export const DIM_VALUE = 1;

export class Unexpected extends Error {}

// `plan()`, or null when the model is not one this understands (a field it
// does not expect, a truncated file): the rewrites then leave it as it is.
export function ifUnderstood(plan) {
  try {
    return plan();
  } catch (err) {
    if (err instanceof Unexpected || err instanceof RangeError || err instanceof TypeError) return null;
    throw err;
  }
}

// A varint as a Number (no bit operations: lengths may pass 2^31).
export function varint(bytes, pos) {
  let value = 0;
  let scale = 1;
  for (;;) {
    if (pos >= bytes.length) throw new Unexpected("truncated varint");
    const b = bytes[pos++];
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, pos];
    scale *= 128;
    if (scale > 2 ** 49) throw new Unexpected("varint too long");
  }
}

// A varint read as a signed int64 (negative ones take ten bytes), as a Number.
export function int64(bytes, pos) {
  let value = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= bytes.length || shift > 63n) throw new Unexpected("bad int64");
    const b = bytes[pos++];
    value |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return [Number(BigInt.asIntN(64, value)), pos];
    shift += 7n;
  }
}

// The fields of one message in bytes[start, end): [{field, wire, start, end, value: [from, to] | null, at}].
// `at`: where a varint's or a fixed field's value starts.
export function fields(bytes, start, end) {
  const out = [];
  let pos = start;
  while (pos < end) {
    const begin = pos;
    let tag;
    [tag, pos] = varint(bytes, pos);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    const at = pos;
    let value = null;
    if (wire === WIRE_VARINT) [, pos] = varint(bytes, pos);
    else if (wire === WIRE_64) pos += 8;
    else if (wire === WIRE_32) pos += 4;
    else if (wire === WIRE_LEN) {
      let n;
      [n, pos] = varint(bytes, pos);
      value = [pos, pos + n];
      pos += n;
    } else throw new Unexpected(`wire type ${wire}`);
    if (pos > end) throw new Unexpected("field past its message");
    out.push({ field, wire, start: begin, end: pos, value, at });
  }
  return out;
}

const text = new TextDecoder();
export const str = (bytes, [from, to]) => text.decode(bytes.subarray(from, to));

// A repeated int64 field's values, packed (one LEN field) or not (one varint each).
export function int64s(bytes, list) {
  const out = [];
  for (const f of list) {
    if (f.wire === WIRE_VARINT) out.push(int64(bytes, f.at)[0]);
    else if (f.wire === WIRE_LEN) {
      let pos = f.value[0];
      while (pos < f.value[1]) {
        let v;
        [v, pos] = int64(bytes, pos);
        out.push(v);
      }
    } else throw new Unexpected("int64 field of another wire type");
  }
  return out;
}

export function encodeVarint(value) {
  const out = [];
  while (value >= 128) {
    out.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

const utf8 = new TextEncoder();

// Writing: a field as a Uint8Array.
export function lenField(field, body) {
  const head = [...encodeVarint(field * 8 + WIRE_LEN), ...encodeVarint(body.length)];
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

export const stringField = (field, s) => lenField(field, utf8.encode(s));

// A non-negative integer as a varint field.
export const varintField = (field, value) => Uint8Array.from([...encodeVarint(field * 8 + WIRE_VARINT), ...encodeVarint(value)]);

export function join(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
