"""Remember between runs: result cache, run history and resume checkpoints in one SQLite file.

One :class:`Store` wraps one embedded SQLite database (stdlib ``sqlite3``, default
``.linkcheck/cache.sqlite``). Why SQLite: two CI jobs may share the folder and run at once,
and a job may be killed (``kill -9``, a CI timeout) in the middle of a write; SQLite's WAL
journal makes every write transaction all-or-nothing and lets a second process wait for the
lock (``busy_timeout``) instead of failing.

The file is disposable: a file that is not a database, fails ``PRAGMA quick_check``, or has a
schema version this linkcheck does not know is moved aside with a warning and rebuilt, so a
damaged cache never crashes a run and never yields a wrong verdict. (The check reads the
whole file, so a large file is checked once a day, and after a query found it damaged.)
Other SQLite failures (the database stays locked longer than the timeout, the disk is full
or read-only) raise :class:`StoreError` with a one-line message; a caller that can do
without the store (the runner) should log it and carry on uncached.

Only ``ok`` and ``redirected`` results are cached: a failure is always checked again, so a
link that was down once is never reported dead from memory, and a fix shows up at once.

A Store's connection belongs to the thread that opened it (``sqlite3`` enforces this); after
``fork()`` the child opens its own connection on first use. Open one Store per thread.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from linkcheck.models import CheckResult, ErrorKind, RunResult, Verdict

try:  # POSIX only; without it (Windows) the open-and-repair step is simply not serialised
    import fcntl
except ImportError:  # pragma: no cover - exercised on Windows only
    fcntl = None  # type: ignore[assignment]

DEFAULT_CACHE_PATH = Path(".linkcheck") / "cache.sqlite"
DEFAULT_KEEP_RUNS = 200  # runs kept in the history; older ones are pruned by record_run
DEFAULT_BUSY_TIMEOUT = 30.0  # seconds to wait for another process's write to finish

# Bump on any schema change. Add a migration to _MIGRATIONS (statements that take version N
# to N + 1) to keep users' history; without one, an older file is moved aside and rebuilt.
SCHEMA_VERSION = 1
_MIGRATIONS: dict[int, tuple[str, ...]] = {}

# The verdicts as sets, for the SQL below (the predicates are models.Verdict's).
CACHEABLE = frozenset(verdict for verdict in Verdict if verdict.works)
FAILING = frozenset(verdict for verdict in Verdict if verdict.failed)  # a failing streak's

_WAL_SIZE_LIMIT = 32 * 1024 * 1024  # bytes the WAL file is cut back to after a checkpoint
_SPOOL_CHUNK = 1 << 20  # bytes copied at a time from a checkpoint's spool file into its row
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
# One checkpoint per key, replaced whole; {state} is the state's placeholder (a value, or a
# zeroblob of the size to be written into by incremental blob I/O)
_SAVE_CHECKPOINT = (
    "INSERT INTO checkpoints (key, saved_at, state) VALUES (?, ?, {state}) "
    "ON CONFLICT (key) DO UPDATE SET saved_at = excluded.saved_at, state = excluded.state"
)
# PRAGMA quick_check reads the whole file, which for a large site's history takes too long to
# pay on every run (see bench/README.md). A file this small is checked on every open; a larger
# one once a day (the time of its last clean check is the mtime of ``<file>.checked``), and
# at the next open after any query found it damaged.
CHECK_ALWAYS_BELOW = 16 * 1024 * 1024
CHECK_EVERY = 24 * 3600.0

_SCHEMA = (
    # The result cache: one row per URL. `context` fingerprints the settings that decide a
    # verdict (accept rules, remaps, method, headers); a row stored under another context is a
    # miss. `result` is JSON (never pickle: the file may come from anywhere).
    """CREATE TABLE cache (
        url TEXT PRIMARY KEY,
        context TEXT NOT NULL,
        checked_at REAL NOT NULL,
        result TEXT NOT NULL
    )""",
    # Runs are ordered as recorded (by id): "latest" means the last one recorded. AUTOINCREMENT
    # never reuses the id of a pruned run, so that order holds for ever.
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        start_urls TEXT NOT NULL,
        complete INTEGER NOT NULL
    )""",
    # URLs once, as integers in run_links: a long history of a large site stays small.
    # The key (url_id, run_id) lets a URL's newest runs be read without sorting.
    "CREATE TABLE urls (id INTEGER PRIMARY KEY, url TEXT NOT NULL UNIQUE)",
    """CREATE TABLE run_links (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        url_id INTEGER NOT NULL REFERENCES urls (id),
        verdict TEXT NOT NULL,
        status INTEGER,
        error TEXT,
        PRIMARY KEY (url_id, run_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX run_links_by_run ON run_links (run_id)",
    """CREATE TABLE checkpoints (
        key TEXT PRIMARY KEY,
        saved_at REAL NOT NULL,
        state TEXT NOT NULL
    )""",
)


def _sql_list(verdicts: frozenset[Verdict]) -> str:
    return "(" + ", ".join(f"'{verdict.value}'" for verdict in sorted(verdicts)) + ")"


# Per URL, through the (url_id, run_id) key only: the latest run in which it worked (`stop`,
# 0 if never), then the failing runs after that one (the streak; its first run gives
# failing_since), and its latest verdict. Inconclusive verdicts are neither counted nor stop
# the streak. Correlated subqueries, not a join on the latest run: a join lets SQLite choose
# to scan every row of the history.
_STREAKS = f"""
SELECT url, failing_runs,
    (SELECT r.started_at FROM run_links f JOIN runs r ON r.id = f.run_id
     WHERE f.url_id = s.url_id AND f.run_id > s.stop AND f.verdict IN {_sql_list(FAILING)}
     ORDER BY f.run_id LIMIT 1) AS failing_since,
    (SELECT verdict FROM run_links WHERE url_id = s.url_id ORDER BY run_id DESC LIMIT 1),
    (SELECT r.started_at FROM run_links l JOIN runs r ON r.id = l.run_id
     WHERE l.url_id = s.url_id ORDER BY l.run_id DESC LIMIT 1) AS last_seen
FROM (
    SELECT url_id, url, stop,
        (SELECT count(*) FROM run_links
         WHERE url_id = w.url_id AND run_id > w.stop AND verdict IN {_sql_list(FAILING)})
         AS failing_runs
    FROM (
        SELECT u.id AS url_id, u.url AS url,
            coalesce((SELECT run_id FROM run_links
                      WHERE url_id = u.id AND verdict IN {_sql_list(CACHEABLE)}
                      ORDER BY run_id DESC LIMIT 1), 0) AS stop
        FROM urls u {{where}}
    ) w
) s
"""

log = logging.getLogger("linkcheck.store")


class StoreError(Exception):
    """The store cannot be used right now (locked too long, disk full, read-only); one line."""


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """A link's outcome in one recorded run."""

    run_id: int
    started_at: datetime
    verdict: Verdict
    status: int | None
    error: ErrorKind | None
    complete: bool  # the run was neither interrupted nor stopped by a limit


@dataclass(frozen=True, slots=True)
class Streak:
    """Where a link stands over its latest recorded runs.

    ``failing_runs`` counts the most recent runs in a row in which the link was broken or
    error; runs that did not settle it (skipped, excluded, blocked, rate-limited) are passed
    over, neither breaking nor extending the streak. ``last_verdict`` is the verdict of the
    latest run that recorded the link at all, whatever it was.
    """

    url: str
    failing_runs: int  # 0 when the latest conclusive verdict is ok or redirected
    failing_since: datetime | None  # started_at of the first run of the streak
    last_verdict: Verdict
    last_seen: datetime  # started_at of the latest run that recorded the link


class Store:
    """The persistent memory of linkcheck: open, use, close (or use as a context manager).

    Opening creates the file and its folders, and repairs a damaged or foreign file (moved
    aside, with a warning on the ``linkcheck.store`` logger).
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
        self._pid = os.getpid()
        self._conn: sqlite3.Connection | None = self._open()

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
        conn, self._conn = self._conn, None
        if conn is not None and self._pid == os.getpid():
            conn.close()

    # -- result cache -------------------------------------------------------------------------

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
        with self._errors("read the result cache"):
            conn = self._connection()
            row = conn.execute(
                "SELECT context, checked_at, result FROM cache WHERE url = ?", (url,)
            ).fetchone()
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
        with self._errors("write the result cache"), self._write() as conn:
            conn.executemany("DELETE FROM cache WHERE url = ?", drop)
            conn.executemany(
                "INSERT INTO cache (url, context, checked_at, result) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (url) DO UPDATE SET context = excluded.context, "
                "checked_at = excluded.checked_at, result = excluded.result",
                store,
            )
        return len(store)

    def clear_cache(self) -> int:
        """Forget every cached result (history and checkpoints stay); returns how many."""
        with self._errors("clear the result cache"), self._write() as conn:
            return conn.execute("DELETE FROM cache").rowcount

    def cache_stats(self, now: float | None = None) -> dict[str, Any]:
        """What the file holds: for ``linkcheck cache stats`` and debugging.

        Keys: ``path``, ``file_size`` (bytes, WAL included), ``entries``, ``oldest_age`` and
        ``newest_age`` (seconds, None when empty), ``runs``, ``latest_run`` (datetime or None),
        ``checkpoints``.
        """
        now = time.time() if now is None else now
        with self._errors("read the store"), self._read() as conn:
            entries, oldest, newest = conn.execute(
                "SELECT count(*), min(checked_at), max(checked_at) FROM cache"
            ).fetchone()
            runs, latest = conn.execute(
                "SELECT count(*), (SELECT started_at FROM runs ORDER BY id DESC LIMIT 1) FROM runs"
            ).fetchone()
            checkpoints = conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
        size = 0
        for file in (self.path, _sibling(self.path, "-wal")):
            with contextlib.suppress(OSError):
                size += file.stat().st_size
        return {
            "path": str(self.path),
            "file_size": size,
            "entries": entries,
            "oldest_age": None if oldest is None else now - oldest,
            "newest_age": None if newest is None else now - newest,
            "runs": runs,
            "latest_run": None if latest is None else datetime.fromisoformat(latest),
            "checkpoints": checkpoints,
        }

    # -- history ------------------------------------------------------------------------------

    def record_run(self, run: RunResult) -> int:
        """Add a finished (or partial) run to the history; returns its id.

        The run becomes the latest one (runs are ordered as recorded). Keeps the newest
        ``keep_runs`` runs and prunes the rest, so the file stays bounded however often
        linkcheck runs.
        """
        rows = [
            (link.result.verdict.value, link.result.status, _error_value(link.result), url)
            for url, link in run.links.items()
            if link.result is not None
        ]
        with self._errors("record the run"), self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO runs (started_at, finished_at, start_urls, complete) "
                "VALUES (?, ?, ?, ?)",
                (
                    run.started_at.isoformat(),
                    run.finished_at.isoformat(),
                    json.dumps(run.start_urls, ensure_ascii=False),
                    int(run.complete),
                ),
            )
            run_id = cursor.lastrowid
            assert run_id is not None
            conn.executemany("INSERT OR IGNORE INTO urls (url) VALUES (?)", ((r[3],) for r in rows))
            conn.executemany(
                "INSERT INTO run_links (run_id, url_id, verdict, status, error) "
                "SELECT ?, id, ?, ?, ? FROM urls WHERE url = ?",
                ((run_id, *row) for row in rows),
            )
            pruned = conn.execute(
                "DELETE FROM runs WHERE id IN "
                "(SELECT id FROM runs ORDER BY id DESC LIMIT -1 OFFSET ?)",
                (self.keep_runs,),
            ).rowcount
            if pruned:
                conn.execute(
                    "DELETE FROM urls WHERE NOT EXISTS "
                    "(SELECT 1 FROM run_links WHERE url_id = urls.id)"
                )
        return run_id

    def link_history(self, url: str) -> list[HistoryEntry]:
        """Every recorded outcome of ``url``, newest run first (empty when never recorded)."""
        with self._errors("read the history"):
            conn = self._connection()
            rows = conn.execute(
                "SELECT r.id, r.started_at, l.verdict, l.status, l.error, r.complete "
                "FROM urls u JOIN run_links l ON l.url_id = u.id JOIN runs r ON r.id = l.run_id "
                "WHERE u.url = ? ORDER BY r.id DESC",
                (url,),
            ).fetchall()
        return [
            HistoryEntry(
                run_id=run_id,
                started_at=datetime.fromisoformat(started_at),
                verdict=Verdict(verdict),
                status=status,
                error=ErrorKind(error) if error else None,
                complete=bool(complete),
            )
            for run_id, started_at, verdict, status, error, complete in rows
        ]

    def streaks(self, urls: Iterable[str] | None = None) -> dict[str, Streak]:
        """A :class:`Streak` per recorded URL (only those in ``urls`` when given).

        Reads only each URL's newest row and its failing streak, through the primary key: its
        time does not grow with the length of the history.
        """
        with self._errors("read the history"), self._read() as conn:
            if urls is None:
                rows = conn.execute(_STREAKS.format(where="")).fetchall()
            else:
                # A temporary table, not `IN (?, ...)`: SQLite caps the number of parameters.
                conn.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (url TEXT PRIMARY KEY)")
                conn.execute("DELETE FROM temp.wanted")
                conn.executemany(
                    "INSERT OR IGNORE INTO temp.wanted (url) VALUES (?)", ((u,) for u in urls)
                )
                where = "WHERE u.url IN (SELECT url FROM temp.wanted)"
                rows = conn.execute(_STREAKS.format(where=where)).fetchall()
        return {
            url: Streak(
                url=url,
                failing_runs=failing_runs,
                failing_since=datetime.fromisoformat(since) if failing_runs else None,
                last_verdict=Verdict(last_verdict),
                last_seen=datetime.fromisoformat(last_seen),
            )
            for url, failing_runs, since, last_verdict, last_seen in rows
            if last_verdict is not None  # a URL whose runs were all pruned (not yet dropped)
        }

    def previous_run_verdicts(self) -> dict[str, Verdict]:
        """URL → verdict in the most recent recorded run, for "new" and "fixed since last run".

        Empty when no run is recorded. Call it before :meth:`record_run` for the current run.
        """
        with self._errors("read the history"), self._read() as conn:
            rows = conn.execute(
                "SELECT u.url, l.verdict FROM run_links l JOIN urls u ON u.id = l.url_id "
                "WHERE l.run_id = (SELECT max(id) FROM runs)"
            ).fetchall()
        return {url: Verdict(verdict) for url, verdict in rows}

    # -- checkpoints --------------------------------------------------------------------------

    def save_checkpoint(self, key: str, state: dict[str, Any]) -> None:
        """Replace the checkpoint of run ``key`` in one transaction.

        A process killed while saving leaves the previous checkpoint whole. ``state`` must be
        JSON-serialisable (a TypeError or ValueError says otherwise, before anything is
        written).
        """
        text = json.dumps(state, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        with self._errors("save the checkpoint"), self._write() as conn:
            conn.execute(_SAVE_CHECKPOINT.format(state="?"), (key, time.time(), text))

    def save_checkpoint_blob(self, key: str, pieces: Iterable[bytes]) -> None:
        """Like :meth:`save_checkpoint`, for a state its owner already encoded (and
        compressed), given a piece at a time: the pieces are spooled to a temporary file,
        then copied into the row through SQLite's incremental blob I/O, so a big crawl's
        state is never held in memory whole, and encoding it does not hold the write lock."""
        with tempfile.TemporaryFile() as spool:
            size = 0
            for piece in pieces:
                spool.write(piece)
                size += len(piece)
            spool.seek(0)
            with self._errors("save the checkpoint"), self._write() as conn:
                conn.execute(_SAVE_CHECKPOINT.format(state="zeroblob(?)"), (key, time.time(), size))
                (rowid,) = conn.execute(
                    "SELECT rowid FROM checkpoints WHERE key = ?", (key,)
                ).fetchone()
                with conn.blobopen("checkpoints", "state", rowid) as blob:
                    while chunk := spool.read(_SPOOL_CHUNK):
                        blob.write(chunk)

    def load_checkpoint_blob(self, key: str) -> bytes | None:
        """The encoded state saved with :meth:`save_checkpoint_blob`, or None."""
        with self._errors("load the checkpoint"):
            conn = self._connection()
            row = conn.execute("SELECT state FROM checkpoints WHERE key = ?", (key,)).fetchone()
        return bytes(row[0]) if row is not None and isinstance(row[0], bytes) else None

    def load_checkpoint(self, key: str) -> dict[str, Any] | None:
        """The last checkpoint saved for ``key``, or None (none saved, or unreadable)."""
        with self._errors("load the checkpoint"):
            conn = self._connection()
            row = conn.execute("SELECT state FROM checkpoints WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            state = json.loads(row[0])
        except ValueError as exc:
            log.warning(
                "%s: checkpoint %r is unreadable (%s); starting afresh", self.path, key, exc
            )
            return None
        return state if isinstance(state, dict) else None

    def clear_checkpoint(self, key: str) -> None:
        """Drop the checkpoint of run ``key`` (the run finished; nothing to resume)."""
        with self._errors("clear the checkpoint"), self._write() as conn:
            conn.execute("DELETE FROM checkpoints WHERE key = ?", (key,))

    # -- plumbing -----------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._pid != os.getpid():
            # A forked child must not use its parent's connection (SQLite's locks are per
            # process): abandon it without closing and open a fresh one.
            self._pid = os.getpid()
            self._conn = self._open()
        if self._conn is None:
            raise RuntimeError(f"{self.path}: the store is closed")
        return self._conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; IMMEDIATE takes the write lock up front.

        A deferred transaction that reads first and writes later can fail at once with
        SQLITE_BUSY when another process wrote in between, without waiting: busy_timeout only
        helps when the lock is requested at BEGIN.
        """
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """Several reads from one snapshot, unaffected by another process writing meanwhile."""
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
                with contextlib.suppress(OSError):  # damaged: check (and set aside) next time
                    self._checked_marker.unlink()
            raise StoreError(f"{self.path}: cannot {action}: {exc}") from exc

    def _open(self) -> sqlite3.Connection:
        """Connect, check and, when needed, set aside and rebuild the file.

        The check-and-repair step runs under an exclusive lock on ``<file>.lock``, so two runs
        starting together on a damaged file cannot move each other's fresh file aside.
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"{self.path}: cannot create the folder: {exc.strerror or exc}"
            ) from None
        with self._open_lock():
            conn, problem = self._try_open()
            if problem is None:
                assert conn is not None
                return conn
            aside = self._move_aside(*problem)
            log.warning(
                "%s %s; moved it to %s and started a new one", self.path, problem[1], aside.name
            )
            conn, problem = self._try_open()
            if problem is not None:  # a fresh file that fails: not ours to fix
                raise StoreError(f"{self.path}: cannot create the store: {problem[1]}")
            assert conn is not None
            return conn

    def _try_open(self) -> tuple[sqlite3.Connection | None, tuple[str, str] | None]:
        """A ready connection, or the suffix to move the file aside with and why."""
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the store: {exc}") from None
        try:
            problem = self._prepare(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            if code not in (_SQLITE_CORRUPT, _SQLITE_NOTADB):  # locked, read-only, I/O error
                raise StoreError(f"{self.path}: cannot open the store: {exc}") from None
            return None, (f"corrupt-{_timestamp()}", f"is not a usable database ({exc})")
        except BaseException:
            conn.close()
            raise
        if problem is not None:
            conn.close()
            return None, problem
        return conn, None

    @property
    def _checked_marker(self) -> Path:
        """Its mtime is when the file last passed the integrity check (see _check_due)."""
        return _sibling(self.path, ".checked")

    def _check_due(self) -> bool:
        """Whether this open runs the integrity check (see CHECK_ALWAYS_BELOW)."""
        try:
            size = self.path.stat().st_size
            checked = self._checked_marker.stat().st_mtime
        except OSError:
            return True
        return size < CHECK_ALWAYS_BELOW or time.time() - checked >= CHECK_EVERY

    def _prepare(self, conn: sqlite3.Connection) -> tuple[str, str] | None:
        """Set the connection up, check the file, create or migrate the schema."""
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a killed process loses nothing committed; a power cut may lose
        # the last transactions but never leaves the file inconsistent. Fine for a cache.
        conn.execute("PRAGMA synchronous = NORMAL")
        # A big checkpoint grows the WAL; without a limit it keeps that size until the last
        # connection closes.
        conn.execute(f"PRAGMA journal_size_limit = {_WAL_SIZE_LIMIT}")
        conn.execute("PRAGMA foreign_keys = ON")
        if self._check_due():
            problems = [row[0] for row in conn.execute("PRAGMA quick_check(1)")]
            if problems != ["ok"]:
                detail = " ".join(str(problems[0]).split()) if problems else "no answer"
                return f"corrupt-{_timestamp()}", f"fails its integrity check ({detail})"
            with contextlib.suppress(OSError):  # no record: the next open checks again
                self._checked_marker.touch()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return None
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            empty = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
            if version == 0 and empty:
                statements: list[str] = list(_SCHEMA)
            elif 0 < version < SCHEMA_VERSION and all(
                v in _MIGRATIONS for v in range(version, SCHEMA_VERSION)
            ):
                statements = [s for v in range(version, SCHEMA_VERSION) for s in _MIGRATIONS[v]]
            elif version == SCHEMA_VERSION:  # another process finished it meanwhile
                statements = []
            else:
                conn.execute("ROLLBACK")
                return (
                    f"old-{version}",
                    f"has schema version {version}, this linkcheck uses {SCHEMA_VERSION}",
                )
            for statement in statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return None

    def _move_aside(self, suffix: str, reason: str) -> Path:
        """Rename the file (and its WAL and shared-memory files) to ``<name>.<suffix>``.

        The WAL must go too: left behind, SQLite would replay its pages into the new file.
        """
        aside = _sibling(self.path, f".{suffix}")
        number = 1
        while aside.exists():
            number += 1
            aside = _sibling(self.path, f".{suffix}-{number}")
        try:
            os.replace(self.path, aside)
            for companion in ("-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.replace(_sibling(self.path, companion), _sibling(aside, companion))
        except OSError as exc:
            raise StoreError(
                f"{self.path} {reason} and cannot be moved aside: {exc.strerror or exc}"
            ) from None
        return aside

    @contextlib.contextmanager
    def _open_lock(self) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover - Windows
            yield
            return
        try:
            fd = os.open(_sibling(self.path, ".lock"), os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise StoreError(
                f"{self.path}: cannot create the lock file: {exc.strerror or exc}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


# What a cached result keeps of CheckResult.to_dict(): the answer, not the facts of the run
# that got it (its URL is the row's key; a later run spends no time on it).
_CACHED_KEYS = ("verdict", "status", "final_url", "redirects", "error", "message", "checked_url")


def _result_to_json(result: CheckResult) -> str:
    data = result.to_dict()
    cached = {key: data[key] for key in _CACHED_KEYS}
    return json.dumps(cached, ensure_ascii=False, separators=(",", ":"))


def _result_from_json(url: str, text: str) -> CheckResult:
    return CheckResult.from_dict({**json.loads(text), "url": url})


def _error_value(result: CheckResult) -> str | None:
    return result.error.value if result.error else None


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _timestamp() -> str:
    return time.strftime("%Y%m%dT%H%M%S")
