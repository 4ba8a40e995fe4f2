"""onnxruntime-web inside the browser, called from Python through pyodide.ffi.

The worker hands over the `ort` module and the model's bytes as JS objects;
the model never enters Python memory (except once, to widen fp16 weights for
a GPU without fp16 shaders). Tensors cross as one Float32Array each way. The
backend (WASM or WebGPU) is the options' executionProviders; the worker
chooses it.
"""
from __future__ import annotations

import time

import numpy as np

from ..engines import Engine
from ..errors import ModelError
from . import check_shapes


class WebSession:
    run_seconds: float | None = None  # the last session.run alone, without the copies

    def __init__(self, ort, js_session, engine: Engine, input_name: str, output_name: str):
        self._ort = ort
        self._session = js_session
        self.engine = engine
        self.input_name = input_name
        self.output_name = output_name

    @classmethod
    async def create(cls, ort, model_bytes, engine: Engine, options: dict | None = None) -> "WebSession":
        from js import Object
        from pyodide.ffi import JsException, to_js

        js_options = to_js(options or {}, dict_converter=Object.fromEntries)
        webgpu = "webgpu" in (options or {}).get("executionProviders", ())
        try:
            try:
                session = await ort.InferenceSession.create(model_bytes, js_options)
            except JsException as exc:
                # A GPU without fp16 shaders (no "shader-f16") cannot run fp16
                # weights (Precision): widen them to fp32 once, in memory.
                if not (webgpu and "f16" in str(exc)):
                    raise
                session = await ort.InferenceSession.create(_fp32_copy(model_bytes), js_options)
        except JsException as exc:
            raise ModelError(f"The {engine.label} model could not be loaded: {exc}") from None
        input_name = str(session.inputNames[0])
        output_name = str(session.outputNames[0])
        in_shape = _metadata_shape(session, "inputMetadata", 0)
        out_shape = _metadata_shape(session, "outputMetadata", 0)
        if in_shape is not None and out_shape is not None:
            try:
                check_shapes(engine, in_shape, out_shape)
            except ModelError:
                await session.release()
                raise
        self = cls(ort, session, engine, input_name, output_name)
        if webgpu:
            # WebGPU kernels that cannot run a node fail at the first run, not
            # at creation: make that run now, so the caller can still choose
            # WASM (it also compiles the shaders before the first image).
            w, h = engine.input_size
            try:
                await self.run(np.zeros((1, 3, h, w), np.float32))
            except BaseException:
                await self.release()
                raise
        return self

    async def run(self, tensor: np.ndarray) -> np.ndarray:
        from js import Float32Array, Object
        from pyodide.ffi import to_js

        flat = np.ascontiguousarray(tensor, dtype=np.float32).reshape(-1)
        data = Float32Array.new(flat.size)
        data.assign(flat)  # one copy into JS memory
        feed = self._ort.Tensor.new("float32", data, to_js(list(tensor.shape)))
        feeds = to_js({self.input_name: feed}, dict_converter=Object.fromEntries)
        # Fetch the first output alone: ISNet has 12 more, 4 MiB each.
        t0 = time.perf_counter()
        results = await self._session.run(feeds, to_js([self.output_name]))
        self.run_seconds = time.perf_counter() - t0  # session.run alone; the rest is hand-over
        out = getattr(results, self.output_name)
        try:
            shape = tuple(int(d) for d in out.dims)
            result = np.empty(shape, dtype=np.float32)
            out.data.assign_to(result)
        finally:
            out.dispose()
            feed.dispose()
        return result

    async def release(self) -> None:
        await self._session.release()


def _fp32_copy(model_bytes):
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


def _metadata_shape(session, attr: str, index: int):
    """Shapes from onnxruntime-web's inputMetadata/outputMetadata, where the
    version has them; None where it does not say."""
    meta = getattr(session, attr, None)
    if meta is None:
        return None
    try:
        item = meta[index]
        if not item.isTensor:
            return None
        return [d if isinstance(d, int) else str(d) for d in item.shape.to_py()]
    except Exception:
        return None
