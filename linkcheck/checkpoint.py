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
import zlib
from array import array
from collections.abc import Iterable, Iterator
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

# 3: results, pages and findings as the JSON report writes them (the models' to_dict).
# Occurrences are numbers into the state's page and variant tables, or lists of strings
# (what a distributed run assembles from its workers' records).
STATE_VERSION = 3
READABLE_VERSIONS = (3,)


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
    tables: OccurrenceTables | None = None,
) -> tuple[dict[str, Any], Iterator[dict[str, str]]]:
    """The run's page and variant tables that occurrences are numbers into (see models): a
    part for the header, and the variants as lines of their own, a chunk at a time (the
    table of a large crawl is big: no whole copy of it is ever made)."""
    tables = tables if tables is not None else current_tables()
    # the ends in lines too: a large crawl's (8 bytes a variant) as one base64 value in
    # the header, copied three times over, was the resume point's peak on a 50k-page site
    header = {"pages": tables.pages.urls, "variant_ends": ""}
    variants = (
        {"variants": base64.b64encode(chunk).decode("ascii")}
        for chunk in tables.variants.chunks(_CHUNK)
    )
    return header, itertools.chain(variants, _ends_lines(tables))


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


def occurrences_to_state(occurrences: Occurrences) -> str:
    return base64.b64encode(occurrences.to_bytes()).decode("ascii")


def occurrences_from_state(item: str | list[list[Any]], tables: Tables) -> Occurrences:
    if isinstance(item, str):
        return Occurrences.from_bytes(
            base64.b64decode(item), tables.pages, tables.variant_offset, tables.into
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
    """The state as zlib-compressed JSON lines: the header, then one line per link, handed
    out a compressed piece at a time.

    Written link by link into the compressor, and the pieces go straight to the store's
    spool file: saving the state of a large crawl never holds its JSON, nor all of it
    compressed, in memory (the whole compressed state in one buffer raised the crawl's peak
    memory whenever a resume point was saved near its end; see bench/README.md).
    """
    compressor = zlib.compressobj(1)
    # OPT_APPEND_NEWLINE, not `+ b"\n"`: the header of a large crawl, and a nav link's
    # occurrences, are big; a concatenation would copy each once more
    yield compressor.compress(orjson.dumps(header, option=_LINE))
    for link in links:
        yield compressor.compress(orjson.dumps(link, default=list, option=_LINE))
    yield compressor.flush()


def decode(blob: bytes) -> dict[str, Any]:
    """The state :func:`encode` wrote; ValueError when it is not one, or one of a version
    this linkcheck cannot read (a resume point left by an older release: the run starts
    afresh, with a warning, rather than failing)."""
    links: list[Any] = []
    variants = bytearray()
    ends = bytearray()
    listed: dict[str, list[Any]] = {key: [] for key in LISTED}
    try:
        lines = zlib.decompress(blob).splitlines()
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
    except (zlib.error, orjson.JSONDecodeError, IndexError, KeyError, ValueError) as exc:
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
    if isinstance(header.get("tables"), dict):
        header["tables"]["variants"] = bytes(variants)
        if ends:  # in lines of their own (an older resume point has them in the header)
            header["tables"]["variant_ends"] = bytes(ends)
    return header
