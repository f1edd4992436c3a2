"""The resume points' compression: what it writes reads back, whether Zstandard wrote it (as
now) or zlib did (a resume point left by an older linkcheck); anything else is refused with a
ValueError, which the loader turns into "start afresh"."""

from __future__ import annotations

import os
import zlib

import pytest

from linkcheck.store.compression import compress, compressor, decompress

DATA = [
    b"",
    b"x",
    b'{"version":5}\n' * 1000,
    os.urandom(70_000),  # incompressible
    "/docs/a01/t02/s03/ページ-1.html\0Page\0a\0href\0h-3".encode() * 5000,
]


@pytest.mark.parametrize("data", DATA, ids=["empty", "one byte", "lines", "random", "variants"])
def test_what_is_compressed_reads_back(data: bytes) -> None:
    assert decompress(compress(data)) == data
    pieces = [data[i : i + 4096] for i in range(0, len(data), 4096)]
    stream = compressor()  # the streaming form the state's lines use
    assert decompress(b"".join([*(stream.compress(p) for p in pieces), stream.flush()])) == data


@pytest.mark.parametrize("level", [1, 6, 9])
@pytest.mark.parametrize("data", DATA, ids=["empty", "one byte", "lines", "random", "variants"])
def test_what_zlib_wrote_still_reads_back(data: bytes, level: int) -> None:
    """Resume points and their parts were zlib streams before (level 1)."""
    assert decompress(zlib.compress(data, level)) == data


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"plain text, never compressed",
        b"\x28\xb5\x2f\xfd",  # a Zstandard magic number and nothing after it
        b"\x28\xb5\x2f\xfd" + os.urandom(64),
        compress(b"y" * 100_000)[:-4],  # a frame cut short
        zlib.compress(b"y" * 100_000)[:-4],  # a zlib stream cut short
    ],
    ids=["empty", "text", "magic only", "magic then noise", "zstd cut short", "zlib cut short"],
)
def test_anything_else_is_refused_with_a_value_error(data: bytes) -> None:
    with pytest.raises(ValueError, match="not a compressed stream"):
        decompress(data)


def test_a_zstandard_frame_is_told_apart_by_its_magic_number() -> None:
    """RFC 8878 §3.1.1: a frame starts 28 B5 2F FD; a zlib stream cannot start 28 B5 (its
    first two bytes, read as a number, are a multiple of 31: RFC 1950 §2.2)."""
    assert compress(b"abc")[:4] == b"\x28\xb5\x2f\xfd"
    assert (0x28 * 256 + 0xB5) % 31 != 0
    assert zlib.compress(b"abc", 1)[:1] == b"\x78"
