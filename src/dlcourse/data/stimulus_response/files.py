"""Recordings as CSV files: no header, column 0 the stimulus, columns 1.. the ROIs' responses.

This is the layout of the original course's (private) recordings, so a folder of real
recordings can replace the simulated one. Rows are cropped to ``CROP`` (128:1536) on reading,
as the original did, to drop the start and end of each recording.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dlcourse.atomic import atomic_file

CROP = (128, 1536)


class RecordingError(ValueError):
    """A recording file that does not follow the CSV layout."""


@dataclass(repr=False, eq=False)
class Recording:
    """One cropped recording: ``stimulus`` float32 [T], ``responses`` float32 [T, ROIs]."""

    name: str
    stimulus: np.ndarray
    responses: np.ndarray

    @property
    def kind(self) -> str:
        """The file name before its last ``_`` (``sin2-p100_02`` → ``sin2-p100``)."""
        return self.name.rsplit("_", 1)[0]

    def __len__(self) -> int:
        return len(self.stimulus)

    def __repr__(self) -> str:
        return f"Recording({self.name!r}, {len(self)} rows, {self.responses.shape[1]} ROIs)"


def write_recording(path: str | Path, table: np.ndarray) -> Path:
    """Write a [rows, 1 + ROIs] table in the layout (stimulus to 6 decimals, ROIs to 3)."""
    path = Path(path)
    fmt = ["%.6f"] + ["%.3f"] * (table.shape[1] - 1)
    with atomic_file(path) as tmp:
        np.savetxt(tmp, table, fmt=fmt, delimiter=",")
    return path


def _bad_row(path: Path, lines: list[str], columns: int | None) -> str:
    """The first problem in a file's rows, as a message naming the file and row."""
    for row, line in enumerate(lines, start=1):
        cells = line.split(",")
        if columns is not None and len(cells) != columns:
            return (
                f"{path}, row {row}: {len(cells)} columns, expected {columns} "
                f"(column 0 the stimulus, then one column per ROI, no header)"
            )
        for col, cell in enumerate(cells):
            if not cell.strip():
                return f"{path}, row {row}, column {col} is empty"
            try:
                value = float(cell)
            except ValueError:
                hint = " (the files have no header row: delete it)" if row == 1 else ""
                return f"{path}, row {row}, column {col}: {cell.strip()!r} is not a number{hint}"
            if not math.isfinite(value):
                return f"{path}, row {row}, column {col}: {cell.strip()!r} is not a finite number"
    return f"{path} could not be read as a CSV of numbers"


def read_table(path: str | Path, columns: int | None = None) -> np.ndarray:
    """The float64 [rows, columns] table of one CSV file, or a :class:`RecordingError`
    naming the file and the first bad row (wrong column count, text, empty or non-finite cell).
    ``columns=None`` accepts any count the file's first row sets."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RecordingError(f"cannot read {path}: {err}") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise RecordingError(f"{path} is empty")
    expected = columns if columns is not None else len(lines[0].split(","))
    try:
        table = np.loadtxt(lines, delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError:
        raise RecordingError(_bad_row(path, lines, expected)) from None
    if table.shape[1] != expected or not np.isfinite(table).all():
        raise RecordingError(_bad_row(path, lines, expected))
    return table


def read_recording(
    path: str | Path, n_rois: int | None = None, crop: tuple[int, int] | None = CROP
) -> Recording:
    """One recording, cropped to rows ``crop[0]:crop[1]`` (None keeps every row)."""
    path = Path(path)
    table = read_table(path, None if n_rois is None else n_rois + 1)
    if table.shape[1] < 2:
        raise RecordingError(f"{path}: only {table.shape[1]} column; need the stimulus and ROIs")
    if crop is not None:
        start, stop = crop
        if len(table) < stop:
            raise RecordingError(
                f"{path} has {len(table)} rows (last row {len(table)}); the crop {start}:{stop} "
                f"needs at least {stop}. Use a longer recording or pass another crop."
            )
        table = table[start:stop]
    return Recording(path.stem, table[:, 0].astype(np.float32), table[:, 1:].astype(np.float32))


def load_recordings(
    folder: str | Path, n_rois: int | None = None, crop: tuple[int, int] | None = CROP
) -> list[Recording]:
    """Every ``*.csv`` in ``folder`` (sorted by name), cropped; all must have as many ROIs
    as the first (or ``n_rois``)."""
    folder = Path(folder).expanduser()
    paths = sorted(folder.glob("*.csv"))
    if not paths:
        raise RecordingError(
            f"no CSV recordings in {folder}: point to a folder of recordings (no header, column 0 "
            "the stimulus, then one column per ROI) or simulate some with simulate_experiment()"
        )
    recordings = []
    for path in paths:
        recording = read_recording(path, n_rois, crop)
        n_rois = recording.responses.shape[1]
        recordings.append(recording)
    return recordings
