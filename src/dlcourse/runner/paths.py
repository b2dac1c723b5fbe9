"""Where notebooks live: the course folder, its notebooks, and their names in the report."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from dlcourse.runner.errors import RunnerError

COURSE_DIR_NAME = "PyTorch"


def find_course_dir(start: Path) -> Path:
    """The ``PyTorch/`` folder at or above ``start``: itself, a child, or an ancestor's."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if folder.name == COURSE_DIR_NAME:
            return folder
        if (folder / COURSE_DIR_NAME).is_dir():
            return folder / COURSE_DIR_NAME
    raise RunnerError(
        f"--all found no {COURSE_DIR_NAME}/ folder in {start} or above it; "
        "run it from the course's root folder, or name the notebooks to run"
    )


def course_notebooks(course_dir: Path) -> list[Path]:
    """Every ``*.ipynb`` under ``course_dir`` in sorted order, Jupyter's checkpoints left out."""
    found = (p for p in course_dir.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    return sorted(found, key=lambda p: p.relative_to(course_dir).as_posix())


def display_name(path: Path) -> str:
    """A notebook's name in the report: from its ``PyTorch/`` folder on, e.g.
    ``PyTorch/01_Basics/00_x.ipynb``; outside one, relative to the current directory, or
    else just the file name."""
    path = path.resolve()
    for folder in path.parents:
        if folder.name == COURSE_DIR_NAME:
            return path.relative_to(folder.parent).as_posix()
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.name


def output_relpath(name: str) -> PurePosixPath:
    """Where a notebook's executed copy goes inside the output folder: its name without the
    leading ``PyTorch/`` (``PyTorch/01_Basics/00_x.ipynb`` -> ``01_Basics/00_x.ipynb``)."""
    parts = PurePosixPath(name).parts
    if len(parts) > 1 and parts[0] == COURSE_DIR_NAME:
        parts = parts[1:]
    return PurePosixPath(*parts)
