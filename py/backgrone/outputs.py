"""A batch's bookkeeping, the same for `backgrone remove` and `backgrone
batch`: which files are inputs, what each output is called, which are done
already, one image's work as a manifest row, and the manifest itself."""
from __future__ import annotations

import json
import os
import posixpath
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from . import compose
from .errors import BackgroneError
from .options import CutoutOptions

# In a folder, files with these names are taken. HEIC and the other formats
# Pillow may not read are included, so each gets a message rather than
# being skipped without a word.
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".avif", ".gif", ".bmp", ".tif", ".tiff",
                  ".heic", ".heif", ".jxl", ".jp2"}

MANIFEST = "manifest.jsonl"


def is_image_name(name: str) -> bool:
    return posixpath.splitext(name)[1].lower() in IMAGE_SUFFIXES


def expand_local(paths: Iterable[str]) -> list[str]:
    """Files as given; folders give the images directly inside them, sorted."""
    out: list[str] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(str(f) for f in sorted(p.iterdir()) if f.is_file() and is_image_name(f.name))
        else:
            out.append(str(p))
    return out


@dataclass(frozen=True)
class Task:
    index: int
    input: str  # a path or URI
    output: str  # the result's file name in the destination
    mask: str | None  # the mask's file name there, if asked


def plan(inputs: list[str], options: CutoutOptions, taken: Iterable[str] = ()) -> list[Task]:
    """The app's names (photo.jpg -> photo-cutout.png, photo-mask.png),
    made unique over the whole batch: "photo-cutout (2).png" for a second
    photo.* and so on. `taken`: names in the destination that must never be
    written (inputs that live there). The same inputs always get the same
    names, so a stopped batch resumes with --skip-existing."""
    used = {name.lower() for name in taken}
    tasks = []
    for index, source in enumerate(inputs):
        base = posixpath.basename(source.replace("\\", "/").rstrip("/"))
        output = compose.unique_name(compose.output_name(base, options.format), used)
        mask = None
        if options.mask and options.format != "mask":
            mask = compose.unique_name(compose.output_name(base, "mask"), used)
        tasks.append(Task(index, source, output, mask))
    return tasks


def local_taken(inputs: list[str], dest: Path) -> list[str]:
    """Names of the inputs that are in the destination folder itself."""
    here = dest.resolve()
    return [Path(p).name for p in inputs if Path(p).resolve().parent == here]


def write_atomic(path: Path, data: bytes) -> None:
    """Whole or not at all: a file that exists is complete, which is what
    --skip-existing relies on after a stopped run."""
    part = path.with_name(f".{path.name}.part")
    with open(part, "wb") as f:
        f.write(data)
    os.replace(part, path)


def run_task(cutter, task: Task, read: Callable[[str], bytes],
             write: Callable[[str, bytes], str]) -> dict:
    """One image, read, cut out and written, as its manifest row. Whatever
    goes wrong with this image stays in its row: the batch goes on."""
    start = time.perf_counter()
    row = {"input": task.input, "status": "failed", "engine": cutter.engine.id, "output": None}
    try:
        data = read(task.input)
    except OSError as exc:
        return {**row, "code": "unreadable", "error": f"cannot read: {exc.strerror or exc}"}
    try:
        cut = cutter.cut(data)
    except BackgroneError as exc:
        message = str(exc)
        if exc.code == "too-large":  # over the limit, within twice it: the command line's way to take the offer
            message += " Run again with --reduce for that."
        return {**row, "code": exc.code, "error": message}
    except Exception as exc:  # noqa: BLE001  a bug shows in this image's row, not as a stopped batch
        return {**row, "code": "internal", "error": f"unexpected error: {type(exc).__name__}: {exc}"}
    try:
        row["output"] = write(task.output, cut.output)
        if task.mask:
            row["mask"] = write(task.mask, cut.mask)
    except OSError as exc:
        return {**row, "output": None, "code": "unwritable", "error": f"cannot write: {exc.strerror or exc}"}
    return {**row, "status": "done", "width": cut.width, "height": cut.height, "notes": cut.notes,
            "timings": {k: round(v, 4) for k, v in cut.timings.items()},
            "seconds": round(time.perf_counter() - start, 4), "worker": os.getpid()}


def skipped_row(task: Task, engine: str, output: str, mask: str | None) -> dict:
    row = {"input": task.input, "status": "skipped", "engine": engine, "output": output}
    if mask:
        row["mask"] = mask
    return row


class Reporter:
    """What the user sees and the manifest records of each finished image."""

    def __init__(self, progress, manifest, timings: bool = False):
        self.progress = progress
        self.manifest = manifest
        self.timings = timings

    def __call__(self, task, row: dict) -> None:
        self.manifest.write(row)
        if row["status"] == "failed":
            self.progress.message(f"{task.input}: {row['error']}")
        for note in row.get("notes") or ():
            self.progress.message(f"{task.input}: {note}")
        if self.timings and row.get("timings"):
            stages = " ".join(f"{s}={t * 1000:.0f}ms" for s, t in row["timings"].items())
            self.progress.message(f"{task.input}: {stages}")
        self.progress.step(Path(task.input).name)

    def summary(self, total: int, dest) -> str:
        c = self.manifest.counts
        line = f"{c['done'] + c['skipped']} of {total} images cut out into {dest}"
        if c["skipped"]:
            line += f" ({c['skipped']} already there)"
        if c["failed"]:
            line += f"; {c['failed']} failed"
        if self.manifest.path:
            line += f"; manifest: {self.manifest.path}"
        return line


class Manifest:
    """JSON Lines, one row per input, written as each image finishes so a
    stopped batch leaves a record of what it did."""

    def __init__(self, path: Path | None):
        """path None: rows are counted, not written."""
        self.path = path
        self._file = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(path, "w", encoding="utf-8")
        self.counts = {"done": 0, "skipped": 0, "failed": 0}

    def write(self, row: dict) -> None:
        if self._file is not None:
            self._file.write(json.dumps(row, ensure_ascii=False) + "\n")
            self._file.flush()
        self.counts[row["status"]] += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

