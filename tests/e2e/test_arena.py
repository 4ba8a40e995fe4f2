"""The Engine Arena: one image through the three engines, side by side.

Most tests serve the built site with the three engines' models replaced by
stand-ins that give known, different masks (a build configured with other
models, as `--rmbg` configures one): they run in milliseconds, so the page's
behaviour is tested, and its figures are checked against py/backgrone/arena.py
under CPython. One test runs the real Lightweight and Precision engines.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import math
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import build
from backgrone import arena
from backgrone.engines import get_engine
from browser import IMAGE_TIMEOUT, READY_TIMEOUT, drop_files
from e2e.conftest import RequestLog
from e2e.test_cutout import reference
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


def serve(directory: Path):
    server = build.make_server(directory)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def standins(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("arena-models")
    return {e: make_standin(folder / f"{e}.onnx", weights=WEIGHTS[e]) for e in ENGINES}


@pytest.fixture(scope="module")
def standin_site(tmp_path_factory, standins) -> str:
    """The built site, its engine list pointing at the stand-ins (self-hosted,
    pinned by size and sha256 like the real ones)."""
    site = tmp_path_factory.mktemp("arena-site") / "dist"
    shutil.copytree(build.DIST, site, copy_function=os.link)  # hard links: fast, and read-only here
    engines = json.loads((site / "engines.json").read_text())
    for entry in engines:
        model = standins[entry["id"]]
        shutil.copy(model, site / "models" / f"standin-{entry['id']}.onnx")
        data = model.read_bytes()
        entry.update(source=f"models/standin-{entry['id']}.onnx", size=len(data),
                     sha256=hashlib.sha256(data).hexdigest(), self_hosted=True)
    (site / "engines.json").unlink()  # a link to dist/'s copy: replace it, never write through it
    (site / "engines.json").write_text(json.dumps(engines))
    server = serve(site)
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
    """The RGBA pixels a column shows right now, at the image's own size, read
    back through a canvas (the site's CSP lets no fetch read blob: URLs)."""
    b64, w, h = page.evaluate(
        """async (sel) => {
            const img = document.querySelector(sel);
            await img.decode();
            const c = new OffscreenCanvas(img.naturalWidth, img.naturalHeight);
            const ctx = c.getContext("2d");
            ctx.drawImage(img, 0, 0);
            const bytes = ctx.getImageData(0, 0, c.width, c.height).data;
            let s = ""; for (const b of bytes) s += String.fromCharCode(b);
            return [btoa(s), c.width, c.height];
        }""",
        f".arena-col[data-engine={engine}] .arena-img",
    )
    return np.frombuffer(base64.b64decode(b64), np.uint8).reshape(h, w, 4)


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
    return {e: reference(SCENE, e, standins[e]).astype(np.uint8) for e in ENGINES}


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


def test_use_this_engine_opens_the_app_with_it(arena_page):
    page = arena_page
    column(page, "lightweight").locator(".col-use").click()
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    assert page.url.endswith("/?engine=lightweight")
    assert page.is_checked("input[name=engine][value=lightweight]")


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
        mad = float(np.abs(masks[e] - reference(photo, e, model_path(e))).mean())
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
