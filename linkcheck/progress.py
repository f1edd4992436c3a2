"""A live one-line progress display on a terminal; silent when stderr is not a TTY."""

from __future__ import annotations

import sys
from typing import TextIO

from linkcheck.crawl_state import CrawlStats


class ProgressLine:
    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self._stream = stream
        self._enabled = stream.isatty()
        self._width = 0

    @property
    def enabled(self) -> bool:
        return self._enabled

    def __call__(self, stats: CrawlStats) -> None:
        if not self._enabled:
            return
        text = (
            f"pages crawled {stats.pages_crawled} · links checked "
            f"{stats.links_checked}/{stats.links_found} · problems {stats.problems}"
        )
        self._stream.write("\r" + text.ljust(self._width))
        self._width = len(text)
        self._stream.flush()

    def clear(self) -> None:
        if self._enabled and self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
            self._width = 0
