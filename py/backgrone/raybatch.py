"""`backgrone batch`: a catalogue on Ray Data.

The driver (this process) lists the inputs, names every output (as
`backgrone remove` does), and leaves out those already there with
--skip-existing. The images then go through `map_batches` on a pool of
actors, each holding one onnxruntime session made once from the model bytes
the driver put in Ray's object store (no per-image model load, no download
on the workers). Each actor reads its images and writes their results itself,
by path or through pyarrow's filesystems (s3://, gs://, hdfs://...), and
returns one manifest row per image. A broken image fails in its row; an actor
that dies is restarted by Ray and its unfinished work retried, and the driver
writes each input's row exactly once.
"""
from __future__ import annotations

import fnmatch
import glob
import json
import os
import sys
from pathlib import Path

from .errors import BackgroneError
from .options import CutoutOptions
from .outputs import (Manifest, Reporter, Task, is_image_name, plan, run_task, skipped_row,
                      write_atomic)

NEEDS_RAY = ("`backgrone batch` runs on Ray Data, which is not installed: "
             "pip install \"backgrone[cli,batch]\" (in a checkout: pip install \".[cli,batch]\").")
# Threads of each actor's session when --threads is not given: one, and one
# actor per CPU, as `backgrone remove --jobs` does on a 2-core machine.
ACTOR_THREADS = 1
ROWS_PER_BLOCK = 16  # a block is Ray's unit of retry: small, so a dead actor redoes little
_GLOB = set("*?[")


def main(args, options: CutoutOptions) -> int:
    import importlib.util

    from .progress import Progress

    if importlib.util.find_spec("ray") is None:
        raise BackgroneError(NEEDS_RAY)
    sources = list(args.sources)
    if args.list_file:
        text = Path(args.list_file).read_text(encoding="utf-8")
        sources += [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not sources:
        print("backgrone: no sources given", file=sys.stderr)
        return 2
    inputs = list_sources(sources)
    if not inputs:
        print(f"backgrone: no images found in {', '.join(sources)}", file=sys.stderr)
        return 2
    dest = Destination(args.output)
    tasks = plan(inputs, options, taken=dest.taken(inputs))
    manifest_path = Path(args.manifest) if args.manifest else dest.manifest_path()
    progress = Progress(len(tasks))
    with Manifest(manifest_path) as manifest:
        report = Reporter(progress, manifest, args.timings)
        todo = tasks
        if args.skip_existing:
            there = dest.existing([n for t in tasks for n in (t.output, t.mask) if n])
            todo = []
            for task in tasks:
                if task.output in there and (not task.mask or task.mask in there):
                    report(task, skipped_row(task, options.engine, dest.uri(task.output),
                                             dest.uri(task.mask) if task.mask else None))
                else:
                    todo.append(task)
        if todo:
            run(todo, dest, options, address=args.address, jobs=args.jobs, report=report)
        if dest.remote:
            dest.upload(manifest_path)
        print(report.summary(len(tasks), args.output), file=sys.stderr)
        return 1 if manifest.counts["failed"] else 0


# -- inputs ------------------------------------------------------------------


def _is_uri(source: str) -> bool:
    return "://" in source


def _filesystem(uri: str):
    from pyarrow import fs

    return fs.FileSystem.from_uri(uri)


def list_sources(sources: list[str]) -> list[str]:
    """Folders (the images directly inside), globs, and files, local or as
    URIs. A named file that is missing stays in the list and fails alone."""
    out: list[str] = []
    for source in sources:
        if not _is_uri(source):
            if _GLOB & set(source):
                out += sorted(os.path.abspath(p) for p in glob.glob(source, recursive=True)
                              if os.path.isfile(p))
            elif os.path.isdir(source):
                out += sorted(os.path.abspath(e.path) for e in os.scandir(source)
                              if e.is_file() and is_image_name(e.name))
            else:
                out.append(os.path.abspath(source))
            continue
        from pyarrow import fs

        scheme = source.split("://", 1)[0]
        if _GLOB & set(source):
            head = source.split("://", 1)[1]
            parts = head.split("/")
            fixed = next(i for i, p in enumerate(parts) if _GLOB & set(p))
            base_uri = f"{scheme}://" + "/".join(parts[:fixed])
            filesystem, base = _filesystem(base_uri)
            pattern = base.rstrip("/") + "/" + "/".join(parts[fixed:])
            deep = "**" in pattern or len(parts) - fixed > 1
            infos = filesystem.get_file_info(fs.FileSelector(base, recursive=deep))
            out += sorted(_uri(scheme, i.path) for i in infos
                          if i.type == fs.FileType.File and fnmatch.fnmatch(i.path, pattern))
            continue
        filesystem, path = _filesystem(source)
        info = filesystem.get_file_info(path)
        if info.type == fs.FileType.Directory:
            infos = filesystem.get_file_info(fs.FileSelector(path))
            out += sorted(_uri(scheme, i.path) for i in infos
                          if i.type == fs.FileType.File and is_image_name(i.base_name))
        else:
            out.append(source)
    return out


def _uri(scheme: str, path: str) -> str:
    if scheme == "file":
        return "file://" + path
    return f"{scheme}://{path}"


_filesystems: dict = {}
# Filesystems whose paths begin with the bucket (the URI's host part).
_BUCKETED = {"s3", "gs", "gcs", "abfs", "abfss", "az"}


def read_source(source: str) -> bytes:
    """An input's bytes, from a local path or a URI (one filesystem object
    per scheme and host, made on first use)."""
    if not _is_uri(source):
        with open(source, "rb") as f:
            return f.read()
    from urllib.parse import urlsplit

    parts = urlsplit(source)
    key = (parts.scheme, parts.netloc)
    filesystem = _filesystems.get(key)
    if filesystem is None:
        filesystem = _filesystems[key] = _filesystem(source)[0]
    path = parts.netloc + parts.path if parts.scheme in _BUCKETED else parts.path
    with filesystem.open_input_stream(path) as f:
        return f.readall()


# -- the destination -------------------------------------------------------------


class Destination:
    """The output folder: a local path, or a URI reached through pyarrow."""

    def __init__(self, where: str):
        self.where = where
        self.remote = _is_uri(where) and not where.startswith("file://")
        if self.remote:
            self.fs, self.root = _filesystem(where)
            self.fs.create_dir(self.root, recursive=True)
        else:
            self.fs = None
            self.root = os.path.abspath(where.removeprefix("file://"))
            os.makedirs(self.root, exist_ok=True)

    def uri(self, name: str) -> str:
        if self.remote:
            return self.where.rstrip("/") + "/" + name
        return os.path.join(self.root, name)

    def taken(self, inputs: list[str]) -> list[str]:
        """Names of the inputs that are in the destination itself: never written."""
        here = self.where.rstrip("/") if self.remote else self.root
        return [os.path.basename(p) for p in inputs if os.path.dirname(p) == here]

    def existing(self, names: list[str]) -> set[str]:
        if not self.remote:
            return {n for n in names if os.path.isfile(os.path.join(self.root, n))}
        from pyarrow import fs

        infos = self.fs.get_file_info([f"{self.root}/{n}" for n in names])
        return {n for n, i in zip(names, infos) if i.type == fs.FileType.File}

    def manifest_path(self) -> Path:
        if self.remote:
            return Path.cwd() / "manifest.jsonl"  # written here as the batch goes, uploaded at the end
        return Path(self.root) / "manifest.jsonl"

    def upload(self, path: Path) -> None:
        with self.fs.open_output_stream(f"{self.root}/{path.name}") as out:
            out.write(path.read_bytes())

    def writer(self):
        """write(name, bytes) -> where it went; runs in the actors."""
        if not self.remote:
            root = self.root

            def write(name: str, data: bytes) -> str:
                target = os.path.join(root, name)
                write_atomic(Path(target), data)
                return target
            return write
        where = self.where

        def write_remote(name: str, data: bytes) -> str:
            filesystem, root = _filesystem(where)
            with filesystem.open_output_stream(f"{root}/{name}") as out:  # an object appears whole
                out.write(data)
            return where.rstrip("/") + "/" + name
        return write_remote

    def __getstate__(self):
        return {"where": self.where}

    def __setstate__(self, state):
        self.__init__(state["where"])


# -- the run ---------------------------------------------------------------


class CutoutActor:
    """One onnxruntime session for the actor's lifetime; one image per row."""

    def __init__(self, options: CutoutOptions, model: list, dest: Destination):
        import ray

        from .cutter import Cutter

        self.cutter = Cutter(options, model=ray.get(model[0]))
        self.write = dest.writer()

    def __call__(self, batch: dict) -> dict:
        import numpy as np

        rows = []
        for index, source, output, mask in zip(batch["index"], batch["input"], batch["output"],
                                               batch["mask"]):
            task = Task(int(index), str(source), str(output), str(mask) or None)
            rows.append(json.dumps({"index": task.index, **run_task(self.cutter, task, read_source,
                                                                     self.write)}))
        return {"row": np.array(rows, dtype=object)}


def _start_ray(address: str | None):
    # No usage report leaves the machine; a local Ray listens on loopback
    # only; Ray's own C++ logs (noisy, and the manifest says what happened)
    # only when asked for. Each can be set otherwise in the environment.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    if not address:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import logging

        import ray
        import ray.data
    except ImportError:
        raise BackgroneError(NEEDS_RAY) from None
    kwargs = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    try:
        ray.init(address=address, **({} if address else {"num_cpus": _local_cpus()}), **kwargs)
    except ConnectionError as exc:
        raise BackgroneError(f"Could not join the Ray cluster at {address}: {exc}") from None
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    return ray


def _local_cpus() -> int:
    from .local import cpu_count

    return cpu_count()


def _model_bytes(options: CutoutOptions) -> bytes:
    """The model, checked on this machine first, so a missing or wrong one
    is one clear error before any actor starts."""
    from .engines import get_engine
    from .inference.native import NativeSession
    from .models import find_model

    engine = get_engine(options.engine)
    path = Path(options.model) if options.model else find_model(engine, fetch=True)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BackgroneError(f"The {engine.label} model could not be loaded: {exc.strerror}: {path}") from None
    NativeSession(data, engine, threads=1)  # raises ModelError for a file that does not fit
    return data


def run(tasks: list[Task], dest: Destination, options: CutoutOptions, address: str | None,
        jobs: int | None, report) -> None:
    # Inside a Ray job (`ray job submit`) the cluster is given in RAY_ADDRESS.
    address = address or os.environ.get("RAY_ADDRESS") or None
    model = _model_bytes(options)
    ray = _start_ray(address)
    try:
        threads = options.threads or ACTOR_THREADS
        options = options.with_threads(threads)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        # A pool larger than the cluster would wait for CPUs that never come.
        actors = min(jobs or cpus, max(1, cpus // threads))
        if jobs and actors < jobs:
            print(f"backgrone: the cluster has {cpus} CPUs: {actors} workers of {threads} threads, "
                  f"not {jobs}", file=sys.stderr)
        actors = min(actors, len(tasks))
        model_ref = ray.put(model)
        del model
        items = [{"index": t.index, "input": t.input, "output": t.output, "mask": t.mask or ""}
                 for t in tasks]
        blocks = max(1, min(len(items), max(actors * 4, -(-len(items) // ROWS_PER_BLOCK))))
        dataset = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
            CutoutActor,
            fn_constructor_kwargs={"options": options, "model": [model_ref], "dest": dest},
            batch_size=1,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=threads,
        )
        by_index = {t.index: t for t in tasks}
        seen: set[int] = set()
        failure = None
        try:
            for item in dataset.iter_rows():
                row = json.loads(item["row"])
                index = row.pop("index")
                if index in seen:  # a retried block's row, already written once
                    continue
                seen.add(index)
                report(by_index[index], row)
        except Exception as exc:  # noqa: BLE001  Ray gave up: say so for every image not done
            failure = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        for task in tasks:
            if task.index not in seen:
                report(task, {"input": task.input, "status": "failed", "engine": options.engine,
                              "output": None, "code": "lost",
                              "error": f"no result came back from the workers ({failure or 'unknown'})"})
    finally:
        ray.shutdown()
