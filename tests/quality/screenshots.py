"""The screenshots of docs/quality.md, made as a user makes them: the 12 MP
sample (grace_hopper.jpg resized to 3200x3750, as `build.py bench` makes it)
dropped on the built app in Chromium, Precision, exported as JPEG on a dark
and on a light background with "Refine edges" and "Remove colour spill" on
and off; the same crop of each export (her hair against the blue backdrop)
side by side at 200%. And the result view itself, with its edge controls.

    python3 build.py && .venv/bin/python tests/quality/screenshots.py
"""
from __future__ import annotations

import io
import os
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, ROOT / "py", ROOT / "tests", ROOT / "tests" / "bench", ROOT / "tests" / "e2e"):
    sys.path.insert(0, str(p))

from PIL import Image, ImageDraw, ImageFont  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

import build  # noqa: E402
from browser import drop_files, export, wait_results  # noqa: E402
from helpers import PHOTOS  # noqa: E402
from photos import make_photos  # noqa: E402

CROP = (2020, 1420, 2420, 1820)  # her hair below the ear, against the backdrop, in the 12 MP photo
BACKGROUNDS = {"dark": "#1e1e1e", "light": "#f2f2f2"}
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def label(img: Image.Image, text: str, dark: bool) -> Image.Image:
    out = Image.new("RGB", (img.width, img.height + 28), (30, 30, 30) if dark else (250, 250, 250))
    out.paste(img, (0, 28))
    draw = ImageDraw.Draw(out)
    draw.text((8, 7), text, fill=(235, 235, 235) if dark else (20, 20, 20), font=ImageFont.load_default(16))
    return out


def main() -> int:
    photo = next(p for p in make_photos(PHOTOS["grace_hopper"], ("12MP",)))
    server = build.make_server(build.DIST)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    docs = ROOT / "docs"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=os.environ.get("BACKGRONE_CHROMIUM", "/usr/bin/chromium"),
                                     args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(600_000)
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]", timeout=600_000)
        page.check("input[name=engine][value=precision]")
        drop_files(page, [("grace_hopper-12mp.jpg", photo.data, "image/jpeg")])
        wait_results(page, 1, timeout=900_000)
        page.wait_for_function("() => document.querySelector('#view-after').naturalWidth > 0")
        page.locator("#viewer").screenshot(path=str(docs / "edges-viewer.png"))
        for name, colour in BACKGROUNDS.items():
            page.check("input[name=bg][value=color]")
            page.fill("#bg-color", colour)
            shots = []
            for refined in (False, True):
                page.set_checked("#refine", refined)
                page.set_checked("#decontaminate", refined)
                data, _ = export(page, fmt="jpeg")
                crop = Image.open(io.BytesIO(data)).convert("RGB").crop(CROP)
                crop = crop.resize((crop.width * 2, crop.height * 2), Image.Resampling.NEAREST)
                shots.append(label(crop, "refined, spill removed" if refined else "the engine's mask, as before",
                                   name == "dark"))
            pair = Image.new("RGB", (shots[0].width * 2 + 8, shots[0].height), (128, 128, 128))
            pair.paste(shots[0], (0, 0))
            pair.paste(shots[1], (shots[0].width + 8, 0))
            pair.save(docs / f"edges-{name}.png", optimize=True)
            print(f"wrote docs/edges-{name}.png")
        browser.close()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
