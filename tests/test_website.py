"""``dlcourse site``: the website built from a run folder (issue 29), without a browser.

The run folders are made by ``site_fixtures.write_run`` without a kernel; the browser checks
are in ``test_website_browser.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from site_fixtures import broken_links, executed_notebook, write_run

from dlcourse import course
from dlcourse.cli import main
from dlcourse.runner.figures import image_outputs, save_thumbnail
from dlcourse.runner.results import load_results, save_results

pytest.importorskip("mkdocs", reason="the site tools are missing: pip install -e '.[site]'")
from dlcourse.website.build import SiteError, build_site  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TWO = [course.COURSE[0], course.COURSE[3]]  # Fashion-MNIST (01_Basics), CIFAR-10 (02_...)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (">= 3263937 and <= 3263937", "= 3,263,937"),
        (">= 0.87", "≥ 0.87"),
        ("<= 0.0001", "≤ 0.0001"),
        ("<= 2.5 and < linear_baseline_test_mae", "≤ 2.5 and < linear_baseline_test_mae"),
        ("> 0", "> 0"),
    ],
)
def test_targets_read_as_the_catalogue_means_them(text, shown):
    goals = [course.Target.parse(part) for part in text.split(" and ")]
    assert course.describe(goals) == shown


def test_every_notebook_names_its_picture_and_headline():
    for entry in course.COURSE:
        assert isinstance(entry.figure, int)
        assert entry.headline_metric in entry.targets, entry.path
        assert entry.chapter in course.CHAPTERS, entry.path


def test_thumbnail_is_the_chosen_image_scaled_down(tmp_path):
    nb = executed_notebook("x", ["red", "green", "blue"])
    assert len(image_outputs(nb)) == 3
    dest = tmp_path / "t.png"
    assert save_thumbnail(nb, 1, dest, width=32)
    from PIL import Image

    with Image.open(dest) as image:
        assert image.size == (32, 24) and image.getpixel((5, 5))[:3] == (0, 128, 0)
    assert save_thumbnail(nb, 7, dest)  # past the last image: the last one
    with Image.open(dest) as image:
        assert image.getpixel((5, 5))[:3] == (0, 0, 255)
    assert not save_thumbnail(executed_notebook("none", []), 0, tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()


@pytest.fixture(scope="module")
def quick_site(tmp_path_factory):
    run = write_run(tmp_path_factory.mktemp("run"), TWO)
    out = tmp_path_factory.mktemp("site") / "site"
    build_site(run, out, project=ROOT, repo="someone/course")
    return out


def test_site_has_cards_pages_results_and_docs(quick_site):
    index = (quick_site / "index.html").read_text(encoding="utf-8")
    for entry in TWO:
        assert entry.title in index and entry.summary in index
        assert f"thumbs/{entry.path.removesuffix('.ipynb')}.png" in index
        page = quick_site / entry.path.replace(".ipynb", ".html")
        assert page.is_file() and (quick_site / entry.path).is_file()  # page and download
        html = page.read_text(encoding="utf-8")
        colab = f"https://colab.research.google.com/github/someone/course/blob/main/PyTorch/{entry.path}"
        assert colab in html and "Download notebook" in html
    assert "Basics" in index and "Image classification" in index
    assert "Smoke run" in index  # a quick run says so on every page
    assert "(target ≥ 0.91)" in index  # the headline metric against its target, not judged
    results = (quick_site / "results.html").read_text(encoding="utf-8")
    assert "results.svg" in results and "not judged" in results and "Total time" in results
    assert (quick_site / "converter.html").is_file() and (
        quick_site / "measurements.html"
    ).is_file()
    assert (quick_site / ".nojekyll").is_file()
    search = json.loads((quick_site / "search/search_index.json").read_text(encoding="utf-8"))
    assert TWO[0].title in {doc["title"] for doc in search["docs"]}
    assert broken_links(quick_site, "/course/") == []


def test_full_run_is_judged(tmp_path):
    run = write_run(tmp_path / "run", TWO, mode="full")
    results = load_results(run / "results.json")
    miss = results[1].metrics | {"best_test_accuracy": 0.5}
    save_results(
        [results[0], type(results[1])(**{**results[1].__dict__, "metrics": miss})],
        run / "results.json",
    )
    build_site(run, tmp_path / "site", project=ROOT)
    index = (tmp_path / "site/index.html").read_text(encoding="utf-8")
    assert "Smoke run" not in index and "md-banner" not in index  # no empty banner either
    assert "✓ pass" in index and "✗ fail" in index
    results_page = (tmp_path / "site/results.html").read_text(encoding="utf-8")
    assert "| fail |" not in results_page and ">fail<" in results_page


def test_notebook_without_image_gets_a_chart_of_its_metrics(tmp_path):
    run = write_run(tmp_path / "run", TWO[:1])
    (run / TWO[0].path).write_text(nbformat.writes(executed_notebook("x", [])))
    build_site(run, tmp_path / "site", project=ROOT)
    thumb = tmp_path / "site/thumbs" / TWO[0].path.replace(".ipynb", ".png")
    assert thumb.read_bytes().startswith(b"\x89PNG")


def test_site_command_replaces_the_old_site_and_reports_bad_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    run = write_run(tmp_path / "run", TWO[:1])
    out = tmp_path / "site"
    for _ in range(2):
        assert main(["site", "--run", str(run), "--out", str(out)]) == 0
        assert "Site: " in capsys.readouterr().out
        (out / "stale.html").write_text("old")
    assert (out / "index.html").is_file()
    assert main(["site", "--run", str(run), "--out", str(out)]) == 0
    assert not (out / "stale.html").exists()  # the second build replaced the first
    assert main(["site", "--run", str(tmp_path / "nothing"), "--out", str(out)]) == 2
    assert "holds no results.json" in capsys.readouterr().err
    assert (out / "index.html").is_file()  # a failed build leaves the last site


@pytest.mark.parametrize("out", ["run", "run/..", ".", "mine"])
def test_site_never_replaces_the_run_the_project_or_other_folders(tmp_path, monkeypatch, out):
    run = write_run(tmp_path / "run", TWO[:1])
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine/notes.txt").write_text("keep me")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SiteError, match="--out"):
        build_site(run, tmp_path / out, project=tmp_path)
    assert (tmp_path / "mine/notes.txt").read_text() == "keep me"
    assert (run / "results.json").is_file()
