"""The retry policy, as a table: what is transient, and how long to wait."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from linkcheck.http import Failure, Response
from linkcheck.models import ErrorKind
from linkcheck.retry import backoff, is_transient, parse_retry_after, wait_before_retry

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
