"""How resume points are compressed: Zstandard at level 1; read back whichever wrote them.

A save holds the event loop, and the parse workers run dry within a fraction of a second of
it (bench/README.md, "Session 19"): at 50,000 pages the first save compressed ~163 MiB of
the tables' new parts, and zlib at level 1 (~100 MiB/s) was half of the save's 3.2 s.
Zstandard at level 1 compresses that kind of data 3x as fast (13x the occurrence rows), and
smaller. Resume points that zlib wrote (before this module) still load: a stream says what
it is by its first bytes (a Zstandard frame's magic number, 28 B5 2F FD; no zlib stream
starts 28 B5, which fails the check bits of a zlib header, RFC 1950 §2.2). zstandard is
imported at the first save or load: most runs never make one.
"""

from __future__ import annotations

import zlib
from typing import Protocol

LEVEL = 1
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # RFC 8878 §3.1.1: every Zstandard frame starts with it


class Compressor(Protocol):
    def compress(self, data: bytes, /) -> bytes: ...
    def flush(self) -> bytes: ...


def compress(data: bytes | bytearray | memoryview) -> bytes:
    """``data`` as one Zstandard frame."""
    import zstandard

    return zstandard.ZstdCompressor(level=LEVEL).compress(data)


def compressor() -> Compressor:
    """A stream's compressor: pieces in, one Zstandard frame out (``compress`` each piece,
    then ``flush``)."""
    import zstandard

    return zstandard.ZstdCompressor(level=LEVEL).compressobj()


def decompress(data: bytes) -> bytes:
    """What :func:`compress` or a :func:`compressor` wrote, or zlib did (an older resume
    point); ValueError when ``data`` is neither, or is cut short."""
    if data[:4] != _ZSTD_MAGIC:
        try:
            return zlib.decompress(data)
        except zlib.error as exc:
            raise ValueError(f"not a compressed stream: {exc}") from None
    import zstandard

    stream = zstandard.ZstdDecompressor().decompressobj()
    try:
        out = stream.decompress(data)
    except zstandard.ZstdError as exc:
        raise ValueError(f"not a compressed stream: {exc}") from None
    if not stream.eof:
        raise ValueError("not a compressed stream: the frame is cut short")
    return out
