"""Back-pressure from parsing to fetching: a cap on the bytes of fetched pages not yet parsed.

A page takes a place at the gate before it is requested and gives it back once it is
digested (or its visit failed or was cancelled). When parsing is slower than fetching, the
pages waiting to be parsed would otherwise pile up in memory without limit (issue #21: 120
pages of 4 MB drove the process tree to 966 MiB); at the gate, a page waits *before* its
request instead, until the bytes held fall back under the cap.

A body's size is only known once it is read, so a page is admitted against an estimate:
the largest recent body (it decays toward the sizes seen, so one large page does not slow
the rest of the run), at first ``max_body_bytes``. A page is always admitted when no other
is admitted, so a body larger than the cap is crawled, alone, and never deadlocks the run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator

# The estimate of the next body: max(body just read, estimate x ESTIMATE_DECAY)
ESTIMATE_DECAY = 0.75


class Ticket:
    """One admitted page: its reservation until its body is read, then the body's size."""

    __slots__ = ("held", "reserved")

    def __init__(self, reserved: int) -> None:
        self.reserved = reserved
        self.held = 0


class ByteGate:
    """Admits pages while the bytes held (read, not yet digested) stay under ``cap``.

    ``cap`` 0 admits every page at once. ``held`` and ``peak`` (the most bytes held at once)
    are for reports and tests."""

    def __init__(self, cap: int, first_estimate: int) -> None:
        self.cap = cap
        self.held = 0
        self.peak = 0
        self._reserved = 0  # estimates of the admitted pages not yet read
        self._admitted = 0
        self._estimate = max(first_estimate, 1)
        self._waiters: deque[asyncio.Future[Ticket]] = deque()

    @contextlib.asynccontextmanager
    async def admit(self) -> AsyncIterator[Ticket]:
        """Wait for room, then hold a place until the block is left (however it is left)."""
        ticket = await self._enter()
        try:
            yield ticket
        finally:
            self._leave(ticket)

    async def _enter(self) -> Ticket:
        if not self._waiters and self._has_room():
            return self._take()
        waiter: asyncio.Future[Ticket] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._leave(waiter.result())  # admitted just as it was cancelled
            else:
                with contextlib.suppress(ValueError):  # _wake may have dropped it already
                    self._waiters.remove(waiter)
            raise

    def _has_room(self) -> bool:
        if self.cap <= 0 or self._admitted == 0:
            return True
        return self.held + self._reserved + self._estimate <= self.cap

    def _take(self) -> Ticket:
        self._admitted += 1
        self._reserved += self._estimate
        return Ticket(self._estimate)

    def hold(self, ticket: Ticket, size: int) -> None:
        """An admitted page's body was read: it holds ``size`` bytes until it leaves."""
        self._reserved -= ticket.reserved
        ticket.reserved = 0
        self.held += size - ticket.held
        ticket.held = size
        self.peak = max(self.peak, self.held)
        self._estimate = max(size, int(self._estimate * ESTIMATE_DECAY), 1)
        self._wake()

    def _leave(self, ticket: Ticket) -> None:
        self._reserved -= ticket.reserved
        self.held -= ticket.held
        ticket.reserved = ticket.held = 0
        self._admitted -= 1
        self._wake()

    def _wake(self) -> None:
        """Admit waiting pages, first come first served, while there is room."""
        while self._waiters and self._has_room():
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(self._take())
