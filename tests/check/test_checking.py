"""Every verdict, over real sockets: servers on loopback that answer exactly as each case needs."""

from __future__ import annotations

import asyncio
import gzip
import socket
import ssl
import time
from collections.abc import Iterator
from typing import Any

import aiohttp.abc
import pytest
import trustme

from linkcheck.checker import Checker
from linkcheck.config import Config, HttpSettings
from linkcheck.hosts import HostRules
from linkcheck.http import HttpClient
from linkcheck.models import ErrorKind, RedirectHop, RedirectKind, Verdict
from tests.conftest import crawl, result
from tests.server import Reply, Seen, TestServer, page, redirect


def closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def external() -> Iterator[TestServer]:
    routes: dict[str, Any] = {
        "/ok": Reply(200, "fine"),
        "/missing": Reply(404, "gone"),
        "/error500": Reply(500, "oops"),
        "/moved": redirect("/new", 301),
        "/moved308": redirect("/new", 308),
        "/temp": redirect("/new", 302),
        "/new": Reply(200, "new home"),
        "/chain": redirect("/chain2", 301),
        "/chain2": redirect("/new", 302),
        "/loop": redirect("/loop2", 301),
        "/loop2": redirect("/loop", 301),
        "/redirect-to-404": redirect("/missing", 301),
        "/no-location": Reply(302, ""),
        "/bad-location": redirect("http://exa mple.com/", 301),
        "/to-mailto": redirect("mailto:x@example.com", 302),
    }
    for index in range(15):
        routes[f"/many{index}"] = redirect(f"/many{index + 1}", 302)
    with TestServer(routes) as server:
        yield server


def test_every_verdict_in_one_crawl(external: TestServer) -> None:
    refused = f"http://127.0.0.1:{closed_port()}/down"
    paths = [
        "/ok",
        "/missing",
        "/error500",
        "/moved",
        "/moved308",
        "/temp",
        "/chain",
        "/loop",
        "/redirect-to-404",
        "/no-location",
        "/bad-location",
        "/to-mailto",
        "/many0",
    ]
    links = "".join(f'<a href="{external.url(p)}">{p}</a>' for p in paths)
    links += f'<a href="{refused}">down</a><a href="mailto:a@example.com">mail</a>'
    links += '<a href="here.html">here</a><a href="gone.html">gone</a>'
    site = {"/site/": page(links), "/site/here.html": page("<p>here</p>")}
    with TestServer(site) as server:
        run = crawl(server.url("/site/"))

    def verdict(path: str) -> tuple[Verdict, int | None, ErrorKind | None]:
        found = result(run, external.url(path))
        return found.verdict, found.status, found.error

    assert verdict("/ok") == (Verdict.OK, 200, None)
    assert verdict("/missing") == (Verdict.BROKEN, 404, None)
    assert verdict("/error500") == (Verdict.BROKEN, 500, None)
    assert verdict("/redirect-to-404") == (Verdict.BROKEN, 404, None)
    assert verdict("/no-location") == (Verdict.BROKEN, 302, None)
    assert verdict("/loop")[::2] == (Verdict.ERROR, ErrorKind.REDIRECT_LOOP)
    assert verdict("/many0")[::2] == (Verdict.ERROR, ErrorKind.TOO_MANY_REDIRECTS)
    assert verdict("/bad-location")[::2] == (Verdict.ERROR, ErrorKind.INVALID_URL)
    assert verdict("/to-mailto")[::2] == (Verdict.ERROR, ErrorKind.INVALID_URL)

    moved = result(run, external.url("/moved"))
    assert moved.verdict is Verdict.REDIRECTED
    assert moved.redirect_kind is RedirectKind.PERMANENT
    assert moved.final_url == external.url("/new")
    assert moved.redirects == (RedirectHop(external.url("/moved"), 301),)
    assert result(run, external.url("/moved308")).redirect_kind is RedirectKind.PERMANENT
    assert result(run, external.url("/temp")).redirect_kind is RedirectKind.TEMPORARY

    chain = result(run, external.url("/chain"))
    assert chain.verdict is Verdict.REDIRECTED
    assert [hop.status for hop in chain.redirects] == [301, 302]
    assert chain.redirect_kind is RedirectKind.TEMPORARY  # not every hop is permanent
    assert chain.final_url == external.url("/new")

    assert len(result(run, external.url("/many0")).redirects) == 11  # max_redirects 10, +1 seen

    down = result(run, refused)
    assert (down.verdict, down.error) == (Verdict.ERROR, ErrorKind.CONNECT)
    assert "refused" in down.message.lower()

    mail = result(run, "mailto:a@example.com")
    assert mail.verdict is Verdict.SKIPPED
    assert external.count("/ok") == 1  # a HEAD that worked is not repeated with GET

    assert result(run, server.url("/site/here.html")).verdict is Verdict.OK
    assert result(run, server.url("/site/gone.html")).verdict is Verdict.BROKEN


def test_head_refused_falls_back_to_get() -> None:
    def refuse_head(seen: Seen) -> Reply:
        return Reply(405 if seen.method == "HEAD" else 200, "ok")

    def drop_head(seen: Seen) -> Reply:
        return Reply(drop=True) if seen.method == "HEAD" else Reply(200, "ok")

    with TestServer({"/refuse": refuse_head, "/drop": drop_head}) as ext:
        with TestServer(
            {"/": page(f'<a href="{ext.url("/refuse")}">r</a><a href="{ext.url("/drop")}">d</a>')}
        ) as site:
            # external links are asked with GET (#20): HEAD where a host profile asks for it
            run = crawl(
                site.url("/"),
                http={"retries": 0},
                hosts={f"127.0.0.1:{ext.port}": {"method": "head"}},
            )
        assert result(run, ext.url("/refuse")).verdict is Verdict.OK
        assert ext.methods("/refuse") == ["HEAD", "GET"]
        assert result(run, ext.url("/drop")).verdict is Verdict.OK
        # aiohttp may resend a request once when a pooled keep-alive connection drops it
        *heads, last = ext.methods("/drop")
        assert last == "GET" and 1 <= len(heads) <= 2 and set(heads) == {"HEAD"}


def test_external_method_get_skips_head() -> None:
    with TestServer({"/x": Reply(200, "ok")}) as ext:
        with TestServer({"/": page(f'<a href="{ext.url("/x")}">x</a>')}) as site:
            crawl(site.url("/"), http={"external_method": "get"})
        assert ext.methods("/x") == ["GET"]


def test_flaky_endpoint_is_retried_until_it_works() -> None:
    calls: list[int] = []

    def flaky(seen: Seen) -> Reply:
        calls.append(1)
        return Reply(503, "busy") if len(calls) < 3 else Reply(200, "ok")

    with TestServer({"/flaky": flaky}) as ext:
        with TestServer({"/": page(f'<a href="{ext.url("/flaky")}">f</a>')}) as site:
            run = crawl(site.url("/"), http={"retries": 3})
        assert result(run, ext.url("/flaky")).verdict is Verdict.OK
        assert ext.count("/flaky") == 3


def test_retries_are_bounded_and_the_last_answer_counts() -> None:
    with TestServer({"/busy": Reply(503, "busy")}) as ext:
        with TestServer({"/": page(f'<a href="{ext.url("/busy")}">b</a>')}) as site:
            run = crawl(site.url("/"), http={"retries": 2})
        busy = result(run, ext.url("/busy"))
        assert (busy.verdict, busy.status) == (Verdict.BROKEN, 503)
        # asked with GET, as external links are (#20), then retried
        assert ext.methods("/busy") == ["GET", "GET", "GET"]


def test_not_found_is_not_retried() -> None:
    with TestServer({"/": page('<a href="/nope">n</a>')}) as site:
        crawl(site.url("/"), http={"retries": 3})
        assert site.count("/nope") == 1


def test_retry_after_is_honoured() -> None:
    calls: list[int] = []

    def limited(seen: Seen) -> Reply:
        calls.append(1)
        return (
            Reply(429, "slow down", {"Retry-After": "1"}) if len(calls) == 1 else Reply(200, "ok")
        )

    with TestServer({"/limited": limited}) as ext:
        with TestServer({"/": page(f'<a href="{ext.url("/limited")}">l</a>')}) as site:
            run = crawl(site.url("/"), http={"retries": 1, "retry_max_wait": 5})
        assert result(run, ext.url("/limited")).verdict is Verdict.OK
        first, second = (r.at for r in ext.requests if r.path == "/limited")
        assert second - first >= 0.95


def test_retry_after_longer_than_the_cap_is_rate_limited_not_broken() -> None:
    """Waiting an hour is not an option, and hammering is rude: stop at once, say why."""
    with TestServer({"/limited": Reply(429, "no", {"Retry-After": "3600"})}) as ext:
        with TestServer({"/": page(f'<a href="{ext.url("/limited")}">l</a>')}) as site:
            started = time.monotonic()
            run = crawl(site.url("/"), http={"retries": 3, "retry_max_wait": 0.1})
            assert time.monotonic() - started < 5
        limited = result(run, ext.url("/limited"))
        assert (limited.verdict, limited.status) == (Verdict.RATE_LIMITED, 429)
        assert ext.count("/limited") == 1


def test_timeout_is_an_error_of_kind_timeout() -> None:
    with TestServer({"/slow": Reply(200, "late", delay=1.5)}) as ext:
        with TestServer({"/": page(f'<a href="{ext.url("/slow")}">s</a>')}) as site:
            run = crawl(site.url("/"), http={"timeout": 0.3, "retries": 0})
        slow = result(run, ext.url("/slow"))
        assert (slow.verdict, slow.error) == (Verdict.ERROR, ErrorKind.TIMEOUT)


def test_total_deadline_bounds_a_slow_trickle() -> None:
    """Each byte arrives well within any read timeout, but the whole body takes far too long."""
    body = "<html><body>" + "x" * 200 + "<a href='/never'>n</a></body></html>"
    with TestServer({"/": Reply(200, body, trickle=0.02)}) as site:
        started = time.monotonic()
        run = crawl(site.url("/"), http={"timeout": 0.5, "retries": 0})
        elapsed = time.monotonic() - started
    start = result(run, site.url("/"))
    assert (start.verdict, start.error) == (Verdict.ERROR, ErrorKind.TIMEOUT)
    assert elapsed < 3


def test_connection_dropped_mid_answer_is_a_protocol_error() -> None:
    with TestServer({"/drop": Reply(drop=True)}) as ext:
        with TestServer({"/": page(f'<a href="{ext.url("/drop")}">d</a>')}) as site:
            run = crawl(site.url("/"), http={"retries": 0})
        dropped = result(run, ext.url("/drop"))
        assert (dropped.verdict, dropped.error) == (Verdict.ERROR, ErrorKind.PROTOCOL)


def test_gzip_pages_are_decompressed_and_parsed() -> None:
    body = gzip.compress(b"<html><body><a href='/inner'>inner</a></body></html>")
    routes = {"/": Reply(200, body, {"Content-Encoding": "gzip"}), "/inner": page("")}
    with TestServer(routes) as site:
        run = crawl(site.url("/"))
    assert result(run, site.url("/inner")).verdict is Verdict.OK


class _FailingResolver(aiohttp.abc.AbstractResolver):
    """Answers every lookup with "no such host", like a real resolver for a dead domain."""

    async def resolve(self, host: str, port: int = 0, family: int = 0) -> list[Any]:
        raise OSError(-2, f"Name or service not known: {host}")

    async def close(self) -> None:
        pass


def test_unknown_host_is_a_dns_error() -> None:
    async def check() -> Any:
        settings = HttpSettings(retries=0, timeout=2)
        rules = HostRules(Config(http=settings), frozenset())
        async with HttpClient(settings, resolver=_FailingResolver()) as client:
            return await Checker(client, settings, rules).check("http://no-such-host.invalid/")

    checked = asyncio.run(check())
    assert (checked.result.verdict, checked.result.error) == (Verdict.ERROR, ErrorKind.DNS)


def test_untrusted_certificate_is_a_tls_error() -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with TestServer({"/": Reply(200, "secret")}, tls=context) as tls_server:
        with TestServer({"/": page(f'<a href="{tls_server.url("/")}">tls</a>')}) as site:
            run = crawl(site.url("/"))
        found = result(run, tls_server.url("/"))
    assert (found.verdict, found.error) == (Verdict.ERROR, ErrorKind.TLS)
    assert "certificate" in found.message.lower()
