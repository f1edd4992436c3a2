"""Decide, for each URL, whether it is crawled (fetched and parsed), only checked, or excluded.

By default a page is in scope when it is on a start URL's host under that URL's directory
(``http://h/guide/`` for a start URL ``http://h/guide/index.html``). ``allowed_hosts`` and
``allowed_prefixes`` widen that, ``include`` regexes add any URL they match, and ``exclude``
regexes take a URL out of the run altogether (neither crawled nor checked).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from linkcheck.config import Config
from linkcheck.urls import directory_prefix, host_of


@dataclass(frozen=True, slots=True)
class Scope:
    prefixes: tuple[str, ...]
    hosts: frozenset[str]
    include: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...]
    check_external: bool

    @classmethod
    def from_config(cls, config: Config) -> Scope:
        prefixes = [directory_prefix(url) for url in config.start_urls]
        prefixes += [directory_prefix(url) for url in config.crawl.allowed_prefixes]
        return cls(
            prefixes=tuple(dict.fromkeys(prefixes)),
            hosts=frozenset(host.lower() for host in config.crawl.allowed_hosts),
            include=tuple(re.compile(p) for p in config.crawl.include),
            exclude=tuple(re.compile(p) for p in config.crawl.exclude),
            check_external=config.crawl.check_external,
        )

    def excluded_by(self, url: str) -> str | None:
        """The exclude pattern that matches ``url``, if any."""
        for pattern in self.exclude:
            if pattern.search(url):
                return pattern.pattern
        return None

    @staticmethod
    def looks_like_trap(url: str) -> bool:
        """A path that repeats a segment 3 times (``/a/b/a/b/a/b/``) is a generated loop:
        typically a relative link that grows the path on every page."""
        path = url.split("://", 1)[-1].split("?", 1)[0]
        segments = [segment for segment in path.split("/")[1:] if segment]
        return len(segments) >= 3 and max(segments.count(s) for s in set(segments)) >= 3

    def is_internal(self, url: str) -> bool:
        """In scope: its page is fetched with GET and parsed for more links."""
        if any(url.startswith(prefix) for prefix in self.prefixes):
            return True
        if self.hosts and host_of(url) in self.hosts:
            return True
        return any(pattern.search(url) for pattern in self.include)
