"""How the refinement's constants were chosen: a grid of them on a tuning
subset of the benchmark's composites (the even-numbered stamps of --limit),
band metrics only (no connectivity, for speed), means over the composites.

    .venv/bin/python tests/quality/sweep.py --engines lightweight,precision --limit 60

Engine masks come from the benchmark's cache (run `build.py quality` first,
or this runs the engines once itself).
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT / "py", ROOT / "tests" / "quality"):
    sys.path.insert(0, str(p))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

import dataset  # noqa: E402
import metrics  # noqa: E402
from backgrone import refine  # noqa: E402
from backgrone.engines import get_engine  # noqa: E402
from backgrone.models import find_model  # noqa: E402
from run import EngineMasks, degraded  # noqa: E402

FAST = ("sad", "mse", "grad", "mae", "iou")


def band_figures(pred, gt, region, gt_grad):
    pg = metrics.gradient_magnitude(pred)
    return {"sad": metrics.sad(pred, gt, region), "mse": 1e3 * metrics.mse(pred, gt, region),
            "grad": metrics.gradient_error(pred, gt, region, pg, gt_grad),
            "mae": metrics.mae(pred, gt, region), "iou": metrics.iou(pred, gt, region)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engines", default="lightweight,precision")
    parser.add_argument("--sets", default="native,12mp")
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("--grid", default='{"radius": [1, 2, 3], "eps": [1e-4, 1e-3, 1e-2], "gain": [1, 1.5, 2, 3], "grow": [1, 2]}')
    parser.add_argument("--out", type=Path, default=ROOT / "quality-sweep.json")
    args = parser.parse_args(argv)
    grid = json.loads(args.grid)
    keys = sorted(grid)
    combos = [dict(zip(keys, v)) for v in itertools.product(*(grid[k] for k in keys))]
    sets = args.sets.split(",")
    runners = [EngineMasks(get_engine(e), find_model(get_engine(e)), min(4, os.cpu_count() or 1))
               for e in args.engines.split(",")]
    results = {}
    for i, (case, case_sets) in enumerate(dataset.cases(sets, args.limit)):
        if i % 2:
            continue  # the odd-numbered stamps are left for checking
        print(f"sweep: composite {i + 1} of {args.limit}", file=sys.stderr, flush=True)
        gt = case.alpha.astype(np.float64)
        region = metrics.band(gt)
        gg = metrics.gradient_magnitude(gt)
        photo = Image.fromarray(case.rgb)
        for r in runners:
            raw_native = r.mask(case).resize(case.size, Image.Resampling.BILINEAR)
            for s in case_sets:
                raw, scale = degraded(raw_native) if s == "12mp" else (raw_native, refine.network_scale(case.size))
                key = f"{r.engine.id}/{s}"
                bucket = results.setdefault(key, {"raw": [], "combos": [[] for _ in combos]})
                bucket["raw"].append(band_figures(np.asarray(raw) / 255.0, gt, region, gg))
                for j, c in enumerate(combos):
                    out = refine.refine(photo, raw, scale, **c)
                    bucket["combos"][j].append(band_figures(np.asarray(out) / 255.0, gt, region, gg))
    report = {}
    for key, b in results.items():
        raw = {m: float(np.mean([x[m] for x in b["raw"]])) for m in FAST}
        rows = []
        for c, figs in zip(combos, b["combos"]):
            mean = {m: float(np.mean([x[m] for x in figs])) for m in FAST}
            rows.append({"params": c, **{m: 100 * (mean[m] - raw[m]) / raw[m] for m in FAST}})
        rows.sort(key=lambda r: r["sad"])
        report[key] = {"raw": raw, "cases": len(b["raw"]), "rows": rows}
        print(f"\n{key} ({len(b['raw'])} composites); change against raw, %:")
        print("params | " + " | ".join(FAST))
        for r_ in rows[:12]:
            print(json.dumps(r_["params"]) + " | " + " | ".join(f"{r_[m]:+.1f}" for m in FAST))
    args.out.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
