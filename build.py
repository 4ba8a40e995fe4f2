#!/usr/bin/env python3
"""Build, serve and test Backgrone.

    python3 build.py                 assemble dist/, the static site
    python3 build.py serve           build, then serve dist/ on 127.0.0.1
    python3 build.py test [ARGS]     set up everything, build, run every test
    python3 build.py bench [ARGS]    set up, build, run the benchmark (tests/bench/)
    python3 build.py quality [ARGS]  set up, run the quality benchmark (tests/quality/)

Every runtime asset is pinned by version, size and sha256 and fetched once
into a download cache (BACKGRONE_CACHE, default ~/.cache/backgrone), so a
second build needs no network. This file uses the standard library only: it
runs on a fresh machine before any virtualenv exists.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "py"))

from backgrone import __version__, fetch, sources  # noqa: E402
from backgrone.engines import ENGINES, get_engine  # noqa: E402
from backgrone.errors import ModelError  # noqa: E402
from backgrone.models import cache_dir, sha256_file, verify  # noqa: E402

DIST = ROOT / "dist"
VENV = ROOT / ".venv"


@dataclass(frozen=True)
class Pinned:
    """A downloaded file we trust only by its size and sha256."""

    name: str
    version: str
    file: str
    size: int
    sha256: str
    platform: tuple[str, ...] = ()  # pip: the platform tags of a binary wheel


PYODIDE = Pinned("pyodide", "314.0.3", "pyodide-314.0.3.tgz", 6_486_134,
                 "d7f7d24f8db486c7eda7280f3b0f7517524c8e43e8b086c6ee6ae8016658b484")
ORT_WEB = Pinned("onnxruntime-web", "1.30.0", "onnxruntime-web-1.30.0.tgz", 33_106_585,
                 "d2228df7e4616bc3348bf504ee888f3bec43789a273f0a63f3e68d203ce3bf71")
# The ISNet models' package: pinned in py/backgrone/sources.py, which the
# command line reads too.
IMGLY_DATA = Pinned(sources.IMGLY_DATA.name, sources.IMGLY_DATA.version, sources.IMGLY_DATA.file,
                    sources.IMGLY_DATA.size, sources.IMGLY_DATA.sha256)
# The accessibility audit of the tests (tests/e2e/test_accessibility.py), MPL-2.0.
# Fetched into the download cache like the rest, never copied into dist/.
AXE_CORE = Pinned("axe-core", "4.14.1", "axe-core-4.14.1.tgz", 708_405,
                  "e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745")
# libheif (with libde265) compiled to WebAssembly: decodes HEIC/HEIF photos in
# the engine worker, loaded only when such a file arrives.
LIBHEIF = Pinned("libheif-js", "1.23.2", "libheif-js-1.23.2.tgz", 2_677_058,
                 "728cf3795a94b18039ac07c6d38c089b72f1eeae12c37bc9f18b0925fc709daa")
# Vendors the official Pyodide 314.0.3 wheels; used only where their own
# location cannot be reached, and each wheel is still checked against the lock.
OPEN_WEBUI = Pinned("open-webui", "0.12.4", "open_webui-0.12.4-py3-none-any.whl", 106_366_595,
                    "02e9caba96234db3fa17a92e56163b3f7f2b8ca8227fa886b85c178d696483f6")
# Carry the public-domain sample photos (their data folders; no code is used).
SKIMAGE = Pinned("scikit-image", "0.26.0",
                 "scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
                 13_711_217, "74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af",
                 ("manylinux_2_28_x86_64",))
MATPLOTLIB = Pinned("matplotlib", "3.10.8",
                    "matplotlib-3.10.8-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
                    8_712_614, "efb30e3baaea72ce5928e32bab719ab4770099079d66726a62b11b1ef7273be4",
                    ("manylinux2014_x86_64",))
# (wheel, member, file name, title, credit)
SAMPLES = [
    (SKIMAGE, "skimage/data/astronaut.png", "astronaut.png", "Astronaut",
     "Eileen Collins, NASA. Public domain."),
    (MATPLOTLIB, "matplotlib/mpl-data/sample_data/grace_hopper.jpg", "grace_hopper.jpg",
     "Grace Hopper", "Official U.S. Navy portrait. Public domain."),
    (SKIMAGE, "skimage/data/chelsea.png", "chelsea.png", "Chelsea the cat",
     "Stefan van der Walt. CC0."),
    (SKIMAGE, "skimage/data/coffee.png", "coffee.png", "Coffee", "Rachel Michetti. CC0."),
]
PYODIDE_CDN = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE.version}/full/"
PYODIDE_PACKAGES = ("numpy", "pillow")  # names in pyodide-lock.json
PYODIDE_CORE = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm",
                "python_stdlib.zip", "pyodide-lock.json")
# The worker imports one bundle: ort.webgpu (whose WASM is the slower asyncify
# build) where WebGPU runs the engines, ort.wasm everywhere else.
ORT_WEBGPU_FILES = ("ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs",
                    "ort-wasm-simd-threaded.asyncify.wasm")
ORT_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm",
             *ORT_WEBGPU_FILES)
# The engines whose models this site serves from the data package's chunks.
IMGLY_MODELS = {eid for eid, src in sources.MODEL_SOURCES.items()
                if isinstance(src, sources.ChunkedModel) and src.package == sources.IMGLY_DATA}


class BuildError(Exception):
    pass


def log(msg: str) -> None:
    print(f"build: {msg}", flush=True)


def check(path: Path, size: int | None, sha256: str | None, what: str) -> None:
    try:
        verify(path, size, sha256)
    except ModelError as exc:
        raise BuildError(f"{what}: {exc}") from None


def cached(pin: Pinned, folder: str, fetch) -> Path:
    """The pinned file from the cache, fetched (by `fetch(dest_dir)`) if absent
    or not what it should be."""
    dest_dir = cache_dir() / folder
    path = dest_dir / pin.file
    if path.is_file():
        try:
            check(path, pin.size, pin.sha256, pin.name)
            return path
        except BuildError as exc:
            log(f"cached copy is not the pinned one, fetching again: {exc}")
            path.unlink()
    dest_dir.mkdir(parents=True, exist_ok=True)
    log(f"fetching {pin.name}@{pin.version}")
    fetch(dest_dir)
    if not path.is_file():
        raise BuildError(f"fetching {pin.name}@{pin.version} did not produce {path}")
    check(path, pin.size, pin.sha256, f"{pin.name}@{pin.version}")
    return path


def npm_package(pin: Pinned) -> Path:
    def fetch(dest: Path) -> None:
        subprocess.run(
            ["npm", "pack", f"{pin.name}@{pin.version}", "--pack-destination", str(dest),
             "--silent"],
            check=True, stdout=subprocess.DEVNULL,
        )
    return cached(pin, "npm", fetch)


def pypi_wheel(pin: Pinned) -> Path:
    def fetch(dest: Path) -> None:
        platform = [arg for tag in pin.platform for arg in ("--platform", tag)]
        python = "3.11" if pin.platform else "3.12"
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", "--python-version", python, *platform, "-d", str(dest),
             f"{pin.name}=={pin.version}"],
            check=True,
        )
    return cached(pin, "pypi", fetch)


def link_or_copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        dest.unlink()
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def extract(tgz: Path, members: dict[str, Path]) -> None:
    """Extract named members of an npm tarball to the given paths."""
    with tarfile.open(tgz) as tar:
        for name, dest in members.items():
            src = tar.extractfile(f"package/{name}")
            if src is None:
                raise BuildError(f"{tgz.name} has no {name}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(dest, "wb") as out:
                shutil.copyfileobj(src, out)


def axe_script() -> Path:
    """axe-core's browser bundle (axe.min.js) from the pinned npm package, in
    the download cache: for the tests only."""
    dest = cache_dir() / "test" / f"axe-core-{AXE_CORE.version}.min.js"
    extract(npm_package(AXE_CORE), {"axe.min.js": dest})  # from the package just checked
    return dest


# -- the pieces of the site -------------------------------------------------

def build_pyodide(dist: Path) -> dict:
    tgz = npm_package(PYODIDE)
    out = dist / "pyodide"
    extract(tgz, {name: out / name for name in PYODIDE_CORE})
    lock = json.loads((out / "pyodide-lock.json").read_text())
    for name in PYODIDE_PACKAGES:
        entry = lock["packages"][name]
        link_or_copy(pyodide_wheel(entry), out / entry["file_name"])
    return {"pyodide": PYODIDE.version,
            "python": lock["info"]["python"],
            **{n: lock["packages"][n]["version"] for n in PYODIDE_PACKAGES}}


def pyodide_wheel(entry: dict) -> Path:
    """An official Pyodide wheel, checked against pyodide-lock.json: from the
    cache, else from the location the lock belongs to, else from the PyPI
    wheel that vendors the same files."""
    file_name, want = entry["file_name"], entry["sha256"]
    dest = cache_dir() / "pyodide" / file_name
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file() and sha256_file(dest) == want:
        return dest
    try:
        with urllib.request.urlopen(PYODIDE_CDN + file_name, timeout=10) as r:
            dest.write_bytes(r.read())
        log(f"{file_name}: from {PYODIDE_CDN}")
    except OSError as exc:
        log(f"{file_name}: {PYODIDE_CDN} unreachable ({exc.__class__.__name__}); "
            f"taking it from {OPEN_WEBUI.name}=={OPEN_WEBUI.version}")
        with zipfile.ZipFile(pypi_wheel(OPEN_WEBUI)) as z:
            member = f"open_webui/frontend/pyodide/{file_name}"
            if member not in z.namelist():
                raise BuildError(f"{OPEN_WEBUI.file} does not carry {file_name}") from None
            dest.write_bytes(z.read(member))
    digest = sha256_file(dest)
    if digest != want:
        dest.unlink()
        raise BuildError(
            f"{file_name} has sha256 {digest}, but pyodide-lock.json of Pyodide "
            f"{PYODIDE.version} says {want}. Refusing to ship a wheel that is not "
            f"the official one."
        )
    return dest


def build_libheif(dist: Path) -> dict:
    """The ES module build of libheif-js, its WebAssembly inlined: one file,
    imported by web/worker/heic.js."""
    extract(npm_package(LIBHEIF), {
        "libheif-wasm/libheif-bundle.mjs": dist / "libheif" / "libheif-bundle.mjs",
        "libheif-wasm/LICENSE": dist / "licenses" / "libheif.txt",
    })
    return {"libheif-js": LIBHEIF.version}


def build_ort(dist: Path) -> dict:
    tgz = npm_package(ORT_WEB)
    extract(tgz, {f"dist/{name}": dist / "ort" / name for name in ORT_FILES})
    return {"onnxruntime-web": ORT_WEB.version}


def assemble_isnet(engine_id: str) -> Path:
    """One ISNet model from the data package's chunks (py/backgrone/fetch.py,
    the same code as the command line's first use), checked by the engine's
    pinned size and sha256."""
    engine = get_engine(engine_id)
    path = fetch.cached_model(engine)
    if path is not None:
        return path
    tgz = npm_package(IMGLY_DATA)
    try:
        with open(tgz, "rb") as f:
            return fetch.extract_models(f, sources.IMGLY_DATA, [engine], str(tgz))[engine.id]
    except ModelError as exc:
        raise BuildError(str(exc)) from None


def build_models(dist: Path, rmbg: Path | None) -> list[dict]:
    """The self-hosted models, and the engine list the page reads."""
    engines = []
    for engine in ENGINES:
        entry = engine.to_json()
        if engine.id in IMGLY_MODELS:
            link_or_copy(assemble_isnet(engine.id), dist / engine.source)
        elif engine.id == "balanced" and rmbg is not None:
            # A self-hosted copy: the site serves it, and only the pinned file.
            check(rmbg, engine.size, engine.sha256, f"--rmbg {rmbg}")
            target = dist / "models" / engine.file
            link_or_copy(rmbg, target)
            entry.update(source=f"models/{engine.file}", size=target.stat().st_size,
                         sha256=sha256_file(target), self_hosted=True)
        engines.append(entry)
    return engines


def build_wheel(dist: Path) -> str:
    """The py/backgrone package as a pure-Python wheel, for Pyodide's loadPackage."""
    name = f"backgrone-{__version__}-py3-none-any.whl"
    info = f"backgrone-{__version__}.dist-info"
    files: dict[str, bytes] = {}
    for path in sorted((ROOT / "py" / "backgrone").rglob("*.py")):
        files[path.relative_to(ROOT / "py").as_posix()] = path.read_bytes()
    files[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: backgrone\nVersion: {__version__}\n"
    ).encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: backgrone-build\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n"
    )
    record = []
    for path, data in files.items():
        digest = hashlib.sha256(data).digest()
        b64 = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        record.append(f"{path},sha256={b64},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    out = dist / "py" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files.items():
            # A fixed timestamp: the same sources give the same wheel.
            z.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), data,
                       compress_type=zipfile.ZIP_DEFLATED)
    return name


LICENSES = [
    ("Pyodide", PYODIDE.version, "MPL-2.0", "the Python runtime"),
    ("numpy", "2.4.3", "BSD-3-Clause (and the bundled licenses in its wheel)", "arrays"),
    ("Pillow", "12.2.0", "MIT-CMU", "image decoding and encoding"),
    ("onnxruntime-web", ORT_WEB.version, "MIT", "runs the engines"),
    ("libheif-js (libheif, libde265)", LIBHEIF.version, "LGPL-3.0", "decodes HEIC and HEIF photos"),
]


# License texts that the shipped wheels carry: (wheel, member, file in licenses/).
WHEEL_LICENSES = [
    ("numpy-*.whl", "numpy-2.4.3.dist-info/licenses/LICENSE.txt", "numpy.txt"),
    ("pillow-*.whl", "pillow-12.2.0.dist-info/licenses/LICENSE", "pillow.txt"),
]


def build_licenses(dist: Path, engines: list[dict]) -> None:
    out = dist / "licenses"
    out.mkdir(parents=True, exist_ok=True)
    extract(npm_package(IMGLY_DATA), {"LICENSE.md": out / "imgly-background-removal-data.md"})
    for wheel_glob, member, text in WHEEL_LICENSES:
        wheel = next((dist / "pyodide").glob(wheel_glob))
        with zipfile.ZipFile(wheel) as z:
            (out / text).write_bytes(z.read(member))
    rows = "\n".join(
        f"<tr><td>{n}</td><td>{v}</td><td>{lic}</td><td>{use}</td></tr>"
        for n, v, lic, use in LICENSES
    )
    erows = "\n".join(
        f"<tr><td>{e['label']}</td><td>{e['model']}</td><td>{e['license']}</td>"
        f"<td><a href=\"{e['license_url'].removeprefix('licenses/')}\">terms</a></td></tr>"
        for e in engines
    )
    (out / "index.html").write_text(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Backgrone: licenses</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="../styles.css"></head>
<body><main><h1>Licenses</h1>
<h2 id="engines">Engines</h2>
<table><tr><th>Engine</th><th>Model</th><th>License</th><th></th></tr>
{erows}</table>
<h2>Runtime</h2>
<table><tr><th>Component</th><th>Version</th><th>License</th><th>Used for</th></tr>
{rows}</table>
<p>License texts shipped here: <a href="numpy.txt">numpy</a>, <a href="pillow.txt">Pillow</a>,
<a href="libheif.txt">libheif</a>,
<a href="imgly-background-removal-data.md">@imgly/background-removal-data</a>.</p>
<p><a href="../">Back to Backgrone</a></p></main></body></html>
""")


def build_samples(dist: Path) -> list[dict]:
    out = dist / "samples"
    out.mkdir(parents=True, exist_ok=True)
    listed = []
    for pin, member, name, title, credit in SAMPLES:
        dest = cache_dir() / "samples" / name
        if not dest.is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(pypi_wheel(pin)) as z:
                dest.write_bytes(z.read(member))
        link_or_copy(dest, out / name)
        listed.append({"file": f"samples/{name}", "title": title, "credit": credit})
    return listed


# -- Content-Security-Policy ------------------------------------------------

# Where a download from an engine's source host is redirected to: the browser
# checks connect-src at every hop. Hugging Face answers /resolve/ URLs with a
# redirect to its content hosts (us.aws.cdn.hf.co, cas-bridge.xethub.hf.co,
# cdn-lfs-us-1.hf.co, cdn-lfs.huggingface.co, ...), all under these domains.
REDIRECT_HOSTS = {"huggingface.co": ("https://*.huggingface.co", "https://*.hf.co")}


def engine_origins(engines: list[dict]) -> list[str]:
    """The origins the browser may connect to for the engines' sources that
    are not on this site, derived from their `source` URLs."""
    origins: list[str] = []
    for engine in engines:
        url = urllib.parse.urlsplit(engine["source"])
        if not (url.scheme and url.netloc):
            continue  # relative: self-hosted
        for origin in (f"{url.scheme}://{url.netloc}", *REDIRECT_HOSTS.get(url.hostname, ())):
            if origin not in origins:
                origins.append(origin)
    return origins


def content_security_policy(engines: list[dict], header: bool = False) -> str:
    """The one policy of every page, worker and the service worker: scripts,
    styles and connections from this site only, except the engines' sources;
    no inline script; no eval, except compiling WebAssembly."""
    directives = [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "worker-src 'self'",
        "connect-src " + " ".join(["'self'", *engine_origins(engines)]),
        "img-src 'self' blob: data:",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'none'",
    ]
    if header:  # ignored (with a console warning) in a <meta> tag
        directives.append("frame-ancestors 'self'")
    return "; ".join(directives)


def add_csp_meta(dist: Path, policy: str) -> None:
    """The policy as a <meta http-equiv> in every HTML page, for hosts that
    cannot send headers. First in <head>, so it covers everything after it."""
    tag = f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
    for page in sorted(dist.rglob("*.html")):
        text = page.read_text()
        if "Content-Security-Policy" in text:
            continue
        head = re.search(r"<head>\s*(<meta charset=\"utf-8\">)?", text, re.IGNORECASE)
        if head is None:
            raise BuildError(f"{page.relative_to(dist)} has no <head>: cannot add the CSP")
        text = text[: head.end()] + tag + text[head.end():]
        page.write_text(text)


def built_policy(dist: Path, header: bool = False) -> str:
    return content_security_policy(json.loads((dist / "engines.json").read_text()), header)


def build_service_worker(dist: Path) -> str:
    """List what the service worker precaches (everything but the models,
    which live in IndexedDB) and stamp sw.js with a version derived from
    their contents, so a new build replaces the old cache. The files only
    the WebGPU backend uses (27 MB) are listed apart: the service worker
    precaches them only in a browser that offers a WebGPU adapter."""
    skip = {"sw.js", "precache.json"}
    files = sorted(
        p.relative_to(dist).as_posix() for p in dist.rglob("*")
        if p.is_file() and p.name not in skip and not p.relative_to(dist).as_posix().startswith("models/")
    )
    h = hashlib.sha256()
    for f in files:
        h.update(f.encode() + b"\0" + sha256_file(dist / f).encode())
    version = h.hexdigest()[:16]
    webgpu = [f"ort/{name}" for name in ORT_WEBGPU_FILES]
    manifest = {"version": version, "files": ["./", *(f for f in files if f not in webgpu)], "webgpu": webgpu}
    (dist / "precache.json").write_text(json.dumps(manifest, indent=0))
    sw = dist / "sw.js"
    sw.write_text(sw.read_text().replace("__BUILD_VERSION__", version)
                  .replace("__CSP__", built_policy(dist, header=True)))
    return version


# web/ is laid out by where the code runs (see README, "How it is built");
# dist/ mirrors it, except that the service worker must sit at the site's
# root: its scope is its folder, and static hosts cannot widen it.
SITE_PATHS = {"sw/sw.js": "sw.js"}


def site_path(web_path: str) -> str:
    """Where a file of web/ goes in dist/."""
    return SITE_PATHS.get(web_path, web_path)


def build(rmbg: Path | None = None) -> Path:
    tmp = ROOT / "dist.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    for src in sorted((ROOT / "web").rglob("*")):
        if src.is_file():  # copied, not linked: dist/ must never write back into web/
            dest = tmp / site_path(src.relative_to(ROOT / "web").as_posix())
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
    versions = {"backgrone": __version__, **build_pyodide(tmp), **build_ort(tmp),
                **build_libheif(tmp)}
    engines = build_models(tmp, rmbg)
    (tmp / "engines.json").write_text(json.dumps(engines, indent=1))
    wheel = build_wheel(tmp)
    build_licenses(tmp, engines)
    (tmp / "samples.json").write_text(json.dumps(build_samples(tmp), indent=1))
    # The wheel's sha256 names the Python the engine worker keeps compiled (web/worker/worker.js).
    (tmp / "build.json").write_text(json.dumps({"wheel": wheel, "wheelSha256": sha256_file(tmp / "py" / wheel),
                                                "versions": versions}, indent=1))
    add_csp_meta(tmp, built_policy(tmp))
    version = build_service_worker(tmp)
    if DIST.exists():
        shutil.rmtree(DIST)
    tmp.rename(DIST)
    log(f"dist/ ready, version {version} ({sum(f.stat().st_size for f in DIST.rglob('*') if f.is_file()) / 1e6:.0f} MB)")
    return DIST


# -- serving ---------------------------------------------------------------

class SiteHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
        ".json": "application/json", ".onnx": "application/octet-stream",
        ".whl": "application/zip", ".zip": "application/zip", ".md": "text/plain; charset=utf-8",
        ".webmanifest": "application/manifest+json",
    }

    isolate = True  # False plays a static host that cannot set headers
    csp: str | None = None  # the Content-Security-Policy header
    seen: list | None = None  # if a list: (method, path, body length) of every request
    cache_control = "no-cache"  # every response revalidated: a new build shows at once

    def end_headers(self) -> None:
        if self.isolate and self.csp:
            # Workers take their policy from their own response, not the page's.
            self.send_header("Content-Security-Policy", self.csp)
        if self.isolate:
            # Cross-origin isolation: required for WASM threads (SharedArrayBuffer).
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Cache-Control", self.cache_control)
        super().end_headers()

    def log_request(self, code="-", size="-") -> None:
        if self.seen is not None:  # tests: what reached the server
            headers = getattr(self, "headers", None)
            length = int(headers.get("Content-Length") or 0) if headers else 0
            self.seen.append((getattr(self, "command", None), getattr(self, "path", None), length))
        super().log_request(code, size)

    def log_message(self, fmt, *args) -> None:
        if os.environ.get("BACKGRONE_SERVE_LOG"):
            super().log_message(fmt, *args)


def make_server(directory: Path, port: int = 0, isolate: bool = True, seen: list | None = None,
                handler: type[SiteHandler] = SiteHandler) -> http.server.ThreadingHTTPServer:
    """Serve a built site with its headers: cross-origin isolation and the
    Content-Security-Policy derived from its engines.json. isolate=False sends
    neither, like a static host that cannot set headers (the pages' <meta>
    and the service worker then carry the policy)."""
    csp = built_policy(directory, header=True) if (directory / "engines.json").is_file() else None
    handler_class = type("Handler", (handler,), {"isolate": isolate, "csp": csp, "seen": seen})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", port), lambda *a, **kw: handler_class(*a, directory=str(directory), **kw))
    server.daemon_threads = True
    return server


def serve(port: int) -> None:
    server = make_server(DIST, port)
    print(f"Backgrone is served at http://127.0.0.1:{server.server_port}/ (Ctrl+C stops)",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


# -- setting up and testing -----------------------------------------------

def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> Path:
    """A virtualenv with the pinned test dependencies, reinstalled only when
    pyproject.toml changes."""
    stamp = VENV / ".pyproject.sha256"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.is_file() and stamp.read_text() == want and venv_python().exists():
        return venv_python()
    log("setting up .venv with the pinned test dependencies")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    pip = [str(venv_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run(pip + ["--editable", f"{ROOT}[test]"], check=True)
    stamp.write_text(want)
    return venv_python()


def ensure_chromium() -> str:
    """Debian's Chromium (Playwright's own browser download is not available)."""
    found = os.environ.get("BACKGRONE_CHROMIUM") or shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise BuildError("Chromium is missing: install Debian's `chromium` package "
                         "or set BACKGRONE_CHROMIUM to a Chromium binary.")
    log("installing Debian's chromium")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    return shutil.which("chromium") or "/usr/bin/chromium"


# The quality benchmark's ground truth: hand-cut photographs with true alpha
# and background photos (both GPL, used only to measure, never shipped).
QUALITY_PACKAGES = {"tuxpaint-stamps-default": Path("/usr/share/tuxpaint/stamps"),
                    "mate-backgrounds": Path("/usr/share/backgrounds/mate/nature")}


def ensure_quality_data() -> None:
    """Debian's tuxpaint-stamps-default and mate-backgrounds, installed with
    apt-get when missing (as ensure_chromium installs Chromium)."""
    missing = [name for name, folder in QUALITY_PACKAGES.items() if not folder.is_dir()]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise BuildError(f"the quality benchmark needs Debian's {', '.join(missing)}: install them "
                         "with apt-get")
    log(f"installing Debian's {', '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True,
                   env=env, stdout=subprocess.DEVNULL)


def test(pytest_args: list[str]) -> int:
    python = ensure_venv()
    chromium = ensure_chromium()
    axe_script()  # fetched here, where the network may be used, not in a test
    build()
    env = {**os.environ, "BACKGRONE_CHROMIUM": chromium}
    return subprocess.run([str(python), "-m", "pytest", *pytest_args], cwd=ROOT, env=env).returncode


def bench(rmbg: Path | None, bench_args: list[str]) -> int:
    """The benchmark (tests/bench/run.py) against a fresh build."""
    python = ensure_venv()
    chromium = ensure_chromium()
    build(rmbg)
    env = {**os.environ, "BACKGRONE_CHROMIUM": chromium}
    extra = ["--rmbg", str(rmbg)] if rmbg else []
    return subprocess.run([str(python), str(ROOT / "tests" / "bench" / "run.py"), *extra, *bench_args],
                          cwd=ROOT, env=env).returncode


def quality(rmbg: Path | None, quality_args: list[str]) -> int:
    """The quality benchmark (tests/quality/run.py): native onnxruntime, no browser."""
    python = ensure_venv()
    ensure_quality_data()
    for engine_id in IMGLY_MODELS:  # the ISNet files in the model cache
        assemble_isnet(engine_id)
    extra = ["--rmbg", str(rmbg)] if rmbg else []
    return subprocess.run([str(python), str(ROOT / "tests" / "quality" / "run.py"), *extra, *quality_args],
                          cwd=ROOT).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", default="build", choices=["build", "serve", "test", "bench", "quality"])
    parser.add_argument("--port", type=int, default=8000, help="serve: the port (default 8000)")
    parser.add_argument("--rmbg", type=Path, help="embed this local copy of RMBG-1.4 "
                        "(onnx/model_quantized.onnx) so the site serves the Balanced engine itself")
    args, rest = parser.parse_known_args(argv)
    if rest and args.command not in ("test", "bench", "quality"):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        if args.command == "test":
            return test(rest)
        if args.command == "bench":
            return bench(args.rmbg, rest)
        if args.command == "quality":
            return quality(args.rmbg, rest)
        build(args.rmbg)
        if args.command == "serve":
            serve(args.port)
    except (BuildError, subprocess.CalledProcessError) as exc:
        print(f"build: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
