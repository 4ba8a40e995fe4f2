"""Does the early engine's warm-up run help a visitor who drops a photo a
while after the page opened? New pages, alternating with and without the
warm-up, each dropping the photo `--drop-after` seconds after navigation
start; the figure is the time from that drop to the cutout's reply.

    python3 build.py && .venv/bin/python tests/perf/warm_up.py [--engine lightweight]
        [--photo 0.3MP] [--drop-after 12] [--runs 3]

"Without" plays a page that has an image waiting from the start: the
benchmark's own script sends the worker the `expect` message the page sends
when images are added before the worker has started (web/shared/protocol.js),
so the session worker makes no warm-up run. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, ROOT / "py", ROOT / "tests", ROOT / "tests" / "bench"):
    sys.path.insert(0, str(p))

import browser as bench_browser  # noqa: E402
import photos as photo_maker  # noqa: E402
from helpers import PHOTOS  # noqa: E402

# Set per page (before its scripts run) by `window.name`: "no-warm-up" sends
# the engine worker an `expect` as soon as it is made.
NO_WARM_UP = """(() => {
  const Native = window.Worker;
  window.Worker = class extends Native {
    constructor(...args) {
      super(...args);
      if (window.name === "no-warm-up" && String(args[0]).includes("worker/worker.js"))
        super.postMessage({ type: "expect" });
    }
  };
})();"""


def one(b: bench_browser.BrowserBench, photo, drop_after: float, warm_up: bool) -> float:
    page = b.context.new_page()
    page.set_default_timeout(bench_browser.TIMEOUT)
    try:
        page.add_init_script(f"window.name = {'' if warm_up else 'no-warm-up'!r};")
        page.goto(b.app_url(), wait_until="commit")
        page.wait_for_selector("body[data-ready=true]", timeout=bench_browser.TIMEOUT)
        now = page.evaluate("() => performance.now() / 1000")
        if now < drop_after:
            time.sleep(drop_after - now)
        r = b._cut(page, photo)
        return r["e2e"]
    finally:
        page.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default="lightweight")
    parser.add_argument("--photo", default="0.3MP")
    parser.add_argument("--drop-after", type=float, default=12.0, help="seconds after navigation start")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    photo = photo_maker.make_photos(PHOTOS["grace_hopper"], (args.photo,))[0]
    b = bench_browser.BrowserBench()
    out = {True: [], False: []}
    try:
        b.context.add_init_script(NO_WARM_UP)
        b.prepare(args.engine, photo)
        for i in range(args.runs):
            for warm_up in (True, False) if i % 2 == 0 else (False, True):
                out[warm_up].append(one(b, photo, args.drop_after, warm_up))
                print(f"run {i + 1}, warm-up {'on' if warm_up else 'off'}: {out[warm_up][-1]:.2f} s", flush=True)
    finally:
        b.close()
    print(f"{args.engine}, {args.photo}, dropped {args.drop_after:.0f} s after navigation start; "
          f"drop to cutout, median of {args.runs}:")
    for warm_up in (True, False):
        print(f"  warm-up {'on ' if warm_up else 'off'}: {statistics.median(out[warm_up]):.2f} s  "
              f"({', '.join(f'{x:.2f}' for x in out[warm_up])})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
