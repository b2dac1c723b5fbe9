"""The course website and the run report in a real browser (headless Chromium, issue 29).

The site is built from the quick run the suite has just made (``tests/test_notebooks.py`` writes
every executed notebook into the session's ``course_run`` folder), so the course is not executed
a second time; run alone, the test builds from ``DLCOURSE_SITE_RUN`` when set (a folder written
by ``dlcourse run``), else from a small run made without a kernel. A screenshot of the landing
page at 1,280 x 800 is written to ``build/site-landing-1280x800.png``.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from site_fixtures import broken_links, write_run

from dlcourse import course
from dlcourse.runner.results import load_results

pytest.importorskip("mkdocs", reason="the site tools are missing: pip install -e '.[site]'")
webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is missing: pip install -e '.[dev]'"
)
from dlcourse.website.build import build_site  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "build/site-landing-1280x800.png"
REPO = "example/dlcourse"
PREFIX = "/dlcourse/"  # the site's path on GitHub Pages (https://example.github.io/dlcourse/)


def _chromium() -> tuple[str, str]:
    """Chromium (Debian's chromium, or the Chrome of GitHub's runners) and its driver, or a
    skip saying how to get them."""
    names = ("chromium", "chromium-browser", "google-chrome")
    browser = next((found for name in names if (found := shutil.which(name))), None)
    driver = shutil.which("chromedriver") or shutil.which(
        "chromedriver", path=os.environ.get("CHROMEWEBDRIVER", "")
    )
    if not browser or not driver:
        pytest.skip(
            "headless Chromium is missing: apt-get install -y chromium chromium-driver "
            "(.ci/run installs them when it can)"
        )
    return browser, driver


@pytest.fixture(scope="module")
def run_dir(course_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The suite's quick run when it holds the whole course, else DLCOURSE_SITE_RUN, else a
    small run made here."""
    results = course_run / "results.json"
    done = {r.notebook for r in load_results(results)} if results.is_file() else set()
    if sum(course.find(name) is not None for name in done) == len(course.COURSE):
        return course_run
    if os.environ.get("DLCOURSE_SITE_RUN"):
        return Path(os.environ["DLCOURSE_SITE_RUN"])
    return write_run(tmp_path_factory.mktemp("run"), list(course.COURSE[:5]))


@pytest.fixture(scope="module")
def site(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    start = time.perf_counter()
    build_site(run_dir, out, project=ROOT, repo=REPO)
    print(f"site built in {time.perf_counter() - start:.1f} s from {run_dir}")
    return out


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    """The site over HTTP under /dlcourse/, as GitHub Pages serves it (search needs HTTP)."""
    root = site.parent / "www"
    root.mkdir(exist_ok=True)
    (root / PREFIX.strip("/")).symlink_to(site, target_is_directory=True)
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}{PREFIX}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    binary, driver = _chromium()
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
        options.add_argument(arg)
    options.add_argument("--window-size=1280,800")
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    metrics = {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False}
    chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)  # the viewport
    try:
        yield chrome
    finally:
        chrome.quit()


def _open(chrome: object, url: str) -> None:
    chrome.get(url)
    for _ in range(100):  # until every image has finished (loaded or failed)
        if chrome.execute_script(
            "return document.readyState === 'complete' && "
            "[...document.images].every(i => i.complete)"
        ):
            return
        time.sleep(0.1)


def _load_lazy_images(chrome: object, selector: str) -> list[tuple[str, int]]:
    """Scroll each image into view (they load lazily), wait, and return (src, naturalWidth)."""
    chrome.execute_script(
        f"document.querySelectorAll({selector!r}).forEach(i => i.scrollIntoView())"
    )
    script = f"return [...document.querySelectorAll({selector!r})]"
    for _ in range(100):
        if chrome.execute_script(script + ".every(i => i.complete)"):
            break
        time.sleep(0.1)
    return chrome.execute_script(script + ".map(i => [i.getAttribute('src'), i.naturalWidth])")


def test_no_broken_internal_link_or_image(site):
    assert broken_links(site, PREFIX) == []


def test_search_index_holds_notebook_titles(site, run_dir):
    index = json.loads((site / "search/search_index.json").read_text(encoding="utf-8"))
    titles = {doc["title"] for doc in index["docs"]}
    ran = [course.find(r.notebook) for r in load_results(run_dir / "results.json")]
    assert ran and all(entry.title in titles for entry in ran if entry)


def test_landing_page_cards_show_their_pictures(browser, server, site, run_dir):
    _open(browser, server + "index.html")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT))
    tops = browser.execute_script(
        "return [...document.querySelectorAll('.grid.cards img.thumb')].map(i => "
        "i.getBoundingClientRect().top)"
    )
    assert tops and min(tops) < 800  # pictures above the fold at 1,280 x 800
    cards = _load_lazy_images(browser, ".grid.cards img.thumb")
    ran = [r for r in load_results(run_dir / "results.json") if course.find(r.notebook)]
    assert len(cards) == len(ran)
    assert [src for src, width in cards if width == 0] == []  # every thumbnail loaded
    chapters = browser.execute_script(
        "return [...document.querySelectorAll('h2.chapter')].map(h => "
        "h.getBoundingClientRect().top)"
    )
    assert chapters and chapters[0] < 800
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 1280
    toggles = browser.find_elements("css selector", "form[data-md-component='palette'] input")
    assert len(toggles) == 2  # light and dark
    if any(r.mode != "full" for r in ran):
        assert "Smoke run" in browser.find_element("css selector", "body").text


def test_notebook_page_has_buttons_and_neighbours(browser, server, run_dir):
    first = load_results(run_dir / "results.json")[0].notebook
    page = first.removeprefix("PyTorch/").removesuffix(".ipynb")
    _open(browser, f"{server}{page}.html")
    links = {
        a.text.strip(): a.get_attribute("href")
        for a in browser.find_elements("css selector", ".nb-actions a")
    }
    assert links["Open in Colab"] == (
        f"https://colab.research.google.com/github/{REPO}/blob/main/{first}"
    )
    assert links["Download notebook"].endswith(f"{page}.ipynb")
    assert browser.find_elements("css selector", "a.md-footer__link--next")  # next page
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 1280


def test_search_finds_a_notebook_by_title(browser, server, run_dir):
    entry = course.find(load_results(run_dir / "results.json")[0].notebook)
    _open(browser, server + "index.html")
    box = browser.find_element("css selector", "input.md-search__input")
    box.click()
    word = entry.title.split(":")[0]
    box.send_keys(word)
    found = ""
    for _ in range(100):  # the results list is redrawn as the index loads: read it by script
        found = browser.execute_script(
            "const r = document.querySelector('.md-search-result__list');"
            "return r ? r.innerText : ''"
        )
        if word in found:
            break
        time.sleep(0.1)
    assert word in found


def test_results_page_shows_the_chart_and_the_run(browser, server):
    _open(browser, server + "results.html")
    chart = browser.execute_script(
        "const i = document.querySelector('img[src$=\"results.svg\"]');return i && i.naturalWidth"
    )
    assert chart and chart > 0
    text = browser.find_element("css selector", "article").text
    assert "Total time" in text and "Versions" in text


def test_run_report_fits_1280_pixels(browser, run_dir):
    """The report of ``dlcourse run`` (still what CI publishes) has no horizontal overflow."""
    if not (run_dir / "index.html").is_file():
        pytest.skip("this run folder has no report of dlcourse run")
    _open(browser, (run_dir / "index.html").as_uri())
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 1280
