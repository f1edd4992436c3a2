"""Remember between runs: result cache, run history and resume checkpoints in one SQLite file.

One :class:`Store` wraps one embedded SQLite database (stdlib ``sqlite3``, default
``.linkcheck/cache.sqlite``), one job per module:

- :mod:`~linkcheck.store.database`: the file itself: open, check, repair, schema,
  transactions, and why SQLite (WAL; a damaged file is moved aside and rebuilt);
- :mod:`~linkcheck.store.cache`: the result cache (only good answers, for a while);
- :mod:`~linkcheck.store.history`: the run history and each link's failing streak;
- :mod:`~linkcheck.store.checkpoints`: resume points.

:class:`Store` opens the file once and answers for all four, so a caller holds one object.
SQLite failures (the database stays locked longer than the timeout, the disk is full or
read-only) raise :class:`StoreError` with a one-line message; a caller that can do without
the store (the runner) should log it and carry on uncached.

A Store's connection belongs to the thread that opened it (``sqlite3`` enforces this); after
``fork()`` the child opens its own connection on first use. Open one Store per thread.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from linkcheck import config
from linkcheck.models import CheckResult, RunResult, Verdict
from linkcheck.store.cache import ResultCache
from linkcheck.store.checkpoints import Checkpoints
from linkcheck.store.database import SCHEMA_VERSION, Database, StoreError
from linkcheck.store.history import CACHEABLE, FAILING, HistoryEntry, RunHistory, Streak

__all__ = [
    "CACHEABLE",
    "DEFAULT_BUSY_TIMEOUT",
    "DEFAULT_CACHE_PATH",
    "DEFAULT_KEEP_RUNS",
    "FAILING",
    "SCHEMA_VERSION",
    "HistoryEntry",
    "Store",
    "StoreError",
    "Streak",
]

DEFAULT_CACHE_PATH = Path(config.DEFAULT_CACHE_PATH)  # the setting's default, as a Path
DEFAULT_KEEP_RUNS = 200  # runs kept in the history; older ones are pruned by record_run
DEFAULT_BUSY_TIMEOUT = 30.0  # seconds to wait for another process's write to finish


class Store:
    """The persistent memory of linkcheck: open, use, close (or use as a context manager).

    Opening creates the file and its folders, and repairs a damaged or foreign file (moved
    aside, with a warning on the ``linkcheck.store`` logger). Each method is its part's
    (``cache``, ``history``, ``checkpoints``), named as callers know it.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = DEFAULT_CACHE_PATH,
        *,
        keep_runs: int = DEFAULT_KEEP_RUNS,
        timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> None:
        if keep_runs < 1:
            raise ValueError(f"keep_runs must be at least 1, got {keep_runs}")
        self.path = Path(path)
        self.keep_runs = keep_runs
        self.timeout = timeout
        self.db = Database(self.path, timeout=timeout)
        self.cache = ResultCache(self.db)
        self.history = RunHistory(self.db, keep_runs=keep_runs)
        self.checkpoints = Checkpoints(self.db)

    # -- life cycle ---------------------------------------------------------------------------

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection; the last one to close folds the WAL back into the file."""
        self.db.close()

    def cache_stats(self, now: float | None = None) -> dict[str, Any]:
        """What the file holds: for ``linkcheck cache stats`` and debugging.

        Keys: ``path``, ``file_size`` (bytes, WAL included), ``entries``, ``oldest_age`` and
        ``newest_age`` (seconds, None when empty), ``runs``, ``latest_run`` (datetime or None),
        ``checkpoints``. Read from one snapshot of every table.
        """
        now = time.time() if now is None else now
        with self.db.errors("read the store"), self.db.read() as conn:
            entries, oldest, newest = conn.execute(
                "SELECT count(*), min(checked_at), max(checked_at) FROM cache"
            ).fetchone()
            runs, latest = conn.execute(
                "SELECT count(*), (SELECT started_at FROM runs ORDER BY id DESC LIMIT 1) FROM runs"
            ).fetchone()
            checkpoints = conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
        return {
            "path": str(self.path),
            "file_size": self.db.file_size(),
            "entries": entries,
            "oldest_age": None if oldest is None else now - oldest,
            "newest_age": None if newest is None else now - newest,
            "runs": runs,
            "latest_run": None if latest is None else datetime.fromisoformat(latest),
            "checkpoints": checkpoints,
        }

    # -- result cache (linkcheck.store.cache) ---------------------------------------------------

    def cached(
        self, url: str, max_age: float, now: float | None = None, *, context: str = ""
    ) -> CheckResult | None:
        """See :meth:`ResultCache.cached`."""
        return self.cache.cached(url, max_age, now, context=context)

    def remember(
        self, results: Iterable[CheckResult], now: float | None = None, *, context: str = ""
    ) -> int:
        """See :meth:`ResultCache.remember`."""
        return self.cache.remember(results, now, context=context)

    def clear_cache(self) -> int:
        """See :meth:`ResultCache.clear`."""
        return self.cache.clear()

    # -- history (linkcheck.store.history) ----------------------------------------------------

    def record_run(self, run: RunResult) -> int:
        """See :meth:`RunHistory.record_run`."""
        return self.history.record_run(run)

    def link_history(self, url: str) -> list[HistoryEntry]:
        """See :meth:`RunHistory.link_history`."""
        return self.history.link_history(url)

    def streaks(self, urls: Iterable[str] | None = None) -> dict[str, Streak]:
        """See :meth:`RunHistory.streaks`."""
        return self.history.streaks(urls)

    def previous_run_verdicts(self) -> dict[str, Verdict]:
        """See :meth:`RunHistory.previous_run_verdicts`."""
        return self.history.previous_run_verdicts()

    # -- checkpoints (linkcheck.store.checkpoints) --------------------------------------------

    def save_checkpoint(self, key: str, state: dict[str, Any]) -> None:
        """See :meth:`Checkpoints.save`."""
        self.checkpoints.save(key, state)

    def save_checkpoint_blob(
        self,
        key: str,
        pieces: Iterable[bytes],
        parts: Iterable[tuple[str, int, bytes]] = (),
        run: str = "",
    ) -> None:
        """See :meth:`Checkpoints.save_blob`."""
        self.checkpoints.save_blob(key, pieces, parts, run)

    def load_checkpoint_stream(self, key: str, run: str, stream: str) -> bytes:
        """See :meth:`Checkpoints.load_stream`."""
        return self.checkpoints.load_stream(key, run, stream)

    def load_checkpoint_blob(self, key: str) -> bytes | None:
        """See :meth:`Checkpoints.load_blob`."""
        return self.checkpoints.load_blob(key)

    def load_checkpoint(self, key: str) -> dict[str, Any] | None:
        """See :meth:`Checkpoints.load`."""
        return self.checkpoints.load(key)

    def clear_checkpoint(self, key: str) -> None:
        """See :meth:`Checkpoints.clear`."""
        self.checkpoints.clear(key)
