"""The Engine Arena: one image through the three engines, side by side.

Most tests serve the built site with the three engines' models replaced by
stand-ins that give known, different masks (a build configured with other
models, as `--rmbg` configures one): they run in milliseconds, so the page's
behaviour is tested, and its figures are checked against py/backgrone/arena.py
under CPython. One test runs the real Lightweight and Precision engines.
"""
from __future__ import annotations

import csv
import io
import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

import build
from backgrone import arena
from backgrone.engines import get_engine
from browser import IMAGE_TIMEOUT, READY_TIMEOUT, drop_files, shown_pixels as img_pixels
from e2e.conftest import RequestLog
from e2e.standin_site import make_standin_site, serve
from e2e.test_cutout import reference
from helpers import heic
from standin import make_standin

pytestmark = pytest.mark.browser

ENGINES = ("precision", "balanced", "lightweight")
# mask = sigmoid(w . rgb): each stand-in keeps other colours of the scene.
WEIGHTS = {
    "precision": (6.0, -1.0, -6.0),  # red
    "balanced": (-6.0, 6.0, -3.0),  # green
    "lightweight": (4.0, 4.0, -6.0),  # red and green, less sure
}


def scene() -> Image.Image:
    """320x200: red, green and a red-to-green gradient on blue."""
    arr = np.zeros((200, 320, 3), np.uint8)
    arr[:, :, 2] = 230
    arr[40:160, 20:100] = (240, 20, 20)
    arr[40:160, 120:200] = (20, 240, 20)
    ramp = np.linspace(0, 255, 100).astype(np.uint8)
    arr[40:160, 210:310, 0] = ramp[::-1]
    arr[40:160, 210:310, 1] = ramp
    arr[40:160, 210:310, 2] = 0
    out = io.BytesIO()
    Image.fromarray(arr).save(out, format="PNG")
    return out.getvalue()


SCENE = scene()


@pytest.fixture(scope="module")
def standins(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("arena-models")
    return {e: make_standin(folder / f"{e}.onnx", weights=WEIGHTS[e]) for e in ENGINES}


@pytest.fixture(scope="module")
def standin_site(tmp_path_factory, standins) -> str:
    """The built site, its engine list pointing at the stand-ins."""
    server = serve(make_standin_site(tmp_path_factory.mktemp("arena-site"), standins))
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


@pytest.fixture
def page_errors(page):
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield errors
    assert errors == [], f"uncaught errors in the page: {errors}"


def open_arena(page, url: str, query: str = "") -> None:
    page.goto(f"{url}arena.html{query}")
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)


def column(page, engine: str):
    return page.locator(f".arena-col[data-engine={engine}]")


def download_engine(page, engine: str) -> None:
    column(page, engine).locator(".col-download").click()


def wait_done(page, engines) -> None:
    for e in engines:
        page.wait_for_selector(f".arena-col[data-engine={e}][data-state=done]", timeout=IMAGE_TIMEOUT)
    page.wait_for_function("() => !document.body.dataset.running", timeout=IMAGE_TIMEOUT)


def saved(page, click) -> tuple[bytes, str]:
    with page.expect_download(timeout=IMAGE_TIMEOUT) as info:
        click()
    d = info.value
    return Path(d.path()).read_bytes(), d.suggested_filename


def shown_pixels(page, engine: str) -> np.ndarray:
    """The RGBA pixels a column shows right now."""
    return img_pixels(page, f".arena-col[data-engine={engine}] .arena-img")


def run_three(page, site: str, log: RequestLog) -> None:
    """A visitor opens the Arena, drops an image, and downloads the engines one by one."""
    open_arena(page, site)
    for e in ENGINES:
        assert "Download" in column(page, e).locator(".col-download").inner_text()
    drop_files(page, [("scene.png", SCENE, "image/png")])
    page.wait_for_function("() => document.querySelector('#status-text').textContent.includes('Download an engine')")
    # Nothing is downloaded until its button is pressed.
    assert log.count("models/") == 0
    download_engine(page, "precision")
    wait_done(page, ["precision"])
    assert log.count("standin-precision") == 1 and log.count("standin-balanced") == 0
    assert column(page, "consensus").get_attribute("data-state") == "waiting"
    download_engine(page, "balanced")
    download_engine(page, "lightweight")
    wait_done(page, [*ENGINES, "consensus"])
    page.wait_for_function("() => document.querySelectorAll('#agreement tbody tr').length === 3")
    page.wait_for_function("() => !document.body.dataset.running", timeout=IMAGE_TIMEOUT)


@pytest.fixture
def arena_page(page, context, standin_site, page_errors):
    log = RequestLog(standin_site)
    context.on("request", lambda r: log.urls.append(r.url))
    run_three(page, standin_site, log)
    yield page
    assert log.outside() == [], "requests left the site's origin"


def cpython_masks(standins) -> dict[str, np.ndarray]:
    return {e: np.asarray(reference(SCENE, e, standins[e]).mask) for e in ENGINES}


def test_three_engines_and_their_consensus_with_figures_that_match_cpython(arena_page, standins):
    page = arena_page
    # Every column shows its cutout, with its figures.
    for e in (*ENGINES, "consensus"):
        assert page.locator(f".arena-col[data-engine={e}] .arena-img").is_visible()
    for e in ENGINES:
        figures = column(page, e).locator(".figures").inner_text()
        for name in ("Engine start", "Inference", "Python stages", "Total", "Memory"):
            assert name in figures

    # The masks the page made are the CPython pipeline's.
    masks = {}
    for e in ENGINES:
        data, name = saved(page, lambda: column(page, e).locator(".col-save-mask").click())
        assert name == f"scene-{e}-mask.png"
        masks[e] = np.asarray(Image.open(io.BytesIO(data)))
    ref = cpython_masks(standins)
    for e in ENGINES:
        assert np.abs(masks[e].astype(int) - ref[e]).max() <= 1, e
    # ...and they differ, so the figures below mean something.
    assert arena.agreement(masks["precision"], masks["balanced"])["iou"] < 0.5

    # Agreement: what the page shows is what py/ computes under CPython.
    expected = arena.pairs(masks)
    rows = page.locator("#agreement tbody tr")
    assert rows.count() == 3
    for i, p in enumerate(expected):
        row = rows.nth(i)
        assert row.get_attribute("data-pair") == f"{p['a']}:{p['b']}"
        assert float(row.locator(".iou").inner_text()) == pytest.approx(p["iou"], abs=0.0006)
        assert float(row.locator(".mad").inner_text().split("/")[0]) == pytest.approx(p["mad"], abs=0.006)

    # Consensus: the rounded mean of the three masks, and its cutout uses it.
    data, _ = saved(page, lambda: column(page, "consensus").locator(".col-save-mask").click())
    consensus = np.asarray(Image.open(io.BytesIO(data)))
    assert consensus.tolist() == arena.consensus(list(masks.values())).tolist()
    cut = shown_pixels(page, "consensus")
    assert cut.shape == (200, 320, 4)
    assert cut[..., 3].tolist() == consensus.tolist()

    # Disagreement heat-maps: each pixel is |engine - mean of the others|, in
    # the heat palette's colours.
    palette = np.asarray(arena.HEAT_PALETTE, np.uint8).reshape(256, 3)
    page.click("label:has(input[name=view][value=heat])")
    assert page.is_visible("#heat-legend")
    for e in ENGINES:
        heat = shown_pixels(page, e)
        assert heat[..., :3].tolist() == palette[arena.disagreement(masks, e)].tolist(), e
    spread = shown_pixels(page, "consensus")
    assert spread[..., :3].tolist() == palette[arena.disagreement(masks, arena.CONSENSUS)].tolist()
    # The mask view shows the masks themselves.
    page.click("label:has(input[name=view][value=mask])")
    assert shown_pixels(page, "balanced")[..., 0].tolist() == masks["balanced"].tolist()


def test_columns_show_refined_or_raw_edges_and_the_figures_hold_both(arena_page, standins):
    page = arena_page
    refs = {e: reference(SCENE, e, standins[e]) for e in ENGINES}
    assert any((np.asarray(r.mask) != np.asarray(r.raw_mask)).any() for r in refs.values())  # something to tell apart
    page.click("label:has(input[name=edges][value=raw])")
    page.wait_for_function("() => [...document.querySelectorAll('.arena-view')].every((v) => v.dataset.edges === 'raw')")
    for e in ENGINES:
        data, _ = saved(page, lambda: column(page, e).locator(".col-save-mask").click())
        raw = np.asarray(Image.open(io.BytesIO(data)))
        assert np.abs(raw.astype(int) - np.asarray(refs[e].raw_mask)).max() <= 1, e
        # The cutout shown carries that mask.
        assert np.abs(shown_pixels(page, e)[..., 3].astype(int) - raw).max() == 0, e
    data, _ = saved(page, lambda: page.click("#export-json"))
    figures = json.loads(data)
    assert figures["edges"] == "raw"
    assert set(figures["agreement_by_edges"]) == {"raw", "refined"}
    assert figures["agreement"] == figures["agreement_by_edges"]["raw"]
    raw_masks = {e: np.asarray(refs[e].raw_mask) for e in ENGINES}
    for got, want in zip(figures["agreement_by_edges"]["raw"], arena.pairs(raw_masks)):
        assert got["iou"] == pytest.approx(want["iou"], abs=0.002)
    for e in figures["engines"]:
        assert e["refine"] >= 0 and e["decontaminate"] >= 0
    page.click("label:has(input[name=edges][value=refined])")
    data, _ = saved(page, lambda: column(page, "balanced").locator(".col-save-mask").click())
    assert np.abs(np.asarray(Image.open(io.BytesIO(data))).astype(int) - np.asarray(refs["balanced"].mask)).max() <= 1


def test_exports_hold_the_figures_shown(arena_page):
    page = arena_page
    data, name = saved(page, lambda: page.click("#export-json"))
    assert name == "scene-arena.json"
    figures = json.loads(data)
    assert figures["image"] == {"name": "scene.png", "width": 320, "height": 200}
    assert [e["engine"] for e in figures["engines"]] == list(ENGINES)
    for e in figures["engines"]:
        shown = column(page, e["engine"]).locator(".figures dd[data-figure=Inference]").inner_text()
        assert shown == f"{e['inference']:.2f} s"
        total = column(page, e["engine"]).locator(".figures dd[data-figure=Total]").inner_text()
        assert total == f"{e['total']:.2f} s"
        assert e["total"] >= e["inference"] > 0
        # The worker's WebAssembly memory: Python's heap and onnxruntime's, at least.
        assert e["memory"] > 64 * 2**20
        memory = column(page, e["engine"]).locator(".figures dd[data-figure=Memory]").inner_text()
        assert memory == f"{math.floor(e['memory'] / 2**20 + 0.5)} MB"  # as toFixed(0): halves up
        assert e["python"] == pytest.approx(sum(v for k, v in e["stages"].items() if k != "inference"))
    for p, row in zip(figures["agreement"], page.locator("#agreement tbody tr").all()):
        assert row.locator(".iou").inner_text() == f"{p['iou']:.3f}"
    assert figures["consensus"] == {"engines": list(ENGINES)}

    data, name = saved(page, lambda: page.click("#export-csv"))
    assert name == "scene-arena.csv"
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert rows == [{k: str(v) for k, v in r.items()} for r in arena.figures_rows(figures)]
    inference = {r["engine"]: float(r["value"]) for r in rows if r["figure"] == "inference"}
    assert inference == {e["engine"]: e["inference"] for e in figures["engines"]}

    data, name = saved(page, lambda: page.click("#export-picture"))
    assert name == "scene-arena.png"
    pic = Image.open(io.BytesIO(data))
    # The original, three engines and the consensus, side by side at full height.
    assert pic.width >= 5 * 320 and pic.height > 200
    arr = np.asarray(pic.convert("RGB")).astype(int)
    # Left column: the original's red patch; Precision's column keeps it too.
    assert tuple(arr[16 + 100, 16 + 60]) == (240, 20, 20)
    assert np.abs(arr[16 + 100, 16 + 336 + 60] - (240, 20, 20)).max() <= 4
    # Balanced (green only) shows the grey checkerboard where the red patch was.
    r, g, b = arr[16 + 100, 16 + 2 * 336 + 60]
    assert r - g < 10 and r > 190


def test_zoom_and_pan_stay_synchronised(arena_page):
    page = arena_page
    imgs = [page.locator(f".arena-col[data-engine={e}] .arena-img") for e in (*ENGINES, "consensus")]

    def placements():
        return [
            page.evaluate(
                """(el) => { const v = el.parentElement.getBoundingClientRect(), r = el.getBoundingClientRect();
                             return [r.left - v.left, r.top - v.top, r.width, r.height]; }""",
                img.element_handle(),
            )
            for img in imgs
        ]

    def same(ps):
        return all(np.allclose(p, ps[0], atol=0.5) for p in ps)

    fit = placements()
    assert same(fit) and fit[0][2] <= page.locator(".arena-view").first.bounding_box()["width"] + 0.5

    # 100%: one image pixel per CSS pixel, in every column.
    page.click("[data-zoom='1']")
    ps = placements()
    assert same(ps) and ps[0][2] == pytest.approx(320, abs=0.5) and ps[0][3] == pytest.approx(200, abs=0.5)
    assert page.inner_text("#zoom-level") == "100%"

    # Scroll to zoom over the second column: all follow.
    box = page.locator(".arena-col[data-engine=balanced] .arena-view").bounding_box()
    page.mouse.move(box["x"] + 40, box["y"] + 40)
    page.mouse.wheel(0, -300)
    page.wait_for_function("() => document.querySelector('#zoom-level').textContent !== '100%'")
    zoomed = placements()
    assert same(zoomed) and zoomed[0][2] > 320

    # Drag the third column: all pan by the same amount.
    box = page.locator(".arena-col[data-engine=lightweight] .arena-view").bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 100)
    page.mouse.down()
    page.mouse.move(box["x"] + 60, box["y"] + 80, steps=4)
    page.mouse.up()
    panned = placements()
    assert same(panned)
    assert panned[0][0] == pytest.approx(zoomed[0][0] - 40, abs=1) and panned[0][1] == pytest.approx(zoomed[0][1] - 20, abs=1)
    # Pixels, not a blur, once zoomed in.
    page.click("[data-zoom='4']")
    assert all(img.evaluate("e => e.style.imageRendering") == "pixelated" for img in imgs)
    page.click("[data-zoom=fit]")
    assert same(placements()) and placements()[0] == pytest.approx(fit[0], abs=0.5)


def test_a_new_image_is_compared_and_a_broken_one_fails_alone(arena_page):
    page = arena_page
    drop_files(page, [("notes.png", b"not an image at all", "image/png")])
    page.wait_for_selector(".arena-col[data-engine=precision][data-state=failed]", timeout=IMAGE_TIMEOUT)
    message = column(page, "precision").locator(".state-text").inner_text()
    assert "notes.png" in message or "not an image" in message.lower() or "cannot be read" in message.lower()
    assert page.inner_text("#status-text") == message
    assert column(page, "balanced").locator(".state-text").inner_text() == "Not run: the image could not be read."
    assert page.is_hidden("#agreement-section")

    # The engines are still there: the next image runs through all three. It
    # is an AVIF, which the browser's Pillow cannot read: the browser decodes it.
    small = Image.open(io.BytesIO(SCENE)).resize((160, 100))
    out = io.BytesIO()
    small.save(out, format="AVIF", quality=90)
    drop_files(page, [("small.avif", out.getvalue(), "image/avif")])
    wait_done(page, [*ENGINES, "consensus"])
    page.wait_for_function("() => document.querySelectorAll('#agreement tbody tr').length === 3")
    assert "small.avif" in page.inner_text("#image-name")
    for e in (*ENGINES, "consensus"):
        data, _ = saved(page, lambda: column(page, e).locator(".col-save-mask").click())
        assert Image.open(io.BytesIO(data)).size == (160, 100)


def test_a_phone_heic_is_compared_upright(arena_page):
    page = arena_page
    # What a phone held sideways saves: the pixels turned, and the turn back in the file.
    sideways = Image.open(io.BytesIO(SCENE)).transpose(Image.Transpose.ROTATE_90)
    drop_files(page, [("IMG_0001.HEIC", heic(sideways, orientation=6), "image/heic")])
    page.wait_for_function("() => document.querySelector('#image-name').textContent.includes('IMG_0001')")
    wait_done(page, [*ENGINES, "consensus"])
    data, _ = saved(page, lambda: column(page, "precision").locator(".col-save-mask").click())
    mask = np.asarray(Image.open(io.BytesIO(data)).convert("L"))
    assert mask.shape == (200, 320)  # upright, the scene's own size
    # Precision's stand-in keeps the red box and drops the blue around it.
    assert mask[60:140, 30:90].mean() > 200 and mask[170:, :].mean() < 30


def test_an_image_larger_than_the_screen_is_shown_from_a_screen_size_copy_until_zoomed_in(arena_page):
    """Each column decodes a copy no larger than the screen (1280 px here)
    until the zoom asks for more pixels; then the image's own pixels, exactly."""
    page = arena_page
    big = Image.open(io.BytesIO(SCENE)).resize((2560, 1600), Image.NEAREST)
    out = io.BytesIO()
    big.save(out, format="PNG")
    drop_files(page, [("big.png", out.getvalue(), "image/png")])
    wait_done(page, [*ENGINES, "consensus"])
    assert page.evaluate("() => Math.max(screen.width, screen.height) * devicePixelRatio") == 1280
    cols = (*ENGINES, "consensus")

    def shown(detail, view="refined:cutout"):
        page.wait_for_function(
            """([d, v]) => [...document.querySelectorAll('.arena-img')].every((i) =>
                 i.dataset.detail === d && i.dataset.view === v && i.complete && i.naturalWidth > 0)""",
            arg=[detail, view], timeout=IMAGE_TIMEOUT)

    shown("screen")
    fit = [placement(page, e) for e in cols]
    assert all(np.allclose(p, fit[0], atol=0.5) for p in fit)
    assert fit[0][2] == pytest.approx(fit[0][3] * 1.6, rel=0.01)  # laid out as the image, scaled to fit
    cutouts = {}
    for e in cols:
        data, _ = saved(page, lambda: column(page, e).locator(".col-save").click())
        cutouts[e] = Image.open(io.BytesIO(data)).convert("RGBA")
        assert cutouts[e].size == (2560, 1600)
        copy = img_pixels(page, f".arena-col[data-engine={e}] .arena-img")
        assert copy.shape[1] == 1280 and abs(copy.shape[0] - 800) <= 1
        # The saved cutout, halved: what the copy shows, up to the scaling filter.
        half = np.asarray(cutouts[e].resize(copy.shape[1::-1], Image.BOX)).astype(int)
        diff = np.abs(copy.astype(int) - half)[..., 3]
        assert diff.mean() < 2 and np.percentile(diff, 99) < 40

    # At 100% every column shows the image itself, pixel for pixel.
    page.click("[data-zoom='1']")
    shown("full")
    for e in cols:
        full = img_pixels(page, f".arena-col[data-engine={e}] .arena-img")
        assert full.shape == (1600, 2560, 4)
        assert np.abs(full[..., 3].astype(int) - np.asarray(cutouts[e])[..., 3]).max() <= 1
    # Back to fit: the copies again, where they were; other views get theirs.
    page.click("[data-zoom=fit]")
    shown("screen")
    assert placement(page, "precision") == pytest.approx(fit[0], abs=0.5)
    page.click("label:has(input[name=view][value=mask])")
    shown("screen", "refined:mask")
    mask = img_pixels(page, ".arena-col[data-engine=precision] .arena-img")
    assert mask.shape[1] == 1280 and abs(mask.shape[0] - 800) <= 1


def test_use_this_engine_opens_the_app_with_it(arena_page):
    page = arena_page
    column(page, "lightweight").locator(".col-use").click()
    page.wait_for_url("**/?engine=lightweight", timeout=READY_TIMEOUT)
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    assert page.is_checked("input[name=engine][value=lightweight]")
    # With the image and that engine's result, in the editor (tests/e2e/test_editor.py).
    assert page.inner_text("#queue .item-name") == "scene.png"
    page.wait_for_selector("#editor[data-ready=true]")


def test_real_engines_on_a_sample_photo(page, site_url, requests_log, page_errors, model_path):
    """A new user: opens a sample in the Arena from the samples page, downloads
    Lightweight and Precision, and compares them; Balanced, hosted elsewhere,
    is not fetched."""
    page.goto(f"{site_url}samples.html")
    page.locator("li", has_text="Chelsea").get_by_text("Compare the engines").click()
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    assert page.url.endswith("arena.html?sample=samples/chelsea.png")
    download_engine(page, "lightweight")
    # While an engine runs, the page says why the others wait.
    page.wait_for_selector("#sequence-note:not([hidden])", timeout=IMAGE_TIMEOUT)
    assert "one after another" in page.inner_text("#sequence-note")
    wait_done(page, ["lightweight"])
    assert page.is_hidden("#sequence-note")
    download_engine(page, "precision")
    wait_done(page, ["precision", "consensus"])
    assert requests_log.count(get_engine("balanced").source) == 0
    assert column(page, "balanced").get_attribute("data-state") == "absent"

    photo = (build.DIST / "samples" / "chelsea.png").read_bytes()
    masks = {}
    for e in ("precision", "lightweight"):
        data, _ = saved(page, lambda: column(page, e).locator(".col-save-mask").click())
        masks[e] = np.asarray(Image.open(io.BytesIO(data)))
        mad = float(np.abs(masks[e] - np.asarray(reference(photo, e, model_path(e)).mask, np.float64)).mean())
        print(f"\nArena, {e} on chelsea: mask vs CPython {mad:.3f} / 255;",
              column(page, e).locator(".figures").inner_text().replace("\n", " "))
        assert mad <= 1.0
    p = arena.pairs(masks)[0]
    print(f"Arena, Precision vs Lightweight on chelsea: IoU {p['iou']:.3f}, mean difference {p['mad']:.2f} / 255")
    row = page.locator("#agreement tbody tr")
    assert row.count() == 1
    assert float(row.locator(".iou").inner_text()) == pytest.approx(p["iou"], abs=0.0006)
    # Two real engines agree on a cat far more than the stand-ins do.
    assert p["iou"] > 0.8


PHONE = dict(viewport={"width": 390, "height": 844}, device_scale_factor=3, has_touch=True, is_mobile=True)


def touch_drag(page, start, end, steps: int = 10, seconds: float = 0.3) -> None:
    """A one-finger drag through the browser's own input pipeline (DevTools'
    Input.dispatchTouchEvent), as a finger on a phone's screen: `steps` moves
    over `seconds`, stamped with those times so the browser sees a finger's
    speed, not a teleport (which it would take for a fling)."""
    cdp = page.context.new_cdp_session(page)
    (x0, y0), (x1, y1) = start, end
    t0 = time.time()

    def send(kind, points, i):
        # Sent at the time it is stamped with: an event stamped ahead of the
        # clock would make the next gesture's events (a tap) look older than
        # this one's, and the browser drops them as out of order.
        stamp = t0 + seconds * i / steps
        time.sleep(max(0.0, stamp - time.time()))
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points, "timestamp": stamp})

    send("touchStart", [{"x": x0, "y": y0}], 0)
    for i in range(1, steps + 1):
        send("touchMove", [{"x": x0 + (x1 - x0) * i / steps, "y": y0 + (y1 - y0) * i / steps}], i)
    send("touchEnd", [], steps)
    cdp.detach()


def placement(page, engine: str) -> list[float]:
    """Where a column's image sits in its view: left, top, width, height."""
    return page.evaluate(
        """(sel) => { const img = document.querySelector(sel), v = img.parentElement.getBoundingClientRect(),
                             r = img.getBoundingClientRect();
                      return [r.left - v.left, r.top - v.top, r.width, r.height]; }""",
        f".arena-col[data-engine={engine}] .arena-img",
    )


def on_screen(page) -> list[str]:
    """The columns a visitor sees: those inside the window's width."""
    return page.evaluate("""() => [...document.querySelectorAll('.arena-col')].filter((c) => {
        const r = c.getBoundingClientRect(); return r.right > 1 && r.left < innerWidth - 1; }).map((c) => c.dataset.engine)""")


def show(page, engine: str, tap: bool = True) -> None:
    """Tap an engine's tab (or not, after a swipe) and wait until its column
    alone fills the screen."""
    if tap:
        page.tap(f"#column-tabs [data-engine={engine}]")
    try:
        page.wait_for_function(
            """(e) => { const c = document.querySelector(`.arena-col[data-engine=${e}]`).getBoundingClientRect(),
                               g = document.querySelector('#columns').getBoundingClientRect();
                        return Math.abs(c.left - g.left) < 1 &&
                               document.querySelector(`#column-tabs [data-engine=${e}]`).ariaSelected === 'true'; }""",
            arg=engine, timeout=10_000,
        )
    except PlaywrightTimeoutError:
        state = page.evaluate("""() => ({ scrollLeft: document.querySelector('#columns').scrollLeft,
            selected: document.querySelector('#column-tabs [aria-selected=true]')?.dataset.engine })""")
        raise AssertionError(f"{engine} not shown: {state}, on screen {on_screen(page)}") from None
    assert on_screen(page) == [engine]


def run_three_by_tabs(page, site: str) -> None:
    """run_three on a phone: one tab after another, each engine downloaded
    from its own column."""
    open_arena(page, site)
    tabs = page.locator("#column-tabs [role=tab]")
    assert tabs.all_inner_texts() == ["Precision", "Balanced", "Lightweight", "Consensus"]
    drop_files(page, [("scene.png", SCENE, "image/png")])
    for e in ENGINES:
        show(page, e)
        column(page, e).locator(".col-download").tap()
    wait_done(page, [*ENGINES, "consensus"])


def test_narrow_screen_one_engine_at_a_time_keeps_zoom_and_position(browser, standin_site):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        run_three_by_tabs(page, standin_site)
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")

        # Zoom to 200% and drag the image with a finger: the same hair in view.
        show(page, "precision")
        page.tap("[data-zoom='2']")
        box = column(page, "precision").locator(".arena-view").bounding_box()
        centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        touch_drag(page, centre, (centre[0] - 60, centre[1] - 30))
        zoomed = placement(page, "precision")
        assert zoomed[2] == pytest.approx(640, abs=0.5)  # 200% of 320 px
        level = page.inner_text("#zoom-level")
        assert level == "200%"

        # Another engine by its tab: the same zoom, the same place.
        show(page, "balanced")
        assert placement(page, "balanced") == pytest.approx(zoomed, abs=0.5)
        # ...by a swipe across the column (not on the image, which pans):
        head = column(page, "balanced").locator(".col-head").bounding_box()
        y = head["y"] + head["height"] / 2
        touch_drag(page, (head["x"] + head["width"] - 20, y), (head["x"] + 20, y))
        show(page, "lightweight", tap=False)
        assert placement(page, "lightweight") == pytest.approx(zoomed, abs=0.5)
        # ...and by the keyboard, from tab to tab.
        page.focus("#column-tabs [data-engine=lightweight]")
        page.keyboard.press("ArrowRight")
        show(page, "consensus", tap=False)
        assert page.evaluate("document.activeElement.dataset.engine") == "consensus"
        assert placement(page, "consensus") == pytest.approx(zoomed, abs=0.5)
        assert page.inner_text("#zoom-level") == level
        assert column(page, "consensus").locator(".arena-img").is_visible()
    finally:
        context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"
