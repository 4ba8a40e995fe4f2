"""How much of a returning visitor's cold page goes to compiling WebAssembly:
per cold page, the optimising compiler's (TurboFan's) time for each module
(onnxruntime-web, Pyodide, numpy, Pillow), the functions it spent most on,
and the browser's code cache: which cached module each compile started from
and which writes the page made.

    python3 build.py && .venv/bin/python tests/perf/wasm_tiering.py [--pages 3]
        [--visits 2] [--engine lightweight] [--photo 0.3MP] [--site DIR]

V8 runs a WebAssembly function first as baseline code (Liftoff) and compiles
it again with TurboFan, on background threads, once it has run enough; the
code cache keeps optimised functions from one visit to the next. The browser
is prepared as the benchmark prepares a returning visitor's (--visits, by
default the benchmark's RETURNING_VISITS; each with one cutout), then each
page drops the photo as soon as it can, makes one more cutout and
stays open 3 s. Compile times come from V8's --trace-wasm-compilation-times
(the browser's output, read through Playwright's pw:browser log); cache hits
and writes from a Chromium trace. A module is named by its function count:
the smallest file among the site's WebAssembly whose count exceeds the
highest function index compiled. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, ROOT / "py", ROOT / "tests", ROOT / "tests" / "bench"):
    sys.path.insert(0, str(p))

import build  # noqa: E402
# A WebAssembly module's integers are unsigned LEB128: protobuf's varint.
from backgrone.protowire import varint as _leb  # noqa: E402

MARK = "=== cold page "
COMPILED = re.compile(r"Compiled function (0x[0-9a-f]+)#(\d+) using (\w+), took (\d+) (μs|ms)")
TRACE_NAMES = ("v8.wasm.moduleCacheHit", "v8.wasm.compiledModule", "v8.wasm.cachedModule")


def function_count(wasm: bytes) -> int:
    """Imported and defined functions of a WebAssembly module (V8's function
    indices count both)."""
    i, total = 8, 0
    while i < len(wasm):
        section, i = wasm[i], i + 1
        size, i = _leb(wasm, i)
        end = i + size
        if section == 2:  # imports: count those of kind 0 (function)
            n, j = _leb(wasm, i)
            for _ in range(n):
                for _ in range(2):  # module and field names
                    length, j = _leb(wasm, j)
                    j += length
                kind, j = wasm[j], j + 1
                if kind == 0:
                    total += 1
                    _, j = _leb(wasm, j)
                elif kind == 1:  # table: reftype, limits
                    j += 1
                    flags, j = _leb(wasm, j)
                    _, j = _leb(wasm, j)
                    if flags & 1:
                        _, j = _leb(wasm, j)
                elif kind == 2:  # memory: limits
                    flags, j = _leb(wasm, j)
                    _, j = _leb(wasm, j)
                    if flags & 1:
                        _, j = _leb(wasm, j)
                elif kind == 3:  # global: valtype, mutability
                    j += 2
                else:  # tag
                    j += 1
                    _, j = _leb(wasm, j)
        elif section == 3:
            n, _ = _leb(wasm, i)
            total += n
        i = end
    return total


def site_modules(site: Path) -> dict[str, int]:
    """{name: function count} of the WebAssembly a page can load: the .wasm
    files and the shared libraries inside the wheels."""
    out = {}
    for path in sorted(site.rglob("*.wasm")):
        if "asyncify" not in path.name:  # WebGPU's runtime: these pages run on WASM
            out[str(path.relative_to(site))] = function_count(path.read_bytes())
    for wheel in sorted(site.rglob("*.whl")):
        with zipfile.ZipFile(wheel) as z:
            for name in z.namelist():
                if name.endswith(".so"):
                    data = z.read(name)
                    if data[:4] == b"\0asm":
                        out[f"{wheel.name.split('-')[0]}/{name.rsplit('/', 1)[-1]}"] = function_count(data)
    return out


def child(args) -> None:
    """Runs with pw:browser logging on: marks each page on stderr, prints
    its figures and trace events as JSON lines on stdout."""
    import browser as bench_browser
    import photos as photo_maker
    from helpers import PHOTOS

    bench_browser.CHROMIUM_ARGS.append("--js-flags=--trace-wasm-compilation-times")
    if args.visits:
        bench_browser.RETURNING_VISITS = args.visits
    photo = photo_maker.make_photos(PHOTOS["grace_hopper"], (args.photo,))[0]
    if args.site:
        build.DIST = Path(args.site)
    bench = bench_browser.BrowserBench()
    try:
        bench.prepare(args.engine, photo)
        blank = bench.context.new_page()
        cdp = bench.context.new_cdp_session(blank)
        events, done = [], []
        cdp.on("Tracing.dataCollected", lambda p: events.extend(p["value"]))
        cdp.on("Tracing.tracingComplete", lambda p: done.append(True))
        for i in range(args.pages):
            events.clear()
            done.clear()
            cdp.send("Tracing.start", {"traceConfig": {"includedCategories": [
                "disabled-by-default-devtools.timeline"]}, "transferMode": "ReportEvents"})
            sys.stderr.write(f"{MARK}{i}\n")
            sys.stderr.flush()
            page, run = bench.cold_run(args.engine, photo)
            try:
                warm = bench.warm_runs(page, photo, 1)[0]
                page.wait_for_timeout(3000)
            finally:
                page.close()
            cdp.send("Tracing.end")
            for _ in range(300):
                if done:
                    break
                blank.wait_for_timeout(100)
            t0 = min((e["ts"] for e in events if e["name"] in TRACE_NAMES), default=0)
            trace = [{"at": (e["ts"] - t0) / 1e6, "name": e["name"], "args": e.get("args", {})}
                     for e in events if e["name"] in TRACE_NAMES]
            print(json.dumps({"page": i, "e2e": run["e2e"], "inference": run["timings"]["inference"],
                              "warm_inference": warm["timings"]["inference"], "trace": trace}), flush=True)
    finally:
        bench.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument("--visits", type=int, help="visits before the pages (default: the benchmark's)")
    parser.add_argument("--engine", default="lightweight")
    parser.add_argument("--photo", default="0.3MP")
    parser.add_argument("--site", help="a built site (default dist/)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    counts = site_modules(Path(args.site or build.DIST))
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.run([sys.executable, __file__, "--child", *(argv or sys.argv[1:])],
                              env={**os.environ, "DEBUG": "pw:browser"}, stdout=subprocess.PIPE,
                              stderr=log, text=True)
        log.seek(0)
        lines = log.read().split("\n")
    if proc.returncode:
        print("\n".join(lines[-30:]), file=sys.stderr)
        return proc.returncode
    pages = [json.loads(line) for line in proc.stdout.split("\n") if line.startswith("{")]
    compiled = collections.defaultdict(lambda: collections.defaultdict(dict))  # page -> module -> {func: ms}
    highest = collections.defaultdict(int)
    page = -1
    for line in lines:
        if MARK in line:
            page = int(line.split(MARK)[1])
            continue
        m = COMPILED.search(line)
        if not m or page < 0:
            continue
        module, func, tier, took, unit = m.groups()
        highest[(page, module)] = max(highest[(page, module)], int(func))
        if tier == "TurboFan":
            compiled[page][module][int(func)] = float(took) / (1000 if unit == "μs" else 1)

    def name(page, module):
        fits = [(n, f) for f, n in counts.items() if n > highest[(page, module)]]
        return min(fits)[1] if fits else module

    from browser import RETURNING_VISITS

    print(f"{args.engine}, {args.photo}; pages after {args.visits or RETURNING_VISITS} visits, TurboFan time "
          "per module (ms of a background thread; V8 compiles a function once it has run enough)")
    for p in pages:
        i = p["page"]
        total = sum(sum(f.values()) for f in compiled[i].values())
        print(f"page {i}: first cutout {p['e2e']:.2f} s; inference {p['inference']:.2f} s cold, "
              f"{p['warm_inference']:.2f} s on the next cutout; TurboFan {total:.0f} ms in all")
        for module, funcs in sorted(compiled[i].items(), key=lambda kv: -sum(kv[1].values())):
            top = sorted(funcs.items(), key=lambda kv: -kv[1])[:3]
            print(f"  {name(i, module)}: {len(funcs)} functions, {sum(funcs.values()):.0f} ms; the longest "
                  + ", ".join(f"#{f} {ms:.0f} ms" for f, ms in top))
        for e in p["trace"]:
            a, file = e["args"], e["args"].get("url", "").rsplit("/", 1)[-1]
            if e["name"] == "v8.wasm.moduleCacheHit":
                what = f"compile from the code cache, {a.get('consumedCacheSize')} bytes: {file}"
            elif e["name"] == "v8.wasm.compiledModule":
                what = f"code cache write begins: {file}"
            else:
                what = f"  written, {a.get('producedCacheSize')} bytes"
            print(f"    {e['at']:6.2f} s  {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
