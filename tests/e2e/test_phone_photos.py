"""Photos as phones make them: HEIC (decoded in the browser with libheif),
48 MP and larger, and the low-memory mode for devices with little memory."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from backgrone.imageio import fit_size
from browser import IMAGE_TIMEOUT, READY_TIMEOUT, choose_engine, drop_files, error, export, shown_pixels, state, wait_results
from e2e.test_cutout import reference
from helpers import heic

pytestmark = pytest.mark.browser

LIGHTWEIGHT_URL = "models/isnet-uint8.onnx"


def png(arr: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(arr).save(out, format="PNG")
    return out.getvalue()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = ((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean()
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


@pytest.fixture(scope="module")
def portrait(photos) -> Image.Image:
    return Image.open(photos["grace_hopper"]).convert("RGB")  # 512x600


@pytest.fixture(scope="module")
def phone_heic(portrait) -> bytes:
    """What a phone held sideways saves: the sensor's pixels (landscape), and
    the turn that makes them upright, in the HEIF's own rotation."""
    return heic(portrait.transpose(Image.Transpose.ROTATE_90), orientation=6)


def test_a_heic_photo_is_cut_out_upright_and_matches_cpython(app, context, portrait, phone_heic, model_path):
    # libheif is loaded by the page's workers only once a HEIC file arrives
    # (the service worker keeps a copy from the start, for offline use).
    loaded = []
    context.on("request", lambda r: "libheif" in r.url and r.service_worker is None and loaded.append(r.url))
    choose_engine(app, "lightweight")
    app.wait_for_timeout(500)
    assert loaded == []
    drop_files(app, [("IMG_0042.HEIC", phone_heic, "image/heic")])
    (item,) = wait_results(app, 1)
    assert state(item) == "done", error(item)
    assert "HEIC: decoded in this browser." in item.inner_text()
    assert len(loaded) == 1 and loaded[0].endswith("/libheif/libheif-bundle.mjs")
    # What the browser decoded: upright, the same picture as the phone's.
    decoded = shown_pixels(app, "#view-before")[..., :3]
    assert decoded.shape == (600, 512, 3)
    assert psnr(decoded, np.asarray(portrait)) > 35
    # The mask, against the CPython pipeline on those same pixels.
    mask_png, name = export(app, fmt="mask")
    assert name == "IMG_0042-mask.png"
    mask = np.asarray(Image.open(io.BytesIO(mask_png)), dtype=np.float64)
    ref = np.asarray(reference(png(decoded), "lightweight", model_path("lightweight")).mask, dtype=np.float64)
    mad = float(np.abs(mask - ref).mean())
    print(f"\nHEIC, Lightweight: mask vs CPython on the browser's decoded pixels: {mad:.3f} / 255")
    assert mad <= 1.0
    h, w = mask.shape
    assert mask[h // 3: h // 2, w // 3: 2 * w // 3].mean() > 240  # her face: the subject, the right way up


def test_a_broken_heic_fails_alone_and_heic_decodes_offline(app, context, phone_heic):
    choose_engine(app, "lightweight")
    broken = phone_heic[: len(phone_heic) // 2]
    drop_files(app, [("broken.heic", broken, "image/heic"), ("good.heic", phone_heic, "image/heic")])
    first, second = wait_results(app, 2)
    assert state(first) == "failed" and "This HEIC image is damaged or truncated" in error(first)
    assert state(second) == "done"
    # Offline: the service worker has kept libheif with the rest of the site.
    context.set_offline(True)
    app.reload()
    app.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    drop_files(app, [("again.heic", phone_heic, "image/heic")])
    (item,) = wait_results(app, 1)
    assert state(item) == "done", error(item)
    cut, _ = export(app, item)
    assert Image.open(io.BytesIO(cut)).size == (512, 600)


def big_photo(portrait: Image.Image, size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    portrait.resize(size, Image.Resampling.BILINEAR).save(out, format="JPEG", quality=88)
    return out.getvalue()


def test_a_48_megapixel_photo_is_cut_out_and_a_larger_one_at_a_reduced_size(app, portrait):
    choose_engine(app, "lightweight")
    photos = [("48mp.jpg", big_photo(portrait, (6000, 8000)), "image/jpeg"),
              ("57mp.jpg", big_photo(portrait, (6500, 8800)), "image/jpeg")]
    drop_files(app, photos)
    big, huge = wait_results(app, 2, timeout=2 * IMAGE_TIMEOUT)
    assert state(big) == "done", error(big)
    memory = int(big.get_attribute("data-memory"))
    print(f"\n48 MP, Lightweight: the engine worker's WebAssembly memory {memory / 2**20:.0f} MiB")
    assert memory < 1.6 * 2**30
    # Over the limit: refused with what to do, and an offer to reduce it.
    assert state(huge) == "failed"
    assert "6500x8800 is 57.2 megapixels, the limit is 50 megapixels" in error(huge)
    huge.query_selector(".item-reduce").click()
    app.wait_for_selector(".item:nth-child(2)[data-state=done]", timeout=2 * IMAGE_TIMEOUT)
    cut, _ = export(app, app.query_selector(".item:nth-child(2)"), fmt="mask")
    assert Image.open(io.BytesIO(cut)).size == fit_size((6500, 8800), 50_000_000)
    assert "reduced from 6500x8800" in app.inner_text(".item:nth-child(2)")


DEVICE_MEMORY = "Object.defineProperty(Navigator.prototype, 'deviceMemory', {get: () => %d})"


def test_low_memory_mode_is_chosen_on_a_small_device_and_can_be_switched_off(page, context, site_url, requests_log):
    context.add_init_script(DEVICE_MEMORY % 2)
    page.goto(site_url)
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    assert page.get_attribute("body", "data-memory-mode") == "low"
    assert "Low-memory mode is on (this device reports 2 GB of memory)" in page.inner_text("#memory-mode")
    assert page.is_checked("input[name=engine][value=lightweight]")
    assert "low-memory mode" in page.inner_text("#engine-note")
    page.click("#memory-mode-switch")
    assert page.get_attribute("body", "data-memory-mode") == "standard"
    assert "Standard memory mode (your choice)" in page.inner_text("#memory-mode")
    page.reload()  # the choice is remembered
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    assert page.get_attribute("body", "data-memory-mode") == "standard"


def test_a_device_with_more_memory_gets_the_standard_mode(page, context, site_url, requests_log):
    context.add_init_script(DEVICE_MEMORY % 8)
    page.goto(site_url)
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    assert page.get_attribute("body", "data-memory-mode") == "standard"
    assert "Standard memory mode (this device reports 8 GB of memory)" in page.inner_text("#memory-mode")


def test_in_low_memory_mode_the_views_are_at_screen_size(page, context, site_url, portrait, requests_log):
    context.add_init_script(DEVICE_MEMORY % 2)
    page.goto(site_url)
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    side = page.evaluate("Math.ceil(Math.max(screen.width, screen.height) * devicePixelRatio)")
    photo = big_photo(portrait, (3000, 3516))
    drop_files(page, [("12mp.jpg", photo, "image/jpeg")])
    (item,) = wait_results(page, 1)
    assert state(item) == "done", error(item)
    page.wait_for_function("() => document.querySelector('#view-after').naturalHeight > 0")
    for view in ("#view-before", "#view-after"):
        page.wait_for_function("(s) => document.querySelector(s).naturalHeight > 0", arg=view)
        h = page.evaluate("(s) => document.querySelector(s).naturalHeight", view)
        assert h == min(1600, side), view
    # The photo's view is the photo (the worker decodes it at a reduced size).
    shown = shown_pixels(page, "#view-before")
    want = Image.open(io.BytesIO(photo)).convert("RGB").resize((shown.shape[1], shown.shape[0]), Image.Resampling.BOX)
    assert (shown[..., 3] == 255).all()
    assert np.abs(shown[..., :3].astype(int) - np.asarray(want).astype(int)).mean() < 3
    # The download is still the whole photo.
    cut, _ = export(page, fmt="mask")
    assert Image.open(io.BytesIO(cut)).size == (3000, 3516)
