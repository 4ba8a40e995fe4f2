"""A copy of the built site whose engines are stand-in models (tests/standin.py):
self-hosted and pinned by size and sha256 like the real ones, so a page runs
every engine in milliseconds, with known masks."""
from __future__ import annotations

import hashlib
import json
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import build


def site_copy(site: Path, change: Callable[[list[dict]], None], built: Path = build.DIST) -> Path:
    """`built` copied to `site` (hard links where it can: fast, and never
    written through), its engine list changed in place by `change`."""
    shutil.copytree(built, site, copy_function=lambda src, dst: build.link_or_copy(Path(src), Path(dst)))
    engines = json.loads((site / "engines.json").read_text())
    change(engines)
    (site / "engines.json").unlink()  # a link to the build's copy: replace it, never write through it
    (site / "engines.json").write_text(json.dumps(engines, indent=1))
    return site


def make_standin_site(folder: Path, models: dict[str, Path]) -> Path:
    """dist/ copied into `folder`, its engine list pointing at `models`
    (engine id -> .onnx file)."""
    site = folder / "dist"

    def point_at_models(engines: list[dict]) -> None:
        for entry in engines:
            model = models[entry["id"]]
            shutil.copy(model, site / "models" / f"standin-{entry['id']}.onnx")
            data = model.read_bytes()
            entry.update(source=f"models/standin-{entry['id']}.onnx", size=len(data),
                         sha256=hashlib.sha256(data).hexdigest(), self_hosted=True)

    return site_copy(site, point_at_models)


def serve(directory: Path):
    server = build.make_server(directory)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
