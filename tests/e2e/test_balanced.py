"""The Balanced engine (RMBG-1.4) is fetched at run time from its source and
checked against its pinned size and sha256. Its real weights cannot be had
here, so a stand-in model with the same input and output shapes is served in
place of the real file, on a site pinned to the stand-in (tests/e2e/conftest.py):
the download, the check, the session, the preprocessing and the output
handling all run for real."""
from __future__ import annotations

import numpy as np
import pytest

from backgrone.engines import get_engine
from browser import READY_TIMEOUT, choose_engine, drop_files, error, export, state, wait_results
from e2e.test_cutout import check_against_reference, reference

pytestmark = pytest.mark.browser

BALANCED = get_engine("balanced")
CORS = {"access-control-allow-origin": "*", "content-type": "application/octet-stream"}


def test_balanced_downloads_from_its_source_and_matches_cpython(
    app, context, requests_log, photos, standin_model
):
    model = standin_model.read_bytes()
    requests_log.allowed.append(BALANCED.source)
    context.route(BALANCED.source, lambda route: route.fulfill(status=200, body=model, headers=CORS))
    choose_engine(app, "balanced")
    photo = photos["astronaut"].read_bytes()
    drop_files(app, [("astronaut.png", photo, "image/png"), ("coffee.png", photos["coffee"].read_bytes(), "image/png")])
    items = wait_results(app, 2)
    assert [state(i) for i in items] == ["done", "done"]
    # Downloaded once for both images.
    assert requests_log.count(BALANCED.source) == 1
    png, _ = export(app, items[0])
    alpha = check_against_reference(png, photo, reference(photo, "balanced", standin_model),
                                    "Balanced (stand-in), astronaut")
    # The stand-in makes red opaque and blue transparent: the orange suit stays.
    assert alpha[400:500, 100:200].mean() > alpha[:50, 250:350].mean() + 50


@pytest.mark.parametrize("status", [403, 404])
def test_refused_download_says_what_to_do_and_page_goes_on(app, context, requests_log, photos, status):
    requests_log.allowed.append(BALANCED.source)
    context.route(BALANCED.source, lambda route: route.fulfill(status=status, body=b"no", headers=CORS))
    choose_engine(app, "balanced")
    app.set_input_files("#file-input", str(photos["astronaut"]))
    (item,) = wait_results(app, 1)
    message = error(item)
    assert f"HTTP {status}" in message and "another engine" in message and "import" in message
    # The page still works with another engine.
    choose_engine(app, "lightweight")
    app.set_input_files("#file-input", str(photos["astronaut"]))
    items = wait_results(app, 2)
    assert state(items[1]) == "done"


def test_a_download_that_is_not_the_pinned_file_is_refused(app, context, requests_log, photos, tmp_path):
    from standin import make_standin

    other = make_standin(tmp_path / "other.onnx", weights=(1.0, 2.0, 3.0)).read_bytes()
    requests_log.allowed.append(BALANCED.source)
    served = []
    context.route(BALANCED.source, lambda route: (served.append(1), route.fulfill(status=200, body=other, headers=CORS)))
    choose_engine(app, "balanced")
    app.set_input_files("#file-input", str(photos["astronaut"]))
    (item,) = wait_results(app, 1)
    assert "failed its integrity check twice" in error(item)
    assert len(served) == 2  # fetched again once, then given up


def test_model_of_the_wrong_shape_is_refused(page, context, pinned_site, photos, tmp_path):
    """A build pinned to a model of the wrong shape (as one configured with a
    wrong file would be): the file passes its pin, and the session's shape
    check refuses it."""
    from standin import make_standin

    wrong_file = make_standin(tmp_path / "wrong.onnx", size=(512, 512))
    url = pinned_site(wrong_file)
    wrong = wrong_file.read_bytes()
    context.route(BALANCED.source, lambda route: route.fulfill(status=200, body=wrong, headers=CORS))
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
    choose_engine(page, "balanced")
    page.set_input_files("#file-input", str(photos["astronaut"]))
    (item,) = wait_results(page, 1)
    message = error(item)
    assert "does not fit the Balanced engine" in message and "1x3x1024x1024" in message
