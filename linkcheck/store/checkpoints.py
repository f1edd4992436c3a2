"""Resume points: one saved state per run key, replaced whole, dropped when the run ends."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterable
from typing import Any

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

    def save_blob(self, key: str, pieces: Iterable[bytes]) -> None:
        """Like :meth:`save`, for a state its owner already encoded (and compressed), given a
        piece at a time: the pieces are spooled to a temporary file, then copied into the row
        through SQLite's incremental blob I/O, so a big crawl's state is never held in memory
        whole, and encoding it does not hold the write lock."""
        with tempfile.TemporaryFile() as spool:
            size = 0
            for piece in pieces:
                spool.write(piece)
                size += len(piece)
            spool.seek(0)
            with self._db.errors("save the checkpoint"), self._db.write() as conn:
                conn.execute(_SAVE_CHECKPOINT.format(state="zeroblob(?)"), (key, time.time(), size))
                (rowid,) = conn.execute(
                    "SELECT rowid FROM checkpoints WHERE key = ?", (key,)
                ).fetchone()
                with conn.blobopen("checkpoints", "state", rowid) as blob:
                    while chunk := spool.read(_SPOOL_CHUNK):
                        blob.write(chunk)

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
        """Drop the checkpoint of run ``key`` (the run finished; nothing to resume)."""
        with self._db.errors("clear the checkpoint"), self._db.write() as conn:
            conn.execute("DELETE FROM checkpoints WHERE key = ?", (key,))

    def _state(self, key: str) -> Any:
        """The stored state of ``key`` as SQLite returns it (text or bytes), or None."""
        with self._db.errors("load the checkpoint"):
            row = (
                self._db.connection()
                .execute("SELECT state FROM checkpoints WHERE key = ?", (key,))
                .fetchone()
            )
        return None if row is None else row[0]
