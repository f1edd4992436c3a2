"""A page that refreshes to another address at once is a redirect (issue #20), against
loopback sites: reported for the links to it as redirected, with the target as the new
address, and its target followed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linkcheck.digest import refresh_delay
from linkcheck.models import RedirectKind, Verdict
from linkcheck.report import write_reports
from tests.conftest import crawl, result
from tests.server import Reply, Route, TestServer, page, redirect


def refreshing(content: str, body: str = "") -> Reply:
    return Reply(
        200,
        f'<!DOCTYPE html><html><head><meta http-equiv="Refresh" content="{content}">'
        f"<title>moved</title></head><body>{body}</body></html>",
    )


# (a refresh pragma's content) -> its delay (HTML §4.2.5.3), None when it is no number
DELAYS = [
    ("0; url=new.html", 0.0),
    ("0;URL='new.html'", 0.0),
    ("5;url=new.html", 5.0),
    ("  3 , new.html", 3.0),
    ("3.9; url=new.html", 3.0),  # the fraction is ignored
    (".5; url=new.html", 0.0),
    ("30", 30.0),
    ("url=new.html", None),
    ("; url=new.html", None),
    ("", None),
]


@pytest.mark.parametrize(("content", "delay"), DELAYS)
def test_a_refresh_pragmas_delay(content: str, delay: float | None) -> None:
    assert refresh_delay(content) == delay


def site_with(routes: dict[str, Route]) -> dict[str, Route]:
    links = "".join(f'<a href="{path}">{path}</a>' for path in routes)
    return {"/guide/": page(links), **routes}


def test_a_page_that_refreshes_at_once_is_a_redirect_and_its_target_is_crawled(
    tmp_path: Path,
) -> None:
    routes = site_with(
        {
            "/guide/old.html": refreshing("0; url=new.html"),
            "/guide/new.html": page('<a href="deeper.html">deeper</a>'),
            "/guide/deeper.html": page("deeper"),
        }
    )
    with TestServer(routes) as site:
        run = crawl(site.url("/guide/"))
    old = result(run, site.url("/guide/old.html"))
    assert old.verdict is Verdict.REDIRECTED
    assert old.final_url == site.url("/guide/new.html")
    assert [(hop.url, hop.status) for hop in old.redirects] == [(site.url("/guide/old.html"), 200)]
    assert old.redirect_kind is RedirectKind.TEMPORARY  # the page answered; the pragma moved on
    assert "after 0 s (<meta http-equiv=refresh>)" in old.message
    # the target is followed: crawled, and the pages it links too
    crawled = {p.url for p in run.pages}
    assert {site.url("/guide/new.html"), site.url("/guide/deeper.html")} <= crawled
    assert result(run, site.url("/guide/deeper.html")).verdict is Verdict.OK
    # the report offers the target as the new address, as for an HTTP redirect
    write_reports(run, ["json"], tmp_path)
    document = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    (item,) = [link for link in document["links"] if link["url"] == site.url("/guide/old.html")]
    assert (item["verdict"], item["final_url"], item["redirect_kind"]) == (
        "redirected",
        site.url("/guide/new.html"),
        "temporary",
    )


def test_a_slow_refresh_or_one_to_itself_is_a_page() -> None:
    routes = site_with(
        {
            "/guide/countdown.html": refreshing("30; url=new.html", "read this first"),
            "/guide/live.html": refreshing("60"),  # reloads itself: no URL
            "/guide/self.html": refreshing("0; url=self.html"),
            "/guide/new.html": page("new"),
        }
    )
    with TestServer(routes) as site:
        run = crawl(site.url("/guide/"))
    for path in ("/guide/countdown.html", "/guide/live.html", "/guide/self.html"):
        found = result(run, site.url(path))
        assert (found.verdict, found.redirects) == (Verdict.OK, ()), path
    assert result(run, site.url("/guide/new.html")).verdict is Verdict.OK


def test_the_longest_refresh_that_is_a_redirect() -> None:
    routes = site_with(
        {"/guide/five.html": refreshing("5; url=new.html"), "/guide/new.html": page("new")}
    )
    with TestServer(routes) as site:
        run = crawl(site.url("/guide/"))
    assert result(run, site.url("/guide/five.html")).verdict is Verdict.REDIRECTED


def test_a_refresh_to_another_site_is_a_redirect_and_that_site_is_checked() -> None:
    with TestServer({"/shop": page("shop")}) as ext:
        target = ext.url("/shop")
        routes = site_with({"/guide/old.html": refreshing(f"0; url={target}")})
        with TestServer(routes) as site:
            run = crawl(site.url("/guide/"), http={"allow_private": True})
        assert ext.count("/shop") == 1  # checked, once
    old = result(run, site.url("/guide/old.html"))
    assert (old.verdict, old.final_url) == (Verdict.REDIRECTED, target)
    assert result(run, target).verdict is Verdict.OK


def test_an_http_redirect_then_a_refresh_is_one_chain() -> None:
    """The page an HTTP redirect leads to is read as the redirect's target (once: here no
    other page links it), and its refresh goes on from there."""
    routes: dict[str, Route] = {
        "/guide/": page('<a href="a.html">a</a>'),
        "/guide/a.html": redirect("/guide/b.html"),
        "/guide/b.html": refreshing("1; url=c.html"),
        "/guide/c.html": page("c"),
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/guide/"))
    a = result(run, site.url("/guide/a.html"))
    assert (a.verdict, a.final_url) == (Verdict.REDIRECTED, site.url("/guide/c.html"))
    assert [(hop.url, hop.status) for hop in a.redirects] == [
        (site.url("/guide/a.html"), 301),
        (site.url("/guide/b.html"), 200),
    ]
    b = result(run, site.url("/guide/b.html"))  # the target the redirect led to, claimed
    assert (b.verdict, b.final_url) == (Verdict.REDIRECTED, site.url("/guide/c.html"))


def test_a_refresh_to_the_home_page_is_a_soft_404() -> None:
    """As an HTTP redirect of a deep link to the home page is (decide.recorded)."""
    routes: dict[str, Route] = {
        "/": page("home"),
        "/guide/": page('<a href="old/article.html">article</a>'),
        "/guide/old/article.html": refreshing("0; url=/"),
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/guide/"))
    old = result(run, site.url("/guide/old/article.html"))
    assert old.verdict is Verdict.BROKEN and old.message.startswith("soft 404:")
