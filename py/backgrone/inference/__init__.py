"""One inference interface, two implementations.

- NativeSession: the `onnxruntime` package, under CPython.
- WebSession: onnxruntime-web, called through pyodide.ffi inside the browser.

Both are awaited the same way, so the pipeline is the same code in both places.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np

from ..engines import Engine
from ..errors import ModelError


class Session(Protocol):
    input_name: str
    output_name: str

    async def run(self, tensor: np.ndarray) -> np.ndarray:
        """float32 NCHW tensor -> the first output as a float32 array."""
        ...


def check_shapes(engine: Engine, input_shape, output_shape) -> None:
    """Refuse a model that is not an image-in, one-channel-mask-out network
    of the engine's input size. Symbolic dimensions (names, None, -1) pass."""
    w, h = engine.input_size
    want_in = (1, 3, h, w)
    want_out = (1, 1, h, w)

    def fits(shape, want) -> bool:
        if shape is None or len(shape) != len(want):
            return False
        return all(not isinstance(d, int) or d < 0 or d == x for d, x in zip(shape, want))

    if not fits(list(input_shape) if input_shape is not None else None, want_in):
        raise ModelError(
            f"This model file does not fit the {engine.label} engine: its input is "
            f"{_fmt(input_shape)}, the engine needs {_fmt(want_in)}."
        )
    if not fits(list(output_shape) if output_shape is not None else None, want_out):
        raise ModelError(
            f"This model file does not fit the {engine.label} engine: its first output "
            f"is {_fmt(output_shape)}, the engine needs {_fmt(want_out)}."
        )


def _fmt(shape) -> str:
    if shape is None:
        return "unknown"
    return "x".join(str(d) for d in shape)
