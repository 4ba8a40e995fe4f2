"""The touch-up editor on a 12 MP photo: how long each edit takes from
pointer-up (or key press) to the updated view, the longest frame while a
stroke goes on, and the exports with and without edits.

    python3 build.py && .venv/bin/python tests/perf/editor_12mp.py [--runs 3] [--engine lightweight]

The photo is the benchmark's 12 MP one (tests/bench/photos.py: grace_hopper.jpg
resized to 3200x3750, JPEG q90), cut out once by the real engine. Edits are timed by the editor's own `editapplied` event (pointer-up to
the animation frame after the view is painted); exports from the click on
Download to the file saved. Exports with and without edits alternate, so they
share the machine's noise. It also times, for the choices in docs/editor.md:
a 12 MP mask PNG-encoded on the page (what a raw mask saves) and Pillow's
ImageDraw.floodfill under CPython on the same subject (what the page's own
labelling saves). Nothing is asserted.
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, ROOT / "py", ROOT / "tests", ROOT / "tests" / "bench", ROOT / "tests" / "e2e"):
    sys.path.insert(0, str(p))

import build  # noqa: E402
import photos as photo_maker  # noqa: E402
from browser import choose_engine, drop_files, wait_results  # noqa: E402
from helpers import PHOTOS  # noqa: E402

CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT = 900_000

# Collects the editor's timings and, while asked, every animation frame.
PROBE = """() => {
  window.applied = [];
  document.querySelector("#editor").addEventListener("editapplied", (e) => window.applied.push(e.detail));
  window.frames = null;
  window.watchFrames = () => {
    window.frames = [];
    const tick = (t) => { if (window.frames) { window.frames.push(t); requestAnimationFrame(tick); } };
    requestAnimationFrame(tick);
  };
  window.stopFrames = () => {
    const f = window.frames; window.frames = null;
    let worst = 0; for (let i = 1; i < f.length; i++) worst = Math.max(worst, f[i] - f[i - 1]);
    return worst;
  };
}"""


def median(xs):
    return statistics.median(xs) if xs else float("nan")


class Editor:
    def __init__(self, page, width: int, height: int):
        self.page, self.width, self.height = page, width, height

    def screen(self, x: float, y: float) -> tuple[float, float]:
        box = self.page.locator("#edit-view .edit-canvas").bounding_box()
        s = box["width"] / self.width
        return box["x"] + x * s, box["y"] + y * s

    def settled(self) -> None:
        self.page.wait_for_selector("#editor:not([data-busy])", timeout=TIMEOUT)

    def last(self) -> float:
        self.page.wait_for_function("(n) => window.applied.length >= n", arg=self.count, timeout=TIMEOUT)
        return self.page.evaluate("window.applied[window.applied.length - 1].ms")

    @property
    def count(self) -> int:
        return self._count

    def _expect(self):
        self._count = self.page.evaluate("window.applied.length") + 1

    def stroke(self, a, b, steps=60) -> tuple[float, float]:
        """(pointer-up to view ms, the longest frame in ms while it went on)."""
        self.page.locator("#edit-view").scroll_into_view_if_needed()
        sa, sb = self.screen(*a), self.screen(*b)
        self._expect()
        self.page.mouse.move(*sa)
        self.page.evaluate("watchFrames()")
        self.page.mouse.down()
        self.page.mouse.move(*sb, steps=steps)
        self.page.mouse.up()
        worst = self.page.evaluate("stopFrames()")
        ms = self.last()
        self.settled()
        return ms, worst

    def click(self, x, y) -> float:
        self.page.locator("#edit-view").scroll_into_view_if_needed()
        self._expect()
        self.page.mouse.click(*self.screen(x, y))
        ms = self.last()
        self.settled()
        return ms

    def key(self, combo) -> float:
        self._expect()
        self.page.keyboard.press(combo)
        ms = self.last()
        self.settled()
        return ms


def export(page, fmt: str) -> float:
    page.select_option("#format", fmt)
    t0 = time.perf_counter()
    with page.expect_download(timeout=TIMEOUT) as info:
        page.click("#download")
    info.value.path()
    return (time.perf_counter() - t0) * 1000


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", default="lightweight")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    photo = photo_maker.make_photos(PHOTOS["grace_hopper"], ("12MP",))[0]
    w, h = photo.width, photo.height
    from playwright.sync_api import sync_playwright

    server = build.make_server(build.DIST)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    rows: dict[str, list[float]] = {}

    def note(name, value):
        rows.setdefault(name, []).append(value)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(TIMEOUT)
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]", timeout=TIMEOUT)
        choose_engine(page, args.engine)
        drop_files(page, [("hopper-12mp.jpg", photo.data, "image/jpeg")])
        (item,) = wait_results(page, 1, timeout=TIMEOUT)
        assert item.get_attribute("data-state") == "done", item.inner_text()
        page.evaluate(PROBE)

        t0 = time.perf_counter()
        page.click("#edit-open")
        page.wait_for_selector("#editor[data-ready=true]", timeout=TIMEOUT)
        note("open the editor (decode, first paint)", (time.perf_counter() - t0) * 1000)
        ed = Editor(page, w, h)
        scale = page.locator("#edit-view .edit-canvas").bounding_box()["width"] / w
        print(f"{w}x{h}, view scale {scale:.3f} (Fit)")

        with page.expect_download(timeout=TIMEOUT) as info:
            page.select_option("#format", "mask")
            page.click("#download")
        engine_mask = Image.open(info.value.path())
        engine_mask.load()
        page.select_option("#format", "png")

        # The edits, each `runs` times, then undone so the next run starts alike.
        for run in range(args.runs):
            page.click("label:has(input[name=edit-tool][value=remove])")
            note("click: remove the part under the pointer (the subject)", ed.click(0.5 * w, 0.55 * h))
            note("undo (a part: its box pasted back)", ed.key("Control+z"))
            page.click("label:has(input[name=edit-tool][value=keep])")
            note("click: keep only the part under the pointer (every other part removed)", ed.click(0.5 * w, 0.55 * h))
            ed.key("Control+z")
            page.click("label:has(input[name=edit-tool][value=erase])")
            y = h * (0.15 + 0.05 * run)
            page.locator("#edit-view").scroll_into_view_if_needed()
            page.mouse.move(*ed.screen(0.1 * w, y))
            page.evaluate("watchFrames()")
            page.mouse.move(*ed.screen(0.9 * w, y + 0.3 * h), steps=60)
            note("  the longest frame while the pointer hovers over that path, no button (baseline)", page.evaluate("stopFrames()"))
            ms, worst = ed.stroke((0.1 * w, y), (0.9 * w, y + 0.3 * h))
            note("stroke, 40 px brush (~%d image px), long diagonal: pointer-up to view" % round(40 / scale), ms)
            note("  longest frame during that stroke", worst)
            page.keyboard.press("]")
            for _ in range(6):
                page.keyboard.press("]")
            ms, worst = ed.stroke((0.1 * w, y + 0.1 * h), (0.9 * w, y + 0.4 * h))
            size = int(page.input_value("#edit-size"))
            note(f"stroke, {size} px brush (~{round(size / scale)} image px): pointer-up to view", ms)
            note("  longest frame during that stroke", worst)
            page.keyboard.press("[")
            for _ in range(6):
                page.keyboard.press("[")
            page.check("#edit-edges")
            ms, _ = ed.stroke((0.3 * w, 0.3 * h), (0.7 * w, 0.35 * h), steps=30)
            note("edge-aware stroke, 40 px brush: pointer-up to view (worker refine)", ms)
            page.uncheck("#edit-edges")
            for _ in range(3):
                note("undo (a stroke)", ed.key("Control+z"))

        # Exports: no edits (the engine's PNG mask) and with edits (raw mask), alternating.
        ed.stroke((0.2 * w, 0.2 * h), (0.8 * w, 0.8 * h))
        for run in range(args.runs):
            for edited in (False, True):
                if not edited:
                    ed.key("Control+z")
                else:
                    ed.key("Control+Shift+z")
                label = "edited" if edited else "no edits"
                for fmt in ("png", "mask"):
                    note(f"export {fmt.upper()} ({label})", export(page, fmt))
                page.check("input[name=bg][value=color]")
                note(f"export JPEG on a colour ({label})", export(page, "jpeg"))
                page.check("input[name=bg][value=transparent]")

        # What editing in the worker would add to every stroke, at the least:
        # the 12 MP mask copied across (a structured clone, as postMessage makes).
        for _ in range(args.runs):
            note("page: a 12 MP mask copied as postMessage copies it (structuredClone)", page.evaluate(
                """(n) => { const a = new Uint8Array(n).fill(7); const t0 = performance.now();
                            structuredClone(a); return performance.now() - t0; }""", w * h))
        # What a raw mask saves: the same mask PNG-encoded by the page.
        for _ in range(args.runs):
            note("page: a 12 MP mask PNG-encoded (OffscreenCanvas.convertToBlob)", page.evaluate(
                """async ([w, h]) => {
                    const c = new OffscreenCanvas(w, h); const ctx = c.getContext("2d");
                    const img = ctx.createImageData(w, h);
                    for (let i = 0; i < img.data.length; i += 4) { const v = (i >> 10) & 255; img.data[i] = img.data[i+1] = img.data[i+2] = v; img.data[i+3] = 255; }
                    ctx.putImageData(img, 0, 0);
                    const t0 = performance.now(); await c.convertToBlob({ type: "image/png" }); return performance.now() - t0;
                }""", [w, h]))
        browser.close()
    server.shutdown()

    # What the page's own labelling saves: Pillow's floodfill on the same subject.
    sel = Image.fromarray(((np.asarray(engine_mask) >= 128) * 255).astype(np.uint8)).copy()  # writable
    t0 = time.perf_counter()
    ImageDraw.floodfill(sel, (int(0.5 * w), int(0.55 * h)), 128)
    pillow = (time.perf_counter() - t0) * 1000
    filled = int((np.asarray(sel) == 128).sum())

    print(f"\n{args.runs} runs, median ms (min-max):")
    for name, xs in rows.items():
        print(f"  {name:78s} {median(xs):8.0f}  ({min(xs):.0f}-{max(xs):.0f})")
    print(f"  {'CPython: Pillow ImageDraw.floodfill of that part (%.1f MP)' % (filled / 1e6):78s} {pillow:8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
