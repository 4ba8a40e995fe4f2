"""The app as a visitor uses it: engines downloaded once and kept, offline
after the first visit, the queue, the result view's backgrounds, crop and
exports, the ZIP, paste, import, the storage panel, samples."""
from __future__ import annotations

import io
import os
import shutil
import threading
import zipfile

import numpy as np
import pytest
from PIL import Image

import build
from browser import (IMAGE_TIMEOUT, READY_TIMEOUT, choose_engine, drop_files, export, open_engines,
                     open_result, reload_ready, runs_threaded, state, wait_results)
from standin import make_standin

pytestmark = pytest.mark.browser

LIGHTWEIGHT_URL = "models/isnet-uint8.onnx"


def png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def scene() -> Image.Image:
    """200x100: a red square (the stand-in keeps red) on blue stripes (which it
    removes), so every background and crop has a known answer."""
    arr = np.zeros((100, 200, 3), np.uint8)
    arr[:, :, 2] = 255
    arr[:, ::2, 2] = 200  # stripes: a blur visibly smooths them
    arr[30:70, 40:80] = (255, 0, 0)
    return Image.fromarray(arr)


def stored_engines(page) -> list[str]:
    return page.eval_on_selector_all("#storage-list li", "els => els.map(e => e.dataset.engine)")


def import_model(page, engine_id: str, path) -> str:
    open_engines(page)
    if not page.is_visible("#import-engine"):
        page.click("#storage summary")
    page.select_option("#import-engine", engine_id)
    page.set_input_files("#import-file", str(path))
    page.wait_for_function("() => !document.querySelector('#import-status').textContent.startsWith('Checking')",
                           timeout=IMAGE_TIMEOUT)
    return page.inner_text("#import-status")


@pytest.fixture
def with_standin(app, standin_model):
    """The Balanced engine imported from a local stand-in file: fast, and its
    masks are known."""
    assert "is now the Balanced engine" in import_model(app, "balanced", standin_model)
    choose_engine(app, "balanced")
    return app


def test_engine_downloads_once_and_works_offline(app, context, requests_log, photos):
    open_engines(app)
    card = app.locator(".engine[data-engine=lightweight]")
    assert "Not downloaded yet" in card.inner_text()
    card.locator(".download-engine").click()
    app.wait_for_selector(".engine[data-engine=lightweight][data-stored=true]", timeout=IMAGE_TIMEOUT)
    assert "On this device" in card.inner_text() and "42 MB" in card.inner_text()
    assert requests_log.count(LIGHTWEIGHT_URL) == 1

    # Second visit: the engine comes from IndexedDB, checked, not the network.
    reload_ready(app)
    choose_engine(app, "lightweight")
    drop_files(app, [("astronaut.png", photos["astronaut"].read_bytes(), "image/png")])
    assert state(wait_results(app, 1)[0]) == "done"
    assert requests_log.count(LIGHTWEIGHT_URL) == 1

    # Network cut: the service worker serves the site, the store the engine.
    context.set_offline(True)
    reload_ready(app)
    assert "On this device" in app.inner_text(".engine[data-engine=lightweight]")
    drop_files(app, [("coffee.png", photos["coffee"].read_bytes(), "image/png")])
    (item,) = wait_results(app, 1)
    assert state(item) == "done"
    cut, _ = export(app, item)
    assert Image.open(io.BytesIO(cut)).size == (600, 400)
    assert requests_log.count(LIGHTWEIGHT_URL) == 1


def test_download_can_be_cancelled_and_stores_nothing(app, context, requests_log):
    held = []
    context.route(f"**/{LIGHTWEIGHT_URL}", lambda route: held.append(route))  # never answers
    open_engines(app)
    card = app.locator(".engine[data-engine=lightweight]")
    card.locator(".download-engine").click()
    app.wait_for_selector(".engine[data-engine=lightweight] .cancel-download:not([hidden])")
    card.locator(".cancel-download").click()
    app.wait_for_selector(".engine[data-engine=lightweight] .download-engine:not([hidden])")
    assert "cancelled" in app.inner_text("#status-text")
    assert "Not downloaded yet" in card.inner_text()
    assert stored_engines(app) == []
    for route in held:
        route.abort()


def test_storage_panel_lists_and_deletes_engines(app, standin_model):
    import_model(app, "balanced", standin_model)
    assert stored_engines(app) == ["balanced"]
    assert "imported" in app.inner_text("#storage-list")
    assert "of the" in app.inner_text("#storage-space")  # the space the browser grants
    app.click("#storage-list li[data-engine=balanced] .delete-engine")
    app.wait_for_function("() => !document.querySelector('#storage-list li')")
    reload_ready(app)
    assert stored_engines(app) == []
    assert "Not downloaded yet" in app.inner_text(".engine[data-engine=balanced]")


def test_import_checks_the_file_before_accepting_it(app, tmp_path):
    # Every engine is pinned: a file that is not the pinned one is refused
    # before a session is started (the shape check: tests/e2e/test_balanced.py).
    wrong_shape = make_standin(tmp_path / "small.onnx", size=(512, 512))
    message = import_model(app, "balanced", wrong_shape)
    assert "not the Balanced engine's model" in message
    not_lightweight = make_standin(tmp_path / "other.onnx")
    message = import_model(app, "lightweight", not_lightweight)
    assert "not the Lightweight engine's model" in message
    assert stored_engines(app) == []


def test_imported_engine_is_used_without_network_and_becomes_the_default(with_standin, requests_log):
    app = with_standin
    drop_files(app, [("scene.png", png(scene()), "image/png")])
    assert state(wait_results(app, 1)[0]) == "done"
    assert requests_log.count("huggingface") == 0
    # Stored Balanced is the default for a visitor who has not chosen.
    app.evaluate("localStorage.clear()")
    reload_ready(app)
    assert app.is_checked("input[name=engine][value=balanced]")
    assert app.is_hidden("#engine-note")


def test_first_visit_defaults_to_lightweight_and_says_why(app):
    assert app.is_checked("input[name=engine][value=lightweight]")
    assert "Balanced" in app.inner_text("#engine-note")
    choose_engine(app, "precision")
    reload_ready(app)
    assert app.is_checked("input[name=engine][value=precision]")


def test_backgrounds_crop_and_formats_on_pixels(with_standin, tmp_path):
    app = with_standin
    drop_files(app, [("scene.png", png(scene()), "image/png")])
    (item,) = wait_results(app, 1)
    open_result(app, item)

    cut, name = export(app, fmt="png")
    assert name == "scene-cutout.png"
    rgba = np.asarray(Image.open(io.BytesIO(cut)))
    assert rgba.shape == (100, 200, 4)
    assert rgba[50, 60, 3] == 255 and rgba[10, 150, 3] < 8  # subject kept, stripes gone
    assert tuple(rgba[50, 60, :3]) == (255, 0, 0)

    mask, name = export(app, fmt="mask")
    assert name == "scene-mask.png"
    m = Image.open(io.BytesIO(mask))
    assert m.mode == "L" and np.asarray(m)[50, 60] == 255 and np.asarray(m)[10, 150] < 8

    app.check("input[name=bg][value=color]")
    app.fill("#bg-color", "#00ff00")
    jpeg, name = export(app, fmt="jpeg")
    assert name == "scene-cutout.jpg"
    j = Image.open(io.BytesIO(jpeg))
    assert j.format == "JPEG" and j.mode == "RGB"
    assert np.abs(np.asarray(j, int)[10, 150] - (0, 255, 0)).max() < 12  # the colour behind
    assert np.abs(np.asarray(j, int)[50, 60] - (255, 0, 0)).max() < 12  # the subject

    webp, name = export(app, fmt="webp")
    w = Image.open(io.BytesIO(webp))
    assert name == "scene-cutout.webp" and w.format == "WEBP"

    app.check("input[name=bg][value=blur]")
    blurred, _ = export(app, fmt="png")
    b = np.asarray(Image.open(io.BytesIO(blurred)).convert("RGB"), float)
    original = np.asarray(scene(), float)
    # The stripes behind the subject are smoothed; the subject is not.
    assert b[5:25, 120:190, 2].std() < original[5:25, 120:190, 2].std() / 4
    assert np.abs(b[50, 60] - (255, 0, 0)).max() < 2

    yellow = tmp_path / "yellow.png"
    Image.new("RGB", (30, 20), (255, 255, 0)).save(yellow)
    app.set_input_files("#bg-image", str(yellow))
    app.wait_for_function("() => document.querySelector('input[name=bg][value=image]').checked")
    pic, _ = export(app, fmt="png")
    p = np.asarray(Image.open(io.BytesIO(pic)).convert("RGB"), int)
    assert np.abs(p[10, 151] - (255, 255, 0)).max() < 8

    app.check("input[name=bg][value=transparent]")
    app.check("#crop")
    app.fill("#margin", "10")
    cropped, _ = export(app, fmt="png")
    c = Image.open(io.BytesIO(cropped))
    # The subject's box in the mask (the square and its soft edge, which the
    # refinement may widen by a pixel or so a side), grown by 10% of its
    # larger side on each side.
    ys, xs = np.nonzero(np.asarray(m) > 8)
    side = max(xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min())
    assert 40 <= side <= 48
    grown = side + 2 * round(0.1 * side)
    assert c.size == (grown, grown)
    assert np.asarray(c)[grown // 2, grown // 2, 3] == 255


def test_compare_slider_shows_the_original_on_its_left(with_standin):
    app = with_standin
    drop_files(app, [("scene.png", png(scene()), "image/png")])
    open_result(app, wait_results(app, 1)[0])
    app.wait_for_function("() => document.querySelector('#view-after').naturalWidth > 0")

    def blue_share(x_from: float, x_to: float) -> float:
        shot = np.asarray(Image.open(io.BytesIO(app.locator("#compare").screenshot())).convert("RGB"), int)
        h, w, _ = shot.shape
        band = shot[h // 10 : h // 4, int(w * x_from) : int(w * x_to)]
        return float(((band[..., 2] > 150) & (band[..., 0] < 80)).mean())

    assert blue_share(0.05, 0.3) < 0.05  # the cutout: checkerboard where the stripes were
    app.focus("#compare-slider")
    for _ in range(50):  # by keyboard, to the middle
        app.keyboard.press("ArrowRight")
    assert app.input_value("#compare-slider") == "50"
    assert blue_share(0.05, 0.3) > 0.9  # the original's blue on the left
    assert blue_share(0.7, 0.95) < 0.05  # still the cutout on the right


def test_download_all_as_one_zip(with_standin):
    app = with_standin
    red = Image.new("RGB", (30, 20), (255, 0, 0))
    drop_files(app, [("a.png", png(scene()), "image/png"), ("b.png", png(red), "image/png"),
                     ("a.jpg", png(scene()), "image/png")])
    wait_results(app, 3)
    with app.expect_download(timeout=IMAGE_TIMEOUT) as info:
        app.click("#download-all")
    assert info.value.suggested_filename == "backgrone-cutouts.zip"
    with zipfile.ZipFile(info.value.path()) as z:
        names = sorted(z.namelist())
        assert names == ["a-cutout (2).png", "a-cutout.png", "b-cutout.png"]
        a = Image.open(io.BytesIO(z.read("a-cutout.png")))
        assert a.size == (200, 100) and a.mode == "RGBA"
        assert Image.open(io.BytesIO(z.read("b-cutout.png"))).size == (30, 20)


def test_paste_adds_an_image(with_standin):
    app = with_standin
    data = list(png(scene()))
    app.evaluate(
        """(bytes) => {
            const dt = new DataTransfer();
            dt.items.add(new File([new Uint8Array(bytes)], "image.png", { type: "image/png" }));
            document.dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt, bubbles: true }));
        }""",
        data,
    )
    (item,) = wait_results(app, 1)
    assert state(item) == "done"
    assert item.query_selector(".item-name").inner_text().startswith("pasted-")


def test_queue_item_can_be_removed_and_the_queue_goes_on(with_standin):
    app = with_standin
    drop_files(app, [("one.png", png(scene()), "image/png"), ("two.png", png(scene()), "image/png")])
    items = wait_results(app, 2)
    items[0].query_selector(".item-remove").click()
    app.wait_for_function("() => document.querySelectorAll('#queue .item').length === 1")
    assert app.inner_text("#queue .item-name") == "two.png"
    assert "1 of 1 done" in app.inner_text("#queue-count")


def test_sample_opens_in_the_app(page, site_url, requests_log):
    page.goto(site_url + "samples.html")
    page.wait_for_selector("#samples li")
    titles = page.eval_on_selector_all("#samples h2", "els => els.map(e => e.textContent)")
    assert titles == ["Astronaut", "Grace Hopper", "Chelsea the cat", "Coffee"]
    page.click("#samples li:nth-child(4) a")
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    (item,) = wait_results(page, 1)
    assert state(item) == "done" and page.inner_text("#queue .item-name") == "coffee.png"


def test_phone_viewport_has_no_sideways_scroll(browser, site_url, standin_model):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = context.new_page()
    page.goto(site_url)
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    assert "is now the Balanced engine" in import_model(page, "balanced", standin_model)
    choose_engine(page, "balanced")
    drop_files(page, [("scene.png", png(scene()), "image/png")])
    wait_results(page, 1)
    page.wait_for_selector("#viewer:not([hidden])")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()


@pytest.fixture
def plain_host(tmp_path):
    """dist/ served without COOP/COEP, as a static host that cannot set headers."""
    server = build.make_server(build.DIST, isolate=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


def test_service_worker_provides_isolation_on_a_plain_host(page, plain_host):
    page.goto(plain_host)
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    assert page.evaluate("crossOriginIsolated") is True
    assert runs_threaded(page)
    assert "single-threaded" not in page.inner_text("#runtime-info")


def test_a_new_build_replaces_the_old_cache(context, page, tmp_path):
    # A copy of dist/ (hard links, so nothing in dist/ is touched).
    site = tmp_path / "site"
    shutil.copytree(build.DIST, site, copy_function=os.link)
    server = build.make_server(site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    try:
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
        page.evaluate("navigator.serviceWorker.ready")
        # The build's cache, and the snapshot of Python's start (its own
        # version is Pyodide's: a new build of the site keeps it).
        first = [k for k in page.evaluate("caches.keys()") if k != "backgrone-python"]
        assert len(first) == 1 and first[0].startswith("backgrone-")
        # "Rebuild": new contents, and a service worker stamped with a new version.
        old_sw = (site / "sw.js").read_text()
        version = first[0].removeprefix("backgrone-")
        for name, text in [("sw.js", old_sw.replace(version, "0123456789abcdef")),
                           ("client/app.js", (site / "client/app.js").read_text() + "\n// new build\n")]:
            (site / name).unlink()
            (site / name).write_text(text)
        page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
        page.wait_for_function("async () => !!(await navigator.serviceWorker.getRegistration()).waiting",
                               timeout=READY_TIMEOUT)
        # The open page keeps the build it started with; once it is closed,
        # the next visit gets the new build and the old cache is gone.
        page.close()
        fresh = context.new_page()
        fresh.wait_for_timeout(3000)  # the old build's last page unloading
        fresh.goto(url)
        fresh.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
        assert sorted(fresh.evaluate("caches.keys()")) == ["backgrone-0123456789abcdef", "backgrone-python"]
        assert fresh.get_attribute("body", "data-python") == "snapshot"
        assert "// new build" in fresh.evaluate("fetch('client/app.js').then(r => r.text())")
    finally:
        server.shutdown()


def session_worker(page):
    """The page's session worker (onnxruntime-web's own thread, web/worker/session/)."""
    for _ in range(300):
        found = [w for w in page.workers if w.url.endswith("/session-worker.js")]
        if found:
            return found[-1]
        page.wait_for_timeout(100)
    raise AssertionError("the page has no session worker")


def warm_ups(session) -> int:
    """How many warm-up runs the session worker made (it marks each one)."""
    return session.evaluate("() => performance.getEntriesByName('warm-up').length")


def test_the_stored_engine_warms_up_only_while_no_image_waits(app, site_url, photos):
    """onnxruntime-web's first run of a session is slower than the next ones:
    with the engine stored and nothing waiting, the session worker makes that
    run on a blank input while the visitor has not yet given a photo. A photo
    waiting from the start (a sample's link adds its image before the engine
    has started) is never put behind such a run: none is made."""
    choose_engine(app, "lightweight")
    drop_files(app, [("coffee.png", photos["coffee"].read_bytes(), "image/png")])
    assert state(wait_results(app, 1)[0]) == "done"

    reload_ready(app)  # the engine is stored and chosen, nothing waits
    session = session_worker(app)
    for _ in range(IMAGE_TIMEOUT // 250):
        if warm_ups(session):
            break
        app.wait_for_timeout(250)
    assert warm_ups(session) == 1

    app.goto(site_url + "?sample=samples/coffee.png")
    (item,) = wait_results(app, 1)
    assert state(item) == "done" and app.inner_text("#queue .item-name") == "coffee.png"
    assert warm_ups(session_worker(app)) == 0
