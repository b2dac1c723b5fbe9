"""Whole-image inference in overlapping tiles, stitched without seams.

Each pixel of the result is taken from the tile in which it lies farthest from an edge (the
cut between two neighbouring tiles runs through the middle of their overlap), so splitting
an image and stitching the tiles back gives the image exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of length ``tile`` covering ``size`` with ≥ ``overlap`` overlap."""
    if not 0 <= overlap < tile:
        raise ValueError(f"overlap must be in [0, tile), got {overlap=} with {tile=}")
    if size <= tile:
        return [0]
    step = tile - overlap
    n = -(-(size - tile) // step) + 1
    return [round(i * (size - tile) / (n - 1)) for i in range(n)]


def _owned(starts: list[int], tile: int, size: int) -> list[tuple[int, int]]:
    """For each tile, the interval [lo, hi) of the image it contributes."""
    cuts = [(starts[i + 1] + starts[i] + tile) // 2 for i in range(len(starts) - 1)]
    bounds = [0, *cuts, size]
    return [(bounds[i], bounds[i + 1]) for i in range(len(starts))]


Tile = tuple[int, int, torch.Tensor]


def split_tiles(image: torch.Tensor, tile: int, overlap: int) -> list[Tile]:
    """Tiles ``(top, left, image[..., top:top+tile, left:left+tile])`` of an [..., H, W] image."""
    h, w = image.shape[-2:]
    return [
        (top, left, image[..., top : top + tile, left : left + tile])
        for top in tile_starts(h, tile, overlap)
        for left in tile_starts(w, tile, overlap)
    ]


def stitch_tiles(tiles: list[Tile], height: int, width: int, tile: int) -> torch.Tensor:
    """Reassemble tiles from :func:`split_tiles` (possibly transformed pixel-wise, e.g. by a
    network with any channel count) into an [..., height, width] tensor."""
    tops = sorted({t for t, _, _ in tiles})
    lefts = sorted({left for _, left, _ in tiles})
    rows = dict(zip(tops, _owned(tops, tile, height), strict=True))
    cols = dict(zip(lefts, _owned(lefts, tile, width), strict=True))
    first = tiles[0][2]
    out = first.new_zeros((*first.shape[:-2], height, width))
    for top, left, t in tiles:
        (r0, r1), (c0, c1) = rows[top], cols[left]
        out[..., r0:r1, c0:c1] = t[..., r0 - top : r1 - top, c0 - left : c1 - left]
    return out


@torch.no_grad()
def predict_tiled(
    model: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    tile: int = 256,
    overlap: int = 32,
    batch_size: int = 8,
) -> torch.Tensor:
    """Run ``model`` over whole float images [N, C, H, W] in overlapping tiles; returns the
    stitched outputs [N, K, H, W] on the CPU. Images smaller than a tile are padded."""
    if images.ndim != 4:
        raise ValueError(f"expected images [N, C, H, W], got shape {tuple(images.shape)}")
    h, w = images.shape[-2:]
    padded = F.pad(images, [0, max(0, tile - w), 0, max(0, tile - h)], mode="replicate")
    ph, pw = padded.shape[-2:]
    params = model.parameters() if hasattr(model, "parameters") else iter(())
    device = next(iter(params), images).device
    tiles = split_tiles(padded, tile, overlap)
    outputs = []
    for i in range(0, len(tiles), batch_size):
        chunk = tiles[i : i + batch_size]
        batch = torch.cat([t for _, _, t in chunk]).to(device)
        out = model(batch).cpu().split(len(images))
        outputs.extend((top, left, o) for (top, left, _), o in zip(chunk, out, strict=True))
    return stitch_tiles(outputs, ph, pw, tile)[..., :h, :w]
