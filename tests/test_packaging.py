"""Every file the package reads at run time ships in its wheel, not only in a checkout."""

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11 and newer
ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "dlcourse"


def test_every_data_file_of_the_package_is_declared_as_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["dlcourse"]
    data_files = [
        path.relative_to(PACKAGE)
        for path in PACKAGE.rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts
    ]
    assert data_files, "the package has no data files: update this test"
    missing = [str(f) for f in data_files if not any(f.match(p) for p in patterns)]
    assert not missing, f"add these to [tool.setuptools.package-data] in pyproject.toml: {missing}"
