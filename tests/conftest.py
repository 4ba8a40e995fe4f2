"""Fixtures shared by the CPython and the browser tests."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "py", ROOT / "tests"):
    sys.path.insert(0, str(path))

from backgrone.engines import get_engine  # noqa: E402
from backgrone.models import find_model  # noqa: E402
from helpers import PHOTOS  # noqa: E402
from standin import make_standin  # noqa: E402


@pytest.fixture(scope="session")
def photos() -> dict[str, Path]:
    for name, path in PHOTOS.items():
        assert path.is_file(), f"test photo {name} missing at {path}"
    return PHOTOS


@pytest.fixture(scope="session")
def model_path():
    """The real model file of an engine, as build.py left it in the cache.
    `python3 build.py test` builds first, so a missing model is a failure."""
    return lambda engine_id: find_model(get_engine(engine_id))


@pytest.fixture(scope="session")
def standin_model(tmp_path_factory) -> Path:
    return make_standin(tmp_path_factory.mktemp("standin") / "standin.onnx")

