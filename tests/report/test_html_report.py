"""The editors' HTML report, without a browser: what it shows, how it groups, and that it stays inert.

Runs come from real crawls of loopback servers (tests/server.py), so the report is tested on
the same data a user's run produces. Markup is inspected with small regex helpers: the
sections, rows and cells the template writes are regular enough for that.
"""

from __future__ import annotations

import base64
import hashlib
import html as htmllib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment
from markupsafe import Markup

from linkcheck.models import (
    CheckResult,
    ErrorKind,
    Link,
    Occurrence,
    Occurrences,
    Page,
    RunResult,
    Verdict,
)
from linkcheck.report import html_report
from linkcheck.report.advice import Limits, advice_for, explain
from linkcheck.report.html_report import build_report, neutralize, render_html
from tests.conftest import crawl
from tests.server import Reply, TestServer, page, redirect


def titled(title: str, body: str) -> Reply:
    return Reply(
        200,
        f"<!DOCTYPE html><html><head><title>{title}</title></head>\n<body>\n{body}\n</body></html>",
    )


def section(html: str, section_id: str) -> str:
    found = re.search(rf'<section id="{section_id}".*?</section>', html, re.S)
    assert found is not None, section_id
    return found.group()


def text(fragment: str) -> str:
    """The visible text of a piece of markup, whitespace collapsed."""
    without_tags = re.sub(r"<[^>]+>", " ", fragment)
    return " ".join(htmllib.unescape(without_tags).split())


def rows(fragment: str, table_class: str) -> list[list[str]]:
    """The body rows of the table with ``table_class`` as lists of cell texts."""
    table = re.search(rf'<table class="[^"]*\b{table_class}\b[^"]*">(.*?)</table>', fragment, re.S)
    assert table is not None, table_class
    body = table.group(1).split("<tbody>", 1)[1]
    return [
        [text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def cards(fragment: str) -> dict[str, str]:
    """By page: each page card's title -> its text."""
    found = re.findall(
        r'<article class="group page".*?<h3>(.*?)</h3>(.*?)</article>', fragment, re.S
    )
    return {text(title): text(body) for title, body in found}


@dataclass
class Site:
    run: RunResult
    html: str
    site: TestServer
    ext: TestServer

    def ext_url(self, path: str) -> str:
        return self.ext.url(path)


NAV = '<nav><a href="/">Home</a> <a href="/missing-nav.html">Old nav item</a> <a href="/a.html">A</a> <a href="/b.html">B</a> <a href="/c.html">C</a></nav>'


@contextmanager
def guide_site() -> Iterator[Site]:
    """Four pages sharing a nav with one dead item, and links to a second ("external") server."""
    ext_routes = {
        "/ok": Reply(200, "ok"),
        "/gone": Reply(404, "gone"),
        "/moved": redirect("/new"),
        "/new": Reply(200, "new"),
        "/temp": redirect("/new", 302),
    }
    with TestServer(ext_routes) as ext:
        e = ext.url
        routes = {
            "/": titled("Home page", f'{NAV}\n<a href="{e("/ok")}">Carrier</a>'),
            "/a.html": titled(
                "Alpha page",
                f'{NAV}\n<p><a href="/dead-a.html">Dead A text</a></p>\n'
                f'<a href="{e("/gone")}">Carrier gone</a>\n<img src="/missing.png" alt="Diagram">',
            ),
            "/b.html": titled(
                "Beta page",
                f'{NAV}\n<a href="{e("/moved")}#frag">Moved carrier</a>\n'
                f'<a href="{e("/temp")}">Temp</a>\n<a href="mailto:x@y.example">mail us</a>',
            ),
            "/c.html": titled(
                "Gamma page", f'{NAV}\n<a href="{e("/gone")}">Carrier gone again</a>'
            ),
        }
        with TestServer(routes) as site:
            run = crawl(site.url("/"))
            yield Site(run, "".join(render_html(run)), site, ext)


@pytest.fixture(scope="module")
def guide() -> Iterator[Site]:
    with guide_site() as site:
        yield site


def test_summary_says_what_was_crawled_and_what_to_do(guide: Site) -> None:
    summary = text(section(guide.html, "summary"))
    assert "4 dead links to fix" in summary and "1 moved link to update" in summary
    assert "on 3 pages and in the site navigation" in summary
    assert "Complete" in summary and "every page in scope was crawled" in summary
    assert guide.site.url("/") in summary and "4 pages" in summary
    counts = guide.run.counts()
    for label, key in (("broken", "broken"), ("fine", "ok"), ("skipped", "skipped")):
        assert f"{counts[key]} {label}" in summary
    assert "1 moved · 1 temporary" in summary
    assert "Since the run" not in summary  # no previous run given


def test_by_page_lists_each_page_with_the_link_as_written(guide: Site) -> None:
    by_page = section(guide.html, "by-page")
    pages = cards(by_page)
    # Home has only the nav problem (grouped once below) and a working link: no card
    assert set(pages) == {"Alpha page", "Beta page", "Gamma page"}
    alpha = pages["Alpha page"]
    assert "“Dead A text”" not in alpha  # the quotes are CSS, the text is plain
    assert "Dead A text /dead-a.html 4 Not found (404)" in alpha  # text, href, line, verdict
    assert "Diagram image /missing.png" in alpha  # an image is named as one
    assert guide.ext_url("/gone") in alpha and "Update the link" in alpha
    beta = pages["Beta page"]
    assert "Moved carrier" in beta and "Moved permanently" in beta
    assert f"New address: {guide.ext_url('/new')}" in beta
    assert "Temp" not in beta.split()  # temporary redirects are not work for the editor
    assert "Carrier gone again" in pages["Gamma page"]


def test_template_links_are_grouped_once(guide: Site) -> None:
    by_page = section(guide.html, "by-page")
    template = re.search(r'<article class="group template".*?</article>', by_page, re.S)
    assert template is not None
    assert "in the site navigation, on all 4 pages" in text(template.group())
    assert "Old nav item" in text(template.group())
    assert by_page.count("/missing-nav.html</code>") == 1  # not repeated on every page's card
    assert "Old nav item" not in "".join(cards(by_page).values())


def test_by_link_names_each_problem_once_with_its_pages(guide: Site) -> None:
    table = rows(section(guide.html, "by-link"), "links")
    urls = [row[0] for row in table]
    assert len(urls) == 5  # nav item, dead-a, missing.png, gone, moved
    gone = next(row for row in table if guide.ext_url("/gone") in row[0])
    assert gone[0].startswith("Carrier gone")
    assert "external · 127.0.0.1:" in gone[0]
    assert "on 2 pages" in gone[3] and "Alpha page" in gone[3] and "Gamma page" in gone[3]
    nav = next(row for row in table if "missing-nav.html" in row[0])
    assert "in the site navigation, on all 4 pages" in nav[3]
    assert [row[1].split(")")[0] + ")" for row in table][:3] == ["Not found (404)"] * 3


def test_redirects_give_a_ready_replacement_list(guide: Site) -> None:
    redirects = section(guide.html, "redirects")
    listing = re.search(r'<textarea id="moves"[^>]*>(.*?)</textarea>', redirects, re.S)
    assert listing is not None
    lines = htmllib.unescape(listing.group(1)).splitlines()
    assert lines == [f"{guide.ext_url('/moved')}#frag -> {guide.ext_url('/new')}#frag"]
    moved = rows(redirects, "moves")
    assert len(moved) == 1 and "301 → 200" in moved[0][2]
    temporary = rows(redirects, "temporary")
    assert len(temporary) == 1 and guide.ext_url("/temp") in temporary[0][0]
    assert "302 → 200" in temporary[0][2]


def test_external_sites_table_counts_per_host(guide: Site) -> None:
    hosts = rows(section(guide.html, "external"), "hosts")
    assert len(hosts) == 1  # the site's own host is not external
    host, links, dead, moved, blocked, fine, unchecked, pages = hosts[0]
    assert host.startswith(f"127.0.0.1:{guide.ext.port}")
    # ok, gone, moved, temp: one dead, one moved, the temporary redirect works
    assert (links, dead, moved, blocked, fine, unchecked, pages) == (
        "4",
        "1",
        "1",
        "0",
        "2",
        "0",
        "4",
    )
    assert 'data-show-host="127.0.0.1:' in guide.html  # JS-only shortcut to its problems


def test_not_checked_lists_skipped_links_with_the_reason(guide: Site) -> None:
    unchecked = rows(section(guide.html, "unchecked"), "unchecked")
    assert [row[0] for row in unchecked] == ["mailto:x@y.example"]
    assert unchecked[0][1]  # a reason is given


def test_filter_controls_and_row_data(guide: Site) -> None:
    filters = re.search(
        r'<div class="filters".*?</div>\n</div>|<div class="filters".*?<section', guide.html, re.S
    )
    assert filters is not None
    controls = filters.group()
    assert " hidden data-js" in controls  # invisible until the script runs
    assert '<option value="broken">Broken (4)</option>' in controls
    assert '<option value="moved">Moved (1)</option>' in controls
    assert f'<option value="127.0.0.1:{guide.ext.port}">' in controls
    for row in re.findall(r"<tr data-kind[^>]*>", guide.html):
        assert re.fullmatch(
            r'<tr data-kind="(broken|error|moved|blocked|rate-limited)" '
            r'data-scope="(internal|external)" data-host="[^"]*">',
            row,
        ), row


def test_new_and_fixed_since_the_previous_run() -> None:
    routes = {
        "/": titled("Home", '<a href="/x">X</a> <a href="/y">Y</a> <a href="/w">W</a>'),
        "/y": Reply(200, "y"),
    }
    with TestServer(routes) as site:
        before = crawl(site.url("/"))  # /x and /w dead, /y fine
        site.routes["/x"] = Reply(200, "x")  # fixed
        del site.routes["/y"]  # newly dead
        site.routes["/"] = titled("Home", '<a href="/x">X</a> <a href="/y">Y</a>')  # /w removed
        after = crawl(site.url("/"))
    html = "".join(render_html(after, before))
    changes = re.search(r'<div class="changes".*?</div>\n    </div>\n  </div>', html, re.S)
    assert changes is not None
    shown = text(changes.group())
    assert "1 new dead link" in shown and site.url("/y") in shown
    assert "2 fixed" in shown
    assert f"{site.url('/x')} Not found (404) → works" in shown
    assert f"{site.url('/w')} Not found (404) → no longer linked" in shown
    assert 'class="tag new"' in section(html, "by-page")  # the new problem is marked where it is

    # a partial run cannot tell whether an absent link was fixed: it says so instead
    after.interrupted = True
    report = build_report(after, before)
    assert report.changes is not None
    assert [f.url for f in report.changes.fixed] == [site.url("/x")]
    assert report.changes.not_reached == 1

    # a previous run that crawled nothing is no baseline: not "everything is new"
    before.pages = []
    html = "".join(render_html(after, before))
    assert "nothing to compare with" in text(section(html, "summary"))
    assert 'class="tag new"' not in html


@pytest.mark.parametrize(
    ("result", "label", "words"),
    [
        (CheckResult("http://h/", Verdict.BROKEN, 404), "Not found (404)", "new address"),
        (CheckResult("http://h/", Verdict.BROKEN, 410), "Gone (410)", "Remove the link"),
        (CheckResult("http://h/", Verdict.BROKEN, 401), "Login required (401)", "accounts"),
        (CheckResult("http://h/", Verdict.BROKEN, 403), "Forbidden (403)", "in a browser"),
        (CheckResult("http://h/", Verdict.BROKEN, 429), "Rate limited (429)", "probably works"),
        (CheckResult("http://h/", Verdict.BROKEN, 500), "Server error (500)", "that server"),
        (CheckResult("http://h/", Verdict.BROKEN, 503), "Unavailable (503)", "again later"),
        (CheckResult("http://h/", Verdict.BROKEN, 418), "Client error (418)", "in a browser"),
        (
            CheckResult("http://nowhere.example/", Verdict.ERROR, error=ErrorKind.DNS),
            "No such site (DNS)",
            "typos",
        ),
        (CheckResult("http://h/", Verdict.ERROR, error=ErrorKind.CONNECT), "Unreachable", "down"),
        (CheckResult("http://h/", Verdict.ERROR, error=ErrorKind.TLS), "Insecure", "warning"),
        (CheckResult("http://h/", Verdict.ERROR, error=ErrorKind.TIMEOUT), "Timed out", "later"),
        (
            CheckResult("http://h/", Verdict.ERROR, error=ErrorKind.REDIRECT_LOOP),
            "Redirect loop",
            "circle",
        ),
        (
            CheckResult("http://h/", Verdict.ERROR, error=ErrorKind.INVALID_URL),
            "Invalid address",
            "Fix the href",
        ),
    ],
)
def test_advice_in_plain_words(result: CheckResult, label: str, words: str) -> None:
    advice = advice_for(result, Limits(timeout=20.0, max_redirects=10))
    assert advice.label.startswith(label)
    assert words in advice.what + " " + advice.todo
    assert advice.what.endswith(".") and advice.todo.endswith(".")


def test_advice_quotes_the_run_settings() -> None:
    limits = Limits.from_summary({"http": {"timeout": 20.0, "max_redirects": 10}})
    assert limits == Limits(timeout=20.0, max_redirects=10)
    timeout = CheckResult("http://h/", Verdict.ERROR, error=ErrorKind.TIMEOUT)
    assert advice_for(timeout, limits).what == "The server did not answer within 20 s."
    assert advice_for(timeout).what == "The server did not answer in time."
    loop = CheckResult("http://h/", Verdict.ERROR, error=ErrorKind.TOO_MANY_REDIRECTS)
    assert "more than 10 redirects" in advice_for(loop, limits).what
    assert Limits.from_summary({"http": {"timeout": True}}) == Limits()
    dns = CheckResult("http://nowhere.example/", Verdict.ERROR, error=ErrorKind.DNS)
    assert "nowhere.example" in advice_for(dns).what
    # the terminal summary's one-liner keeps the status and the checker's detail
    assert explain(CheckResult("http://h/", Verdict.BROKEN, 404)).endswith("(404).")
    refused = CheckResult("http://h/", Verdict.ERROR, error=ErrorKind.CONNECT, message="refused")
    assert explain(refused).endswith("(Refused.)")


def test_advice_covers_every_verdict_and_error_kind() -> None:
    for verdict in Verdict:
        assert advice_for(CheckResult("http://h/", verdict, 999)).label
    for kind in ErrorKind:
        advice = advice_for(CheckResult("http://h/", Verdict.ERROR, error=kind))
        assert advice.label and advice.what and advice.todo, kind


def test_a_timeout_is_explained_with_the_configured_limit() -> None:
    routes = {"/": titled("Home", '<a href="/slow">Slow page</a>'), "/slow": Reply(200, delay=1.5)}
    with TestServer(routes) as site:
        run = crawl(site.url("/"), http={"timeout": 0.4, "retries": 0})
    html = "".join(render_html(run))
    assert "The server did not answer within 0.4 s." in html
    assert "Timed out" in html


def test_a_clean_run_says_so_and_offers_no_filters() -> None:
    routes = {"/": titled("Home", '<a href="/fine">Fine</a>'), "/fine": Reply(200, "ok")}
    with TestServer(routes) as site:
        run = crawl(site.url("/"))
    html = "".join(render_html(run))
    assert "No dead or moved links." in text(section(html, "summary"))
    assert "Nothing to fix" in text(section(html, "by-page"))
    assert 'id="filters"' not in html


def test_limits_and_interruptions_are_stated() -> None:
    routes = {"/": titled("Home", '<a href="/next">Next</a>'), "/next": titled("Next", "")}
    with TestServer(routes) as site:
        run = crawl(site.url("/"), crawl={"max_pages": 1})
    summary = text(section("".join(render_html(run)), "summary"))
    assert "Stopped at a limit" in summary and "max pages (1)" in summary
    run.interrupted, run.interrupted_by = True, "SIGTERM"
    summary = text(section("".join(render_html(run)), "summary"))
    assert "Partial report" in summary and "Interrupted by SIGTERM" in summary


def test_long_lists_are_cut_but_every_page_is_in_by_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(html_report, "PAGES_LISTED", 2)
    nav = '<a href="/nav-dead.html">Nav</a>'
    routes = {
        "/": titled("Home", nav + "".join(f'<a href="/p{i}.html">P{i}</a>' for i in range(6)))
    }
    for i in range(6):  # 7 pages; /shared-dead.html on 3 of them: below the template share
        extra = '<a href="/shared-dead.html">Shared</a>' if i < 3 else ""
        routes[f"/p{i}.html"] = titled(f"Page {i}", nav + extra)
    with TestServer(routes) as site:
        run = crawl(site.url("/"))
    html = "".join(render_html(run))
    shared = next(r for r in rows(section(html, "by-link"), "links") if "shared-dead" in r[0])
    assert "on 3 pages" in shared[3] and "and 1 more (all in By page)" in shared[3]
    pages = cards(section(html, "by-page"))
    assert sorted(p for p, body in pages.items() if "Shared" in body) == [
        "Page 0",
        "Page 1",
        "Page 2",
    ]
    # the nav link on all 7 pages: one row in By page and one in By link, not 7 + 7
    assert len(re.findall(r"<tr [^>]*>\s*<td[^>]*>[^\n]*Nav", html)) == 2


def test_scripts_and_styles_run_only_by_hash(guide: Site) -> None:
    html = guide.html
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    policy = dict(part.strip().split(" ", 1) for part in csp.group(1).split(";"))
    assert policy["default-src"] == "'none'"
    assert "unsafe-inline" not in csp.group(1) and "unsafe-eval" not in csp.group(1)
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, re.S)
    styles = re.findall(r"<style[^>]*>(.*?)</style>", html, re.S)
    assert len(scripts) == 1 and len(styles) == 1
    for body, directive in ((scripts[0], "script-src"), (styles[0], "style-src")):
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
        assert policy[directive] == f"'sha256-{digest}'"
    packaged = resources.files("linkcheck.report").joinpath("templates", "report.js")
    assert scripts[0] == packaged.read_text("utf-8")  # nothing from the run is templated in
    assert not re.findall(r"<[a-z]+\s[^>]*?\son[a-z]+=", html)  # no inline event handlers


HOSTILE_TITLE = "Evil \u202etxt.exe\u202c <script>alert('title')</script>"


def test_hostile_text_stays_inert_everywhere() -> None:
    evil_path = "/moved?q=</textarea><script>alert(5)</script>"
    routes: dict[str, Reply] = {
        "/moved": redirect("/new"),
        "/new": Reply(200, "new"),
    }
    with TestServer(routes) as site:
        body = (
            f'<a href="{site.url(evil_path)}">moved &lt;/textarea&gt;</a>\n'
            '<a href="/gone&quot; onmouseover=&quot;alert(6)">'
            "&lt;img src=x onerror=alert(7)&gt;\u2066hidden\u2069</a>\n"
            '<a href="javascript:alert(8)">js</a>\n'
            '<a href="/x" data-host="&quot;><script>alert(9)</script>">x</a>\n'
            # one text, two targets: a finding whose text and targets the report lists
            '<a href="/p1?&lt;script&gt;">&lt;script&gt;alert(10)</a>'
            '<a href="/p2">&lt;script&gt;alert(10)</a>'
        )
        routes["/"] = Reply(
            200,
            f"<html><head><title>{htmllib.escape(HOSTILE_TITLE)}</title></head>"
            f"<body>{body}</body></html>",
        )
        site.routes.update(routes)
        run = crawl(site.url("/"))
    html = "".join(render_html(run))
    assert any(finding.targets for finding in run.findings)  # listed in the report
    assert html.lower().count("<script") == 1  # ours, at the end
    assert html.lower().count("</textarea>") == 1
    assert "<img" not in html
    assert "\u202e" not in html and "\u2066" not in html and "\u202c" not in html
    assert (
        "\u2039U+202E\u203atxt.exe" in html and "\u2039U+2066\u203ahidden\u2039U+2069\u203a" in html
    )
    assert not re.findall(r"<[a-z]+\s[^>]*?\son[a-z]+=", html)  # no event handler attribute
    assert 'href="javascript:' not in html
    listing = re.search(r'<textarea id="moves"[^>]*>(.*?)</textarea>', html, re.S)
    assert listing is not None and "&lt;/textarea&gt;&lt;script&gt;" in listing.group(1)
    for href in re.findall(r'href="([^"]*)"', html):
        assert href.startswith(("http://", "https://")) or re.fullmatch(r"#[a-z-]+", href)


def test_neutralize_keeps_markup_markup() -> None:
    cleaned = neutralize(Markup("a\u202eb &amp; c"))
    assert isinstance(cleaned, Markup) and cleaned == Markup("a\u2039U+202E\u203ab &amp; c")
    assert neutralize("x\u0007") == "x\u2039U+0007\u203a"
    assert neutralize(3) == 3


def test_content_findings_and_orphans_have_their_own_view() -> None:
    from linkcheck.models import Finding
    from linkcheck.report.html_report import render_html

    with TestServer({"/": page('<a href="/a">click here</a>'), "/a": page("")}) as site:
        run = crawl(site.url("/"))
    run.orphans = [site.url("/forgotten.html")]
    run.findings.append(
        Finding(
            "inconsistent-link",
            "warning",
            site.url("/a"),
            "",
            "/a",
            "",
            0,
            "The same page is linked in 2 forms.",
        )
    )
    html = "".join(render_html(run))
    assert 'id="content"' in html and "generic link text" in html
    assert "“click here”" in html and "the whole site" in html
    assert site.url("/forgotten.html") in html


def test_idn_hosts_show_both_forms() -> None:
    from linkcheck.report.html_report import idn_host, render_html

    assert idn_host("http://xn--bcher-kva.example/path") == "bücher.example"
    assert idn_host("http://plain.example/xn--not-a-host") == ""
    with TestServer({"/": page('<a href="http://bücher.invalid/">books</a>')}) as site:
        # remapped to a dead loopback page: reported as broken, and no name is ever resolved
        remap = [{"pattern": r"^http://xn--bcher-kva\.invalid/", "replace": site.url("/gone")}]
        run = crawl(site.url("/"), remap=remap)
    html = "".join(render_html(run))
    assert "http://xn--bcher-kva.invalid/" in html and "(bücher.invalid)" in html


def test_a_tie_between_anchor_texts_is_broken_by_page_order_not_crawl_order() -> None:
    """A link written "Old A" on /a and "Old B" on /b shows "Old A" (the first page by URL),
    whichever page the crawl reached first: the report is the same on every run."""

    def run_found(order: list[str]) -> RunResult:
        moved = "https://site.test/old"
        texts = {"https://site.test/a": "Old A", "https://site.test/b": "Old B"}
        occurrences = Occurrences(
            Occurrence(page, "/old", texts[page], "a", "href", 7, "") for page in order
        )
        result = CheckResult(moved, Verdict.BROKEN, status=404, final_url=moved)
        link = Link(moved, internal=True, occurrences=occurrences, result=result)
        pages = [Page(url, 1, "", 200, links_found=1) for url in order]
        now = datetime.now(UTC)
        return RunResult(["https://site.test/"], now, now, {moved: link}, pages)

    for order in (
        ["https://site.test/a", "https://site.test/b"],
        ["https://site.test/b", "https://site.test/a"],
    ):
        (problem,) = build_report(run_found(order)).problems
        assert problem.text == "Old A"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://example.com/a", "example.com"),
        ("https://example.com:8443/a?b#c", "example.com:8443"),
        ("http://[::1]:8080/x", "[::1]:8080"),
        ("http://xn--bcher-kva.example/", "bücher.example"),
        ("http://user:pw@example.com:81/", "example.com:81"),
        ("mailto:a@b.example", ""),
        ("http://bad host/", "bad host"),
    ],
)
def test_hosts_are_shown_as_readers_know_them(url: str, shown: str) -> None:
    for _ in range(2):  # worked out, then remembered per scheme://authority
        assert html_report._display_host(url) == shown


def test_the_template_is_written_in_chunks_of_the_same_text() -> None:
    pieces = [f"<td>{n}</td>" for n in range(5000)]
    chunks = list(html_report._in_chunks(iter(pieces), size=1000))
    assert "".join(chunks) == "".join(pieces)
    assert all(len(chunk) >= 1000 for chunk in chunks[:-1]) and len(chunks) > 1
    assert list(html_report._in_chunks(iter([]))) == []


def test_the_compiled_template_is_kept_and_a_broken_cache_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compiled once, loaded after; a cache folder that cannot be written changes nothing."""
    compiled: list[object] = []
    real_compile = Environment.compile

    def counting(self: Environment, *args: Any, **kwargs: Any) -> Any:
        compiled.append(args[0])
        return real_compile(self, *args, **kwargs)

    monkeypatch.setattr(Environment, "compile", counting)

    def load(cache_folder: Path) -> str | None:
        environment = html_report._environment.overlay(
            cache_size=0,  # no template kept in memory: each load goes to the bytecode cache
            bytecode_cache=html_report._QuietBytecodeCache(str(cache_folder)),
        )
        return environment.get_template("report.html.j2").name

    assert load(tmp_path) == "report.html.j2"
    assert len(compiled) == 1 and list(tmp_path.iterdir())  # compiled, and kept
    assert load(tmp_path) == "report.html.j2"
    assert len(compiled) == 1  # loaded, not compiled again
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    assert load(blocked / "cache") == "report.html.j2"  # no cache: compiled, no error
    assert len(compiled) == 2
