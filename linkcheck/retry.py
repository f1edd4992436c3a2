"""The one place that decides what is retried and how long to wait before trying again.

Transient: connection problems, timeouts, 429 and 502/503/504 — the kinds of failure that a
second attempt a little later often turns into a real answer. Waits grow exponentially with
jitter (so parallel checks do not retry in lock-step) and honour ``Retry-After``, in seconds
or as an HTTP date, capped so that no single link can hold a run hostage.

Each URL has a time budget (``[http] url_budget``, twice the timeout by default) that caps
what all its attempts may cost, the recheck included. A timeout is the costliest failure,
so it is asked again at most once, and only while other work is still running: a server
that never answers costs the run one timeout, two at the most, not six.

The other "ask again?" decisions live here too, as pure functions the callers only act on:
whether a HEAD answer is asked again with GET, whether (and how long) a whole host pauses,
and how often the distributed queue hands a task out before giving up on it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
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
TIMEOUT_TRIES = 2  # a URL that timed out is asked once more, never a third time
BUDGET_TIMEOUTS = 2  # url_budget = 0: the budget is this many timeouts
MIN_ATTEMPT_TIMEOUT = 0.01  # seconds: an attempt the budget has no room for fails at once


def is_transient(outcome: Outcome) -> bool:
    """Worth another try straight away. A refused connection is not (curl retries it only
    when told to, lychee never): the recheck looks at it again ``recheck_delay`` later."""
    if isinstance(outcome, Failure):
        return outcome.kind in TRANSIENT_ERRORS and not outcome.refused
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


@dataclass(slots=True)
class Spent:
    """What one URL has cost against its budget so far: the time its requests took and the
    waits between them. Not the time it queued for a connection: that is other URLs' cost
    (a host that allows two at a time, both held by servers that never answer)."""

    seconds: float = 0.0


def url_budget(timeout: float, budget: float) -> float:
    """Seconds one URL may cost across all its attempts: ``budget``, or when it is 0 (the
    default) room for one timeout and one more try of it."""
    return budget if budget > 0 else BUDGET_TIMEOUTS * timeout


def timed_out(outcome: Outcome) -> bool:
    return isinstance(outcome, Failure) and outcome.kind is ErrorKind.TIMEOUT


def next_try(
    outcome: Outcome,
    *,
    attempt: int,
    retries: int,
    max_wait: float,
    spent: float,
    budget: float,
    timeouts: int,
    others_running: bool,
) -> float | None:
    """The seconds to wait before trying ``outcome``'s URL again, or None to stop there.

    ``attempt`` is the 1-based attempt that gave ``outcome``; ``spent`` the seconds the URL
    has cost so far (earlier passes included) and ``timeouts`` how many of its attempts timed
    out, this one included. Fast transient failures (a reset connection, 502/503/504, 429)
    keep their ``retries`` and back-off. A timeout has already cost a whole timeout, so it
    is tried once more at most, and only when ``others_running``: while the run waits for
    other work anyway the second try is free, at the end it would be what the run waits for.
    No try starts once the URL's budget would be spent by the wait before it.
    """
    if attempt > retries or not worth_retrying(outcome, max_wait):
        return None
    if timed_out(outcome) and (timeouts >= TIMEOUT_TRIES or not others_running):
        return None
    wait = wait_before_retry(outcome, attempt, max_wait)
    if spent + wait >= budget:
        return None
    return wait


def attempt_timeout(timeout: float, spent: float, budget: float) -> float:
    """The timeout of a URL's next attempt: its host's ``timeout``, cut to what is left of
    the budget so that all attempts together never cost more than it."""
    # never 0: the client takes a falsy timeout for "the default one"
    return max(min(timeout, budget - spent), MIN_ATTEMPT_TIMEOUT)


def recheck_due(result: CheckResult, spent: float, budget: float) -> bool:
    """Whether a recorded failure is looked at again after ``recheck_delay``: a transient
    one (:func:`is_transient_result`) whose first check, which cost ``spent`` seconds, left
    some of its budget; except a timeout, which has had its one more try (or there was
    nothing else left to wait for)."""
    if not is_transient_result(result) or result.error is ErrorKind.TIMEOUT:
        return False
    return spent < budget


async def with_retries(
    send: Callable[[float | None], Awaitable[Outcome]],
    *,
    retries: int,
    max_wait: float,
    settle: Callable[[Outcome], bool] = lambda outcome: False,
    timeout: float | None = None,
    budget: float = math.inf,
    spent: Spent | None = None,
    others_running: Callable[[], bool] = lambda: True,
) -> tuple[Outcome, int]:
    """Call ``send`` until :func:`next_try` says stop; the last outcome and the attempts made.

    ``send`` gets the attempt's timeout: ``timeout``, or what is left of the budget.
    ``settle`` marks outcomes the caller handles itself (no retry), e.g. a HEAD answer that
    will be asked again with GET. ``spent`` is what the URL has cost so far (an earlier
    redirect hop, its first pass for a recheck): ``send`` adds each request's time to it,
    the waits here are added too. ``others_running`` is asked when an attempt timed out.
    """
    cost = Spent() if spent is None else spent

    def left() -> float | None:
        return None if timeout is None else attempt_timeout(timeout, cost.seconds, budget)

    timeouts = 0

    def ask(outcome: Outcome, attempt: int) -> float | None:
        nonlocal timeouts
        timeouts += timed_out(outcome)
        return next_try(
            outcome,
            attempt=attempt,
            retries=retries,
            max_wait=max_wait,
            spent=cost.seconds,
            budget=budget,
            timeouts=timeouts,
            others_running=timed_out(outcome) and others_running(),
        )

    first = await send(left())
    if settle(first):
        return first, 1
    decided = {1: ask(first, 1)}  # next_try's answer by attempt (tenacity's stop and wait ask)
    if decided[1] is None:
        return first, 1
    # Asked again: tenacity does the asking and the waiting, next_try() decides both (its
    # import waits until then: nearly every link is settled by its first answer).
    from tenacity import AsyncRetrying, retry_if_result

    replay = [first]
    attempts = 0

    def decision(state: RetryCallState) -> float | None:
        number = state.attempt_number
        if number not in decided:
            assert state.outcome is not None
            decided[number] = ask(state.outcome.result(), number)
        return decided[number]

    def waited(state: RetryCallState) -> None:
        assert state.next_action is not None
        cost.seconds += state.next_action.sleep  # the wait counts against the URL's budget

    def last(state: RetryCallState) -> Outcome:
        assert state.outcome is not None
        result: Outcome = state.outcome.result()
        return result

    async def attempt() -> Outcome:
        nonlocal attempts
        attempts += 1
        return replay.pop() if replay else await send(left())

    retrying = AsyncRetrying(
        retry=retry_if_result(lambda outcome: not settle(outcome)),
        stop=lambda state: decision(state) is None,
        wait=lambda state: decision(state) or 0.0,
        before_sleep=waited,
        retry_error_callback=last,
    )
    outcome: Outcome = await retrying(attempt)
    return outcome, attempts
