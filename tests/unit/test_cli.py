"""`python -m backgrone remove`, run as a user runs it."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from standin import make_standin

ROOT = Path(__file__).resolve().parents[2]


def backgrone(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "py")}
    return subprocess.run(
        [sys.executable, "-m", "backgrone", "remove", *map(str, args)],
        capture_output=True, text=True, env=env, timeout=timeout,
    )


@pytest.fixture(scope="module")
def mixed_batch(tmp_path_factory, photos):
    """One real photo, a text file named like a PNG, an empty file."""
    src = tmp_path_factory.mktemp("in")
    (src / "junk.png").write_text("This is a shopping list, not a picture.\n")
    (src / "empty.jpg").write_bytes(b"")
    out = tmp_path_factory.mktemp("out")
    proc = backgrone(photos["astronaut"], src / "junk.png", src / "empty.jpg",
                     "--engine", "lightweight", "-o", out)
    return proc, out


def test_batch_with_failures_exits_with_1(mixed_batch):
    proc, _ = mixed_batch
    assert proc.returncode == 1, proc.stderr


def test_good_image_is_still_cut_out(mixed_batch, photos):
    _, out = mixed_batch
    img = Image.open(out / "astronaut.png")
    assert img.format == "PNG" and img.mode == "RGBA"
    assert img.size == Image.open(photos["astronaut"]).size
    alpha = np.asarray(img)[:, :, 3]
    assert alpha.min() == 0 and alpha.max() == 255  # something cut out, something kept


def test_bad_files_produce_no_output(mixed_batch):
    _, out = mixed_batch
    assert sorted(p.name for p in out.iterdir()) == ["astronaut.png"]


def test_each_bad_file_is_named_with_a_clear_reason(mixed_batch):
    proc, _ = mixed_batch
    assert any("junk.png" in line and "not an image" in line for line in proc.stderr.splitlines())
    assert any("empty.jpg" in line and "empty" in line.split("empty.jpg", 1)[1]
               for line in proc.stderr.splitlines())


def test_no_traceback_and_a_summary(mixed_batch):
    proc, _ = mixed_batch
    assert "Traceback" not in proc.stderr
    assert "1 of 3" in proc.stderr.splitlines()[-1]


def png_bytes(colour) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 16), colour).save(out, format="PNG")
    return out.getvalue()


def test_folder_expands_to_the_images_inside(tmp_path, standin_model):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "red.png").write_bytes(png_bytes((255, 0, 0)))
    Image.new("RGB", (24, 16), (0, 0, 255)).save(folder / "blue.JPG", format="JPEG")
    (folder / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    proc = backgrone(folder, "--engine", "balanced", "--model", standin_model, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["blue.png", "red.png"]
    assert "2 of 2" in proc.stderr.splitlines()[-1]


def assert_one_line_error(proc: subprocess.CompletedProcess, pattern: str) -> None:
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("backgrone: ")
    assert pattern in lines[0]


def test_missing_model_file_is_a_one_line_error(tmp_path):
    image = tmp_path / "red.png"
    image.write_bytes(png_bytes((255, 0, 0)))
    proc = backgrone(image, "--engine", "lightweight", "--model", tmp_path / "nope.onnx",
                     "-o", tmp_path / "out")
    assert_one_line_error(proc, "could not be loaded")
    assert not (tmp_path / "out" / "red.png").exists()


def test_model_of_the_wrong_shape_is_a_one_line_error(tmp_path):
    image = tmp_path / "red.png"
    image.write_bytes(png_bytes((255, 0, 0)))
    wrong = make_standin(tmp_path / "small.onnx", size=(512, 512))
    proc = backgrone(image, "--engine", "lightweight", "--model", wrong, "-o", tmp_path / "out")
    assert_one_line_error(proc, "does not fit the Lightweight engine")
    assert not (tmp_path / "out" / "red.png").exists()


def test_a_model_returning_nan_fails_each_image_with_a_message(tmp_path):
    image = tmp_path / "red.png"
    image.write_bytes(png_bytes((255, 0, 0)))
    broken = make_standin(tmp_path / "nan.onnx", bias=float("nan"))
    proc = backgrone(image, "--engine", "balanced", "--model", broken, "-o", tmp_path / "out")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert any("red.png" in line and "invalid mask" in line for line in proc.stderr.splitlines())
    assert "0 of 1" in proc.stderr.splitlines()[-1]
