"""Read sitemaps (sitemap.xml, sitemap indexes, gzip) as extra crawl seeds.

Each entry becomes an occurrence whose "page" is the sitemap and whose line is where the
``<loc>`` stands, so a broken or redirected sitemap entry is reported like any link, and a
page listed in a sitemap that no crawled page links to can be named as an orphan. XML is
parsed with defusedxml (no entity expansion bombs, no external entities), and every
sitemap, gzip member and entry count is bounded.
"""

from __future__ import annotations

import logging
import zlib
from bisect import bisect_right
from dataclasses import dataclass
from typing import TYPE_CHECKING

from linkcheck.robots import robots_url

if TYPE_CHECKING:
    from collections.abc import Iterator
    from xml.etree.ElementTree import Element

    from linkcheck.checker import Checker
    from linkcheck.config import Config
    from linkcheck.robots import RobotsRules
    from linkcheck.urls import CachedResolver, ResolvedLink

log = logging.getLogger(__name__)

MAX_SITEMAPS = 50  # sitemap files read per run, indexes included
MAX_ENTRIES = 50_000  # per sitemap, as the protocol allows
MAX_INFLATED = 50 * 1024 * 1024  # a .xml.gz may not inflate past this (the protocol's limit)
# The depth a sitemap entry is met at: one above the start pages, so an entry is crawled as a
# start page's own link would be (at depth 0).
SEED_DEPTH = -1


@dataclass(frozen=True, slots=True)
class SitemapEntry:
    loc: str
    sitemap: str  # the sitemap file's URL
    line: int

    # how an entry is written, as an occurrence on its sitemap: href, text, tag, attribute
    @property
    def written(self) -> tuple[str, str, str, str]:
        return self.loc, "", "sitemap", "loc"


@dataclass(slots=True)
class SitemapRead:
    entries: list[SitemapEntry]
    problems: list[str]  # one line per sitemap that could not be read


async def read_run_sitemaps(
    config: Config, checker: Checker, robots: RobotsRules | None
) -> SitemapRead:
    """The run's sitemaps: [checks] sitemap_urls, and with ``sitemaps`` each start URL's
    ``/sitemap.xml`` and the ``Sitemap:`` lines of its robots.txt."""
    checks = config.checks
    urls = list(checks.sitemap_urls)
    if checks.sitemaps:
        for start in config.start_urls:
            urls.append(robots_url(start).removesuffix("robots.txt") + "sitemap.xml")
            if robots is not None:
                urls.extend(await robots.sitemaps(start))
    return await read_sitemaps(
        checker, list(dict.fromkeys(urls)), explicit=set(checks.sitemap_urls)
    )


def seeds(
    read: SitemapRead, resolver: CachedResolver
) -> Iterator[tuple[SitemapEntry, ResolvedLink]]:
    """Each entry with its URL resolved against its sitemap: a link met at SEED_DEPTH, to
    follow (a sitemap has no rel=nofollow)."""
    for entry in read.entries:
        yield entry, resolver.resolve(entry.sitemap, entry.loc)


async def read_sitemaps(checker: Checker, urls: list[str], *, explicit: set[str]) -> SitemapRead:
    """Fetch ``urls`` (and the sitemaps their indexes name), breadth first, within bounds.

    A sitemap in ``explicit`` (named in the config) that fails is a problem to report; an
    auto-discovered ``/sitemap.xml`` that is missing is simply not there.
    """
    read = SitemapRead([], [])
    queue, seen = list(urls), set(urls)
    while queue and len(seen) <= MAX_SITEMAPS:
        url = queue.pop(0)
        checked = await checker.check(url, as_page=True)
        response = checked.response
        if not checked.result.verdict.works or response is None:
            if url in explicit:
                read.problems.append(
                    f"sitemap {url} could not be read: "
                    f"{checked.result.message or checked.result.verdict.value}"
                )
            continue
        body = response.body
        if body[:2] == b"\x1f\x8b":  # gzip, whatever the name or Content-Type says
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            body = inflater.decompress(body, MAX_INFLATED)
        try:
            root = _parse_xml(body)
        except ValueError as exc:
            read.problems.append(f"sitemap {url} is not valid sitemap XML: {exc}")
            continue
        text = body.decode("utf-8", errors="replace")
        lines = _Lines(text)
        locations = [
            (element.text or "").strip()
            for element in root.iter()
            if isinstance(element.tag, str) and element.tag.rsplit("}", 1)[-1] == "loc"
        ][:MAX_ENTRIES]
        if root.tag.rsplit("}", 1)[-1] == "sitemapindex":
            for loc in locations:
                if loc and loc not in seen:
                    seen.add(loc)
                    queue.append(loc)
            continue
        for loc in locations:
            if loc:
                read.entries.append(SitemapEntry(loc, url, lines.line_of(loc)))
    if queue:
        read.problems.append(f"more than {MAX_SITEMAPS} sitemaps: the rest were not read")
    return read


class _Lines:
    """Line numbers of ``<loc>`` values, found in order in the raw XML."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._newlines = [index for index, char in enumerate(text) if char == "\n"]
        self._cursor = 0

    def line_of(self, value: str) -> int:
        position = self._text.find(value, self._cursor)
        if position >= 0:
            self._cursor = position + len(value)
        return bisect_right(self._newlines, max(position, self._cursor) - 1) + 1


def _parse_xml(body: bytes) -> Element:
    """The document's root, safely (no entity expansion, no external entities); ValueError
    if it is not XML. defusedxml is imported only by a run that reads a sitemap."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        return ElementTree.fromstring(body)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise ValueError(str(exc)) from exc
