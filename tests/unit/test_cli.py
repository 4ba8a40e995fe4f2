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


def test_every_kind_of_bad_input_is_named_and_the_rest_comes_out(tmp_path, standin_model, photos):
    """The cases of docs/bad-input.md, as files on disk, in one batch."""
    src = tmp_path / "in"
    src.mkdir()
    jpeg, png = photos["grace_hopper"].read_bytes(), photos["coffee"].read_bytes()
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated = io.BytesIO()
    Image.new("RGB", (40, 20), (255, 0, 0)).save(rotated, format="JPEG", exif=exif)
    gif = io.BytesIO()
    Image.new("RGB", (8, 8), (255, 0, 0)).save(gif, format="GIF", save_all=True,
                                              append_images=[Image.new("RGB", (8, 8), (0, 0, 255))])
    huge = io.BytesIO()
    Image.new("1", (10000, 6000)).save(huge, format="PNG")
    files = {
        "text.png": b"a shopping list\n",
        "report.pdf.jpg": b"%PDF-1.7\n1 0 obj\n",
        "setup.exe.png": b"MZ\x90\x00" + bytes(200),
        "empty.jpg": b"",
        "half.jpg": jpeg[: len(jpeg) // 2],
        "half.png": png[: len(png) // 2],
        "huge.png": huge.getvalue(),
        "photo.heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(100),
        "rotated.jpg": rotated.getvalue(),
        "animated.gif": gif.getvalue(),
        "photo.png": photos["astronaut"].read_bytes(),
    }
    for name, data in files.items():
        (src / name).write_bytes(data)
    out = tmp_path / "out"
    proc = backgrone(src, "--engine", "balanced", "--model", standin_model, "-o", out)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    said = {name: [line for line in proc.stderr.splitlines() if f"{name}:" in line] for name in files}
    for name in ("text.png", "report.pdf.jpg", "setup.exe.png"):
        assert said[name] == [f"{src / name}: This file is not an image Backgrone can read. "
                              "Use PNG, JPEG, WebP, AVIF, GIF, BMP or TIFF."], name
    assert said["empty.jpg"] == [f"{src / 'empty.jpg'}: The file is empty."]
    for name in ("half.jpg", "half.png"):
        assert "damaged or truncated" in said[name][0], name
    assert "10000x6000 is 60.0 megapixels, the limit is 50 megapixels" in said["huge.png"][0]
    assert "This HEIC image is damaged or truncated" in said["photo.heic"][0]  # pillow-heif read it
    assert said["animated.gif"] == [f"{src / 'animated.gif'}: Animated GIF: only the first frame was used."]
    assert sorted(p.name for p in out.iterdir()) == ["animated.png", "photo.png", "rotated.png"]
    assert Image.open(out / "rotated.png").size == (20, 40)  # upright
    assert "3 of 11" in proc.stderr.splitlines()[-1]
