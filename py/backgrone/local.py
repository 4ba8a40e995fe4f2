"""A batch on this machine: one process, or --jobs worker processes, each with
its own onnxruntime session and its share of the CPUs."""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable

from .errors import BackgroneError
from .options import CutoutOptions
from .outputs import Task, run_task, write_atomic

# Measured on the 2-core machine the project is developed on (docs/scale.md):
# two processes with one inference thread each cut out more images per second
# than one process with two threads: the decode, resize and encode stages run
# on one core, and a second process fills the other while inference waits.
DEFAULT_JOBS = 2
IN_FLIGHT = 2  # tasks queued per worker: enough to keep it busy, few to lose if it dies


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_jobs() -> int:
    return max(1, min(DEFAULT_JOBS, cpu_count()))


def share_threads(options: CutoutOptions, jobs: int) -> CutoutOptions:
    """Each worker's inference threads: as asked, else its share of the CPUs."""
    return options if options.threads else options.with_threads(max(1, cpu_count() // jobs))


def _reader(path: str) -> bytes:
    return Path(path).read_bytes()


def _writer(dest: Path) -> Callable[[str, bytes], str]:
    def write(name: str, data: bytes) -> str:
        target = dest / name
        write_atomic(target, data)
        return str(target)
    return write


def run(tasks: list[Task], dest: Path, options: CutoutOptions, model: Path, jobs: int,
        report: Callable[[Task, dict], None]) -> None:
    """Cut out every task, calling report(task, row) as each one finishes
    (in the order they finish). A ModelError (the model cannot be loaded)
    stops the batch before any image."""
    jobs = max(1, min(jobs, len(tasks)))
    options = share_threads(options, jobs)
    if jobs == 1:
        from .cutter import Cutter

        cutter = Cutter(options, model=model)
        write = _writer(dest)
        for task in tasks:
            report(task, run_task(cutter, task, _reader, write))
        return
    _run_pool(tasks, dest, options, model, jobs, report)


# -- worker processes ---------------------------------------------------------

_worker: dict = {}


def _start_worker(options: CutoutOptions, model: Path, dest: Path) -> None:
    from .cutter import Cutter

    try:
        _worker["cutter"] = Cutter(options, model=model)
    except BackgroneError as exc:
        _worker["error"] = exc  # told to the parent with the first task
    _worker["write"] = _writer(dest)


def _work(task: Task) -> dict:
    if "error" in _worker:
        raise _worker["error"]
    return run_task(_worker["cutter"], task, _reader, _worker["write"])


def _run_pool(tasks, dest, options, model, jobs, report) -> None:
    # spawn, not fork: onnxruntime's thread pools do not survive a fork.
    context = multiprocessing.get_context("spawn")
    pending = iter(tasks)
    running: dict = {}
    broken = False
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker,
                             initargs=(options, model, dest)) as pool:
        def submit_more():
            nonlocal broken
            while not broken and len(running) < jobs * IN_FLIGHT:
                task = next(pending, None)
                if task is None:
                    return
                try:
                    running[pool.submit(_work, task)] = task
                except BrokenProcessPool:
                    broken = True
                    report(task, _lost(task, options))
            if broken:
                for task in pending:
                    report(task, _lost(task, options))

        try:
            submit_more()
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    task = running.pop(future)
                    try:
                        row = future.result()
                    except BrokenProcessPool:
                        broken = True
                        row = _lost(task, options)
                    report(task, row)
                submit_more()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _lost(task: Task, options: CutoutOptions) -> dict:
    return {"input": task.input, "status": "failed", "engine": options.engine, "output": None,
            "code": "worker-died", "error": "its worker process stopped (out of memory?) before it was done"}
