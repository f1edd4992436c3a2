"""A time budget per URL: one link that never answers costs the run one timeout, two at most.

Loopback servers whose paths answer late or never (a held request, no byte sent), small
timeouts so each run takes a few seconds, and the run's wall time bounded from above.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import pytest

from linkcheck.config import ConfigError
from linkcheck.models import ErrorKind, RunResult, Verdict
from tests.conftest import crawl, make_config, result
from tests.server import Reply, Seen, TestServer, page, redirect

TIMEOUT = 1.0
NEVER = Reply(200, "too late", delay=60.0)  # the handler thread is a daemon: it dies with us
# A link that takes 1.8 timeouts to check, each answer well within the timeout: three
# redirect hops of 0.6 timeouts each.
BUSY = {
    "/busy": replace(redirect("/busy2"), delay=0.6 * TIMEOUT),
    "/busy2": replace(redirect("/busy3"), delay=0.6 * TIMEOUT),
    "/busy3": Reply(200, "busy", delay=0.6 * TIMEOUT),
}
# What the runs of this file may cost beyond their timeouts: starting, parsing, back-off.
SLACK = 1.5
# Everything that could retry or recheck is on, as by default, with short waits.
HTTP = {
    "timeout": TIMEOUT,
    "retries": 2,
    "retry_max_wait": 0.2,
    "recheck": True,
    "recheck_delay": 0.3,
}


def timed_crawl(start: str, **http: object) -> tuple[RunResult, float]:
    began = time.monotonic()
    run = crawl(start, http={**HTTP, **http})
    return run, time.monotonic() - began


def assert_timed_out(run: RunResult, url: str, tries: int) -> None:
    checked = result(run, url)
    assert (checked.verdict, checked.error) == (Verdict.ERROR, ErrorKind.TIMEOUT)
    assert checked.message.startswith(f"no answer within {TIMEOUT:g} s"), checked.message
    assert ("(2 tries)" in checked.message) is (tries == 2), checked.message


def test_a_link_that_never_answers_costs_one_timeout_when_nothing_else_runs() -> None:
    routes = {"/": page('<a href="/never">n</a><a href="/ok">o</a>'), "/never": NEVER}
    with TestServer({**routes, "/ok": Reply(200, "fine")}) as site:
        run, took = timed_crawl(site.url("/"))
        assert_timed_out(run, site.url("/never"), tries=1)
        assert site.count("/never") == 1  # not retried, not rechecked: nothing else to wait for
    assert took < TIMEOUT + SLACK
    assert run.complete


def test_a_timeout_is_tried_once_more_while_other_work_runs_never_a_third_time() -> None:
    # /busy is still being checked when /never has timed out once: other work is running
    # then, so /never is asked again, once (its budget is two timeouts).
    routes = {
        "/": page('<a href="/never">n</a><a href="/slow2x">s</a><a href="/busy">b</a>'),
        "/never": NEVER,
        "/slow2x": Reply(200, "late", delay=2 * TIMEOUT),  # answers after two timeouts
        **BUSY,
    }
    with TestServer(routes) as site:
        run, took = timed_crawl(site.url("/"))
        for path in ("/never", "/slow2x"):
            assert_timed_out(run, site.url(path), tries=2)
            assert site.count(path) == 2, path
        assert result(run, site.url("/busy")).verdict is Verdict.REDIRECTED
    # the crawl (/busy, 1.8 timeouts) and the second try: two timeouts
    assert took < 2 * TIMEOUT + SLACK + 0.5  # + the back-off before the second try
    assert run.complete


def test_the_run_ends_within_the_crawl_time_and_two_timeouts() -> None:
    # a crawl of a few seconds: pages that answer slowly, within the timeout, one after the
    # other (each links to the next), and links that never answer all along the way
    hops = 4
    routes = {
        f"/p{i}": page(f'<a href="/p{i + 1}">next</a><a href="/never{i}">never</a>', delay=0.5)
        for i in range(hops)
    }
    routes |= {f"/never{i}": NEVER for i in range(hops)}
    routes[f"/p{hops}"] = page("the end", delay=0.5)
    with TestServer(routes) as site:
        run, took = timed_crawl(site.url("/p0"))
        for i in range(hops):
            checked = result(run, site.url(f"/never{i}"))
            assert checked.error is ErrorKind.TIMEOUT
            assert site.count(f"/never{i}") <= 2
        crawl_time = 0.5 * (hops + 1)
    assert took < crawl_time + 2 * TIMEOUT + SLACK
    assert run.complete


def test_fast_transient_failures_keep_their_retries_and_the_recheck() -> None:
    answers = {"gateway": [502, 503, 504, 200], "reset": [429, 429, 200]}

    def turns(name: str) -> Reply:
        status = answers[name].pop(0) if len(answers[name]) > 1 else answers[name][0]
        return Reply(status, "x", headers={"Retry-After": "0"} if status == 429 else {})

    routes = {
        "/": page('<a href="/gateway">g</a><a href="/limited">l</a>'),
        "/gateway": lambda seen: turns("gateway"),
        "/limited": lambda seen: turns("reset"),
    }
    with TestServer(routes) as site:
        run, _took = timed_crawl(site.url("/"))
        # 502, 503, 504: three tries (retries = 2) fail; the recheck gets the 200
        assert result(run, site.url("/gateway")).verdict is Verdict.OK
        assert site.count("/gateway") == 4
        assert result(run, site.url("/limited")).verdict is Verdict.OK
        assert site.count("/limited") == 3


def test_the_recheck_runs_during_the_crawl_not_after_it() -> None:
    first: list[float] = []

    def flaky(seen: Seen) -> Reply:
        first.append(seen.at)
        return Reply(500, "down") if len(first) == 1 else Reply(200, "ok")

    routes = {
        "/": page('<a href="/flaky">f</a><a href="/slow">s</a>'),
        "/flaky": flaky,
        "/slow": Reply(200, "slow", delay=1.5),  # the crawl lasts ~1.5 s
    }
    with TestServer(routes) as site:
        run, took = timed_crawl(site.url("/"), timeout=3.0, retries=0)
        assert result(run, site.url("/flaky")).verdict is Verdict.OK
        slow_started = next(r.at for r in site.requests if r.path == "/slow")
        assert first[1] - first[0] >= 0.3  # after recheck_delay
        assert first[1] < slow_started + 1.5  # while /slow was still being answered
    assert took < 1.5 + SLACK  # not the crawl, then the delay, then the recheck


def test_a_shorter_budget_leaves_no_second_try() -> None:
    routes = {"/": page('<a href="/never">n</a><a href="/busy">b</a>'), "/never": NEVER, **BUSY}
    with TestServer(routes) as site:
        run, _took = timed_crawl(site.url("/"), url_budget=TIMEOUT)
        assert_timed_out(run, site.url("/never"), tries=1)
        assert site.count("/never") == 1


@pytest.mark.parametrize("value", [-1.0, math.nan, math.inf, 10.0**9])
def test_url_budget_is_validated(value: float) -> None:
    with pytest.raises(ConfigError, match=r"\[http\] url_budget must be"):
        make_config("http://127.0.0.1:1/", http={"url_budget": value})
