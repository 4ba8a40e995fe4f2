"""What a user does in the page, as Playwright calls."""
from __future__ import annotations

import base64
from pathlib import Path

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


def choose_engine(page, engine_id: str) -> None:
    page.check(f"input[name=engine][value={engine_id}]")


def wait_results(page, count: int, timeout: int = IMAGE_TIMEOUT) -> list:
    page.wait_for_function(
        "(n) => document.querySelectorAll('.result.done, .result.failed').length >= n",
        arg=count, timeout=timeout,
    )
    return page.query_selector_all(".result")


def download_cutout(page, card) -> tuple[bytes, str]:
    """Press the card's Download button and read what the browser saved."""
    with page.expect_download() as info:
        card.query_selector(".download").click()
    download = info.value
    return Path(download.path()).read_bytes(), download.suggested_filename
