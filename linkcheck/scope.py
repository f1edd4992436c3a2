"""Decide, for each URL, whether it is crawled (fetched and parsed), only checked, or excluded.

By default a page is in scope when it is on a start URL's origin under that URL's directory
(``http://h/guide/`` for a start URL ``http://h/guide/index.html``). ``allowed_hosts`` and
``allowed_prefixes`` widen that, ``include`` regexes add any URL they match, and ``exclude``
regexes take a URL out of the run altogether (neither crawled nor checked). An allowed host is
an origin (RFC 6454: scheme, host and port), so ``docs.test`` does not let in ``docs.test:8080``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from linkcheck.config import Config
from linkcheck.urls import InvalidURL, OriginPattern, crawl_key, directory_prefix, origin_key


@dataclass(frozen=True, slots=True)
class Scope:
    prefixes: tuple[str, ...]
    origins: tuple[OriginPattern, ...]  # allowed_hosts: every page of these origins
    include: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...]
    check_external: bool

    @classmethod
    def from_config(cls, config: Config) -> Scope:
        prefixes = [directory_prefix(url) for url in config.start_urls]
        prefixes += [directory_prefix(url) for url in config.crawl.allowed_prefixes]
        return cls(
            prefixes=tuple(dict.fromkeys(prefixes)),
            origins=allowed_origins(config),
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
        # A segment there 3 times leaves at most n - 2 distinct ones: most paths, all
        # distinct, are told apart by one set (once per URL a crawl finds)
        if len(set(segments)) > len(segments) - 2:
            return False
        return max(segments.count(s) for s in set(segments)) >= 3

    @staticmethod
    def query_path(url: str) -> str | None:
        """What a URL's query string counts against, for max_queries_per_path: its address
        without the query (``/calendar`` for ``/calendar?month=7``); None when it has no
        query. Give it the crawl key (urls.crawl_key), so a session id is no new query."""
        path, mark, query = url.partition("?")
        return path if mark and query else None

    def is_internal(self, url: str) -> bool:
        """In scope: its page is fetched with GET and parsed for more links."""
        if url.startswith(self.prefixes):
            return True
        if self.origins:
            key = origin_key(url)
            if any(pattern.matches(*key) for pattern in self.origins):
                return True
        return any(pattern.search(url) for pattern in self.include)

    def known_as(self, url: str) -> tuple[str, bool]:
        """The URL a link is known by, and whether it is in the scope: in the scope, its
        crawl key (urls.crawl_key: no session ids or tracking parameters are part of a
        page's address; the occurrence keeps the href as written)."""
        internal = self.is_internal(url)
        if internal:
            key = crawl_key(url)
            if key != url:
                return key, self.is_internal(key)
        return url, internal


def allowed_origins(config: Config) -> tuple[OriginPattern, ...]:
    """``[crawl] allowed_hosts`` read as origins (config.validate has checked each one)."""
    patterns = []
    for text in config.crawl.allowed_hosts:
        try:
            patterns.append(OriginPattern.parse(text))
        except InvalidURL:  # a Config built in code, not validated: an entry that names nothing
            continue
    return tuple(patterns)


def site_origins(config: Config) -> tuple[OriginPattern, ...]:
    """The origins being crawled: start URLs', allowed prefixes' and allowed_hosts. A link to
    another port (or scheme) of the site's host leaves the site (RFC 6454 §5)."""
    exact = [
        OriginPattern(host, scheme, port)
        for scheme, host, port in dict.fromkeys(
            origin_key(url) for url in (*config.start_urls, *config.crawl.allowed_prefixes)
        )
    ]
    return (*exact, *allowed_origins(config))
