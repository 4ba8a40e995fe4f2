"""The browser rig: the built site served on 127.0.0.1 with COOP/COEP, and
Debian's Chromium driven by pytest-playwright."""
from __future__ import annotations

import os
import shutil
import threading

import pytest

import build
from browser import READY_TIMEOUT

CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    chromium = os.environ.get("BACKGRONE_CHROMIUM") or shutil.which("chromium")
    assert chromium, "Chromium is missing: run the tests through `python3 build.py test`"
    return {**browser_type_launch_args, "executable_path": chromium, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def site_url() -> str:
    """The built dist/, served as `python3 build.py serve` serves it."""
    assert (build.DIST / "index.html").is_file(), "dist/ is not built: run `python3 build.py`"
    server = build.make_server(build.DIST)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


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
