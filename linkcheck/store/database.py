"""The store's SQLite file: open it, check it, create or migrate its schema, run transactions.

Why SQLite: two CI jobs may share the folder and run at once, and a job may be killed
(``kill -9``, a CI timeout) in the middle of a write; SQLite's WAL journal makes every write
transaction all-or-nothing and lets a second process wait for the lock (``busy_timeout``)
instead of failing.

The file is disposable: a file that is not a database, fails ``PRAGMA quick_check``, or has a
schema version this linkcheck does not know is moved aside with a warning and rebuilt, so a
damaged cache never crashes a run and never yields a wrong verdict. (The check reads the
whole file, so a large file is checked once a day, and after a query found it damaged.)
Other SQLite failures (the database stays locked longer than the timeout, the disk is full
or read-only) raise :class:`StoreError` with a one-line message.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

try:  # POSIX only; without it (Windows) the open-and-repair step is simply not serialised
    import fcntl
except ImportError:  # pragma: no cover - exercised on Windows only
    fcntl = None  # type: ignore[assignment]

# Bump on any schema change. Add a migration to _MIGRATIONS (statements that take version N
# to N + 1) to keep users' history; without one, an older file is moved aside and rebuilt.
SCHEMA_VERSION = 2
# A resume point's parts that only grow (see linkcheck.checkpoint.new_parts): each save of a
# run appends those past the ones it stored before, zlib-compressed; `start` is the part's
# first byte in its stream, uncompressed.
_CHECKPOINT_PARTS = """CREATE TABLE checkpoint_parts (
        key TEXT NOT NULL,
        run TEXT NOT NULL,
        stream TEXT NOT NULL,
        start INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (key, run, stream, start)
    )"""
_MIGRATIONS: dict[int, tuple[str, ...]] = {1: (_CHECKPOINT_PARTS,)}

_WAL_SIZE_LIMIT = 32 * 1024 * 1024  # bytes the WAL file is cut back to after a checkpoint
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
# PRAGMA quick_check reads the whole file, which for a large site's history takes too long to
# pay on every run (see bench/README.md). A file this small is checked on every open; a larger
# one once a day (the time of its last clean check is the mtime of ``<file>.checked``), and
# at the next open after any query found it damaged.
CHECK_ALWAYS_BELOW = 16 * 1024 * 1024
CHECK_EVERY = 24 * 3600.0
# A file whose free pages are at least this many bytes and this share of it is rebuilt when a
# run drops its resume points (see Database.give_back_free_space).
GIVE_BACK_AT_LEAST = 16 * 1024 * 1024
GIVE_BACK_SHARE = 0.5

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
    _CHECKPOINT_PARTS,
)

# One logger for the whole store, as users and tests know it (not per module).
log = logging.getLogger("linkcheck.store")


class StoreError(Exception):
    """The store cannot be used right now (locked too long, disk full, read-only); one line."""


class Database:
    """One connection to the store's file, opened (and repaired when needed) on creation.

    The connection belongs to the thread that opened it (``sqlite3`` enforces this); after
    ``fork()`` the child opens its own on first use.
    """

    def __init__(self, path: Path, *, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._pid = os.getpid()
        self._conn: sqlite3.Connection | None = self._open()

    def close(self) -> None:
        """Close the connection; the last one to close folds the WAL back into the file."""
        conn, self._conn = self._conn, None
        if conn is not None and self._pid == os.getpid():
            conn.close()

    def connection(self) -> sqlite3.Connection:
        """The open connection (a fresh one in a forked child); RuntimeError once closed."""
        if self._pid != os.getpid():
            # A forked child must not use its parent's connection (SQLite's locks are per
            # process): abandon it without closing and open a fresh one.
            self._pid = os.getpid()
            self._conn = self._open()
        if self._conn is None:
            raise RuntimeError(f"{self.path}: the store is closed")
        return self._conn

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; IMMEDIATE takes the write lock up front.

        A deferred transaction that reads first and writes later can fail at once with
        SQLITE_BUSY when another process wrote in between, without waiting: busy_timeout only
        helps when the lock is requested at BEGIN.
        """
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """Several reads from one snapshot, unaffected by another process writing meanwhile."""
        conn = self.connection()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    @contextlib.contextmanager
    def errors(self, action: str) -> Iterator[None]:
        """SQLite's errors in the block as one-line :class:`StoreError` (``cannot <action>``)."""
        try:
            yield
        except sqlite3.Error as exc:
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
                with contextlib.suppress(OSError):  # damaged: check (and set aside) next time
                    self._checked_marker.unlink()
            raise StoreError(f"{self.path}: cannot {action}: {exc}") from exc

    def file_size(self) -> int:
        """Bytes on disk, the WAL included."""
        size = 0
        for file in (self.path, sibling(self.path, "-wal")):
            with contextlib.suppress(OSError):
                size += file.stat().st_size
        return size

    def give_back_free_space(self) -> bool:
        """Rebuild the file (VACUUM) when most of it is free pages, as a large run's resume
        points leave it once the run has finished and dropped them (a 50,000-page run: 77 MB
        free of 89 MB): a store kept between CI runs is then the size of what it holds.
        Whether it was rebuilt; not when another connection keeps it busy (no error)."""
        conn = self.connection()
        pages, free, page_size = (
            conn.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("page_count", "freelist_count", "page_size")
        )
        if free * page_size < GIVE_BACK_AT_LEAST or free < pages * GIVE_BACK_SHARE:
            return False
        try:
            conn.execute("VACUUM")  # into the WAL: folded back into the file, both cut short
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError as exc:  # busy: the space stays for the next run
            log.debug("%s: free space kept: %s", self.path, exc)
            return False
        return True

    # -- opening ------------------------------------------------------------------------------

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
        return sibling(self.path, ".checked")

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
        aside = sibling(self.path, f".{suffix}")
        number = 1
        while aside.exists():
            number += 1
            aside = sibling(self.path, f".{suffix}-{number}")
        try:
            os.replace(self.path, aside)
            for companion in ("-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.replace(sibling(self.path, companion), sibling(aside, companion))
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
            fd = os.open(sibling(self.path, ".lock"), os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise StoreError(
                f"{self.path}: cannot create the lock file: {exc.strerror or exc}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def sibling(path: Path, suffix: str) -> Path:
    """``path`` with ``suffix`` added to its name (SQLite's ``-wal``, our ``.lock``...)."""
    return path.with_name(path.name + suffix)


def _timestamp() -> str:
    return time.strftime("%Y%m%dT%H%M%S")
