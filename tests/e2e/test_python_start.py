"""Python's start from the snapshot a first visit keeps (web/worker/python-snapshot.js):
the next visit restores it and cuts out exactly as a fresh start does, and a
snapshot that is damaged, or that Pyodide refuses, is dropped and Python starts
afresh, making a new one."""
from __future__ import annotations

from browser import READY_TIMEOUT, drop_files, export, reload_ready, state, wait_results

SNAPSHOT_KEYS = """async () => {
    const cache = await caches.open("backgrone-python");
    return (await cache.keys()).map((r) => new URL(r.url).pathname);
}"""

# Change one byte of the stored snapshot; with `rehash` its recorded sha256 is
# made to match, so that only Pyodide's own check can catch it.
DAMAGE = """async ([offset, rehash]) => {
    const cache = await caches.open("backgrone-python");
    const [request] = await cache.keys();
    const response = await cache.match(request);
    const bytes = new Uint8Array(await response.arrayBuffer());
    bytes[offset < 0 ? bytes.length + offset : offset] ^= 0xff;
    const headers = new Headers(response.headers);
    if (rehash) {
        const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
        headers.set("X-Sha256", [...digest].map((b) => b.toString(16).padStart(2, "0")).join(""));
    }
    await cache.put(request, new Response(bytes, { headers }));
}"""


def kept(page) -> list[str]:
    """Wait for the snapshot to be kept (it is written while the packages load)."""
    page.wait_for_function(f"({SNAPSHOT_KEYS})().then((keys) => keys.length === 1)", timeout=READY_TIMEOUT,
                           polling=100)
    return page.evaluate(SNAPSHOT_KEYS)


def cut_out(page, name: str, data: bytes) -> bytes:
    drop_files(page, [(name, data, "image/png")])
    (item,) = wait_results(page, 1)
    assert state(item) == "done"
    png, _ = export(page, item)
    return png


def test_the_next_visit_restores_python_and_cuts_out_exactly_as_a_fresh_start(app, photos):
    assert app.get_attribute("body", "data-python") == "fresh"
    keys = kept(app)
    assert keys[0].startswith("/python-snapshot/")
    photo = photos["astronaut"].read_bytes()
    fresh = cut_out(app, "astronaut.png", photo)

    reload_ready(app)
    assert app.get_attribute("body", "data-python") == "snapshot"
    assert cut_out(app, "astronaut.png", photo) == fresh
    assert app.evaluate(SNAPSHOT_KEYS) == keys  # kept as it was


def test_a_damaged_snapshot_is_dropped_and_python_starts_afresh(app, photos):
    kept(app)
    app.evaluate(DAMAGE, [-1000, False])  # its checksum no longer matches
    reload_ready(app)
    assert app.get_attribute("body", "data-python") == "fresh"
    kept(app)  # a new one
    cut_out(app, "coffee.png", photos["coffee"].read_bytes())
    reload_ready(app)
    assert app.get_attribute("body", "data-python") == "snapshot"


def test_a_snapshot_pyodide_refuses_is_dropped_and_python_starts_afresh(app, photos):
    kept(app)
    app.evaluate(DAMAGE, [20, True])  # the build id it records: only Pyodide's check sees it
    reload_ready(app)
    assert app.get_attribute("body", "data-python") == "fresh"
    kept(app)
    cut_out(app, "coffee.png", photos["coffee"].read_bytes())
