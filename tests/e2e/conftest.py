"""The browser rig: the built site served on 127.0.0.1 with COOP/COEP, and
Debian's Chromium driven by pytest-playwright."""
from __future__ import annotations

import hashlib
import os
import shutil
import threading
from pathlib import Path

import pytest

import build
from browser import READY_TIMEOUT
from e2e.standin_site import site_copy

CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    chromium = os.environ.get("BACKGRONE_CHROMIUM") or shutil.which("chromium")
    assert chromium, "Chromium is missing: run the tests through `python3 build.py test`"
    return {**browser_type_launch_args, "executable_path": chromium, "args": CHROMIUM_ARGS}


def pinned_copy(site: Path, balanced: Path) -> Path:
    """A copy of the built site (hard links) whose engine list pins the
    Balanced engine to `balanced`'s size and sha256, its source unchanged: a
    build configured with another model, as tests/e2e/test_arena.py's
    stand-in sites are."""
    assert (build.DIST / "index.html").is_file(), "dist/ is not built: run `python3 build.py`"
    data = balanced.read_bytes()

    def pin(engines: list[dict]) -> None:
        for entry in engines:
            if entry["id"] == "balanced":
                entry.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())

    return site_copy(site, pin)


@pytest.fixture(scope="session")
def pinned_site(tmp_path_factory):
    """pinned_site(model) -> the URL of the built site with Balanced pinned
    to `model`, served as `python3 build.py serve` serves it (one server per
    model). RMBG-1.4's real file cannot be had here, so the tests serve or
    import stand-ins in its place, and the page checks them against the pin."""
    servers: dict[str, object] = {}

    def serve(model: Path) -> str:
        key = hashlib.sha256(Path(model).read_bytes()).hexdigest()
        if key not in servers:
            site = pinned_copy(tmp_path_factory.mktemp("site") / "dist", Path(model))
            server = build.make_server(site)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers[key] = server
        return f"http://127.0.0.1:{servers[key].server_port}/"

    yield serve
    for server in servers.values():
        server.shutdown()


@pytest.fixture(scope="session")
def site_url(pinned_site, standin_model) -> str:
    """The built site, with Balanced pinned to the tests' stand-in model."""
    return pinned_site(standin_model)


class RequestLog:
    """Every request the page and its workers make; at the end of each test,
    anything outside the site's origin (and what the test allowed) fails it."""

    def __init__(self, origin: str):
        self.origin = origin
        self.urls: list[str] = []
        self.allowed: list[str] = []

    def outside(self) -> list[str]:
        ok = (self.origin, "blob:", "data:", *self.allowed)
        return [u for u in self.urls if not u.startswith(ok)]

    def count(self, fragment: str) -> int:
        return sum(fragment in u for u in self.urls)


@pytest.fixture
def requests_log(context, site_url) -> RequestLog:
    log = RequestLog(site_url)
    context.on("request", lambda r: log.urls.append(r.url))
    yield log
    assert log.outside() == [], "requests left the site's origin"


@pytest.fixture
def app(page, site_url, requests_log):
    """The app, loaded and ready (Python and onnxruntime-web started)."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site_url)
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    yield page
    assert errors == [], f"uncaught errors in the page: {errors}"
