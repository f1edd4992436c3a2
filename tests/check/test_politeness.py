"""Politeness and per-host profiles, measured on what the servers actually received."""

from __future__ import annotations

import itertools
import time

import pytest

from linkcheck._version import __version__
from linkcheck.hosts import spacing
from linkcheck.models import Verdict
from tests.conftest import crawl, result
from tests.server import Reply, Seen, TestServer, page


def test_external_hosts_get_modest_concurrency() -> None:
    paths = [f"/slow{n}" for n in range(8)]
    with TestServer({p: Reply(200, "ok", delay=0.15) for p in paths}) as ext:
        # another name for the loopback server makes it a different, external host
        html = "".join(f'<a href="http://localhost:{ext.port}{p}">x</a>' for p in paths)
        with TestServer({"/": page(html)}) as site:
            run = crawl(
                site.url("/"),
                http={"external_per_host_concurrency": 2, "concurrency": 16, "allow_private": True},
            )
        assert ext.max_in_flight == 2
    assert all(link.result and link.result.verdict is Verdict.OK for link in run.links.values())


@pytest.mark.parametrize(
    ("interval", "kept"),
    [(0.0, 0.0), (0.2, 0.22), (0.5, 0.55), (1.0, 1.05), (30.0, 30.05)],
)
def test_request_starts_are_kept_a_little_more_than_the_interval_apart(
    interval: float, kept: float
) -> None:
    """10% more, at most 0.05 s: the host sees the interval even when one request reaches
    it later after its start than the next does (a new connection, a busy event loop)."""
    assert spacing(interval) == pytest.approx(kept)


def test_host_profile_sets_concurrency_and_interval() -> None:
    paths = [f"/p{n}" for n in range(4)]
    with TestServer({p: Reply(200, "ok") for p in paths}) as ext:
        host = f"localhost:{ext.port}"
        html = "".join(f'<a href="http://{host}{p}">x</a>' for p in paths)
        with TestServer({"/": page(html)}) as site:
            crawl(site.url("/"), hosts={host: {"concurrency": 1, "interval": 0.2}})
        starts = sorted(r.at for r in ext.requests)
        gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
        assert len(starts) == 4 and min(gaps) >= 0.18
        assert ext.max_in_flight == 1


def test_retry_after_slows_every_request_to_that_host() -> None:
    calls: list[float] = []

    def first_is_limited(seen: Seen) -> Reply:
        calls.append(seen.at)
        if len(calls) == 1:
            return Reply(429, "slow down", {"Retry-After": "1"})
        return Reply(200, "ok")

    paths = ["/a", "/b", "/c"]
    with TestServer({p: first_is_limited for p in paths}) as ext:
        host = f"localhost:{ext.port}"
        html = "".join(f'<a href="http://{host}{p}">x</a>' for p in paths)
        with TestServer({"/": page(html)}) as site:
            run = crawl(
                site.url("/"),
                http={
                    "retries": 2,
                    "retry_max_wait": 5,
                    "external_per_host_concurrency": 1,
                    "allow_private": True,
                },
            )
        assert all(result(run, f"http://{host}{p}").verdict is Verdict.OK for p in paths)
        # after the 429, no request at all reached the host for the second it asked for
        assert all(at - calls[0] >= 0.95 for at in calls[1:])


def test_robots_txt_is_honoured_for_crawled_pages() -> None:
    routes = {
        "/robots.txt": Reply(
            200, "User-agent: *\nDisallow: /guide/private/\n", content_type="text/plain"
        ),
        "/guide/": page('<a href="private/a.html">private</a><a href="public.html">public</a>'),
        "/guide/public.html": page(""),
        "/guide/private/a.html": page(""),
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/guide/"))
        private = result(run, site.url("/guide/private/a.html"))
        assert private.verdict is Verdict.EXCLUDED and "robots.txt" in private.message
        assert site.count("/guide/private/a.html") == 0
        assert site.count("/robots.txt") == 1
        assert result(run, site.url("/guide/public.html")).verdict is Verdict.OK

        ignoring = crawl(site.url("/guide/"), crawl={"respect_robots": False})
        assert result(ignoring, site.url("/guide/private/a.html")).verdict is Verdict.OK


def test_missing_or_broken_robots_txt_allows_everything() -> None:
    for robots in (Reply(404, "no"), Reply(500, "oops")):
        routes = {
            "/robots.txt": robots,
            "/g/": page('<a href="a.html">a</a>'),
            "/g/a.html": page(""),
        }
        with TestServer(routes) as site:
            run = crawl(site.url("/g/"))
        assert result(run, site.url("/g/a.html")).verdict is Verdict.OK


def test_start_url_is_fetched_even_if_robots_disallows_it() -> None:
    routes = {
        "/robots.txt": Reply(200, "User-agent: *\nDisallow: /\n", content_type="text/plain"),
        "/g/": page('<a href="a.html">a</a>'),
        "/g/a.html": page(""),
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/g/"))
    assert [p.url for p in run.pages] == [site.url("/g/")]
    assert result(run, site.url("/g/a.html")).verdict is Verdict.EXCLUDED


def test_nofollow_stops_recursion_but_the_link_is_checked() -> None:
    routes = {
        "/g/": page('<a href="a.html" rel="nofollow">a</a><a href="b.html">b</a>'),
        "/g/a.html": page('<a href="only-via-a.html">x</a>'),
        "/g/b.html": Reply(
            200,
            '<html><head><meta name="robots" content="noindex, nofollow">'
            '</head><body><a href="only-via-b.html">y</a></body></html>',
        ),
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/g/"))
        assert result(run, site.url("/g/a.html")).verdict is Verdict.OK
        assert site.methods("/g/a.html") == ["HEAD"]  # checked, not fetched to be parsed
        assert site.url("/g/only-via-a.html") not in run.links
        assert site.url("/g/only-via-b.html") in run.links  # listed (b was parsed)...
        assert site.count("/g/only-via-b.html") == 1  # ...and checked, but not crawled:
        assert site.methods("/g/only-via-b.html") == ["HEAD"]


def test_user_agent_is_honest_and_configurable_per_host() -> None:
    with TestServer({"/x": Reply(200, "ok")}) as ext:
        host = f"localhost:{ext.port}"
        with TestServer(
            {"/": page(f'<a href="http://{host}/x">x</a><a href="/y">y</a>'), "/y": page("")}
        ) as site:
            crawl(site.url("/"), hosts={host: {"user_agent": "CarrierBot/1.0"}})
            assert (
                site.requests[0].headers["user-agent"] == f"linkcheck/{__version__} (link checker)"
            )
        assert ext.requests[0].headers["user-agent"] == "CarrierBot/1.0"
    with TestServer({"/": page('<a href="/y">y</a>'), "/y": page("")}) as site:
        crawl(site.url("/"), http={"user_agent": "Team-Docs-Checker"})
        assert {r.headers["user-agent"] for r in site.requests} == {"Team-Docs-Checker"}


def test_accept_and_method_per_host_quiet_one_host_only() -> None:
    routes = {"/members": Reply(403, "login first")}
    with TestServer(routes) as quiet, TestServer(routes) as loud:
        html = (
            f'<a href="http://localhost:{quiet.port}/members">q</a>'
            f'<a href="http://127.0.0.1:{loud.port}/members">l</a>'
        )
        with TestServer({"/": page(html)}) as site:
            run = crawl(
                site.url("/"),
                hosts={f"localhost:{quiet.port}": {"accept": "200-299,403", "method": "get"}},
            )
        assert result(run, f"http://localhost:{quiet.port}/members").verdict is Verdict.OK
        assert quiet.methods("/members") == ["GET"]
        assert result(run, f"http://127.0.0.1:{loud.port}/members").verdict is Verdict.BROKEN


def test_global_accept_ranges() -> None:
    with TestServer({"/": page('<a href="/teapot">t</a>'), "/teapot": Reply(418, "")}) as site:
        run = crawl(site.url("/"), http={"accept": "200-299, 418"})
    assert result(run, site.url("/teapot")).verdict is Verdict.OK


def test_per_host_timeout() -> None:
    with TestServer({"/slow": Reply(200, "late", delay=0.6)}) as ext:
        host = f"localhost:{ext.port}"
        with TestServer({"/": page(f'<a href="http://{host}/slow">s</a>')}) as site:
            started = time.monotonic()
            run = crawl(
                site.url("/"), http={"timeout": 5, "retries": 0}, hosts={host: {"timeout": 0.2}}
            )
            assert time.monotonic() - started < 3
        assert result(run, f"http://{host}/slow").error is not None
