"""A checked link to another site whose page refreshes to another address at once is a
redirect (issue #20), read from the first slice of its GET answer with the crawled pages'
decision (decide.refreshed) and parsing (digest.page_refresh), against loopback servers:
redirected with the target as the new address, the target followed as a hop (its answer
decides), a slow refresh or one to itself a page, a HEAD profile's answer not read."""

from __future__ import annotations

import pytest

import linkcheck.checker
from linkcheck.decide import MAX_REFRESH_DELAY
from linkcheck.models import RunResult, Verdict
from tests.conftest import crawl, result
from tests.server import Reply, Route, TestServer, page, redirect


def refreshing(content: str, body: str = "") -> Reply:
    return Reply(
        200,
        f'<!DOCTYPE html><html><head><meta http-equiv="Refresh" content="{content}">'
        f"<title>moved</title></head><body>{body}</body></html>",
    )


def check_links(ext: TestServer, paths: list[str], **sections: dict[str, object]) -> RunResult:
    """Crawl a one-page site that links each of ``ext``'s ``paths`` (another site's: only
    checked, with GET)."""
    html = "".join(f'<a href="{ext.url(path)}">{path}</a>' for path in paths)
    with TestServer({"/": page(html)}) as site:
        return crawl(site.url("/"), **sections)  # type: ignore[arg-type]


def test_a_refresh_at_once_to_a_working_page_is_a_redirect() -> None:
    routes: dict[str, Route] = {
        "/old": refreshing("0; url=/new"),
        "/a/one": refreshing("1;URL='../new'"),  # resolved against the page, as a crawl does
        "/a/three": refreshing("3; url=/new#top"),
        "/new": page("new"),
    }
    with TestServer(routes) as ext:
        run = check_links(ext, ["/old", "/a/one", "/a/three"])
        assert ext.methods("/new") == ["GET"] * 3  # a hop of each, as a redirect's target is
    for path, delay in (("/old", 0), ("/a/one", 1), ("/a/three", 3)):
        found = result(run, ext.url(path))
        assert (found.verdict, found.final_url, found.status) == (
            Verdict.REDIRECTED,
            ext.url("/new"),
            200,
        ), path
        assert [(hop.url, hop.status) for hop in found.redirects] == [(ext.url(path), 200)]
        assert found.message == (
            f"the page sends its readers on to {ext.url('/new')} after {delay} s "
            "(<meta http-equiv=refresh>)"
        )


def test_a_refresh_to_a_missing_page_is_broken() -> None:
    with TestServer({"/old": refreshing("0; url=/gone")}) as ext:
        run = check_links(ext, ["/old"])
        assert ext.methods("/gone") == ["GET"]
    old = result(run, ext.url("/old"))
    assert (old.verdict, old.status, old.final_url) == (Verdict.BROKEN, 404, ext.url("/gone"))
    assert [(hop.url, hop.status) for hop in old.redirects] == [(ext.url("/old"), 200)]
    assert old.message.startswith("HTTP 404; the page sends its readers on to")


def test_a_slow_refresh_or_one_to_itself_is_a_page() -> None:
    routes: dict[str, Route] = {
        "/countdown": refreshing("30; url=/new", "read this first"),
        "/longest": refreshing(f"{MAX_REFRESH_DELAY:g}; url=/new"),
        "/self": refreshing("0; url=/self"),
        "/live": refreshing("60"),  # reloads itself: no URL
        "/new": page("new"),
    }
    with TestServer(routes) as ext:
        run = check_links(ext, ["/countdown", "/longest", "/self", "/live"])
        assert ext.count("/new") == 1  # the one that is a redirect
        assert ext.count("/self") == 1
    for path in ("/countdown", "/self", "/live"):
        found = result(run, ext.url(path))
        assert (found.verdict, found.redirects, found.final_url) == (
            Verdict.OK,
            (),
            ext.url(path),
        ), path
    assert result(run, ext.url("/longest")).verdict is Verdict.REDIRECTED


def test_a_host_profile_asking_head_reads_no_refresh() -> None:
    with TestServer({"/old": refreshing("0; url=/gone")}) as ext:
        run = check_links(ext, ["/old"], hosts={f"127.0.0.1:{ext.port}": {"method": "head"}})
        assert ext.methods("/old") == ["HEAD"]
        assert ext.count("/gone") == 0
    old = result(run, ext.url("/old"))
    assert (old.verdict, old.redirects) == (Verdict.OK, ())


def test_http_redirects_and_refreshes_are_one_chain() -> None:
    routes: dict[str, Route] = {
        "/a": redirect("/b"),
        "/b": refreshing("0; url=/c"),
        "/c": redirect("/d", 302),
        "/d": page("d"),
        "/loop1": refreshing("0; url=/loop2"),
        "/loop2": refreshing("0; url=/loop3"),
        "/loop3": refreshing("0; url=/loop2"),
    }
    with TestServer(routes) as ext:
        run = check_links(ext, ["/a", "/loop1"])
    a = result(run, ext.url("/a"))
    assert (a.verdict, a.final_url) == (Verdict.REDIRECTED, ext.url("/d"))
    assert [(hop.url, hop.status) for hop in a.redirects] == [
        (ext.url("/a"), 301),
        (ext.url("/b"), 200),
        (ext.url("/c"), 302),
    ]
    assert "(<meta http-equiv=refresh>)" in a.message
    loop = result(run, ext.url("/loop1"))
    assert (loop.verdict, loop.error) == (Verdict.ERROR, "redirect-loop")


def test_a_refresh_to_the_home_page_is_a_soft_404() -> None:
    """As an HTTP redirect of a deep link to the site's home page is (decide.recorded)."""
    routes: dict[str, Route] = {
        "/": page("home"),
        "/news/2019/article": refreshing("0; url=/"),
    }
    with TestServer(routes) as ext:
        run = check_links(ext, ["/news/2019/article"])
    found = result(run, ext.url("/news/2019/article"))
    assert found.verdict is Verdict.BROKEN
    assert found.message == "soft 404: it redirects to the site's home page"


def test_a_page_without_the_word_is_not_parsed_for_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ordinary pages pay one scan of their slice, no parse; a refresh past the slice is
    not seen (a page that is read before it moves on)."""
    parsed: list[str] = []
    real = linkcheck.checker.page_refresh

    def spy(page_url: str, source: str) -> tuple[str, float | None]:
        parsed.append(page_url)
        return real(page_url, source)

    monkeypatch.setattr(linkcheck.checker, "page_refresh", spy)
    late = "<!DOCTYPE html><html><body>" + "x" * 40_000 + '<meta http-equiv="refresh" '
    late += 'content="0; url=/new"></body></html>'
    routes: dict[str, Route] = {
        "/plain": page("nothing to see"),
        "/late": Reply(200, late),
        "/old": refreshing("0; url=/new"),
        "/new": page("new"),
    }
    with TestServer(routes) as ext:
        run = check_links(ext, ["/plain", "/late", "/old"])
    assert parsed == [ext.url("/old")]
    assert result(run, ext.url("/plain")).verdict is Verdict.OK
    assert result(run, ext.url("/late")).verdict is Verdict.OK
    assert result(run, ext.url("/old")).verdict is Verdict.REDIRECTED
