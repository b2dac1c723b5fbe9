"""The notebook runner behind ``dlcourse run``: execute notebooks, then report on them."""

from dlcourse.runner.errors import RunnerError
from dlcourse.runner.results import NotebookResult
from dlcourse.runner.run import run_notebooks

__all__ = ["NotebookResult", "RunnerError", "run_notebooks"]
