"""Entry points for the web worker (Pyodide only).

The worker (web/worker.js) owns fetching and messaging; this module owns the
image work. It keeps one engine session at a time, so memory stays bounded
however often the user switches engines.
"""
from __future__ import annotations

import time

from .engines import get_engine
from .errors import BackgroneError
from .inference.web import WebSession
from .pipeline import remove_background

_current: dict = {"engine": None, "session": None}


async def load_engine(engine_id: str, model_bytes, ort, options: dict | None = None) -> dict:
    """Create the onnxruntime-web session for an engine from its model bytes
    (a JS Uint8Array that stays in JS memory)."""
    engine = get_engine(engine_id)
    await unload_engine()
    t0 = time.perf_counter()
    session = await WebSession.create(ort, model_bytes, engine, options)
    _current.update(engine=engine, session=session)
    return {
        "engine": engine.id,
        "input": session.input_name,
        "output": session.output_name,
        "seconds": time.perf_counter() - t0,
    }


async def unload_engine() -> None:
    session = _current["session"]
    _current.update(engine=None, session=None)
    if session is not None:
        await session.release()


def loaded_engine() -> str | None:
    engine = _current["engine"]
    return engine.id if engine is not None else None


async def process(data, engine_id: str) -> dict:
    """Cut out one image. `data` is the file's bytes (a JS Uint8Array).

    Returns a plain dict (the worker converts it): ok=True with the PNG, size
    and timings, or ok=False with a message for the user. Only errors the user
    can act on are caught here; anything else is a bug and propagates.
    """
    from pyodide.ffi import to_js

    engine = _current["engine"]
    if engine is None or engine.id != engine_id:
        return {"ok": False, "code": "engine-not-loaded", "message": f"The {engine_id} engine is not loaded."}
    raw = data.to_bytes() if hasattr(data, "to_bytes") else bytes(data)
    try:
        result = await remove_background(raw, engine, _current["session"])
    except BackgroneError as exc:
        return {"ok": False, "code": exc.code, "message": str(exc)}
    return {
        "ok": True,
        "png": to_js(result.png),
        "width": result.width,
        "height": result.height,
        "format": result.format,
        "notes": result.notes,
        "timings": result.timings,
    }
