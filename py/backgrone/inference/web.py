"""onnxruntime-web inside the browser, called from Python through pyodide.ffi.

onnxruntime-web runs in a worker of its own, the session worker
(web/worker/session/), so that an engine starts while Python boots and the
network runs off Python's thread. The engine worker opens the session there
and hands Python a proxy of it (`remote`: run(Float32Array, dims) and
release()); the model's bytes never enter Python memory (except once, to
widen fp16 weights for a GPU without fp16 shaders: fp32_model). Tensors
cross as one Float32Array each way, transferred between the workers, not
copied.
"""
from __future__ import annotations

import numpy as np

from ..engines import Engine
from ..errors import ModelError
from . import check_shapes


class WebSession:
    run_seconds: float | None = None  # the last session.run alone, as the session worker timed it

    def __init__(self, remote, engine: Engine, input_name: str, output_name: str):
        self._remote = remote
        self.engine = engine
        self.input_name = input_name
        self.output_name = output_name

    @classmethod
    async def attach(cls, remote, engine: Engine, info: dict) -> "WebSession":
        """The session the session worker opened for `engine`; `info` is its
        open reply (names and shapes). A model whose shapes do not fit the
        engine is released and refused."""
        in_shape, out_shape = info.get("inputShape"), info.get("outputShape")
        if in_shape is not None and out_shape is not None:
            try:
                check_shapes(engine, list(in_shape), list(out_shape))
            except ModelError:
                await remote.release()
                raise
        return cls(remote, engine, str(info["input"]), str(info["output"]))

    async def run(self, tensor: np.ndarray) -> np.ndarray:
        from js import Float32Array
        from pyodide.ffi import to_js

        flat = np.ascontiguousarray(tensor, dtype=np.float32).reshape(-1)
        data = Float32Array.new(flat.size)
        data.assign(flat)  # one copy into JS memory, then transferred
        out = await self._remote.run(data, to_js(list(tensor.shape)))
        self.run_seconds = float(out.seconds)  # session.run alone; the rest is hand-over
        result = np.empty(tuple(int(d) for d in out.dims), dtype=np.float32)
        out.output.assign_to(result)
        return result

    async def release(self) -> None:
        await self._remote.release()


def fp32_model(model_bytes):
    """The model (a JS Uint8Array) with fp16 weights made fp32, as a new JS
    Uint8Array, copied out part by part."""
    from js import Uint8Array

    from ..fp32 import to_fp32_parts

    size, parts = to_fp32_parts(model_bytes.to_bytes())
    out = Uint8Array.new(size)
    offset = 0
    for part in parts:
        out.subarray(offset, offset + len(part)).assign(part)
        offset += len(part)
    return out
