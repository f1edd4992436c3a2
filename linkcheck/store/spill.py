"""A run's occurrences past what it keeps in memory: a SQLite file of the run's own.

A large crawl records millions of link occurrences (three numbers each) and, for each way a
link is written, its href and text: kept in memory they were most of a 50,000-page run's
peak. Past ``[crawl] occurrences_in_memory`` the run's tables (``models.OccurrenceTables``)
move what they hold here in batches, and read it back in the order it was written.

Its own SQLite file, not the result store's ``cache.sqlite``: that one is shared by every
run in the folder (two CI jobs may use it at once, and a large file costs a check when
opened), while this is scratch that belongs to one run and dies with it. The file is made in
the temporary folder and removed when the tables are dropped or the process exits; it is
never read by another process (no journal, no fsync: a crash loses nothing that outlives the
run). The occurrence numbers are rows there, read back by link; the variants' bytes, read
back one variant at a time by offset, go to an unnamed temporary file beside it: a read is
one ``pread`` (under a microsecond), where SQLite's incremental blob reads cost ~14 µs each
in the JSON report of a 2,000-page run (bench/README.md).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import weakref
from collections.abc import Iterable, Iterator
from typing import IO

_PAGE_CACHE_KIB = 2048  # SQLite's own page cache for this file: small, it is read in order

_SCHEMA = (
    # One row per batch of one owner's occurrence numbers, in the order they were spilled.
    "CREATE TABLE rows (id INTEGER PRIMARY KEY, owner INTEGER NOT NULL, data BLOB NOT NULL)",
    "CREATE INDEX rows_by_owner ON rows (owner, id)",
)


def _remove(conn: sqlite3.Connection, path: str, text: IO[bytes]) -> None:
    text.close()
    with contextlib.suppress(sqlite3.Error):
        conn.close()
    with contextlib.suppress(OSError):
        os.unlink(path)


class Spill:
    """One run's spilled occurrence rows (by owner: one link's occurrences) and variant text
    (a byte stream read back by offset)."""

    def __init__(self, folder: str | None = None) -> None:
        fd, self.path = tempfile.mkstemp(prefix="linkcheck-spill-", suffix=".sqlite", dir=folder)
        os.close(fd)
        # The run's one thread uses it; a library user may write reports from another.
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        # unnamed: gone with its last descriptor, however the process ends
        self._text = tempfile.TemporaryFile(prefix="linkcheck-spill-", dir=folder)  # noqa: SIM115
        self._removed = weakref.finalize(self, _remove, self._conn, self.path, self._text)
        for pragma in (
            "journal_mode = OFF",
            "synchronous = OFF",
            f"cache_size = -{_PAGE_CACHE_KIB}",
        ):
            self._conn.execute(f"PRAGMA {pragma}")
        for statement in _SCHEMA:
            self._conn.execute(statement)
        self._text_end = 0  # bytes of text written
        self.rows_written = 0  # occurrence batches written (for tests and measurements)

    def close(self) -> None:
        """Drop the files now (otherwise when the tables are dropped, or at exit)."""
        self._removed()

    def write_rows(self, batches: Iterable[tuple[int, bytes]]) -> None:
        """Append (owner, packed numbers) batches, in one transaction."""
        conn = self._conn
        conn.execute("BEGIN")
        cursor = conn.executemany("INSERT INTO rows (owner, data) VALUES (?, ?)", batches)
        self.rows_written += max(cursor.rowcount, 0)
        conn.execute("COMMIT")

    def read_rows(self, owner: int) -> Iterator[bytes]:
        """An owner's batches, in the order they were written."""
        cursor = self._conn.execute("SELECT data FROM rows WHERE owner = ? ORDER BY id", (owner,))
        for (data,) in cursor:
            yield data

    @property
    def text_size(self) -> int:
        """Bytes of text spilled: offsets below this are read from the file."""
        return self._text_end

    def write_text(self, data: bytes | bytearray) -> None:
        """Append bytes to the text stream."""
        self._text.seek(self._text_end)
        self._text.write(data)
        self._text.flush()  # read back with pread, under the buffer
        self._text_end += len(data)

    def read_text(self, start: int, end: int) -> bytes:
        """The text stream's bytes ``start:end`` (all of them already written)."""
        return os.pread(self._text.fileno(), end - start, start)

    def text(self, size: int) -> Iterator[bytes]:
        """The whole text stream, ``size`` bytes at a time at most (a checkpoint's copy)."""
        fd = self._text.fileno()
        for start in range(0, self._text_end, size):
            yield os.pread(fd, min(size, self._text_end - start), start)
