"""Browser figures, in Chromium against the built site.

- raw onnxruntime-web: a module worker in the site's origin imports the
  site's own ort bundle (dist/ort/ort.wasm.min.mjs) with the thread count and
  session options the app's worker uses, and times `session.run` on the same
  input tensor the native run gets. No Python around it.
- the app: a photo dropped on the page, until its PNG reply arrives; the
  stages from the app's own `timings`. Cold: a new page (engines already in
  IndexedDB), from navigation start, Pyodide's start-up included. Warm: the
  next images on that page.
- memory: the renderer process that hosts the page and its worker (peak
  resident set, VmHWM, reset when the page opens), the page's
  performance.measureUserAgentSpecificMemory() and CDP's JS heap figures.

Nothing here changes the app: a script added before the page's own wraps
`Worker` to note when each request goes out and its reply comes back.
"""
from __future__ import annotations

import json
import os
import re
import statistics
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

import build

CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # measureUserAgentSpecificMemory() answers at once instead of at the next GC.
    "--enable-blink-features=ForceEagerMeasureMemory",
]
WEBGPU_ARGS = ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-vulkan=swiftshader",
               "--use-webgpu-adapter=swiftshader"]
TIMEOUT = 600_000  # ms: a 12 MP photo on a busy 2-core machine
# Visits before a measured page. The browser keeps the code V8 optimised from
# onnxruntime-web's and Pyodide's WebAssembly, but each visit adds only what
# its compile's first cache write held: a cold page after two visits still
# compiled 2-4 s (of a background thread) of onnxruntime-web's code again, one
# function 1.2-1.6 s alone; one after five, 0.2 s (tests/perf/wasm_tiering.py;
# docs/performance.md, "The code cache").
RETURNING_VISITS = 5
# The app's session options by backend, read from
# web/worker/session/session-worker.js (SESSION_OPTIONS, a one-line object
# literal), so that the raw runs always use what the app uses.
SESSION_OPTIONS = json.loads(re.sub(r"(\w+):", r'"\1":', re.search(
    r"const SESSION_OPTIONS = (\{.*\});",
    (Path(__file__).resolve().parents[2] / "web" / "worker" / "session" / "session-worker.js").read_text(),
).group(1)))

# A cold page's time, in order (see BrowserBench._anatomy): navigation to the
# worker's first boot step; Pyodide's start with numpy, Pillow and
# Backgrone's wheel; Backgrone imported; onnxruntime-web (loaded in the
# session worker beside Python: the wait for it, to the init reply); the
# engine's start after it (the early session, which a drop waits for, if
# Python was ready first); the image itself.
ANATOMY = ("worker", "pyodide", "backgrone", "onnxruntime", "engine", "image")

# Wraps Worker: every request with an id is timed until its reply or error.
SPY = """
(() => {
  const Native = window.Worker;
  const bench = (window.__bench = { sent: {}, replies: [], outstanding: 0, init: null, progress: [] });
  window.Worker = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        const m = event.data;
        if (m && m.type === "progress")
          bench.progress.push({ id: m.id, stage: m.stage, step: m.step ?? null, t: performance.now() });
        if (!m || (m.type !== "reply" && m.type !== "error")) return;
        const req = bench.sent[m.id];
        if (!req) return;
        bench.outstanding -= 1;
        const r = m.result || {};
        if (req.type === "init") bench.init = r;
        bench.replies.push({ id: m.id, type: req.type, ok: m.type === "reply", sent: req.t,
                             t: performance.now(), timings: r.timings || null,
                             backend: r.backend || null, message: m.message || null });
      });
    }
    postMessage(msg, transfer) {
      if (msg && msg.id != null) {
        bench.sent[msg.id] = { type: msg.type, t: performance.now() };
        bench.outstanding += 1;
      }
      return super.postMessage(msg, transfer);
    }
  };
})();
"""

# The raw onnxruntime-web worker: the page's ort bundle, nothing else.
RAW_WORKER = """
let ort, session;
self.onmessage = async (event) => {
  const m = event.data;
  try {
    if (m.op === "init") {
      ort = await import(m.base + "ort/" + m.bundle);
      ort.env.wasm.wasmPaths = m.base + "ort/";
      // As web/worker/worker.js: 1 to 4 threads, only when cross-origin isolated.
      const threads = self.crossOriginIsolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)) : 1;
      ort.env.wasm.numThreads = threads;
      ort.env.wasm.proxy = false;
      const bytes = new Uint8Array(await (await fetch(m.model)).arrayBuffer());
      const t0 = performance.now();
      // The session options of web/worker/session/session-worker.js (SESSION_OPTIONS).
      session = await ort.InferenceSession.create(bytes, { executionProviders: m.providers, ...m.options });
      postMessage({ ok: true, create: (performance.now() - t0) / 1000, threads });
    } else if (m.op === "run") {
      const data = new Float32Array(await (await fetch(m.tensor)).arrayBuffer());
      const feed = new ort.Tensor("float32", data, [1, 3, 1024, 1024]);
      const name = session.outputNames[0];
      const t0 = performance.now();
      const out = await session.run({ [session.inputNames[0]]: feed }, [name]);
      const seconds = (performance.now() - t0) / 1000;
      const o = out[name].data;
      let sum = 0;
      for (let i = 0; i < o.length; i++) sum += o[i];
      out[name].dispose();
      feed.dispose();
      postMessage({ ok: true, seconds, mean: sum / o.length });
    }
  } catch (err) {
    postMessage({ ok: false, error: String(err && err.stack || err) });
  }
};
"""


def _median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# -- the renderer's memory, from /proc ---------------------------------------

def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(ppid, []).append(int(d))
    return tree


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def browser_processes(profile: str) -> list[int]:
    """Every process of the Chromium whose profile folder is `profile`."""
    tree = _children()
    out = [int(d) for d in os.listdir("/proc") if d.isdigit()
           and f"--user-data-dir={profile}" in _cmdline(int(d)) and "--type=" not in _cmdline(int(d))]
    todo = list(out)
    while todo:
        kids = tree.get(todo.pop(), [])
        out.extend(kids)
        todo.extend(kids)
    return out


def renderers(profile: str) -> list[int]:
    """Renderer processes of the Chromium whose profile folder is `profile`."""
    return [pid for pid in browser_processes(profile) if "--type=renderer" in _cmdline(pid)]


def cpu_seconds(pids) -> dict[int, float]:
    """{pid: user + system CPU seconds so far} (processes that are gone are
    left out)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _status(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def reset_peaks(pids) -> None:
    for pid in pids:
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass


# -- the benchmark -------------------------------------------------------------

class BrowserBench:
    def __init__(self, backend: str | None = None):
        self.backend = backend
        self.server = build.make_server(build.DIST)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        self.profile = tempfile.mkdtemp(prefix="backgrone-bench-")
        self.pw = sync_playwright().start()
        args = list(CHROMIUM_ARGS)
        if backend == "webgpu":
            args = [a for a in args if a != "--disable-gpu"] + WEBGPU_ARGS
        chromium = os.environ.get("BACKGRONE_CHROMIUM") or "/usr/bin/chromium"
        self.context = self.pw.chromium.launch_persistent_context(
            self.profile, executable_path=chromium, args=args, headless=True)
        self.context.add_init_script(SPY)
        self._workers = None  # see fresh_renderer()
        self.tensors: dict[str, bytes] = {}
        self.context.route("**/__bench/*", self._serve_bench)
        self.version = self.context.browser.version if self.context.browser else None
        # Raw onnxruntime-web: the site's WebGPU bundle where it ships one and
        # WebGPU is asked for; else the WASM bundle the app uses.
        if backend == "webgpu" and (build.DIST / "ort" / "ort.webgpu.min.mjs").is_file():
            self.raw_bundle, self.raw_providers = "ort.webgpu.min.mjs", ["webgpu"]
        else:
            self.raw_bundle, self.raw_providers = "ort.wasm.min.mjs", ["wasm"]

    def fresh_renderer(self) -> None:
        """Stop the service workers, so that the next page gets a renderer
        process of its own, as a returning visitor's one tab does (a browser
        stops an idle service worker within a minute). A running service
        worker keeps its process, and Chromium puts the site's next pages in
        it: the freed memory of the pages before them, still resident there,
        would count in their peak (and the peer's pages, on the same site,
        127.0.0.1, would land there too)."""
        if self._workers is None:
            self._blank = self.context.new_page()  # about:blank, a process of its own
            self._workers = self.context.new_cdp_session(self._blank)
            self._workers.send("ServiceWorker.enable")
        self._workers.send("ServiceWorker.stopAllWorkers")
        time.sleep(1.0)  # the emptied process exits

    def close(self) -> None:
        self.context.close()
        self.pw.stop()
        self.server.shutdown()

    def _serve_bench(self, route) -> None:
        name = route.request.url.rsplit("/", 1)[1]
        if name == "raw-worker.js":
            # From the site's origin: its CSP admits workers from nowhere else.
            route.fulfill(status=200, body=RAW_WORKER, headers={
                "Content-Type": "text/javascript", "Cross-Origin-Resource-Policy": "same-origin",
                "Cross-Origin-Embedder-Policy": "require-corp"})
            return
        route.fulfill(status=200, body=self.tensors[name], headers={
            "Content-Type": "application/octet-stream", "Cross-Origin-Resource-Policy": "same-origin"})

    def app_url(self) -> str:
        return self.url + (f"?backend={self.backend}" if self.backend else "")

    # -- raw onnxruntime-web ---------------------------------------------------

    def raw_inference(self, engine, tensor_bytes: bytes, runs: int) -> dict:
        key = f"{engine.id}-{len(self.tensors)}.bin"
        self.tensors[key] = tensor_bytes
        page = self.context.new_page()
        try:
            page.goto(self.url + "licenses/")
            page.evaluate("""(url) => {
                window.__raw = new Worker(url, { type: "module" });
                window.__ask = (msg) => new Promise((resolve) => {
                    window.__raw.onmessage = (e) => resolve(e.data);
                    window.__raw.postMessage(msg);
                });
            }""", self.url + "__bench/raw-worker.js")
            init = page.evaluate("(m) => __ask(m)", {"op": "init", "base": self.url, "bundle": self.raw_bundle,
                                                     "providers": self.raw_providers,
                                                     "options": SESSION_OPTIONS[self.raw_providers[0]],
                                                     "model": self.url + engine.source})
            if not init["ok"]:
                raise RuntimeError(f"raw onnxruntime-web: {init['error']}")
            times, means = [], []
            for _ in range(runs + 1):
                r = page.evaluate("(m) => __ask(m)", {"op": "run", "tensor": self.url + "__bench/" + key})
                if not r["ok"]:
                    raise RuntimeError(f"raw onnxruntime-web: {r['error']}")
                times.append(r["seconds"])
                means.append(r["mean"])
            return {"bundle": self.raw_bundle, "providers": self.raw_providers,
                    "session_create": init["create"], "threads": init["threads"], "first": times[0],
                    "median": statistics.median(times[1:]), "runs": times[1:], "output_mean": means[-1]}
        finally:
            page.close()
            del self.tensors[key]

    # -- the app ----------------------------------------------------------------

    def prepare(self, engine_id: str, photo) -> dict:
        """Store the engine in IndexedDB (a first image downloads it) and make
        it the user's choice, as a user would; then more visits with one
        image each, RETURNING_VISITS in all, so that the measured pages find
        the browser's caches as a returning visitor's do (the service
        worker's, and the code V8 compiled from the WebAssembly files, which
        the browser keeps from one visit to the next). Not measured."""
        page = self._open()
        try:
            # The engines are in the engine panel ("Change engine"), closed at first.
            if page.get_attribute("#engines-toggle", "aria-expanded") != "true":
                page.click("#engines-toggle")
            page.check(f"input[name=engine][value={engine_id}]")
            r = self._cut(page, photo)
            result = {"backend": self._backend(page), "ok": r["ok"]}
        finally:
            page.close()
        for _ in range(RETURNING_VISITS - 1):
            page = self._open()
            try:
                self._cut(page, photo)
            finally:
                page.close()
        return result

    def _open(self):
        page = self.context.new_page()
        page.set_default_timeout(TIMEOUT)
        page.goto(self.app_url())
        page.wait_for_selector("body[data-ready=true]", timeout=TIMEOUT)
        return page

    def _backend(self, page) -> str:
        init = page.evaluate("() => __bench.init") or {}
        for key in ("backend", "executionProvider"):
            if init.get(key):
                return str(init[key])
        replies = page.evaluate("() => __bench.replies.filter((r) => r.backend).map((r) => r.backend)")
        return str(replies[-1]) if replies else "wasm"

    def _drop(self, page, photo) -> float:
        """A real drop of the photo; the page's clock when it was dropped (ms)."""
        dt = page.evaluate_handle("""([name, b64]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, { type: "image/jpeg" }));
            return dt;
        }""", [f"photo-{photo.name}.jpg", photo.b64])
        return page.evaluate("""(dt) => {
            const t = performance.now();
            const target = document.querySelector("#dropzone");
            for (const type of ["dragenter", "dragover", "drop"])
                target.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
            return t;
        }""", dt)

    def _cut(self, page, photo, t_drop: float | None = None) -> dict:
        """Drop a photo (unless already dropped) and wait for its reply and
        for the worker to be idle again (the result view's preview)."""
        before = page.evaluate("() => __bench.replies.filter((r) => r.type === 'process').length")
        if t_drop is None:
            t_drop = self._drop(page, photo)
        page.wait_for_function(
            "(n) => __bench.replies.filter((r) => r.type === 'process').length > n", arg=before,
            timeout=TIMEOUT, polling=50)
        reply = page.evaluate("(n) => __bench.replies.filter((r) => r.type === 'process')[n]", before)
        page.wait_for_function("() => __bench.outstanding === 0", timeout=TIMEOUT, polling=100)
        if not reply["ok"]:
            raise RuntimeError(f"the app failed on the {photo.name} photo: {reply['message']}")
        return {**reply, "e2e": (reply["t"] - t_drop) / 1000}

    def cold_cut(self, page, photo) -> dict:
        """Open the app in `page` and drop the photo as soon as the page takes
        files (its drop handler is set); the reply, timed from navigation start."""
        page.goto(self.app_url(), wait_until="commit")
        while True:
            page.wait_for_selector("#dropzone", state="attached")
            self._drop(page, photo)
            if page.evaluate("() => document.querySelectorAll('#queue .item').length") > 0:
                break
            time.sleep(0.05)
        return self._cut(page, photo, t_drop=0.0)

    def cold_run(self, engine_id: str, photo):
        """A new page (peaks of memory reset first) and its first cutout, timed
        from navigation start; (the page, still open, and the run's figures)."""
        self.fresh_renderer()
        page = self.context.new_page()
        page.set_default_timeout(TIMEOUT)
        try:
            reset_peaks(renderers(self.profile))
            r = self.cold_cut(page, photo)
            boot = page.evaluate("() => { const i = __bench.replies.find((r) => r.type === 'init'); return i ? (i.t - i.sent) / 1000 : null; }")
            run = {"e2e": r["e2e"], "timings": r["timings"], "boot": boot, "anatomy": self._anatomy(page),
                   "drop_at": page.evaluate("() => __bench.sent[Object.keys(__bench.sent).find((k) => __bench.sent[k].type === 'process')].t") / 1000}
        except BaseException:
            page.close()
            raise
        return page, run

    def warm_runs(self, page, photo, runs: int) -> list[dict]:
        """`runs` more drops on a page that has made its first cutout."""
        out = []
        for _ in range(runs):
            w = self._cut(page, photo)
            out.append({"e2e": w["e2e"], "timings": w["timings"]})
        return out

    def cold_then_warm(self, engine_id: str, photo, runs: int, cold_runs: int) -> dict:
        """`cold_runs` new pages, each dropping the photo as soon as it can;
        on the last, `runs` more drops (warm). Medians and every run."""
        cold, warm, memory, backend = [], [], None, None
        for i in range(cold_runs):
            page, run = self.cold_run(engine_id, photo)
            try:
                cold.append(run)
                if i == cold_runs - 1:
                    warm = self.warm_runs(page, photo, runs)
                    memory = self.memory(page)
                    backend = self._backend(page)
            finally:
                page.close()
        return self.summary(cold, warm, memory, backend)

    @staticmethod
    def summary(cold: list[dict], warm: list[dict], memory: dict | None, backend: str | None) -> dict:
        anatomy = {k: _median(c["anatomy"].get(k) for c in cold) for k in ANATOMY}
        return {
            "backend": backend,
            "cold": {"e2e": _median(c["e2e"] for c in cold), "boot": _median(c["boot"] for c in cold),
                     "anatomy": anatomy,
                     "stages": _stage_medians([c["timings"] for c in cold]), "runs": cold},
            "warm": {"e2e": _median(w["e2e"] for w in warm),
                     "stages": _stage_medians([w["timings"] for w in warm]), "runs": warm},
            "memory": memory,
        }

    def _anatomy(self, page) -> dict:
        """Where a cold page's time went, from the worker's own progress
        messages (seconds; see ANATOMY)."""
        t = page.evaluate("""() => {
            const b = __bench, init = b.replies.find((r) => r.type === "init");
            const proc = b.replies.find((r) => r.type === "process");
            const step = (n) => b.progress.find((p) => p.stage === "boot" && p.step === n)?.t ?? null;
            const image = b.progress.find((p) => p.stage === "image")?.t ?? null;
            return { s1: step(1), s2: step(2), s3: step(3), init: init?.t ?? null,
                     image, done: proc?.t ?? null };
        }""")
        gap = lambda a, b: (t[b] - t[a]) / 1000 if t[a] is not None and t[b] is not None else None
        return {"worker": t["s1"] / 1000 if t["s1"] is not None else None, "pyodide": gap("s1", "s2"),
                "backgrone": gap("s2", "s3"), "onnxruntime": gap("s3", "init"),
                "engine": gap("init", "image"), "image": gap("image", "done")}

    def memory(self, page) -> dict:
        out: dict = {}
        pids = renderers(self.profile)
        peaks = {pid: _status(pid, "VmHWM") for pid in pids}
        out["renderer_peak_rss_bytes"] = max((v for v in peaks.values() if v), default=None)
        out["renderer_rss_bytes"] = max((_status(pid, "VmRSS") or 0 for pid in pids), default=None)
        try:
            m = page.evaluate("""async () => {
                if (!performance.measureUserAgentSpecificMemory) return null;
                const r = await performance.measureUserAgentSpecificMemory();
                const by = {};
                for (const b of r.breakdown)
                    for (const a of b.attribution) by[a.scope] = (by[a.scope] || 0) + b.bytes;
                return { bytes: r.bytes, byScope: by };
            }""")
            out["measureUserAgentSpecificMemory"] = m
        except Exception as exc:  # not every build offers it
            out["measureUserAgentSpecificMemory"] = {"error": str(exc).splitlines()[0]}
        cdp = self.context.new_cdp_session(page)
        try:
            cdp.send("Performance.enable")
            metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            out["page_js_heap_used_bytes"] = metrics.get("JSHeapUsedSize")
            out["page_js_heap_total_bytes"] = metrics.get("JSHeapTotalSize")
        finally:
            cdp.detach()
        return out


def _stage_medians(timings: list[dict | None]) -> dict:
    timings = [t for t in timings if t]
    if not timings:
        return {}
    keys = list(dict.fromkeys(k for t in timings for k in t))
    return {k: _median(t.get(k) for t in timings) for k in keys}
