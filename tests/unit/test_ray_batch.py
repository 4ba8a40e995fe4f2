"""`backgrone batch` on Ray Data, run as a user runs it, on a local Ray that
these tests start (2 CPUs, on loopback): broken files among good ones, a
resumed run from globs and URIs, the real Lightweight engine against
`backgrone remove`, and a worker killed mid-run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
# A local Ray on loopback, no usage report, no C++ log noise: what
# `backgrone batch` sets for the Ray it starts itself (raybatch._start_ray).
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
           "RAY_BACKEND_LOG_LEVEL": "fatal"}


def command(*args) -> list[str]:
    return [sys.executable, "-m", "backgrone", *map(str, args)]


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT / "py"), **RAY_ENV}


def backgrone(*args, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(command(*args), capture_output=True, text=True, env=env(), timeout=timeout)


def manifest(dest: Path) -> list[dict]:
    return [json.loads(line) for line in (dest / "manifest.jsonl").read_text().splitlines()]


def halves(path: Path, size=(64, 48)) -> Path:
    """Red on the left, blue on the right: the stand-in keeps red, drops blue."""
    img = Image.new("RGB", size, (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    img.save(path)
    return path


BROKEN = {
    "text.png": b"a shopping list\n",
    "empty.jpg": b"",
    "half.png": None,  # a real PNG cut in half, made below
    "photo.heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(100),
}


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory) -> Path:
    """20 files: 16 images of various sizes, 4 broken."""
    folder = tmp_path_factory.mktemp("catalogue")
    for i in range(16):
        halves(folder / f"item{i:02d}.png", size=(40 + 8 * i, 30 + 4 * i))
    for name, data in BROKEN.items():
        if data is None:
            whole = halves(folder / name).read_bytes()
            data = whole[: len(whole) // 2]
        (folder / name).write_bytes(data)
    return folder


def test_with_no_address_it_starts_a_local_ray(tmp_path, standin_model, catalogue):
    dest = tmp_path / "out"
    proc = backgrone("batch", catalogue / "item00.png", catalogue / "item01.png", "-o", dest,
                     "--engine", "balanced", "--model", standin_model)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in dest.iterdir()) == ["item00-cutout.png", "item01-cutout.png",
                                                      "manifest.jsonl"]
    assert "2 of 2 images cut out" in proc.stderr.splitlines()[-1]


@pytest.fixture(scope="module")
def ray_address():
    """A local Ray with 2 CPUs, started by the tests; the command line joins it."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in RAY_ENV.items():
            mp.setenv(key, value)
        import ray

        context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            yield context.address_info["gcs_address"]
        finally:
            ray.shutdown()


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, ray_address, standin_model, catalogue):
    dest = tmp_path_factory.mktemp("batch") / "out"
    proc = backgrone("batch", catalogue, "-o", dest, "--engine", "balanced", "--model", standin_model,
                     "--mask", "--address", ray_address)
    return proc, dest


def test_bad_images_fail_alone_and_are_listed(first_run, catalogue):
    proc, dest = first_run
    assert proc.returncode == 1, proc.stderr  # something failed
    rows = manifest(dest)
    assert sorted(r["input"] for r in rows) == sorted(str(p) for p in catalogue.iterdir())
    failed = {Path(r["input"]).name: r["error"] for r in rows if r["status"] == "failed"}
    assert failed == {
        "text.png": "This file is not an image Backgrone can read. Use PNG, JPEG, WebP, AVIF, GIF, BMP or TIFF.",
        "empty.jpg": "The file is empty.",
        "half.png": failed["half.png"],
        "photo.heic": failed["photo.heic"],
    }
    assert "damaged or truncated" in failed["half.png"] and failed["photo.heic"] == "This HEIC image is damaged or truncated and cannot be read."
    assert "16 of 20 images cut out" in proc.stderr.splitlines()[-1] and "4 failed" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_every_good_image_is_cut_out(first_run, catalogue):
    _, dest = first_run
    done = [r for r in manifest(dest) if r["status"] == "done"]
    assert len(done) == 16 and {r["engine"] for r in done} == {"balanced"}
    assert len({r["worker"] for r in done}) == 2  # two actors, each with its own session
    for row in done:
        source = Image.open(row["input"])
        cutout, mask = Image.open(row["output"]), Image.open(row["mask"])
        assert Path(row["output"]).name == Path(row["input"]).stem + "-cutout.png"
        assert cutout.mode == "RGBA" and cutout.size == source.size and mask.mode == "L"
        alpha = np.asarray(cutout)[:, :, 3]
        w = source.width
        assert alpha[:, : w // 2 - 2].min() > 200 and alpha[:, w // 2 + 2:].max() < 20


def test_a_rerun_from_a_glob_and_a_list_of_uris_skips_what_is_done(first_run, tmp_path, ray_address,
                                                                   standin_model, catalogue):
    _, dest = first_run
    before = {p.name: p.stat().st_mtime_ns for p in dest.glob("*.png")}
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"file://{catalogue / name}\n" for name in BROKEN if name != "text.png"))
    proc = backgrone("batch", str(catalogue / "item*.png"), catalogue / "text.png", "--list", listing,
                     "-o", dest, "--engine", "balanced", "--model", standin_model, "--mask",
                     "--address", ray_address, "--skip-existing")
    assert proc.returncode == 1, proc.stderr
    rows = manifest(dest)
    assert len(rows) == 20 and len({r["input"] for r in rows}) == 20
    assert sorted(r["status"] for r in rows) == ["failed"] * 4 + ["skipped"] * 16
    assert {p.name: p.stat().st_mtime_ns for p in dest.glob("*.png")} == before  # nothing rewritten


def test_the_real_engine_gives_the_single_process_masks(tmp_path, ray_address, photos):
    src = tmp_path / "photos"
    src.mkdir()
    for name in ("astronaut", "coffee", "chelsea"):
        (src / f"{name}.png").write_bytes(photos[name].read_bytes())
    common = ["--format", "mask", "--threads", "1"]  # the same kernels in both
    alone = backgrone("remove", src, "-o", tmp_path / "alone", *common)
    assert alone.returncode == 0, alone.stderr
    on_ray = backgrone("batch", src, "-o", tmp_path / "ray", "--address", ray_address, *common)
    assert on_ray.returncode == 0, on_ray.stderr
    assert {r["engine"] for r in manifest(tmp_path / "ray")} == {"lightweight"}
    for name in ("astronaut", "coffee", "chelsea"):
        a = np.asarray(Image.open(tmp_path / "alone" / f"{name}-mask.png"))
        b = np.asarray(Image.open(tmp_path / "ray" / f"{name}-mask.png"))
        assert a.shape == b.shape and np.array_equal(a, b), name
        assert a.min() == 0 and a.max() == 255


def test_a_killed_worker_loses_nothing(tmp_path, ray_address, standin_model):
    """A worker process killed by its pid mid-run: Ray restarts it and retries
    its work, and the manifest lists every input exactly once."""
    src = tmp_path / "big"
    src.mkdir()
    for i in range(12):  # 2 MP each: the run lasts long enough to be interrupted
        halves(src / f"p{i:02d}.png", size=(1600, 1200))
    dest = tmp_path / "out"
    run = subprocess.Popen(command("batch", src, "-o", dest, "--engine", "balanced", "--model",
                                   standin_model, "--address", ray_address),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    try:
        deadline = time.monotonic() + 240
        while not ((dest / "manifest.jsonl").is_file() and manifest(dest)):
            assert run.poll() is None and time.monotonic() < deadline, "the batch never started"
            time.sleep(0.05)
        first = manifest(dest)
        victim = first[0]["worker"]
        os.kill(victim, signal.SIGKILL)
        assert len(first) < 12, "the batch finished before the worker was killed"
        _, stderr = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, stderr
    rows = manifest(dest)
    assert sorted(r["input"] for r in rows) == sorted(str(p) for p in src.iterdir())
    assert {r["status"] for r in rows} == {"done"}
    assert len(rows) > len(first)  # the batch went on after the kill
    with pytest.raises(ProcessLookupError):
        os.kill(victim, 0)  # and the killed worker is gone
    assert sorted(p.name for p in dest.glob("*.png")) == [f"p{i:02d}-cutout.png" for i in range(12)]
    assert not list(dest.glob(".*.part"))  # no half-written file left behind
