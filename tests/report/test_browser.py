"""The HTML report in a real browser: headless Chromium driven by Playwright.

What only a browser can show: that the inline script really runs under the report's CSP
(a hash mismatch would block it and log an error), that filters, search, sorting and tabs
change what is shown, that the report loads nothing from anywhere, that with JavaScript off
every row is still there, and that hostile page text stays text.

Needs Playwright for Python and the Debian ``chromium`` package (scripts/install-browser.sh
installs the latter); Playwright's own browser download is never used. Without them the
module is skipped, saying which one is missing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from linkcheck.report.html_report import render_html
from tests.conftest import crawl
from tests.report.test_html_report import guide_site
from tests.server import Reply, TestServer

try:
    from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    pytest.skip(
        "Playwright for Python is not installed (pip install playwright)", allow_module_level=True
    )

CHROMIUM = os.environ.get("LINKCHECK_CHROMIUM", "/usr/bin/chromium")
if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):  # pragma: no cover
    pytest.skip(
        f"Chromium not found at {CHROMIUM} (run scripts/install-browser.sh as root, "
        "or set LINKCHECK_CHROMIUM)",
        allow_module_level=True,
    )

# Quiet, offline, and able to run as root in a container.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

HOSTILE_BODY = (
    '<a href="/gone">&lt;script&gt;alert("text")&lt;/script&gt;\u202eevil</a>\n'
    '<a href="/gone2"><img src="/x.png" alt="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"></a>\n'
    '<a href="/gone3&quot;&gt;&lt;svg onload=alert(2)&gt;">svg</a>\n'
    '<a href="javascript:alert(3)">js link</a>\n'
)


@dataclass
class Reports:
    guide: Path
    hostile: Path
    guide_host: str  # the "external" server's display host


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Reports:
    """Crawl first: the runs use asyncio, which must not share a thread with a live browser."""
    folder = tmp_path_factory.mktemp("browser")
    with guide_site() as site:
        (folder / "guide.html").write_text(site.html, encoding="utf-8")
        ext_host = f"127.0.0.1:{site.ext.port}"
    title = "&lt;/title&gt;&lt;script&gt;alert('title')&lt;/script&gt;"
    routes = {
        "/": Reply(
            200, f"<html><head><title>{title}</title></head><body>{HOSTILE_BODY}</body></html>"
        )
    }
    with TestServer(routes) as hostile:
        run = crawl(hostile.url("/"))
    (folder / "hostile.html").write_text("".join(render_html(run)), encoding="utf-8")
    return Reports(folder / "guide.html", folder / "hostile.html", ext_host)


@pytest.fixture(scope="module")
def browser(reports: Reports) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Watched:
    """A page with everything that could go wrong recorded: errors, requests, dialogs."""

    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def assert_clean(self, report: Path) -> None:
        assert self.errors == []
        assert self.failed == []
        assert self.dialogs == []
        assert self.requests == [report.as_uri()]  # the file itself, nothing else


def open_report(browser: Browser, report: Path, **context: Any) -> Iterator[Watched]:
    ctx = browser.new_context(**context)
    page = ctx.new_page()
    watched = Watched(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            watched.errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    page.on("request", lambda request: watched.requests.append(request.url))
    page.on("requestfailed", lambda request: watched.failed.append(request.url))

    def on_dialog(dialog: Any) -> None:
        watched.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(report.as_uri())
    try:
        yield watched
    finally:
        ctx.close()


@pytest.fixture
def guide(browser: Browser, reports: Reports) -> Iterator[Watched]:
    yield from open_report(browser, reports.guide)


def visible_rows(page: Page, panel: str) -> list[str]:
    return page.locator(f"#{panel} tr[data-kind]:visible").all_inner_texts()


def test_the_script_runs_under_the_csp_and_nothing_is_fetched(
    guide: Watched, reports: Reports
) -> None:
    page = guide.page
    assert page.locator("html.js").count() == 1  # the hashed script ran
    assert page.locator('[role="tablist"]').is_visible()
    assert page.locator("#by-page").is_visible() and not page.locator("#by-link").is_visible()
    assert page.locator("nav.toc").is_hidden()
    assert page.locator("#by-page article.page:visible").count() == 3
    guide.assert_clean(reports.guide)


def test_filters_and_search_change_what_is_shown(guide: Watched, reports: Reports) -> None:
    page = guide.page
    everything = visible_rows(page, "by-page")
    assert len(everything) == 6  # template row + 5 rows on three pages

    page.select_option("#f-kind", "moved")
    moved = visible_rows(page, "by-page")
    assert len(moved) == 1 and "Moved carrier" in moved[0]
    assert page.locator("#by-page article.page:visible").count() == 1
    assert page.locator("#by-page article.template").is_hidden()
    assert "Showing 1 group of" in page.locator("#f-status").inner_text()

    page.select_option("#f-kind", "")
    page.select_option("#f-scope", "internal")
    internal = visible_rows(page, "by-page")
    assert internal and all(reports.guide_host not in row for row in internal)
    assert len(internal) == 3  # nav item, dead page, missing image

    page.select_option("#f-scope", "")
    page.select_option("#f-host", reports.guide_host)
    assert len(visible_rows(page, "by-page")) == 3  # gone twice, moved once

    page.click("#f-clear")
    page.fill("#f-q", "dead a")
    searched = visible_rows(page, "by-page")
    assert len(searched) == 1 and "Dead A text" in searched[0]
    page.fill("#f-q", "gamma")  # a page's title finds its rows, and the nav links on it
    assert visible_rows(page, "by-page") == [
        row for row in everything if "Carrier gone again" in row or "Old nav item" in row
    ]
    page.fill("#f-q", "no such thing")
    assert visible_rows(page, "by-page") == []
    assert page.locator("#by-page [data-empty]").is_visible()

    page.click("#tab-by-link")  # the same filters apply to By link
    assert visible_rows(page, "by-link") == []
    page.click("#f-clear")
    assert len(visible_rows(page, "by-link")) == 5
    guide.assert_clean(reports.guide)


def test_columns_sort_both_ways(guide: Watched, reports: Reports) -> None:
    page = guide.page
    page.click("#tab-by-link")
    header = page.locator("#by-link th", has_text="Where")
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    counts = page.locator("#by-link tbody tr td:nth-child(4)").evaluate_all(
        "cells => cells.map(c => Number(c.dataset.sort))"
    )
    assert counts == sorted(counts) and counts[-1] == 4
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "descending"
    counts = page.locator("#by-link tbody tr td:nth-child(4)").evaluate_all(
        "cells => cells.map(c => Number(c.dataset.sort))"
    )
    assert counts == sorted(counts, reverse=True)

    page.click("#tab-external")
    links = page.locator("#external th", has_text="Links")
    links.locator("button").click()
    assert links.get_attribute("aria-sort") == "ascending"
    guide.assert_clean(reports.guide)


def test_keyboard_and_shortcuts(guide: Watched, reports: Reports) -> None:
    page = guide.page
    page.focus("#tab-by-page")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.id") == "tab-by-link"
    assert page.locator("#by-link").is_visible()
    page.keyboard.press("End")
    assert page.locator("#tab-unchecked").get_attribute("aria-selected") == "true"
    assert page.locator("#filters").is_hidden()  # filters belong to By page and By link

    page.click("#tab-external")
    page.click(f'[data-show-host="{reports.guide_host}"]')
    assert page.locator("#tab-by-link").get_attribute("aria-selected") == "true"
    assert page.input_value("#f-host") == reports.guide_host
    assert len(visible_rows(page, "by-link")) == 2

    page.click("#tab-redirects")
    page.click("#copy-moves")
    # not page.wait_for_function: its predicate is eval'd in the page, which the report's CSP
    # rightly forbids ('unsafe-eval'); page.evaluate runs outside the page's CSP
    deadline = time.monotonic() + 5
    while not page.evaluate("document.getElementById('copy-status').textContent"):
        assert time.monotonic() < deadline, "the copy button never reported back"
        time.sleep(0.02)
    guide.assert_clean(reports.guide)


def test_phone_width_and_print(browser: Browser, reports: Reports) -> None:
    for watched in open_report(browser, reports.guide, viewport={"width": 390, "height": 844}):
        page = watched.page
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # nothing forces sideways scrolling
        page.emulate_media(media="print")
        assert page.locator("section.view:visible").count() == 6  # every view on paper
        assert page.locator("#filters").is_hidden()
        watched.assert_clean(reports.guide)


def test_without_javascript_everything_is_visible(browser: Browser, reports: Reports) -> None:
    for watched in open_report(browser, reports.guide, java_script_enabled=False):
        page = watched.page
        assert page.locator("section.view:visible").count() == 6
        assert page.locator("nav.toc").is_visible()
        assert page.locator('[role="tablist"]').is_hidden()
        assert page.locator("#filters").is_hidden()
        assert page.locator("#copy-moves").is_hidden()
        assert len(visible_rows(page, "by-page")) == 6
        assert len(visible_rows(page, "by-link")) == 5
        assert page.locator("#external tbody tr:visible").count() == 1
        watched.assert_clean(reports.guide)


def test_hostile_page_text_stays_inert(browser: Browser, reports: Reports) -> None:
    for watched in open_report(browser, reports.hostile):
        page = watched.page
        assert page.evaluate("document.scripts.length") == 1  # the report's own
        assert (
            page.evaluate(
                "[...document.querySelectorAll('*')]"
                ".some(e => [...e.attributes].some(a => a.name.startsWith('on')))"
            )
            is False
        )
        assert page.locator("img, svg, iframe, object, embed").count() == 0
        assert page.evaluate(
            "[...document.links].every(a => /^(https?:|file:[^#]*#)/.test(a.href))"
        )
        # the text is shown as text, bidi override made visible
        assert '<script>alert("text")</script>\u2039U+202E\u203aevil' in page.inner_text("#by-page")
        assert page.title().startswith("Link report")
        # use the report: filters, search, every tab, hovering the rows
        page.fill("#f-q", "script")
        for tab in page.locator('[role="tab"]').all():
            tab.click()
            for row in page.locator("tr:visible").all()[:10]:
                row.hover()
        page.wait_for_timeout(100)
        assert watched.dialogs == []
        watched.assert_clean(reports.hostile)
