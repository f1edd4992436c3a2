"""The page-parsing seam: a digest's link and variant ids stand for the links it discovered."""

from __future__ import annotations

import asyncio

from linkcheck.http import Response
from linkcheck.models import Link, current_tables, run_tables
from linkcheck.parsing import PageParser
from linkcheck.urls import ResolvedLink
from tests.conftest import make_config

SITE = "http://site.test/"
HTML = b"""<title>Home</title>
<a href="a">A</a> <a href="b#part">B</a>
<a href="a">A again</a>"""


def test_each_new_link_is_discovered_once_and_its_rows_read_through_the_tables() -> None:
    discovered: list[tuple[str | None, str, int, bool]] = []

    def discover(resolved: ResolvedLink, href: str, depth: int, follow: bool) -> Link:
        discovered.append((resolved.url, href, depth, follow))
        return Link(resolved.url or href, internal=True)

    config = make_config(SITE, crawl={"parse_workers": 0})  # in process: no worker to start
    response = Response(SITE, 200, {"content-type": "text/html"}, HTML)

    async def main() -> None:
        parser = PageParser(config, discover)
        source, digest = await parser.digest(SITE, response, (False, None), 2, parsed=0)
        assert source == 0 and parser.by_workers == 0
        assert digest.title == "Home"
        links, variants = parser.tables(source)
        rows = iter(digest.rows)
        seen = [
            (links[link_id].url, line, current_tables().variants.hrefs([variants[variant_id]])[0])
            for link_id, line, variant_id in zip(rows, rows, rows, strict=True)
        ]
        assert seen == [(SITE + "a", 2, "a"), (SITE + "b", 2, "b#part"), (SITE + "a", 3, "a")]
        await parser.close()
        assert parser.closed

    with run_tables():
        asyncio.run(main())
    assert discovered == [(SITE + "a", "a", 2, True), (SITE + "b", "b#part", 2, True)]
