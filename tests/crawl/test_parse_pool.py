"""Parsing in worker processes: the same run as parsing in process, and nothing lost when a
worker cannot start, dies, or is left behind."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import pickle
import platform
import re
import signal
import subprocess
import sys
import time
from array import array
from pathlib import Path
from typing import Any

import pytest

from linkcheck import digest as digest_module
from linkcheck import parsing
from linkcheck.allocator import KEPT_FREE, LARGE_BLOCK, return_large_blocks
from linkcheck.config import ConfigError, config_from_mapping
from linkcheck.digest import DigestSettings, NewLink, PageDigest
from linkcheck.models import Finding, RunResult
from linkcheck.parse_pool import MAX_WORKERS, ParsePool, auto_workers
from linkcheck.pickling import by_fields
from linkcheck.runner import run_check
from linkcheck.urls import ResolvedLink
from tests.conftest import crawl, make_config
from tests.server import Reply, Route, TestServer, page, redirect

PAGES = 30


def guide() -> dict[str, Route]:
    """Pages with every kind of link the crawl records, so both ways must agree on each."""
    nav = "".join(
        f'<li><a href="{"./" if n % 3 else "/guide/"}p{n}.html">Topic {n}</a></li>'
        for n in range(PAGES)
    )
    routes: dict[str, Route] = {}
    for n in range(PAGES):
        body = (
            f'<a href="nf.html">NF</a><nav><ul>{nav}</ul></nav><h2 id="s{n}">Section</h2>'
            f'<a href="p{(n + 1) % PAGES}.html#s{(n + 1) % PAGES}">next section</a>'
            f'<a href="p{(n + 2) % PAGES}.html#missing">broken section</a>'
            '<a href="gone.html">click here</a><a href="old.html">Old page</a>'
            '<a href="mailto:not-an-address">Write</a><a href="tel:12">Call</a>'
            '<a href="/guide/p0.html"></a>'
            '<a href="https://127.0.0.1:1/x" rel="nofollow">Elsewhere</a>'
            '<img srcset="a.png 1x, b.png 2x" alt="Pic"><a href="cut.html">Cut</a>'
        )
        routes[f"/guide/p{n}.html"] = page(body)
    routes["/guide/old.html"] = redirect("/guide/new.html")
    routes["/guide/new.html"] = page('<a href="deep.html">Deep</a>')
    routes["/guide/deep.html"] = page('<meta name="robots" content="nofollow"><a href="x">x</a>')
    routes["/guide/nf.html"] = Reply(
        200, "<title>Page not found</title><h1>Not found</h1>", content_type="text/html"
    )
    routes["/guide/a.png"] = Reply(200, b"png", content_type="image/png")
    routes["/guide/b.png"] = Reply(200, b"png", content_type="image/png")
    return routes


@pytest.fixture
def eager_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages go to a worker from the first one, started or not, however many wait there:
    the runs compared are then parsed (nearly) wholly in workers, whatever the time a worker
    takes to start or to parse."""
    monkeypatch.setattr(ParsePool, "ready", property(lambda pool: pool.alive))
    monkeypatch.setattr(parsing, "PARSE_HERE_BACKLOG", 10**9)


def summary(run: RunResult) -> dict[str, Any]:
    """Everything a report shows, in an order that does not depend on timing."""
    links = {}
    for url, link in run.links.items():
        assert link.result is not None
        links[url] = (
            link.internal,
            link.result.verdict,
            link.result.status,
            link.result.final_url,
            link.result.message,
            sorted(link.occurrences),
        )
    return {
        "links": links,
        # not depth: with requests in flight at once, which page finds a link first varies
        "pages": sorted((p.url, p.title, p.status, p.links_found) for p in run.pages),
        "findings": sorted(run.findings, key=repr),
        "limits": run.limits_hit,
        "notes": run.notes,
    }


def workers_used(caplog: pytest.LogCaptureFixture) -> int:
    for record in caplog.records:
        match = re.match(r"(\d+) of \d+ pages parsed in worker processes", record.getMessage())
        if match:
            return int(match.group(1))
    raise AssertionError("the crawler did not say how pages were parsed")


def test_workers_give_the_same_run_as_parsing_in_process(
    caplog: pytest.LogCaptureFixture, eager_workers: None
) -> None:
    caplog.set_level(logging.DEBUG, logger="linkcheck.crawler")
    with TestServer(guide()) as site:
        start = site.url("/guide/p0.html")
        alone = crawl(start, crawl={"parse_workers": 0, "max_links_per_page": 41})
        assert workers_used(caplog) == 0
        caplog.clear()
        pooled = crawl(start, crawl={"parse_workers": 2, "max_links_per_page": 41})
        assert workers_used(caplog) >= PAGES  # the positive control: the workers did parse
    assert summary(pooled) == summary(alone)
    # and the run is the one we meant to compare: every kind of record is in it
    kinds = {f.kind for f in alone.findings}
    assert {"generic-link-text", "empty-link-text"} <= kinds
    assert alone.links[site.url("/guide/p1.html#missing")].result is not None
    assert any(p.url == site.url("/guide/new.html") for p in alone.pages)
    assert any(f"{PAGES} page(s) had more than" in line for line in alone.limits_hit)
    assert site.url("/guide/cut.html") not in alone.links
    soft = alone.links[site.url("/guide/nf.html")].result
    assert soft is not None and "soft 404" in soft.message  # judged from the worker's page too


def test_a_page_like_the_hosts_not_found_page_is_judged_the_same_in_a_worker(
    caplog: pytest.LogCaptureFixture, eager_workers: None
) -> None:
    """The worker sends a page's text only when its title is the probe page's: the soft 404
    that looks like the host's not-found page is found either way, and only it."""
    caplog.set_level(logging.DEBUG, logger="linkcheck.crawler")
    shell = "<title>Shop</title><p>We could not show this item. Try the search box.</p>"
    routes: dict[str, Route] = {
        f"/shop/p{n}.html": page(f'<a href="p{(n + 1) % PAGES}.html">next</a><p>Item {n}</p>')
        for n in range(PAGES)
    }
    routes["/shop/p0.html"] = page('<a href="p1.html">next</a><a href="gone.html">gone</a>')
    routes["/shop/same-title.html"] = Reply(200, "<title>Shop</title><p>A real item, in stock.</p>")
    routes["/shop/p5.html"] = page('<a href="p6.html">next</a><a href="same-title.html">s</a>')

    class CatchAll(dict[str, Route]):
        def get(self, key: str, default: object = None) -> Route:  # type: ignore[override]
            return super().get(key) or Reply(200, shell)

    runs = []
    with TestServer(routes) as site:
        site.routes = CatchAll(routes)
        for workers in (0, 1):
            caplog.clear()
            runs.append(crawl(site.url("/shop/p0.html"), crawl={"parse_workers": workers}))
            assert (workers_used(caplog) > 0) == bool(workers)
    alone, pooled = runs
    assert summary(pooled) == summary(alone)
    gone = alone.links[site.url("/shop/gone.html")].result
    assert gone is not None and "does not exist" in gone.message
    same_title = alone.links[site.url("/shop/same-title.html")].result
    assert same_title is not None and same_title.verdict.value == "ok"


def test_a_big_site_through_two_workers_is_the_same_run(
    caplog: pytest.LogCaptureFixture, eager_workers: None
) -> None:
    """Enough pages, each big, that the pipes to the workers fill and writers must wait."""
    caplog.set_level(logging.DEBUG, logger="linkcheck.crawler")
    pages = 150
    filler = "<p>" + "words " * 2000 + "</p>"
    routes: dict[str, Route] = {}
    for n in range(pages):
        nav = "".join(
            f'<a href="{("./", "/g/", "")[(n + m) % 3]}p{m}.html">Page {m} {"x" * (n % 2)}</a>'
            for m in range(pages)
        )
        routes[f"/g/p{n}.html"] = page(f"{nav}{filler}<a href='gone{n % 7}.html'>Gone</a>")
    with TestServer(routes) as site:
        start = site.url("/g/p0.html")
        alone = crawl(start, crawl={"parse_workers": 0}, http={"concurrency": 64})
        caplog.clear()
        pooled = crawl(start, crawl={"parse_workers": 2}, http={"concurrency": 64})
        assert workers_used(caplog) >= pages - 1
    assert len(alone.pages) == pages
    assert summary(pooled) == summary(alone)


def test_pages_parsed_here_while_the_worker_is_behind_give_the_same_run(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker with a page waiting already: the next page is parsed in the crawler's own
    process (parse_here), so one run mixes both digesters' ids, and is still the same run."""
    caplog.set_level(logging.DEBUG, logger="linkcheck.crawler")
    monkeypatch.setattr(ParsePool, "ready", property(lambda pool: pool.alive))
    monkeypatch.setattr(parsing, "parse_here", lambda ready, backlog, *_: not ready or backlog > 0)
    with TestServer(guide()) as site:
        start = site.url("/guide/p0.html")
        alone = crawl(start, crawl={"parse_workers": 0, "max_links_per_page": 41})
        caplog.clear()
        mixed = crawl(start, crawl={"parse_workers": 1, "max_links_per_page": 41})
        by_worker = workers_used(caplog)
    assert 0 < by_worker < len(alone.pages)  # both parsed pages: the mix is what is tested
    assert summary(mixed) == summary(alone)


@pytest.mark.parametrize(
    ("ready", "backlog", "in_flight", "spare", "here"),
    [
        (False, 0, 10, True, True),  # no worker has started: here, not after its imports
        (False, 0, 10, False, True),
        (True, 0, 10, True, False),  # a worker waits for work: it parses
        (True, 9, 10, True, False),  # a burst: the worker catches up while this one fetches
        (True, 10, 10, True, True),  # as many waiting as requests in flight: fetching waits
        (True, 200, 32, True, True),
        (True, 200, 32, False, False),  # a worker on every core (a folder): no core to spare
        (True, 3, 1, True, False),  # one request at a time: still a few pages' queue at least
        (True, parsing.PARSE_HERE_BACKLOG, 1, True, True),
    ],
)
def test_where_a_page_is_parsed(
    ready: bool, backlog: int, in_flight: int, spare: bool, here: bool
) -> None:
    assert parsing.parse_here(ready, backlog, in_flight, spare) is here


def test_every_answer_is_taken_in_order_even_when_its_page_is_cancelled() -> None:
    settings = DigestSettings(
        max_links_per_page=100, max_url_length=2048, link_text=True, generic_texts=frozenset()
    )
    taken: list[object] = []

    async def scenario() -> None:
        pool = ParsePool(settings, 1, lambda number, digest, token: taken.append(token))
        await pool.start()
        try:
            tasks = [
                asyncio.create_task(
                    pool.digest(
                        f"http://127.0.0.1/{n}", b'<a href="x">x</a>', None, (False, None), n
                    )
                )
                for n in range(6)
            ]
            await asyncio.sleep(0)
            tasks[2].cancel()
            tasks[4].cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await pool.digest("http://127.0.0.1/last", b"<p>", None, (False, None), "last")
        finally:
            await pool.close()

    asyncio.run(scenario())
    assert taken == [0, 1, 2, 3, 4, 5, "last"]


def test_a_worker_that_cannot_start_or_dies_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="linkcheck.crawler")
    # Stand-ins for the Python that runs workers: one exits at once, one after reading a
    # little of its first page.
    at_once = tmp_path / "exits"
    at_once.write_text("#!/bin/sh\nexit 3\n")
    midway = tmp_path / "dies"
    # says READY (a pickled True), then dies in its first page
    midway.write_text(f"#!/bin/sh\nprintf '{READY_FRAME}'\nhead -c 300 >/dev/null\nexit 1\n")
    silent = tmp_path / "silent"  # never says READY, never answers: must never be waited for
    silent.write_text("#!/bin/sh\nexec sleep 30\n")
    for script in (at_once, midway, silent):
        script.chmod(0o755)
    with TestServer(guide()) as site:
        start = site.url("/guide/p0.html")
        expected = summary(crawl(start, crawl={"parse_workers": 0}))
        for script in (at_once, midway, silent):
            monkeypatch.setattr(sys, "executable", str(script))
            caplog.clear()
            run = crawl(start, crawl={"parse_workers": 1})
            assert workers_used(caplog) == 0
            assert summary(run) == expected


# What a worker writes first: the header (mark, length 4) and the pickle of READY (True),
# as printf octal escapes.
READY_FRAME = "LCpw\\000\\000\\000\\004\\200\\005\\210."
# A frame whose pickle is a string that is not UTF-8: pickle.loads raises UnicodeDecodeError,
# not a PickleError.
NOT_UTF8_FRAME = "LCpw\\000\\000\\000\\007\\200\\005\\214\\001\\377\\224."
# Bytes lost from a stream: what follows is read where a header should be (no mark, and a
# length that would have been waited for).
NOT_A_HEADER = "\\001\\002\\003\\004\\060\\000\\000\\000"


@pytest.mark.parametrize(
    "answer", [NOT_UTF8_FRAME, NOT_A_HEADER], ids=["does-not-unpickle", "not-a-header"]
)
def test_a_worker_whose_answers_are_not_frames_is_stopped_and_nothing_waits(
    answer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker that says READY, takes a page, answers something that is not a frame, and
    stays alive: its pages are parsed in process and the worker is killed. Before, an
    answer that failed to unpickle with anything but a PickleError ended the pool's reader
    without a word, and the pages sent to that worker waited for ever (a run under py-spy
    --subprocesses, whose pauses cut the workers' writes short, hung at 153 of 10,000
    pages); a header that was not one was read as a length of up to 4 GB, and waited for."""
    caplog.set_level(logging.DEBUG)
    script = tmp_path / "garbles"
    script.write_text(
        f"#!/bin/sh\nprintf '{READY_FRAME}'\nhead -c 300 >/dev/null\nprintf '{answer}'\n"
        "exec sleep 30\n"
    )
    script.chmod(0o755)
    with TestServer(guide()) as site:
        start = site.url("/guide/p0.html")
        expected = summary(crawl(start, crawl={"parse_workers": 0}))
        monkeypatch.setattr(sys, "executable", str(script))
        caplog.clear()
        began = time.monotonic()
        run = crawl(start, crawl={"parse_workers": 1})
        took = time.monotonic() - began
    assert summary(run) == expected
    assert workers_used(caplog) == 0
    assert any("unreadable answer" in r.getMessage() for r in caplog.records)
    assert took < 10  # the worker's sleep 30 was not waited for: it was killed


def test_a_killed_worker_is_noticed_and_the_pool_stops_its_processes() -> None:
    settings = DigestSettings(
        max_links_per_page=100, max_url_length=2048, link_text=True, generic_texts=frozenset()
    )
    html = b'<title>T</title><a href="/a">A</a><a href="/b">B</a><a href="/a">A again</a>'

    async def scenario() -> None:
        pool = ParsePool(settings, 2, lambda number, digest, token: None)
        await pool.start()
        try:
            answers = await asyncio.gather(
                *(
                    pool.digest(f"http://127.0.0.1/{n}", html, "utf-8", (False, None), n)
                    for n in range(4)
                )
            )
            assert all(answer is not None for answer in answers)
            numbers = {answer[0] for answer in answers if answer is not None}
            assert numbers == {1, 2}  # both workers took pages
            digest = answers[0][1] if answers[0] else None
            assert isinstance(digest, PageDigest)
            assert [new.resolved.url for new in digest.new_links] == [
                "http://127.0.0.1/a",
                "http://127.0.0.1/b",
            ]
            assert list(digest.rows) == [0, 1, 0, 1, 1, 1, 0, 1, 2]  # (link, line, variant)
            processes = [worker.process for worker in pool._workers]
            for process in processes:
                process.kill()
                await process.wait()
            assert await pool.digest("http://127.0.0.1/x", html, "utf-8", (False, None), 9) is None
            assert not pool.alive
        finally:
            await pool.close()
        assert all(process.returncode is not None for process in processes)

    asyncio.run(scenario())


def test_a_worker_closed_before_it_started_is_killed_not_waited_for() -> None:
    """A crawl over before its worker finished importing has nothing to wait for: closing
    kills the worker (which was sent no page) instead of waiting for its imports to end."""
    settings = DigestSettings(
        max_links_per_page=100, max_url_length=2048, link_text=True, generic_texts=frozenset()
    )

    async def scenario() -> None:
        pool = ParsePool(settings, 1, lambda number, digest, token: None)
        await pool.start()  # the worker now imports for ~0.1 s before it can say READY
        (worker,) = pool._workers
        assert not worker.ready
        await pool.close()
        assert worker.process.returncode == -signal.SIGKILL

    asyncio.run(scenario())


def child_pids(pid: int) -> set[int]:
    """The live children of a process, from every one of its threads."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found.update(int(child) for child in (task / "children").read_text().split())
        except FileNotFoundError:  # a thread that ended meanwhile (asyncio's child waiters)
            continue
    return found


def test_no_worker_outlives_the_run() -> None:
    before = child_pids(os.getpid())
    with TestServer(guide()) as site:
        crawl(site.url("/guide/p0.html"), crawl={"parse_workers": 2})
    assert child_pids(os.getpid()) - before == set()


def test_parse_workers_below_minus_one_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"\[crawl\] parse_workers must be at least -1"):
        make_config("http://127.0.0.1:1/", crawl={"parse_workers": -2})


def test_a_built_folder_through_two_workers_is_the_same_run(
    tmp_path: Path, eager_workers: None
) -> None:
    """Files answer at once, so pages reach the workers faster than they parse them."""
    pages = 300
    for n in range(pages):
        nav = "".join(
            f'<a href="{("./", "/", "")[(n + m) % 3]}p{(n + 5 * m) % pages}.html">P</a>'
            for m in range(60)
        )
        body = f"<title>P{n}</title>{nav}<a href='p{(n + 1) % pages}.html'>next</a>" + "w " * 4000
        (tmp_path / f"p{n}.html").write_text(body)
    (tmp_path / "index.html").write_text('<a href="p0.html">start</a>')

    def check(workers: int) -> RunResult:
        data = {
            "local": {"root": str(tmp_path)},
            "crawl": {"parse_workers": workers},
            "cache": {"enabled": False},
        }
        return run_check(config_from_mapping(data, source="test"))

    alone = check(0)
    assert len(alone.pages) == pages + 1, (alone.limits_hit, alone.notes)
    assert summary(check(2)) == summary(alone)
    assert summary(check(-1)) == summary(alone)


def test_a_folder_gets_a_parse_worker_per_core_and_a_crawl_one_per_spare_core() -> None:
    cores = len(os.sched_getaffinity(0))
    assert auto_workers(fetching=False) == min(MAX_WORKERS, cores)
    assert auto_workers() == min(MAX_WORKERS, cores - 1)


def test_a_digester_that_forgets_gives_the_same_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past its bounds a digester forgets how links were written; nothing else changes."""
    with TestServer(guide()) as site:
        start = site.url("/guide/p0.html")
        expected = summary(crawl(start, crawl={"parse_workers": 0}))
        monkeypatch.setattr(digest_module, "MAX_SEEN", 3)
        monkeypatch.setattr(digest_module, "MAX_RESOLVED", 3)
        monkeypatch.setattr(digest_module, "MAX_VARIANTS", 3)
        assert summary(crawl(start, crawl={"parse_workers": 0})) == expected


def test_the_allocator_setting_takes_on_this_linux() -> None:
    """The CLI and the parse workers fix glibc's mmap threshold (see linkcheck.allocator)."""
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    assert return_large_blocks()


def test_a_parse_worker_makes_full_collections_rare(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker's digester keeps memos that grow all crawl long, with no cycles: like the
    crawler's process, it raises the collector's third threshold (linkcheck.allocator)."""
    import gc
    import io

    from linkcheck import parse_worker
    from linkcheck.allocator import FULL_COLLECTION_THRESHOLD

    thresholds: list[tuple[int, ...]] = []
    monkeypatch.setattr(gc, "set_threshold", lambda *values: thresholds.append(values))
    monkeypatch.setattr(gc, "freeze", lambda: None)  # the pytest process's objects stay
    monkeypatch.setattr(parse_worker, "return_large_blocks", lambda: True)
    young, middle, _ = gc.get_threshold()
    settings = DigestSettings(
        max_links_per_page=100, max_url_length=2000, link_text=True, generic_texts=frozenset()
    )
    answers = io.BytesIO()
    parse_worker.serve(io.BytesIO(parse_worker.frame(settings)), answers)
    assert thresholds == [(young, middle, FULL_COLLECTION_THRESHOLD)]
    assert answers.getvalue() == parse_worker.frame(parse_worker.READY)  # then its input ended


def test_a_response_read_takes_no_mapping_of_its_own() -> None:
    """asyncio reads a socket into a 256 KiB buffer and shrinks it to what arrived: below
    the mmap threshold it comes from the heap, not from an mmap/mremap/munmap per read."""
    from asyncio import selector_events

    buffer = bytes(selector_events._SelectorSocketTransport.max_size)
    assert sys.getsizeof(buffer) < LARGE_BLOCK  # the object as allocated, header and all


_FAULTS_PER_PAGE = """
import resource, sys
from linkcheck.allocator import return_large_blocks
from linkcheck.digest import Digester, DigestSettings
return_large_blocks(kept_free=int(sys.argv[1]))
nav = "".join(f'<li><a href="/p{n}.html">Chapter {n}</a></li>' for n in range(50))
def page(n):
    own = "".join(f'<p>{m} <a href="/c/{n}-{m}.html">more {n} {m}</a> text</p>' for m in range(30))
    return f"<title>P{n}</title><nav><ul>{nav}</ul></nav><main>{own}</main>".encode()
digester = Digester(DigestSettings(10_000, 8_000, True, frozenset()))
pages = [page(n) for n in range(300)]
for n in range(100):  # the heap grown to its working size
    digester.digest(f"http://ex.com/p{n}.html", pages[n], None)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for n in range(100, 300):
    digester.digest(f"http://ex.com/p{n}.html", pages[n], None)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 200)
"""


def test_a_parse_keeps_its_memory_for_the_next() -> None:
    """Tuned, the allocator keeps the memory a page's parse freed for the next page instead
    of handing it back and faulting it in again (at glibc's 128 KB: ~4x the page faults)."""
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")

    def faults(kept_free: int) -> float:
        out = subprocess.run(
            [sys.executable, "-c", _FAULTS_PER_PAGE, str(kept_free)],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        return float(out)

    assert faults(128 << 10) > 2 * faults(KEPT_FREE)  # 128 KB: glibc's own trim threshold


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_a_run_with_workers_ends_it_cleanly(tmp_path: Path, signum: int) -> None:
    """Ctrl-C mid-crawl, with pages in the workers and many more waiting: the run writes its
    partial report and exits at once, says nothing else, and leaves no worker behind."""
    fan = "".join(f'<a href="w{m}.html">W{m}</a>' for m in range(60))
    routes: dict[str, Route] = {
        f"/s/{n}.html": page(f'<a href="{n + 1}.html">next</a>{fan}', delay=0.05)
        for n in range(200)
    }
    with TestServer(routes) as site:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "linkcheck",
                "run",
                site.url("/s/0.html"),
                "--parse-workers",
                "1",
                "--no-cache",
                "--format",
                "json",
                "--timeout",
                "2",
            ],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
        )
        deadline = time.monotonic() + 20
        while site.count("/s/5.html") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = sorted(child_pids(process.pid))
        assert workers  # the positive control: a worker was running
        process.send_signal(signum)
        _stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == {signal.SIGINT: 130, signal.SIGTERM: 143}[signum], stderr
    assert stderr.strip() == "", stderr  # no traceback, no "never awaited", no task noise
    document = json.loads((tmp_path / "reports" / "report.json").read_text(encoding="utf-8"))
    assert document["run"]["interrupted"] is True
    for pid in workers:
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        ), f"worker {pid} outlived the run"


def test_what_crosses_the_pipes_comes_back_whole() -> None:
    """Digests, new links and resolved links pickle by their fields (linkcheck.pickling):
    every field, none at its default, survives the trip."""
    resolved = ResolvedLink("http://x.test/a", "part", "http", "why not")
    new = NewLink(resolved, " a.html ", follow=False)
    finding = Finding(
        "generic-link-text", "warning", "http://x.test/a", "http://x.test/", "a", "here", 3, "m"
    )
    digest = PageDigest(
        title="T",
        links_found=3,
        cut_short=True,
        ids="a\0b",
        new_links=[new],
        new_variants=bytearray(b"v\0w"),
        variant_ends=array("I", [3]),
        rows=array("I", [0, 1, 0]),
        findings=[finding],
        not_found_said="Page not found",
        text="the page",
    )
    for value in (resolved, new, digest):
        assert pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)) == value


def test_only_classes_built_from_all_their_fields_pickle_by_fields() -> None:
    @dataclasses.dataclass
    class Derived:
        base: int
        double: int = dataclasses.field(init=False, default=0)

    with pytest.raises(TypeError, match="every field must be an __init__ parameter"):
        by_fields(Derived)
