"""The imported modules' bytecode, in a form that can be kept for the next start.

Python compiles a module's source each time it imports it unless a valid .pyc
lies beside it. In the browser every start unpacks numpy, Pillow and Backgrone
afresh into an in-memory file system, so each visit would compile their
modules again (about 1 s of a cold page). The engine worker lets Python write
its .pyc files as it imports (``sys.dont_write_bytecode`` off), and once a first
cutout is done it takes them from here and keeps them; the next start writes
them back before it imports anything (web/worker/python-bytecode.js).

Python writes timestamp .pyc files, valid only while the source keeps its
modification time and size, and the next visit's freshly unpacked sources
have new times. So they are given PEP 552's hash-checked header instead: the
import then compares the source's hash with the one recorded, and compiles
the source again if a new version of a package changed it.
"""
from __future__ import annotations

import importlib.util
import sys
import sysconfig
from pathlib import Path

# PEP 552's flags word: bit 0 says hash-based, bit 1 that the import checks
# the source against the hash (a changed source is compiled again, never
# run from stale bytecode).
CHECKED_HASH = 0b11
HEADER = 16  # magic, flags, then a timestamp and size, or the source hash


def compiled_modules(root: str | None = None) -> list[tuple[str, bytes]]:
    """(path, contents) of the hash-checked .pyc of each imported module whose
    source lies under `root` (site-packages by default) and whose .pyc Python
    wrote (or was given) as it imported it."""
    root = str(Path(root or sysconfig.get_path("purelib")).resolve())
    header = importlib.util.MAGIC_NUMBER + CHECKED_HASH.to_bytes(4, "little")
    found = []
    for module in list(sys.modules.values()):
        source, cached = getattr(module, "__file__", None), getattr(module, "__cached__", None)
        if not source or not cached or not source.endswith(".py") or not source.startswith(root + "/"):
            continue
        try:
            pyc, code = Path(cached).read_bytes(), Path(source).read_bytes()
        except OSError:
            continue  # never written (bytecode writing was off at its import)
        if len(pyc) <= HEADER or pyc[:4] != importlib.util.MAGIC_NUMBER:
            continue
        found.append((cached, header + importlib.util.source_hash(code) + pyc[HEADER:]))
    return found
