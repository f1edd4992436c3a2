"""The frontier: URLs waiting to be crawled or checked, started in discovery order, a bounded
number at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

MIN_RUNNING_TASKS = 64  # pages and checks under way at once (4x concurrency, at least this)

CrawlPage = Callable[[str, int], Coroutine[Any, Any, None]]
CheckLink = Callable[[str], Coroutine[Any, Any, None]]


def max_running(concurrency: int) -> int:
    """How many pages and checks run at once: enough to keep every connection busy."""
    return max(MIN_RUNNING_TASKS, 4 * concurrency)


class Frontier:
    """Work waiting as (URL, depth) pairs: a depth is a page to crawl, None a link to check.

    A task per URL discovered would be simplest, but a large site discovers tens of thousands
    at once, and each waiting task holds a coroutine frame; a queue of pairs costs a fraction
    of that. Breadth first: work starts in the order it was discovered, and a page starts
    only once every page less deep is done (its depth at most the *level*), so a page is
    first found by a page nearest to the start and gets the depth of its shortest path,
    however the pages before it happen to finish (a distributed run keeps the same level:
    linkcheck.distributed.queue). The level only goes up: a page found late at a depth
    below it (a sitemap entry) starts at once.
    """

    def __init__(self, crawl_page: CrawlPage, check_link: CheckLink, limit: int) -> None:
        self._crawl_page = crawl_page
        self._check_link = check_link
        self._limit = limit
        self._waiting: deque[tuple[str, int | None]] = deque()
        self._held: deque[tuple[str, int]] = deque()  # pages deeper than the level
        self._pages_at: dict[int, int] = {}  # pages added and not done, per depth
        self._level = 0
        self._deepest = -1
        self._running = 0
        self._group: asyncio.TaskGroup | None = None

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[asyncio.TaskGroup]:
        """A round of work: leaves when everything added meanwhile (and all it led to) is
        done. The task group is the caller's for other work of the round (sitemaps)."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            yield group

    def __len__(self) -> int:
        """How much work is waiting (not started yet)."""
        return len(self._waiting) + len(self._held)

    def add(self, url: str, depth: int | None) -> None:
        """Queue a page (``depth``) or a check (None), and start what the bound allows."""
        self._count(depth, 1)
        self._waiting.append((url, depth))
        self._start_waiting()

    def add_all(self, work: list[tuple[str, int | None]]) -> None:
        for _, depth in work:
            self._count(depth, 1)
        self._waiting.extend(work)
        self._start_waiting()

    def _count(self, depth: int | None, step: int) -> None:
        """Count a page in or out; a level whose pages are all done lets the next start."""
        if depth is None:
            return
        self._pages_at[depth] = self._pages_at.get(depth, 0) + step
        self._deepest = max(self._deepest, depth)
        level = self._level
        while level < self._deepest and self._pages_at.get(level, 0) <= 0:
            level += 1
        if level != self._level:
            self._level = level
            ready = [item for item in self._held if item[1] <= level]
            if ready:
                self._held = deque(item for item in self._held if item[1] > level)
                self._waiting.extendleft(reversed(ready))

    def later(self, delay: float, start: Callable[[], None]) -> bool:
        """Call ``start`` (which adds work) after ``delay`` seconds, within this round: the
        round does not end before. False when the round is already ending (nothing is
        scheduled). The wait takes no place among the running tasks."""
        group = self._group
        assert group is not None

        async def after() -> None:
            await asyncio.sleep(delay)
            start()

        work = after()
        try:
            group.create_task(work)
        except RuntimeError:  # the crawl is being cut short
            work.close()
            return False
        return True

    def _start_waiting(self) -> None:
        group = self._group
        assert group is not None
        while self._waiting and self._running < self._limit:
            url, depth = self._waiting.popleft()
            if depth is not None and depth > self._level:
                self._held.append((url, depth))
                continue
            work = self._check_link(url) if depth is None else self._page(url, depth)
            try:
                task = group.create_task(work)
            except RuntimeError:  # the crawl is being cut short: it stays to do (resume)
                work.close()
                self._waiting.appendleft((url, depth))
                return
            self._running += 1
            task.add_done_callback(self._finished)

    async def _page(self, url: str, depth: int) -> None:
        await self._crawl_page(url, depth)
        # Counted out inside the task, not once it is done: a level's last page starts the
        # next level's pages while the round still has a task (it cannot end in between).
        self._count(depth, -1)
        self._start_waiting()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running -= 1
        if task.cancelled():  # the whole crawl is being cut short: start nothing new
            return
        if self._waiting and self._group is not None:
            self._start_waiting()
