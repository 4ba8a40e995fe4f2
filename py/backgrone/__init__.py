"""Backgrone: background removal that runs on the user's device.

`backgrone.remove(image, engine="lightweight", ...)` cuts out one image (see
api.py). Nothing heavy is imported here: the package also runs in the
browser's Pyodide, where only the image modules and webapi are used.
"""
__version__ = "0.1.0"


def __getattr__(name):
    # Imported on first use: onnxruntime and the downloads load only then.
    if name == "remove":
        from .api import remove

        return remove
    raise AttributeError(f"module 'backgrone' has no attribute {name!r}")
