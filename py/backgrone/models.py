"""Where model files live on a machine running CPython (the command line and
tests), and checking them. The browser keeps its own copies (see web/)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .engines import Engine
from .errors import ModelError


def cache_dir() -> Path:
    """The download cache shared by build.py and the command line."""
    env = os.environ.get("BACKGRONE_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "backgrone"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(path: Path, size: int | None, sha256: str | None) -> None:
    actual = path.stat().st_size
    if size is not None and actual != size:
        raise ModelError(f"{path} has {actual:,} bytes, expected {size:,}.")
    if sha256 is not None:
        digest = sha256_file(path)
        if digest != sha256:
            raise ModelError(f"{path} has sha256 {digest}, expected {sha256}.")


def models_dir() -> Path:
    """Where the models are kept: the cache's models/ folder."""
    return cache_dir() / "models"


def find_model(engine: Engine, model_dir: str | os.PathLike | None = None, fetch: bool = False,
               progress=True) -> Path:
    """The engine's model file, checked against its pinned size and sha256:
    from `model_dir`, $BACKGRONE_MODELS or the cache; with fetch=True a model
    that is in none of them is downloaded into the cache (see fetch.py)."""
    dirs = [Path(model_dir)] if model_dir else []
    if os.environ.get("BACKGRONE_MODELS"):
        dirs.append(Path(os.environ["BACKGRONE_MODELS"]))
    for d in dirs:
        path = d / engine.file
        if path.is_file():
            verify(path, engine.size, engine.sha256)
            return path
    if fetch:
        from . import fetch as fetching  # urllib and tarfile: only when a model is missing

        return fetching.fetch([engine.id], progress)[engine.id]
    path = models_dir() / engine.file
    if path.is_file():
        verify(path, engine.size, engine.sha256)
        return path
    where = ", ".join(str(d) for d in [*dirs, models_dir()])
    raise ModelError(
        f"The {engine.label} model ({engine.file}) was not found in {where}. "
        f"Run `backgrone models fetch {engine.id}` to download it, or pass --model PATH."
    )
