"""The touch-up editor, as a user drives it: real mouse, keyboard and touch
input in Chromium, every result read from what the page downloads.

The site's engines are stand-ins (tests/standin.py) that keep red and drop
blue, so every mask is known: the scene's red shapes are the subject, fully
opaque inside, and the stroke geometry can be checked pixel by pixel.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

import build
from browser import IMAGE_TIMEOUT, READY_TIMEOUT, drop_files, wait_results
from e2e.conftest import RequestLog
from e2e.standin_site import make_standin_site, serve
from standin import make_standin

pytestmark = pytest.mark.browser

ENGINES = ("precision", "balanced", "lightweight")
W, H = 400, 300
BODY = (slice(60, 240), slice(40, 260))  # rows, columns of the red subject
BLOB = (slice(40, 80), slice(320, 360))  # a red blob apart from it


def scene(blue=(20, 40, 230)) -> bytes:
    """The subject (a red rectangle) and a small red blob, on blue."""
    arr = np.zeros((H, W, 3), np.uint8)
    arr[:] = blue
    arr[BODY] = (235, 25, 20)
    arr[BLOB] = (235, 25, 20)
    return png(Image.fromarray(arr))


def png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("editor-site")
    model = make_standin(folder / "standin.onnx")
    server = serve(make_standin_site(folder, {e: model for e in ENGINES}))
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


@pytest.fixture
def app(page, context, site):
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    log = RequestLog(site)
    context.on("request", lambda r: log.urls.append(r.url))
    page.goto(site)
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    yield page
    assert errors == [], f"uncaught errors in the page: {errors}"
    assert log.outside() == [], "requests left the site's origin"


# -- what a user does ---------------------------------------------------------


def cut_out(page, files: list[tuple[str, bytes]]) -> list:
    drop_files(page, [(name, data, "image/png") for name, data in files])
    return wait_results(page, len(files))


def open_editor(page) -> None:
    page.click("#edit-open")
    page.wait_for_selector("#editor[data-ready=true]", timeout=IMAGE_TIMEOUT)


def settled(page) -> None:
    """Every edit applied (the editor marks itself busy while it works)."""
    page.wait_for_selector("#editor:not([data-busy])", timeout=IMAGE_TIMEOUT)


def view_geometry(page) -> tuple[float, float, float]:
    """(left, top, scale): where image pixel (0, 0) is on the screen, and screen
    pixels per image pixel, read from the cutout's canvas as laid out."""
    canvas = page.locator("#edit-view .edit-canvas")
    box = canvas.bounding_box()
    return box["x"], box["y"], box["width"] / canvas.evaluate("c => c.width")


def to_screen(page, x: float, y: float) -> tuple[int, int]:
    left, top, scale = view_geometry(page)
    return round(left + x * scale), round(top + y * scale)


def to_image(page, sx: float, sy: float) -> tuple[float, float]:
    left, top, scale = view_geometry(page)
    return (sx - left) / scale, (sy - top) / scale


def choose_tool(page, tool: str) -> None:
    page.click(f"label:has(input[name=edit-tool][value={tool}])")
    assert page.is_checked(f"input[name=edit-tool][value={tool}]")


def brush_size(page, size: int) -> None:
    """Set the brush's size with the keyboard on its slider."""
    page.focus("#edit-size")
    now = int(page.input_value("#edit-size"))
    for _ in range(abs(size - now)):
        page.keyboard.press("ArrowRight" if size > now else "ArrowLeft")
    assert page.input_value("#edit-size") == str(size)


def in_sight(page) -> None:
    """Scroll the editor's view into sight, as a user would after an export."""
    page.locator("#edit-view").scroll_into_view_if_needed()
    box = page.locator("#edit-view").bounding_box()
    assert box["y"] >= -1 and box["y"] + box["height"] <= page.viewport_size["height"] + 1


def drag(page, a: tuple[float, float], b: tuple[float, float], steps: int = 12):
    """A mouse stroke from image point a to b; returns its end points in image
    pixels as the page sees them (the screen points, whole pixels)."""
    in_sight(page)
    sa, sb = to_screen(page, *a), to_screen(page, *b)
    page.mouse.move(*sa)
    page.mouse.down()
    page.mouse.move(*sb, steps=steps)
    page.mouse.up()
    settled(page)
    return to_image(page, *sa), to_image(page, *sb)


def click_at(page, x: float, y: float) -> None:
    in_sight(page)
    page.mouse.click(*to_screen(page, x, y))
    settled(page)


def download(page, fmt: str) -> bytes:
    page.select_option("#format", fmt)
    with page.expect_download(timeout=IMAGE_TIMEOUT) as info:
        page.click("#download")
    return Path(info.value.path()).read_bytes()


def export_rgba(page) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(download(page, "png"))).convert("RGBA"))


def export_mask(page) -> np.ndarray:
    m = Image.open(io.BytesIO(download(page, "mask")))
    assert m.mode == "L"
    return np.asarray(m)


def shown_alpha(page) -> np.ndarray:
    """The alpha of the cutout the editor shows, read back from its canvas."""
    data, w, h = page.evaluate("""() => {
        const c = document.querySelector("#edit-view .edit-canvas");
        const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        const alpha = []; for (let i = 3; i < px.length; i += 4) alpha.push(px[i]);
        return [alpha, c.width, c.height];
    }""")
    return np.asarray(data, np.uint8).reshape(h, w)


def segment_distance(a, b, shape=(H, W)) -> np.ndarray:
    """Each pixel centre's distance to the segment a-b (image pixels)."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]] + 0.5
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = np.clip(((xx - ax) * dx + (yy - ay) * dy) / max(dx * dx + dy * dy, 1e-12), 0, 1)
    return np.hypot(xx - ax - t * dx, yy - ay - t * dy)


def unchanged(after: np.ndarray, before: np.ndarray, where: np.ndarray) -> bool:
    """The same cutout at `where`: the same alpha, and the same colours where
    it is opaque. (Under soft edges the colours are the colour
    decontamination's estimate from the edited mask, so a stroke nearby may
    change them: that is docs/quality.md's business, not the editor's.)"""
    opaque = where & (before[..., 3] == 255)
    return bool((after[..., 3][where] == before[..., 3][where]).all() and (after[opaque] == before[opaque]).all())


# -- the tests -------------------------------------------------------------------


def test_an_erase_stroke_clears_exactly_its_path_and_restore_brings_it_back(app):
    cut_out(app, [("scene.png", scene())])
    before = export_rgba(app)
    assert (before[64:236, 44:256, 3] == 255).all()  # a known opaque region (its rim is soft)
    open_editor(app)
    brush_size(app, 30)
    scale = view_geometry(app)[2]
    radius = 30 / 2 / scale

    a, b = drag(app, (80, 110), (220, 190))
    after = export_rgba(app)
    d = segment_distance(a, b)
    inside, outside = d <= radius - 1 - 1e-6, d >= radius + 1e-6
    assert inside.sum() > 2000
    assert (after[..., 3][inside] == 0).all()  # the path is transparent...
    assert unchanged(after, before, outside)  # ...and nothing else changed
    # (in between, a rim one pixel wide is anti-aliased)

    # Restore, a size larger, along the same path: the photo's pixels come back exactly.
    app.keyboard.press("r")
    assert app.is_checked("input[name=edit-tool][value=restore]")
    app.keyboard.press("]")
    assert int(app.input_value("#edit-size")) > 30
    drag(app, (80, 110), (220, 190))
    assert (export_rgba(app) == before).all()


def test_undo_and_redo_step_through_the_strokes_and_reset_returns_the_engines_mask(app):
    cut_out(app, [("scene.png", scene())])
    engine = export_mask(app)
    open_editor(app)
    assert app.is_disabled("#edit-undo") and app.is_disabled("#edit-redo")
    drag(app, (70, 100), (230, 100))
    one = export_mask(app)
    drag(app, (150, 70), (150, 230))
    two = export_mask(app)
    assert (one != engine).sum() > 1000 and (two != one).sum() > 1000

    # Each step by a button or its key; each time the download is that state.
    for how, expected in [("#edit-undo", one), ("Control+z", engine), ("#edit-redo", one),
                          ("Control+Shift+z", two), ("#edit-reset", engine), ("Control+z", two)]:
        if how.startswith("#"):
            app.click(how)
        else:
            app.keyboard.press(how)
        settled(app)
        assert (export_mask(app) == expected).all(), how
        if expected is engine and how != "#edit-reset":
            assert app.is_disabled("#edit-undo")
        if how == "Control+Shift+z":
            assert app.is_disabled("#edit-redo")
    # (Reset gave the engine's mask bit for bit, and could be undone: no edit is lost.)

    # A new stroke after an undo drops what could have been redone.
    app.click("#edit-undo")
    settled(app)
    app.click("#edit-undo")
    settled(app)
    drag(app, (70, 200), (230, 200))
    assert app.is_disabled("#edit-redo")
    three = export_mask(app)
    assert (three[100] == engine[100]).all() and (three[200] != engine[200]).any()


def test_a_click_on_a_separate_blob_removes_it_and_nothing_else(app):
    cut_out(app, [("scene.png", scene())])
    engine = export_mask(app)
    open_editor(app)
    blob = ndimage.label(engine >= 128)[0]
    parts = blob[100, 150], blob[60, 340]
    assert parts[0] != parts[1] and parts[1] > 0  # two separate parts

    # A click beside the subject removes nothing, and says why.
    choose_tool(app, "remove")
    click_at(app, 300, 250)
    assert "Click on a part" in app.inner_text("#edit-status")
    assert app.is_disabled("#edit-undo")

    click_at(app, 340, 60)
    after = export_mask(app)
    # The blob, and its soft rim (the soft pixels up to MIN_RIM = 4 steps out,
    # web/client/editor/regions.js), is gone...
    near = ndimage.binary_dilation(blob == parts[1], iterations=4)
    assert (after[near] == 0).all()
    # ...and every other pixel is the engine's.
    assert (after[~near] == engine[~near]).all()
    assert engine[near].astype(int).sum() > 255 * 1500

    # "Keep only part" on the body does the same in one click from the start.
    app.click("#edit-undo")
    settled(app)
    assert (export_mask(app) == engine).all()
    choose_tool(app, "keep")
    click_at(app, 150, 150)
    assert (export_mask(app) == after).all()


def test_edits_survive_switching_images_and_go_into_the_zip_and_a_jpeg(app):
    cut_out(app, [("one.png", scene()), ("two.png", scene(blue=(30, 30, 200)))])
    items = app.query_selector_all("#queue .item")
    items[0].query_selector(".item-open").click()
    engine = export_rgba(app)
    open_editor(app)
    a, b = drag(app, (70, 150), (230, 150))
    radius = int(app.input_value("#edit-size")) / 2 / view_geometry(app)[2]
    erased = segment_distance(a, b) <= radius - 1 - 1e-6
    assert erased.sum() > 1000

    # To the second image and back: the edits are still there, and undoable.
    items[1].query_selector(".item-open").click()
    app.wait_for_selector("#editor", state="hidden")
    assert (export_rgba(app)[..., 3][erased] == 255).all()  # the other image is untouched
    items[0].query_selector(".item-open").click()
    shown = export_rgba(app)
    assert (shown[..., 3][erased] == 0).all()
    assert unchanged(shown, engine, ~erased & (segment_distance(a, b) >= radius))
    open_editor(app)
    assert app.is_enabled("#edit-undo")

    # Download all: the ZIP holds the edited cutout and the untouched one.
    app.keyboard.press("Escape")
    app.wait_for_selector("#editor", state="hidden")
    app.select_option("#format", "png")
    with app.expect_download(timeout=IMAGE_TIMEOUT) as info:
        app.click("#download-all")
    with zipfile.ZipFile(info.value.path()) as z:
        one = np.asarray(Image.open(io.BytesIO(z.read("one-cutout.png"))).convert("RGBA"))
        two = np.asarray(Image.open(io.BytesIO(z.read("two-cutout.png"))).convert("RGBA"))
    assert (one == shown).all()
    assert (two[..., 3][erased] == 255).all()

    # A JPEG on a colour: the colour shows through the erased path.
    app.check("input[name=bg][value=color]")
    app.fill("#bg-color", "#00ff00")
    jpeg = np.asarray(Image.open(io.BytesIO(download(app, "jpeg"))).convert("RGB"), int)
    core = ndimage.binary_erosion(erased, iterations=3)
    assert np.abs(jpeg[core] - (0, 255, 0)).max(axis=1).mean() < 6
    body = np.zeros((H, W), bool)
    body[70:230, 50:250] = True
    body &= ~ndimage.binary_dilation(erased, iterations=6)
    assert np.abs(jpeg[body] - (235, 25, 20)).max(axis=1).mean() < 6


def test_follow_edges_keeps_the_stroke_off_the_subject(app):
    cut_out(app, [("scene.png", scene())])
    engine = export_mask(app)
    open_editor(app)
    app.check("#edit-edges")
    brush_size(app, 60)
    radius = 60 / 2 / view_geometry(app)[2]
    # An erase stroke along the subject's left edge (x = 40), mostly on the
    # blue background, partly on the red subject.
    a, b = drag(app, (34, 120), (34, 180))
    d = segment_distance(a, b)
    core = d <= radius - 1
    assert (core & (np.arange(W) >= 44)).sum() > 300 and (core & (np.arange(W) < 36)).sum() > 300
    edged = export_mask(app)
    red = np.zeros((H, W), bool)
    red[BODY] = True
    deep = ndimage.binary_erosion(red, iterations=4)
    assert (edged[core & deep] >= 225).all()  # the subject stays
    assert (edged[core & ~ndimage.binary_dilation(red, iterations=4)] == 0).all()  # the background is clear
    assert (edged[d >= radius] == engine[d >= radius]).all()

    # The same stroke without it erases the subject too.
    app.click("#edit-undo")
    settled(app)
    app.uncheck("#edit-edges")
    drag(app, (34, 120), (34, 180))
    assert (export_mask(app)[core & deep] == 0).all()


@pytest.fixture
def phone(browser, site):
    """A phone-sized touch screen (390x844 CSS pixels, 3 device pixels each,
    a mobile viewport)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=3, has_touch=True,
                                  is_mobile=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site)
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    yield page
    context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


def test_on_a_phone_a_tapped_result_is_brought_into_view(phone):
    page = phone
    cut_out(page, [(f"scene-{i}.png", scene()) for i in range(3)])
    page.evaluate("window.scrollTo(0, 0)")
    first = page.locator("#queue .item .item-open").first
    first.scroll_into_view_if_needed()  # the queue's first line, as the page scrolls to it
    assert page.locator("#viewer").bounding_box()["y"] > page.viewport_size["height"]  # out of sight below
    first.tap()
    page.wait_for_function("""() => { const r = document.querySelector('#viewer').getBoundingClientRect();
        return r.top >= -1 && r.top < innerHeight / 2; }""", timeout=5000)
    assert page.get_attribute("#queue .item:first-child", "class").split().count("selected") == 1


def test_on_a_phone_a_result_opened_with_the_keyboard_takes_the_focus_with_it(phone):
    page = phone
    cut_out(page, [(f"scene-{i}.png", scene()) for i in range(3)])
    page.evaluate("window.scrollTo(0, 0)")
    first = page.locator("#queue .item .item-open").first
    first.focus()
    assert page.locator("#viewer").bounding_box()["y"] > page.viewport_size["height"]  # out of sight below
    page.keyboard.press("Enter")
    page.wait_for_function("""() => { const r = document.querySelector('#viewer').getBoundingClientRect();
        return r.top >= -1 && r.top < innerHeight / 2; }""", timeout=5000)
    assert page.evaluate("document.activeElement.id") == "viewer"
    page.keyboard.press("Tab")  # on from the result: its before/after slider, in sight
    assert page.evaluate("document.activeElement.id") == "compare-slider"
    box = page.locator("#compare-slider").bounding_box()
    assert 0 <= box["y"] < page.viewport_size["height"]


def touches(cdp, kind: str, points: list[tuple[float, float]]) -> None:
    """One multi-touch event through the DevTools protocol: every finger down."""
    cdp.send("Input.dispatchTouchEvent", {
        "type": kind, "touchPoints": [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)]})


def test_touch_one_finger_erases_two_fingers_pan_and_zoom_without_painting(phone):
    page = phone
    cut_out(page, [("scene.png", scene())])
    page.tap("#edit-open")
    page.wait_for_selector("#editor[data-ready=true]", timeout=IMAGE_TIMEOUT)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
    engine = export_mask(page)
    in_sight(page)
    cdp = page.context.new_cdp_session(page)

    # One finger: a stroke.
    (ax, ay), (bx, by) = to_screen(page, 70, 150), to_screen(page, 230, 150)
    touches(cdp, "touchStart", [(ax, ay)])
    for i in range(1, 11):
        touches(cdp, "touchMove", [(ax + (bx - ax) * i / 10, ay + (by - ay) * i / 10)])
    touches(cdp, "touchEnd", [])
    settled(page)
    radius = int(page.input_value("#edit-size")) / 2 / view_geometry(page)[2]
    a, b = to_image(page, ax, ay), to_image(page, bx, by)
    painted = export_mask(page)
    d = segment_distance(a, b)
    assert (d <= radius - 1 - 1e-6).sum() > 1000
    assert (painted[d <= radius - 1 - 1e-6] == 0).all()
    assert (painted[d >= radius + 1e-6] == engine[d >= radius + 1e-6]).all()

    # Two fingers on the subject: spread apart and moved, they zoom and pan.
    in_sight(page)
    left, top, scale = view_geometry(page)
    (px, py), (qx, qy) = to_screen(page, 120, 90), to_screen(page, 180, 210)
    touches(cdp, "touchStart", [(px, py)])
    touches(cdp, "touchStart", [(px, py), (qx, qy)])
    for i in range(1, 11):
        spread, shift = 20 * i / 10, 30 * i / 10
        touches(cdp, "touchMove", [(px - spread + shift, py - spread), (qx + spread + shift, qy + spread)])
    touches(cdp, "touchEnd", [])
    settled(page)
    left2, top2, scale2 = view_geometry(page)
    assert scale2 > scale * 1.15  # zoomed in
    mid = ((px + qx) / 2, (py + qy) / 2)
    # The image point under the fingers' midpoint moved with it (30 px right).
    before = ((mid[0] - left) / scale, (mid[1] - top) / scale)
    after = ((mid[0] + 30 - left2) / scale2, (mid[1] - top2) / scale2)
    assert np.allclose(before, after, atol=1.0)
    # ...and painted nothing, in the mask or on the screen.
    assert page.is_disabled("#edit-redo")
    assert (export_mask(page) == painted).all()
    assert (shown_alpha(page) == painted).all()
    page.tap("#edit-undo")
    settled(page)
    assert (export_mask(page) == engine).all()  # one stroke, undone


def test_the_arenas_use_brings_its_result_into_the_app_ready_to_edit(page, context, site):
    log = RequestLog(site)
    context.on("request", lambda r: log.urls.append(r.url))
    # Every state an image in the app's queue takes, as the page shows it.
    context.add_init_script("""
        window.seenStates = [];
        new MutationObserver((records) => {
            for (const r of records) {
                for (const n of [r.target, ...r.addedNodes]) {
                    if (n.classList?.contains("item")) window.seenStates.push(n.dataset.state);
                }
            }
        }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-state"] });
    """)
    page.goto(f"{site}arena.html")
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    drop_files(page, [("scene.png", scene(), "image/png")])
    page.locator(".arena-col[data-engine=precision] .col-download").click()
    page.wait_for_selector(".arena-col[data-engine=precision][data-state=done]", timeout=IMAGE_TIMEOUT)
    with page.expect_download() as info:
        page.locator(".arena-col[data-engine=precision] .col-save-mask").click()
    arena_mask = np.asarray(Image.open(info.value.path()))
    models = log.count("standin-precision")

    page.locator(".arena-col[data-engine=precision] .col-use").click()
    page.wait_for_selector("#editor[data-ready=true]", timeout=IMAGE_TIMEOUT)
    assert page.url.endswith("/?engine=precision")  # read once, then gone from the address
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    assert page.is_checked("input[name=engine][value=precision]")
    assert page.inner_text("#queue .item-name") == "scene.png"
    # Added as done, never cut out again.
    assert set(page.evaluate("window.seenStates")) == {"done"}
    assert log.count("standin-precision") == models
    assert (export_mask(page) == arena_mask).all()
    # Ready to edit: a stroke goes into the download.
    a, b = drag(page, (70, 150), (230, 150))
    assert (export_mask(page)[150, 100:200] == 0).all()
    assert log.outside() == []


def test_a_new_user_fixes_a_real_engines_cutout_of_a_sample(page, site_url, requests_log):
    """As a new user would: a sample cut out by the real Lightweight engine,
    which keeps a scrap of background by the cat's ear in a half-transparent
    haze. A click removes the scrap, a stroke clears the haze beside it, a
    stroke too many is undone, and the PNG that downloads is the fixed cutout."""
    page.goto(f"{site_url}samples.html")
    page.locator("li", has_text="Chelsea").get_by_text("Open in the app").click()
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    (item,) = wait_results(page, 1)
    assert item.get_attribute("data-state") == "done"
    engine = export_mask(page)
    shape = engine.shape
    photo = np.asarray(Image.open(build.DIST / "samples" / "chelsea.png").convert("RGB"))
    labels, _ = ndimage.label(engine >= 128)
    sizes = np.bincount(labels.ravel())
    scrap = labels == labels[4, 384]  # by the right ear, apart from the cat
    assert 20 < scrap.sum() < 1000 and sizes[labels[150, 185]] > 100_000

    open_editor(page)
    choose_tool(page, "remove")
    click_at(page, 384.5, 4.5)
    choose_tool(page, "erase")
    a, b = drag(page, (405, 10), (440, 200))
    radius = int(page.input_value("#edit-size")) / 2 / view_geometry(page)[2]
    choose_tool(page, "restore")
    drag(page, (100, 40), (300, 40))  # one too many
    page.keyboard.press("Control+z")
    settled(page)

    cut = export_rgba(page)
    alpha = cut[..., 3]
    d = segment_distance(a, b, shape)
    # The scrap is gone, with its soft rim: the half-transparent pixels next to
    # it, up to rimDepth() = MIN_RIM steps out (web/client/editor/regions.js).
    near_scrap = scrap.copy()
    for _ in range(4):
        near_scrap |= ndimage.binary_dilation(near_scrap) & (engine > 0) & (engine < 128)
    assert (alpha[near_scrap] == 0).all()
    assert (alpha[d <= radius - 1] == 0).all()  # the haze under the stroke is gone
    untouched = ~near_scrap & (d >= radius)
    assert (alpha[untouched] == engine[untouched]).all()  # the rest is the engine's
    visible = alpha > 0
    opaque = alpha == 255
    assert (cut[..., :3][opaque] == photo[opaque]).all()  # with the photo's own colours where opaque
    assert visible.sum() > opaque.sum()
    print(f"\nChelsea, Lightweight: the scrap ({scrap.sum()} px) removed with one click; "
          f"{int((engine[d <= radius - 1] > 0).sum())} hazy pixels cleared by one stroke")


def view_colour(page, x: float, y: float) -> tuple[int, int, int]:
    """The colour on the screen at image point (x, y) of the editor's view."""
    sx, sy = to_screen(page, x, y)
    box = page.locator("#edit-view").bounding_box()
    shot = np.asarray(Image.open(io.BytesIO(page.locator("#edit-view").screenshot())).convert("RGB"))
    return tuple(int(v) for v in shot[round(sy - box["y"]), round(sx - box["x"])])


def test_zoom_pan_and_before_after_never_paint(app):
    cut_out(app, [("scene.png", scene())])
    engine = export_mask(app)
    open_editor(app)
    in_sight(app)
    # Before/after: B (or the Original button) shows the photo, blue where the cutout is clear.
    assert view_colour(app, 300, 250)[2] < 200 or view_colour(app, 300, 250)[0] > 150  # the checkerboard
    app.keyboard.press("b")
    assert app.get_attribute("#edit-original", "aria-pressed") == "true"
    r, g, b = view_colour(app, 300, 250)
    assert b > 200 and r < 60  # the original's blue
    app.click("#edit-original")
    assert app.get_attribute("#edit-original", "aria-pressed") == "false"

    # 100%: one image pixel per screen pixel; Fit: the whole image in the view.
    app.click("[data-edit-zoom='1']")
    assert view_geometry(app)[2] == pytest.approx(1.0)
    assert app.inner_text("#edit-zoom-level") == "100%"
    app.click("[data-edit-zoom=fit]")
    fit = view_geometry(app)
    view = app.locator("#edit-view").bounding_box()
    assert fit[2] == pytest.approx(min(view["width"] / W, view["height"] / H), rel=0.01)
    assert app.inner_text("#edit-zoom-level").startswith("Fit")

    # The wheel zooms about the pointer.
    in_sight(app)
    sx, sy = to_screen(app, 150, 150)
    app.mouse.move(sx, sy)
    app.mouse.wheel(0, -300)
    app.wait_for_function("() => !document.querySelector('#edit-zoom-level').textContent.startsWith('Fit')")
    zoomed = view_geometry(app)
    assert zoomed[2] > fit[2]
    assert np.allclose(to_image(app, sx, sy), (150, 150), atol=1)

    # Drag with Space held, and with the middle button: a pan, no paint.
    app.keyboard.down(" ")
    app.mouse.move(sx, sy)
    app.mouse.down()
    app.mouse.move(sx - 40, sy - 20, steps=5)
    app.mouse.up()
    app.keyboard.up(" ")
    panned = view_geometry(app)
    assert panned[0] == pytest.approx(zoomed[0] - 40, abs=1) and panned[1] == pytest.approx(zoomed[1] - 20, abs=1)
    app.mouse.move(sx, sy)
    app.mouse.down(button="middle")
    app.mouse.move(sx + 30, sy, steps=5)
    app.mouse.up(button="middle")
    assert view_geometry(app)[0] == pytest.approx(panned[0] + 30, abs=1)
    # Arrow keys pan too, from the view.
    app.focus("#edit-view")
    app.keyboard.press("ArrowLeft")
    assert view_geometry(app)[0] == pytest.approx(panned[0] + 70, abs=1)
    settled(app)
    assert app.is_disabled("#edit-undo")
    assert (export_mask(app) == engine).all()
    assert (shown_alpha(app) == engine).all()

    # E and R switch the brush; [ and ] size it; Escape leaves.
    app.keyboard.press("r")
    assert app.is_checked("input[name=edit-tool][value=restore]")
    app.keyboard.press("e")
    assert app.is_checked("input[name=edit-tool][value=erase]")
    size = int(app.input_value("#edit-size"))
    app.keyboard.press("[")
    assert int(app.input_value("#edit-size")) < size
    app.keyboard.press("Escape")
    app.wait_for_selector("#editor", state="hidden")
    assert app.is_visible("#compare")


def test_a_pen_paints_as_wide_as_its_pressure(app):
    cut_out(app, [("scene.png", scene())])
    engine = export_mask(app)
    open_editor(app)
    brush_size(app, 50)
    in_sight(app)
    radius = 50 / 2 / view_geometry(app)[2]
    cdp = app.context.new_cdp_session(app)
    (ax, ay), (bx, by) = to_screen(app, 70, 150), to_screen(app, 230, 150)

    def pen(kind, x, y, force, buttons=1):
        cdp.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "buttons": buttons,
                                              "clickCount": 1, "pointerType": "pen", "force": force})

    pen("mouseMoved", ax, ay, 0, buttons=0)
    pen("mousePressed", ax, ay, 0.4)
    for i in range(1, 11):
        pen("mouseMoved", ax + (bx - ax) * i / 10, ay, 0.4)
    pen("mouseReleased", bx, by, 0, buttons=0)
    settled(app)
    d = segment_distance(to_image(app, ax, ay), to_image(app, bx, by))
    pressed = 0.4 * radius
    after = export_mask(app)
    assert (d <= pressed - 1 - 1e-6).sum() > 500
    assert (after[d <= pressed - 1 - 1e-6] == 0).all()
    assert (after[d >= pressed + 1e-6] == engine[d >= pressed + 1e-6]).all()  # narrower than the brush


def test_edits_replay_on_a_new_base_mask(app):
    """When the result view replaces an image's mask (a refined one, say), the
    edits replay on the new mask: none is lost, and Reset gives the new one.
    The editor's own module, run in the page on two masks it makes."""
    masks = app.evaluate("""async () => {
        const { Edits } = await import("./client/editor/edits.js");
        const png = async (draw) => {
            const c = new OffscreenCanvas(64, 48);
            const ctx = c.getContext("2d");
            ctx.fillStyle = "#000"; ctx.fillRect(0, 0, 64, 48);
            ctx.fillStyle = "#fff"; draw(ctx);
            return (await c.convertToBlob({ type: "image/png" })).arrayBuffer();
        };
        const item = { result: { width: 64, height: 48, mask: await png((ctx) => ctx.fillRect(0, 0, 32, 48)) } };
        const edits = new Edits(item);
        const out = [];
        const take = async () => out.push(Array.from(await edits.exportMask()));
        await edits.run((e) => e.push({ kind: "stroke", mode: "erase", softness: 0, box: [5, 19, 59, 29],
                                         points: Float64Array.of(10, 24, 5, 54, 24, 5) }));
        await take();
        item.result.mask = await png((ctx) => ctx.fillRect(0, 0, 64, 48));  // a new base: all subject
        await take();
        await edits.run((e) => e.push({ kind: "reset" }));
        await take();
        await edits.run((e) => e.undo());
        await take();
        return out;
    }""")
    first, rebased, reset, undone = (np.asarray(m, np.uint8).reshape(48, 64) for m in masks)
    d = segment_distance((10, 24), (54, 24), (48, 64))
    path, clear = d <= 4 - 1e-6, d >= 5 + 1e-6
    old = np.zeros((48, 64), np.uint8)
    old[:, :32] = 255
    new = np.full((48, 64), 255, np.uint8)
    assert (first[path] == 0).all() and (first[clear] == old[clear]).all()
    assert (rebased[path] == 0).all() and (rebased[clear] == new[clear]).all()  # the stroke, on the new base
    assert (reset == new).all()
    assert (undone == rebased).all()


def test_edits_follow_the_refine_switch_onto_the_engines_own_mask(app):
    """"Refine edges" switched off and on after a stroke: the stroke stays,
    and everything else is the unrefined, then the refined mask again."""
    cut_out(app, [("scene.png", scene())])
    refined = export_mask(app)
    app.uncheck("#refine")
    raw = export_mask(app)
    assert (raw != refined).sum() > 1000  # the rim: the two masks differ
    app.check("#refine")
    open_editor(app)
    brush_size(app, 30)
    radius = 30 / 2 / view_geometry(app)[2]
    a, b = drag(app, (80, 110), (220, 190))
    app.click("#edit-done")
    d = segment_distance(a, b)
    inside, outside = d <= radius - 1 - 1e-6, d >= radius + 1e-6
    for switch, base in (("uncheck", raw), ("check", refined)):
        getattr(app, switch)("#refine")
        edited = export_mask(app)
        assert (edited[inside] == 0).all(), switch
        assert (edited[outside] == base[outside]).all(), switch
