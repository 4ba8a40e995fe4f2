"""When things go wrong around the engines: an interrupted or corrupted
download, a source that refuses, no room or no IndexedDB to keep a model, a
crashed worker, an engine switched or an image cancelled mid-way. The app
keeps working, loses nothing and says what happened (docs/bad-input.md)."""
from __future__ import annotations

import io
import re
import socket
import threading

import numpy as np
import pytest
from PIL import Image

import build
from browser import IMAGE_TIMEOUT, READY_TIMEOUT, choose_engine, drop_files, open_engines, state, wait_results
from test_app import import_model, png, scene, stored_engines

pytestmark = pytest.mark.browser

MODEL = "models/isnet-uint8.onnx"
HF = "https://huggingface.co/"


class FlakyModel(build.SiteHandler):
    """The site, with the Lightweight model served as a flaky host serves it.
    `plan` says what each successive request for the model gets (the last
    entry repeats): "cut" drops the connection half-way through the body,
    "corrupt" sends every byte but one flipped, "ok" sends the file. Range
    requests are honoured (206 with Content-Range). `log` records each
    request's Range header and what it got."""

    plan: list
    log: list

    def do_GET(self):  # noqa: N802
        if not self.path.endswith(MODEL):
            return super().do_GET()
        action = self.plan.pop(0) if len(self.plan) > 1 else self.plan[0]
        data = (build.DIST / MODEL).read_bytes()
        if action == "corrupt":
            data = data[:1000] + bytes([data[1000] ^ 0xFF]) + data[1001:]
        asked = self.headers.get("Range")
        start = int(re.fullmatch(r"bytes=(\d+)-", asked)[1]) if asked else 0
        self.log.append((asked, action))
        body = data[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if action == "cut":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)  # the connection drops mid-body
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def flaky_site():
    """(url, plan, log) of the site served with FlakyModel."""
    plan, log = [], []
    handler = type("Flaky", (FlakyModel,), {"plan": plan, "log": log})
    server = build.make_server(build.DIST, handler=handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/", plan, log
    server.shutdown()


def open_app(page, url):
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)


def download(page, engine_id: str) -> None:
    """Press the engine's Download button and wait until it has finished,
    whichever way (its Cancel button shows while it runs)."""
    open_engines(page)
    page.click(f".engine[data-engine={engine_id}] .download-engine")
    page.wait_for_selector(f".engine[data-engine={engine_id}] .cancel-download", state="hidden",
                           timeout=IMAGE_TIMEOUT)


def cut_out_one(page, photos) -> str:
    n = len(page.query_selector_all("#queue .item"))
    drop_files(page, [("coffee.png", photos["coffee"].read_bytes(), "image/png")])
    return state(wait_results(page, n + 1)[-1])


# -- downloads ---------------------------------------------------------------

def test_an_interrupted_download_resumes_where_it_stopped(page, flaky_site, photos):
    url, plan, log = flaky_site
    plan += ["cut", "ok"]
    open_app(page, url)
    download(page, "lightweight")
    size = (build.DIST / MODEL).stat().st_size
    assert len(log) == 2 and log[0] == (None, "cut")
    # The second request asked only for what was missing.
    resumed_from = int(re.fullmatch(r"bytes=(\d+)-", log[1][0])[1])
    assert 0 < resumed_from <= size // 2
    # Downloaded, checked (size and sha256) and stored: it works offline-ready.
    page.wait_for_selector(".engine[data-engine=lightweight][data-stored=true]")
    assert stored_engines(page) == ["lightweight"]
    choose_engine(page, "lightweight")
    assert cut_out_one(page, photos) == "done"
    assert len(log) == 2  # from the store, not the network


def test_a_stored_engine_that_fails_its_check_is_replaced_not_used(page, flaky_site, photos):
    url, plan, log = flaky_site
    plan += ["ok", "ok"]
    open_app(page, url)
    download(page, "lightweight")
    page.wait_for_selector(".engine[data-engine=lightweight][data-stored=true]")
    # The stored copy rots: same size, one byte changed (as a failing disk might).
    page.evaluate("""() => new Promise((resolve, reject) => {
        const open = indexedDB.open("backgrone");
        open.onerror = () => reject(open.error);
        open.onsuccess = async () => {
            const db = open.result;
            const get = db.transaction("blobs").objectStore("blobs").get("lightweight");
            get.onsuccess = async () => {
                const bytes = new Uint8Array(await get.result.arrayBuffer());
                bytes[bytes.length >> 1] ^= 0xff;
                const tx = db.transaction("blobs", "readwrite");
                tx.objectStore("blobs").put(new Blob([bytes]), "lightweight");
                tx.oncomplete = () => { db.close(); resolve(); };
                tx.onerror = () => reject(tx.error);
            };
        };
    })""")
    # A new visit with Lightweight chosen: neither the early start nor the
    # image may use the bad copy; it is removed and downloaded again.
    open_app(page, url + "?engine=lightweight")
    assert cut_out_one(page, photos) == "done"
    assert [action for _, action in log] == ["ok", "ok"] and log[1][0] is None  # whole, from the start
    page.wait_for_selector(".engine[data-engine=lightweight][data-stored=true]", state="attached")
    assert stored_engines(page) == ["lightweight"]


def test_a_download_cut_every_time_fails_clearly_and_stores_nothing(page, flaky_site):
    url, plan, log = flaky_site
    plan += ["cut"]
    open_app(page, url)
    download(page, "lightweight")
    assert len(log) == 3  # the first try and two resumes
    assert re.fullmatch(r"The Lightweight engine's download was interrupted \(.+\)\. "
                        r"Check the connection and try again\.", page.inner_text("#status-text"))
    assert page.get_attribute(".engine[data-engine=lightweight]", "data-stored") == "false"
    assert stored_engines(page) == []


def test_a_corrupted_download_is_discarded_and_fetched_again_once(page, flaky_site, photos):
    url, plan, log = flaky_site
    plan += ["corrupt", "ok"]
    open_app(page, url)
    download(page, "lightweight")
    assert [action for _, action in log] == ["corrupt", "ok"] and log[1][0] is None  # again from the start
    page.wait_for_selector(".engine[data-engine=lightweight][data-stored=true]")
    assert page.inner_text("#engine-note") == (
        "The first download of the Lightweight engine failed its integrity check and was discarded; "
        "the second is complete and correct.")
    choose_engine(page, "lightweight")
    assert cut_out_one(page, photos) == "done"


def test_a_download_corrupted_twice_is_refused(page, flaky_site):
    url, plan, log = flaky_site
    plan += ["corrupt"]
    open_app(page, url)
    download(page, "lightweight")
    assert len(log) == 2
    assert page.inner_text("#status-text") == (
        "The Lightweight engine's file failed its integrity check twice and was discarded. "
        "Its source may be serving a different file: try again later, or use another engine.")
    assert stored_engines(page) == []
    assert page.get_attribute(".engine[data-engine=lightweight]", "data-stored") == "false"


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_source_that_refuses_says_what_to_do(app, context, requests_log, photos, status):
    """The Balanced engine's source (Hugging Face) answering 401/403 (BRIA's
    license not accepted) or 404; the images queued for it fail with the
    same message, and the others go on."""
    requests_log.allowed.append(HF)
    context.route(f"{HF}**", lambda route: route.fulfill(
        status=status, body="refused", headers={"Access-Control-Allow-Origin": "*"}))
    download(app, "balanced")
    message = app.inner_text("#status-text")
    if status in (401, 403):
        assert message == (
            f"The Balanced engine's host refused the download (HTTP {status}). Its model may require you to "
            "sign in on Hugging Face and accept its license first: do that, download the file "
            "(onnx/model_quantized.onnx) and import it under Storage. Or use another engine.")
    else:
        assert message == ("The Balanced engine's file was not found at its source (HTTP 404). "
                           "Use another engine, or import the file under Storage.")
    assert "Not downloaded yet" in app.inner_text(".engine[data-engine=balanced]")
    # An image queued for it fails alone; the next, on Lightweight, comes out.
    choose_engine(app, "balanced")
    drop_files(app, [("a.png", png(scene()), "image/png")])
    choose_engine(app, "lightweight")
    drop_files(app, [("coffee.png", photos["coffee"].read_bytes(), "image/png")])
    a, b = wait_results(app, 2)
    assert state(a) == "failed" and a.query_selector(".item-error").inner_text() == message
    assert state(b) == "done"


# -- storage -------------------------------------------------------------------

def test_storage_full_the_engine_still_works_and_says_it_is_not_kept(app, site_url, photos):
    """A real quota: Chromium's own limit for this origin set to 5 MB (the
    DevTools protocol's Storage.overrideQuotaForOrigin), so IndexedDB refuses
    the 42 MB model with QuotaExceededError."""
    cdp = app.context.new_cdp_session(app)
    cdp.send("Storage.overrideQuotaForOrigin", {"origin": site_url.rstrip("/"), "quotaSize": 5_000_000})
    choose_engine(app, "lightweight")
    assert cut_out_one(app, photos) == "done"
    assert app.inner_text("#engine-note") == (
        "Not enough storage to keep the Lightweight engine: it works now and will be downloaded again next time.")
    assert stored_engines(app) == []


NO_INDEXEDDB = """
// Test preamble: IndexedDB refuses to open, as in private windows that
// offer no storage (the error Firefox gave there).
IDBFactory.prototype.open = function () {
  throw new DOMException("A mutation operation was attempted on a database that did not allow mutations.",
                         "InvalidStateError");
};
"""


def test_without_indexeddb_the_app_works_and_says_so(browser, site_url, photos):
    """IndexedDB made unavailable for real in the worker, where the store
    lives: page.add_init_script does not reach workers, so a route serves
    worker.js with a preamble that makes IDBFactory.open throw (the page gets
    the same through context.add_init_script). The service worker is blocked
    for this context, or it would answer worker.js from its cache past the
    route."""
    context = browser.new_context(service_workers="block")
    context.add_init_script(NO_INDEXEDDB)

    def patched(route):
        response = route.fetch()
        route.fulfill(response=response, body=NO_INDEXEDDB + response.text())
    context.route("**/worker.js", patched)
    page = context.new_page()
    try:
        open_app(page, site_url)
        assert page.inner_text("#storage-summary") == "(unavailable)"
        open_engines(page)
        page.click("#storage summary")
        assert page.inner_text("#storage-space") == (
            "This browser gives this site no storage here (a private window?). Backgrone still works, "
            "but engines are downloaded again on every visit.")
        choose_engine(page, "lightweight")
        assert cut_out_one(page, photos) == "done"
        assert page.inner_text("#engine-note") == (
            "This browser offers no storage here (private window?): the engine will be downloaded again next time.")
        assert cut_out_one(page, photos) == "done"  # the session stays loaded for the next image
    finally:
        context.close()


# -- the worker ----------------------------------------------------------------

def test_a_crashed_worker_is_replaced_and_the_queue_goes_on(app, context, photos):
    """The engine worker dies of an uncaught error while an image's request
    is under way. Chromium cannot be made to run a worker out of memory here
    without taking the shared machine down with it, and the app ships no hook
    to crash itself; so the test raises a real uncaught exception in the
    worker's global scope (through Playwright's Worker.evaluate). The page
    sees exactly what it sees when a worker dies of an error, the Worker's
    error event, and everything after that is the production path: the image
    under way fails with the reason, a new worker starts (booting Python
    again) and the rest of the queue comes out.

    The crash is timed while the worker waits on the network for the first
    image's engine (its first model request is held unanswered): during
    inference the worker's thread is busy in WebAssembly, so an error queued
    then would only land once the image is done."""
    held = []

    def hold_first(route):
        if held:
            route.continue_()
        else:
            held.append(route)
    context.route(f"**/{MODEL}", hold_first)
    choose_engine(app, "lightweight")
    drop_files(app, [(f"{n}.png", photos[n].read_bytes(), "image/png") for n in ("coffee", "chelsea", "astronaut")])
    app.wait_for_function("() => document.querySelector('#queue .item').dataset.state === 'working'")
    for _ in range(600):
        if held:
            break
        app.wait_for_timeout(100)
    assert held, "the model was never requested"
    (worker,) = [w for w in app.workers if w.url.endswith("/worker.js")]
    worker.evaluate("() => { setTimeout(() => { throw new Error('the engine hit a fatal error'); }); }")
    items = wait_results(app, 3)
    assert [state(i) for i in items] == ["failed", "done", "done"]
    assert items[0].query_selector(".item-error").inner_text() == (
        "The engine stopped unexpectedly (Uncaught Error: the engine hit a fatal error) and was restarted. "
        "If it happens again, try a smaller image or the Lightweight engine, which needs the least memory.")
    (replacement,) = [w for w in app.workers if w.url.endswith("/worker.js")]
    assert replacement is not worker
    # The page goes on working on the new worker.
    assert cut_out_one(app, photos) == "done"
    for route in held:
        route.abort()


def test_each_image_keeps_the_engine_chosen_when_it_was_added(app, standin_model, photos):
    """Switching engines while an image is being cut out changes nothing for
    it: it comes from the engine chosen when it was added, and says which."""
    assert "is now the Balanced engine" in import_model(app, "balanced", standin_model)
    choose_engine(app, "lightweight")
    drop_files(app, [("slow.png", photos["coffee"].read_bytes(), "image/png")])
    app.wait_for_selector("#queue .item[data-state=working]")
    choose_engine(app, "balanced")
    drop_files(app, [("fast.png", png(scene()), "image/png")])
    slow, fast = wait_results(app, 2)
    assert state(slow) == "done" and state(fast) == "done"
    assert slow.query_selector(".item-state").inner_text() == "Done \u00b7 Lightweight"
    assert fast.query_selector(".item-state").inner_text() == "Done \u00b7 Balanced"
    slow.query_selector(".item-open").click()
    assert "Lightweight" in app.inner_text("#view-meta")


def test_cancelling_the_image_under_way_removes_it_and_the_queue_goes_on(app, photos):
    choose_engine(app, "lightweight")
    drop_files(app, [(f"{n}.png", photos[n].read_bytes(), "image/png") for n in ("coffee", "chelsea")])
    app.wait_for_function("() => /Cutting out/.test(document.querySelector('#queue .item').innerText)",
                          timeout=IMAGE_TIMEOUT)
    first = app.query_selector("#queue .item")
    assert first.query_selector(".item-remove").inner_text() == "Cancel"
    first.query_selector(".item-remove").click()
    assert app.eval_on_selector_all("#queue .item-name", "els => els.map(e => e.textContent)") == ["chelsea.png"]
    assert app.inner_text("#status-text") == "Cancelled: coffee.png"
    (item,) = wait_results(app, 1)
    assert state(item) == "done"
    assert "1 of 1 done" in app.inner_text("#queue-count")
    assert app.inner_text("#view-meta").startswith("chelsea.png")


def test_an_unreachable_source_is_tried_three_times_then_explained(app, context, requests_log):
    requests_log.allowed.append(HF)
    tries = []

    def refuse(route):
        tries.append(route.request.url)
        route.abort("connectionrefused")
    context.route(f"{HF}**", refuse)
    download(app, "balanced")
    assert len(tries) == 3
    assert app.inner_text("#status-text").startswith(
        "The Balanced engine could not be downloaded: its source could not be reached (")
    assert "import it under Storage" in app.inner_text("#status-text")
    assert stored_engines(app) == []


def test_a_crashed_session_worker_is_replaced_and_the_queue_goes_on(app, photos):
    """The session worker (onnxruntime-web's own worker, beside the engine
    worker) dies of an uncaught error while an image is under way, as it
    would running out of memory. That image fails with the reason, both
    workers are replaced, and the next image comes out. (The error is raised
    in its global scope through Playwright's Worker.evaluate, as in the test
    above. During a run the session worker's thread is busy in WebAssembly, so
    the error lands at the latest when the run ends, while the engine worker
    still has the image's Python stages to go.)"""
    choose_engine(app, "lightweight")
    drop_files(app, [("first.png", photos["coffee"].read_bytes(), "image/png")])
    assert state(wait_results(app, 1)[0]) == "done"
    (session,) = [w for w in app.workers if w.url.endswith("/session-worker.js")]
    (worker,) = [w for w in app.workers if w.url.endswith("/worker.js")]
    drop_files(app, [(f"{n}.png", photos[n].read_bytes(), "image/png") for n in ("chelsea", "astronaut")])
    app.wait_for_function("() => document.querySelectorAll('#queue .item')[1]?.dataset.state === 'working'")
    session.evaluate("() => { setTimeout(() => { throw new Error('the network hit a fatal error'); }); }")
    items = wait_results(app, 3)
    assert [state(i) for i in items] == ["done", "failed", "done"]
    assert items[1].query_selector(".item-error").inner_text() == (
        "The engine stopped unexpectedly (Uncaught Error: the network hit a fatal error) and was restarted. "
        "If it happens again, try a smaller image or the Lightweight engine, which needs the least memory.")
    (replacement,) = [w for w in app.workers if w.url.endswith("/session-worker.js")]
    (engine_worker,) = [w for w in app.workers if w.url.endswith("/worker.js")]
    assert replacement is not session and engine_worker is not worker
