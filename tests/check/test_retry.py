"""The retry policy, as a table: what is transient, and how long to wait."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from linkcheck.http import Failure, Outcome, Response
from linkcheck.models import CheckResult, ErrorKind, Verdict
from linkcheck.recheck import HostFailures, settled_by_host
from linkcheck.retry import (
    MAX_DELIVERIES,
    MIN_ATTEMPT_TIMEOUT,
    asked_too_long,
    attempt_timeout,
    backoff,
    delivered_too_often,
    head_refused,
    host_pause,
    is_transient,
    is_transient_result,
    next_try,
    parse_retry_after,
    recheck_due,
    url_budget,
    wait_before_retry,
    with_retries,
    worth_retrying,
)
from tests.conftest import crawl, result
from tests.server import TestServer, page

URL = "http://example.com/"


@pytest.mark.parametrize(
    ("outcome", "transient"),
    [
        (Response(URL, 200, {}), False),
        (Response(URL, 404, {}), False),
        (Response(URL, 500, {}), False),
        (Response(URL, 429, {}), True),
        (Response(URL, 502, {}), True),
        (Response(URL, 503, {}), True),
        (Response(URL, 504, {}), True),
        (Failure(URL, ErrorKind.CONNECT, ""), True),
        (Failure(URL, ErrorKind.TIMEOUT, ""), True),
        (Failure(URL, ErrorKind.PROTOCOL, ""), True),
        (Failure(URL, ErrorKind.DNS, ""), False),
        (Failure(URL, ErrorKind.TLS, ""), False),
        (Failure(URL, ErrorKind.INVALID_URL, ""), False),
    ],
)
def test_is_transient(outcome: Response | Failure, transient: bool) -> None:
    assert is_transient(outcome) is transient


NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("5", 5.0),
        (" 120 ", 120.0),
        ("Fri, 27 Nov 2026 12:00:30 GMT", 30.0),
        ("Fri, 27 Nov 2026 11:00:00 GMT", 0.0),  # in the past: retry now
        ("soon", None),
        ("-3", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, NOW) == seconds


def test_retry_after_is_honoured_but_capped() -> None:
    asked = Response(URL, 429, {"retry-after": "3"})
    assert wait_before_retry(asked, 1, cap=10) == 3.0
    assert wait_before_retry(asked, 1, cap=1.5) == 1.5


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    for attempt in (1, 2, 3, 4):
        wait = backoff(attempt, base=0.5, jitter=0.5)
        assert 0.5 * 2 ** (attempt - 1) <= wait <= 0.5 * 2 ** (attempt - 1) + 0.5


@pytest.mark.parametrize(
    ("result", "transient"),
    [
        (CheckResult(URL, Verdict.ERROR, error=ErrorKind.CONNECT), True),
        (CheckResult(URL, Verdict.ERROR, error=ErrorKind.TIMEOUT), True),
        (CheckResult(URL, Verdict.ERROR, error=ErrorKind.PROTOCOL), True),
        (CheckResult(URL, Verdict.ERROR, error=ErrorKind.DNS), False),
        (CheckResult(URL, Verdict.ERROR, error=ErrorKind.TLS), False),
        (CheckResult(URL, Verdict.ERROR, error=ErrorKind.REDIRECT_LOOP), False),
        (CheckResult(URL, Verdict.ERROR), False),
        (CheckResult(URL, Verdict.BROKEN, status=500), True),
        (CheckResult(URL, Verdict.BROKEN, status=503), True),
        (CheckResult(URL, Verdict.BROKEN, status=404), False),
        (CheckResult(URL, Verdict.BROKEN, status=410), False),
        (CheckResult(URL, Verdict.BROKEN), False),
        (CheckResult(URL, Verdict.OK, status=200), False),
        (CheckResult(URL, Verdict.RATE_LIMITED, status=429), False),  # reported as "not now"
        (CheckResult(URL, Verdict.BLOCKED, status=503), False),
        (CheckResult(URL, Verdict.SKIPPED), False),
    ],
)
def test_is_transient_result(result: CheckResult, transient: bool) -> None:
    assert is_transient_result(result) is transient


@pytest.mark.parametrize(
    ("headers", "cap", "too_long"),
    [
        ({}, 10.0, None),
        ({"retry-after": "5"}, 10.0, None),
        ({"retry-after": "10"}, 10.0, None),  # exactly the cap is still waited for
        ({"retry-after": "11"}, 10.0, 11.0),
        ({"retry-after": "3600"}, 60.0, 3600.0),
        ({"retry-after": "soon"}, 0.0, None),
    ],
)
def test_asked_too_long(headers: dict[str, str], cap: float, too_long: float | None) -> None:
    assert asked_too_long(headers, cap) == too_long


@pytest.mark.parametrize(
    ("outcome", "worth"),
    [
        (Response(URL, 503, {}), True),
        (Response(URL, 503, {"retry-after": "2"}), True),
        (Response(URL, 503, {"retry-after": "60"}), False),  # longer than we may wait
        (Response(URL, 429, {"retry-after": "60"}), False),
        (Response(URL, 404, {"retry-after": "2"}), False),
        (Failure(URL, ErrorKind.TIMEOUT, ""), True),
        (Failure(URL, ErrorKind.DNS, ""), False),
        (Failure(URL, ErrorKind.CONNECT, ""), True),  # reset on the way
        (Failure(URL, ErrorKind.CONNECT, "", refused=True), False),
    ],
)
def test_worth_retrying(outcome: Response | Failure, worth: bool) -> None:
    assert worth_retrying(outcome, cap=10.0) is worth


@pytest.mark.parametrize(
    ("outcome", "pause"),
    [
        (Response(URL, 429, {"retry-after": "3"}), 3.0),
        (Response(URL, 503, {"retry-after": "3"}), 3.0),
        (Response(URL, 503, {"retry-after": "600"}), 10.0),  # capped like a retry's wait
        (Response(URL, 429, {}), None),  # no Retry-After: the retry's back-off is enough
        (Response(URL, 429, {"retry-after": "soon"}), None),
        (Response(URL, 502, {"retry-after": "3"}), None),
        (Response(URL, 200, {"retry-after": "3"}), None),
        (Failure(URL, ErrorKind.TIMEOUT, ""), None),
    ],
)
def test_host_pause(outcome: Response | Failure, pause: float | None) -> None:
    assert host_pause(outcome, cap=10.0) == pause


@pytest.mark.parametrize(
    ("outcome", "refused"),
    [
        (Response(URL, 200, {}), False),
        (Response(URL, 301, {}), False),
        (Response(URL, 400, {}), True),
        (Response(URL, 403, {}), True),
        (Response(URL, 404, {}), False),
        (Response(URL, 405, {}), True),
        (Response(URL, 429, {}), False),
        (Response(URL, 500, {}), False),
        (Response(URL, 501, {}), True),
        (Response(URL, 503, {}), True),
        (Failure(URL, ErrorKind.PROTOCOL, ""), True),  # some servers drop the connection
        (Failure(URL, ErrorKind.TIMEOUT, ""), False),
        (Failure(URL, ErrorKind.DNS, ""), False),
    ],
)
def test_head_refused(outcome: Response | Failure, refused: bool) -> None:
    assert head_refused(outcome) is refused


@pytest.mark.parametrize(
    ("deliveries", "give_up"),
    [(0, False), (1, False), (MAX_DELIVERIES, False), (MAX_DELIVERIES + 1, True), (99, True)],
)
def test_delivered_too_often(deliveries: int, give_up: bool) -> None:
    assert delivered_too_often(deliveries) is give_up


# --- the time budget per URL ------------------------------------------------------------

TIMED_OUT = Failure(URL, ErrorKind.TIMEOUT, "")


@pytest.mark.parametrize(
    ("timeout", "setting", "budget"),
    [(10.0, 0.0, 20.0), (20.0, 0.0, 40.0), (10.0, 15.0, 15.0), (10.0, 5.0, 5.0)],
)
def test_url_budget_is_two_timeouts_unless_set(
    timeout: float, setting: float, budget: float
) -> None:
    assert url_budget(timeout, setting) == budget


# (outcome, attempt, retries, spent, budget, timeouts, others running) -> tried again?
@pytest.mark.parametrize(
    ("outcome", "attempt", "retries", "spent", "budget", "timeouts", "others", "again"),
    [
        # a timeout: once more while other work runs, within the budget; never a third time
        (TIMED_OUT, 1, 2, 10.0, 20.0, 1, True, True),
        (TIMED_OUT, 1, 2, 10.0, 20.0, 1, False, False),  # the run would wait for it alone
        (TIMED_OUT, 2, 2, 15.0, 20.0, 2, True, False),
        (TIMED_OUT, 1, 0, 10.0, 20.0, 1, True, False),  # no retries at all
        (TIMED_OUT, 1, 2, 10.0, 10.0, 1, True, False),  # url_budget = timeout: none
        (TIMED_OUT, 2, 3, 1.0, 20.0, 1, True, True),  # a fast failure, then a timeout
        # fast transient failures keep their retries, whatever else runs
        (Failure(URL, ErrorKind.CONNECT, ""), 1, 2, 0.1, 20.0, 0, False, True),
        (Failure(URL, ErrorKind.CONNECT, ""), 2, 2, 0.8, 20.0, 0, False, True),
        (Failure(URL, ErrorKind.CONNECT, ""), 3, 2, 2.0, 20.0, 0, False, False),  # used up
        (Response(URL, 502, {}), 1, 2, 0.1, 20.0, 0, False, True),
        (Response(URL, 503, {}), 1, 2, 0.1, 20.0, 0, False, True),
        (Response(URL, 504, {}), 1, 2, 0.1, 20.0, 0, False, True),
        (Response(URL, 429, {"retry-after": "2"}), 1, 2, 0.1, 20.0, 0, False, True),
        (Response(URL, 429, {"retry-after": "25"}), 1, 2, 0.1, 60.0, 0, True, False),  # > cap
        (Response(URL, 429, {"retry-after": "8"}), 1, 2, 0.1, 5.0, 0, True, False),  # > budget
        (Failure(URL, ErrorKind.CONNECT, ""), 1, 2, 19.9, 20.0, 0, True, False),  # spent
        # a refused connection (RST to the SYN, ICMP unreachable) is an answer: not tried
        # again at once, only rechecked later (retry.recheck_due)
        (Failure(URL, ErrorKind.CONNECT, "", refused=True), 1, 2, 0.0, 20.0, 0, True, False),
        (Failure(URL, ErrorKind.CONNECT, "", refused=True), 1, 2, 0.0, 20.0, 0, False, False),
        # not transient
        (Response(URL, 404, {}), 1, 2, 0.1, 20.0, 0, True, False),
        (Response(URL, 200, {}), 1, 2, 0.1, 20.0, 0, True, False),
        (Failure(URL, ErrorKind.DNS, ""), 1, 2, 0.1, 20.0, 0, True, False),
    ],
)
def test_next_try(
    outcome: Response | Failure,
    attempt: int,
    retries: int,
    spent: float,
    budget: float,
    timeouts: int,
    others: bool,
    again: bool,
) -> None:
    wait = next_try(
        outcome,
        attempt=attempt,
        retries=retries,
        max_wait=10.0,
        spent=spent,
        budget=budget,
        timeouts=timeouts,
        others_running=others,
    )
    assert (wait is not None) is again
    if wait is not None:
        assert spent + wait < budget


def test_next_try_waits_as_the_server_asked() -> None:
    asked = Response(URL, 429, {"retry-after": "2"})
    wait = next_try(
        asked,
        attempt=1,
        retries=2,
        max_wait=10.0,
        spent=0.0,
        budget=20.0,
        timeouts=0,
        others_running=False,
    )
    assert wait == 2.0


@pytest.mark.parametrize(
    ("timeout", "spent", "budget", "allowed"),
    [
        (10.0, 0.0, 20.0, 10.0),
        (10.0, 10.5, 20.0, 9.5),  # the second try of a timeout: what the budget has left
        (10.0, 5.0, 100.0, 10.0),
        (10.0, 25.0, 20.0, MIN_ATTEMPT_TIMEOUT),  # never 0 (the client's "default")
    ],
)
def test_attempt_timeout(timeout: float, spent: float, budget: float, allowed: float) -> None:
    assert attempt_timeout(timeout, spent, budget) == allowed


@pytest.mark.parametrize(
    ("result", "spent", "due"),
    [
        (CheckResult(URL, Verdict.ERROR, error=ErrorKind.CONNECT), 0.1, True),
        (CheckResult(URL, Verdict.ERROR, error=ErrorKind.PROTOCOL), 0.1, True),
        (CheckResult(URL, Verdict.BROKEN, status=502), 0.1, True),
        (CheckResult(URL, Verdict.BROKEN, status=500), 0.1, True),
        # a timeout had its one more try already (or nothing else was left to wait for)
        (CheckResult(URL, Verdict.ERROR, error=ErrorKind.TIMEOUT), 10.0, False),
        (CheckResult(URL, Verdict.ERROR, error=ErrorKind.CONNECT), 20.0, False),  # all spent
        (CheckResult(URL, Verdict.BROKEN, status=404), 0.1, False),
        (CheckResult(URL, Verdict.OK, status=200), 0.1, False),
    ],
)
def test_recheck_due(result: CheckResult, spent: float, due: bool) -> None:
    assert recheck_due(result, spent, budget=20.0) is due


def _replies(
    *outcomes: Outcome,
) -> tuple[list[float | None], Callable[[float | None], Awaitable[Outcome]]]:
    """A ``send`` that answers ``outcomes`` in turn, and the timeouts it was given."""
    asked: list[float | None] = []
    left = list(outcomes)

    async def send(timeout: float | None) -> Outcome:
        asked.append(timeout)
        return left.pop(0)

    return asked, send


def test_with_retries_stops_a_timeout_when_nothing_else_runs() -> None:
    asked, send = _replies(TIMED_OUT, Response(URL, 200, {}))
    outcome, tries = asyncio.run(
        with_retries(
            send,
            retries=2,
            max_wait=0.01,
            timeout=1.0,
            budget=2.0,
            others_running=lambda: False,
        )
    )
    assert (outcome, tries, asked) == (TIMED_OUT, 1, [1.0])


def test_with_retries_asks_a_timeout_once_more_within_the_budget() -> None:
    asked, send = _replies(TIMED_OUT, TIMED_OUT, Response(URL, 200, {}))
    outcome, tries = asyncio.run(
        with_retries(send, retries=5, max_wait=0.01, timeout=1.0, budget=2.0)
    )
    assert (outcome, tries) == (TIMED_OUT, 2)
    assert asked[0] == 1.0 and asked[1] is not None and asked[1] <= 1.0


def test_with_retries_keeps_the_retries_of_fast_failures() -> None:
    gateway = Response(URL, 502, {})
    asked, send = _replies(gateway, gateway, Response(URL, 200, {}))
    outcome, tries = asyncio.run(
        with_retries(
            send,
            retries=2,
            max_wait=0.01,
            timeout=1.0,
            budget=2.0,
            others_running=lambda: False,
        )
    )
    assert (outcome.status if isinstance(outcome, Response) else None, tries) == (200, 3)
    assert len(asked) == 3


def test_a_refused_connection_is_one_try_then_the_recheck(server: TestServer) -> None:
    """A real refused connection (a loopback port nothing listens on) is mapped as refused,
    not tried again at once with back-off, and rechecked once later."""
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/x"
    server.routes["/"] = page(f'<a href="{closed}">gone</a>')
    run = crawl(
        server.url("/"),
        http={"retries": 3, "retry_max_wait": 5.0, "recheck": True, "recheck_delay": 0.3},
    )
    link = result(run, closed)
    assert link.verdict is Verdict.ERROR and link.error is ErrorKind.CONNECT
    assert "refused" in (link.message or "").lower()
    # with back-off (0.5 s, 1 s, 2 s) the first pass alone would cost 3.5 s or more
    assert link.elapsed < 1.0


def _failed(error: ErrorKind | None, status: int | None = None) -> CheckResult:
    verdict = Verdict.ERROR if error is not None else Verdict.BROKEN
    return CheckResult(URL, verdict, status=status, error=error)


@pytest.mark.parametrize(
    ("error", "status", "failing_for", "settled"),
    [
        (ErrorKind.CONNECT, None, None, False),  # the host's first failure: look again
        (ErrorKind.CONNECT, None, 1.0, False),  # failing for less than the delay
        (ErrorKind.CONNECT, None, 2.0, True),  # two failures the delay apart: a recheck's worth
        (ErrorKind.CONNECT, None, 60.0, True),
        (ErrorKind.TIMEOUT, None, 60.0, False),  # the URL's own (a slow page, not a dead host)
        (ErrorKind.PROTOCOL, None, 60.0, False),  # an answer cut short: the URL's own
        (None, 503, 60.0, False),  # the host answered: a deploy's 503 is looked at again
    ],
)
def test_a_failure_settled_by_its_host(
    error: ErrorKind | None, status: int | None, failing_for: float | None, settled: bool
) -> None:
    assert settled_by_host(_failed(error, status), failing_for, 2.0) is settled


def test_a_host_fails_since_its_first_failure_until_it_answers() -> None:
    now = [0.0]
    hosts = HostFailures(2.0, clock=lambda: now[0])
    refused = _failed(ErrorKind.CONNECT)
    other = "http://example.com:8080/other"
    assert not hosts.settles(URL, refused)  # t=0: first failure
    now[0] = 1.0
    assert not hosts.settles(URL + "b", refused)  # t=1: not long enough
    now[0] = 2.5
    assert hosts.settles(URL + "c", refused)  # t=2.5: down since t=0, no answer since
    assert not hosts.settles(other, refused)  # another origin (its port) is its own
    hosts.answered(URL + "d")  # the host answered: up again
    now[0] = 3.0
    assert not hosts.settles(URL + "e", refused)
    now[0] = 6.0
    assert not hosts.settles(URL + "f", _failed(None, 404))  # a 404 is an answer too
    assert not hosts.settles(URL + "g", refused)


def test_a_dead_hosts_link_found_late_waits_for_no_recheck_of_its_own(
    server: TestServer,
) -> None:
    """A closed port linked from the start page (failure at ~0 s, rechecked at 1.5 s: it
    still refuses) and again from a page that answers after 2 s: that failure has its host's
    second look already, so the run ends without another 1.5 s pause, with the same verdicts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    server.routes["/"] = page(f'<a href="{closed}/a">gone</a> <a href="/late">late</a>')
    server.routes["/late"] = page(f'<a href="{closed}/b">gone too</a>', delay=2.0)
    started = time.monotonic()
    run = crawl(server.url("/"), http={"recheck": True, "recheck_delay": 1.5, "timeout": 5.0})
    took = time.monotonic() - started
    for path in ("/a", "/b"):
        assert result(run, closed + path).error is ErrorKind.CONNECT
    assert took < 3.4, took  # with its own recheck: 2 s + 1.5 s and more
