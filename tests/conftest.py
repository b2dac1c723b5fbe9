"""Fixtures shared by test files."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def course_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report folder of every notebook the suite executes (``test_notebooks.py``), so that
    the website test builds the site from them instead of running the course again."""
    return tmp_path_factory.mktemp("course_run")
