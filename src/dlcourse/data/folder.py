"""Your own segmentation data: a folder of images and a folder of masks with matching names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import UnidentifiedImageError

from dlcourse.data.images import open_image
from dlcourse.data.registry import DatasetError

SUFFIXES = (".png", ".tif", ".tiff")


@dataclass(repr=False)
class MaskedImages:
    """Images uint8 [N, C, H, W] with masks uint8 [N, 1, H, W] and the files' common names."""

    images: torch.Tensor
    masks: torch.Tensor
    names: list[str]

    def __repr__(self) -> str:
        shape = "x".join(str(n) for n in self.images.shape)
        return f"MaskedImages(images {shape}, mask values {torch.unique(self.masks).tolist()})"


def _files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a folder; pass the folder holding the PNG/TIFF files.")
    found = {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in SUFFIXES}
    if not found:
        raise DatasetError(f"{folder} holds no PNG or TIFF files ({', '.join(SUFFIXES)}).")
    return found


def _read(path: Path) -> np.ndarray:
    fix = "Crop or downscale it, or cut it into tiles, and load those."
    try:
        with open_image(path, fix) as img:
            array = np.asarray(img)
    except (OSError, UnidentifiedImageError) as err:
        raise DatasetError(f"{path} is not a readable image ({err}).") from None
    if array.dtype != np.uint8:  # 16-bit or float microscopy images: rescale to 0-255
        array = array.astype(np.float64)
        lo, hi = array.min(), array.max()
        array = ((array - lo) / (hi - lo if hi > lo else 1) * 255).round().astype(np.uint8)
    return array


def load_mask_folder(
    images: str | Path, masks: str | Path, binary: bool = True, grey: bool = True
) -> MaskedImages:
    """Load ``images/<name>.png|tif`` with ``masks/<name>.png|tif`` (same names, same sizes).

    ``grey`` converts images to one channel (else RGB images keep three); ``binary`` turns
    every non-zero mask pixel into 1 (else the mask values, e.g. class numbers, are kept).
    Raises :class:`DatasetError` naming the files without a partner or of the wrong size.
    """
    image_files, mask_files = _files(Path(images)), _files(Path(masks))
    unpaired = sorted(set(image_files) ^ set(mask_files))
    if unpaired:
        raise DatasetError(
            f"these names have an image or a mask but not both: {unpaired[:10]}; every image "
            "needs a mask with the same name (the extension may differ)."
        )
    names = sorted(image_files)
    xs, ys = [], []
    for name in names:
        x, y = _read(image_files[name]), _read(mask_files[name])
        if y.ndim == 3:
            y = y[..., 0]
        if x.ndim == 3 and (grey or x.shape[-1] == 4):
            x = x[..., :3].mean(axis=-1).round().astype(np.uint8) if grey else x[..., :3]
        if x.shape[:2] != y.shape:
            raise DatasetError(f"{name}: image {x.shape[:2]} and mask {y.shape} differ in size.")
        xs.append(x[None] if x.ndim == 2 else x.transpose(2, 0, 1))
        ys.append((y > 0).astype(np.uint8) if binary else y)
    sizes = {x.shape for x in xs}
    if len(sizes) != 1:
        raise DatasetError(
            f"the images differ in size {sorted(sizes)}; crop or resize them to one size, or "
            "load them one by one."
        )
    return MaskedImages(
        torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys)[:, None]), names
    )
