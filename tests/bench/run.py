"""Backgrone's benchmark: `python3 build.py bench [options]` runs this.

For each engine and each photo size, in one run on one machine:
native onnxruntime `session.run` (the floor on this CPU), raw
onnxruntime-web `session.run` in Chromium (same model, same tensor), and the
app end to end with its stage timings, cold and warm; the page's memory; the
pipeline's Python stages and peak memory under CPython. Prints a markdown
table and writes every figure as JSON. With --peer, @imgly/background-removal
1.7.0 and 1.4.5 run on the same photos in the same Chromium, alternating with
the app page by page (peer.py).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, ROOT / "py", ROOT / "tests", ROOT / "tests" / "bench"):
    sys.path.insert(0, str(p))

import numpy as np  # noqa: E402

import native  # noqa: E402
import peer as peer_bench  # noqa: E402
import photos as photo_maker  # noqa: E402
from backgrone import imageio, tensors  # noqa: E402
from backgrone.engines import get_engine  # noqa: E402
from backgrone.models import find_model  # noqa: E402
from browser import ANATOMY, BrowserBench  # noqa: E402
from helpers import PHOTOS  # noqa: E402

ENGINES = ("lightweight", "precision", "balanced")
PY_STAGES = ("decode", "preprocess", "handover", "postprocess", "refine", "decontaminate", "composite", "encode")


def machine() -> dict:
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {"cpus": os.cpu_count(), "cpu_model": cpu, "memory_bytes": mem,
            "platform": platform.platform(), "python": platform.python_version(),
            "load_average_at_start": load}


def ratio(a, b):
    return a / b if a and b else None


def bench(args) -> dict:
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for e in engines:
        get_engine(e)  # unknown names fail here, before anything runs
    sizes = tuple(s.strip() for s in args.photos.split(",")) if args.photos else None
    photos = photo_maker.make_photos(PHOTOS["grace_hopper"], sizes)
    report: dict = {"machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                    "runs": args.runs, "cold_runs": args.cold_runs, "backend_requested": args.backend,
                    "photos": [{"name": p.name, "width": p.width, "height": p.height, "bytes": len(p.data),
                                "made": p.how} for p in photos],
                    "engines": {}, "skipped": {}}
    threads = min(4, os.cpu_count() or 1)  # what the app's worker uses here

    runnable = []
    for engine_id in engines:
        engine = get_engine(engine_id)
        if engine_id == "balanced":
            if not args.rmbg:
                report["skipped"]["balanced"] = (
                    "no RMBG-1.4 file given (--rmbg PATH): the model is in no package registry "
                    "and its host is out of reach here. A stand-in model is never measured in its place.")
                continue
            model = Path(args.rmbg)
        else:
            model = find_model(engine)
        runnable.append((engine, model))

    browser = BrowserBench(backend=args.backend) if runnable else None
    peers = peer_bench.PeerBench(browser, photos) if browser and args.peer else None
    try:
        if browser:
            report["machine"]["chromium"] = browser.version
        if peers:
            report["peer"] = {"versions": list(peer_bench.VERSIONS), "models": peer_bench.MODELS}
        for engine, model in runnable:
            log(f"{engine.label}: model {model}")
            entry: dict = {"label": engine.label, "model": str(model), "photos": {}}
            report["engines"][engine.id] = entry
            prepared = browser.prepare(engine.id, photos[0])
            entry["backend"] = prepared["backend"]
            with_peer = peers is not None and peer_bench.covers(engine.id)
            for version in peer_bench.VERSIONS if with_peer else ():
                peers.prepare(version, engine.id, photos[0])
            for photo in photos:
                log(f"{engine.label}, {photo.name} ({photo.width}x{photo.height})")
                decoded = imageio.decode(photo.data)
                tensor = tensors.preprocess(decoded.rgb, engine)
                nat, output = native.session_run(model, engine, tensor, args.runs, threads)
                log(f"  native session.run {nat['median']:.2f} s")
                raw = browser.raw_inference(engine, np.ascontiguousarray(tensor).tobytes(), args.runs)
                log(f"  raw onnxruntime-web session.run {raw['median']:.2f} s")
                if with_peer:
                    app, peer = peer_bench.side_by_side(browser, peers, engine.id, photo, args.runs, args.cold_runs)
                    for version, figures in peer.items():
                        figures["ratios"] = peer_bench.ratios(app, figures)
                        log(f"  @imgly/background-removal {version} cold {figures['cold']['e2e']:.2f} s, "
                            f"warm {figures['warm']['e2e']:.2f} s")
                else:
                    app, peer = browser.cold_then_warm(engine.id, photo, args.runs, args.cold_runs), None
                log(f"  app cold {app['cold']['e2e']:.2f} s, warm {app['warm']['e2e']:.2f} s")
                cpython = native.python_stages(photo.data, engine, output, args.runs)
                cpython.update(native.pipeline_peak(photo.data, engine, output))
                # The same without refinement and decontamination: what they add
                # (tracemalloc only: a second run's peak RSS reuses the first's heap).
                plain = native.pipeline_peak(photo.data, engine, output, refine=False, decontaminate=False)
                cpython.update({f"{k}_edges_off": v for k, v in plain.items()})
                warm = app["warm"]
                py = sum(warm["stages"].get(s) or 0 for s in PY_STAGES)
                entry["photos"][photo.name] = {
                    "native": nat, "raw_web": raw, "app": app, "cpython_stages": cpython, "peer": peer,
                    "ratios": {
                        "warm_e2e_over_raw_web": ratio(warm["e2e"], raw["median"]),
                        # The same, against the app's own session.run in the
                        # same runs: immune to the machine's load changing
                        # between the raw and the app runs.
                        "warm_e2e_over_app_inference": ratio(warm["e2e"], warm["stages"].get("inference")),
                        "cold_over_warm": ratio(app["cold"]["e2e"], warm["e2e"]),
                        "raw_web_over_native": ratio(raw["median"], nat["median"]),
                        "python_stages_share_of_warm_e2e": ratio(py, warm["e2e"]),
                    },
                }
    finally:
        if peers:
            peers.close()
        if browser:
            browser.close()
    return report


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def f(x, digits=2, suffix=""):
    return "n/a" if x is None else f"{x:.{digits}f}{suffix}"


def mb(x):
    return "n/a" if x is None else f"{x / 2**20:.0f}"


def table(report: dict) -> str:
    lines = []
    m = report["machine"]
    lines.append(f"Machine: {m['cpus']} CPUs, {m['cpu_model']}, {mb(m['memory_bytes'])} MiB RAM; "
                 f"Chromium {m.get('chromium')}; {report['started']}; load average at start "
                 f"{', '.join(f'{x:.2f}' for x in m['load_average_at_start'] or [])}.")
    lines.append(f"Medians of {report['runs']} runs (cold: {report['cold_runs']} page loads), seconds.")
    lines.append("Photos: " + "; ".join(f"{p['name']} = {p['width']}x{p['height']}, {p['made']}"
                                        for p in report["photos"]) + ".")
    lines.append("")
    lines.append("| engine | photo | backend | native run | raw web run | app warm | app cold | warm/raw | "
                 "warm/app run | cold/warm | web/native | Python stages warm (share) |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for eid, e in report["engines"].items():
        for name, p in e["photos"].items():
            r, w, c = p["ratios"], p["app"]["warm"], p["app"]["cold"]
            py = sum(w["stages"].get(s) or 0 for s in PY_STAGES)
            lines.append(
                f"| {e['label']} | {name} | {p['app']['backend']} | {f(p['native']['median'])} | "
                f"{f(p['raw_web']['median'])} | {f(w['e2e'])} | {f(c['e2e'])} | "
                f"{f(r['warm_e2e_over_raw_web'])}x | {f(r['warm_e2e_over_app_inference'])}x | "
                f"{f(r['cold_over_warm'])}x | "
                f"{f(r['raw_web_over_native'])}x | {f(py)} ({f(100 * r['python_stages_share_of_warm_e2e'] if r['python_stages_share_of_warm_e2e'] else None, 1)}%) |")
    lines.append("")
    lines.append("native run = onnxruntime `session.run` under CPython; raw web run = onnxruntime-web "
                 "`session.run` in Chromium, same model and tensor; app = drop to PNG reply; warm/raw = "
                 "app warm / raw web run; warm/app run = app warm / the app's own inference stage in the "
                 "same runs (immune to the load changing between runs); Python stages = decode + preprocess + handover + "
                 "postprocess + refine + decontaminate + composite + encode.")
    lines.append("")
    lines.append("Warm stages in the browser (the app's own `timings`), seconds:")
    lines.append("")
    stages = list(dict.fromkeys(k for e in report["engines"].values() for p in e["photos"].values()
                                for k in p["app"]["warm"]["stages"]))
    lines.append("| engine | photo | " + " | ".join(stages) + " | not in timings | cold: boot (init reply) |")
    lines.append("|---|---|" + "---|" * len(stages) + "---|---|")
    for eid, e in report["engines"].items():
        for name, p in e["photos"].items():
            w = p["app"]["warm"]
            rest = w["e2e"] - sum(v or 0 for v in w["stages"].values()) if w["e2e"] else None
            lines.append(f"| {e['label']} | {name} | " + " | ".join(f(w["stages"].get(s), 3) for s in stages)
                         + f" | {f(rest, 3)} | {f(p['app']['cold']['boot'])} |")
    lines.append("")
    lines.append("Cold start, where the time of the first image after a page load goes (the worker's own "
                 "progress messages; medians of the page loads), seconds:")
    lines.append("")
    lines.append("| engine | photo | page and worker | Pyodide, numpy, Pillow, Backgrone's wheel | Backgrone "
                 "imported | onnxruntime-web (its wait) | engine start (its wait) | image | its inference | "
                 "warm inference | cold - warm |")
    lines.append("|---|---|" + "---|" * (len(ANATOMY) + 3))
    for eid, e in report["engines"].items():
        for name, p in e["photos"].items():
            c, w = p["app"]["cold"], p["app"]["warm"]
            a = c.get("anatomy") or {}
            extra = c["e2e"] - w["e2e"] if c["e2e"] and w["e2e"] else None
            lines.append(f"| {e['label']} | {name} | " + " | ".join(f(a.get(k)) for k in ANATOMY)
                         + f" | {f(c['stages'].get('inference'))} | {f(w['stages'].get('inference'))} | {f(extra)} |")
    lines.append("")
    lines.append("Memory (MiB): renderer = peak resident set (VmHWM) of the Chromium renderer process "
                 "that hosts the page and its worker, over a cold load and the warm runs; measureUAMemory = "
                 "performance.measureUserAgentSpecificMemory() after the runs (page and worker); "
                 "CPython = the pipeline alone for one image, network excluded: tracemalloc peak "
                 "(numpy) and rise of peak RSS (numpy and Pillow).")
    lines.append("")
    lines.append("| engine | photo | renderer peak RSS | measureUAMemory | CPython tracemalloc peak | CPython peak RSS rise | "
                 "tracemalloc peak, edges off | CPython Python stages (s) |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for eid, e in report["engines"].items():
        for name, p in e["photos"].items():
            mem = p["app"]["memory"] or {}
            ua = mem.get("measureUserAgentSpecificMemory") or {}
            cp = p["cpython_stages"]
            lines.append(f"| {e['label']} | {name} | {mb(mem.get('renderer_peak_rss_bytes'))} | "
                         f"{mb(ua.get('bytes'))} | {mb(cp.get('tracemalloc_peak_bytes'))} | "
                         f"{mb(cp.get('rss_peak_rise_bytes'))} | {mb(cp.get('tracemalloc_peak_bytes_edges_off'))} | "
                         f"{f(cp['total'], 3)} |")
    lines += peer_bench.tables(report)
    for eid, why in report["skipped"].items():
        lines.append("")
        lines.append(f"{get_engine(eid).label}: skipped, {why}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="build.py bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--runs", type=int, default=3, help="runs per case (medians are reported)")
    parser.add_argument("--cold-runs", type=int, default=None, help="page loads per case (default: --runs)")
    parser.add_argument("--photos", default=None, help="a subset of 0.3MP,1MP,12MP")
    parser.add_argument("--backend", choices=["wasm", "webgpu"], default=None)
    parser.add_argument("--rmbg", type=Path, help="the RMBG-1.4 model file, for the Balanced engine")
    parser.add_argument("--peer", action="store_true",
                        help="also run @imgly/background-removal 1.7.0 and 1.4.5, side by side")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results.json")
    args = parser.parse_args(argv)
    args.cold_runs = args.cold_runs or args.runs
    report = bench(args)
    text = table(report)
    print(text)
    report["table"] = text
    args.out.write_text(json.dumps(report, indent=1))
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
