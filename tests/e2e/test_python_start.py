"""Python's start from what a first visit keeps (web/worker/python-cache.js): the
snapshot of a freshly started Python and, after the first cutout, the compiled
modules (web/worker/python-bytecode.js). The next visit restores both and cuts
out exactly as a fresh start does; a snapshot that is damaged, or that Pyodide
refuses, and bytecode that is damaged are dropped, Python starts afresh, and
new ones are kept."""
from __future__ import annotations

from browser import READY_TIMEOUT, drop_files, export, reload_ready, state, wait_results

KEPT_KEYS = """async (kind) => {
    const cache = await caches.open("backgrone-python");
    return (await cache.keys()).map((r) => new URL(r.url).pathname).filter((p) => p.startsWith(`/python-${kind}/`));
}"""

# Change one byte of the stored snapshot (or bytecode); with `rehash` its
# recorded sha256 is made to match, so that only Pyodide's own check can catch it.
DAMAGE = """async ([offset, rehash, kind = "snapshot"]) => {
    const cache = await caches.open("backgrone-python");
    const request = (await cache.keys()).find((r) => new URL(r.url).pathname.startsWith(`/python-${kind}/`));
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


def kept(page, kind: str = "snapshot") -> list[str]:
    """Wait for the snapshot to be kept (it is written while the packages load),
    or the bytecode (after the first cutout)."""
    page.wait_for_function(f"({KEPT_KEYS})('{kind}').then((keys) => keys.length === 1)", timeout=READY_TIMEOUT,
                           polling=100)
    return page.evaluate(KEPT_KEYS, kind)


def cut_out(page, name: str, data: bytes) -> bytes:
    drop_files(page, [(name, data, "image/png")])
    (item,) = wait_results(page, 1)
    assert state(item) == "done"
    png, _ = export(page, item)
    return png


def test_the_next_visit_restores_python_and_cuts_out_exactly_as_a_fresh_start(app, photos):
    assert app.get_attribute("body", "data-python") == "fresh"
    assert app.get_attribute("body", "data-bytecode") == "0"
    keys = kept(app)
    photo = photos["astronaut"].read_bytes()
    fresh = cut_out(app, "astronaut.png", photo)
    bytecode = kept(app, "bytecode")

    reload_ready(app)
    assert app.get_attribute("body", "data-python") == "snapshot"
    # numpy's, Pillow's and Backgrone's modules, all written back before the imports
    assert int(app.get_attribute("body", "data-bytecode")) > 100
    assert cut_out(app, "astronaut.png", photo) == fresh
    assert app.evaluate(KEPT_KEYS, "snapshot") == keys  # both kept as they were
    assert app.evaluate(KEPT_KEYS, "bytecode") == bytecode


def test_damaged_bytecode_is_dropped_and_python_compiles_the_modules_again(app, photos):
    cut_out(app, "coffee.png", photos["coffee"].read_bytes())
    kept(app, "bytecode")
    app.evaluate(DAMAGE, [-1000, False, "bytecode"])  # its checksum no longer matches
    reload_ready(app)
    assert app.get_attribute("body", "data-python") == "snapshot"  # the snapshot is untouched
    assert app.get_attribute("body", "data-bytecode") == "0"
    cut_out(app, "coffee.png", photos["coffee"].read_bytes())
    kept(app, "bytecode")  # a new one
    reload_ready(app)
    assert int(app.get_attribute("body", "data-bytecode")) > 100


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
