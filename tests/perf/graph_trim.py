"""Native onnxruntime (CPython, the command line's runtime) on each engine's
file as stored and trimmed to its mask (py/backgrone/graph_trim.py): the two
sessions run one after the other, 6 runs each, 2 threads, on one input.

    .venv/bin/python tests/perf/graph_trim.py

Prints the median of the runs after the first; nothing is asserted.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "py")]

from backgrone import graph_trim  # noqa: E402
from backgrone.engines import get_engine  # noqa: E402
from backgrone.models import find_model  # noqa: E402

RUNS = 6


def main() -> int:
    x = np.random.default_rng(0).standard_normal((1, 3, 1024, 1024)).astype(np.float32)
    for engine_id in ("lightweight", "precision"):
        data = find_model(get_engine(engine_id)).read_bytes()
        sessions = {}
        for label, model in (("as stored", data), ("trimmed", graph_trim.keep_first_output(data))):
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 2
            opts.log_severity_level = 3
            sessions[label] = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        times: dict[str, list[float]] = {label: [] for label in sessions}
        for _ in range(RUNS):
            for label, session in sessions.items():
                t0 = time.perf_counter()
                session.run([session.get_outputs()[0].name], {session.get_inputs()[0].name: x})
                times[label].append(time.perf_counter() - t0)
        print(engine_id + ": " + ", ".join(
            f"{label} {statistics.median(t[1:]):.3f} s (first {t[0]:.2f})" for label, t in times.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
