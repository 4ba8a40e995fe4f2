"""Two builds of the site, cold pages alternating: does a change to the start
move the first cutout? Each build is served on a port of its own (so each has
its own storage: engine, snapshot, caches), prepared as the benchmark
prepares a returning visitor's browser, then opened in new pages in turn
(A B, B A, ...), each dropping the photo as soon as the page takes files.
Per page: the init reply (the runtime ready) and the cutout's reply, both
from navigation start, the cutout less its inference (the start and the
Python stages, without the run whose time moves most with the machine's load),
and the CPU seconds all of the browser's processes spent from just before
the page opened to its cutout (work removed shows there even when the
machine's load hides it in the times).

    python3 build.py && cp -r dist /tmp/before   # then change, build again
    .venv/bin/python tests/perf/cold_ab.py --builds before=/tmp/before,after=dist
        [--engine lightweight] [--photo 0.3MP] [--pairs 6]

Nothing is asserted.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, ROOT / "py", ROOT / "tests", ROOT / "tests" / "bench"):
    sys.path.insert(0, str(p))

import browser as bench_browser  # noqa: E402
import build  # noqa: E402
import photos as photo_maker  # noqa: E402
from helpers import PHOTOS  # noqa: E402

INIT_AT = "() => __bench.replies.find((r) => r.type === 'init').t / 1000"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--builds", required=True, help="NAME=DIR,NAME=DIR")
    parser.add_argument("--engine", default="lightweight")
    parser.add_argument("--photo", default="0.3MP")
    parser.add_argument("--pairs", type=int, default=6)
    args = parser.parse_args(argv)
    builds = dict(item.split("=", 1) for item in args.builds.split(","))
    photo = photo_maker.make_photos(PHOTOS["grace_hopper"], (args.photo,))[0]
    bench = bench_browser.BrowserBench()
    urls, servers = {}, []
    figures = {name: [] for name in builds}
    try:
        for name, directory in builds.items():
            server = build.make_server(Path(directory))
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append(server)
            urls[name] = bench.url = f"http://127.0.0.1:{server.server_port}/"
            bench.prepare(args.engine, photo)
        for i in range(args.pairs):
            for name in (list(builds) if i % 2 == 0 else list(reversed(builds))):
                bench.url = urls[name]
                before = bench_browser.cpu_seconds(bench_browser.browser_processes(bench.profile))
                page, run = bench.cold_run(args.engine, photo)
                try:
                    after = bench_browser.cpu_seconds(bench_browser.browser_processes(bench.profile))
                    init = page.evaluate(INIT_AT)
                finally:
                    page.close()
                cpu = sum(t - before.get(pid, 0.0) for pid, t in after.items())
                figures[name].append((init, run["e2e"], run["e2e"] - run["timings"]["inference"], cpu))
                print(f"{name}: init {init:.3f} s, first cutout {run['e2e']:.3f} s, "
                      f"inference {run['timings']['inference']:.3f} s, CPU {cpu:.1f} s", flush=True)
    finally:
        bench.close()
        for server in servers:
            server.shutdown()
    print(f"{args.engine}, {args.photo}, medians of {args.pairs} cold pages (seconds from navigation start):")
    for name, rows in figures.items():
        init, e2e, rest, cpu = (statistics.median(column) for column in zip(*rows))
        print(f"  {name}: init {init:.3f}, first cutout {e2e:.3f}, first cutout less inference {rest:.3f}, "
              f"CPU seconds {cpu:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
