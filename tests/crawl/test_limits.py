"""Limits that bound every run, crawl traps, bot walls, the re-check pass and hostile bytes."""

from __future__ import annotations

import gzip
import time
import tracemalloc

from linkcheck.models import ErrorKind, Verdict
from tests.conftest import crawl, result
from tests.server import Reply, Seen, TestServer, page

MIB = 1024 * 1024


def peak_memory_of_crawl(body: bytes, headers: dict[str, str]) -> tuple[int, float, object]:
    with TestServer({"/": Reply(200, body, headers), "/first": page("")}) as site:
        tracemalloc.start()
        started = time.monotonic()
        run = crawl(site.url("/"), http={"max_body_bytes": MIB})
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert result(run, site.url("/first")).verdict is Verdict.OK
    assert any("only the start of each was read" in note for note in run.limits_hit)
    return peak, elapsed, run


def test_gzip_bomb_is_cut_at_the_cap_while_decompressing() -> None:
    """100 MB of zeros compress to ~100 KB; only max_body_bytes of it may ever be inflated."""
    head = b"<html><body><a href='/first'>f</a>"
    bomb = gzip.compress(head + b"\0" * (100 * MIB), 9)
    assert len(bomb) < 200_000
    baseline, _, _ = peak_memory_of_crawl(head + b"\0" * (2 * MIB), {})  # same cap, no gzip
    peak, elapsed, _ = peak_memory_of_crawl(bomb, {"Content-Encoding": "gzip"})
    assert peak < baseline + 8 * MIB, f"{peak / MIB:.0f} MiB: inflated far past the cap"
    assert elapsed < 10


def test_only_bounded_encodings_are_advertised() -> None:
    with TestServer({"/": page('<a href="/a">a</a>'), "/a": page("")}) as site:
        crawl(site.url("/"))
        encodings = {r.headers.get("accept-encoding") for r in site.requests}
    assert encodings == {"gzip, deflate"}


def test_whole_run_deadline_stops_the_run_and_says_so() -> None:
    chain = {
        f"/s/{n}.html": page(f'<a href="{n + 1}.html">next</a>', delay=0.15) for n in range(200)
    }
    with TestServer(chain) as site:
        started = time.monotonic()
        run = crawl(site.url("/s/0.html"), crawl={"max_duration": 1.0})
        assert time.monotonic() - started < 4
    assert not run.complete and not run.interrupted
    assert any("max duration" in note for note in run.limits_hit)
    assert 2 <= len(run.pages) < 200


def test_calendar_trap_ends_at_the_page_limit_in_time() -> None:
    def calendar(seen: Seen) -> Reply:
        month = int(seen.path.rsplit("=", 1)[1])
        return page(
            f'<a href="/cal?month={month + 1}">next month</a>'
            f'<a href="/cal?month={month - 1}">previous month</a>'
        )

    with TestServer({"/cal": calendar}) as site:
        started = time.monotonic()
        run = crawl(site.url("/cal?month=0"), crawl={"max_pages": 40})
        assert time.monotonic() - started < 10
    assert len(run.pages) == 40
    assert any("max pages (40)" in note for note in run.limits_hit)


def test_session_ids_in_urls_end_at_the_limits() -> None:
    counter = iter(range(10**6))

    def with_session(seen: Seen) -> Reply:
        name = seen.path.partition("?")[2].partition("=")[0] or "sid"
        return page(f'<a href="/shop/item?{name}={next(counter)}">item</a>')

    with TestServer({"/shop/item": with_session}) as site:
        # a parameter that is no session id: an endless crawl, ended by a limit
        run = crawl(site.url("/shop/item?v=start"), crawl={"max_pages": 25, "max_depth": 1000})
        assert len(run.pages) == 25 and not run.complete
        # issue #20: a session id is no part of a page's address, so /shop/item?sid=N is
        # one page, /shop/item, whatever N (it used to be 25 pages, then max_pages)
        run = crawl(site.url("/shop/item?sid=start"), crawl={"max_pages": 25, "max_depth": 1000})
    assert [p.url for p in run.pages] == [
        site.url("/shop/item?sid=start"),
        site.url("/shop/item"),
    ]
    assert run.complete


def test_repeating_path_segments_are_not_followed() -> None:
    # a relative link to "docs/" on every page under /docs/ grows the path forever
    with TestServer({}) as site:
        site.routes.update(
            {f"/{'docs/' * n}": page('<a href="docs/">docs</a>') for n in range(1, 6)}
        )
        run = crawl(site.url("/docs/"))
        assert [p.url for p in run.pages] == [site.url("/docs/"), site.url("/docs/docs/")]
        trap = result(run, site.url("/docs/docs/docs/"))
        assert trap.verdict is Verdict.EXCLUDED and "crawl trap" in trap.message
        assert site.count("/docs/docs/docs/") == 0
        assert any("crawl trap" in note for note in run.limits_hit)


def test_max_links_per_page_and_max_url_length() -> None:
    many = "".join(f'<a href="/l{n}">{n}</a>' for n in range(50))
    long_href = "/" + "x" * 300
    with TestServer({"/": page(many + f'<a href="{long_href}">long</a>')}) as site:
        run = crawl(site.url("/"), crawl={"max_links_per_page": 10, "max_url_length": 200})
        assert sum(1 for url in run.links if "/l" in url) == 10
        assert any("more than 10 links" in note for note in run.limits_hit)
        run = crawl(site.url("/"), crawl={"max_url_length": 200})
        too_long = run.links[long_href]
        assert too_long.result is not None and too_long.result.error is ErrorKind.INVALID_URL
        assert site.count(long_href) == 0


def test_bot_protection_is_blocked_not_broken() -> None:
    challenge = "<html><head><title>Just a moment...</title></head><body>cf-chl</body></html>"
    routes = {
        "/linkedin": Reply(999, "request denied"),
        "/cloudflare": Reply(403, "denied", {"cf-mitigated": "challenge"}),
        "/challenge-body": Reply(503, challenge),
        "/real-403": Reply(403, "<p>Forbidden</p>"),
    }
    with TestServer(routes) as ext:
        host = f"localhost:{ext.port}"
        html = "".join(f'<a href="http://{host}{path}">x</a>' for path in routes)
        with TestServer({"/": page(html)}) as site:
            run = crawl(site.url("/"), http={"allow_private": True, "retries": 0})
    for path in ("/linkedin", "/cloudflare", "/challenge-body"):
        blocked = result(run, f"http://{host}{path}")
        assert blocked.verdict is Verdict.BLOCKED, path
        assert "check it by hand" in blocked.message
    assert result(run, f"http://{host}/real-403").verdict is Verdict.BROKEN


def test_recheck_pass_saves_a_flaky_link_from_being_reported() -> None:
    calls: list[float] = []

    def flaky(seen: Seen) -> Reply:
        calls.append(seen.at)
        return Reply(502, "bad gateway") if len(calls) == 1 else Reply(200, "ok")

    with TestServer(
        {
            "/": page('<a href="/flaky">f</a><a href="/down">d</a>'),
            "/flaky": flaky,
            "/down": Reply(500, "down"),
        }
    ) as site:
        run = crawl(site.url("/"), http={"retries": 0, "recheck": True, "recheck_delay": 0.3})
        assert result(run, site.url("/flaky")).verdict is Verdict.OK
        assert calls[1] - calls[0] >= 0.3  # the second look came after the pause
        down = result(run, site.url("/down"))
        assert (down.verdict, down.status) == (Verdict.BROKEN, 500)
        assert site.count("/down") == 2
        assert site.count("/") == 1  # what worked is not checked again


def test_hostile_bytes_still_give_results() -> None:
    routes = {
        "/nul": Reply(
            200,
            b"<html><body>\x00<a href='/a'>a\x00b</a>\xff\xfe</body></html>",
            content_type="text/html; charset=utf-8",
        ),
        "/unknown-charset": Reply(
            200, b"<a href='/b'>b</a>", content_type="text/html; charset=x-klingon"
        ),
        "/big-attribute": Reply(200, "<a href='/c' data-x='" + "y" * MIB + "'>c</a>"),
        "/malformed": Reply(200, "<a href='/d'>d<table><td><a href=/e>e</b></i></html></p>"),
        "/deep": Reply(200, "<div>" * 100_000 + "<a href='/f'>f</a>"),
    }
    index = "".join(f'<a href="{path}">x</a>' for path in routes)
    with TestServer({"/": page(index), **routes}) as site:
        started = time.monotonic()
        run = crawl(site.url("/"))
        assert time.monotonic() - started < 15
    for path in ("/a", "/b", "/c", "/d", "/e", "/f"):
        assert site.url(path) in run.links, path
    text = run.links[site.url("/a")].occurrences[0].text
    assert text.startswith("a") and text.endswith("b") and "\x00" not in text


def test_idn_hosts_keep_both_forms() -> None:
    from linkcheck.urls import display_host

    with TestServer({"/": page('<a href="http://bücher.example/">books</a>')}) as site:
        run = crawl(site.url("/"), crawl={"check_external": False})
    assert "http://xn--bcher-kva.example/" in run.links
    assert display_host("http://xn--bcher-kva.example/") == "bücher.example"
