"""The protobuf wire format, as much of it as reading and rewriting ONNX
models needs (fp32.py, graph_trim.py), without the `onnx` or `protobuf`
packages: a message is a list of (field number, wire type, value) fields,
nested messages stay bytes until someone parses them, and writing joins the
pieces once. Runs under CPython and Pyodide alike.
"""
from __future__ import annotations

VARINT, I64, LEN, I32 = 0, 1, 2, 5

# The ONNX messages' field numbers the readers use, from onnx.proto.
MODEL_GRAPH, MODEL_FUNCTIONS = 7, 25
GRAPH_NODE, GRAPH_INITIALIZER, GRAPH_INPUT, GRAPH_OUTPUT, GRAPH_VALUE_INFO = 1, 5, 11, 12, 13
FUNCTION_NODE, FUNCTION_VALUE_INFO = 7, 12
NODE_INPUT, NODE_OUTPUT, NODE_ATTRIBUTE = 1, 2, 5
ATTR_NAME, ATTR_I, ATTR_T, ATTR_G, ATTR_TENSORS, ATTR_GRAPHS = 1, 3, 5, 6, 10, 11
TENSOR_DATA_TYPE, TENSOR_INT32_DATA, TENSOR_NAME, TENSOR_RAW_DATA = 2, 5, 8, 9
VALUE_INFO_NAME, VALUE_INFO_TYPE = 1, 2
TYPE_TENSOR, TYPE_SEQUENCE, TYPE_MAP, TYPE_OPTIONAL, TYPE_SPARSE = 1, 4, 5, 9, 8
TENSOR_TYPE_ELEM = 1
SEQUENCE_ELEM, MAP_VALUE, OPTIONAL_ELEM = 1, 2, 1


class ProtoError(ValueError):
    pass


# -- the wire format ---------------------------------------------------------

def varint(buf, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtoError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def put_varint(out: bytearray, value: int) -> None:
    value &= (1 << 64) - 1  # negative int32/int64 are written as 10-byte varints
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def parse(buf) -> list[tuple[int, int, object]]:
    """A message's fields in order: (number, wire type, int or memoryview)."""
    buf = memoryview(buf)
    fields, pos, end = [], 0, len(buf)
    while pos < end:
        key, pos = varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            value, pos = varint(buf, pos)
        elif wire == LEN:
            size, pos = varint(buf, pos)
            if pos + size > end:
                raise ProtoError("truncated field")
            value, pos = buf[pos:pos + size], pos + size
        elif wire == I64:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == I32:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ProtoError(f"unsupported wire type {wire}")
        fields.append((number, wire, value))
    if pos != end:
        raise ProtoError("truncated message")
    return fields


class Chunks(list):
    """An encoded message as a list of byte strings, joined only once at the
    end: nested messages are not copied again at every level."""

    size = 0

    def add(self, data) -> None:
        self.append(data)
        self.size += len(data)

    def extend_chunks(self, other: "Chunks") -> None:
        self.extend(other)
        self.size += other.size


def encode(fields) -> Chunks:
    out = Chunks()
    for number, wire, value in fields:
        head = bytearray()
        put_varint(head, number << 3 | wire)
        if wire == VARINT:
            put_varint(head, value)
            out.add(head)
            continue
        if wire == LEN:
            put_varint(head, value.size if isinstance(value, Chunks) else len(value))
        out.add(head)
        if isinstance(value, Chunks):
            out.extend_chunks(value)
        else:
            out.add(value)
    return out


def serialize(fields) -> bytes:
    return b"".join(encode(fields))
