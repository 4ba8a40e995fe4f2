"""The first screen on a phone and a desktop, the result on a phone, Share.

A phone here is a 390x844 touch context with a device scale factor of 3 (the
size of a current mid-range phone), on the site built with stand-in engines
(tests/standin.py): the default engine downloads and runs in milliseconds, so
a first visitor's whole path, from the first tap to the result, is tested.
"""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from browser import IMAGE_TIMEOUT, READY_TIMEOUT, catch_file_choosers, drop_files, shown_pixels, wait_results
from e2e.test_app import import_model
from e2e.test_arena import SCENE, standin_site, standins  # noqa: F401 (fixtures)
from e2e.test_cutout import reference

pytestmark = pytest.mark.browser

PHONE = dict(viewport={"width": 390, "height": 844}, device_scale_factor=3, has_touch=True, is_mobile=True)
DESKTOP = dict(viewport={"width": 1400, "height": 1000})

# The result view's controls a phone user needs: before/after, background,
# crop, format, download.
RESULT_CONTROLS = ["#compare-slider", "input[name=bg][value=transparent]", "input[name=bg][value=color]",
                   "#bg-color", "input[name=bg][value=blur]", "input[name=bg][value=image]", "#bg-image-pick",
                   "#crop", "#margin", "#format", "#download"]


@pytest.fixture
def open_page(browser):
    """open_page(url, **context options): a page in a fresh context, ready;
    uncaught errors in it fail the test."""
    contexts, errors = [], []

    def open_page(url, init_script=None, **options):
        context = browser.new_context(**options)
        contexts.append(context)
        if init_script:
            context.add_init_script(init_script)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


def in_viewport(page, selector: str) -> bool:
    """The whole element is on screen without scrolling, and visible."""
    return page.evaluate(
        """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
                     return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 &&
                            r.bottom <= innerHeight && r.right <= innerWidth; }""",
        selector,
    ) and page.is_visible(selector)


def shown_cutout(page) -> np.ndarray:
    return shown_pixels(page, "#view-after")


def same_picture(png_bytes: bytes, shown: np.ndarray) -> bool:
    """A PNG holds the pixels shown. The shown ones come through a canvas,
    which keeps colours premultiplied by their alpha: compare them so."""
    a = np.asarray(Image.open(io.BytesIO(png_bytes)).convert("RGBA")).astype(int)
    b = shown.astype(int)
    if a.shape != b.shape or (a[..., 3] != b[..., 3]).any():
        return False
    premultiplied = lambda x: x[..., :3] * x[..., 3:] // 255  # noqa: E731
    return np.abs(premultiplied(a) - premultiplied(b)).max() <= 1


def test_phone_first_tap_picks_a_photo_and_the_result_fits(open_page, standin_site, standins):
    page = open_page(standin_site, **PHONE)
    catch_file_choosers(page)
    # The photo button is on the first screen, and is a picker that lets a
    # phone offer its camera and its gallery: images (HEIC named too, which
    # some browsers leave out of image/*), several, no `capture` (which would
    # allow the camera alone).
    assert in_viewport(page, "#pick-photos")
    assert page.inner_text("#pick-photos") == "Choose photos"
    picker = page.locator("#file-input")
    assert picker.get_attribute("accept") == "image/*,.heic,.heif" and picker.get_attribute("capture") is None
    # ...and so is the engine that will cut the photo out.
    assert in_viewport(page, "#chosen")
    assert page.inner_text("#chosen-name") == "Balanced"

    with page.expect_file_chooser() as chooser:
        page.tap("#pick-photos")
    assert chooser.value.is_multiple()
    chooser.value.set_files(files=[{"name": "scene.png", "mimeType": "image/png", "buffer": SCENE}])
    (item,) = wait_results(page, 1)
    assert item.get_attribute("data-state") == "done"
    page.wait_for_selector("#viewer:not([hidden])")

    # Cut out by the default engine, as the CPython pipeline cuts it (the
    # stand-in Balanced keeps the green patch).
    cut = shown_cutout(page)
    assert cut.shape == (200, 320, 4)
    assert np.abs(cut[..., 3].astype(int) - np.asarray(reference(SCENE, "balanced", standins["balanced"]).mask, int)).max() <= 1
    assert cut[100, 160, 3] == 255 and cut[100, 60, 3] < 10  # green kept, red gone

    # The cutout fills the width, and every control is reachable without
    # sideways scrolling: tapping Download saves the PNG.
    width = page.evaluate("innerWidth")
    assert page.locator("#view-after").bounding_box()["width"] >= 0.9 * width
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for sel in RESULT_CONTROLS:
        box = page.locator(sel).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, sel
    page.locator("#download").scroll_into_view_if_needed()
    with page.expect_download(timeout=IMAGE_TIMEOUT) as info:
        page.tap("#download")
    assert info.value.suggested_filename == "scene-cutout.png"


def test_desktop_drop_zone_and_chosen_engine_in_the_first_viewport(open_page, site_url):
    page = open_page(site_url, **DESKTOP)
    assert in_viewport(page, "#dropzone") and in_viewport(page, "#pick-photos")
    assert in_viewport(page, "#chosen")
    # The chosen engine in brief: name, size, whether it is here; one line
    # says why it was chosen, with its licence behind a link.
    assert page.inner_text("#chosen-name") == "Lightweight"
    assert page.inner_text("#chosen-size") == "~42 MB"
    assert page.inner_text("#chosen-state") == "Downloads once, with your first photo"
    note = page.locator("#engine-note")
    assert "Balanced" in note.inner_text() and note.locator("a").get_attribute("href") == "licenses/#engines"
    # Every engine, their comparison and storage: one tap away, not in the way.
    assert page.is_hidden("#engine-panel")
    page.click("#engines-toggle")
    for sel in (".engine[data-engine=precision]", "#guide-table", "#storage summary"):
        assert page.is_visible(sel), sel
    assert page.get_attribute("#engines-toggle", "aria-expanded") == "true"


LAYOUT_SHIFTS = """() => new Promise((resolve) => {
    new PerformanceObserver((list) => resolve(list.getEntries().map((e) => ({
        value: e.value, sources: e.sources.map((s) => s.node ? (s.node.id || s.node.className || s.node.nodeName) : "")
    })))).observe({ type: "layout-shift", buffered: true });
    setTimeout(() => resolve([]), 1000);
})"""


@pytest.mark.parametrize("width", [360, 1400])
def test_no_layout_jump_when_the_worker_says_what_is_stored(open_page, site_url, standin_model, width):
    """A returning visitor with Balanced on the device: until the worker has
    said so the page shows Lightweight, then Balanced, and nothing moves."""
    size = dict(PHONE, viewport={"width": width, "height": 800}) if width < 700 else DESKTOP
    page = open_page(site_url, **size)
    assert "is now the Balanced engine" in import_model(page, "balanced", standin_model)
    page.evaluate("localStorage.clear()")  # no choice of the visitor's own
    page.reload()
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    assert page.inner_text("#chosen-name") == "Balanced"
    assert page.inner_text("#chosen-state") == "On this device"
    assert page.is_hidden("#engine-note") and page.is_visible("#chosen-summary")
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    shifts = page.evaluate(LAYOUT_SHIFTS)
    assert sum(s["value"] for s in shifts) == 0, shifts


SHARE_SHEET = """
// Test preamble: the device's share sheet, which cannot open here. canShare
// answers as a phone's does (files: %s); share() keeps what it was given.
navigator.canShare = (data) => !data.files || %s;
navigator.share = async (data) => {
    window.shared = await Promise.all(data.files.map(async (f) => ({
        name: f.name, type: f.type, bytes: Array.from(new Uint8Array(await f.arrayBuffer())) })));
};
"""


def cut_out_scene(page) -> None:
    drop_files(page, [("scene.png", SCENE, "image/png")])
    wait_results(page, 1)
    page.wait_for_selector("#viewer:not([hidden])")
    page.wait_for_function("() => document.querySelector('#view-after').complete")


def test_share_appears_only_where_files_can_be_shared(open_page, standin_site):
    # This Chromium (Linux) has no Web Share: no button.
    page = open_page(standin_site, **PHONE)
    assert page.evaluate("typeof navigator.canShare") == "undefined"
    cut_out_scene(page)
    assert page.is_visible("#download") and page.is_hidden("#share")
    # A browser that shares text but not files: no button either.
    page = open_page(standin_site, init_script=SHARE_SHEET % ("no", "false"), **PHONE)
    cut_out_scene(page)
    assert page.is_hidden("#share")


def test_share_hands_over_a_png_of_the_shown_cutout(open_page, standin_site):
    page = open_page(standin_site, init_script=SHARE_SHEET % ("yes", "true"), **PHONE)
    cut_out_scene(page)
    share = page.locator("#share")
    assert share.is_visible()
    # Next to Download, on the same row.
    assert abs(share.bounding_box()["y"] - page.locator("#download").bounding_box()["y"]) < 4
    share.tap()
    page.wait_for_function("() => window.shared")
    (shared,) = page.evaluate("window.shared")
    assert shared["name"] == "scene-cutout.png" and shared["type"] == "image/png"
    sent = bytes(shared["bytes"])
    assert np.asarray(Image.open(io.BytesIO(sent))).shape == (200, 320, 4)
    assert same_picture(sent, shown_cutout(page))

    # With a colour behind the subject, that is what is shown and shared.
    page.evaluate("() => { window.shared = null; }")
    before = page.get_attribute("#view-after", "src")
    page.tap("input[name=bg][value=color]")
    page.wait_for_function("(src) => { const img = document.querySelector('#view-after');"
                           " return img.src !== src && img.complete; }", arg=before)
    share.tap()
    page.wait_for_function("() => window.shared")
    (shared,) = page.evaluate("window.shared")
    sent = bytes(shared["bytes"])
    pixels = np.asarray(Image.open(io.BytesIO(sent)).convert("RGBA"))
    assert pixels[100, 60, 3] == 255 and pixels[100, 60, :3].min() >= 245  # white where the red patch was
    assert same_picture(sent, shown_cutout(page))
