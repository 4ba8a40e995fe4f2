"""What a user does in the page, as Playwright calls."""
from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np

READY_TIMEOUT = 120_000  # ms: Pyodide, numpy, Pillow and ort starting on a busy machine
IMAGE_TIMEOUT = 240_000  # ms: a model download, session start and one inference


def drop_files(page, files: list[tuple[str, bytes, str]], target: str = "#dropzone") -> None:
    """A real drop: a DataTransfer holding File objects, dispatched as a drop
    event on the page (what the browser does when a user drops files)."""
    payload = [
        {"name": n, "b64": base64.b64encode(b).decode(), "type": t} for n, b, t in files
    ]
    dt = page.evaluate_handle(
        """(files) => {
            const dt = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
                dt.items.add(new File([bytes], f.name, { type: f.type }));
            }
            return dt;
        }""",
        payload,
    )
    page.dispatch_event(target, "dragenter", {"dataTransfer": dt})
    page.dispatch_event(target, "dragover", {"dataTransfer": dt})
    page.dispatch_event(target, "drop", {"dataTransfer": dt})


def reload_ready(page) -> None:
    """The next visit: the page reloaded until it is ready again."""
    page.reload()
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)


def open_engines(page) -> None:
    """Open the engine panel (the engines, their comparison, storage) as a
    user does: "Change engine" beside the photo button."""
    if page.get_attribute("#engines-toggle", "aria-expanded") != "true":
        page.click("#engines-toggle")


def shown_pixels(page, selector: str) -> np.ndarray:
    """The RGBA pixels an <img> shows right now, at the image's own size, read
    back through a canvas (the site's CSP lets no fetch read blob: URLs)."""
    b64, w, h = page.evaluate(
        """async (sel) => {
            const img = document.querySelector(sel);
            await img.decode();
            const c = new OffscreenCanvas(img.naturalWidth, img.naturalHeight);
            const ctx = c.getContext("2d");
            ctx.drawImage(img, 0, 0);
            const bytes = ctx.getImageData(0, 0, c.width, c.height).data;
            // In chunks: a character at a time takes seconds on a large image.
            const parts = [];
            for (let i = 0; i < bytes.length; i += 0x8000) parts.push(String.fromCharCode(...bytes.subarray(i, i + 0x8000)));
            return [btoa(parts.join("")), c.width, c.height];
        }""",
        selector,
    )
    return np.frombuffer(base64.b64decode(b64), np.uint8).reshape(h, w, 4)


def choose_engine(page, engine_id: str) -> None:
    open_engines(page)
    page.check(f"input[name=engine][value={engine_id}]")


def runs_threaded(page) -> bool:
    """The page reports WASM threads (the worker uses 2 to 4)."""
    return re.search(r"\b[2-4] threads\b", page.inner_text("#runtime-info")) is not None


FINISHED = ".item[data-state=done], .item[data-state=failed], .item[data-state=cancelled]"


def wait_results(page, count: int, timeout: int = IMAGE_TIMEOUT) -> list:
    """Wait until `count` queue items have finished; the items, in queue order."""
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length >= n",
        arg=[FINISHED, count], timeout=timeout,
    )
    return page.query_selector_all("#queue .item")


def state(item) -> str:
    return item.get_attribute("data-state")


def error(item) -> str:
    return item.query_selector(".item-error").inner_text()


def open_result(page, item) -> None:
    item.query_selector(".item-open").click()
    page.wait_for_selector("#viewer:not([hidden])")


def export(page, item=None, fmt: str = "png") -> tuple[bytes, str]:
    """Open a result (if given), pick the export format, press Download and
    read what the browser saved."""
    if item is not None:
        open_result(page, item)
    page.select_option("#format", fmt)
    with page.expect_download(timeout=IMAGE_TIMEOUT) as info:
        page.click("#download")
    download = info.value
    return Path(download.path()).read_bytes(), download.suggested_filename


def catch_file_choosers(page) -> None:
    """File choosers caught from now on. Playwright turns the catching on when
    the first listener comes, asynchronously: a key or tap right after
    expect_file_chooser() could reach the browser first and open a real
    dialog (in a headless browser, none), and the test would wait in vain."""
    page.on("filechooser", lambda chooser: None)
