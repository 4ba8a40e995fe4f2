"""A copy of the built site whose engines are stand-in models (tests/standin.py):
self-hosted and pinned by size and sha256 like the real ones, so a page runs
every engine in milliseconds, with known masks."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from pathlib import Path

import build


def make_standin_site(folder: Path, models: dict[str, Path]) -> Path:
    """dist/ copied into `folder` (hard links: fast, and never written through),
    its engine list pointing at `models` (engine id -> .onnx file)."""
    site = folder / "dist"
    shutil.copytree(build.DIST, site, copy_function=os.link)
    engines = json.loads((site / "engines.json").read_text())
    for entry in engines:
        model = models[entry["id"]]
        shutil.copy(model, site / "models" / f"standin-{entry['id']}.onnx")
        data = model.read_bytes()
        entry.update(source=f"models/standin-{entry['id']}.onnx", size=len(data),
                     sha256=hashlib.sha256(data).hexdigest(), self_hosted=True)
    (site / "engines.json").unlink()  # a link to dist/'s copy: replace it, never write through it
    (site / "engines.json").write_text(json.dumps(engines))
    return site


def serve(directory: Path):
    server = build.make_server(directory)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
