"""Models on first use (py/backgrone/fetch.py): the pinned files fetched into
an empty cache from a local stand-in for the npm registry and Hugging Face.

The ISNet tests serve the real data package (the tarball build.py keeps in
the download cache), so the real pins are checked; the failure cases and
Balanced (whose real file cannot be had here) use small files made here, with
the pins patched to theirs."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from backgrone import engines, fetch, sources
from backgrone.engines import get_engine
from backgrone.errors import ModelError
from backgrone.models import cache_dir, find_model
from fakehost import Behaviour, FakeHost

ROOT = Path(__file__).resolve().parents[2]
TARBALL_PATH = sources.IMGLY_DATA.path
RMBG_PATH = sources.RMBG_QUANTIZED.path
LIGHTWEIGHT = get_engine("lightweight")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def real_tarball() -> Path:
    """The data package as build.py fetched it (`python3 build.py test` builds first)."""
    path = Path(os.path.expanduser("~/.cache/backgrone")) / "npm" / sources.IMGLY_DATA.file
    if os.environ.get("BACKGRONE_CACHE"):
        path = Path(os.environ["BACKGRONE_CACHE"]) / "npm" / sources.IMGLY_DATA.file
    assert path.is_file(), f"{path} missing: run the tests through `python3 build.py test`"
    return path


@pytest.fixture
def host():
    server = FakeHost().start()
    yield server
    server.stop()


@pytest.fixture
def empty_cache(tmp_path, monkeypatch, host) -> Path:
    """An empty cache, and both hosts replaced by the fake one."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("BACKGRONE_CACHE", str(cache))
    monkeypatch.delenv("BACKGRONE_MODELS", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv(fetch.NPM_REGISTRY_ENV, host.url)
    monkeypatch.setenv(fetch.HF_ENDPOINT_ENV, host.url)
    monkeypatch.setattr(fetch, "RESUMES", 3)
    return cache


def leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in (cache / "models").iterdir() if p.name != ".fetch.lock")


# -- the pins ------------------------------------------------------------------


def test_pinned_chunks_are_the_data_packages_own_lists(real_tarball):
    with tarfile.open(real_tarball) as tar:
        resources = json.load(tar.extractfile("package/dist/resources.json"))
    for engine_id, src in sources.MODEL_SOURCES.items():
        if isinstance(src, sources.ChunkedModel):
            listed = resources[src.resource]
            assert tuple(c["hash"] for c in listed["chunks"]) == src.chunks
            assert listed["size"] == get_engine(engine_id).size
            assert all(c["offsets"][0] == i * sources.CHUNK_SIZE for i, c in enumerate(listed["chunks"]))


def test_balanced_is_pinned_at_a_revision_not_a_branch():
    engine = get_engine("balanced")
    assert engine.source == "https://huggingface.co/briaai/RMBG-1.4/resolve/" \
        "2ceba5a5efaec153162aedea169f76caf9b46cf8/onnx/model_quantized.onnx"
    assert (engine.size, engine.sha256) == (
        44_403_226, "a6648479275dfd0ede0f3a8abc20aa5c437b394681b05e5af6d268250aaf40f3")


def test_the_command_line_fetches_from_the_real_hosts_by_default(monkeypatch):
    monkeypatch.delenv(fetch.NPM_REGISTRY_ENV, raising=False)
    monkeypatch.delenv(fetch.HF_ENDPOINT_ENV, raising=False)
    assert fetch.source_url(LIGHTWEIGHT) == ("https://registry.npmjs.org/@imgly/background-removal-data"
                                             "/-/background-removal-data-1.4.5.tgz")
    assert fetch.source_url(get_engine("balanced")) == get_engine("balanced").source


# -- ISNet from the real data package --------------------------------------------


def test_lightweight_is_fetched_once_from_the_registry_and_checked(empty_cache, host, real_tarball):
    host.files[TARBALL_PATH] = real_tarball
    path = fetch.fetch(["lightweight"], progress=False)["lightweight"]
    assert path == empty_cache / "models" / "isnet-uint8.onnx"
    assert path.stat().st_size == LIGHTWEIGHT.size
    assert hashlib.sha256(path.read_bytes()).hexdigest() == LIGHTWEIGHT.sha256
    assert leftovers(empty_cache) == ["isnet-uint8.onnx"]  # no .part, no tarball kept
    assert find_model(LIGHTWEIGHT, fetch=True, progress=False) == path
    assert host.downloads(TARBALL_PATH) == 1


def test_both_isnet_models_come_from_one_download(empty_cache, host, real_tarball):
    host.files[TARBALL_PATH] = real_tarball
    paths = fetch.fetch(["precision", "lightweight"], progress=False)
    assert host.downloads(TARBALL_PATH) == 1
    for engine_id, path in paths.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == get_engine(engine_id).sha256


def test_a_dropped_connection_is_resumed_where_it_stopped(empty_cache, host, real_tarball):
    host.files[TARBALL_PATH] = real_tarball
    host.behaviour = Behaviour(drop_after=30_000_000)
    path = fetch.fetch(["lightweight"], progress=False)["lightweight"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == LIGHTWEIGHT.sha256
    assert [s.range for s in host.seen] == [None, "bytes=30000000-"]


def test_a_host_that_cannot_resume_leaves_nothing_behind(empty_cache, host, real_tarball):
    host.files[TARBALL_PATH] = real_tarball
    host.behaviour = Behaviour(drop_after=30_000_000, ranges=False)
    with pytest.raises(fetch.DownloadError, match="interrupted and its host cannot resume it"):
        fetch.fetch(["lightweight"], progress=False)
    assert leftovers(empty_cache) == []


def test_a_cached_model_that_fails_its_check_is_fetched_again(empty_cache, host, real_tarball, capsys):
    host.files[TARBALL_PATH] = real_tarball
    bad = empty_cache / "models" / "isnet-uint8.onnx"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"a truncated copy")
    path = fetch.fetch(["lightweight"], progress=False)["lightweight"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == LIGHTWEIGHT.sha256
    assert "failed its check and was removed" in capsys.readouterr().err


def test_build_assembles_the_model_with_the_same_code(empty_cache, real_tarball, monkeypatch):
    sys.path.insert(0, str(ROOT))
    import build

    (empty_cache / "npm").mkdir(parents=True)
    os.link(real_tarball, empty_cache / "npm" / sources.IMGLY_DATA.file)
    monkeypatch.setattr(build.subprocess, "run", lambda *a, **k: pytest.fail("npm was run"))
    path = build.assemble_isnet("lightweight")
    assert path == empty_cache / "models" / "isnet-uint8.onnx"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == LIGHTWEIGHT.sha256


# -- failures, with small files and their own pins ---------------------------------


def small_package(chunks: list[bytes], corrupt: int | None = None) -> bytes:
    """An npm-style tarball holding chunks named by their sha256 (one stored
    under a wrong name if `corrupt`), in an order other than the model's."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for i, data in sorted(enumerate(chunks), key=lambda x: sha256(x[1])):
            body = b"x" + data[1:] if i == corrupt else data
            info = tarfile.TarInfo(f"package/dist/{sha256(data)}")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return out.getvalue()


@pytest.fixture
def small_pins(monkeypatch):
    """Lightweight pinned to a 2.5-chunk file in a small package."""
    monkeypatch.setattr(sources, "CHUNK_SIZE", 1024)
    monkeypatch.setattr(fetch, "CHUNK_SIZE", 1024)
    model = bytes(range(256)) * 10  # 2560 bytes: chunks of 1024, 1024, 512
    chunks = [model[i:i + 1024] for i in range(0, len(model), 1024)]

    def pin(package: bytes):
        tarball = dataclasses.replace(sources.IMGLY_DATA, size=len(package), sha256=sha256(package))
        chunked = sources.ChunkedModel(tarball, "/models/small", tuple(sha256(c) for c in chunks))
        monkeypatch.setitem(fetch.MODEL_SOURCES, "lightweight", chunked)
        engine = dataclasses.replace(LIGHTWEIGHT, size=len(model), sha256=sha256(model))
        monkeypatch.setattr(engines, "ENGINES", tuple(engine if e.id == "lightweight" else e
                                                       for e in engines.ENGINES))
        return package

    return model, chunks, pin


def test_chunks_arriving_out_of_order_make_the_pinned_file(empty_cache, host, small_pins):
    model, chunks, pin = small_pins
    host.files[TARBALL_PATH] = pin(small_package(chunks))
    path = fetch.fetch(["lightweight"], progress=False)["lightweight"]
    assert path.read_bytes() == model


def test_a_corrupt_chunk_is_refused_and_nothing_kept(empty_cache, host, small_pins):
    _, chunks, pin = small_pins
    host.files[TARBALL_PATH] = pin(small_package(chunks, corrupt=1))
    with pytest.raises(fetch.DownloadError, match="is corrupt"):
        fetch.fetch(["lightweight"], progress=False)
    assert leftovers(empty_cache) == []


def test_a_package_that_is_not_the_pinned_one_is_refused(empty_cache, host, small_pins):
    _, chunks, pin = small_pins
    pin(small_package(chunks))
    host.files[TARBALL_PATH] = small_package(chunks) + b"\0" * 512  # other bytes, same chunks
    with pytest.raises(fetch.DownloadError, match=r"bytes, expected .*discarded"):
        fetch.fetch(["lightweight"], progress=False)
    assert leftovers(empty_cache) == []


def test_a_package_lacking_the_models_chunks_is_refused(empty_cache, host, small_pins):
    _, chunks, pin = small_pins
    host.files[TARBALL_PATH] = pin(small_package(chunks[:2]))
    with pytest.raises(fetch.DownloadError, match="lacks 1 chunks"):
        fetch.fetch(["lightweight"], progress=False)
    assert leftovers(empty_cache) == []


def test_a_registry_that_is_down_says_what_to_do(empty_cache, monkeypatch):
    monkeypatch.setenv(fetch.NPM_REGISTRY_ENV, "http://127.0.0.1:9")  # discard port: refused
    with pytest.raises(fetch.DownloadError) as info:
        fetch.fetch(["lightweight"], progress=False)
    message = str(info.value)
    assert message.startswith("Could not reach 127.0.0.1:9 to download the model (")
    assert "Check the connection" in message and "--model PATH" in message
    assert leftovers(empty_cache) == []


# -- Balanced ----------------------------------------------------------------------


@pytest.fixture
def balanced_pinned_to(monkeypatch):
    def pin(data: bytes):
        engine = dataclasses.replace(get_engine("balanced"), size=len(data), sha256=sha256(data))
        monkeypatch.setattr(engines, "ENGINES", tuple(engine if e.id == "balanced" else e
                                                       for e in engines.ENGINES))
    return pin


def test_balanced_comes_from_its_revision_url_and_is_checked(empty_cache, host, balanced_pinned_to):
    data = b"a stand-in for RMBG-1.4" * 1000
    balanced_pinned_to(data)
    host.files[RMBG_PATH] = data
    path = fetch.fetch(["balanced"], progress=False)["balanced"]
    assert path == empty_cache / "models" / "rmbg-1.4-quantized.onnx" and path.read_bytes() == data
    assert [s.path for s in host.seen] == [RMBG_PATH]


def test_a_balanced_file_that_is_not_the_pinned_one_is_discarded(empty_cache, host, balanced_pinned_to):
    balanced_pinned_to(b"the pinned bytes")
    host.files[RMBG_PATH] = b"other bytes, same len"[:16]
    with pytest.raises(fetch.DownloadError, match="is not the pinned file"):
        fetch.fetch(["balanced"], progress=False)
    assert leftovers(empty_cache) == []


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_balanced_download_says_how_to_get_it(empty_cache, host, status):
    host.behaviour = Behaviour(status=status)
    with pytest.raises(fetch.DownloadError) as info:
        fetch.fetch(["balanced"], progress=False)
    message = str(info.value)
    assert f"refused the download of the Balanced model (HTTP {status})" in message
    for words in ("accept its license", "https://huggingface.co/briaai/RMBG-1.4",
                  "backgrone models import balanced FILE", "--model FILE", "HF_TOKEN",
                  "another engine"):
        assert words in message


def test_the_token_goes_to_the_hugging_face_host_only(empty_cache, host, balanced_pinned_to, monkeypatch):
    data = b"gated bytes" * 100
    balanced_pinned_to(data)
    cdn = FakeHost(files={"/blob": data}).start()
    try:
        cdn_url = cdn.url.replace("127.0.0.1", "localhost")  # another host name
        host.behaviour = Behaviour(redirect=cdn_url + "/blob")
        monkeypatch.setenv("HF_TOKEN", "hf_secret")
        assert fetch.fetch(["balanced"], progress=False)["balanced"].read_bytes() == data
        assert host.seen[0].headers.get("Authorization") == "Bearer hf_secret"
        assert "Authorization" not in cdn.seen[0].headers
    finally:
        cdn.stop()


# -- as a user runs it -------------------------------------------------------------


def backgrone(*args, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "backgrone", *map(str, args)], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "py"), **env},
                          timeout=timeout)


def test_first_use_downloads_with_progress_and_the_second_does_not(tmp_path, host, real_tarball, photos):
    host.files[TARBALL_PATH] = real_tarball
    env = {"BACKGRONE_CACHE": str(tmp_path / "cache"), fetch.NPM_REGISTRY_ENV: host.url}
    first = backgrone("remove", photos["coffee"], "-o", tmp_path / "out", env=env)
    assert first.returncode == 0, first.stderr
    lines = first.stderr.splitlines()
    assert lines[0] == ("Downloading @imgly/background-removal-data@1.4.5 for the Lightweight model")
    bars = [line for line in lines if "of 136.5 MB" in line]
    assert len(bars) == 11 and bars[-1].startswith("  [" + "#" * 30 + "] 136.5 of 136.5 MB")
    assert (tmp_path / "out" / "coffee-cutout.png").is_file()
    second = backgrone("remove", photos["chelsea"], "-o", tmp_path / "out", env=env)
    assert second.returncode == 0, second.stderr
    assert "Downloading" not in second.stderr
    assert host.downloads(TARBALL_PATH) == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["chelsea-cutout.png", "coffee-cutout.png"]


def test_offline_first_use_is_a_one_line_error(tmp_path, photos):
    env = {"BACKGRONE_CACHE": str(tmp_path / "cache"), fetch.NPM_REGISTRY_ENV: "http://127.0.0.1:9"}
    proc = backgrone("remove", photos["coffee"], "-o", tmp_path / "out", env=env)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith("backgrone: Could not reach 127.0.0.1:9")
    assert not (tmp_path / "out" / "coffee-cutout.png").exists()


def test_models_lists_imports_verifies_and_deletes(tmp_path, model_path):
    env = {"BACKGRONE_CACHE": str(tmp_path / "cache")}
    listed = backgrone("models", env=env)
    assert listed.returncode == 0
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()[1:4]}
    assert "not downloaded" in rows["lightweight"] and "registry.npmjs.org" in rows["lightweight"]
    assert "huggingface.co/briaai/RMBG-1.4/resolve/2ceba5a5" in rows["balanced"]
    assert "non-commercial" in listed.stdout

    wrong = tmp_path / "other.onnx"
    wrong.write_bytes(b"not the model")
    refused = backgrone("models", "import", "lightweight", wrong, env=env)
    assert refused.returncode == 2 and "not the Lightweight engine's pinned model" in refused.stderr
    imported = backgrone("models", "import", "lightweight", model_path("lightweight"), env=env)
    assert imported.returncode == 0, imported.stderr
    assert "downloaded" in backgrone("models", "list", env=env).stdout.splitlines()[3]
    assert backgrone("models", "verify", "lightweight", env=env).stdout.startswith("lightweight: ok")

    cached = tmp_path / "cache" / "models" / "isnet-uint8.onnx"
    data = bytearray(cached.read_bytes())
    data[1000] ^= 1
    cached.write_bytes(bytes(data))
    verified = backgrone("models", "verify", env=env)
    assert verified.returncode == 1 and "lightweight: FAILED" in verified.stdout
    deleted = backgrone("models", "delete", "lightweight", env=env)
    assert deleted.returncode == 0 and not cached.exists()
    assert cache_dir() != tmp_path / "cache"  # the user's own cache was never touched
