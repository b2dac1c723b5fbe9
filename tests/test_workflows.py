"""The GitHub Actions workflows: CI runs ``make test``; the website is built from a full-mode
run's artifact and deployed to Pages. actionlint checks both where it is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml", reason="pyyaml is missing: pip install -e '.[site]'")

WORKFLOWS = Path(__file__).resolve().parents[1] / ".github/workflows"


def load(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def test_ci_runs_make_test():
    ci = load("ci.yml")
    assert {"push", "pull_request"} <= set(ci["on"])
    commands = [step.get("run", "") for step in steps(ci, "test")]
    assert any(command.startswith("make test") for command in commands)
    assert any("download.pytorch.org/whl/cpu" in command for command in commands)
    linted = [step.get("uses", "") for step in steps(ci, "workflows")]
    assert any(uses.startswith("docker://rhysd/actionlint") for uses in linted)


def test_pages_builds_the_site_from_a_full_run_artifact():
    pages = load("pages.yml")
    full = steps(pages, "full-run")
    assert any(step.get("run", "").startswith("make full") for step in full)
    upload = next(s for s in full if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"] == upload["with"] | {"name": "full-run", "path": "build/full"}
    site = steps(pages, "site")
    download = next(s for s in site if s.get("uses", "").startswith("actions/download-artifact"))
    assert download["with"]["name"] == "full-run"
    assert any(step.get("run", "").startswith("make site") for step in site)
    assert any(s.get("uses", "").startswith("actions/upload-pages-artifact") for s in site)
    deploy = pages["jobs"]["deploy"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages")


def test_actionlint_finds_nothing():
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not installed (CI runs it in its own job)")
    files = sorted(str(path) for path in WORKFLOWS.glob("*.yml"))
    done = subprocess.run([actionlint, *files], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
