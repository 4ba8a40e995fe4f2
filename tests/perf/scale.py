"""Images per hour of the command line on this machine, behind docs/scale.md.

    .venv/bin/python tests/perf/scale.py [--engine lightweight] [--images 16] [--rounds 2]

Each configuration cuts out the same photos (the four public-domain sample
photos resized to 1600x1200, JPEG, repeated) as a user runs it, a fresh
process each time, and once with a single photo. The steady rate is
(N - 1) / (time for N - time for 1), so process start, the model's load and
Ray's start-up are left out of it and reported apart. Configurations run
interleaved, round after round, so a busy machine slows them alike.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from helpers import PHOTOS  # noqa: E402

CONFIGS = {
    "remove, 1 process x 2 threads": ["remove", "--jobs", "1", "--threads", "2"],
    "remove, 1 process x 1 thread": ["remove", "--jobs", "1", "--threads", "1"],
    "remove --jobs 2, 2 processes x 1 thread": ["remove", "--jobs", "2", "--threads", "1"],
    "batch (local Ray), 2 actors x 1 thread": ["batch", "--jobs", "2", "--threads", "1"],
}


def photos(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True)
    sources = list(PHOTOS.values())
    out = []
    for i in range(count):
        path = folder / f"photo{i:03d}.jpg"
        Image.open(sources[i % len(sources)]).convert("RGB").resize((1600, 1200)).save(path, quality=90)
        out.append(path)
    return out


def cpu_seconds() -> float:
    """User and system time of the processes this one has waited for (the
    command, and the worker processes it waited for; not Ray's actors)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(args: list[str], inputs: Path, engine: str, stages: list[dict]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run; its manifest's per-image stage timings go into `stages`."""
    out = Path(tempfile.mkdtemp(prefix="scale-out-"))
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "py")}
        cpu = cpu_seconds()
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "backgrone", args[0], str(inputs), "-o", str(out),
                        "--engine", engine, "--manifest", str(out / "manifest.jsonl"), *args[1:]],
                       check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elapsed = time.perf_counter() - start
        cpu = cpu_seconds() - cpu
        for line in (out / "manifest.jsonl").read_text().splitlines():
            stages.append(json.loads(line)["timings"])
        return elapsed, cpu
    finally:
        shutil.rmtree(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default="lightweight")
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--configs", help="comma-separated indices into the list (default: all)")
    args = parser.parse_args()
    configs = list(CONFIGS.items())
    if args.configs:
        configs = [configs[int(i)] for i in args.configs.split(",")]
    work = Path(tempfile.mkdtemp(prefix="scale-"))
    try:
        many, one = work / "many", work / "one"
        photos(many, args.images)
        photos(one, 1)
        times: dict[str, dict[str, list[float]]] = {name: {"n": [], "1": [], "cpu_n": [], "cpu_1": []}
                                                    for name, _ in configs}
        stages: dict[str, list[dict]] = {name: [] for name, _ in configs}
        for round_ in range(args.rounds):
            for name, cli in configs:
                for key, inputs, into in (("1", one, []), ("n", many, stages[name])):
                    wall, cpu = timed(cli, inputs, args.engine, into)
                    times[name][key].append(wall)
                    times[name]["cpu_" + key].append(cpu)
                print(f"round {round_ + 1}: {name}: {times[name]['n'][-1]:.1f} s for {args.images}, "
                      f"{times[name]['1'][-1]:.1f} s for 1", flush=True)
        load = os.getloadavg()[0]
        print(f"\n{args.engine}, {args.images} photos of 1600x1200, {args.rounds} rounds, "
              f"{os.cpu_count()} CPUs, load average {load:.1f} at the end\n")
        print("| configuration | N photos (s) | 1 photo (s) | steady s/photo | photos/hour "
              "| CPU s/photo |")
        print("|---|---|---|---|---|---|")
        for name, _ in configs:
            t = {k: statistics.median(v) for k, v in times[name].items()}
            per = (t["n"] - t["1"]) / (args.images - 1)
            cpu = (t["cpu_n"] - t["cpu_1"]) / (args.images - 1)
            cpu_cell = f"{cpu:.2f}" if cpu > 0.5 else "(not seen)"  # Ray's actors are not our children
            print(f"| {name} | {t['n']:.1f} | {t['1']:.1f} | {per:.2f} | {3600 / per:,.0f} | {cpu_cell} |")
        print("\nMedian seconds per stage and photo, from the manifests (each worker's own clock):\n")
        names = list(stages[configs[0][0]][0])
        print("| configuration | " + " | ".join(names) + " |")
        print("|---|" + "---|" * len(names))
        for name, _ in configs:
            cells = [statistics.median(t.get(s, 0.0) for t in stages[name]) for s in names]
            print(f"| {name} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    finally:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
