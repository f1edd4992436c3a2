"""Resume points: the crawl's state as JSON, saved while crawling and read by ``--resume``.

A checkpoint is taken between two event-loop steps, so it sees every page either untouched
or completely done (fetched, recorded, parsed), never half-way. What was done is kept;
everything else — links without a result, pages not parsed yet — is done again on resume,
so the final report is the same as that of a run that was never interrupted.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from linkcheck.config import Config
from linkcheck.models import (
    Occurrence,
    Occurrences,
    OccurrenceTables,
    Page,
    current_tables,
)
from linkcheck.store import compression
from linkcheck.store.spill import Spill, little_endian

# 3: results, pages and findings as the JSON report writes them (the models' to_dict).
# Occurrences are numbers into the state's page and variant tables, or lists of strings
# (what a distributed run assembles from its workers' records).
# 4: the variant table's bytes and ends, and the spill file's rows and batches, may be
# stored beside the state, in parts that each save appends to (see new_parts): the header's
# tables then say how many bytes of each, and a link names its spilled occurrences by their
# last batch (see occurrences_to_state).
STATE_VERSION = 4
READABLE_VERSIONS = (3, 4)
# The streams of a run's tables that only grow while it crawls: the variant table's bytes
# and ends, and the spill file's rows and batches
STREAMS = ("variants", "variant_ends", *Spill.ROW_STREAMS)


def checkpoint_key(config: Config) -> str:
    """Which run a checkpoint belongs to: same start URLs and settings. Reports, the store
    and the run's deadline may differ: a resumed CI job may well get more time."""
    summary = config.summary()
    for key in ("report", "source", "cache"):
        summary.pop(key, None)
    crawl = dict(summary.get("crawl", {}))  # type: ignore[call-overload]
    crawl.pop("max_duration", None)
    summary["crawl"] = crawl
    return hashlib.sha256(json.dumps(summary, sort_keys=True, default=str).encode()).hexdigest()[
        :24
    ]


_CHUNK = 3 * 256 * 1024  # bytes of the variant table per line (a multiple of 3: base64)


def tables_to_state(
    tables: OccurrenceTables | None = None, parts: dict[str, Any] | None = None
) -> tuple[dict[str, Any], Iterator[dict[str, str]]]:
    """The run's page and variant tables that occurrences are numbers into (see models): a
    part for the header, and the variants as lines of their own, a chunk at a time (the
    table of a large crawl is big: no whole copy of it is ever made).

    With ``parts`` (the run the parts belong to, and :func:`stream_sizes`), the variants
    are stored beside the state instead (see :func:`new_parts`) and the header names them:
    no lines."""
    tables = tables if tables is not None else current_tables()
    # the ends in lines too: a large crawl's (8 bytes a variant) as one base64 value in
    # the header, copied three times over, was the resume point's peak on a 50k-page site
    header: dict[str, Any] = {"pages": tables.pages.urls, "variant_ends": ""}
    if parts is not None:
        header["parts"] = parts
        return header, iter(())
    variants = (
        {"variants": base64.b64encode(chunk).decode("ascii")}
        for chunk in tables.variants.chunks(_CHUNK)
    )
    return header, itertools.chain(variants, _ends_lines(tables))


def stream_sizes(tables: OccurrenceTables) -> dict[str, int]:
    """Bytes in each of the tables' :data:`STREAMS` now."""
    spill = tables.spill
    rows = spill.row_sizes() if spill is not None else dict.fromkeys(Spill.ROW_STREAMS, 0)
    return {"variants": tables.variants.size, "variant_ends": 8 * tables.variants.count, **rows}


def new_parts(tables: OccurrenceTables, stored: dict[str, int]) -> Iterator[tuple[str, int, bytes]]:
    """What each of the tables' :data:`STREAMS` holds past the bytes ``stored`` of it, as
    ``(stream, start, bytes)`` a chunk at a time: a resume point stores only these, the
    parts before them being in the store already (a large crawl's variant table, encoded
    whole at every save, was most of a save's time, and that grew with the run)."""
    start = stored.get("variants", 0)
    for chunk in tables.variants.chunks(_CHUNK, start):
        yield "variants", start, chunk
        start += len(chunk)
    start = stored.get("variant_ends", 0)
    for ends in tables.variants.ends_in_chunks(_CHUNK // 8, start // 8):
        if sys.byteorder == "big":
            ends.byteswap()
        yield "variant_ends", start, ends.tobytes()
        start += 8 * len(ends)
    if tables.spill is not None:
        yield from tables.spill.row_parts(stored, _CHUNK)


def _ends_lines(tables: OccurrenceTables) -> Iterator[dict[str, str]]:
    for ends in tables.variants.ends_in_chunks(_CHUNK // 8):
        if sys.byteorder == "big":
            ends.byteswap()
        yield {"variant_ends": base64.b64encode(ends).decode("ascii")}


class Tables:
    """A state's tables, taken into this run's (``into``, the context's unless given): how
    to read its occurrence numbers."""

    def __init__(self, state: dict[str, Any] | None, into: OccurrenceTables | None = None) -> None:
        self.into = into if into is not None else current_tables()
        self.pages: list[int] = []
        self.variant_offset = 0
        if not state:
            return
        self.pages = [self.into.pages.number(url) for url in state["pages"]]
        ends = array("Q")
        written = state["variant_ends"]  # base64 in the header, or bytes from decode's lines
        ends.frombytes(base64.b64decode(written) if isinstance(written, str) else written)
        if sys.byteorder == "big":
            ends.byteswap()
        taken = self.into.variants.add_all(state.get("variants", b""), ends)
        self.variant_offset = taken.start
        # The spill file's rows stored beside the state (see new_parts): taken as the run's
        # own when its numbers are the state's (a resume: fresh tables), else read from a
        # spill of their own and renumbered link by link.
        self.rows_taken = False
        self.rows: Spill | None = None
        if state.get("batch_starts"):  # (empty: the run had spilled none)
            streams = {name: state[name] for name in Spill.ROW_STREAMS}
            if not taken.start and self.pages == list(range(len(self.pages))):
                self.into.spill_file().take_rows(streams)
                self.rows_taken = True
            else:
                self.rows = Spill()
                self.rows.take_rows(streams)


def occurrences_to_state(
    occurrences: Occurrences, rows_stored: OccurrenceTables | None = None
) -> str | dict[str, Any]:
    """The occurrences' numbers, all of them (base64); or, when they are numbered in the
    tables ``rows_stored`` whose spill file's rows are stored beside the state (see
    new_parts), how many are in the spill file, their last batch there, and the numbers
    held in memory: a save then writes what it did not store before, not every link's."""
    if rows_stored is None or occurrences.tables is not rows_stored:
        return base64.b64encode(occurrences.to_bytes()).decode("ascii")
    spilled, last, held = occurrences.held_state()
    return {"spilled": spilled, "last": last, "held": base64.b64encode(held).decode("ascii")}


def occurrences_from_state(
    item: str | dict[str, Any] | list[list[Any]], tables: Tables
) -> Occurrences:
    if isinstance(item, str):
        return Occurrences.from_bytes(
            base64.b64decode(item), tables.pages, tables.variant_offset, tables.into
        )
    if isinstance(item, dict):
        spilled, last = int(item["spilled"]), int(item["last"])
        held = base64.b64decode(item["held"])
        if tables.rows_taken:
            return Occurrences.from_held_state(tables.into, spilled, last, held)
        spilled_rows = b""
        if last:
            if tables.rows is None:
                raise ValueError("unreadable checkpoint: its occurrences name a spill it has not")
            spilled_rows = little_endian(tables.rows.read_rows(last), "I")
        return Occurrences.from_bytes(
            spilled_rows + held, tables.pages, tables.variant_offset, tables.into
        )
    return Occurrences((Occurrence(*occurrence) for occurrence in item), tables.into)


def page_to_state(page: Page, ids: frozenset[str] | None) -> dict[str, Any]:
    """A page and the ids of its elements (for #fragments)."""
    return {**page.to_dict(), "ids": sorted(ids or ())}


def page_from_state(item: dict[str, Any]) -> tuple[Page, frozenset[str]]:
    return Page.from_dict(item), frozenset(item.get("ids") or ())


_LINE = orjson.OPT_APPEND_NEWLINE

# Header lists that may come in lines of their own, a chunk at a time ({"pages": [...]}),
# after the header: a large crawl's pages and findings are too many to make at once.
LISTED = ("pages", "findings")
LIST_CHUNK = 1000


def encode(header: dict[str, Any], links: Iterable[Any]) -> Iterator[bytes]:
    """The state as compressed JSON lines (see linkcheck.store.compression): the header, then
    one line per link, handed out a compressed piece at a time.

    Written link by link into the compressor, and the pieces go straight to the store's
    spool file: saving the state of a large crawl never holds its JSON, nor all of it
    compressed, in memory (the whole compressed state in one buffer raised the crawl's peak
    memory whenever a resume point was saved near its end; see bench/README.md).
    """
    compressor = compression.compressor()
    # OPT_APPEND_NEWLINE, not `+ b"\n"`: the header of a large crawl, and a nav link's
    # occurrences, are big; a concatenation would copy each once more
    yield compressor.compress(orjson.dumps(header, option=_LINE))
    for link in links:
        yield compressor.compress(orjson.dumps(link, default=list, option=_LINE))
    yield compressor.flush()


def decode(blob: bytes, read_stream: Callable[[str, str], bytes] | None = None) -> dict[str, Any]:
    """The state :func:`encode` wrote; ValueError when it is not one, or one of a version
    this linkcheck cannot read (a resume point left by an older release: the run starts
    afresh, with a warning, rather than failing). ``read_stream(run, stream)`` gives the
    parts stored beside it (see :func:`new_parts`), end to end."""
    links: list[Any] = []
    variants = bytearray()
    ends = bytearray()
    listed: dict[str, list[Any]] = {key: [] for key in LISTED}
    try:
        lines = compression.decompress(blob).splitlines()
        header = orjson.loads(lines[0])
        for line in lines[1:]:
            item = orjson.loads(line)
            if not isinstance(item, dict):
                links.append(item)
            elif "variants" in item:  # a chunk of the variant table (see tables_to_state)
                variants += base64.b64decode(item["variants"])
            elif "variant_ends" in item:  # a chunk of where they end (see tables_to_state)
                ends += base64.b64decode(item["variant_ends"])
            else:  # a chunk of pages or findings
                ((key, values),) = item.items()
                listed[key].extend(values)
    except (orjson.JSONDecodeError, IndexError, KeyError, ValueError) as exc:
        raise ValueError(f"unreadable checkpoint: {exc}") from None
    if not isinstance(header, dict):
        raise ValueError("unreadable checkpoint: no header")
    for key, values in listed.items():
        if values:
            header[key] = [*header.get(key, ()), *values]
    if header.get("version") not in READABLE_VERSIONS:
        raise ValueError(
            f"checkpoint version {header.get('version')!r}, this linkcheck reads {STATE_VERSION}"
        )
    header["links"] = links
    tables = header.get("tables")
    if isinstance(tables, dict):
        tables["variants"] = bytes(variants)
        if ends:  # in lines of their own (an older resume point has them in the header)
            tables["variant_ends"] = bytes(ends)
        if "parts" in tables:
            tables.update(_stored_streams(tables.pop("parts"), read_stream))
    return header


def _stored_streams(
    parts: Any, read_stream: Callable[[str, str], bytes] | None
) -> dict[str, bytes]:
    """The streams a state names as stored beside it, each cut to the size it gives."""
    try:
        sizes = {stream: int(parts[stream]) for stream in STREAMS}
        run = str(parts["run"])
    except (TypeError, KeyError, ValueError):
        raise ValueError("unreadable checkpoint: its stored parts are not named") from None
    if read_stream is None:
        raise ValueError("unreadable checkpoint: its parts are stored apart")
    streams = {}
    for stream, size in sizes.items():
        data = read_stream(run, stream)
        if len(data) < size:
            raise ValueError(
                f"unreadable checkpoint: {len(data)} of the {size} bytes of its {stream} stored"
            )
        streams[stream] = data[:size]
    return streams
