"""Random training patches cut from whole images each epoch (for ``fit``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

Batch = tuple[torch.Tensor, torch.Tensor]


class RandomPatches:
    """``patches_per_epoch`` random ``size × size`` crops of (images, masks) per pass, in
    batches, each optionally passed through ``transform`` (e.g. :class:`PairedAugment`).

    ``images`` [N, C, H, W] and ``masks`` [N, K, H, W] stay where they are (CPU or device);
    every pass draws new crops from its own seeded generator.
    """

    def __init__(
        self,
        images: torch.Tensor,
        masks: torch.Tensor,
        size: int,
        patches_per_epoch: int,
        batch_size: int = 16,
        transform: Callable[[Batch], Batch] | None = None,
        seed: int = 0,
    ) -> None:
        if images.shape[0] != masks.shape[0] or images.shape[-2:] != masks.shape[-2:]:
            raise ValueError(
                f"images {tuple(images.shape)} and masks {tuple(masks.shape)} do not align"
            )
        h, w = images.shape[-2:]
        if size > min(h, w):
            raise ValueError(f"patch size {size} exceeds the images' size {h}×{w}")
        self.images, self.masks, self.size = images, masks, size
        self.patches_per_epoch, self.batch_size = patches_per_epoch, batch_size
        self.transform = transform
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return -(-self.patches_per_epoch // self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        n, (h, w), s, g = len(self.images), self.images.shape[-2:], self.size, self.generator
        for start in range(0, self.patches_per_epoch, self.batch_size):
            m = min(self.batch_size, self.patches_per_epoch - start)
            idx = torch.randint(0, n, (m,), generator=g).tolist()
            tops = torch.randint(0, h - s + 1, (m,), generator=g).tolist()
            lefts = torch.randint(0, w - s + 1, (m,), generator=g).tolist()
            crops = [
                (self.images[i, :, t : t + s, u : u + s], self.masks[i, :, t : t + s, u : u + s])
                for i, t, u in zip(idx, tops, lefts, strict=True)
            ]
            batch = (torch.stack([c[0] for c in crops]), torch.stack([c[1] for c in crops]))
            yield self.transform(batch) if self.transform is not None else batch

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The generator's state (for checkpoints)."""
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore the generator's state."""
        self.generator.set_state(state["generator"])
