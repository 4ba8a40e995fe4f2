"""Backgrone's quality benchmark: `python3 build.py quality [options]` runs this.

Each engine (native onnxruntime, the app's own pre- and postprocessing) on
ground-truth composites (dataset.py), every mask metric (metrics.py) over
the whole image and the edge band, for the engine's mask as the app has
always made it (raw: the network's mask stretched bilinearly) and refined
(backgrone.refine), and the foreground colour error with the photo's colours
and with decontamination (backgrone.foreground). Prints markdown tables and
writes every figure as JSON. Quality is reported, never asserted.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT / "py", ROOT / "tests" / "quality"):
    sys.path.insert(0, str(p))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

import dataset  # noqa: E402
import metrics  # noqa: E402
from backgrone import foreground, refine, tensors  # noqa: E402
from backgrone.engines import get_engine  # noqa: E402
from backgrone.models import cache_dir, find_model  # noqa: E402

ENGINES = ("lightweight", "precision", "balanced")
VARIANTS = ("raw", "refined")
# The 12 MP-like case: the mask is brought to this share of the photo's
# size and back up, as a 1024x1024 mask is on a 4000x3000 photo.
QUARTER = 4
# Lower is better for all but IoU.
HIGHER_BETTER = {"iou"}


def log(msg: str) -> None:
    print(f"quality: {msg}", file=sys.stderr, flush=True)


class EngineMasks:
    """The engine's network mask (network_mask(), 1024x1024 "L") of each
    composite, run once and kept in the download cache, so a second run
    (or a tuning sweep) costs only the refinement and the metrics."""

    def __init__(self, engine, model: Path, threads: int):
        from backgrone.inference.native import NativeSession

        self.engine = engine
        self.model = model
        st = model.stat()
        # The session runs the graph trimmed to its mask (graph_trim.py): masks
        # cached from the whole graph (an older folder) differ by up to 1/255.
        key = hashlib.sha256(f"{model.name}:{st.st_size}:trimmed".encode()).hexdigest()[:12]
        self.folder = cache_dir() / "quality" / f"{engine.id}-{key}"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._threads = threads
        self._session = None
        self._native = NativeSession
        self.inference_seconds = 0.0
        self.runs = 0

    def mask(self, case: dataset.Case) -> Image.Image:
        digest = zlib.crc32(case.rgb.tobytes()) ^ zlib.crc32(case.name.encode())
        path = self.folder / f"{digest:08x}-{case.rgb.shape[1]}x{case.rgb.shape[0]}.png"
        if path.is_file():
            return Image.open(path).copy()
        if self._session is None:
            self._session = self._native(self.model, self.engine, threads=self._threads)
        import asyncio

        t0 = time.perf_counter()
        tensor = tensors.preprocess(Image.fromarray(case.rgb), self.engine)
        output = asyncio.run(self._session.run(tensor))
        self.inference_seconds += time.perf_counter() - t0
        self.runs += 1
        small = tensors.network_mask(output)
        small.save(path)
        return small


def degraded(raw: Image.Image) -> tuple[Image.Image, float]:
    """The 12 MP-like mask: down to 1/QUARTER of the photo's size and back up
    bilinearly; and its scale (photo pixels per mask pixel)."""
    w, h = raw.size
    small = raw.resize((max(1, round(w / QUARTER)), max(1, round(h / QUARTER))), Image.Resampling.BILINEAR)
    return small.resize((w, h), Image.Resampling.BILINEAR), refine.network_scale((w, h), small.size)


def evaluate(case: dataset.Case, small: Image.Image, sets: list[str], params: dict) -> dict:
    """Every figure of one composite for one engine, per set."""
    photo = Image.fromarray(case.rgb)
    raw_native = small.resize(case.size, Image.Resampling.BILINEAR)  # as tensors.mask_from_output
    gt = case.alpha.astype(np.float64)
    bands = metrics.band(gt)
    gt_grad = metrics.gradient_magnitude(gt)
    out = {}
    for set_name in sets:
        if set_name == "12mp":
            raw, scale = degraded(raw_native)
        else:
            raw, scale = raw_native, refine.network_scale(case.size)
        t0 = time.perf_counter()
        refined = refine.refine(photo, raw, scale, **params.get("refine", {}))
        t_refine = time.perf_counter() - t0
        entry = {"scale": scale, "seconds_refine": t_refine}
        alphas = {"raw": raw, "refined": refined}
        for variant, m in alphas.items():
            entry[variant] = metrics.mask_metrics(np.asarray(m, np.float64) / 255.0, gt, bands, gt_grad)
        # The colour error, in the band, for the alpha each variant shows:
        # the photo's own colours, or decontaminated ones.
        colours = {}
        for variant, m in alphas.items():
            a = np.asarray(m, np.float64) / 255.0
            t0 = time.perf_counter()
            clean = foreground.decontaminate(photo.copy(), m, scale, **params.get("foreground", {}))
            colours[f"{variant}_seconds"] = time.perf_counter() - t0
            for name, fg in (("photo", case.rgb), ("decontaminated", np.asarray(clean))):
                colours[f"{variant}_{name}"] = metrics.colour_error(
                    a, fg.astype(np.float64) / 255.0, gt, case.fg, case.new_bg, bands)
        # The ceiling with that alpha: the true foreground colours.
        colours["refined_true"] = metrics.colour_error(
            np.asarray(refined, np.float64) / 255.0, case.fg, gt, case.fg, case.new_bg, bands)
        # Decontamination's own accuracy: given the ground truth's alpha, as
        # foreground estimation is judged (Germer et al.; Forte and Pitie).
        gt_mask = Image.fromarray((case.alpha * 255 + 0.5).astype(np.uint8))
        clean = foreground.decontaminate(photo.copy(), gt_mask, scale, **params.get("foreground", {}))
        for name, fg in (("photo", case.rgb), ("decontaminated", np.asarray(clean))):
            colours[f"gt_{name}"] = metrics.colour_error(gt, fg.astype(np.float64) / 255.0, gt, case.fg,
                                                        case.new_bg, bands)
        entry["colour"] = colours
        out[set_name] = entry
    return out


def summarise(per_case: list[dict]) -> dict:
    """Means over the cases of each metric; how many cases refinement helped."""
    summary = {}
    if not per_case:
        return summary
    for region in ("image", "band"):
        summary[region] = {}
        for variant in VARIANTS:
            summary[region][variant] = {
                m: float(np.mean([c[variant][region][m] for c in per_case])) for m in metrics.MASK_METRICS}
        better = {}
        for m in metrics.MASK_METRICS:
            r = np.array([c["raw"][region][m] for c in per_case])
            f = np.array([c["refined"][region][m] for c in per_case])
            better[m] = int(((f > r) if m in HIGHER_BETTER else (f < r)).sum())
        summary[region]["refined_better_in"] = better
    keys = per_case[0]["colour"].keys()
    summary["colour"] = {k: float(np.mean([c["colour"][k] for c in per_case])) for k in keys}
    summary["cases"] = len(per_case)
    summary["seconds_refine"] = float(np.mean([c["seconds_refine"] for c in per_case]))
    return summary


def change(new, old):
    return 100.0 * (new - old) / old if old else 0.0


def gap_closed(summ12, summ_native) -> dict:
    """How much of the band gap between the 12 MP-like raw mask and the
    engine's own full-resolution mask the refinement closes, per metric."""
    out = {}
    for m in ("sad", "mse", "grad", "conn", "mae"):
        raw12 = summ12["band"]["raw"][m]
        ref12 = summ12["band"]["refined"][m]
        full = summ_native["band"]["raw"][m]
        out[m] = 100.0 * (raw12 - ref12) / (raw12 - full) if raw12 != full else None
    return out


def table(report: dict) -> str:
    lines = []
    lines.append(f"Cases: {', '.join(f'{k} {v}' for k, v in report['cases'].items())}; "
                 f"{report['started']}; {report['seconds']:.0f} s on {report['machine']['cpus']} CPUs.")
    lines.append("")
    lines.append("Means over the composites. SAD/1000 and gradient/connectivity errors /1000 are sums per "
                 "image; MSE x1e3, MAE and IoU are over the region. Band = soft or edge pixels of the "
                 "ground truth dilated by 10 px.")
    lines.append("")
    head = "| engine | set | mask | " + " | ".join(f"band {m}" for m in metrics.MASK_METRICS) + " | " + \
        " | ".join(f"image {m}" for m in metrics.MASK_METRICS) + " |"
    lines.append(head)
    lines.append("|" + "---|" * (3 + 2 * len(metrics.MASK_METRICS)))
    for eid, e in report["engines"].items():
        for set_name, s in e["sets"].items():
            if not s:
                continue
            for variant in VARIANTS:
                cells = [f"{s['band'][variant][m]:.4f}" if m in ("mae", "iou") else f"{s['band'][variant][m]:.3f}"
                         for m in metrics.MASK_METRICS]
                cells += [f"{s['image'][variant][m]:.4f}" if m in ("mae", "iou") else f"{s['image'][variant][m]:.3f}"
                          for m in metrics.MASK_METRICS]
                lines.append(f"| {e['label']} | {set_name} | {variant} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Refined against raw, change of the mean (negative is better, except IoU), and on how many "
                 "composites refined is better:")
    lines.append("")
    lines.append("| engine | set | " + " | ".join(f"band {m}" for m in metrics.MASK_METRICS) + " | " +
                 " | ".join(f"image {m}" for m in metrics.MASK_METRICS) + " |")
    lines.append("|" + "---|" * (2 + 2 * len(metrics.MASK_METRICS)))
    for eid, e in report["engines"].items():
        for set_name, s in e["sets"].items():
            if not s:
                continue
            cells = []
            for region in ("band", "image"):
                for m in metrics.MASK_METRICS:
                    c = change(s[region]["refined"][m], s[region]["raw"][m])
                    cells.append(f"{c:+.1f}% ({s[region]['refined_better_in'][m]}/{s['cases']})")
            lines.append(f"| {e['label']} | {set_name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Foreground colour error: the cutout on a new background against the ground truth's on the same "
                 "background, band, mean absolute difference in 8-bit levels. With the ground truth's alpha it "
                 "measures the colours alone (how foreground estimation is judged); with the engine's mask the "
                 "mask's own error dominates, as the last column (the true colours under that mask) shows.")
    lines.append("")
    lines.append("| engine | set | true alpha, photo colours | true alpha, decontaminated | change | raw mask, photo "
                 "colours | raw, decontaminated | change | refined mask, photo colours | refined, decontaminated | "
                 "change | refined mask, true colours |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for eid, e in report["engines"].items():
        for set_name, s in e["sets"].items():
            if not s:
                continue
            c = s["colour"]
            lines.append(f"| {e['label']} | {set_name} | {c['gt_photo']:.2f} | {c['gt_decontaminated']:.2f} | "
                         f"{change(c['gt_decontaminated'], c['gt_photo']):+.1f}% | "
                         f"{c['raw_photo']:.2f} | {c['raw_decontaminated']:.2f} | "
                         f"{change(c['raw_decontaminated'], c['raw_photo']):+.1f}% | {c['refined_photo']:.2f} | "
                         f"{c['refined_decontaminated']:.2f} | "
                         f"{change(c['refined_decontaminated'], c['refined_photo']):+.1f}% | "
                         f"{c['refined_true']:.2f} |")
    gaps = {eid: e.get("gap_closed") for eid, e in report["engines"].items() if e.get("gap_closed")}
    if gaps:
        lines.append("")
        lines.append("The moonshot: share of the band gap between the 12 MP-like raw mask and the engine's own "
                     "full-resolution mask (native, raw) that refinement closes:")
        lines.append("")
        lines.append("| engine | " + " | ".join(f"band {m}" for m in ("sad", "mse", "grad", "conn", "mae")) + " |")
        lines.append("|---|---|---|---|---|---|")
        for eid, g in gaps.items():
            lines.append(f"| {report['engines'][eid]['label']} | " +
                         " | ".join("n/a" if v is None else f"{v:.0f}%" for v in g.values()) + " |")
    ranked = report.get("ranking")
    if ranked:
        lines.append("")
        lines.append("Engines ranked by band SAD on the native set (raw mask): " +
                     ", ".join(f"{report['engines'][e]['label']} {v:.3f}" for e, v in ranked) + ".")
    for eid, why in report["skipped"].items():
        lines.append("")
        lines.append(f"{get_engine(eid).label}: skipped, {why}")
    return "\n".join(lines)


def run(args) -> dict:
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    for s in sets:
        if s not in dataset.SETS:
            raise SystemExit(f"unknown set {s!r}; choose from {', '.join(dataset.SETS)}")
    params = json.loads(args.params) if args.params else {}
    report = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
              "machine": {"cpus": os.cpu_count()}, "sets": sets, "limit": args.limit, "params": params,
              "engines": {}, "skipped": {}, "cases": {}}
    threads = min(4, os.cpu_count() or 1)
    runners = []
    for eid in engines:
        engine = get_engine(eid)
        if eid == "balanced":
            if not args.rmbg:
                report["skipped"]["balanced"] = (
                    "no RMBG-1.4 file given (--rmbg PATH): the model is in no package registry and its host "
                    "is out of reach here. A stand-in model is never measured in its place.")
                continue
            model = Path(args.rmbg)
        else:
            model = find_model(engine)
        runners.append(EngineMasks(engine, model, threads))
    t_start = time.perf_counter()
    per = {r.engine.id: {s: [] for s in sets} for r in runners}
    n = 0
    for case, case_sets in dataset.cases(sets, args.limit):
        n += 1
        for s in case_sets:
            report["cases"][s] = report["cases"].get(s, 0) + 1
        for r in runners:
            figures = evaluate(case, r.mask(case), case_sets, params)
            for s, entry in figures.items():
                entry["name"] = case.name
                per[r.engine.id][s].append(entry)
        if n % 20 == 0:
            log(f"{n} composites, {time.perf_counter() - t_start:.0f} s")
    for r in runners:
        e = {"label": r.engine.label, "model": str(r.model), "inference_runs": r.runs,
             "inference_seconds": r.inference_seconds,
             "sets": {s: summarise(per[r.engine.id][s]) for s in sets}}
        if "12mp" in sets and "native" in sets and per[r.engine.id]["12mp"]:
            e["gap_closed"] = gap_closed(e["sets"]["12mp"], e["sets"]["native"])
        if args.per_case:
            e["cases"] = per[r.engine.id]
        report["engines"][r.engine.id] = e
    if "native" in sets:
        report["ranking"] = sorted(((eid, e["sets"]["native"]["band"]["raw"]["sad"])
                                    for eid, e in report["engines"].items() if e["sets"]["native"]),
                                   key=lambda x: x[1])
    report["seconds"] = time.perf_counter() - t_start
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="build.py quality", description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--sets", default=",".join(dataset.SETS), help="a subset of native,12mp,large")
    parser.add_argument("--limit", type=int, default=None, help="at most N stamps per set (spread evenly)")
    parser.add_argument("--rmbg", type=Path, help="the RMBG-1.4 model file, for the Balanced engine")
    parser.add_argument("--out", type=Path, default=ROOT / "quality-results.json")
    parser.add_argument("--params", help="JSON: keyword arguments for refine and foreground "
                        '(e.g. \'{"refine": {"radius": 3}}\'), to try other constants')
    parser.add_argument("--per-case", action="store_true", help="also write every composite's figures")
    args = parser.parse_args(argv)
    report = run(args)
    text = table(report)
    print(text)
    report["table"] = text
    args.out.write_text(json.dumps(report, indent=1))
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
