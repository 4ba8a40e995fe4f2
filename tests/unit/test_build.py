"""build.py helpers: nothing unpinned is trusted, and the package wheel is whole."""
from __future__ import annotations

import base64
import hashlib
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import build  # noqa: E402

WHEEL_NAME = "numpy-2.4.3-cp314-cp314-pyodide_2026_0_wasm32.whl"
OFFICIAL = b"the official wheel bytes\n" * 10


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- check ----------------------------------------------------------------

@pytest.fixture
def blob(tmp_path) -> Path:
    path = tmp_path / "asset.bin"
    path.write_bytes(OFFICIAL)
    return path


def test_check_accepts_the_pinned_file(blob):
    build.check(blob, len(OFFICIAL), sha256(OFFICIAL), "asset")


def test_check_refuses_a_size_mismatch(blob):
    with pytest.raises(build.BuildError, match=r"asset.*bytes, expected"):
        build.check(blob, len(OFFICIAL) + 1, sha256(OFFICIAL), "asset")


def test_check_refuses_a_sha256_mismatch(blob):
    with pytest.raises(build.BuildError, match=r"asset: .*asset\.bin has sha256 [0-9a-f]{64}, expected [0-9a-f]{64}"):
        build.check(blob, len(OFFICIAL), sha256(b"something else"), "asset")


# -- pyodide_wheel ----------------------------------------------------------

@pytest.fixture
def offline_cache(tmp_path, monkeypatch):
    """A cache holding a corrupt copy of the wheel, and no network: the wheel
    can only come from the vendoring open-webui wheel, made by each test."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("BACKGRONE_CACHE", str(cache))
    (cache / "pyodide").mkdir(parents=True)
    (cache / "pyodide" / WHEEL_NAME).write_bytes(b"corrupt download")

    def no_network(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(build.urllib.request, "urlopen", no_network)

    def vendor(content: bytes) -> None:
        whl = tmp_path / "open_webui.whl"
        with zipfile.ZipFile(whl, "w") as z:
            z.writestr(f"open_webui/frontend/pyodide/{WHEEL_NAME}", content)
        monkeypatch.setattr(build, "pypi_wheel", lambda pin: whl)

    return cache, vendor


def test_pyodide_wheel_refuses_a_wheel_that_is_not_in_the_lock(offline_cache):
    cache, vendor = offline_cache
    vendor(b"a tampered wheel")
    entry = {"file_name": WHEEL_NAME, "sha256": sha256(OFFICIAL)}
    with pytest.raises(build.BuildError, match=r"pyodide-lock\.json"):
        build.pyodide_wheel(entry)
    assert not (cache / "pyodide" / WHEEL_NAME).exists()


def test_pyodide_wheel_takes_the_official_wheel_from_the_vendor(offline_cache):
    cache, vendor = offline_cache
    vendor(OFFICIAL)
    entry = {"file_name": WHEEL_NAME, "sha256": sha256(OFFICIAL)}
    path = build.pyodide_wheel(entry)
    assert path == cache / "pyodide" / WHEEL_NAME
    assert path.read_bytes() == OFFICIAL


# -- build_wheel ----------------------------------------------------------

@pytest.fixture
def wheel(tmp_path) -> zipfile.ZipFile:
    name = build.build_wheel(tmp_path)
    assert name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(tmp_path / "py" / name) as z:
        yield z


def package_sources() -> list[str]:
    return sorted(p.relative_to(ROOT / "py").as_posix()
                  for p in (ROOT / "py" / "backgrone").rglob("*.py"))


def test_wheel_contains_every_module_of_the_package(wheel):
    sources = package_sources()
    assert "backgrone/inference/native.py" in sources
    names = set(wheel.namelist())
    for src in sources:
        assert src in names
        assert wheel.read(src) == (ROOT / "py" / src).read_bytes()


def test_wheel_record_lists_each_module_with_its_sha256(wheel):
    record_name = next(n for n in wheel.namelist() if n.endswith(".dist-info/RECORD"))
    rows = {}
    for line in wheel.read(record_name).decode().splitlines():
        path, digest, size = line.rsplit(",", 2)
        rows[path] = (digest, size)
    for src in package_sources():
        data = wheel.read(src)
        b64 = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert rows[src] == (f"sha256={b64}", str(len(data)))


# -- Content-Security-Policy ------------------------------------------------

def test_csp_allows_the_engines_sources_and_where_they_redirect():
    engines = [{"source": "models/a.onnx"},
               {"source": "https://huggingface.co/briaai/RMBG-1.4/resolve/main/onnx/model_quantized.onnx"},
               {"source": "https://models.example.org:8443/b.onnx"}]
    policy = build.content_security_policy(engines)
    connect = next(d for d in policy.split("; ") if d.startswith("connect-src "))
    assert connect.split()[1:] == ["'self'", "https://huggingface.co", "https://*.huggingface.co",
                                   "https://*.hf.co", "https://models.example.org:8443"]
    assert "frame-ancestors" not in policy  # meta tags ignore it
    assert "frame-ancestors 'self'" in build.content_security_policy(engines, header=True)


def test_csp_meta_goes_first_in_every_page_head(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.html").write_text('<html><head>\n<meta charset="utf-8"><script src="x.js"></script></head></html>')
    (tmp_path / "sub" / "b.html").write_text("<html><head><title>b</title></head></html>")
    build.add_csp_meta(tmp_path, "default-src 'self'")
    a = (tmp_path / "a.html").read_text()
    assert a.index('<meta charset="utf-8">') < a.index("Content-Security-Policy") < a.index("<script")
    assert '<head><meta http-equiv="Content-Security-Policy" content="default-src \'self\'">' in (
        tmp_path / "sub" / "b.html").read_text()


# -- the engines' pins in the built site --------------------------------------------

def test_the_built_site_pins_balanced_and_admits_its_host():
    import json

    from backgrone.engines import get_engine

    engines = json.loads((build.DIST / "engines.json").read_text())
    balanced = next(e for e in engines if e["id"] == "balanced")
    assert balanced["source"] == get_engine("balanced").source
    assert "/resolve/2ceba5a5efaec153162aedea169f76caf9b46cf8/" in balanced["source"]
    assert (balanced["size"], balanced["sha256"]) == (
        44_403_226, "a6648479275dfd0ede0f3a8abc20aa5c437b394681b05e5af6d268250aaf40f3")
    assert build.engine_origins(engines) == [
        "https://huggingface.co", "https://*.huggingface.co", "https://*.hf.co"]


def test_a_self_hosted_balanced_copy_must_be_the_pinned_file(tmp_path):
    other = tmp_path / "model_quantized.onnx"
    other.write_bytes(b"some other model")
    with pytest.raises(build.BuildError, match=r"--rmbg .*bytes, expected 44,403,226"):
        build.build_models(tmp_path / "dist", other)
