"""Occurrence tables belong to a run: a second run in the same process starts empty, and a
report written after a run still reads that run's occurrences."""

from __future__ import annotations

import asyncio

import pytest

from linkcheck.models import (
    Link,
    Occurrence,
    Occurrences,
    OccurrenceTables,
    current_tables,
    run_tables,
)
from linkcheck.report.json_report import to_document
from linkcheck.runner import run_check, run_check_async
from tests.conftest import make_config
from tests.server import Route, TestServer, page


def _site(name: str) -> dict[str, Route]:
    """A few pages whose hrefs and link texts name the site, so each run's are its own."""
    pages = [f"/{name}-{number}.html" for number in range(4)]
    nav = "".join(f'<a href="{path}">{name} page {n}</a>' for n, path in enumerate(pages))
    routes: dict[str, Route] = {"/": page(nav)}
    for path in pages:
        routes[path] = page(nav + f'<a href="/{name}-only.html#{name}">{name} only</a>')
    routes[f"/{name}-only.html"] = page(f'<p id="{name}">{name}</p>')
    return routes


def _tables(links: dict[str, Link]) -> OccurrenceTables:
    tables = {link.occurrences.tables for link in links.values()}
    assert len(tables) == 1  # every link of a run numbers its occurrences in the same tables
    return tables.pop()


@pytest.mark.parametrize("parse_workers", [0, 1])  # 1: pages parsed in a worker process too
def test_two_runs_in_one_process_have_tables_of_their_own(parse_workers: int) -> None:
    outside = current_tables()
    crawl = {"parse_workers": parse_workers}
    with TestServer(_site("first")) as first_site:
        first = run_check(make_config(first_site.url("/"), crawl=crawl))
    with TestServer(_site("second")) as second_site:
        second = run_check(make_config(second_site.url("/"), crawl=crawl))

    first_tables, second_tables = _tables(first.links), _tables(second.links)
    assert first_tables is not second_tables
    assert outside is current_tables()  # a run leaves the caller's tables as they were
    assert first_tables is not outside and second_tables is not outside
    # the second run's tables hold none of the first run's pages or ways of writing a link
    assert second_tables.pages.urls and not any(
        "first" in url or url.startswith(first_site.url("/")) for url in second_tables.pages.urls
    )
    second_hrefs = set(second_tables.variants.hrefs(range(len(second_tables.variants.ends()))))
    assert second_hrefs and not any("first" in href for href in second_hrefs)

    # a report written after both runs reads each run's own occurrences
    for run, name, site in ((first, "first", first_site), (second, "second", second_site)):
        document = to_document(run)
        only = next(
            link for link in document["links"] if link["url"].endswith(f"/{name}-only.html")
        )
        assert sorted(o["page"] for o in only["occurrences"]) == sorted(
            site.url(f"/{name}-{number}.html") for number in range(4)
        )
        assert {(o["href"], o["text"], o["fragment"]) for o in only["occurrences"]} == {
            (f"/{name}-only.html#{name}", f"{name} only", name)
        }


def test_the_run_tables_reach_the_tasks_a_run_starts() -> None:
    """A task copies its creator's context (PEP 567): links made in a run's tasks number
    their occurrences in the run's tables, and the caller's tables are back after it."""

    async def main() -> tuple[OccurrenceTables, list[OccurrenceTables]]:
        with run_tables() as tables:
            made = await asyncio.gather(*(asyncio.create_task(_in_task()) for _ in range(3)))
        return tables, made

    async def _in_task() -> OccurrenceTables:
        await asyncio.sleep(0)
        return Occurrences().tables

    before = current_tables()
    tables, made = asyncio.run(main())
    assert all(seen is tables for seen in made)
    assert current_tables() is before


def test_occurrences_from_another_run_are_renumbered_when_joined() -> None:
    one, other = OccurrenceTables(), OccurrenceTables()
    item = Occurrence("https://ex.com/", "/a", "A", "a", "href", 3, "top")
    mine = Occurrences([item], one)
    theirs = Occurrences([item._replace(line=4)], other)
    mine.extend(theirs)  # other tables: taken occurrence by occurrence, not as numbers
    assert list(mine) == [item, item._replace(line=4)]
    assert theirs.bound_to(one).tables is one and list(theirs.bound_to(one)) == list(theirs)
    assert mine.bound_to(one) is mine


def test_a_run_started_twice_in_one_event_loop_starts_empty_twice() -> None:
    """A long-lived process (a worker, a library user's loop) runs one run after another."""

    async def twice(url: str) -> list[OccurrenceTables]:
        runs = [await run_check_async(make_config(url)) for _ in range(2)]
        return [_tables(run.links) for run in runs]

    with TestServer(_site("again")) as site:
        first, second = asyncio.run(twice(site.url("/")))
    assert first is not second
    assert len(first.pages.urls) == len(second.pages.urls)  # not the first run's and its own
