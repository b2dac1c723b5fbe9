"""all-MiniLM-L6-v2: the weights and the tokenizer of a small pretrained sentence encoder.

A 6-layer BERT encoder (384 wide, 22,713,216 parameters, WordPiece vocabulary of 30,522),
published by sentence-transformers under the Apache-2.0 licence. The files come from the
model's repository on the Hugging Face hub at one pinned revision, so that the hashes hold.
"""

from __future__ import annotations

from pathlib import Path

from dlcourse.data.files import copy_file
from dlcourse.data.registry import Dataset, RemoteFile
from dlcourse.data.store import ensure, resolve_root

FOLDER = "all-MiniLM-L6-v2"
REPOSITORY = "sentence-transformers/all-MiniLM-L6-v2"
REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
_HUB = f"https://huggingface.co/{REPOSITORY}/resolve/{REVISION}/"

# name, size in bytes, sha256: the files of the hub repository at REVISION (the shared copy of
# the course, ../shared/data/minilm/all-MiniLM-L6-v2-1110a243.tar.gz, holds the same bytes).
_FILES = """
model.safetensors 90868376 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
tokenizer.json 466247 be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
config.json 612 953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
"""

REMOTE = tuple(
    RemoteFile(name, (_HUB + name,), f"sha256:{digest}", int(size))
    for name, size, digest in (line.split() for line in _FILES.strip().splitlines())
)


def _locate(root: Path) -> Path | None:
    """``root/all-MiniLM-L6-v2`` when each file is there with its published size, else None
    (a truncated copy is not complete; hashes are checked on download, not on every use)."""
    folder = root / FOLDER
    for remote in REMOTE:
        path = folder / remote.name
        if not path.is_file() or path.stat().st_size != remote.size:
            return None
    return folder


def _install(downloads: Path, root: Path) -> None:
    needed = sum(r.size for r in REMOTE)
    for remote in REMOTE:
        copy_file(downloads / remote.name, root / FOLDER / remote.name, needed)
        needed -= remote.size


SPEC = Dataset(
    name="minilm",
    title="all-MiniLM-L6-v2 pretrained sentence encoder (weights and tokenizer)",
    folder=FOLDER,
    layout=tuple(f"{FOLDER}/{r.name}  ({r.size:,} bytes)" for r in REMOTE),
    locate=_locate,
    remote=REMOTE,
    install=_install,
    licence="Apache-2.0",
    citation=(
        "Wang et al. (2020), MiniLM: Deep Self-Attention Distillation, NeurIPS; "
        "Reimers & Gurevych (2019), Sentence-BERT, EMNLP"
    ),
    homepage=f"https://huggingface.co/{REPOSITORY}/tree/{REVISION}",
)


def minilm_files(root: Path | str | None = None, download: bool = True) -> Path:
    """The folder holding ``model.safetensors``, ``tokenizer.json`` and ``config.json``.

    A complete copy under ``root`` (default: the course data directory, ``DLCOURSE_DATA``) is
    used without network access; otherwise the files are downloaded from the hub at the pinned
    revision and sha256-checked. Offline without a copy, :class:`DatasetError` says where to put
    the files.
    """
    return ensure(SPEC, resolve_root(root), download)
