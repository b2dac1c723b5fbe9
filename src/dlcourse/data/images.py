"""Opening image files with PIL inside its decompression-bomb limit."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image

from dlcourse.data.registry import DatasetError


def _too_large(path: Path, pixels: str, fix: str) -> DatasetError:
    limit = Image.MAX_IMAGE_PIXELS
    return DatasetError(
        f"{path} is too large to read safely: it declares {pixels}, over PIL's limit of "
        f"{limit} pixels (PIL.Image.MAX_IMAGE_PIXELS, a guard against decompression bombs). {fix}"
    )


@contextmanager
def open_image(path: Path, fix: str) -> Iterator[Image.Image]:
    """``PIL.Image.open(path)`` that refuses an image over PIL's pixel limit
    (``Image.MAX_IMAGE_PIXELS``) with a :class:`DatasetError` naming the file, before any pixel
    is decoded: both the images PIL refuses itself (over twice the limit) and those it only
    warns about. ``fix`` ends the message, saying what to do. The limit is never raised.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(path)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            found = re.search(r"\((\d+) pixels\)", str(err))
            raise _too_large(path, f"{found[1]} pixels" if found else str(err), fix) from None
    with img:
        width, height = img.size
        limit = Image.MAX_IMAGE_PIXELS
        if limit and width * height > limit:  # in case a plugin skipped PIL's own check
            raise _too_large(path, f"{width}x{height} = {width * height} pixels", fix)
        yield img
