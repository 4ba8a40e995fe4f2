"""The peer, @imgly/background-removal, measured beside Backgrone (`build.py bench --peer`).

A measuring instrument only: nothing here is part of dist/. Two releases run,
each as its README shows, on the main thread of a page of the benchmark's own
(peer-page/), served from 127.0.0.1 with cross-origin isolation (so its WASM
runs with threads, as on a well-configured site):

- 1.7.0, the newest, with its pinned peer dependency onnxruntime-web 1.21.0
  (it bundles its other dependencies). Its model data is no longer on npm, so
  it runs on the 1.4.5 data package's chunks through a resources.json of our
  own: "/models/isnet_quint8" and "/models/isnet_fp16" are the data package's
  "/models/small" and "/models/medium", each chunk with the `name` 1.7.0
  fetches it by, and its runtime files are onnxruntime-web 1.21.0's own.
- 1.4.5, with its own dependencies at the newest versions its ranges take
  (onnxruntime-web ~1.17.0, lodash, ndarray, zod), on its data package as
  published (models and onnxruntime-web's WASM files). It has no bundle, so
  the page maps its bare imports with an import map, and its two CommonJS
  dependencies through a small loader (peer-page/cjs.mjs), which a real site's
  bundler would do at build time.

Every package is fetched by exact version into the download cache and
checked by size and sha256, like every other asset (build.Pinned).
"""
from __future__ import annotations

import json
import shutil
import statistics
import tarfile
import tempfile
import threading
from pathlib import Path

import build

HERE = Path(__file__).resolve().parent
PAGE = HERE / "peer-page"

P = build.Pinned
IMGLY_170 = P("@imgly/background-removal", "1.7.0", "imgly-background-removal-1.7.0.tgz", 207_882,
              "0e7b6813978296b23bb9c5fa3d86a8f8e618b88174e08d6c61f230b0e18d13e6")
IMGLY_145 = P("@imgly/background-removal", "1.4.5", "imgly-background-removal-1.4.5.tgz", 52_100,
              "a9411029b5a23988a478c8120919f60a9b0ec1583615c46b5fd1b0fa1fa89b99")
# onnxruntime-web releases: the peers' (1.21.0 for 1.7.0, 1.17.3 for 1.4.5's
# ~1.17.0), and the newest build on npm (a nightly), for tests/perf/ort_bench.py.
ORT_RELEASES = {
    "1.30.0": build.ORT_WEB,
    "1.21.0": P("onnxruntime-web", "1.21.0", "onnxruntime-web-1.21.0.tgz", 20_999_666,
                "9c6b3e0955aa8bc61b69f62873bb3bdb021010a6d1550b6a638a74af353f445c"),
    "1.17.3": P("onnxruntime-web", "1.17.3", "onnxruntime-web-1.17.3.tgz", 35_847_547,
                "030e82b5f637a4246d83597a011822353b7f7db683958c27c12f9d33643879bd"),
    "1.31.0-dev.20260914-8d85527a0": P(
        "onnxruntime-web", "1.31.0-dev.20260914-8d85527a0",
        "onnxruntime-web-1.31.0-dev.20260914-8d85527a0.tgz", 33_185_781,
        "0de27582f3e3189dec4a2082513a0af1ea79ae7fd3039bbfe634a526e173cbe0"),
}
# 1.4.5's dependencies, at the newest versions its ranges resolve to.
DEPS_145 = (
    P("lodash", "4.17.23", "lodash-4.17.23.tgz", 314_877,
      "9aba685f4b44d7a8e778cdf7085e9512143dabd78812df40e258375e1e8dceb4"),
    P("ndarray", "1.0.19", "ndarray-1.0.19.tgz", 7_644,
      "4f14f2079d07d92af4b5ce60ce8830c5bb1835dfa2657005c66204f3007e6756"),
    P("iota-array", "1.0.0", "iota-array-1.0.0.tgz", 1_705,
      "16cf07fcdcea62c9f81b9aee31f257b75b119217fb174b48d10bc7988e8cd375"),
    P("is-buffer", "1.1.6", "is-buffer-1.1.6.tgz", 2_394,
      "3d1ad8c0a086873150d3dc69e6c6e628a3729e04e954f90ba6c0f7407272880e"),
    P("zod", "3.21.4", "zod-3.21.4.tgz", 101_416,
      "69fcba6a5df2dca4b788100cdde9eeb52b7b6aaef3043e1efabd7c3592730dea"),
)

# Backgrone's engine -> each release's name for the same file.
MODELS = {
    "1.7.0": {"lightweight": "isnet_quint8", "precision": "isnet_fp16"},
    "1.4.5": {"lightweight": "small", "precision": "medium"},
}
VERSIONS = tuple(MODELS)


def covers(engine_id: str) -> bool:
    """Whether the peer has this engine's model (it has no RMBG-1.4)."""
    return all(engine_id in models for models in MODELS.values())


# 1.7.0's model keys -> the data package's.
DATA_KEYS = {"/models/isnet_quint8": "/models/small", "/models/isnet_fp16": "/models/medium"}
ORT_FILES_121 = ("ort-wasm-simd-threaded.wasm", "ort-wasm-simd-threaded.mjs",
                 "ort-wasm-simd-threaded.jsep.wasm", "ort-wasm-simd-threaded.jsep.mjs")

# Each release's page: an import map for its bare imports, then the runner.
PAGES = {
    "1.7.0": {
        "imports": {"onnxruntime-web": "./npm/onnxruntime-web@1.21.0/dist/ort.bundle.min.mjs",
                    "onnxruntime-web/webgpu": "./npm/onnxruntime-web@1.21.0/dist/ort.webgpu.bundle.min.mjs"},
        "lib": "./npm/@imgly/background-removal@1.7.0/dist/index.mjs",
        "config": {"publicPath": "data-1.7.0/", "device": "cpu"},
    },
    "1.4.5": {
        "imports": {"onnxruntime-web": "./npm/onnxruntime-web@1.17.3/dist/esm/ort.min.js",
                    "zod": "./npm/zod@3.21.4/lib/index.mjs",
                    "lodash": "./lodash.mjs", "ndarray": "./ndarray.mjs"},
        "lib": "./npm/@imgly/background-removal@1.4.5/dist/index.mjs",
        "config": {"publicPath": "data/"},
    },
}


def _unpack(pin: build.Pinned, dest: Path, only=lambda name: True) -> None:
    """An npm tarball's package/ folder into dest (only the members `only` admits)."""
    with tarfile.open(build.npm_package(pin)) as tar:
        for m in tar.getmembers():
            name = m.name.removeprefix("package/")
            if not m.isfile() or not only(name):
                continue
            out = dest / name
            out.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(m) as src, open(out, "wb") as f:
                shutil.copyfileobj(src, f)


def make_site(photos) -> Path:
    """The peer's site in a new temporary folder: both releases, their
    dependencies, the data package's chunks, the resources.json 1.7.0 reads,
    the photos, and the pages."""
    root = Path(tempfile.mkdtemp(prefix="backgrone-peer-"))
    npm = root / "npm"
    for pin in (IMGLY_170, IMGLY_145, *DEPS_145):
        _unpack(pin, npm / f"{pin.name}@{pin.version}",
                lambda n: n.startswith(("dist/", "lib/")) or n.endswith((".js", ".json")))
    _unpack(ORT_RELEASES["1.21.0"], npm / "onnxruntime-web@1.21.0",
            lambda n: n.startswith("dist/") and not n.endswith(".map"))
    _unpack(ORT_RELEASES["1.17.3"], npm / "onnxruntime-web@1.17.3",
            lambda n: n.startswith("dist/esm/") and not n.endswith(".map"))
    # The data package as published: 1.4.5's publicPath.
    _unpack(build.IMGLY_DATA, root, lambda n: n.startswith("dist/"))
    (root / "dist").rename(root / "data")
    resources = json.loads((root / "data" / "resources.json").read_text())
    # 1.7.0's publicPath: the same chunks by name, and onnxruntime-web 1.21.0's runtime.
    mapped = {}
    for key, data_key in DATA_KEYS.items():
        entry = dict(resources[data_key])
        entry["chunks"] = [{**c, "name": f"../data/{c['hash']}"} for c in entry["chunks"]]
        mapped[key] = entry
    ort_dist = npm / "onnxruntime-web@1.21.0" / "dist"
    for name in ORT_FILES_121:
        size = (ort_dist / name).stat().st_size
        mime = "application/wasm" if name.endswith(".wasm") else "text/javascript"
        mapped[f"/onnxruntime-web/{name}"] = {
            "size": size, "mime": mime,
            "chunks": [{"name": f"../npm/onnxruntime-web@1.21.0/dist/{name}", "offsets": [0, size]}]}
    (root / "data-1.7.0").mkdir()
    (root / "data-1.7.0" / "resources.json").write_text(json.dumps(mapped))
    for f in PAGE.iterdir():
        shutil.copy(f, root / f.name)
    for version, spec in PAGES.items():
        (root / f"{version}.html").write_text(
            '<!doctype html><meta charset="utf-8"><title>peer</title>\n'
            f'<script type="importmap">{json.dumps({"imports": spec["imports"]})}</script>\n'
            f'<script type="module">import {{ start }} from "./harness.mjs";\n'
            f'start({json.dumps({"lib": spec["lib"], "config": spec["config"]})});</script>\n')
    (root / "photos").mkdir()
    for p in photos:
        (root / "photos" / f"{p.name}.jpg").write_bytes(p.data)
    return root


class CdnHandler(build.SiteHandler):
    """The peer's files as the npm CDNs serve a pinned release's: cached for a
    year without asking again, so the browser's caches (and the code it
    compiled from them) are a returning visitor's."""
    cache_control = "public, max-age=31536000, immutable"


class PeerBench:
    """The peer's cold and warm cutouts in the benchmark's own Chromium (the
    BrowserBench's context), memory measured the same way."""

    def __init__(self, browser, photos):
        self.browser = browser
        self.root = make_site(photos)
        self.server = build.make_server(self.root, handler=CdnHandler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/"

    def close(self) -> None:
        self.server.shutdown()
        shutil.rmtree(self.root, ignore_errors=True)

    def page_url(self, version: str, engine_id: str, photo) -> str:
        return f"{self.url}{version}.html?model={MODELS[version][engine_id]}&photo=photos/{photo.name}.jpg"

    def prepare(self, version: str, engine_id: str, photo) -> None:
        """As many visits with one cutout each as BrowserBench.prepare makes
        for Backgrone (RETURNING_VISITS), not timed: the browser's caches are
        then a returning visitor's."""
        from browser import RETURNING_VISITS

        for _ in range(RETURNING_VISITS):
            page, _ = self.cold_page(version, engine_id, photo)
            page.close()

    def cold_page(self, version: str, engine_id: str, photo):
        """A new page whose first cutout starts as soon as its module runs;
        (the page, the cutout's end in seconds from navigation start)."""
        from browser import TIMEOUT, renderers, reset_peaks

        self.browser.fresh_renderer()
        reset_peaks(renderers(self.browser.profile))
        page = self.browser.context.new_page()
        page.set_default_timeout(TIMEOUT)
        page.goto(self.page_url(version, engine_id, photo), wait_until="commit")
        page.wait_for_function("() => window.__peer && (__peer.cuts.length > 0 || __peer.error)",
                               timeout=TIMEOUT, polling=50)
        state = page.evaluate("() => ({ cuts: __peer.cuts, error: __peer.error, isolated: crossOriginIsolated })")
        if state["error"]:
            page.close()
            raise RuntimeError(f"@imgly/background-removal {version}: {state['error']}")
        cut = state["cuts"][0]
        return page, {"e2e": cut["end"] / 1000, "output_bytes": cut["bytes"], "started_at": cut["start"] / 1000,
                      "cross_origin_isolated": state["isolated"]}

    def warm(self, page, runs: int) -> list[float]:
        out = []
        for _ in range(runs):
            r = page.evaluate("() => __peer.cut()")
            if r.get("error"):
                raise RuntimeError(f"@imgly/background-removal: {r['error']}")
            out.append(r["seconds"])
        return out


def summary(cold: list[dict], warm: list[float], memory: dict | None) -> dict:
    med = lambda xs: statistics.median(xs) if xs else None  # noqa: E731
    return {"cold": {"e2e": med([c["e2e"] for c in cold]), "runs": cold},
            "warm": {"e2e": med(warm), "runs": warm}, "memory": memory}


# -- side by side ----------------------------------------------------------------

BACKGRONE = "backgrone"


def side_by_side(browser, peers: PeerBench, engine_id: str, photo, runs: int, cold_runs: int):
    """Backgrone and each peer release on one photo, alternating: every round
    opens a new page of each (cold: the first cutout from navigation), the
    order turning round by round; the last round also makes `runs` warm
    cutouts on each page and reads its memory before closing it. Returns
    (Backgrone's figures as BrowserBench.cold_then_warm gives them,
    {version: peer figures})."""
    tools = [BACKGRONE, *VERSIONS]
    cold = {t: [] for t in tools}
    warm = {t: [] for t in tools}
    memory = {t: None for t in tools}
    backend = None
    for i in range(cold_runs):
        last = i == cold_runs - 1
        for tool in tools[i % len(tools):] + tools[: i % len(tools)]:
            if tool == BACKGRONE:
                page, run = browser.cold_run(engine_id, photo)
            else:
                page, run = peers.cold_page(tool, engine_id, photo)
            try:
                cold[tool].append(run)
                if last:
                    if tool == BACKGRONE:
                        warm[tool] = browser.warm_runs(page, photo, runs)
                        backend = browser._backend(page)
                    else:
                        warm[tool] = peers.warm(page, runs)
                    memory[tool] = browser.memory(page)
            finally:
                page.close()
    ours = browser.summary(cold[BACKGRONE], warm[BACKGRONE], memory[BACKGRONE], backend)
    return ours, {v: summary(cold[v], warm[v], memory[v]) for v in VERSIONS}


def ratios(app: dict, peer: dict) -> dict:
    """Backgrone / the peer, for the same engine and photo in the same run."""
    def r(a, b):
        return a / b if a and b else None
    mem = lambda m: (m or {}).get("renderer_peak_rss_bytes")  # noqa: E731
    return {"first_cutout": r(app["cold"]["e2e"], peer["cold"]["e2e"]),
            "warm": r(app["warm"]["e2e"], peer["warm"]["e2e"]),
            "renderer_peak": r(mem(app["memory"]), mem(peer["memory"]))}


def tables(report: dict) -> list[str]:
    """The side-by-side tables (markdown lines), when the run had the peer."""
    rows = [(e, name, p) for e in report["engines"].values() for name, p in e["photos"].items() if p.get("peer")]
    if not rows:
        return []
    f = lambda x, d=2: "n/a" if x is None else f"{x:.{d}f}"  # noqa: E731
    x = lambda v: "n/a" if v is None else f"{v:.2f}x"  # noqa: E731
    mib = lambda m: "n/a" if not (m or {}).get("renderer_peak_rss_bytes") else f"{m['renderer_peak_rss_bytes'] / 2**20:.0f}"  # noqa: E731
    vs = " | ".join(f"vs {v}" for v in VERSIONS)
    cols = " | ".join(VERSIONS)
    sep = "|---|---|" + "---|" * (1 + 2 * len(VERSIONS))
    out = ["", "First cutout, side by side: seconds from navigation start to the first cutout of a new page, "
           "the engine already on the device (Backgrone's in IndexedDB, the peer's on loopback); "
           f"@imgly/background-removal {' and '.join(VERSIONS)} on the same model file and photo, in the same "
           "Chromium, alternating page by page; ratios are Backgrone / the peer (below 1: Backgrone is faster).",
           "", f"| engine | photo | Backgrone | {cols} | {vs} |", sep]
    for e, name, p in rows:
        peer = p["peer"]
        out.append(f"| {e['label']} | {name} | {f(p['app']['cold']['e2e'])} | "
                   + " | ".join(f(peer[v]["cold"]["e2e"]) for v in VERSIONS) + " | "
                   + " | ".join(x(peer[v]["ratios"]["first_cutout"]) for v in VERSIONS) + " |")
    out += ["", "Warm end to end, side by side: seconds from a photo given to its PNG cutout, on a page that "
            "has made one already; then cold / warm for each.", "",
            f"| engine | photo | Backgrone | {cols} | {vs} | cold/warm Backgrone | "
            + " | ".join(f"cold/warm {v}" for v in VERSIONS) + " |",
            "|---|---|" + "---|" * (2 + 3 * len(VERSIONS))]
    for e, name, p in rows:
        peer, app = p["peer"], p["app"]
        cw = lambda d: d["cold"]["e2e"] / d["warm"]["e2e"] if d["cold"]["e2e"] and d["warm"]["e2e"] else None  # noqa: E731
        out.append(f"| {e['label']} | {name} | {f(app['warm']['e2e'])} | "
                   + " | ".join(f(peer[v]["warm"]["e2e"]) for v in VERSIONS) + " | "
                   + " | ".join(x(peer[v]["ratios"]["warm"]) for v in VERSIONS) + f" | {x(cw(app))} | "
                   + " | ".join(x(cw(peer[v])) for v in VERSIONS) + " |")
    out += ["", "Renderer peak memory, side by side (MiB): peak resident set (VmHWM) of the renderer process "
            "of each page over its cold load and warm cutouts.", "",
            f"| engine | photo | Backgrone | {cols} | {vs} |", sep]
    for e, name, p in rows:
        peer = p["peer"]
        out.append(f"| {e['label']} | {name} | {mib(p['app']['memory'])} | "
                   + " | ".join(mib(peer[v]["memory"]) for v in VERSIONS) + " | "
                   + " | ".join(x(peer[v]["ratios"]["renderer_peak"]) for v in VERSIONS) + " |")
    return out
