"""backgrone.bytecode: the .pyc files a start keeps are used by the next start,
whose sources were unpacked anew (new modification times), and never run in
place of a source that changed."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

PY = Path(__file__).resolve().parents[2] / "py"

# Imports `shapes` from the folder given, with bytecode writing on, and prints
# which sources Python compiled (the "compile" audit event) and the module's answer;
# with "collect", also the kept files (backgrone.bytecode), as JSON.
IMPORT = textwrap.dedent("""
    import json, sys
    sys.dont_write_bytecode = False
    compiled = []
    sys.addaudithook(lambda event, args: event == "compile" and compiled.append(str(args[1])))
    sys.path[:0] = [sys.argv[1], sys.argv[2]]
    import shapes
    from backgrone.bytecode import compiled_modules
    kept = compiled_modules(sys.argv[1]) if sys.argv[3] == "collect" else []
    print(json.dumps({"compiled": [c for c in compiled if c.startswith(sys.argv[1])], "answer": shapes.answer(),
                      "kept": [[path, data.hex()] for path, data in kept]}))
""")


def start(site: Path, collect: bool = False) -> dict:
    run = subprocess.run([sys.executable, "-c", IMPORT, str(site), str(PY), "collect" if collect else "-"],
                         capture_output=True, text=True, check=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""})
    return json.loads(run.stdout)


def unpack(site: Path, source: str) -> None:
    """A new start's file system: the sources written anew, no bytecode."""
    for path in site.rglob("*.pyc"):
        path.unlink()
    (site / "shapes.py").write_text(source)
    os.utime(site / "shapes.py", (1_000_000_000, 1_000_000_000))  # a time unlike the last start's


def write_back(kept: list) -> None:
    for path, data in kept:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(bytes.fromhex(data))


def test_a_kept_module_is_not_compiled_again_though_its_source_was_written_anew(tmp_path):
    source = "def answer():\n    return 'square'\n"
    (tmp_path / "shapes.py").write_text(source)
    first = start(tmp_path, collect=True)
    assert first["compiled"] == [str(tmp_path / "shapes.py")] and first["answer"] == "square"
    ((path, data),) = first["kept"]
    assert Path(path).parent.name == "__pycache__"
    assert int.from_bytes(bytes.fromhex(data)[4:8], "little") == 0b11  # hash-based, checked against the source

    unpack(tmp_path, source)
    write_back(first["kept"])
    second = start(tmp_path)
    assert second["compiled"] == [] and second["answer"] == "square"

    unpack(tmp_path, source)  # without the kept files, as before
    assert start(tmp_path)["compiled"] == [str(tmp_path / "shapes.py")]


def test_a_changed_source_is_compiled_again_never_run_from_the_kept_bytecode(tmp_path):
    (tmp_path / "shapes.py").write_text("def answer():\n    return 'square'\n")
    kept = start(tmp_path, collect=True)["kept"]
    unpack(tmp_path, "def answer():\n    return 'circle'\n")  # the same size, new contents
    write_back(kept)
    second = start(tmp_path)
    assert second["compiled"] == [str(tmp_path / "shapes.py")] and second["answer"] == "circle"


def test_only_modules_under_the_folder_asked_for_are_kept(tmp_path):
    (tmp_path / "shapes.py").write_text("import json\n\ndef answer():\n    return json.dumps(1)\n")
    kept = start(tmp_path, collect=True)["kept"]
    assert [Path(path).name.split(".")[0] for path, _ in kept] == ["shapes"]
