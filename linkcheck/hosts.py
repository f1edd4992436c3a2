"""Per-host politeness: a cap on requests in flight to one origin, shared by every request.

The global cap lives in the crawler; this one stops a fast run from hammering a single
carrier site with all of its concurrency at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from linkcheck.urls import origin


class HostLimiter:
    def __init__(self, per_host: int) -> None:
        self._per_host = per_host
        self._slots: dict[str, asyncio.Semaphore] = {}

    @asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        """Hold one of the origin's request slots for the duration of the block."""
        key = origin(url)
        semaphore = self._slots.get(key)
        if semaphore is None:
            semaphore = self._slots[key] = asyncio.Semaphore(self._per_host)
        async with semaphore:
            yield
