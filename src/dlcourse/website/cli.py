"""``dlcourse site``: build the course website from an earlier run, without executing anything."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from dlcourse.runner.errors import RunnerError
from dlcourse.runner.paths import find_course_dir

DEFAULT_REPO = "YOUR-ACCOUNT/dlcourse"  # the README's placeholder, replaced when publishing
DEFAULT_RUN = Path("build/full")
DEFAULT_OUT = Path("build/site")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``dlcourse site``."""
    p = subparsers.add_parser(
        "site",
        help="build the course website from an earlier run",
        description="Build the course website (MkDocs, Material theme, mkdocs-jupyter) from the "
        "executed notebooks and results.json of an earlier `dlcourse run`; nothing is executed. "
        "A quick run's site is marked as a smoke run on every page.",
    )
    p.add_argument(
        "--run",
        type=Path,
        default=DEFAULT_RUN,
        metavar="DIR",
        help=f"the run folder (default {DEFAULT_RUN}, what `make full` writes)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"where the site goes; replaced when the build succeeds (default {DEFAULT_OUT})",
    )
    p.add_argument(
        "--repo",
        default=os.environ.get("GITHUB_REPOSITORY") or DEFAULT_REPO,
        metavar="OWNER/NAME",
        help="the GitHub repository that 'Open in Colab' opens (default $GITHUB_REPOSITORY, "
        f"else {DEFAULT_REPO})",
    )
    p.add_argument("--branch", default="main", help="its branch (default main)")
    p.set_defaults(func=site_command)


def site_command(args: argparse.Namespace) -> int:
    """Build the site; 0 on success, 2 when it cannot be built."""
    try:
        from dlcourse.website.build import SiteError, build_site
    except ImportError as err:
        print(
            f"dlcourse site: error: {err.name or err} is missing; install the site tools with "
            "pip install -e '.[site]'",
            file=sys.stderr,
        )
        return 2
    start = time.perf_counter()
    try:
        project = find_course_dir(Path.cwd()).parent
        index = build_site(args.run, args.out, project=project, repo=args.repo, branch=args.branch)
    except (SiteError, RunnerError) as err:
        print(f"dlcourse site: error: {err}", file=sys.stderr)
        return 2
    print(f"Site: {index} (built in {time.perf_counter() - start:.1f} s from {args.run})")
    return 0
