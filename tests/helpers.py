"""Plain helpers shared by the tests (fixtures live in conftest.py)."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib
import skimage

# Public-domain photos shipped by packages the tests already install.
PHOTOS = {
    "astronaut": Path(skimage.__file__).parent / "data" / "astronaut.png",
    "coffee": Path(skimage.__file__).parent / "data" / "coffee.png",
    "chelsea": Path(skimage.__file__).parent / "data" / "chelsea.png",
    "grace_hopper": Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg",
}


def run(coro):
    """Run one pipeline coroutine to completion, as the CLI does. In a thread of
    its own: Playwright's sync API already runs an event loop in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def heic(img, orientation: int | None = None, quality: int = 92, **save) -> bytes:
    """`img` saved as HEIC with pillow-heif (libheif and x265), as a phone
    saves it. With `orientation` (an EXIF orientation, 6 = turn 90 degrees
    clockwise to view), the file stores the pixels as given and says how to
    turn them: libheif writes that as the HEIF's own rotation."""
    import io

    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        save["exif"] = exif.tobytes()
    out = io.BytesIO()
    img.save(out, format="HEIF", quality=quality, **save)
    return out.getvalue()
