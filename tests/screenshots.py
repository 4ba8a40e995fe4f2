"""The screenshots in docs/, taken from the built site in Chromium with the
real engines (Lightweight and Precision, served by the site itself).

    .venv/bin/python tests/screenshots.py [NAME ...]

after `python3 build.py`. Names: phone, phone-result, first-screen, app,
download, engines, arena, arena-phone (default: all). Not collected by pytest:
it asserts nothing, it shows.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "py"), str(ROOT / "tests"), str(ROOT / "tests" / "e2e")]

import build  # noqa: E402
from e2e.conftest import CHROMIUM_ARGS  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

DOCS = ROOT / "docs"
PHONE = dict(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
DESKTOP = dict(viewport={"width": 1200, "height": 900})
LONG = 600_000  # ms: a real engine on a busy machine


class SlowModels(build.SiteHandler):
    """The site, with the engines' files sent slowly: a download caught half way."""

    def copyfile(self, source, outputfile):
        if not self.path.split("?")[0].endswith(".onnx"):
            return super().copyfile(source, outputfile)
        try:
            while chunk := source.read(256 * 1024):
                outputfile.write(chunk)
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the page was closed half way, as meant


def ready(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=LONG)


def cut_out(page, samples: list[str]) -> None:
    """Samples dropped on the page, as files, then wait for them all."""
    for name in samples:
        data = (build.DIST / "samples" / name).read_bytes()
        page.evaluate(
            """([name, bytes]) => { const dt = new DataTransfer();
                dt.items.add(new File([new Uint8Array(bytes)], name, { type: "image/png" }));
                document.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true })); }""",
            [name, list(data)],
        )
    page.wait_for_function("(n) => document.querySelectorAll('#queue .item[data-state=done]').length >= n",
                           arg=len(samples), timeout=LONG)


def settle(page) -> None:
    page.wait_for_timeout(400)  # images decoded, transitions over


def shots(browser, url: str, slow_url: str, names: list[str]) -> None:
    def new(options, **more):
        return browser.new_context(device_scale_factor=1, **{**options, **more}).new_page()

    if "phone" in names:
        page = new(PHONE)
        ready(page, url)
        page.screenshot(path=DOCS / "phone.png")
        page.context.close()
    if "first-screen" in names:
        page = new(DESKTOP, viewport={"width": 1400, "height": 1000})
        ready(page, url)
        page.screenshot(path=DOCS / "first-screen.png")
        page.context.close()
    if "phone-result" in names:
        page = new(PHONE)
        ready(page, url + "?engine=lightweight")
        cut_out(page, ["astronaut.png"])
        page.locator("#viewer").scroll_into_view_if_needed()
        page.evaluate("document.querySelector('#queue-title').scrollIntoView()")
        settle(page)
        page.screenshot(path=DOCS / "phone-result.png")
        page.context.close()
    if "app" in names:
        page = new(DESKTOP)
        ready(page, url + "?engine=lightweight")
        cut_out(page, ["astronaut.png", "grace_hopper.jpg", "chelsea.png"])
        page.click("#queue .item:first-child .item-open")
        page.evaluate("""() => { const c = document.querySelector("#bg-color"); c.value = "#f3c24f";
                                 c.dispatchEvent(new Event("input", { bubbles: true })); }""")
        page.wait_for_function("() => !document.querySelector('#viewer').dataset.busy")
        page.fill("#compare-slider", "35")
        settle(page)
        page.screenshot(path=DOCS / "app.png", full_page=True)
        page.context.close()
    if "download" in names or "engines" in names:
        page = new(DESKTOP)
        ready(page, slow_url)
        page.click("#engines-toggle")
        if "download" in names:
            page.click(".engine[data-engine=lightweight] .download-engine")
            page.wait_for_function("() => parseFloat(document.querySelector('#chosen-progress').value) > "
                                   "0.45 * parseFloat(document.querySelector('#chosen-progress').max)", timeout=LONG)
            page.screenshot(path=DOCS / "download.png")
        if "engines" in names:
            page.wait_for_selector(".engine[data-engine=lightweight][data-stored=true]", timeout=LONG)
            page.click("#storage summary")
            settle(page)
            page.locator("#engine-panel").screenshot(path=DOCS / "engines.png")
        page.context.close()
    for name, options in (("arena", dict(viewport={"width": 1600, "height": 1000})), ("arena-phone", PHONE)):
        if name not in names:
            continue
        page = new(options)
        ready(page, url + "arena.html?sample=samples/grace_hopper.jpg")
        for engine in ("lightweight", "precision"):
            if name == "arena-phone":
                page.tap(f"#column-tabs [data-engine={engine}]")
                page.wait_for_timeout(800)
            page.click(f".arena-col[data-engine={engine}] .col-download")
            page.wait_for_selector(f".arena-col[data-engine={engine}][data-state=done]", timeout=LONG)
        page.wait_for_selector(".arena-col[data-engine=consensus][data-state=done]", timeout=LONG)
        if name == "arena":
            settle(page)
            page.screenshot(path=DOCS / "arena.png", full_page=True)
        else:
            # The same place in every engine: 200% on the hair, Precision's tab.
            page.tap("#column-tabs [data-engine=precision]")
            page.tap("[data-zoom='2']")
            page.focus(".arena-col[data-engine=precision] .arena-view")
            for key in ["ArrowUp"] * 8 + ["ArrowRight"] * 4:  # to the hair at her right temple
                page.keyboard.press(key)
            page.evaluate("document.activeElement.blur()")
            page.evaluate("document.querySelector('#columns-title').scrollIntoView()")
            settle(page)
            page.screenshot(path=DOCS / "arena-phone.png")
        page.context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", default=["phone", "first-screen", "phone-result", "app",
                                                    "download", "engines", "arena", "arena-phone"])
    args = parser.parse_args()
    servers = [build.make_server(build.DIST), build.make_server(build.DIST, handler=SlowModels)]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    url, slow = (f"http://127.0.0.1:{s.server_port}/" for s in servers)
    chromium = os.environ.get("BACKGRONE_CHROMIUM") or shutil.which("chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            shots(browser, url, slow, args.names)
        finally:
            browser.close()
            for s in servers:
                s.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
