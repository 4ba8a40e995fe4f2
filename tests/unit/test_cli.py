"""`backgrone remove`, run as a user runs it: bad input, names, resuming, the
manifest, --jobs and the result options."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from standin import make_standin

ROOT = Path(__file__).resolve().parents[2]


def backgrone(*args, timeout: float = 180) -> subprocess.CompletedProcess:
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
    img = Image.open(out / "astronaut-cutout.png")
    assert img.format == "PNG" and img.mode == "RGBA"
    assert img.size == Image.open(photos["astronaut"]).size
    alpha = np.asarray(img)[:, :, 3]
    assert alpha.min() == 0 and alpha.max() == 255  # something cut out, something kept


def test_bad_files_produce_no_output(mixed_batch):
    _, out = mixed_batch
    assert sorted(p.name for p in out.iterdir()) == ["astronaut-cutout.png"]


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
    assert sorted(p.name for p in out.iterdir()) == ["blue-cutout.png", "red-cutout.png"]
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
    assert not (tmp_path / "out" / "red-cutout.png").exists()


def test_model_of_the_wrong_shape_is_a_one_line_error(tmp_path):
    image = tmp_path / "red.png"
    image.write_bytes(png_bytes((255, 0, 0)))
    wrong = make_standin(tmp_path / "small.onnx", size=(512, 512))
    proc = backgrone(image, "--engine", "lightweight", "--model", wrong, "-o", tmp_path / "out")
    assert_one_line_error(proc, "does not fit the Lightweight engine")
    assert not (tmp_path / "out" / "red-cutout.png").exists()


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
    # photo.heic and photo.png share a name: the second is made unique, even
    # though the first fails, so that the names never depend on what failed.
    assert sorted(p.name for p in out.iterdir()) == ["animated-cutout.png", "photo-cutout (2).png",
                                                     "rotated-cutout.png"]
    assert Image.open(out / "rotated-cutout.png").size == (20, 40)  # upright
    assert "3 of 11" in proc.stderr.splitlines()[-1]


# -- names, resuming, the manifest, --jobs ----------------------------------------------

def halves(path: Path, left=(255, 0, 0), right=(0, 0, 255), size=(40, 20), fmt="PNG") -> Path:
    """Red on the left, blue on the right: the stand-in keeps red, drops blue."""
    img = Image.new("RGB", size, right)
    img.paste(left, (0, 0, size[0] // 2, size[1]))
    img.save(path, format=fmt)
    return path


def manifest_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_names_never_collide_and_never_overwrite_an_input(tmp_path, standin_model):
    folder = tmp_path / "photos"
    (folder / "more").mkdir(parents=True)
    halves(folder / "a.jpg", fmt="JPEG")
    halves(folder / "a.png")
    halves(folder / "more" / "A.png")
    kept = halves(folder / "b-cutout.png").read_bytes()  # an input named like an output
    halves(folder / "b.png")
    proc = backgrone(folder, folder / "more", "--engine", "balanced", "--model", standin_model,
                     "--mask", "-o", folder, "--manifest", tmp_path / "m.jsonl")
    assert proc.returncode == 0, proc.stderr
    outputs = {Path(r["input"]).relative_to(folder).as_posix(): (Path(r["output"]).name, Path(r["mask"]).name)
               for r in manifest_rows(tmp_path / "m.jsonl")}
    assert outputs == {
        "a.jpg": ("a-cutout.png", "a-mask.png"),
        "a.png": ("a-cutout (2).png", "a-mask (2).png"),
        "b-cutout.png": ("b-cutout-cutout.png", "b-cutout-mask.png"),
        "b.png": ("b-cutout (2).png", "b-mask.png"),
        "more/A.png": ("A-cutout (3).png", "A-mask (3).png"),
    }
    assert (folder / "b-cutout.png").read_bytes() == kept


def test_manifest_exit_code_and_skip_existing_resume_a_batch(tmp_path, standin_model):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for name in ("one.png", "two.png", "three.png"):
        halves(src / name)
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    args = [src, "--engine", "balanced", "--model", standin_model, "-o", out,
            "--manifest", out / "manifest.jsonl"]
    first = backgrone(*args)
    assert first.returncode == 1  # something failed
    rows = manifest_rows(out / "manifest.jsonl")
    assert sorted(r["input"] for r in rows) == sorted(str(p) for p in src.iterdir())
    by_name = {Path(r["input"]).name: r for r in rows}
    assert by_name["broken.png"]["status"] == "failed" and by_name["broken.png"]["output"] is None
    assert "not an image Backgrone can read" in by_name["broken.png"]["error"]
    for name in ("one", "two", "three"):
        row = by_name[f"{name}.png"]
        assert row["status"] == "done" and row["engine"] == "balanced"
        assert row["output"] == str(out / f"{name}-cutout.png")
        assert set(row["timings"]) >= {"decode", "inference", "encode"} and row["seconds"] > 0

    # A stopped batch: one output lost. The rerun does only what is missing.
    (out / "two-cutout.png").unlink()
    (out / "one-cutout.png").write_bytes(b"left as it is")
    (src / "broken.png").unlink()
    second = backgrone(*args, "--skip-existing")
    assert second.returncode == 0, second.stderr
    status = {Path(r["input"]).name: r["status"] for r in manifest_rows(out / "manifest.jsonl")}
    assert status == {"one.png": "skipped", "three.png": "skipped", "two.png": "done"}
    assert (out / "one-cutout.png").read_bytes() == b"left as it is"
    assert Image.open(out / "two-cutout.png").mode == "RGBA"
    assert "3 of 3 images cut out" in second.stderr and "(2 already there)" in second.stderr


def test_two_jobs_give_the_same_files_as_one(tmp_path, standin_model, photos):
    src = tmp_path / "in"
    src.mkdir()
    # Four 2 MP photos: enough work for the second worker to start before the first is done.
    for i, name in enumerate(["astronaut", "coffee", "chelsea", "astronaut"]):
        Image.open(photos[name]).convert("RGB").resize((1600, 1200)).save(src / f"{name}{i}.png")
    results = {}
    for jobs in (1, 2):
        out = tmp_path / f"out{jobs}"
        proc = backgrone(src, "--engine", "balanced", "--model", standin_model, "--jobs", jobs,
                         "-o", out, "--manifest", out / "m.jsonl")
        assert proc.returncode == 0, proc.stderr
        rows = manifest_rows(out / "m.jsonl")
        assert len(rows) == 4 and {r["status"] for r in rows} == {"done"}
        results[jobs] = ({p.name: p.read_bytes() for p in out.glob("*.png")}, {r["worker"] for r in rows})
    assert results[1][0] == results[2][0]
    assert len(results[1][1]) == 1 and len(results[2][1]) == 2  # two worker processes did the work


# -- the result options ---------------------------------------------------------------------

def test_an_image_over_the_limit_fails_and_is_cut_out_scaled_down_with_reduce(tmp_path, standin_model):
    # 10000x6000 (60 MP): over the 50 MP limit, within twice it.
    src = halves(tmp_path / "big.jpg", size=(10000, 6000), fmt="JPEG")
    out = tmp_path / "out"
    args = [src, "--engine", "balanced", "--model", standin_model, "-o", out, "--manifest", tmp_path / "m.jsonl",
            "--no-refine", "--no-decontaminate"]
    refused = backgrone(*args)
    assert refused.returncode == 1
    (row,) = manifest_rows(tmp_path / "m.jsonl")
    assert row["status"] == "failed" and row["error"] == (
        "This image is too large: 10000x6000 is 60.0 megapixels, the limit is 50 megapixels. It can be cut out "
        "at a reduced size instead. Run again with --reduce for that.")
    assert not out.exists() or not any(out.iterdir())
    taken = backgrone(*args, "--reduce")
    assert taken.returncode == 0, taken.stderr
    (row,) = manifest_rows(tmp_path / "m.jsonl")
    w, h = row["width"], row["height"]
    assert w * h <= 50_000_000 and abs(w / h - 10000 / 6000) < 0.01 and w > 9000
    assert any("reduced" in note for note in row["notes"]), row["notes"]
    cutout = Image.open(out / "big-cutout.png")
    assert cutout.size == (w, h)
    alpha = np.asarray(cutout.getchannel("A").reduce(100))
    assert alpha[:, : alpha.shape[1] // 2 - 1].min() > 200 and alpha[:, alpha.shape[1] // 2 + 1:].max() < 50


def cut(tmp_path, standin_model, *options) -> Path:
    src = halves(tmp_path / "photo.png")
    out = tmp_path / "out"
    proc = backgrone(src, "--engine", "balanced", "--model", standin_model, "-o", out, *options)
    assert proc.returncode == 0, proc.stderr
    (result,) = out.iterdir()
    return result


def test_colour_background_as_jpeg(tmp_path, standin_model):
    result = cut(tmp_path, standin_model, "--background", "#00ff00", "--format", "jpg")
    img = Image.open(result)
    assert result.name == "photo-cutout.jpg" and img.format == "JPEG" and img.mode == "RGB"
    arr = np.asarray(img, np.int16)
    assert np.abs(arr[10, 5] - (255, 0, 0)).max() < 40  # the subject
    assert np.abs(arr[10, 35] - (0, 255, 0)).max() < 40  # the background, now green


def test_named_colour_background(tmp_path, standin_model):
    img = Image.open(cut(tmp_path, standin_model, "--background", "white"))
    assert img.mode == "RGB" and img.getpixel((35, 10)) == (255, 255, 255)


def test_image_and_blur_backgrounds(tmp_path, standin_model):
    picked = Image.new("RGB", (8, 8), (255, 255, 0))
    picked.save(tmp_path / "yellow.png")
    img = Image.open(cut(tmp_path, standin_model, "--background", tmp_path / "yellow.png"))
    assert img.getpixel((35, 10)) == (255, 255, 0)
    (tmp_path / "out" / "photo-cutout.png").unlink()
    blurred = np.asarray(Image.open(cut(tmp_path, standin_model, "--background", "blur", "--blur", "0.2")))
    assert blurred.shape == (20, 40, 3) and 0 < blurred[10, 39, 0] < 255  # red bled into the blue


def test_crop_with_margin(tmp_path, standin_model):
    # The unrefined mask: its blended edge is one pixel (refinement may widen it by one a side).
    tight = Image.open(cut(tmp_path, standin_model, "--crop", "--margin", "0", "--no-refine")).size
    assert 20 <= tight[0] <= 21 and tight[1] == 20  # the red half (and its blended edge)
    (tmp_path / "out" / "photo-cutout.png").unlink()
    framed = Image.open(cut(tmp_path, standin_model, "--crop", "--margin", "0.25", "--no-refine")).size
    assert framed == (tight[0] + round(0.25 * tight[0]), 20)  # grown to the right only: clamped elsewhere


def test_mask_format_and_webp(tmp_path, standin_model):
    mask = cut(tmp_path, standin_model, "--format", "mask")
    img = Image.open(mask)
    assert mask.name == "photo-mask.png" and img.mode == "L"
    assert img.getpixel((5, 10)) == 255 and img.getpixel((35, 10)) == 0
    mask.unlink()
    webp = Image.open(cut(tmp_path, standin_model, "--format", "webp"))
    assert webp.format == "WEBP" and webp.mode == "RGBA" and webp.getpixel((35, 10))[3] < 10


def test_bad_options_are_one_line_errors(tmp_path, standin_model):
    src = halves(tmp_path / "photo.png")
    proc = backgrone(src, "-o", tmp_path / "out", "--background", "no-such-colour")
    assert proc.returncode == 2 and "neither transparent, blur, a colour" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- the edges: --refine/--decontaminate and `refine PHOTO MASK` -----------------

def run_cli(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "py")}
    return subprocess.run([sys.executable, "-m", "backgrone", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout)


def disc_photo(path: Path, size=(1600, 1200)) -> np.ndarray:
    """A red disc with a sharp edge on blue, larger than the network's 1024."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    inside = np.hypot(x - w / 2, y - h / 2) < 400
    arr = np.where(inside[..., None], np.uint8([220, 30, 30]), np.uint8([30, 60, 220])).astype(np.uint8)
    Image.fromarray(arr).save(path)
    return inside


def test_remove_without_refinement_gives_the_stretched_mask_and_the_photo_colours(tmp_path, standin_model):
    disc_photo(tmp_path / "disc.png")
    for flags, out in (([], tmp_path / "on"), (["--no-refine", "--no-decontaminate"], tmp_path / "off")):
        proc = run_cli("remove", tmp_path / "disc.png", "--engine", "balanced", "--model", standin_model,
                       "--mask", "-o", out, *flags)
        assert proc.returncode == 0, proc.stderr
    on = np.asarray(Image.open(tmp_path / "on" / "disc-mask.png"))
    off = np.asarray(Image.open(tmp_path / "off" / "disc-mask.png"))
    assert (on != off).any()  # refined by default
    cut = np.asarray(Image.open(tmp_path / "off" / "disc-cutout.png"))
    photo = np.asarray(Image.open(tmp_path / "disc.png"))
    assert np.array_equal(cut[..., 3], off)
    visible = off > 0
    assert np.array_equal(cut[..., :3][visible], photo[visible])


def test_refine_a_small_mask_against_its_photo(tmp_path):
    inside = disc_photo(tmp_path / "disc.png")
    # Another tool's mask: a quarter of the photo's size, soft.
    truth = Image.fromarray(inside.astype(np.uint8) * 255)
    truth.resize((400, 300), Image.Resampling.BILINEAR).save(tmp_path / "small-mask.png")
    proc = run_cli("refine", tmp_path / "disc.png", tmp_path / "small-mask.png", "-o", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    refined = np.asarray(Image.open(tmp_path / "out" / "disc-mask.png"), np.float64) / 255
    cut = Image.open(tmp_path / "out" / "disc-cutout.png")
    assert refined.shape == inside.shape and cut.mode == "RGBA" and cut.size == (1600, 1200)
    assert np.array_equal(np.asarray(cut)[..., 3], np.asarray(Image.open(tmp_path / "out" / "disc-mask.png")))
    stretched = np.asarray(Image.open(tmp_path / "small-mask.png").resize((1600, 1200), Image.Resampling.BILINEAR),
                           np.float64) / 255
    # Closer to the disc's true edge than the stretched mask.
    assert np.abs(refined - inside).sum() < 0.5 * np.abs(stretched - inside).sum()


def test_refine_takes_a_cutout_as_its_mask(tmp_path):
    inside = disc_photo(tmp_path / "disc.png", size=(800, 600))
    rgba = np.zeros((600, 800, 4), np.uint8)  # black colours: only the alpha says where the disc is
    rgba[..., 3] = inside * 255
    Image.fromarray(rgba).save(tmp_path / "cutout.png")
    proc = run_cli("refine", tmp_path / "disc.png", tmp_path / "cutout.png", "-o", tmp_path / "out",
                   "--no-decontaminate")
    assert proc.returncode == 0, proc.stderr
    refined = np.asarray(Image.open(tmp_path / "out" / "disc-mask.png"))
    assert refined.shape == (600, 800)
    assert np.abs(refined.astype(int) - inside * 255).mean() < 1  # a sharp mask on a sharp edge stays
