"""The command line: `backgrone remove`, `backgrone batch`, `backgrone models`,
`backgrone refine`.

The same pipeline as the page, on the `onnxruntime` package: a batch tool,
and the reference the browser's results are checked against.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from .engines import ENGINES, get_engine
from .errors import BackgroneError
from .options import add_arguments, add_edge_arguments, from_args, positive_int

USAGE_ERROR = 2


# -- remove ----------------------------------------------------------------


def _remove(args) -> int:
    from . import local
    from .models import find_model
    from .outputs import Manifest, Reporter, expand_local, local_taken, plan, skipped_row
    from .progress import Progress

    options = from_args(args)
    files = expand_local(args.images)
    if not files:
        print("backgrone: no images given", file=sys.stderr)
        return USAGE_ERROR
    dest = Path(args.output)
    dest.mkdir(parents=True, exist_ok=True)
    tasks = plan(files, options, taken=local_taken(files, dest))
    progress = Progress(len(tasks))
    with Manifest(Path(args.manifest) if args.manifest else None) as manifest:
        report = Reporter(progress, manifest, args.timings)
        todo = []
        for task in tasks:
            names = [task.output, *([task.mask] if task.mask else [])]
            if args.skip_existing and all((dest / n).is_file() for n in names):
                report(task, skipped_row(task, options.engine, str(dest / task.output),
                                         str(dest / task.mask) if task.mask else None))
            else:
                todo.append(task)
        if todo:
            engine = get_engine(options.engine)
            model = Path(options.model) if options.model else find_model(engine, fetch=True)
            local.run(todo, dest, options, model, args.jobs or local.default_jobs(), report)
        print(report.summary(len(tasks), dest), file=sys.stderr)
        return 1 if manifest.counts["failed"] else 0


# -- batch -----------------------------------------------------------------


def _batch(args) -> int:
    from . import raybatch

    return raybatch.main(args, from_args(args))


# -- models ----------------------------------------------------------------


def _models(args) -> int:
    from . import models

    action = args.action or "list"
    if action == "list":
        return _models_list(models)
    try:
        engines = [get_engine(e) for e in (getattr(args, "engines", None) or [])]
    except KeyError as exc:
        print(f"backgrone: {exc.args[0]}", file=sys.stderr)
        return USAGE_ERROR
    if action == "fetch":
        from .fetch import fetch

        targets = engines or [e for e in ENGINES if e.id != "balanced"]
        paths = fetch([e.id for e in targets])
        for engine in targets:
            print(f"{engine.id}: {paths[engine.id]}")
        return 0
    if action == "verify":
        return _models_verify(models, engines or list(ENGINES))
    if action == "delete":
        if not engines:
            print("backgrone: name the engines whose models to delete", file=sys.stderr)
            return USAGE_ERROR
        for engine in engines:
            path = models.models_dir() / engine.file
            if path.is_file():
                path.unlink()
                print(f"{engine.id}: deleted {path}")
            else:
                print(f"{engine.id}: not downloaded")
        return 0
    if action == "import":
        engine = get_engine(args.engine)
        source = Path(args.file)
        if not source.is_file():
            raise BackgroneError(f"{source} is not a file.")
        try:
            models.verify(source, engine.size, engine.sha256)
        except BackgroneError as exc:
            raise BackgroneError(f"This file is not the {engine.label} engine's pinned model: {exc}") from None
        target = models.models_dir() / engine.file
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        shutil.copyfile(source, part)
        part.replace(target)
        print(f"{engine.id}: {target}")
        return 0
    raise AssertionError(action)


def _models_list(models) -> int:
    from .fetch import source_url

    rows = [("Engine", "File", "Size", "State", "Source")]
    for engine in ENGINES:
        path = models.models_dir() / engine.file
        if not path.is_file():
            state = "not downloaded"
        elif engine.size is not None and path.stat().st_size != engine.size:
            state = "wrong size"
        else:
            state = "downloaded"
        rows.append((engine.id, engine.file, f"{engine.size / 1e6:.1f} MB", state, source_url(engine)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])
    print(f"\nCache: {models.models_dir()}")
    for engine in ENGINES:
        print(f"{engine.label}: {engine.license}")
    return 0


def _models_verify(models, engines) -> int:
    bad = 0
    for engine in engines:
        path = models.models_dir() / engine.file
        if not path.is_file():
            print(f"{engine.id}: not downloaded")
            continue
        try:
            models.verify(path, engine.size, engine.sha256)
        except BackgroneError as exc:
            bad += 1
            print(f"{engine.id}: FAILED: {exc} Run `backgrone models fetch {engine.id}` to replace it.")
        else:
            print(f"{engine.id}: ok, {path} matches its pinned size and sha256")
    return 1 if bad else 0


# -- the parser ----------------------------------------------------------------


def _batch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--skip-existing", action="store_true",
                        help="leave out the images whose outputs exist already (resumes a stopped batch)")
    parser.add_argument("--timings", action="store_true", help="print the time of each stage")


# -- refine ----------------------------------------------------------------


def _refine(args) -> int:
    """`refine PHOTO MASK -o OUTDIR`: a mask of any size (another tool's, a
    cutout's alpha, a network's output) refined against the photo; writes
    NAME-mask.png (the refined mask) and NAME-cutout.png, the app's names."""
    from . import composite, foreground, imageio
    from .refine import refine, stretched

    try:
        decoded = imageio.decode(Path(args.photo).read_bytes())
        given = imageio.decode(Path(args.mask).read_bytes())
    except OSError as exc:
        print(f"backgrone: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return USAGE_ERROR
    # A cutout gives its alpha; a plain mask its grey levels.
    mask = given.alpha if given.alpha is not None else given.rgb.convert("L")
    full, scale = stretched(mask, decoded.size)
    refined = refine(decoded.rgb, full, scale) if args.refine else full
    if args.decontaminate:
        foreground.decontaminate(decoded.rgb, refined, scale)
    outdir = Path(args.output)
    outdir.mkdir(parents=True, exist_ok=True)
    stem = Path(args.photo).stem
    mask_path, cut_path = outdir / f"{stem}-mask.png", outdir / f"{stem}-cutout.png"
    mask_path.write_bytes(imageio.encode_png(refined))
    rgba = composite.cutout(decoded.rgb, refined, decoded.alpha, in_place=True)
    cut_path.write_bytes(imageio.encode_png(rgba))
    print(f"wrote {cut_path} and {mask_path}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backgrone", description="Backgrone: cut out the subject of photos, on your own machine "
        "or a Ray cluster. `backgrone COMMAND --help` tells more.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    rm = sub.add_parser("remove", help="cut out the subject of each image, on this machine",
                        description="Cut out the subject of each image, on this machine. Writes "
                        "NAME-cutout.png (or .webp, .jpg, NAME-mask.png) into the output folder.")
    rm.add_argument("images", nargs="+", help="image files or folders")
    rm.add_argument("-o", "--output", required=True, help="folder for the results")
    add_arguments(rm)
    run = rm.add_argument_group("batch")
    run.add_argument("--jobs", type=positive_int,
                     help="worker processes, each with its own session (default: 2 where there "
                     "are 2 CPUs or more)")
    run.add_argument("--manifest", help="write a JSON Lines record of every input to this file")
    _batch_arguments(run)
    rm.set_defaults(run=_remove)

    batch = sub.add_parser("batch", help="cut out a catalogue on Ray Data (local or a cluster)",
                           description="Cut out images from folders, globs or URIs (local, s3://, "
                           "gs://, ...) on Ray Data: a local Ray by default, --address joins a cluster.")
    batch.add_argument("sources", nargs="*", help="folders, globs, files or URIs")
    batch.add_argument("-o", "--output", required=True, help="folder or URI for the results")
    batch.add_argument("--list", dest="list_file", help="a file with one source per line")
    add_arguments(batch)
    ray_group = batch.add_argument_group("Ray")
    ray_group.add_argument("--address", help="the Ray cluster to join (default: start a local Ray)")
    ray_group.add_argument("--jobs", type=positive_int,
                           help="actors, each with its own session (default: the cluster's CPUs "
                           "divided by --threads)")
    ray_group.add_argument("--manifest",
                           help="where to write the manifest (default: OUTPUT/manifest.jsonl)")
    _batch_arguments(ray_group)
    batch.set_defaults(run=_batch)

    models = sub.add_parser("models", help="list, fetch, verify, delete or import engine models",
                            description="The engines' models in the cache (BACKGRONE_CACHE, "
                            "default ~/.cache/backgrone, folder models/).")
    actions = models.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("list", help="each engine's model, whether it is downloaded, its source")
    ids = [e.id for e in ENGINES]
    fetch = actions.add_parser("fetch", help="download models (default: Precision and Lightweight)")
    fetch.add_argument("engines", nargs="*", metavar="ENGINE", help=", ".join(ids))
    verify = actions.add_parser("verify", help="check downloaded models against their pinned sha256")
    verify.add_argument("engines", nargs="*", metavar="ENGINE", help=", ".join(ids))
    delete = actions.add_parser("delete", help="delete downloaded models")
    delete.add_argument("engines", nargs="+", choices=ids, metavar="ENGINE")
    imp = actions.add_parser("import", help="copy a model file you downloaded into the cache "
                             "(checked against the engine's pin)")
    imp.add_argument("engine", choices=ids)
    imp.add_argument("file")
    models.set_defaults(run=_models)

    ref = sub.add_parser("refine", help="refine a mask of any size against its photo",
                         description="Refine a mask of any size (another tool's, or a cutout's "
                         "alpha) against its photo at full resolution. Writes NAME-mask.png and "
                         "NAME-cutout.png into the output folder.")
    ref.add_argument("photo", help="the photo")
    ref.add_argument("mask", help="its mask (greyscale) or a cutout (its alpha), any size")
    ref.add_argument("-o", "--output", required=True, help="folder for the results")
    add_edge_arguments(ref)
    ref.set_defaults(run=_refine)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except BackgroneError as exc:
        print(f"backgrone: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 130
