"""Tune memory in a process of our own: the C allocator (large freed blocks go back to the
system, a parse's memory stays) and Python's collector (full collections made rare).

glibc's malloc serves blocks above a threshold with their own memory mappings, returned to
the system when freed; but after the first such block is freed it raises that threshold to
the block's size (up to 32 MB), and later large blocks (a resume point being written, a
report's buffers) come from the heap, which rarely shrinks: a large crawl held that freed
memory until the end of the run. A fixed threshold keeps large blocks in their own
mappings; below it nothing changes. The threshold is 272 KiB, just above asyncio's 256 KiB
receive buffer (``sock.recv(256 KiB)``, then shrunk to what arrived): at 256 KiB each
response read cost an mmap, an mremap and an munmap; higher, blocks just above it came
from the heap again and a large crawl's peak memory grew.

Fixing that threshold also fixes the one at which free memory at the heap's top is given
back, at glibc's 128 KB. Lexbor allocates and frees far more than that for each page it
parses, so at 128 KB every page gave that memory back and took it again from the kernel,
fresh pages to fault in and zero: a large share of a parse worker's time. Keeping a few
MB free at the heap's top (``KEPT_FREE``) saves that for little more peak memory.
"""

from __future__ import annotations

import ctypes
import gc
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
LARGE_BLOCK = (256 + 16) << 10  # bytes: blocks this big or bigger get their own mapping
KEPT_FREE = 4 << 20  # bytes of free memory at the heap's top kept for the next page's parse
FULL_COLLECTION_THRESHOLD = 100  # gen-1 collections between full ones (CPython: 10)


def return_large_blocks(threshold: int = LARGE_BLOCK, kept_free: int = KEPT_FREE) -> bool:
    """Fix glibc's mmap and trim thresholds; False where there are none (not glibc)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, threshold)) and bool(mallopt(M_TRIM_THRESHOLD, kept_free))


def collect_rarely() -> None:
    """Make the cyclic collector's full collections rare, in a process that keeps millions
    of long-lived objects with next to no cycles: the crawler's (every link, occurrence and
    result) and a parse worker's (its digester's memos of links, variants and resolved
    URLs, which grow all crawl long).

    What the imports made lives as long as the process: collections need not walk it again
    (``gc.freeze``). At the default third threshold (10), a 50,000-page run made 16 full
    collections in the crawler's process, 2.2 s with the event loop held and the parse
    workers idle, each freeing at most a few hundred objects; at 100, two (bench/README.md,
    "Session 19"). Each parse worker spent 2.1 s of 30 s in collections on that run, 1.3 s
    at 100 ("Session 21").
    """
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_THRESHOLD)
