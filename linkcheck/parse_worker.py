"""A parse worker: digests pages read from standard input, answers on standard output.

Started by :class:`linkcheck.parse_pool.ParsePool` as ``python -m linkcheck.parse_worker``.
It imports only what parsing needs (not the event loop, not the HTTP client): a worker is
a whole Python process, and its memory counts as much as the crawler's.

Frames on both pipes are a header (:data:`MARK`, then the pickle's length in 4 big-endian
bytes) and a pickle: the first request frame
is the :class:`~linkcheck.digest.DigestSettings`, then one ``(page URL, body, content type,
judge, probe_title)`` per page. The first answer is :data:`READY`; then each answer is a
:class:`~linkcheck.digest.PageDigest`, or a string saying why the page failed (the worker
then ends: its ids can no longer be trusted).
"""

from __future__ import annotations

import pickle
import signal
import sys
from typing import Any, BinaryIO

from linkcheck.allocator import collect_rarely, return_large_blocks
from linkcheck.digest import Digester, PageDigest

# Each frame starts with this mark: a stream that lost or gained bytes (anything else writing
# to the pipe, a write cut short) is noticed at the next frame, not read as a length of up to
# 4 GB that would be waited for.
MARK = b"LCpw"
HEADER = len(MARK) + 4  # bytes of a frame's header: the mark, the pickle's length
READY = True  # the first answer: the worker has started and read its settings


class FrameError(ValueError):
    """A frame's header is not one: the stream can no longer be trusted."""


def frame(value: Any) -> bytes:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return MARK + len(payload).to_bytes(4, "big") + payload


def frame_size(header: bytes) -> int:
    """The length of the pickle that follows a frame's header."""
    if not header.startswith(MARK):
        raise FrameError(f"not a frame header: {header!r}")
    return int.from_bytes(header[len(MARK) :], "big")


def read_frame(stream: BinaryIO) -> Any:
    header = stream.read(HEADER)
    if len(header) < HEADER:
        raise EOFError
    size = frame_size(header)
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError
    return pickle.loads(payload)


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """Digest pages until the input ends. A page it fails on ends it too."""
    # Ctrl-C in a terminal reaches the whole process group: the crawler decides when the
    # run ends, and closes this worker's input then.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return_large_blocks()
    collect_rarely()  # its digester's memos grow all crawl long, with no cycles
    try:
        digester = Digester(read_frame(requests))
        answers.write(frame(READY))  # imports done: the crawler may send pages now
        answers.flush()
        while True:
            page_url, body, content_type, judge, probe_title = read_frame(requests)
            try:
                answer: object = digester.digest(
                    page_url, body, content_type, judge=judge, probe_title=probe_title
                )
            except Exception as exc:  # the page is parsed again in process, which reports it
                answer = f"{type(exc).__name__} on {page_url}"
            answers.write(frame(answer))
            answers.flush()
            if not isinstance(answer, PageDigest):
                return
    except (EOFError, BrokenPipeError, KeyboardInterrupt, FrameError):
        return


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
