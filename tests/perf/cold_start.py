"""A cold page's timeline: every message of the engine worker, timed from
navigation start, for the first image after a page load (engine stored).

    python3 build.py && .venv/bin/python tests/perf/cold_start.py [--engine lightweight]
        [--photo 0.3MP] [--js-flags=--no-liftoff]

Stores the engine with a first image (not timed), then opens a new page,
drops the photo as soon as the page takes files and prints each progress
message and reply with its time. --js-flags passes V8 flags to Chromium
(e.g. --no-liftoff: each WebAssembly function compiled by the optimising
compiler at its first call; with --no-wasm-lazy-compilation too, all of them
before anything runs).
Nothing is asserted.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, ROOT / "py", ROOT / "tests", ROOT / "tests" / "bench"):
    sys.path.insert(0, str(p))

import browser as bench_browser  # noqa: E402
import photos as photo_maker  # noqa: E402
from helpers import PHOTOS  # noqa: E402

# Every message from any worker the page makes, with the page's clock.
TIMELINE = """(() => {
  const Native = window.Worker;
  window.__timeline = [];
  window.Worker = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => {
        const m = e.data || {};
        window.__timeline.push({ t: performance.now(), type: m.type, stage: m.stage || "",
                                 message: m.message || "" });
      });
    }
  };
})();"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default="lightweight")
    parser.add_argument("--photo", default="0.3MP")
    parser.add_argument("--js-flags", default=None)
    args = parser.parse_args(argv)
    if args.js_flags:
        bench_browser.CHROMIUM_ARGS.append(f"--js-flags={args.js_flags}")
    photo = photo_maker.make_photos(PHOTOS["grace_hopper"], (args.photo,))[0]
    b = bench_browser.BrowserBench()
    try:
        b.context.add_init_script(TIMELINE)
        b.prepare(args.engine, photo)
        page = b.context.new_page()
        page.set_default_timeout(bench_browser.TIMEOUT)
        b.cold_cut(page, photo)
        print(f"{args.engine}, {args.photo}, seconds from navigation start:")
        for m in page.evaluate("() => __timeline"):
            print(f"{m['t'] / 1000:7.3f}  {m['type']:8s} {m['stage']:8s} {m['message']}")
    finally:
        b.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
