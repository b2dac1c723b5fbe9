"""A notebook's key figure: picked among its image outputs and saved as a small thumbnail."""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
from pathlib import Path, PurePosixPath

from nbformat import NotebookNode
from PIL import Image, UnidentifiedImageError

from dlcourse.atomic import atomic_file
from dlcourse.runner.paths import output_relpath

THUMBS_DIR = "thumbs"
THUMB_WIDTH = 480
_IMAGE_TYPES = ("image/png", "image/jpeg")


def thumbnail_relpath(name: str) -> PurePosixPath:
    """Where a notebook's thumbnail goes in a report folder: ``thumbs/01_Basics/00_x.png``."""
    return PurePosixPath(THUMBS_DIR) / output_relpath(name).with_suffix(".png")


def image_outputs(nb: NotebookNode) -> list[bytes]:
    """The PNG and JPEG images a notebook's code cells display, in order."""
    images = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for mime in _IMAGE_TYPES:
                if mime in data:
                    text = data[mime]
                    text = "".join(text) if isinstance(text, list) else text
                    with contextlib.suppress(binascii.Error, ValueError):
                        images.append(base64.b64decode(text, validate=False))
                    break
    return images


def save_thumbnail(nb: NotebookNode, index: int, dest: Path, width: int = THUMB_WIDTH) -> bool:
    """Save image number ``index`` of ``nb`` (the last one when there are fewer) to ``dest`` as
    a PNG at most ``width`` pixels wide; False, and nothing written, when it has no image."""
    images = image_outputs(nb)
    if not images:
        return False
    chosen = images[index] if -len(images) <= index < len(images) else images[-1]
    try:
        with Image.open(io.BytesIO(chosen)) as image:
            image = image.convert("RGBA") if image.mode in ("P", "LA") else image.convert("RGB")
            if image.width > width:
                image = image.resize((width, round(image.height * width / image.width)))
            buffer = io.BytesIO()
            image.save(buffer, format="PNG", optimize=True)
    except (UnidentifiedImageError, OSError, ValueError):
        return False
    with atomic_file(dest) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return True
