"""Bad files dropped among good ones: each fails alone with a clear message,
the queue goes on, and the page keeps working."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from browser import choose_engine, drop_files, error, state, wait_results

pytestmark = pytest.mark.browser


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


def test_bad_files_fail_alone_and_the_queue_goes_on(app, photos):
    choose_engine(app, "lightweight")
    good = photos["astronaut"].read_bytes()
    drop_files(app, [
        ("notes.txt", b"just some text, not a picture\n", "text/plain"),
        ("empty.png", b"", "image/png"),
        ("truncated.jpg", jpeg_bytes()[:200], "image/jpeg"),
        ("astronaut.png", good, "image/png"),
        ("fake.jpg", b"%PDF-1.7\n1 0 obj\n", "image/jpeg"),
    ])
    wait_results(app, 5)
    outcome = {
        i.query_selector(".item-name").inner_text(): (state(i), error(i))
        for i in app.query_selector_all("#queue .item")
    }
    assert outcome["astronaut.png"] == ("done", "")
    assert outcome["notes.txt"] == ("failed", "This file is not an image Backgrone can read.")
    assert outcome["fake.jpg"] == ("failed", "This file is not an image Backgrone can read.")
    assert outcome["empty.png"] == ("failed", "The file is empty.")
    st, message = outcome["truncated.jpg"]
    assert st == "failed" and "damaged" in message
    # No traceback reaches the user.
    assert "Traceback" not in app.inner_text("body")
    # And the page still cuts out the next image.
    app.set_input_files("#file-input", str(photos["coffee"]))
    items = wait_results(app, 6)
    assert state(items[-1]) == "done"
