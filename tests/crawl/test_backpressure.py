"""Back-pressure (issue #21): the bytes of fetched pages waiting to be parsed stay under
[crawl] parse_queue_bytes, however fast the server and slow the parse."""

from __future__ import annotations

import asyncio

import pytest

from linkcheck import page_stage
from linkcheck.http import Response
from linkcheck.models import Verdict
from linkcheck.parse_gate import ByteGate
from linkcheck.parsing import PageParser
from tests.conftest import crawl, result
from tests.server import Reply, TestServer, page

MB = 1_000_000
PAGES = 40
PARSE_SECONDS = 0.1  # a parse step far slower than the loopback server, even on a busy machine


def big_page(size: int) -> Reply:
    html = f"<!DOCTYPE html><html><body><p>{'x' * size}</p></body></html>"
    return Reply(200, html)


@pytest.fixture
def gates(monkeypatch: pytest.MonkeyPatch) -> list[ByteGate]:
    """Every page stage's gate, and a parse step that takes PARSE_SECONDS per page."""
    made: list[ByteGate] = []

    class Recorded(ByteGate):
        def __init__(self, cap: int, first_estimate: int) -> None:
            super().__init__(cap, first_estimate)
            made.append(self)

    digest = PageParser.digest

    async def slow_digest(
        self: PageParser, url: str, response: Response, *args: object, **kwargs: object
    ) -> object:
        await asyncio.sleep(PARSE_SECONDS)
        return await digest(self, url, response, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(page_stage, "ByteGate", Recorded)
    monkeypatch.setattr(PageParser, "digest", slow_digest)
    return made


def crawl_big_pages(cap: int) -> None:
    routes: dict[str, Reply] = {f"/p{n}.html": big_page(MB) for n in range(PAGES)}
    links = "".join(f'<a href="/p{n}.html">{n}</a>' for n in range(PAGES))
    routes["/"] = page(links)
    with TestServer(routes) as site:
        run = crawl(site.url("/"), crawl={"parse_workers": 0, "parse_queue_bytes": cap})
        assert all(result(run, site.url(f"/p{n}.html")).verdict is Verdict.OK for n in range(PAGES))
        assert len(run.pages) == PAGES + 1


def test_pages_waiting_to_be_parsed_stay_under_the_cap(gates: list[ByteGate]) -> None:
    cap = 3 * MB
    crawl_big_pages(cap)
    (gate,) = gates
    assert gate.held == 0  # every page released
    assert 0 < gate.peak <= cap + MB + 1000, f"{gate.peak / MB:.1f} MB held at once"


def test_without_the_cap_far_more_waits(gates: list[ByteGate]) -> None:
    """The same crawl with no cap: this is what back-pressure prevents."""
    crawl_big_pages(0)
    (gate,) = gates
    assert gate.peak > 10 * MB, f"{gate.peak / MB:.1f} MB held at once"


def test_a_page_larger_than_the_cap_is_still_crawled(gates: list[ByteGate]) -> None:
    big = 2 * MB
    routes = {
        "/": page('<a href="/big.html">big</a> <a href="/small.html">small</a>'),
        "/big.html": Reply(
            200, f"<html><body>{'x' * big}<a href='/after.html'>a</a></body></html>"
        ),
        "/small.html": page(""),
        "/after.html": page(""),
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/"), crawl={"parse_workers": 0, "parse_queue_bytes": MB})
    for path in ("/big.html", "/small.html", "/after.html"):
        assert result(run, site.url(path)).verdict is Verdict.OK
    (gate,) = gates
    assert gate.peak >= big and gate.held == 0


def test_a_cancelled_or_failed_page_gives_its_place_back() -> None:
    async def main() -> None:
        gate = ByteGate(cap=100, first_estimate=60)
        async with gate.admit() as first:
            gate.hold(first, 90)
            waiting = asyncio.ensure_future(gate.admit().__aenter__())
            await asyncio.sleep(0)
            assert not waiting.done()  # 90 held + 60 expected > 100
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        assert gate.held == 0 and gate.peak == 90
        with pytest.raises(RuntimeError):
            async with gate.admit():
                raise RuntimeError("the fetch failed")
        async with gate.admit() as alone:  # nothing else held: admitted at once
            gate.hold(alone, 500)
        assert gate.held == 0 and gate.peak == 500

    asyncio.run(main())
