"""Where a phone's memory goes: the renderer's peak resident set (the page,
its workers and their WebAssembly memories all live in the one renderer
process) for one photo in the app, in the standard and the low-memory mode,
at 12 and 48 MP, and for the Arena running every stored engine on a 12 MP
photo. Also the engine worker's WebAssembly memory from the cutout's reply
(Python's and onnxruntime-web's).

    python3 build.py && .venv/bin/python tests/perf/memory.py [--engine lightweight]
        [--cases app-12MP,app-12MP-low,app-48MP,app-48MP-low,arena-12MP] [--balanced-stand-in]

A case ending in -xN (app-12MP-x4) drops the photo N times on its page, as
the benchmark's cold page and warm runs do, and prints the peak after each.

Each case is a new page in one Chromium, its renderer's peak reset first
(/proc/PID/clear_refs), the engine already in IndexedDB. The peak is the
larger of the kernel's high-water mark and the resident set sampled every
50 ms (each alone can miss a peak). Balanced runs in the Arena only when the
site was built with --rmbg, or with --balanced-stand-in, which serves a copy
of dist/ whose Balanced is the Lightweight file (same size class and input,
so the Arena holds three sessions as it would). Nothing is asserted: the
figures and the targets are in docs/benchmark.md.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, ROOT / "py", ROOT / "tests", ROOT / "tests" / "bench"):
    sys.path.insert(0, str(p))

import browser as bench_browser  # noqa: E402
import photos as photo_maker  # noqa: E402
from e2e.standin_site import serve, site_copy  # noqa: E402
from helpers import PHOTOS  # noqa: E402

MIB = 2**20
LOW_MEMORY = "localStorage.setItem('backgrone.lowMemory', 'on');"
STANDARD = "localStorage.setItem('backgrone.lowMemory', 'off');"
# The last process reply's memoryParts (web/shared/protocol.js), kept by the page.
PARTS = """(() => { const Native = window.Worker; window.Worker = class extends Native {
  constructor(...args) { super(...args); this.addEventListener("message", (e) => {
    const r = e.data && e.data.result; if (r && r.memoryParts) window.__parts = r.memoryParts; }); } }; })();"""


# How often RssSampler reads the renderers' resident set. The kernel's
# high-water mark (VmHWM) can miss a peak: Linux folds its per-thread RSS
# counts in lazily and raises the mark only at some points (a session worker
# per Arena engine showed VmHWM 941-1050 MiB while sampling saw 1235-1429,
# docs/benchmark.md); and a spike shorter than the interval falls between
# samples. The larger of the two is reported; both are lower bounds.
SAMPLE_SECONDS = 0.05


class RssSampler:
    """The largest VmRSS of any renderer of the profile, read every
    SAMPLE_SECONDS on a thread while the case runs."""

    def __init__(self, bench):
        self.profile = bench.profile
        self.max = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        pids, listed = [], 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now - listed > 0.5:  # a page may get a new renderer; listing /proc costs more than a read
                pids, listed = bench_browser.renderers(self.profile), now
            for pid in pids:
                self.max = max(self.max, bench_browser._status(pid, "VmRSS") or 0)
            self._stop.wait(SAMPLE_SECONDS)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def hwm(bench) -> int:
    pids = bench_browser.renderers(bench.profile)
    return max((bench_browser._status(pid, "VmHWM") or 0 for pid in pids), default=0)


def peak(bench, sampler: RssSampler) -> int:
    """The renderers' peak resident set: the kernel's high-water mark, or
    the sampled RSS where that saw more (both are lower bounds)."""
    return max(hwm(bench), sampler.max)


def figures(bench, sampler: RssSampler) -> dict:
    mark = hwm(bench)
    return {"renderer_peak": max(mark, sampler.max), "hwm": mark, "sampled": sampler.max}


def app_case(bench, engine: str, photo, low: bool, images: int = 1) -> dict:
    bench.fresh_renderer()
    page = bench.context.new_page()
    page.set_default_timeout(bench_browser.TIMEOUT)
    try:
        page.add_init_script(LOW_MEMORY if low else STANDARD)
        # The page opens with the engine measured, as for a user who chose it
        # before: its early start is that engine's, not the last one stored's.
        page.add_init_script(f"localStorage.setItem('backgrone.engine', {json.dumps(engine)});")
        page.add_init_script(PARTS)
        bench_browser.reset_peaks(bench_browser.renderers(bench.profile))
        with RssSampler(bench) as sampler:
            page.goto(bench.app_url())
            page.wait_for_selector("body[data-ready=true]", timeout=bench_browser.TIMEOUT)
            if page.get_attribute("#engines-toggle", "aria-expanded") != "true":
                page.click("#engines-toggle")
            page.check(f"input[name=engine][value={engine}]")
            t0 = time.perf_counter()
            peaks = []
            for _ in range(images):  # the benchmark's warm runs drop the same photo again
                bench._cut(page, photo)
                page.wait_for_selector("#viewer:not([hidden])")
                page.wait_for_function("() => document.querySelector('#view-after').complete")
                peaks.append(peak(bench, sampler))
            seconds = time.perf_counter() - t0
        wasm = page.get_attribute("#queue .item:last-child", "data-memory")
        return {**figures(bench, sampler), "peaks": peaks, "wasm": int(wasm) if wasm else None,
                "seconds": seconds,
                "parts": page.evaluate("() => window.__parts || null"),
                "mode": page.get_attribute("body", "data-memory-mode")}
    finally:
        page.close()


def arena_case(bench, photo) -> dict:
    bench.fresh_renderer()
    page = bench.context.new_page()
    page.set_default_timeout(bench_browser.TIMEOUT)
    try:
        page.add_init_script(STANDARD)
        bench_browser.reset_peaks(bench_browser.renderers(bench.profile))
        with RssSampler(bench) as sampler:
            page.goto(bench.url + "arena.html")
            page.wait_for_selector("body[data-ready=true]", timeout=bench_browser.TIMEOUT)
            stored = page.evaluate("""() => [...document.querySelectorAll('.arena-col')]
                .filter((c) => c.dataset.engine !== 'consensus' && !c.querySelector('.col-download:not([hidden])'))
                .map((c) => c.dataset.engine)""")
            t0 = time.perf_counter()
            bench._drop(page, photo)  # the Arena's drop zone has the app's id
            for e in stored:
                page.wait_for_selector(f".arena-col[data-engine={e}][data-state=done]",
                                       timeout=bench_browser.TIMEOUT)
            page.wait_for_function("() => !document.body.dataset.running", timeout=bench_browser.TIMEOUT)
            seconds = time.perf_counter() - t0
        return {**figures(bench, sampler), "engines": stored, "seconds": seconds}
    finally:
        page.close()


def stand_in_build(built: Path, into: Path) -> Path:
    """A copy of the built site whose Balanced engine is served from the
    site and is the Lightweight file."""
    def stand_in(engines: list[dict]) -> None:
        light = next(e for e in engines if e["id"] == "lightweight")
        for e in engines:
            if e["id"] == "balanced":
                e.update(source=light["source"], size=light["size"], sha256=light["sha256"], self_hosted=True)

    return site_copy(into / "dist", stand_in, built)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", default="lightweight")
    ap.add_argument("--cases", default="app-12MP,app-12MP-low,app-48MP,app-48MP-low,arena-12MP")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--site", type=Path, default=bench_browser.build.DIST,
                    help="the built site to measure (default dist/; a copy of another build to compare)")
    ap.add_argument("--balanced-stand-in", action="store_true",
                    help="serve a copy of the site whose Balanced engine is the Lightweight file")
    args = ap.parse_args()
    scratch = tempfile.TemporaryDirectory(prefix="memory-")
    site = stand_in_build(args.site, Path(scratch.name)) if args.balanced_stand_in else args.site
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    sizes = tuple(sorted({c.split("-")[1] for c in cases} | {"0.3MP"}))
    photos = {p.name: p for p in photo_maker.make_photos(PHOTOS["grace_hopper"], sizes)}
    bench = bench_browser.BrowserBench()
    if site != bench_browser.build.DIST:
        bench.url = f"http://127.0.0.1:{serve(site).server_port}/"
    results: dict = {}
    try:
        # Every engine the Arena may run, stored as a user's first images store them.
        served = {e["id"] for e in json.loads((site / "engines.json").read_text())
                  if e.get("self_hosted")}
        for engine in ("lightweight", "precision", "balanced"):
            if engine in served:  # Balanced only when built with --rmbg
                bench.prepare(engine, photos["0.3MP"])
        for case in cases:
            kind, size, *rest = case.split("-")
            photo = photos[size]
            images = int(rest.pop()[1:]) if rest and rest[-1].startswith("x") else 1
            r = (app_case(bench, args.engine, photo, low=rest == ["low"], images=images) if kind == "app"
                 else arena_case(bench, photo))
            results[case] = r
            wasm = f", WebAssembly {r['wasm'] / MIB:.0f} MiB" if r.get("wasm") else ""
            if r.get("parts"):
                wasm += " (" + ", ".join(f"{k} {v / MIB:.0f}" for k, v in r["parts"].items()) + ")"
            what = f"{args.engine}, {r['mode']} mode" if kind == "app" else "engines " + "+".join(r["engines"])
            if len(r.get("peaks", ())) > 1:
                what += ", peak after each image " + " ".join(f"{x / MIB:.0f}" for x in r["peaks"])
            print(f"{case} ({photo.width}x{photo.height}, {what}): renderer peak "
                  f"{r['renderer_peak'] / MIB:.0f} MiB (VmHWM {r['hwm'] / MIB:.0f}, sampled RSS "
                  f"{r['sampled'] / MIB:.0f}){wasm}, {r['seconds']:.1f} s", flush=True)
    finally:
        bench.close()
        scratch.cleanup()
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
