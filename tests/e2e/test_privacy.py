"""Images never leave the device, and the Content-Security-Policy holds the
page, its workers and the service worker to the site's own origin and the
engines' sources.

Every request is seen twice: by Chromium (the context's request events cover
the page, its dedicated workers and the service worker) and by the server that
serves the site (every request that reaches it, with its body length)."""
from __future__ import annotations

import base64
import http.server
import io
import threading
import zipfile

import numpy as np
import pytest
from PIL import Image

import build
from browser import IMAGE_TIMEOUT, READY_TIMEOUT, choose_engine, drop_files, export, state, wait_results

pytestmark = pytest.mark.browser

BODY_LIMIT = 2048  # bytes: no request of the app carries a body larger than this


def noise_png(seed: int, size=(320, 240)) -> bytes:
    """A photo-sized image whose bytes occur nowhere else."""
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(arr).save(out, format="PNG")
    return out.getvalue()


def serve(directory, **kw):
    server = build.make_server(directory, **kw)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/"


class Recorder:
    """Chromium's view: every request of the context (page, workers, service
    worker), with its body."""

    def __init__(self, context):
        self.requests = []
        context.on("request", lambda r: self.requests.append(r))

    def since(self, mark: int):
        return self.requests[mark:]

    def network(self, mark: int = 0):
        """Requests that go to a network (not blob: or data:)."""
        return [r for r in self.since(mark) if r.url.startswith(("http:", "https:", "ws:", "wss:"))]


@pytest.fixture
def site(tmp_path):
    seen: list = []
    server, url = serve(build.DIST, seen=seen)
    yield url, seen
    server.shutdown()


def fragments(data: bytes) -> list[bytes]:
    """Pieces of a file that any upload of it, raw or base64, would contain."""
    mid = len(data) // 2
    raw = [data[64:128], data[mid : mid + 64], data[-128:-64]]
    return raw + [base64.b64encode(p)[8:-8] for p in raw] + [p.hex().encode() for p in raw]


def carries(request, pieces: list[bytes]) -> bool:
    body = request.post_data_buffer or b""
    text = request.url.encode()
    return any(p in body or p in text for p in pieces)


def test_images_never_leave_the_device(page, context, site):
    """A whole session: load, download an engine, cut out two images, export
    one and the ZIP. Once the engine is stored, cutting out and exporting make
    no request that reaches any network (the first cut-out's runtime files come
    from the service worker's cache; after that, no request at all); and no
    request at any time carries the images or the results, or any body."""
    url, seen = site
    recorder = Recorder(context)
    images = {"one.png": noise_png(1), "two.png": noise_png(2)}

    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    choose_engine(page, "lightweight")
    page.click(".engine[data-engine=lightweight] .download-engine")
    page.wait_for_selector(".engine[data-engine=lightweight][data-stored=true]", timeout=IMAGE_TIMEOUT)
    assert any(r.url.endswith("models/isnet-uint8.onnx") for r in recorder.requests)
    # The service worker's own requests are in the record too (its install
    # fetches the precache list): the record covers it.
    assert any(r.service_worker is not None for r in recorder.requests), "no service worker request seen"
    assert any("worker.js" in r.url for r in recorder.requests)

    mark, server_mark = len(recorder.requests), len(seen)
    drop_files(page, [("one.png", images["one.png"], "image/png")])
    assert state(wait_results(page, 1)[0]) == "done"
    # The first cut-out starts the engine: onnxruntime-web loads its WASM
    # runtime, which the service worker answers from its cache.
    for r in recorder.network(mark):
        assert r.url.startswith(url + "ort/") and r.response().from_service_worker, r.url

    warm = len(recorder.requests)
    drop_files(page, [("two.png", images["two.png"], "image/png")])
    items = wait_results(page, 2)
    assert [state(i) for i in items] == ["done", "done"]
    cutout, _ = export(page, items[0])
    with page.expect_download(timeout=IMAGE_TIMEOUT) as info:
        page.click("#download-all")
    with zipfile.ZipFile(info.value.path()) as z:
        assert len(z.namelist()) == 2
    # With the engine running, cutting out and exporting make no request at
    # all, and since the engine was stored nothing reached the server but
    # the browser's own check of sw.js for a newer build (a GET without a
    # body, on Chromium's schedule: on this first visit, after the service
    # worker took over the page and its two engine workers mid-visit; a
    # page under its control from the start sends none).
    assert [r.url for r in recorder.network(warm)] == []
    assert [s for s in seen[server_mark:] if s != ("GET", "/sw.js", 0)] == []

    # No request of the whole session carried an image, a result or a body.
    pieces = [p for data in [*images.values(), cutout] for p in fragments(data)]
    assert [r.url for r in recorder.requests if carries(r, pieces)] == []
    assert [r.url for r in recorder.requests if len(r.post_data_buffer or b"") > BODY_LIMIT] == []
    assert {r.method for r in recorder.network()} == {"GET"}
    assert [(m, p) for m, p, n in seen if m != "GET" or n > 0] == []


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list

    def do_GET(self):  # noqa: N802
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cross-Origin-Resource-Policy", "cross-origin")
        self.end_headers()
        self.wfile.write(b"ok")

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def other_origin():
    """A server on another origin that answers anything, and counts."""
    hits: list = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("H", (_Counter,), {"hits": hits}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/", hits
    server.shutdown()


TRY_CONNECT = """async (url) => {
    const violations = [];
    self.addEventListener("securitypolicyviolation", (e) => violations.push(e.effectiveDirective));
    let error = null;
    try { await fetch(url, { method: "POST", body: "image bytes", mode: "cors" }); }
    catch (e) { error = e.name; }
    await new Promise((r) => setTimeout(r, 300));
    return { violations, error };
}"""


@pytest.mark.parametrize("host", ["headers", "plain"])
def test_csp_blocks_connections_to_other_origins(page, other_origin, host):
    """From the page and from the engine worker, a request to another origin
    is refused by the policy: a violation is reported and the other server
    never hears of it. "headers": served as `build.py serve` serves it;
    "plain": a host that sends no headers, where the <meta> tag covers the
    page and the service worker gives the worker its policy. Without the
    policy the other server would answer (it allows any origin)."""
    server, url = serve(build.DIST, isolate=host == "headers")
    try:
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
        target, hits = other_origin
        in_page = page.evaluate(TRY_CONNECT, target + "page")
        (worker,) = [w for w in page.workers if w.url.endswith("/worker.js")]
        in_worker = worker.evaluate(TRY_CONNECT, target + "worker")
        # (The page may report one violation per policy: header and <meta>.)
        for seen in (in_page, in_worker):
            assert seen["error"] == "TypeError"
            assert seen["violations"] and set(seen["violations"]) == {"connect-src"}
        assert hits == []
        # The engines' own source stays allowed (the policy is not simply "none").
        policy = page.evaluate(
            "document.querySelector('meta[http-equiv=Content-Security-Policy]').content")
        assert "https://huggingface.co" in policy and "'self'" in policy
    finally:
        server.shutdown()


def test_csp_forbids_inline_script_and_eval(app, site_url):
    """No inline script and no eval: an inline script added to the page does
    not run and a violation is reported; WebAssembly still compiles (the app
    just booted). (Playwright's own evaluate is exempt from the policy, so eval
    is checked in the policy's text.)"""
    ran = app.evaluate("""async () => {
        const violations = [];
        document.addEventListener("securitypolicyviolation", (e) => violations.push(e.effectiveDirective));
        window.__inline = false;
        const s = document.createElement("script");
        s.textContent = "window.__inline = true";
        document.head.append(s);
        await new Promise((r) => setTimeout(r, 200));
        return { inline: window.__inline, violations: [...new Set(violations)] };
    }""")
    assert ran == {"inline": False, "violations": ["script-src-elem"]}
    header = app.request.get(site_url).headers["content-security-policy"]
    meta = app.evaluate("document.querySelector('meta[http-equiv=Content-Security-Policy]').content")
    for policy in (header, meta):
        script_src = next(d for d in policy.split("; ") if d.startswith("script-src "))
        assert script_src == "script-src 'self' 'wasm-unsafe-eval'"
        assert "default-src 'self'" in policy
