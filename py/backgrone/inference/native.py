"""The `onnxruntime` package under CPython: the command line and the reference."""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from .. import graph_trim
from ..engines import Engine
from ..errors import ModelError
from . import check_shapes


class NativeSession:
    run_seconds: float | None = None  # the last session.run alone

    def __init__(self, model: str | os.PathLike | bytes, engine: Engine, threads: int | None = None):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        opts.log_severity_level = 3
        try:
            data = model if isinstance(model, bytes) else Path(model).read_bytes()
            self._session = ort.InferenceSession(
                graph_trim.keep_first_output(data),  # the mask's nodes only
                sess_options=opts,
                providers=["CPUExecutionProvider"],
            )
        except Exception as exc:
            raise ModelError(f"The {engine.label} model could not be loaded: {exc}") from None
        first_in = self._session.get_inputs()[0]
        first_out = self._session.get_outputs()[0]
        check_shapes(engine, first_in.shape, first_out.shape)
        self.input_name = first_in.name
        self.output_name = first_out.name

    async def run(self, tensor: np.ndarray) -> np.ndarray:
        # Ask for the first output alone: the others are never read.
        t0 = time.perf_counter()
        (out,) = self._session.run([self.output_name], {self.input_name: tensor})
        self.run_seconds = time.perf_counter() - t0
        return out
