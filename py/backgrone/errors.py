"""Errors a user can act on. Their text is shown as it is, in the page and on
the command line, so it says what went wrong and what to do, never a traceback."""


class BackgroneError(Exception):
    """Base class: str(error) is the message for the user."""

    code = "error"


class ImageError(BackgroneError):
    """The input could not be read as an image."""

    code = "bad-image"


class UnsupportedFormat(ImageError):
    """An image in a format this runtime cannot decode (HEIC, AVIF where
    Pillow lacks the codec...). The page may still decode it itself."""

    code = "unsupported-format"

    def __init__(self, message: str, fmt: str):
        super().__init__(message)
        self.format = fmt


class TooLarge(ImageError):
    """An image over the pixel limit. Its code is "too-large" when it can be
    cut out at a reduced size instead (decode(..., reduce=True)), so the page
    can offer that; "bad-image" when it is too large even for that."""

    def __init__(self, message: str, size: tuple[int, int] | None, reducible: bool):
        super().__init__(message)
        self.size = size
        self.reducible = reducible
        self.code = "too-large" if reducible else ImageError.code


class ModelError(BackgroneError):
    """An engine's model file is missing, refused, or not the expected network."""

    code = "bad-model"
