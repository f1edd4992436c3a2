"""The JSON report: the machine-readable contract documented field by field in docs/reports.md.

Bump SCHEMA_VERSION on any change that could break a consumer (renamed or removed keys,
changed meaning); adding keys does not need a bump.
"""

from __future__ import annotations

import pickle
import tempfile
from array import array
from bisect import bisect_left
from collections.abc import Generator, Iterator
from functools import partial
from itertools import accumulate
from typing import IO, Any

import orjson

from linkcheck._version import __version__
from linkcheck.models import (
    Link,
    LinkMemory,
    Occurrences,
    OccurrenceTables,
    RunResult,
    Variant,
    Verdict,
)
from linkcheck.report import forking, json_part

SCHEMA_VERSION = 1
_SPOOL_CHUNK = 1 << 20  # bytes read at a time from the copy's spool file
_COPY_SHARE = 0.4  # of the occurrences, written by the forked copy (see _split_point)
_NO_FRAGMENT = b',"fragment":null}'
# Stands for a link's occurrences in its line: orjson escapes every control character in
# what it writes, so a NUL byte there is this one.
_OCCURRENCES = b"\0"
_SLICE = 4096  # occurrences joined at a time
_PARTS_AT_A_TIME = 1024  # links a time in a request to json_part's process (its memory)
_FEW = 16  # occurrences few enough to join without building columns
VERDICT_ORDER = {verdict: index for index, verdict in enumerate(Verdict)}


class _Pause(bytes):
    """A chunk of no bytes that says where the report waits for its other process."""


# Yielded by render_json just before it waits for the process writing its second part: a
# writer with other reports to write writes them then (report.write_reports), on this core
# while the other process is busy on the other. Written as it is, it adds nothing.
PAUSE = _Pause()


def sorted_links(run: RunResult) -> list[Link]:
    """Problems first (in Verdict order), then by URL: stable output for diffs and CI."""
    return sorted(
        run.links.values(),
        key=lambda link: (VERDICT_ORDER[link.result.verdict] if link.result else 99, link.url),
    )


def to_document(run: RunResult) -> dict[str, Any]:
    """The whole report as one object (for library users): exactly what the file holds."""
    document: dict[str, Any] = orjson.loads(b"".join(render_json(run)))
    return document


def _head(run: RunResult) -> dict[str, Any]:
    counts = run.counts()
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "linkcheck", "version": __version__},
        "run": {
            "start_urls": run.start_urls,
            "started_at": run.started_at.isoformat(),
            "finished_at": run.finished_at.isoformat(),
            "duration_seconds": round(run.duration, 3),
            "complete": run.complete,
            "interrupted": run.interrupted,
            "interrupted_by": run.interrupted_by or None,
            "limits_hit": run.limits_hit,
            "start_failures": run.start_failures,
            "root": run.root or None,
            "base_url": run.base_url or None,
            "orphans": run.orphans,
            "setup_errors": run.setup_errors,
            "fixed": run.fixed,
            "expired_acceptances": run.expired_acceptances,
            "cache_hits": run.cache_hits,
            "notes": run.notes,
            "pages_crawled": len(run.pages),
            "config": run.config_summary,
        },
        "counts": {**counts, "total": sum(counts.values())},
    }


def _findings(run: RunResult) -> Iterator[bytes]:
    """The findings as one compact JSON array, as ``orjson.dumps`` of their list writes it,
    a finding at a time: a large site has one or more per page (a list of their dicts, and
    its JSON at once, were a 50,000-page report's peak)."""
    findings = sorted(run.findings, key=lambda f: (f.severity != "error", f.page, f.line))
    yield b"["
    for index, finding in enumerate(findings):
        yield (b"," if index else b"") + orjson.dumps(finding.to_dict())
    yield b"]"


def render_json(
    run: RunResult, previous: RunResult | None = None, *, beside_others: bool = False
) -> Iterator[bytes]:
    """The document in chunks of UTF-8, one link per line, never one giant string.
    ``beside_others``: the caller writes other reports at :data:`PAUSE`, so a process
    writing the second part of the links takes a larger share of them."""
    # The links' lines first: another process may write part of them, and starts now,
    # while this one writes what comes before them.
    lines = _link_lines(run, sorted_links(run), beside_others)
    try:
        next(lines)  # (set up)
        yield b"{\n"
        for key, value in _head(run).items():
            yield b"  %b: %b,\n" % (orjson.dumps(key), orjson.dumps(value))
        yield b'  "findings": '
        yield from _findings(run)
        yield b',\n  "links": [\n'
        yield from lines
    finally:
        lines.close()  # a report given up: the other process is stopped
    yield b'  ],\n  "pages": [\n'
    pages = sorted(run.pages, key=lambda page: page.url)
    last = len(pages) - 1
    for index, page in enumerate(pages):
        separator = b",\n" if index < last else b"\n"
        yield b"    " + orjson.dumps(page.to_dict()) + separator
    yield b"  ]\n}\n"


def _link_lines(
    run: RunResult, links: list[Link], beside_others: bool
) -> Generator[bytes, None, None]:
    """An empty chunk once the work is shared out, then a line per link. Where it may,
    another process writes the last part of them into a spool file while this process
    writes the first (and, before them, the report's head and findings): the occurrences are
    most of a report's time, and the other core is idle. A forked copy for a smaller run
    (:mod:`linkcheck.report.forking`), a process of its own for a large one
    (:mod:`linkcheck.report.json_part`)."""
    pieces = _Pieces.for_links(links)  # made before a forked copy: it inherits them
    with tempfile.TemporaryFile() as spool:
        split, copy = _other_part(run, links, pieces, spool, beside_others)
        try:
            yield b""  # the other part is under way: the caller writes what comes first
            yield from _lines(run, links, 0, split, pieces)
            if copy is not None:
                yield PAUSE
        except BaseException:
            if copy is not None:
                copy.stop()
            raise
        if copy is not None and copy.written():
            yield from iter(partial(spool.read, _SPOOL_CHUNK), b"")
        else:  # none, or it failed: its part is written here
            yield from _lines(run, links, split, len(links), pieces)


class _Forked:
    """A forked copy writing the links past the cut into ``spool``."""

    def __init__(self, pid: int, spool: IO[bytes]) -> None:
        self._pid, self._spool = pid, spool

    def written(self) -> bool:
        if not forking.succeeded(self._pid):
            return False
        self._spool.seek(0)
        return True

    def stop(self) -> None:
        forking.stop(self._pid)


def _other_part(
    run: RunResult, links: list[Link], pieces: _Pieces, spool: IO[bytes], beside_others: bool
) -> tuple[int, _Forked | json_part.Part | None]:
    """Where the links are cut, and what writes those past the cut into ``spool``: a
    forked copy, the process of :mod:`~linkcheck.report.json_part`, or none (then the cut is
    at the end)."""
    if len(links) > 1 and forking.can_fork(run):
        split = _split_point(links, _COPY_SHARE)
        pid = forking.start(partial(_spool_lines, spool, run, links, split, pieces))
        if pid is not None:
            return split, _Forked(pid, spool)
    elif len(links) > 1 and _part_worth_a_process(pieces, links):
        split = _split_point(
            links, json_part.SHARE_BESIDE_OTHERS if beside_others else json_part.SHARE
        )
        with tempfile.TemporaryFile() as request:  # (the process has its own descriptor)
            descriptors = _write_request(request, run, links, split, pieces)
            part = json_part.start(request, descriptors, spool)
        if part is not None:
            return split, part
    return len(links), None


def _part_worth_a_process(pieces: _Pieces, links: list[Link]) -> bool:
    """Whether the process of :mod:`~linkcheck.report.json_part` is started: for a run whose
    occurrences spilled (a forked copy would add its memory again), large enough to gain,
    all of them in the run's tables (which that process reads from the spill files)."""
    return (
        json_part.AVAILABLE
        and pieces.tables.spill is not None
        and not pieces.rebound
        and sum(len(link.occurrences) for link in links) >= json_part.AT_LEAST_OCCURRENCES
    )


def _write_request(
    request: IO[bytes], run: RunResult, links: list[Link], split: int, pieces: _Pieces
) -> tuple[int, int]:
    """What :func:`write_part` reads: the tables (see OccurrenceTables.reading_copy), the
    page ranks, then each link's line around its occurrences and where they are. Returns
    the spill's descriptors."""
    descriptors = pieces.tables.reading_copy(request)  # (all the rows are spilled after it)
    pieces.ranks.tofile(request)
    for start in range(split, len(links), _PARTS_AT_A_TIME):  # then an empty list
        stop = min(start + _PARTS_AT_A_TIME, len(links))
        parts = [
            (*_line_ends(run, links, index), *links[index].occurrences.held_state())
            for index in range(start, stop)
        ]
        pickle.dump(parts, request, protocol=pickle.HIGHEST_PROTOCOL)
    pickle.dump([], request)
    return descriptors


def write_part(request: IO[bytes], descriptors: tuple[int, int], output: IO[bytes]) -> None:
    """Write the lines :func:`_write_request` asked for into ``output``: in the process of
    :mod:`~linkcheck.report.json_part`, started with the spill's ``descriptors``."""
    tables = OccurrenceTables.read_copy(request, descriptors)
    ranks = array("I")
    ranks.fromfile(request, len(tables.pages.urls))
    pieces = _Pieces(tables, ranks)
    while parts := pickle.load(request):
        for head, tail, spilled, last, held in parts:
            occurrences = Occurrences.from_held_state(tables, spilled, last, held)
            output.writelines(_line(head, occurrences, tail, pieces))


def _spool_lines(
    spool: IO[bytes], run: RunResult, links: list[Link], start: int, pieces: _Pieces
) -> None:
    spool.writelines(_lines(run, links, start, len(links), pieces))
    spool.flush()  # the copy leaves with os._exit, which flushes nothing


def _lines(
    run: RunResult, links: list[Link], start: int, stop: int, pieces: _Pieces
) -> Iterator[bytes]:
    for index in range(start, stop):
        head, tail = _line_ends(run, links, index)
        yield from _line(head, pieces.occurrences(links[index]), tail, pieces)


def _line_ends(run: RunResult, links: list[Link], index: int) -> tuple[bytes, bytes]:
    """The line of ``links[index]`` before its occurrences, and after them (its separator
    included)."""
    link = links[index]
    head, tail = orjson.dumps(_link(link, run.memory.get(link.url))).split(_OCCURRENCES)
    return b"    " + head, tail + (b",\n" if index < len(links) - 1 else b"\n")


def _line(head: bytes, occurrences: Occurrences, tail: bytes, pieces: _Pieces) -> Iterator[bytes]:
    """A link's line around its occurrences, which come in slices: a nav link's are on every
    page, and its whole line at once was the report's peak on a large site."""
    yield head
    yield from _occurrences(occurrences, pieces)
    yield tail


def _split_point(links: list[Link], share: float) -> int:
    """Where the links are cut in two, ``share`` of the occurrences past the cut: less than
    half for a forked copy, which also pays for every memory page it touches (copied on its
    first write: cut in halves, the copy finished well after this process), about half for
    json_part's process (see bench/README.md)."""
    totals = list(accumulate(len(link.occurrences) for link in links))
    return min(bisect_left(totals, totals[-1] * (1 - share)) + 1, len(links) - 1)


def _link(link: Link, memory: LinkMemory | None) -> dict[str, Any]:
    result = link.result
    assert result is not None  # the runner gives every link a result
    item = {
        "url": link.url,
        "internal": link.internal,
        **result.to_dict(),  # the link's own keys first, as the schema lists them
        "history": memory.to_dict() if memory is not None else None,
        "occurrences": orjson.Fragment(_OCCURRENCES),  # where _lines puts them
    }
    if result.url != link.url:  # the link's URL is the one reported
        item["url"] = link.url
    return item


class _Pieces:
    """JSON made once per report and shared by every link's occurrences: each page's."""

    def __init__(
        self,
        tables: OccurrenceTables,
        ranks: array[int],
        rebound: dict[str, Occurrences] | None = None,
    ) -> None:
        self.tables = tables
        self.rebound = rebound or {}  # links made apart from the run, numbered in its tables
        self.ranks = ranks  # to sort occurrences by page URL as integers
        self.pages: list[bytes] = [b""] * len(ranks)
        self.lines = _Digits()  # line numbers as JSON: a page has a few hundred of them

    @classmethod
    def for_links(cls, links: list[Link]) -> _Pieces:
        # The run's tables (see models.OccurrenceTables): its links' occurrences are numbers
        # in them. Links made apart from the run (a library user's) are numbered in them
        # here, before the pages are ranked.
        tables = links[0].occurrences.tables if links else OccurrenceTables()
        rebound = {
            link.url: link.occurrences.bound_to(tables)
            for link in links
            if link.occurrences.tables is not tables
        }
        return cls(tables, tables.page_ranks(), rebound)

    def occurrences(self, link: Link) -> Occurrences:
        """The link's occurrences, numbered in :attr:`tables`."""
        occurrences = link.occurrences
        return occurrences if occurrences.tables is self.tables else self.rebound[link.url]

    def page(self, number: int) -> bytes:
        piece = self.pages[number]
        if not piece:
            url = self.tables.pages.urls[number]
            piece = self.pages[number] = b'{"page":' + orjson.dumps(url) + b',"href":'
        return piece


def _occurrences(occurrences: Occurrences, pieces: _Pieces) -> Iterator[bytes]:
    """The occurrences as a JSON array, in slices, built from pieces that orjson wrote once
    each.

    A large crawl writes millions of occurrences, nearly all of them a page, a line and one
    of a few ways the link is written: each page's and each variant's JSON is made once,
    and an occurrence is those pieces joined (a dict per occurrence was far slower).
    """
    rows = occurrences.numbers_by_page(pieces.ranks)
    kinds = list({row[2] for row in rows})
    variants = dict(zip(kinds, _variant_json(pieces.tables.variants.many(kinds)), strict=True))
    if not rows:
        yield b"[]"
        return
    if len(rows) <= _FEW:  # most links of a link-heavy site: one comprehension, no columns
        page, line_of = pieces.page, pieces.lines.__getitem__
        few = [
            page(number) + head + line_of(line) + tail
            for _, line, kind, number in rows
            for head, tail in (variants[kind],)
        ]
        yield b"[" + b",".join(few) + b"]"
        return
    opening = b"["
    for start in range(0, len(rows), _SLICE):
        part = rows[start : start + _SLICE]
        # columns by comprehension: zip(*rows) is much slower for a nav link's many rows
        lines = [row[1] for row in part]
        kinds = [row[2] for row in part]
        pages = [row[3] for row in part]
        # Whole columns at a time: the per-occurrence work is C (map, list building, bytes %).
        page_parts = list(map(pieces.pages.__getitem__, pages))
        if not all(page_parts):  # a page no link before this one was on: made now, once
            page_parts = list(map(pieces.page, pages))
        variant_parts = list(map(variants.__getitem__, kinds))
        heads = [variant[0] for variant in variant_parts]
        tails = [variant[1] for variant in variant_parts]
        line_parts = list(map(pieces.lines.__getitem__, lines))
        joined = map(b"".join, zip(page_parts, heads, line_parts, tails, strict=True))
        yield opening + b",".join(joined)
        opening = b","
    yield b"]"


def _variant_json(values: list[Variant]) -> list[tuple[bytes, bytes]]:
    """Each variant's JSON around its line: ``"href","text":…,"attr":…,"line":`` (its page's
    piece comes before it) and ``,"fragment":…}``; by comprehension: a large run has
    millions of them."""
    dumps, skip = orjson.dumps, len(b'{"href":')
    heads = [
        dumps({"href": v[0], "text": v[1], "tag": v[2], "attr": v[3]})[skip:-1] + b',"line":'
        for v in values
    ]
    tails = [_NO_FRAGMENT if not v[4] else b',"fragment":' + dumps(v[4]) + b"}" for v in values]
    return list(zip(heads, tails, strict=True))


class _Digits(dict[int, bytes]):
    """Numbers written as JSON once each (joining pieces is faster than formatting them)."""

    def __missing__(self, number: int) -> bytes:
        digits = self[number] = b"%d" % number
        return digits
