"""A run's occurrences past what it keeps in memory: scratch files of the run's own.

A large crawl records millions of link occurrences (three numbers each) and, for each way a
link is written, its href and text: kept in memory they were most of a 50,000-page run's
peak. Past ``[crawl] occurrences_in_memory`` the run's tables (``models.OccurrenceTables``)
move what they hold here in rounds, and read it back, in the order it was written, when
asked for.

Two unnamed temporary files, appended to and read back by offset with ``pread`` (gone with
their last descriptor, however the process ends; read by another process only through
descriptors it was started with, to write half of a large run's JSON report
(:meth:`Spill.reading_copy`); never synced: a crash loses nothing that outlives the run; a
resume point stores a copy of what they hold, a save adding what came since the one before,
and a resumed run takes the rows back as its own: :meth:`Spill.row_parts`,
:meth:`Spill.take_rows`):

- the occurrence numbers: each round writes, in one write, a batch for every link holding
  numbers; a link's batches are a chain (each batch remembers the one before it, in three
  arrays here: 20 bytes a batch), so reading a link back is one ``pread`` per round it had
  numbers in. They were rows of a SQLite table until session 11: a query per link, read
  back row by row, cost a 50,000-page run's finishing checks and reports several times
  what the reads themselves cost (bench/README.md, "Session 11").
- the variants' bytes, read back one variant at a time by offset (a ``pread`` is under a
  microsecond, where SQLite's incremental blob reads cost ~14 µs each in the JSON report of
  a 2,000-page run). Not a map of the file: slices of one were ~3x cheaper than a
  ``pread`` with its call, but each read of a scattered variant mapped a whole large folio
  of the page cache (1,000 reads held 160 MB of a 160 MB file; 100 reads after letting them
  go, 79 MB), which counts in the process's memory: a 50,000-page run's peak went from
  288 to 373 MiB (session 16).
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
import weakref
from array import array
from collections.abc import Iterator, Sequence
from typing import IO


class _Stream:
    """An unnamed temporary file, appended to and read back by offset: gone with its last
    descriptor, however the process ends."""

    def __init__(self, folder: str | None) -> None:
        self.file: IO[bytes] = tempfile.TemporaryFile(prefix="linkcheck-spill-", dir=folder)  # noqa: SIM115
        self.size = 0  # bytes written

    @classmethod
    def inherited(cls, descriptor: int, size: int) -> _Stream:
        """The stream another process made, through the descriptor it started this one
        with (see :meth:`Spill.reading_copy`)."""
        made = cls.__new__(cls)
        made.file = os.fdopen(descriptor, "rb", buffering=0)
        made.size = size
        return made

    def append(self, data: bytes | bytearray) -> None:
        self.file.seek(self.size)
        self.file.write(data)
        self.file.flush()  # read back with pread, under the buffer
        self.size += len(data)

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``start:end`` (all of them already written)."""
        return os.pread(self.file.fileno(), end - start, start)

    def chunks(self, size: int, start: int = 0) -> Iterator[bytes]:
        """The stream from byte ``start`` on, ``size`` bytes at a time at most."""
        for offset in range(start, self.size, size):
            yield self.read(offset, min(offset + size, self.size))


def little_endian(data: bytes | bytearray, typecode: str) -> bytes:
    """Numbers of ``typecode`` as bytes, native order to little-endian or back (the same
    swap both ways; none on a little-endian machine)."""
    if sys.byteorder == "little":
        return bytes(data)
    numbers = array(typecode, data)
    numbers.byteswap()
    return numbers.tobytes()


def _close(*streams: _Stream) -> None:
    for stream in streams:
        stream.file.close()


class Spill:
    """One run's spilled occurrence numbers (chains of batches, one chain per link) and
    variant text (a byte stream read back by offset)."""

    def __init__(self, folder: str | None = None) -> None:
        self._rows = _Stream(folder)
        self._text = _Stream(folder)
        self._removed = weakref.finalize(self, _close, self._rows, self._text)
        # Batch n (from 1; 0 is "none"): where its bytes are in the rows file, how many,
        # and the batch its link wrote before it.
        self._starts = array("Q", [0])
        self._sizes = array("I", [0])
        self._before = array("I", [0])

    def close(self) -> None:
        """Drop the files now (otherwise when the tables are dropped, or at exit)."""
        self._removed()

    @property
    def rows_written(self) -> int:
        """Batches of occurrence numbers written (for tests and measurements)."""
        return len(self._starts) - 1

    @property
    def next_batch(self) -> int:
        """The number the next batch written gets (the ones after it follow in order)."""
        return len(self._starts)

    def write_rows(self, batches: Sequence[tuple[int, bytes]]) -> None:
        """Append batches of packed numbers, each given with the number of the batch its link
        wrote last (0: none), in one write. They are numbered on from :attr:`next_batch`:
        a link gives its last batch's number to :meth:`read_rows`, or with its next batch."""
        start = self._rows.size
        for before, data in batches:
            self._starts.append(start)
            self._sizes.append(len(data))
            self._before.append(before)
            start += len(data)
        self._rows.append(b"".join(data for _, data in batches))

    def read_rows(self, last: int) -> bytes:
        """The bytes of the chain of batches ending with batch ``last``, in the order they
        were written (batches that follow one another in the file are read as one)."""
        starts, sizes, before = self._starts, self._sizes, self._before
        spans: list[list[int]] = []
        while last:
            start, size = starts[last], sizes[last]
            if spans and start + size == spans[-1][0]:
                spans[-1][0] = start
                spans[-1][1] += size
            else:
                spans.append([start, size])
            last = before[last]
        read = self._rows.read
        return b"".join(read(start, start + size) for start, size in reversed(spans))

    # -- read by another process (see linkcheck.report.json_part) ------------------------

    def reading_copy(self, file: IO[bytes]) -> tuple[int, int]:
        """Write to ``file`` what another process needs to read this spill (the streams'
        sizes, then the batches' arrays, 16 bytes a batch), and return the two descriptors
        it must be started with (``pass_fds``): it reads these same files, not a copy."""
        sizes = {"rows": self._rows.size, "text": self._text.size, "batches": len(self._starts)}
        pickle.dump(sizes, file, protocol=pickle.HIGHEST_PROTOCOL)
        for numbers in (self._starts, self._sizes, self._before):
            numbers.tofile(file)
        return self._rows.file.fileno(), self._text.file.fileno()

    @classmethod
    def read_copy(cls, file: IO[bytes], descriptors: tuple[int, int]) -> Spill:
        """The spill :meth:`reading_copy` wrote, in the process started with its
        descriptors: for reading only (it closes only its own descriptors)."""
        sizes = pickle.load(file)
        made = cls.__new__(cls)
        made._rows = _Stream.inherited(descriptors[0], sizes["rows"])
        made._text = _Stream.inherited(descriptors[1], sizes["text"])
        made._removed = weakref.finalize(made, _close, made._rows, made._text)
        arrays = [array(code) for code in "QII"]
        for numbers in arrays:
            numbers.fromfile(file, sizes["batches"])
        made._starts, made._sizes, made._before = arrays
        return made

    # -- a resume point's copy (see linkcheck.checkpoint.new_parts) -----------------------

    # The rows' streams, each only growing: the rows file's bytes, and each batch's start,
    # size and the batch before it (batch 0, "none", included), little-endian.
    ROW_STREAMS = ("rows", "batch_starts", "batch_sizes", "batch_before")

    def row_sizes(self) -> dict[str, int]:
        """Bytes in each of :data:`ROW_STREAMS` now."""
        return {
            "rows": self._rows.size,
            "batch_starts": 8 * len(self._starts),
            "batch_sizes": 4 * len(self._sizes),
            "batch_before": 4 * len(self._before),
        }

    def row_parts(self, stored: dict[str, int], size: int) -> Iterator[tuple[str, int, bytes]]:
        """What each of :data:`ROW_STREAMS` holds past the bytes ``stored`` of it, as
        ``(stream, start, bytes)``, ``size`` bytes at a time at most."""
        start = stored.get("rows", 0)
        for chunk in self._rows.chunks(size, start):
            yield "rows", start, little_endian(chunk, "I")
            start += len(chunk)
        for name, numbers in (
            ("batch_starts", self._starts),
            ("batch_sizes", self._sizes),
            ("batch_before", self._before),
        ):
            first = stored.get(name, 0) // numbers.itemsize
            if first < len(numbers):
                yield (
                    name,
                    first * numbers.itemsize,
                    little_endian(numbers[first:].tobytes(), numbers.typecode),
                )

    def take_rows(self, streams: dict[str, bytes]) -> None:
        """Take a resume point's :data:`ROW_STREAMS` (read back whole) as this spill's rows
        and batches: its batch numbers are this spill's. Only into a spill with none yet."""
        assert self.rows_written == 0 and self._rows.size == 0
        arrays = [array(code) for code in "QII"]
        for numbers, name in zip(arrays, self.ROW_STREAMS[1:], strict=True):
            numbers.frombytes(little_endian(streams[name], numbers.typecode))
        if not (len(arrays[0]) == len(arrays[1]) == len(arrays[2]) >= 1):
            raise ValueError("the batches' streams differ in length")
        self._starts, self._sizes, self._before = arrays
        self._rows.append(little_endian(streams["rows"], "I"))

    @property
    def text_size(self) -> int:
        """Bytes of text spilled: offsets below this are read from the file."""
        return self._text.size

    def write_text(self, data: bytes | bytearray) -> None:
        """Append bytes to the text stream."""
        self._text.append(data)

    def read_spans(
        self, spans: Sequence[tuple[int, int]], base: int, kept: bytearray
    ) -> list[bytes | bytearray]:
        """The text's bytes ``start:end`` for each span, in order: a ``pread`` each below
        ``base``, a slice of ``kept`` (the bytes from ``base`` on, in memory) above."""
        fd, pread = self._text.file.fileno(), os.pread
        return [
            pread(fd, end - start, start) if start < base else kept[start - base : end - base]
            for start, end in spans
        ]

    def text(self, size: int, start: int = 0) -> Iterator[bytes]:
        """The text stream from byte ``start`` on, ``size`` bytes at a time at most (what a
        resume point has not stored yet)."""
        return self._text.chunks(size, start)
