"""The one error type the runner raises for bad input, before any notebook runs."""


class RunnerError(Exception):
    """Bad input to the runner (missing notebook, no course folder, ...); the message says why."""
