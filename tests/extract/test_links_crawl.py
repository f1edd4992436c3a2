"""Issue #19 over loopback crawls: stylesheets are read (by one machine and by a cluster
alike), not-checked links are reported as skipped with their reason, and bad pages or
stylesheets never stop a run."""

from __future__ import annotations

import pytest

from linkcheck.distributed import run_distributed
from linkcheck.models import Verdict
from linkcheck.report.html_report import render_html
from linkcheck.runner import run_check
from tests.conftest import crawl, make_config, result
from tests.server import Reply, TestServer, page

CSS = "text/css; charset=utf-8"


def styled_site(external: str) -> dict[str, Reply]:
    return {
        "/site/": page(
            '<link rel="stylesheet" href="css/site.css">'
            f'<link rel="stylesheet" href="{external}/theme.css">'
            '<div style="background: url(img/inline.png)">x</div>'
            "<style>\n.b { background: url(img/missing-block.png) }\n</style>"
        ),
        "/site/css/site.css": Reply(
            200,
            '@import "more.css";\n'
            "body {\n  background: url(../img/missing-bg.png);\n}\n"
            ".ok { background: url(/site/img/ok.png) }\n",
            content_type=CSS,
        ),
        "/site/css/more.css": Reply(200, ".m { background: url(m.png) }\n", content_type=CSS),
        "/site/css/m.png": Reply(200, b"png", content_type="image/png"),
        "/site/img/ok.png": Reply(200, b"png", content_type="image/png"),
        "/site/img/inline.png": Reply(200, b"png", content_type="image/png"),
    }


@pytest.mark.parametrize("workers", [0, 1])
def test_an_internal_stylesheet_is_read_and_its_links_checked(workers: int) -> None:
    external_css = ".x { background: url(never-read.png) }"
    with TestServer({"/theme.css": Reply(200, external_css, content_type=CSS)}) as ext:
        site = TestServer(styled_site(ext.url("").rstrip("/")))
        with site:
            run = crawl(site.url("/site/"), crawl={"parse_workers": workers})
    missing = site.url("/site/img/missing-bg.png")
    assert result(run, missing).verdict is Verdict.BROKEN
    (where,) = run.links[missing].occurrences
    assert (where.page, where.tag, where.attr, where.line) == (
        site.url("/site/css/site.css"),
        "css",
        "url",
        3,
    )
    assert where.text == "background"  # the property that loads it
    assert result(run, site.url("/site/img/ok.png")).verdict is Verdict.OK
    # @import is followed like a link and the imported stylesheet is read too
    assert result(run, site.url("/site/css/m.png")).verdict is Verdict.OK
    # inline CSS: a style attribute and a <style> block, resolved against the page
    assert result(run, site.url("/site/img/inline.png")).verdict is Verdict.OK
    block = site.url("/site/img/missing-block.png")
    assert result(run, block).verdict is Verdict.BROKEN
    assert [(o.tag, o.attr, o.line) for o in run.links[block].occurrences] == [("style", "url", 2)]
    # an external stylesheet is checked, never read
    assert result(run, ext.url("/theme.css")).verdict is Verdict.OK
    assert ext.count("/never-read.png") == 0
    assert not any("never-read" in url for url in run.links)


def test_not_checked_links_are_skipped_with_their_reason_in_the_report() -> None:
    routes = {
        "/": page(
            '<link rel="preconnect" href="https://fonts.invalid">'
            '<form action="/post-only"><button formaction="/other">x</button></form>'
            '<a href="ok.html" ping="/ping">ok</a>'
            '<blockquote cite="/source.html">q</blockquote>'
            '<a href="/source.html">the source</a>'  # cited and linked: the link is checked
        ),
        "/ok.html": page("ok"),
        "/source.html": page("source"),
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/"))
    assert site.count("/post-only") == site.count("/other") == site.count("/ping") == 0
    assert result(run, site.url("/source.html")).verdict is Verdict.OK
    preconnect = result(run, "https://fonts.invalid (link href)")
    assert preconnect.verdict is Verdict.SKIPPED
    assert "names an origin" in preconnect.message
    for key, reason in [
        ("/post-only (form action)", "where a form is submitted"),
        ("/other (button formaction)", "where a form is submitted"),
        ("/ping (a ping)", "ping URL"),
        ("/source.html (blockquote cite)", "citation"),
    ]:
        skipped = result(run, key)
        assert skipped.verdict is Verdict.SKIPPED, key
        assert reason in skipped.message
        (where,) = run.links[key].occurrences
        assert where.href == key.split(" ")[0]  # the occurrence keeps the value as written
    assert result(run, site.url("/ok.html")).verdict is Verdict.OK
    assert not run.findings  # a ping beside an href is no "same text, other target"
    report = "".join(render_html(run))
    assert "names an origin to connect to early" in report  # the "Not checked" tab says why


def test_bad_pages_and_stylesheets_never_stop_the_run() -> None:
    deep = "<div>" * 30_000 + '<a href="deep-link.html">d</a>' + "</div>" * 30_000
    routes = {
        "/": page(
            '<a href="binary.html">b</a><a href="deep.html">d</a><a href="liar.html">l</a>'
            '<link rel="stylesheet" href="binary.css"><link rel="stylesheet" href="broken.css">'
            '<a href="last.html">last</a>'
        ),
        "/binary.html": Reply(200, bytes(range(256)) * 64),
        "/deep.html": Reply(200, deep),
        "/liar.html": Reply(200, b"\x89PNG\r\n\x1a\n" + bytes(500), content_type="text/css"),
        "/binary.css": Reply(200, bytes(range(256)) * 64, content_type="text/css"),
        "/broken.css": Reply(
            200, '.a { background: url(first.png) ; .b { x: calc( "\n', content_type=CSS
        ),
        "/first.png": Reply(200, b"png", content_type="image/png"),
        "/deep-link.html": page("found"),
        "/last.html": page("the end"),
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/"))
    assert run.complete
    for path in ("/binary.html", "/deep.html", "/liar.html", "/binary.css", "/broken.css"):
        assert result(run, site.url(path)).verdict is Verdict.OK, path
    assert result(run, site.url("/deep-link.html")).verdict is Verdict.OK
    assert result(run, site.url("/first.png")).verdict is Verdict.OK
    assert result(run, site.url("/last.html")).verdict is Verdict.OK


def test_a_distributed_run_reads_stylesheets_as_one_machine_does() -> None:
    distributed_tests = pytest.importorskip("tests.distributed.harness")
    if distributed_tests.REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (scripts/install-redis.sh installs it)")
    redis_server = distributed_tests.start_redis("--appendonly", "no")
    try:
        with TestServer() as site:
            site.routes.update(styled_site(site.url("/ext").rstrip("/")))
            site.routes["/site/"] = page(
                '<link rel="stylesheet" href="css/site.css"><link rel="preconnect" href="/">'
                '<form action="/post"></form><div style="background:url(img/inline.png)">x</div>'
            )
            config = make_config(site.url("/site/"))
            single = run_check(config)
            run_id = distributed_tests.fresh_run_id("css")
            distributed = run_distributed(config, redis_server.url, run_id=run_id, lease=1.0)
    finally:
        redis_server.stop()
    comparable = distributed_tests.comparable
    assert comparable(distributed) == comparable(single)
    missing = site.url("/site/img/missing-bg.png")
    assert result(distributed, missing).verdict is Verdict.BROKEN
    assert [(o.page, o.line) for o in distributed.links[missing].occurrences] == [
        (site.url("/site/css/site.css"), 3)
    ]
    assert result(distributed, "/post (form action)").verdict is Verdict.SKIPPED
