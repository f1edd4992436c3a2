"""One page, one entry (issue #20): addresses of one document are merged in the report, one
page entry with its aliases listed and each finding once, against loopback sites."""

from __future__ import annotations

import json
from pathlib import Path

from linkcheck.models import FindingKind, RunResult, Verdict
from linkcheck.report import write_reports
from linkcheck.report.html_report import render_html
from linkcheck.report.load import load_run
from tests.conftest import crawl, result
from tests.server import Route, TestServer, page

HOME = (
    '<a href="./">Home</a> <a href="index.html">Home again</a> <a href="about.html">About</a>'
    '<p><a href="gone.html">Our old prices</a> <a href="about.html#team">click here</a></p>'
)


def pages_of(run: RunResult) -> dict[str, tuple[str, ...]]:
    return {p.url: p.aliases for p in run.pages}


def test_dir_and_its_index_html_are_one_page_with_an_alias(tmp_path: Path) -> None:
    home = page(HOME)
    routes: dict[str, Route] = {
        "/guide/": home,
        "/guide/index.html": home,
        "/guide/about.html": page('<h2 id="team">Team</h2><a href="index.html">Back</a>'),
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/guide/"))
        assert site.count("/guide/index.html") == 1  # both addresses are still checked
    assert pages_of(run) == {
        site.url("/guide/"): (site.url("/guide/index.html"),),
        site.url("/guide/about.html"): (),
    }
    assert result(run, site.url("/guide/index.html")).verdict is Verdict.OK
    gone = run.links[site.url("/guide/gone.html")]
    assert gone.result is not None and gone.result.verdict is Verdict.BROKEN
    assert [(o.page, o.href) for o in gone.occurrences] == [(site.url("/guide/"), "gone.html")]
    generic = [f for f in run.findings if f.kind is FindingKind.GENERIC_LINK_TEXT]
    assert [(f.page, f.text) for f in generic] == [(site.url("/guide/"), "click here")]
    # the home page links about.html twice (About, and click here #team): each once, not
    # again for index.html
    about = run.links[site.url("/guide/about.html")]
    assert sorted(o.page for o in about.occurrences) == [site.url("/guide/")] * 2

    write_reports(run, ["json"], tmp_path)
    document = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    entries = {item["url"]: item for item in document["pages"]}
    assert entries[site.url("/guide/")]["aliases"] == [site.url("/guide/index.html")]
    assert "aliases" not in entries[site.url("/guide/about.html")]  # optional: only when any
    assert document["run"]["pages_crawled"] == 2
    loaded = load_run(tmp_path / "report.json")  # a saved report reads back with them
    assert pages_of(loaded) == pages_of(run)
    html = "".join(render_html(run))
    assert "The same page is also at" in html and site.url("/guide/index.html") in html


def test_a_canonical_within_the_site_merges_a_page_and_keeps_what_is_its_own() -> None:
    article = '<a href="gone.html">Old prices</a> <a href="about.html">About</a>'
    printed = (
        '<link rel="canonical" href="/guide/article.html">'
        + article
        + '<a href="print-only.html">Print help</a>'
    )
    routes: dict[str, Route] = {
        "/guide/": page('<a href="article.html">a</a> <a href="article-print.html">print</a>'),
        "/guide/article.html": page(article),
        "/guide/article-print.html": page(printed),
        "/guide/about.html": page("about"),
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/guide/"))
    url = site.url
    assert pages_of(run) == {
        url("/guide/"): (),
        url("/guide/article.html"): (url("/guide/article-print.html"),),
        url("/guide/about.html"): (),
    }
    gone = run.links[url("/guide/gone.html")]
    assert [o.page for o in gone.occurrences] == [url("/guide/article.html")]  # once
    # a link only the alias has is still reported where it is written
    only = run.links[url("/guide/print-only.html")]
    assert [o.page for o in only.occurrences] == [url("/guide/article-print.html")]
    assert result(run, url("/guide/print-only.html")).verdict is Verdict.BROKEN


def test_a_canonical_to_a_page_not_crawled_merges_nothing() -> None:
    routes: dict[str, Route] = {
        "/guide/": page('<link rel="canonical" href="https://www.example.com/guide/">x'),
        "/guide/index.html": page('<link rel="canonical" href="/elsewhere/">y'),
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/guide/index.html"), crawl={"max_depth": 0})
    assert pages_of(run) == {site.url("/guide/index.html"): ()}


def test_pages_at_other_addresses_with_the_same_bytes_stay_apart() -> None:
    """Placeholders: the same bytes at different addresses are different pages (their
    relative links may mean different things, and each needs its own fix)."""
    placeholder = page('<a href="todo.html">to do</a>')
    routes: dict[str, Route] = {
        "/guide/": page('<a href="a.html">a</a><a href="b/">b</a><a href="b/c.html">c</a>'),
        "/guide/a.html": placeholder,
        "/guide/b/": placeholder,
        "/guide/b/c.html": placeholder,
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/guide/"))
    assert all(not aliases for aliases in pages_of(run).values())
    assert len(run.pages) == 4
    todo = run.links[site.url("/guide/todo.html")]
    assert len(todo.occurrences) == 1  # a.html's; b/ and b/c.html link /guide/b/todo.html


def test_a_query_that_changes_nothing_is_an_alias_and_a_different_index_is_a_page() -> None:
    routes: dict[str, Route] = {
        "/guide/": page(
            '<a href="list">list</a><a href="list?print=1">print</a><a href="x/">x</a>'
        ),
        "/guide/list": page('<a href="gone.html">gone</a>'),
        "/guide/x/": page('<a href="index.html">self</a> today'),
        "/guide/x/index.html": page('<a href="index.html">self</a> tomorrow'),  # not the same
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/guide/"))
    url = site.url
    assert pages_of(run) == {
        url("/guide/"): (),
        url("/guide/list"): (url("/guide/list?print=1"),),
        url("/guide/x/"): (),
        url("/guide/x/index.html"): (),
    }
    gone = run.links[url("/guide/gone.html")]
    assert [o.page for o in gone.occurrences] == [url("/guide/list")]
