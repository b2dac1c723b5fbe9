"""Batch augmentation: shapes, dtypes, label alignment, determinism for a seed."""

import pytest
import torch

from dlcourse.augment import BatchAugment, random_crop, random_flip
from dlcourse.train import TensorBatches


def images(n=16, dtype=torch.float32):
    torch.manual_seed(0)
    x = torch.randint(0, 256, (n, 3, 32, 32)).to(dtype)
    return x


@pytest.mark.parametrize("dtype", [torch.float32, torch.uint8])
@pytest.mark.parametrize(
    "kwargs", [{}, {"crop_padding": 0}, {"degrees": 10, "scale": (0.9, 1.1), "shear": 8}]
)
def test_keeps_shape_dtype_and_device(dtype, kwargs):
    x = images(dtype=dtype)
    out = BatchAugment(seed=1, **kwargs)(x)
    assert out.shape == x.shape and out.dtype == x.dtype and out.device == x.device


def test_same_seed_same_images_and_reset_repeats():
    x = images()
    a, b = BatchAugment(degrees=10, seed=3), BatchAugment(degrees=10, seed=3)
    first = a(x)
    assert torch.equal(first, b(x))
    assert not torch.equal(first, a(x))  # the sequence moves on
    a.reset()
    assert torch.equal(first, a(x))
    assert not torch.equal(first, BatchAugment(degrees=10, seed=4)(x))


def test_independent_of_global_random_state():
    x = images()
    torch.manual_seed(0)
    first = BatchAugment(seed=5)(x)
    torch.manual_seed(123)
    assert torch.equal(first, BatchAugment(seed=5)(x))


def test_flip_mirrors_some_images_exactly():
    x = images(n=64)
    out = random_flip(x, torch.Generator().manual_seed(0))
    flipped = torch.tensor([torch.equal(o, i.flip(-1)) for o, i in zip(out, x, strict=True)])
    kept = torch.tensor([torch.equal(o, i) for o, i in zip(out, x, strict=True)])
    assert (flipped | kept).all() and flipped.any() and kept.any()


def test_crop_is_an_exact_shift():
    x = images(n=32)
    out = random_crop(x, torch.Generator().manual_seed(0), padding=4, mode="constant")
    # the centre 24×24 of every image appears, unchanged, somewhere in its crop
    for o, i in zip(out, x, strict=True):
        found = any(
            torch.equal(o[:, 4 + dy : 28 + dy, 4 + dx : 28 + dx], i[:, 4:28, 4:28])
            for dy in range(-4, 5)
            for dx in range(-4, 5)
        )
        assert found


def test_labels_stay_aligned_through_tensor_batches():
    # each image is filled with its own label, so a misaligned label would show
    labels = torch.arange(40)
    x = labels.float()[:, None, None, None].expand(40, 3, 32, 32).clone()
    augment = BatchAugment(degrees=10, scale=(0.9, 1.1), seed=0)
    batches = TensorBatches(x, labels, batch_size=8, shuffle=True, transform=augment.batch)
    for xb, yb in batches:
        assert torch.allclose(xb.mean(dim=(1, 2, 3)), yb.float(), atol=1e-4)


def test_rejects_a_single_image():
    with pytest.raises(ValueError, match="batch of images"):
        BatchAugment()(torch.zeros(3, 32, 32))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_same_images_on_the_gpu():
    x = images()
    cpu = BatchAugment(degrees=10, seed=2)(x)
    gpu = BatchAugment(degrees=10, seed=2)(x.cuda())
    assert gpu.device.type == "cuda"
    assert torch.allclose(cpu, gpu.cpu(), atol=1e-3)
