"""Native figures under CPython: onnxruntime's `session.run` alone (the floor
on this CPU), and the pipeline's Python stages with their time and peak memory."""
from __future__ import annotations

import asyncio
import gc
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
import tracemalloc

import numpy as np

from backgrone import band, composite, foreground, imageio, refine, tensors
from backgrone.engines import Engine
from backgrone.inference.native import NativeSession
from backgrone.pipeline import remove_background


def session_run(model, engine: Engine, tensor: np.ndarray, runs: int, threads: int):
    """Median seconds of `session.run` for one tensor, first output only, as
    the app asks, and that output. The first run is reported apart: it
    includes the session's own warm-up."""
    session = NativeSession(model, engine, threads=threads)
    ort_session = session._session
    feeds = {session.input_name: tensor}
    times = []
    for _ in range(runs + 1):
        t0 = time.perf_counter()
        (output,) = ort_session.run([session.output_name], feeds)
        times.append(time.perf_counter() - t0)
    return {"first": times[0], "median": statistics.median(times[1:]), "runs": times[1:]}, output


def python_stages(data: bytes, engine: Engine, output: np.ndarray, runs: int) -> dict:
    """The pipeline's own stages around a fixed network output, under CPython:
    median seconds per stage, and the peak of traced allocations (numpy
    arrays; Pillow's image memory is not traced) for one whole image."""
    def once() -> dict:
        t = {}
        t0 = time.perf_counter()
        decoded = imageio.decode(data)
        t["decode"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        tensors.preprocess(decoded.rgb, engine)
        t["preprocess"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        mask = tensors.mask_from_output(output, decoded.size)
        t["postprocess"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        scale = refine.network_scale(decoded.size, engine.input_size)
        grid = band.photo_grid(decoded.rgb, band.grid_step(scale))
        mask = refine.refine(decoded.rgb, mask, scale, grid=grid)
        t["refine"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        foreground.decontaminate(decoded.rgb, mask, scale, grid=grid)
        t["decontaminate"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        rgba = composite.cutout(decoded.rgb, mask, decoded.alpha, in_place=True)
        t["composite"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        imageio.encode_png(rgba)
        t["encode"] = time.perf_counter() - t0
        return t

    samples = [once() for _ in range(runs)]
    medians = {k: statistics.median(s[k] for s in samples) for k in samples[0]}
    return {"stages": medians, "total": sum(medians.values())}


class _FixedSession:
    """A session that answers with a stored output: the pipeline's memory
    without the network's own (onnxruntime's arena is not Python memory)."""

    input_name = "input"
    output_name = "output"

    def __init__(self, output: np.ndarray):
        self.output = output

    async def run(self, tensor: np.ndarray) -> np.ndarray:
        return self.output.copy()


def _rss_peak() -> int | None:
    """This process's peak resident memory (VmHWM), bytes; None off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_rss_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
        return True
    except OSError:
        return False


def pipeline_peak(data: bytes, engine: Engine, output: np.ndarray, **edges) -> dict:
    """Peak memory of remove_background for one image, network excluded.

    tracemalloc sees numpy's arrays and Python's objects, but not Pillow's
    image buffers (allocated in C). The rise of the process's peak resident
    memory over where it started sees both (Linux only). `edges`: refine=,
    decontaminate= for remove_background."""
    gc.collect()
    reset = _reset_rss_peak()
    rss0 = _rss_peak() if reset else None
    tracemalloc.start()
    try:
        # In a thread of its own: Playwright's sync API runs a loop in this one.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, remove_background(data, engine, _FixedSession(output), **edges)).result()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss1 = _rss_peak() if reset else None
    return {
        "tracemalloc_peak_bytes": peak,
        "rss_peak_rise_bytes": (rss1 - rss0) if rss0 is not None and rss1 is not None else None,
    }
