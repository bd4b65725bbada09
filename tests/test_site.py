"""The course website (`make site`) as a reader meets it, in a real browser: headless Chromium from Debian's
packages driven by selenium.  Every page loads without console errors, its formulas are rendered by MathJax,
its images are loaded, no internal link is broken, and search finds things.

The site is built by `make site` (and by `make test` before pytest); if build/site is missing, the first test
builds it.  The browser is installed by `make browser` (apt-get, as part of `make test`); where no browser can
be installed the browser tests skip and say why.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import subprocess
import threading
import urllib.parse
from pathlib import Path

import pytest
import browser as browser_for_tests
from problems import ROOT

SITE = ROOT / "build" / "site"
# What the course must contain: the start page, the lectures, 4 homeworks, 5 notes, the lecture map.
EXPECTED = (["notes/start.html"]
            + [f"lectures/{p.stem}.html" for p in sorted((ROOT / "lectures").glob("[0-9][0-9]-*.ipynb"))]
            + [f"assignments/hw{k}/hw{k}.html" for k in (1, 2, 3, 4)]
            + [f"notes/{n}.html" for n in ("notation", "derivations", "errata", "slides", "checks")]
            + ["lectures/README.html"])


@functools.cache
def site() -> Path:
    if not (SITE / "index.html").is_file():
        subprocess.run(["make", "site"], cwd=ROOT, check=True, capture_output=True)
    return SITE


class _Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links, self.images = set(), [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(a[key])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "img" and a.get("src"):
            self.images.append(a["src"])


@functools.cache
def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text("utf-8"))
    return page


def crawl() -> list[Path]:
    """Every HTML page reachable from index.html by internal links."""
    root = site()
    seen, todo = set(), [root / "index.html"]
    while todo:
        page = todo.pop()
        if page in seen or not page.is_file():
            continue
        seen.add(page)
        for href in parse(page).links:
            url = urllib.parse.urlsplit(href)
            if url.scheme or url.netloc or not url.path:
                continue
            target = (page.parent / urllib.parse.unquote(url.path)).resolve()
            if target.suffix == ".html" and target.is_relative_to(root):
                todo.append(target)
    return sorted(seen | {root / "search.html"})


def test_site_has_the_course():
    pages = crawl()
    rel = {str(p.relative_to(SITE)) for p in pages}
    missing = [p for p in EXPECTED if p not in rel]
    assert not missing, f"pages not reachable from index.html: {missing}"
    assert (SITE / "search.html").is_file() and (SITE / "searchindex.js").is_file(), "no search page or index"


def test_no_internal_link_is_broken():
    broken = []
    for page in crawl():
        for href in parse(page).links + parse(page).images:
            url = urllib.parse.urlsplit(href)
            if url.scheme in ("http", "https", "mailto") or url.netloc:
                continue
            target = (page.parent / urllib.parse.unquote(url.path)).resolve() if url.path else page
            if not target.exists():
                broken.append(f"{page.relative_to(SITE)}: {href} (no such file)")
            elif url.fragment and target.suffix == ".html" and url.fragment not in parse(target).ids:
                broken.append(f"{page.relative_to(SITE)}: {href} (no element with id {url.fragment!r})")
    assert not broken, "\n".join(broken[:30])


def test_no_page_loads_anything_from_the_web():
    """Browsers here reach no CDN: scripts, styles and fonts must be served from the build."""
    offenders = []
    for page in crawl():
        text = page.read_text("utf-8")
        for marker in ('src="http', "src='http", 'href="https://cdn', 'href="https://fonts', "@import url(http"):
            if marker in text:
                offenders.append(f"{page.relative_to(SITE)}: {marker}")
    assert not offenders, offenders


# ------------------------------------------------------------------ in the browser
@pytest.fixture(scope="module")
def server():
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site()))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    browser_for_tests.skip_unless_available()
    driver = browser_for_tests.start(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


MATHJAX_DONE = """
const done = arguments[arguments.length - 1];
if (!window.MathJax || !MathJax.startup) { done(false); return; }
MathJax.startup.promise.then(() => done(true)).catch(e => done('error: ' + e));
"""


def _pages():
    return [str(p.relative_to(SITE)) for p in crawl()] if (SITE / "index.html").is_file() else EXPECTED


@pytest.mark.parametrize("page", _pages())
def test_page_in_the_browser(browser, server, page):
    browser.get_log("browser")                                   # clear earlier messages
    browser.get(f"{server}/{page}")
    n_math = browser.execute_script("return document.querySelectorAll('.math').length")
    if n_math:
        assert browser.execute_async_script(MATHJAX_DONE) is True, f"{page}: MathJax did not finish"
        unrendered = browser.execute_script(
            "return [...document.querySelectorAll('.math')].filter(e => !e.querySelector('mjx-container')).length")
        errors = browser.execute_script(
            "return [...document.querySelectorAll('mjx-merror')].map(e => e.getAttribute('data-mjx-error'))")
        assert unrendered == 0, f"{page}: {unrendered} of {n_math} formulas not rendered"
        assert not errors, f"{page}: {len(errors)} formulas with TeX errors (MathJax says: {errors})"
    images = browser.execute_script(
        "return [...document.images].map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])")
    broken = [src for src, ok in images if not ok]
    assert not broken, f"{page}: images not loaded: {broken}"
    console = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert not console, f"{page}: console errors: {console}"
    if page.startswith("lectures/0"):
        assert n_math > 0 and images, f"{page}: a lecture without formulas or figures?"


def test_search_finds_a_term(browser, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{server}/search.html?q=ridge")
    WebDriverWait(browser, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#search-results li, ul.search li"))
    hits = [a.get_attribute("href")
            for a in browser.find_elements(By.CSS_SELECTOR, "#search-results li a, ul.search li a")]
    assert any("derivations" in h or "03-als" in h for h in hits), hits
    console = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert not console, console
