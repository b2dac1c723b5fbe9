"""ISBI 2012 EM segmentation: 30 electron-microscopy slices (512x512) with membrane labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import UnidentifiedImageError

from dlcourse.data.containers import SegmentationData
from dlcourse.data.files import copy_file
from dlcourse.data.images import open_image
from dlcourse.data.registry import Dataset, DatasetError, RemoteFile
from dlcourse.data.store import ensure, resolve_root

FOLDER = "isbi2012/train"
N_SLICES = 30
KINDS = ("image", "label")

# The challenge's own site is gone; the training set is published in data/membrane/train/ of the
# public repository zhixuhao/unet. These sizes and sha256 sums were computed from the course's
# shared copy (../shared/data/isbi2012-membranes.tar.gz), which is byte-identical to those files.
_MIRRORS = (
    "https://raw.githubusercontent.com/zhixuhao/unet/master/data/membrane/train/",
    "https://github.com/zhixuhao/unet/raw/master/data/membrane/train/",
)
_FILES = """
image/0.png 187651 12c0ed6f42fc09f512abf6b354f217c950e4c8223b57a0315449b62a14556523
image/1.png 188189 2cfc7ee635a6f85d5faf5c82a71d3a37bf5af4784b554964e3e07193e3ee2166
image/2.png 188971 fe60d8d4f93102666a23a18d718b4b59fab8e616987d11c5072f4a87fac7301f
image/3.png 187963 636d16cbb02f99dda4c9fb6db98dfba066142afa981ffdcfaf54453982e8250c
image/4.png 189054 991fb3a8e4abc73da1d6159ca28fa4397f0a8351f30a8ba3669c86414d2ce239
image/5.png 183664 7e9d9fb787664336d6f2cd68b23986f04527e7f8f494410983b4d70c6de1de3b
image/6.png 192916 7c0a87933ffc72f4ff02f5996d9c3f69fe9a0b5277507415743ad8afb5e5d308
image/7.png 181724 19f2c25716107d41008c83ba8a814ae47a090e00dea766dde38dce1f00899270
image/8.png 178028 a8979e4abd1a10af9ca75e614d97875659adbd8ee3a68eba483bf556cfe3023d
image/9.png 189577 730ebf435ab0f6e625d342552ad03736799fd660d0c6af744674c61a46aa082a
image/10.png 189050 7c3717bcd48c4b7e5c878d7f0b809b8687a4e6fac471f3863de320a82ee72b8a
image/11.png 185739 dd7857b25ca1417f87c282750e22c50947f75e81fa032d4e0c96b902c9dc9757
image/12.png 185884 9f8eff9239bb764d51524a998387a7babcff9f62161804651b030b81aabd5ab8
image/13.png 188673 377e5cdbcd7f0ac7336f482fc7ead7446887863f26769b3841fe98aadca77dad
image/14.png 188074 f50d2d77acd2df564c5f0f40b1b24cd929f5944460aa4cd90c422cb5cef33a59
image/15.png 220502 3e13fdea09accc14f46fb2f3ffa1e882cdd9c53b28a6842c4c10229692c7d1a4
image/16.png 215959 ffc951c12450f94129582c16fd0d4b165c4a31469b0c42d966f07c183d3132e2
image/17.png 217858 0f4f7e8e0619e4c7d517ac68d3789a3b6248253747717eac418bb7d32bef4de3
image/18.png 218408 1bb1edd50595861743d14e1955dfa5d3c9395fb87563eca6dc81433bf9df49de
image/19.png 218527 999b55633f8d7082add72082656e9532c5c3d97203b376eb317f09ba88a5a5b7
image/20.png 215775 9153d14bfd15955fab576ea23281c4f23104b45dceed6e03e0b254607f50a1b2
image/21.png 223576 9ad07cf4f67984f17a08aa63e6d92d395ce55f5132e6ff4fa6d95d6890ea7f97
image/22.png 218862 6278609b4c42a7cb43212de0e2e2ceded758bafe0856fb56214ce658a61668e4
image/23.png 223127 9ef4e9fbc838b9791af83a36918d729a0ea2e90ebc71c4a3c4554059f9379756
image/24.png 222814 f0f917b9c3e9c96d16ea287aff9b05ecf4de88bc61d478e4aefcb64932fba70c
image/25.png 221564 e0154737e76392e8bf94fb2c0dfa5ddad4b53aeec942a0a8cdd8ba63443e6072
image/26.png 220633 d0ff11e09b0ee0c817334946e746a38ab621161d5f9c46af95c68b851f8d9a1a
image/27.png 219595 eed8e8bee1db8fe7af39b5b43ecf14282c5c33eca0959726eea06f662027eacc
image/28.png 222756 974df4b51e8905bdaabe61e80496cbf331f5c9aa9ddc2cb94113f58c2b7d2837
image/29.png 220730 d9ae868509c610a69acbf3d69cde4f36a8e344cbbc444f93c917bf7b9f3e784f
label/0.png 14322 13b67edd7607a1f284c09170c96a27d38422b0ffaf88024ea5b689acb5e1b4b0
label/1.png 13977 cff60a00de2901e67165c91d7708d784e4c5bcc9d1c8c677922c905d63bbc3d1
label/2.png 14052 a578af998c017f56763b81941c4dc612dde5731809b2cea0e8ebc37aecb84dbb
label/3.png 13829 c8ae3b843fed02e09411a24c10850160922c331041b17c2674025f05a99b8834
label/4.png 14312 a2f19c01b5d982a97923a0d29e64127a05e3f496731480ac9d9d302b5427f7ff
label/5.png 14048 2dd5779118f6f4d87f88ec112f1cea20663b50acb8c748b0db1f23eda82b5118
label/6.png 14144 2b0984e9f31fb41d4c5f4a754a3e080036b7321a0cbd9591a62010d20a574ce7
label/7.png 13714 2ebc8c835999589bfd7d80d81f83d24e5c41138362b0faafef0f009e1ce82144
label/8.png 13275 db979010ca4fbdb38c8b32d455aed0da90d598153f2a0046b63d02a6efa32b9e
label/9.png 14066 8ee6c79adbb740595c4d61776e065e7164c00d52c7dd7562b5279041e7f3567b
label/10.png 12987 b0156cc8186b0ee521927ac95645b406a42d27564607a6fea3a59c34add78f7c
label/11.png 12984 e47b3aa0cfb3106476af1666e631d45bd16dbf2aff88260ee65d16e4134332db
label/12.png 12517 85a7a899c0b72b81633ad122887ba5161d650385d7775a5b3074eb00131b3620
label/13.png 12912 88549c22fd647312d6b37e17d33e90800d347d60ccb1156a8dde5e67394f9f3d
label/14.png 12795 bcd775017eb4fdbdfe7ad6cc6420b2f16aa9d0576894d08370edcf564b46680a
label/15.png 12306 59a854887b504ff00a5b4b93b2299bbc0bf0cbe54dea58d2b31969229b28b369
label/16.png 12333 b34eb88cdc3313a6f4190f5753465df7f69d8f3c243a5c25427b1b99ecfe2499
label/17.png 11930 4fa076cbeb744803d987dc46cf308dc3026408e7a5188838e30e25fe3ea67dbe
label/18.png 11629 bd009dda57f204804732f592ed1d41ba18961d83c492413fe71548efa4a288d9
label/19.png 11662 bf38407c55b6033c1677230228ecb100a11294aa74a7b92e5edfdc4abadcfef9
label/20.png 11970 7af7296f2e892866669d4e4f9c0d4178987e6ec6e7d0751ec238d1bbe2da9c55
label/21.png 11617 772c722acb2eac01769b53fa5037a3d62745e53102398bf9b2202df605cadda4
label/22.png 11674 b19f5533ec24077a2395a085fe53af75dd350ef03798c4ff40ba9ebecb2ee0ad
label/23.png 12257 2d8f1df5c9ee83e59eb2d709eb153b0570f12e726690f586154b01b0a88bb540
label/24.png 12080 6ab02d922b5c937ecfe2a479be87a5d3e5ef950dc48da09d31f37b47d899ca9c
label/25.png 12226 c5ea59aca7789dd507ac31c4a82bbd4c172f9e3544f8e040442c20d1dfa9e16d
label/26.png 12669 b056fae9f358111b6c9e2494bdba645f206be581959b8d3763e97d62a65dd961
label/27.png 13023 5be3823a57c82b632cead6eb09f438c6010a244dc0975f2a3e466f45d2c06840
label/28.png 13061 c0b0e2a2b7aad46919d1afc980f7d5e39101fb07948ce65d9cac802d8b47682e
label/29.png 12983 1e8839a97178914171defd6a97158f06fcac1fc3f0d45f2acdff9c49ab3fced9
"""

_NAMES = [f"{kind}/{i}.png" for kind in KINDS for i in range(N_SLICES)]


def _locate(root: Path) -> Path | None:
    folder = root / FOLDER
    return folder if all((folder / name).is_file() for name in _NAMES) else None


def _install(downloads: Path, root: Path) -> None:
    missing = [name for name in _NAMES if not (root / FOLDER / name).is_file()]
    needed = sum(_size(downloads / name) for name in missing)  # for a full disk's message
    for name in missing:
        copy_file(downloads / name, root / FOLDER / name, needed)
        needed -= _size(downloads / name)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _remote() -> tuple[RemoteFile, ...]:
    rows = (line.split() for line in _FILES.strip().splitlines())
    return tuple(
        RemoteFile(name, tuple(m + name for m in _MIRRORS), f"sha256:{digest}", int(size))
        for name, size, digest in rows
    )


SPEC = Dataset(
    name="isbi2012",
    title="ISBI 2012 EM segmentation (training set)",
    folder=FOLDER,
    layout=tuple(f"{FOLDER}/{kind}/0.png ... {N_SLICES - 1}.png" for kind in KINDS),
    locate=_locate,
    remote=_remote(),
    install=_install,
    licence="free for research; cite both papers",
    citation=(
        "Cardona et al. (2010), PLoS Biology 8(10): e1000502; "
        "Arganda-Carreras et al. (2015), Frontiers in Neuroanatomy 9: 142"
    ),
    homepage="https://github.com/zhixuhao/unet/tree/master/data/membrane",
)


def _read_png(path: Path) -> np.ndarray:
    fix = "An ISBI slice is 512x512: delete it and run `dlcourse data fetch isbi2012`."
    try:
        with open_image(path, fix) as img:
            return np.asarray(img.convert("L"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as err:
        raise DatasetError(
            f"{path} is not a readable PNG ({err}). Delete it and run "
            "`dlcourse data fetch isbi2012`."
        ) from None


def _read_stack(folder: Path, kind: str) -> np.ndarray:
    slices = [_read_png(folder / kind / f"{i}.png") for i in range(N_SLICES)]
    shapes = {s.shape for s in slices}
    if len(shapes) != 1:
        raise DatasetError(f"the {kind} PNGs in {folder / kind} differ in size: {sorted(shapes)}.")
    return np.stack(slices)[:, None]


def load_isbi2012(root: Path | str | None = None, download: bool = True) -> SegmentationData:
    """Load the ISBI 2012 EM segmentation training set into memory.

    Reads ``<root>/isbi2012/train/{image,label}/0.png ... 29.png``, downloading the PNGs
    (sha256-checked, from the zhixuhao/unet repository) when missing; ``root`` defaults to the
    course data directory (``DLCOURSE_DATA``).

    Returns a :class:`SegmentationData`: ``images`` uint8 [30, 1, 512, 512] (grey levels 0-255)
    and ``masks`` uint8 [30, 1, 512, 512] with **1 = cell interior** (white, 255, in the label
    PNGs) and **0 = membrane** (black, 0); label pixels are thresholded at 128.
    """
    folder = ensure(SPEC, resolve_root(root), download)
    images = _read_stack(folder, "image")
    labels = _read_stack(folder, "label")
    if images.shape != labels.shape:
        raise DatasetError(
            f"images {images.shape[2:]} and labels {labels.shape[2:]} in {folder} differ in size."
        )
    masks = (labels >= 128).astype(np.uint8)
    return SegmentationData(torch.from_numpy(images), torch.from_numpy(masks))
