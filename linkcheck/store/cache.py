"""The result cache: a link's good answer reused by later runs, for a while.

Only ``ok`` and ``redirected`` results are cached: a failure is always checked again, so a
link that was down once is never reported dead from memory, and a fix shows up at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from linkcheck.models import CheckResult
from linkcheck.store.database import Database, log

# What a cached result keeps of CheckResult.to_dict(): the answer, not the facts of the run
# that got it (its URL is the row's key; a later run spends no time on it).
_CACHED_KEYS = ("verdict", "status", "final_url", "redirects", "error", "message", "checked_url")


class ResultCache:
    """The ``cache`` table of one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def cached(
        self, url: str, max_age: float, now: float | None = None, *, context: str = ""
    ) -> CheckResult | None:
        """The stored result for ``url`` if it is younger than ``max_age`` seconds, else None.

        ``context`` must equal the one it was stored with (see :meth:`remember`). An entry
        dated in the future (the clock was changed) or unreadable counts as a miss: when in
        doubt, check again.
        """
        if max_age <= 0:
            return None
        now = time.time() if now is None else now
        with self._db.errors("read the result cache"):
            row = (
                self._db.connection()
                .execute("SELECT context, checked_at, result FROM cache WHERE url = ?", (url,))
                .fetchone()
            )
        if row is None or row[0] != context or not 0 <= now - row[1] < max_age:
            return None
        try:
            result = _result_from_json(url, row[2])
        except (ValueError, KeyError, TypeError) as exc:
            log.debug("ignoring unreadable cache entry for %s: %s", url, exc)
            return None
        return result if result.verdict.works else None  # never a failure from memory

    def remember(
        self, results: Iterable[CheckResult], now: float | None = None, *, context: str = ""
    ) -> int:
        """Store the ``ok`` and ``redirected`` results; returns how many were stored.

        A broken, error, blocked or rate-limited result deletes the URL's entry instead, so it
        is checked again next time. Skipped and excluded results teach nothing and are ignored.
        ``context`` is a fingerprint of the settings that decide a verdict; a later lookup
        with a different one misses.
        """
        now = time.time() if now is None else now
        store: list[tuple[str, str, float, str]] = []
        drop: list[tuple[str]] = []
        for result in results:
            if result.verdict.works:
                store.append((result.url, context, now, _result_to_json(result)))
            elif result.verdict.failed or result.verdict.unverified:  # wrong now: forget it
                drop.append((result.url,))
        with self._db.errors("write the result cache"), self._db.write() as conn:
            conn.executemany("DELETE FROM cache WHERE url = ?", drop)
            conn.executemany(
                "INSERT INTO cache (url, context, checked_at, result) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (url) DO UPDATE SET context = excluded.context, "
                "checked_at = excluded.checked_at, result = excluded.result",
                store,
            )
        return len(store)

    def clear(self) -> int:
        """Forget every cached result (history and checkpoints stay); returns how many."""
        with self._db.errors("clear the result cache"), self._db.write() as conn:
            return conn.execute("DELETE FROM cache").rowcount


def _result_to_json(result: CheckResult) -> str:
    data = result.to_dict()
    cached = {key: data[key] for key in _CACHED_KEYS}
    return json.dumps(cached, ensure_ascii=False, separators=(",", ":"))


def _result_from_json(url: str, text: str) -> CheckResult:
    return CheckResult.from_dict({**json.loads(text), "url": url})
