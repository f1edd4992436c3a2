"""Ask the C allocator to give large freed blocks back to the system.

glibc's malloc serves blocks above a threshold with their own memory mappings, returned to
the system when freed; but after the first such block is freed it raises that threshold to
the block's size (up to 32 MB), and later large blocks (a resume point being written, a
report's buffers) come from the heap, which rarely shrinks. On a 50,000-page crawl that held
~60 MB of freed memory until the end of the run. A fixed threshold keeps large blocks in
their own mappings; below it nothing changes (measured: no effect on speed).
"""

from __future__ import annotations

import ctypes
import sys

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number (malloc.h)
LARGE_BLOCK = 1 << 18  # bytes: blocks this big or bigger get their own mapping


def return_large_blocks(threshold: int = LARGE_BLOCK) -> bool:
    """Fix glibc's mmap threshold; False where there is no such setting (not glibc)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, threshold))
