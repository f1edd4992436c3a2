"""The retry policy, as a table: what is transient, and how long to wait."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from linkcheck.http import Failure, Response
from linkcheck.models import CheckResult, ErrorKind, Verdict
from linkcheck.retry import (
    MAX_DELIVERIES,
    asked_too_long,
    backoff,
    delivered_too_often,
    head_refused,
    host_pause,
    is_transient,
    is_transient_result,
    parse_retry_after,
    wait_before_retry,
    worth_retrying,
)

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
