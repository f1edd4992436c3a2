"""Resume points: one saved state per run key, replaced whole, dropped when the run ends; and
the parts of it that only grow, stored once (each save adds those past the last)."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterable
from typing import Any

from linkcheck.store.compression import compress, decompress
from linkcheck.store.database import Database, log

_SPOOL_CHUNK = 1 << 20  # bytes copied at a time from a checkpoint's spool file into its row
# One checkpoint per key, replaced whole; {state} is the state's placeholder (a value, or a
# zeroblob of the size to be written into by incremental blob I/O)
_SAVE_CHECKPOINT = (
    "INSERT INTO checkpoints (key, saved_at, state) VALUES (?, ?, {state}) "
    "ON CONFLICT (key) DO UPDATE SET saved_at = excluded.saved_at, state = excluded.state"
)


class Checkpoints:
    """The ``checkpoints`` table of one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, key: str, state: dict[str, Any]) -> None:
        """Replace the checkpoint of run ``key`` in one transaction.

        A process killed while saving leaves the previous checkpoint whole. ``state`` must be
        JSON-serialisable (a TypeError or ValueError says otherwise, before anything is
        written).
        """
        text = json.dumps(state, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        with self._db.errors("save the checkpoint"), self._db.write() as conn:
            conn.execute(_SAVE_CHECKPOINT.format(state="?"), (key, time.time(), text))

    def save_blob(
        self,
        key: str,
        pieces: Iterable[bytes],
        parts: Iterable[tuple[str, int, bytes]] = (),
        run: str = "",
    ) -> None:
        """Like :meth:`save`, for a state its owner already encoded (and compressed), given a
        piece at a time: the pieces are spooled to a temporary file, then copied into the row
        through SQLite's incremental blob I/O, so a big crawl's state is never held in memory
        whole, and encoding it does not hold the write lock.

        ``parts`` (``(stream, start, bytes)``, see linkcheck.checkpoint.new_parts) are added
        to those run ``run`` stored before, compressed; another run's parts under ``key``
        are dropped. All in one transaction, with the state that names them."""
        with tempfile.TemporaryFile() as spool:
            size = 0  # the state's bytes, first in the spool
            for piece in pieces:
                spool.write(piece)
                size += len(piece)
            placed = []  # each part's stream, start, and where its compressed bytes are
            end = size
            for stream, start, data in parts:
                packed = compress(data)
                spool.write(packed)
                placed.append((stream, start, end, len(packed)))
                end += len(packed)
            with self._db.errors("save the checkpoint"), self._db.write() as conn:
                conn.execute("DELETE FROM checkpoint_parts WHERE key = ? AND run != ?", (key, run))
                for stream, start, offset, length in placed:
                    spool.seek(offset)
                    conn.execute(
                        "INSERT OR REPLACE INTO checkpoint_parts (key, run, stream, start, data)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (key, run, stream, start, spool.read(length)),
                    )
                conn.execute(_SAVE_CHECKPOINT.format(state="zeroblob(?)"), (key, time.time(), size))
                (rowid,) = conn.execute(
                    "SELECT rowid FROM checkpoints WHERE key = ?", (key,)
                ).fetchone()
                spool.seek(0)
                with conn.blobopen("checkpoints", "state", rowid) as blob:
                    for offset in range(0, size, _SPOOL_CHUNK):
                        blob.write(spool.read(min(_SPOOL_CHUNK, size - offset)))

    def load_stream(self, key: str, run: str, stream: str) -> bytes:
        """The parts of ``stream`` that run ``run`` stored under ``key`` (see
        :meth:`save_blob`), end to end, as far as they follow one another."""
        with self._db.errors("load the checkpoint"):
            rows = (
                self._db.connection()
                .execute(
                    "SELECT start, data FROM checkpoint_parts"
                    " WHERE key = ? AND run = ? AND stream = ? ORDER BY start",
                    (key, run, stream),
                )
                .fetchall()
            )
        data = bytearray()
        for start, packed in rows:
            if start != len(data):
                break
            try:
                data += decompress(packed)
            except ValueError:
                break
        return bytes(data)

    def load_blob(self, key: str) -> bytes | None:
        """The encoded state saved with :meth:`save_blob`, or None."""
        state = self._state(key)
        return bytes(state) if isinstance(state, bytes) else None

    def load(self, key: str) -> dict[str, Any] | None:
        """The last checkpoint saved for ``key``, or None (none saved, or unreadable)."""
        text = self._state(key)
        if text is None:
            return None
        try:
            state = json.loads(text)
        except ValueError as exc:
            log.warning(
                "%s: checkpoint %r is unreadable (%s); starting afresh", self._db.path, key, exc
            )
            return None
        return state if isinstance(state, dict) else None

    def clear(self, key: str) -> None:
        """Drop the checkpoint of run ``key`` (the run finished; nothing to resume), and give
        the space it took back when it was most of the file."""
        with self._db.errors("clear the checkpoint"):
            with self._db.write() as conn:
                conn.execute("DELETE FROM checkpoints WHERE key = ?", (key,))
                conn.execute("DELETE FROM checkpoint_parts WHERE key = ?", (key,))
            self._db.give_back_free_space()

    def _state(self, key: str) -> Any:
        """The stored state of ``key`` as SQLite returns it (text or bytes), or None."""
        with self._db.errors("load the checkpoint"):
            row = (
                self._db.connection()
                .execute("SELECT state FROM checkpoints WHERE key = ?", (key,))
                .fetchone()
            )
        return None if row is None else row[0]
