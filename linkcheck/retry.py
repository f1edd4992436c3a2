"""The one place that decides what is retried and how long to wait before trying again.

Transient: connection problems, timeouts, 429 and 502/503/504 — the kinds of failure that a
second attempt a little later often turns into a real answer. Waits grow exponentially with
jitter (so parallel checks do not retry in lock-step) and honour ``Retry-After``, in seconds
or as an HTTP date, capped so that no single link can hold a run hostage.

The other "ask again?" decisions live here too, as pure functions the callers only act on:
whether a HEAD answer is asked again with GET, whether (and how long) a whole host pauses,
and how often the distributed queue hands a task out before giving up on it.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from linkcheck.http import Failure, Outcome, Response
from linkcheck.models import CheckResult, ErrorKind, Verdict

if TYPE_CHECKING:
    from tenacity import RetryCallState

TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
TRANSIENT_ERRORS = frozenset({ErrorKind.CONNECT, ErrorKind.TIMEOUT, ErrorKind.PROTOCOL})
BASE_WAIT = 0.5  # seconds before the first retry; doubles each time
MAX_JITTER = 0.5
# Answers whose Retry-After slows down every request to the host, not only the one retried.
HOST_PAUSE_STATUSES = frozenset({429, 503})
# HEAD answers that may not be what GET would say: servers that refuse HEAD, and bot walls
# whose challenge page (in the body, which HEAD lacks) tells them apart from a real error.
HEAD_REFUSED_STATUSES = frozenset({400, 403, 405, 501, 503})
MAX_DELIVERIES = 5  # a distributed task handed out this often killed its workers


def is_transient(outcome: Outcome) -> bool:
    if isinstance(outcome, Failure):
        return outcome.kind in TRANSIENT_ERRORS
    return outcome.status in TRANSIENT_STATUSES


def is_transient_result(result: CheckResult) -> bool:
    """A failure worth a second look at the end of the run, before it is reported: the
    same errors and server errors (5xx) that a request is retried for."""
    if result.verdict is Verdict.ERROR:
        return result.error in TRANSIENT_ERRORS
    return result.verdict is Verdict.BROKEN and (result.status or 0) >= 500


def worth_retrying(outcome: Outcome, cap: float) -> bool:
    """Transient, unless the server asked for a longer break than we may wait (then stop now)."""
    if not is_transient(outcome):
        return False
    return not (isinstance(outcome, Response) and asked_too_long(outcome.headers, cap) is not None)


def asked_too_long(headers: Mapping[str, str], cap: float) -> float | None:
    """The seconds a ``Retry-After`` asks for when that is longer than ``cap``, else None.

    One rule for two callers: such an answer is not retried (:func:`worth_retrying`), and a
    503 that asks it is "not now" rather than broken (``decide.answer_verdict``).
    """
    asked = parse_retry_after(headers.get("retry-after"))
    return asked if asked is not None and asked > cap else None


def host_pause(outcome: Outcome, cap: float) -> float | None:
    """Seconds every request to the outcome's host should wait, or None for no pause.

    A 429 or 503 with ``Retry-After`` speaks for the whole host, so one link's answer slows
    down all of them; the pause is capped like a retry's wait.
    """
    if not isinstance(outcome, Response) or outcome.status not in HOST_PAUSE_STATUSES:
        return None
    asked = parse_retry_after(outcome.headers.get("retry-after"))
    return None if asked is None else min(asked, cap)


def head_refused(outcome: Outcome) -> bool:
    """Whether a HEAD outcome is asked again with GET (a refusal, or a dropped answer)."""
    if isinstance(outcome, Failure):
        return outcome.kind is ErrorKind.PROTOCOL
    return outcome.status in HEAD_REFUSED_STATUSES


def delivered_too_often(deliveries: int) -> bool:
    """Whether a distributed task handed out ``deliveries`` times is given up on: each of its
    workers died (or lost its lease) before finishing it, so it likely kills workers."""
    return deliveries > MAX_DELIVERIES


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (RFC 9110 §10.2.3), or None if unusable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(seconds, 0.0)


def backoff(attempt: int, *, base: float = BASE_WAIT, jitter: float = MAX_JITTER) -> float:
    """Exponential back-off for the given 1-based attempt, plus random jitter."""
    return float(base * 2 ** (attempt - 1) + random.uniform(0, jitter))


def wait_before_retry(outcome: Outcome, attempt: int, cap: float) -> float:
    """The wait after ``outcome``: the server's Retry-After if it gave one, else back-off."""
    if isinstance(outcome, Response):
        asked = parse_retry_after(outcome.headers.get("retry-after"))
        if asked is not None:
            return min(asked, cap)
    return min(backoff(attempt), cap)


async def with_retries(
    send: Callable[[], Awaitable[Outcome]],
    *,
    retries: int,
    max_wait: float,
    settle: Callable[[Outcome], bool] = lambda outcome: False,
) -> tuple[Outcome, int]:
    """Call ``send`` until it gives a non-transient outcome or ``retries`` are used up.

    ``settle`` marks outcomes the caller handles itself (no retry), e.g. a HEAD answer
    that will be asked again with GET. Returns the last outcome and the attempts made.
    """

    def retry_it(outcome: Outcome) -> bool:
        return not settle(outcome) and worth_retrying(outcome, max_wait)

    def wait(state: RetryCallState) -> float:
        assert state.outcome is not None
        return wait_before_retry(state.outcome.result(), state.attempt_number, max_wait)

    def give_up(state: RetryCallState) -> Outcome:
        assert state.outcome is not None
        outcome: Outcome = state.outcome.result()
        return outcome

    first = await send()
    if retries == 0 or not retry_it(first):
        return first, 1  # the common case, without the retry machinery (or its import)
    from tenacity import AsyncRetrying, retry_if_result, stop_after_attempt

    replay: list[Outcome] = [first]

    async def send_again() -> Outcome:
        return replay.pop() if replay else await send()

    retrying = AsyncRetrying(
        stop=stop_after_attempt(retries + 1),
        wait=wait,
        retry=retry_if_result(retry_it),
        retry_error_callback=give_up,
    )
    outcome: Outcome = await retrying(send_again)
    return outcome, int(retrying.statistics.get("attempt_number", 1))
