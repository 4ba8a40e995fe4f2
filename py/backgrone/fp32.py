"""Turn an ONNX model's fp16 weights into fp32, without the `onnx` package.

Only the ModelProto fields that carry an element type or fp16 data are
decoded and rewritten (protowire.py reads and writes the wire format); every
other field is copied through byte for byte. What changes:

- initializers, and tensors in node attributes (Constant values), stored as
  FLOAT16 become FLOAT (raw_data, or the uint16 patterns in int32_data);
- Cast nodes' `to` (and any `dtype` attribute) FLOAT16 becomes FLOAT: the
  Casts the fp16 export put at the graph's edges become float->float no-ops,
  which onnxruntime's graph optimiser removes;
- the element types of graph inputs, outputs and value_info;
- subgraphs (If/Loop bodies, functions' nodes), the same way.

Nothing here imports anything but numpy, so it runs under CPython and Pyodide.
"""
from __future__ import annotations

import numpy as np

from .protowire import (  # the wire format, and onnx.proto's field numbers
    ATTR_G, ATTR_GRAPHS, ATTR_I, ATTR_NAME, ATTR_T, ATTR_TENSORS, FUNCTION_NODE, FUNCTION_VALUE_INFO,
    GRAPH_INITIALIZER, GRAPH_INPUT, GRAPH_NODE, GRAPH_OUTPUT, GRAPH_VALUE_INFO, LEN, MAP_VALUE,
    MODEL_FUNCTIONS, MODEL_GRAPH, NODE_ATTRIBUTE, OPTIONAL_ELEM, SEQUENCE_ELEM, TENSOR_DATA_TYPE,
    TENSOR_INT32_DATA, TENSOR_RAW_DATA, TENSOR_TYPE_ELEM, TYPE_MAP, TYPE_OPTIONAL, TYPE_SEQUENCE,
    TYPE_SPARSE, TYPE_TENSOR, VALUE_INFO_TYPE, VARINT, Chunks, ProtoError, encode as _encode, parse,
    serialize, varint as _varint,
)

__all__ = ["ProtoError", "parse", "serialize", "to_fp32", "to_fp32_parts"]

FLOAT, FLOAT16 = 1, 10


def _rewrite(buf, handlers: dict) -> Chunks:
    """Re-encode a message, passing the length-delimited fields named in
    `handlers` through their function; everything else is copied."""
    fields = []
    for number, wire, value in parse(buf):
        fn = handlers.get(number)
        if fn is not None and wire == LEN:
            value = fn(value)
        fields.append((number, wire, value))
    return _encode(fields)


# -- ONNX messages -----------------------------------------------------------

def _tensor(buf):
    fields = parse(buf)
    if not any(n == TENSOR_DATA_TYPE and v == FLOAT16 for n, w, v in fields):
        return buf
    halves = [v for n, w, v in fields if n == TENSOR_INT32_DATA]
    out = []
    for number, wire, value in fields:
        if number == TENSOR_DATA_TYPE:
            out.append((number, wire, FLOAT))
        elif number == TENSOR_RAW_DATA:
            out.append((number, wire, np.frombuffer(value, "<f2").astype("<f4").tobytes()))
        elif number != TENSOR_INT32_DATA:
            out.append((number, wire, value))
    if halves:  # fp16 kept as uint16 bit patterns in int32_data: write raw_data instead
        bits = []
        for value in halves:
            if isinstance(value, int):
                bits.append(value)
            else:  # packed
                pos = 0
                while pos < len(value):
                    v, pos = _varint(value, pos)
                    bits.append(v)
        data = np.asarray(bits, np.uint16).view("<f2").astype("<f4").tobytes()
        out.append((TENSOR_RAW_DATA, LEN, data))
    return _encode(out)


def _attribute(buf) -> Chunks:
    fields = parse(buf)
    name = next((bytes(v).decode() for n, w, v in fields if n == ATTR_NAME), "")
    out = []
    for number, wire, value in fields:
        if number == ATTR_I and name in ("to", "dtype") and value == FLOAT16:
            value = FLOAT
        elif wire == LEN and number in (ATTR_T, ATTR_TENSORS):
            value = _tensor(value)
        elif wire == LEN and number in (ATTR_G, ATTR_GRAPHS):
            value = _graph(value)
        out.append((number, wire, value))
    return _encode(out)


def _node(buf) -> Chunks:
    return _rewrite(buf, {NODE_ATTRIBUTE: _attribute})


def _type(buf) -> Chunks:
    return _rewrite(buf, {
        TYPE_TENSOR: _tensor_type, TYPE_SPARSE: _tensor_type,
        TYPE_SEQUENCE: _elem_type(SEQUENCE_ELEM), TYPE_OPTIONAL: _elem_type(OPTIONAL_ELEM),
        TYPE_MAP: _elem_type(MAP_VALUE),
    })


def _elem_type(number: int):
    return lambda buf: _rewrite(buf, {number: _type})


def _tensor_type(buf) -> Chunks:
    return _encode(
        (n, w, FLOAT if n == TENSOR_TYPE_ELEM and w == VARINT and v == FLOAT16 else v)
        for n, w, v in parse(buf)
    )


def _value_info(buf) -> Chunks:
    return _rewrite(buf, {VALUE_INFO_TYPE: _type})


def _graph(buf) -> Chunks:
    return _rewrite(buf, {
        GRAPH_NODE: _node, GRAPH_INITIALIZER: _tensor, GRAPH_INPUT: _value_info,
        GRAPH_OUTPUT: _value_info, GRAPH_VALUE_INFO: _value_info,
    })


def _function(buf) -> Chunks:
    return _rewrite(buf, {FUNCTION_NODE: _node, FUNCTION_VALUE_INFO: _value_info})


def to_fp32_parts(model, part_size: int = 16 << 20):
    """to_fp32's result as (total size, an iterator of byte strings of about
    `part_size`), so a caller can copy it out (into JS memory) without one
    more whole copy in Python's."""
    chunks = _rewrite(model, {MODEL_GRAPH: _graph, MODEL_FUNCTIONS: _function})

    def parts():
        group, size = [], 0
        for chunk in chunks:
            group.append(chunk)
            size += len(chunk)
            if size >= part_size:
                yield b"".join(group)
                group, size = [], 0
        if group:
            yield b"".join(group)

    return chunks.size, parts()


def to_fp32(model: bytes) -> bytes:
    """The same model with its fp16 tensors and types made fp32."""
    return b"".join(to_fp32_parts(model)[1])
