"""The recheck: a link whose failure is often temporary is looked at once more, during the crawl.

A second look ``recheck_delay`` seconds after the failure turns most passing faults (a reset
connection, a 503 during a deploy) into an answer. It runs within the crawl's round, not as a
second phase that the run waits for after its crawl, and within what is left of the URL's
time budget (linkcheck.retry decides both).

A connection that could not be made is the host's failure, not the URL's: a host that has
failed to connect for ``recheck_delay`` already, with no answer in between, gives each new
failure what a second look would (:class:`HostFailures`), so a dead host's links found late
do not hold the run's end for a pause.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from linkcheck.config import HttpSettings
from linkcheck.crawl_state import CrawlState
from linkcheck.frontier import Frontier
from linkcheck.models import CheckResult, ErrorKind
from linkcheck.retry import recheck_due, url_budget
from linkcheck.urls import origin


def settled_by_host(result: CheckResult, failing_for: float | None, delay: float) -> bool:
    """Whether a failure needs no second look of its own: it is a connection that could not
    be made (refused, unreachable, reset before an answer: ``ErrorKind.CONNECT``) to a host
    that has failed so for ``failing_for`` seconds (None: it has not), at least the recheck's
    ``delay``, with no answer in between. Two failures ``delay`` apart are what a recheck
    would give; any other failure (a 503, a timeout, a cut answer) is the URL's own."""
    return result.error is ErrorKind.CONNECT and failing_for is not None and failing_for >= delay


class HostFailures:
    """Since when each origin has failed to connect, with no answer since (see
    settled_by_host). One per process: a distributed worker keeps its own."""

    def __init__(self, delay: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._delay = delay
        self._clock = clock
        self._since: dict[str, float] = {}  # origin -> its first failure since its last answer

    def settles(self, url: str, result: CheckResult) -> bool:
        """Take a recorded failure; True when it needs no recheck of its own."""
        since = self._since
        if result.error is not ErrorKind.CONNECT:
            if since:
                since.pop(origin(url), None)  # the host answered
            return False
        now = self._clock()
        first = since.setdefault(origin(url), now)
        return settled_by_host(result, now - first if first < now else None, self._delay)

    def answered(self, url: str) -> None:
        """A result that is an answer from the URL's host: it is up again."""
        if self._since:
            self._since.pop(origin(url), None)


class Rechecks:
    """Which URLs were looked at again (once each), and what a failed check cost of its time
    budget until it is looked at again."""

    def __init__(self, http: HttpSettings, frontier: Frontier, state: CrawlState) -> None:
        self._http = http
        self._frontier = frontier
        self._state = state
        self._budget = url_budget(http.timeout, http.url_budget)
        self._spent: dict[str, float] = {}
        self._hosts = HostFailures(http.recheck_delay)

    def answered(self, url: str) -> None:
        """A result that did not fail: its host answered."""
        self._hosts.answered(url)

    @property
    def done(self) -> frozenset[str]:
        """The URLs looked at again (or about to be)."""
        return frozenset(self._state.rechecked_urls)

    def spent(self, url: str) -> float:
        """What ``url``'s earlier, failed check cost: its recheck uses what is left."""
        return self._spent.pop(url, 0.0)

    def cost(self, url: str, seconds: float) -> None:
        """A failed check's cost, read when its failure is recorded (now or never)."""
        self._spent[url] = seconds

    def later(self, url: str, result: CheckResult) -> None:
        """Look at ``url`` once more ``recheck_delay`` seconds from now, within this round,
        when its failure is one that a second look may turn into an answer."""
        spent = self._spent.pop(url, 0.0)  # a page's recheck is its crawl, with its own
        settled = self._hosts.settles(url, result)
        if not self._http.recheck or url in self._state.rechecked_urls:
            return
        if not recheck_due(result, spent, self._budget):
            return
        state = self._state
        if settled:  # its host's failure had its second look already
            state.rechecked_urls.add(url)
            state.rechecked += 1
            return

        def again() -> None:
            state.stats.problems -= 1  # counted again by the second answer, if it fails
            if spent:
                self._spent[url] = spent
            self._frontier.add(url, state.page_depth.get(url))

        if self._frontier.later(self._http.recheck_delay, again):
            state.rechecked_urls.add(url)
            state.rechecked += 1

    def now(self, urls: list[str], add_all: Callable[[list[tuple[str, int | None]]], None]) -> None:
        """Look at these failed links once more at once (a restored crawl's, which the
        crawl did not record itself)."""
        state = self._state
        state.stats.problems -= len(urls)
        state.rechecked_urls.update(urls)
        add_all([(url, state.page_depth.get(url)) for url in urls])
