"""Accessibility: axe-core's audit of the app, the Arena and the samples page
in their main states, and the keyboard: every control reached with Tab,
visibly focused, and operable.

axe-core is the npm package pinned in build.py (version, size, sha256), from
the download cache. It is served from the test site's own origin, a file
added to a copy of dist/ for these tests only, and added to each page as a
<script src>. So the pages keep their Content-Security-Policy (script-src
'self', no inline script) during the audit and are audited as a visitor gets
them; a context with Playwright's bypass_csp would audit a page with no
policy at all, and an injected inline script would need one.
"""
from __future__ import annotations

import shutil

import pytest

import build
from browser import IMAGE_TIMEOUT, READY_TIMEOUT, catch_file_choosers, drop_files, open_engines, wait_results
from e2e.standin_site import make_standin_site, serve
from e2e.test_arena import SCENE, run_three, run_three_by_tabs, standins  # noqa: F401
from e2e.conftest import RequestLog

pytestmark = pytest.mark.browser

AXE = "test-only/axe.min.js"
PHONE = dict(viewport={"width": 390, "height": 844}, device_scale_factor=3, has_touch=True, is_mobile=True)
DESKTOP = dict(viewport={"width": 1280, "height": 900})
BLOCKING = ("serious", "critical")


@pytest.fixture(scope="module")
def audit_site(tmp_path_factory, standins) -> str:  # noqa: F811
    """The site with the stand-in engines, and axe-core beside it."""
    site = make_standin_site(tmp_path_factory.mktemp("audit-site"), standins)
    (site / AXE).parent.mkdir()
    shutil.copy(build.axe_script(), site / AXE)
    server = serve(site)
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


@pytest.fixture
def new_page(browser, audit_site):
    """new_page(path, **context options): a fresh context's page at `path` of
    the audit site; uncaught errors and requests off the site fail the test."""
    contexts, errors = [], []
    log = RequestLog(audit_site)

    def new_page(path="", ready=True, **options):
        context = browser.new_context(**options)
        contexts.append(context)
        context.on("request", lambda r: log.urls.append(r.url))
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(audit_site + path)
        if ready:
            page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT)
        return page

    new_page.log = log
    yield new_page
    for context in contexts:
        context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"
    assert log.outside() == [], "requests left the site's origin"


def audit(page, state: str) -> None:
    """axe-core on the page as it is now: no serious or critical violation.
    Every violation found is printed, with where it is."""
    if not page.evaluate("typeof axe === 'object'"):
        page.add_script_tag(url=AXE)
    result = page.evaluate("axe.run(document, { resultTypes: ['violations'] })")
    lines = [
        f"  {v['impact']}: {v['id']} ({v['help']}) at {', '.join(' '.join(n['target']) for n in v['nodes'][:4])}"
        for v in result["violations"]
    ]
    print(f"\naxe-core {result['testEngine']['version']}, {state}: {len(result['violations'])} violation(s)",
          *lines, sep="\n")
    blocking = [line for v, line in zip(result["violations"], lines) if v["impact"] in BLOCKING]
    assert blocking == [], f"{state}:\n" + "\n".join(blocking)


def cut_out(page, name="scene.png", data=SCENE) -> None:
    n = len(page.query_selector_all("#queue .item"))
    drop_files(page, [(name, data, "image/png")])
    wait_results(page, n + 1)


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_app_passes_the_audit_in_its_main_states(new_page, size):
    page = new_page(**(PHONE if size == "phone" else DESKTOP))
    audit(page, f"app, first screen, {size}")
    open_engines(page)
    page.click("#storage summary")
    audit(page, f"app, engines panel and storage open, {size}")
    page.click("#engines-done")
    cut_out(page)
    page.wait_for_selector("#viewer:not([hidden])")
    audit(page, f"app, a result shown, {size}")
    cut_out(page, "broken.png", b"not an image at all")
    page.wait_for_selector("#queue .item[data-state=failed]")
    audit(page, f"app, an error in the queue, {size}")


def test_the_arena_passes_the_audit_with_results_wide_and_narrow(new_page, audit_site):
    page = new_page("arena.html", **DESKTOP)
    audit(page, "Arena, before an image, wide")
    run_three(page, audit_site, new_page.log)
    audit(page, "Arena, three engines and the consensus, wide")
    page.click("label:has(input[name=view][value=heat])")
    audit(page, "Arena, disagreement view, wide")

    page = new_page("arena.html", **PHONE)
    run_three_by_tabs(page, audit_site)
    audit(page, "Arena, three engines and the consensus, narrow")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_samples_page_passes_the_audit(new_page, size):
    page = new_page("samples.html", ready=False, **(PHONE if size == "phone" else DESKTOP))
    page.wait_for_function("() => document.querySelectorAll('#samples img').length === 4")
    page.wait_for_function("() => [...document.querySelectorAll('#samples img')].every((i) => i.complete)")
    audit(page, f"samples, {size}")


FOCUS = """() => {
    // What has the focus, and whether it shows: an outline of 2 px or more
    // on it, on its label (hidden file inputs, radios styled as buttons) or
    // on the card it chooses.
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const shown = [el, ...(el.labels ?? []), el.closest("label"), el.closest(".engine")].filter(Boolean).find((c) => {
        const s = getComputedStyle(c), r = c.getBoundingClientRect();
        return s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2 && r.width > 0 && r.height > 0;
    });
    const name = el.id ? `#${el.id}` : `${el.tagName.toLowerCase()}.${el.className}`;
    return { name, text: (el.labels?.[0] ?? el).textContent.trim().slice(0, 40), shown: !!shown };
}"""


def tab_through(page, limit: int = 80) -> list[dict]:
    """Press Tab from the top of the page until the focus leaves it (or
    comes round again)."""
    page.evaluate("""() => { const top = document.querySelector("header");  // Tab starts from here
                             top.tabIndex = -1; top.focus(); top.removeAttribute("tabindex"); }""")
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = page.evaluate(FOCUS)
        if now is None or (seen and now == seen[0]):
            break
        seen.append(now)
    return seen


def test_every_control_is_reached_by_keyboard_with_a_visible_focus(new_page):
    page = new_page(**DESKTOP)
    catch_file_choosers(page)
    stops = tab_through(page)
    names = [s["name"] for s in stops]
    assert names.index("#file-input") < names.index("#engines-toggle")  # the photo first
    assert stops[names.index("#file-input")]["text"] == "Choose photos"
    assert [s for s in stops if not s["shown"]] == []

    # The engine panel, by keyboard: open it, pick an engine with the arrow
    # keys, close it; the focus returns to the button.
    page.focus("#engines-toggle")
    page.keyboard.press("Enter")
    assert page.is_visible("#engine-panel")
    page.focus("input[name=engine][value=balanced]")
    page.keyboard.press("ArrowDown")
    assert page.is_checked("input[name=engine][value=lightweight]")
    assert page.inner_text("#chosen-name") == "Lightweight"
    page.click("#storage summary")
    stops = tab_through(page)
    names = [s["name"] for s in stops]
    for control in ("input.", "div.table-scroll", "summary.", "#import-engine", "#import-file", "#engines-done"):
        assert control in names, control  # a radio, the comparison (it scrolls sideways on a phone), storage
    assert [s for s in stops if not s["shown"]] == []
    page.focus("#engines-done")
    page.keyboard.press("Enter")
    assert page.is_hidden("#engine-panel")
    assert page.evaluate("document.activeElement.id") == "engines-toggle"

    # A photo picked with the keyboard, and the result's controls.
    page.focus("#file-input")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    chooser.value.set_files(files=[{"name": "scene.png", "mimeType": "image/png", "buffer": SCENE}])
    wait_results(page, 1)
    page.wait_for_selector("#viewer:not([hidden])")
    stops = tab_through(page)
    names = [s["name"] for s in stops]
    for control in ("#compare-slider", "#bg-color", "#bg-image-pick", "#crop", "#margin", "#format", "#download"):
        assert control in names, control
    assert [s for s in stops if not s["shown"]] == []
    page.focus("#crop")
    page.keyboard.press("Space")
    assert page.is_checked("#crop")
    page.focus("#download")
    with page.expect_download(timeout=IMAGE_TIMEOUT) as info:
        page.keyboard.press("Enter")
    assert info.value.suggested_filename == "scene-cutout.png"


def test_the_arena_by_keyboard(new_page, audit_site):
    page = new_page("arena.html", **DESKTOP)
    run_three(page, audit_site, new_page.log)
    stops = tab_through(page, limit=120)
    assert [s for s in stops if not s["shown"]] == []
    views = [s for s in stops if s["name"].startswith("div.arena-view")]
    assert len(views) == 4  # each column's view takes the focus, to pan and zoom by keys
    page.focus(".arena-col[data-engine=balanced] .arena-view")
    page.keyboard.press("+")
    assert page.inner_text("#zoom-level") != "Fit"
    assert not page.inner_text("#zoom-level").startswith("Fit")


WATCH = """() => {
    // Every text the live status line takes, and how often the figures beside it change.
    window.announced = [];
    window.detailChanges = 0;
    const text = document.querySelector("#status-text"), detail = document.querySelector("#status-detail");
    new MutationObserver(() => window.announced.push(text.textContent))
        .observe(text, { childList: true, characterData: true, subtree: true });
    new MutationObserver(() => window.detailChanges++)
        .observe(detail, { childList: true, characterData: true, subtree: true });
}"""


def test_downloads_and_the_queue_are_announced_once_each(app):
    """The status line is a live region: a screen reader reads each new text.
    A download says so once, and once when it is done, while its percentage
    runs beside it outside the live region; an image that fails says so."""
    assert app.get_attribute("#status-text", "role") == "status"
    assert app.evaluate("document.querySelector('#status-detail').closest('[role=status], [aria-live]')") is None
    app.evaluate(WATCH)
    open_engines(app)
    app.click(".engine[data-engine=lightweight] .download-engine")
    app.wait_for_selector(".engine[data-engine=lightweight][data-stored=true]", timeout=IMAGE_TIMEOUT)
    announced = app.evaluate("window.announced")
    assert [t for i, t in enumerate(announced) if i == 0 or t != announced[i - 1]] == [
        "Downloading the Lightweight engine", "The Lightweight engine is ready."]
    assert app.evaluate("window.detailChanges") >= 3  # the percentage moved on, unannounced

    app.evaluate("() => { window.announced = []; }")
    cut_out(app, "broken.png", b"not an image at all")
    assert app.evaluate("window.announced").pop() == "Failed: broken.png"
    assert app.get_attribute("#queue .item[data-state=failed] .item-error", "role") == "alert"
