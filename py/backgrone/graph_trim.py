"""An engine's ONNX graph trimmed to the one output Backgrone reads.

ISNet's files declare twelve graph outputs besides the mask (five side masks
and six decoder feature maps, 64 MiB for the largest), and onnxruntime
computes every node and holds every graph output until a run ends, whatever
the run fetches. Dropping the other outputs, with the nodes and weights only
they need, makes a run under CPython 1-3% faster for Lightweight and 8-9% for
Precision (docs/performance.md, "Only the mask"); the mask comes from the
same nodes and weights.

The browser does the same in its session worker, in JavaScript, before the
model's bytes reach onnxruntime-web (web/worker/session/prune-graph.js); both
are tested against the `onnx` package's own extractor on the real files.
A graph with subgraphs (If, Loop: they may read any outer name), or a file
that does not parse, is returned as it is.
"""
from __future__ import annotations

from .protowire import (
    ATTR_G, ATTR_GRAPHS, GRAPH_INITIALIZER, GRAPH_NODE, GRAPH_OUTPUT, LEN, MODEL_GRAPH, NODE_ATTRIBUTE,
    NODE_INPUT, NODE_OUTPUT, TENSOR_NAME, VALUE_INFO_NAME, ProtoError, encode, parse, serialize,
)


class _Subgraph(Exception):
    pass


def _text(value) -> str:
    return bytes(value).decode()


def _name(buf, number: int) -> str | None:
    return next((_text(v) for n, w, v in parse(buf) if n == number and w == LEN), None)


def _node(buf) -> tuple[list[str], list[str]]:
    inputs, outputs = [], []
    for number, wire, value in parse(buf):
        if number == NODE_INPUT:
            inputs.append(_text(value))
        elif number == NODE_OUTPUT:
            outputs.append(_text(value))
        elif number == NODE_ATTRIBUTE and any(n in (ATTR_G, ATTR_GRAPHS) for n, w, v in parse(value)):
            raise _Subgraph
    return inputs, outputs


def _trim_graph(graph) -> list | None:
    """The graph's fields without what the first output does not need, or
    None when there is nothing to drop."""
    fields = parse(graph)
    outputs = [f for f in fields if f[0] == GRAPH_OUTPUT]
    if len(outputs) < 2:
        return None
    live = {_name(outputs[0][2], VALUE_INFO_NAME)}
    drop = {id(f) for f in outputs[1:]}
    nodes = [(f, *_node(f[2])) for f in fields if f[0] == GRAPH_NODE]
    producer = {out: i for i, (_, _, outs) in enumerate(nodes) for out in outs}
    # Back from the kept output through each name's producer: not every file
    # lists its nodes in topological order.
    needed, todo = set(), list(live)
    while todo:
        i = producer.get(todo.pop())
        if i is None or i in needed:
            continue
        needed.add(i)
        for name in nodes[i][1]:
            if name not in live:
                live.add(name)
                todo.append(name)
    drop |= {id(f) for i, (f, _, _) in enumerate(nodes) if i not in needed}
    drop |= {id(f) for f in fields if f[0] == GRAPH_INITIALIZER and _name(f[2], TENSOR_NAME) not in live}
    return [f for f in fields if id(f) not in drop]


def keep_first_output(model: bytes) -> bytes:
    """`model` (an ONNX file's bytes) with every graph output but the first,
    and every node and weight only they need, removed."""
    try:
        fields = parse(model)
        graphs = [i for i, f in enumerate(fields) if f[0] == MODEL_GRAPH and f[1] == LEN]
        if len(graphs) != 1:
            return model
        graph = _trim_graph(fields[graphs[0]][2])
    except (ProtoError, _Subgraph, UnicodeDecodeError):
        return model
    if graph is None:
        return model
    fields[graphs[0]] = (MODEL_GRAPH, LEN, encode(graph))  # joined once, below
    return serialize(fields)
