"""The recheck: a link whose failure is often temporary is looked at once more, during the crawl.

A second look ``recheck_delay`` seconds after the failure turns most passing faults (a reset
connection, a 503 during a deploy) into an answer. It runs within the crawl's round, not as a
second phase that the run waits for after its crawl, and within what is left of the URL's
time budget (linkcheck.retry decides both).
"""

from __future__ import annotations

from collections.abc import Callable

from linkcheck.config import HttpSettings
from linkcheck.crawl_state import CrawlState
from linkcheck.frontier import Frontier
from linkcheck.models import CheckResult
from linkcheck.retry import recheck_due, url_budget


class Rechecks:
    """Which URLs were looked at again (once each), and what a failed check cost of its time
    budget until it is looked at again."""

    def __init__(self, http: HttpSettings, frontier: Frontier, state: CrawlState) -> None:
        self._http = http
        self._frontier = frontier
        self._state = state
        self._budget = url_budget(http.timeout, http.url_budget)
        self._spent: dict[str, float] = {}

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
        if not self._http.recheck or url in self._state.rechecked_urls:
            return
        if not recheck_due(result, spent, self._budget):
            return
        state = self._state

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
