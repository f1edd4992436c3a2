"""The nouns of a run: where a link occurs, what checking it found, and the run as a whole.

A dead link is data, not an exception: every outcome of checking a URL is a
:class:`CheckResult` with a :class:`Verdict` and, for failures, an :class:`ErrorKind`
that code can match on without parsing message text.
"""

from __future__ import annotations

import enum
import pickle
import sys
from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import IO, TYPE_CHECKING, Any, NamedTuple, TypeVar, cast, overload

if TYPE_CHECKING:
    from linkcheck.store.spill import Spill

K = TypeVar("K", bound=Hashable)  # a group's key (see Occurrences.split_by_variant)


class Verdict(enum.StrEnum):
    """What a link's check concluded, in the order an editor cares about."""

    BROKEN = "broken"  # the server answered with a 4xx/5xx status (after retries)
    ERROR = "error"  # no usable HTTP answer at all: DNS, connect, TLS, timeout, loop, ...
    BLOCKED = "blocked"  # bot protection answered instead of the page: could not verify
    RATE_LIMITED = "rate-limited"  # the server asked us to wait longer than we may
    REDIRECTED = "redirected"  # works, but through one or more redirects
    OK = "ok"
    SKIPPED = "skipped"  # not an http(s) link (mailto:, tel:, javascript:, data:, ...)
    EXCLUDED = "excluded"  # matched an exclude rule or lies beyond a crawl limit

    # The questions code asks of a verdict, answered here once (never a tuple of names).
    @property
    def failed(self) -> bool:
        """The link is dead: a problem an editor must fix, and what fails a CI run."""
        return self in _FAILED

    @property
    def works(self) -> bool:
        """The link leads somewhere that answered (perhaps through redirects)."""
        return self in _WORKS

    @property
    def unverified(self) -> bool:
        """The server kept us from knowing (bot protection, rate limits): neither dead nor fine."""
        return self in _UNVERIFIED

    @property
    def checked(self) -> bool:
        """A request was made for it (not skipped for its scheme, not excluded by a rule)."""
        return self not in _NOT_CHECKED


_FAILED = frozenset({Verdict.BROKEN, Verdict.ERROR})
_WORKS = frozenset({Verdict.OK, Verdict.REDIRECTED})
_UNVERIFIED = frozenset({Verdict.BLOCKED, Verdict.RATE_LIMITED})
_NOT_CHECKED = frozenset({Verdict.SKIPPED, Verdict.EXCLUDED})


class ErrorKind(enum.StrEnum):
    """Why a check produced no usable answer (``Verdict.ERROR``) or was skipped."""

    DNS = "dns"
    CONNECT = "connect"
    TLS = "tls"
    TIMEOUT = "timeout"
    PROTOCOL = "protocol"  # the server broke HTTP: reset connection, malformed response
    TOO_MANY_REDIRECTS = "too-many-redirects"
    REDIRECT_LOOP = "redirect-loop"
    INVALID_URL = "invalid-url"
    UNSUPPORTED_SCHEME = "unsupported-scheme"
    PRIVATE_ADDRESS = "private-address"  # refused: points into a private network


class RedirectKind(enum.StrEnum):
    PERMANENT = "permanent"  # 301, 308: the link should be updated
    TEMPORARY = "temporary"  # 302, 303, 307: usually fine to keep


PERMANENT_REDIRECT_STATUSES = frozenset({301, 308})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class FindingKind(enum.StrEnum):
    """What a content-quality :class:`Finding` is about (its value is the report's ``kind``)."""

    MIXED_CONTENT = "mixed-content"  # an https page loads a script, image, ... over http
    INSECURE_LINK = "insecure-link"  # an https page links to an http address
    IMAGE_WITHOUT_ALT = "image-without-alt"  # an image link with no alt text
    EMPTY_LINK_TEXT = "empty-link-text"
    GENERIC_LINK_TEXT = "generic-link-text"  # "click here", "こちら"
    SAME_TEXT_DIFFERENT_TARGETS = "same-text-different-targets"
    INCONSISTENT_LINK = "inconsistent-link"  # one destination written in several forms


class Occurrence(NamedTuple):
    """One place a link is written: enough for an editor to find and fix it without re-running.

    A named tuple, not a dataclass: a crawl makes one per link per page, and a tuple is the
    cheapest immutable record Python has.
    """

    page: str  # the page's URL (as crawled, before any remap)
    href: str  # the attribute value exactly as the page's HTML has it
    text: str  # anchor text, or alt/title text when there is none
    tag: str
    attr: str
    line: int  # 1-based line in the page source
    fragment: str = ""  # the part after '#', kept for the editor; never fetched

    @classmethod
    def from_dict(cls, item: dict[str, Any]) -> Occurrence:
        """Read one of a JSON report's occurrences (written, for speed, by json_report's own
        writer: an occurrence's JSON there is made from pieces shared by all of them)."""
        return cls(
            item["page"],
            item["href"],
            item["text"],
            item["tag"],
            item["attr"],
            int(item["line"]),
            item.get("fragment") or "",
        )


class _PageTable:
    """Every page URL once, by number: occurrence lists refer to pages by index."""

    __slots__ = ("_index", "urls")

    def __init__(self) -> None:
        self.urls: list[str] = []
        self._index: dict[str, int] = {}

    def number(self, url: str) -> int:
        found = self._index.get(url)
        if found is None:
            found = self._index[url] = len(self.urls)
            self.urls.append(url)
        return found

    def find(self, url: str) -> int:
        """The page's number, or -1 when no occurrence names that page."""
        return self._index.get(url, -1)

    def rename(self, names: list[str]) -> None:
        """Page ``n`` is ``names[n]`` from now on (the names all differ)."""
        self.urls = names
        self._index = {name: number for number, name in enumerate(names)}


Variant = tuple[str, str, str, str, str]  # how a link is written: href, text, tag, attr, fragment


_SEPARATOR = "\0"  # never inside a parsed href or text: HTML parsers turn NUL into U+FFFD


# A variant's flags: its fragment is not empty; its href is an http(s):// URL; and that URL
# is, as written (see href_form), the one it resolved to (the link's own)
_FRAGMENT, _ABSOLUTE, _AS_RESOLVED = 1, 2, 4
# The variants' bytes kept in memory, at most, for each occurrence a run keeps there: a way
# of writing a link takes ~60-100 bytes, and is met again on several pages
VARIANT_BYTES_PER_OCCURRENCE = 4


class _VariantTable:
    """Every way of writing a link, by number, in one buffer: "href\0text\0tag\0attr\0fragment"
    as UTF-8, end to end, and where each ends.

    A site's content links are often each written once (with their own text), so a large
    crawl holds a great many variants. As Python objects (a tuple and its strings) they
    would be most of a large crawl's memory, and, mixed with the short-lived objects of
    each request, would keep the allocator from giving memory back; here each costs its
    bytes and one offset in an array. Variants from a digest are appended as they come (its
    digester sent each once); others are looked up first. Past the run's threshold the bytes
    move to its spill file (:meth:`spill_to`); offsets below ``_base`` are read from there.
    """

    __slots__ = (
        "_base",
        "_data",
        "_ends",
        "_flags",
        "_index",
        "_on_full",
        "_spill",
        "_wraps",
        "budget",
    )
    # Where each variant ends is kept in 4 bytes, modulo _SPAN (a large run has millions of
    # variants: 8 bytes each were 15 MB more at 50,000 pages); _wraps lists the first
    # variant past each multiple of it, so that the text may grow past 4 GiB.
    _SPAN = 1 << 32

    def __init__(
        self, budget: int = sys.maxsize, on_full: Callable[[], None] | None = None
    ) -> None:
        self._data = bytearray()  # the bytes from offset _base on
        self._base = 0
        self._spill: Spill | None = None
        # bytes kept in memory, at most: past them, on_full moves them to the spill file
        self.budget = budget
        self._on_full = on_full
        self._ends = array("I")
        self._wraps: list[int] = []
        self._index: dict[bytes, int] = {}  # for number(): only variants asked for by value
        # The few variants the site-wide checks look at, noted as variants arrive (during
        # the crawl) rather than found at its end by reading every variant on one core: a
        # byte per variant, _FRAGMENT (check_fragments) and _ABSOLUTE (inconsistent_links)
        self._flags = bytearray()

    def number(self, variant: Variant) -> int:
        """The variant's number, the same one every time it is asked for."""
        packed = pack_variant(variant)
        found = self._index.get(packed)
        if found is None:
            found = self._index[packed] = self.add(packed)
        return found

    def add(self, packed: bytes) -> int:
        """A new number for a variant packed by :func:`pack_variant`, without looking first."""
        start = len(self._data)
        self._data += packed
        self._end_at(self._base + len(self._data))
        self._flags.append(self._note(start, len(self._data)))
        if len(self._data) > self.budget and self._on_full is not None:
            self._on_full()
        return len(self._ends) - 1

    def add_all(
        self, packed: bytes | bytearray, ends: array[int], flags: bytes | bytearray = b""
    ) -> range:
        """New numbers for variants packed end to end (``ends`` relative to ``packed``), with
        their :func:`variant_flags` when the caller has them (one byte each)."""
        first, offset = len(self._ends), len(self._data)
        self._data += packed
        base = self._base + offset
        if ends and base + ends[-1] < (len(self._wraps) + 1) * self._SPAN:
            base -= len(self._wraps) * self._SPAN  # (all of them below the next multiple)
            self._ends.extend(base + end for end in ends)
        else:
            for end in ends:
                self._end_at(base + end)
        if len(flags) == len(ends):
            self._flags += flags
        else:
            note, kept = self._note, self._flags
            start = offset
            for end in ends:
                kept.append(note(start, offset + end))
                start = offset + end
        if len(self._data) > self.budget and self._on_full is not None:
            self._on_full()
        return range(first, len(self._ends))

    def _end_at(self, end: int) -> None:
        """Note where the next variant ends (an offset in the whole text)."""
        while end >= (len(self._wraps) + 1) * self._SPAN:
            self._wraps.append(len(self._ends))
        self._ends.append(end - len(self._wraps) * self._SPAN)

    def _end(self, number: int) -> int:
        """Where variant ``number`` ends, in the whole text."""
        if self._wraps:
            return self._ends[number] + bisect_right(self._wraps, number) * self._SPAN
        return self._ends[number]

    def _note(self, start: int, end: int) -> int:
        """The flags of the variant at ``start:end`` of the bytes in memory."""
        return variant_flags(self._data, start, end)

    def with_fragment(self, numbers: Iterable[int]) -> list[int]:
        """Those of ``numbers`` whose variant has a #fragment, in their order."""
        flags = self._flags
        return [number for number in numbers if flags[number] & _FRAGMENT]

    def absolute(self, numbers: Iterable[int]) -> set[int]:
        """Those of ``numbers`` whose variant's href is an http(s):// URL."""
        flags = self._flags
        return {number for number in numbers if flags[number] & _ABSOLUTE}

    def absolute_forms(self, numbers: Iterable[int], url: str) -> set[str]:
        """The :func:`href_form` of each of ``numbers`` whose href is an http(s):// URL,
        once each: ``url`` for those noted as written as the URL they resolved to, which
        must be ``url`` (not read: a site's absolute links are mostly written so), the
        others read."""
        flags = self._flags
        others = [n for n in numbers if flags[n] & (_ABSOLUTE | _AS_RESOLVED) == _ABSOLUTE]
        forms = set(map(href_form, self.hrefs(others)))
        if any(flags[n] & _AS_RESOLVED for n in numbers):
            forms.add(url)
        return forms

    def _packed_many(self, numbers: Iterable[int]) -> list[bytes | bytearray]:
        """The packed bytes of each of ``numbers``: from memory, or (below ``_base``) from the
        spill file, a ``pread`` each."""
        if self._wraps:
            bounds = [(self._end(n - 1) if n else 0, self._end(n)) for n in numbers]
        else:
            ends = self._ends
            bounds = [(ends[n - 1] if n else 0, ends[n]) for n in numbers]
        base, data = self._base, self._data
        if not base:  # nothing spilled
            return [data[start:end] for start, end in bounds]
        assert self._spill is not None
        return self._spill.read_spans(bounds, base, data)

    def __getitem__(self, number: int) -> Variant:
        return self.many((number,))[0]

    def many(self, numbers: Sequence[int]) -> list[Variant]:
        """The variants of ``numbers``, in that order: what a report asks for each link (a
        large run's reports read every variant once, millions of them, so each step is done
        a list at a time, the spilled variants read with a ``pread`` each)."""
        return cast(
            "list[Variant]",
            [
                tuple(part.decode("utf-8", "surrogatepass").split(_SEPARATOR))
                for part in self._packed_many(numbers)
            ],
        )

    def by_number(self, numbers: Iterable[int]) -> dict[int, Variant]:
        """Each of ``numbers``' variants once, by number (:meth:`many` of the distinct ones)."""
        distinct = list(set(numbers))
        return dict(zip(distinct, self.many(distinct), strict=True))

    def hrefs(self, numbers: Iterable[int]) -> list[str]:
        """The first field alone of each of ``numbers``, in that order: the site-wide checks
        ask for it once per variant, a list at a time (a large run's are spilled: one read
        each, but one call for them all)."""
        return [
            packed[: packed.find(b"\0")].decode("utf-8", "surrogatepass")
            for packed in self._packed_many(numbers)
        ]

    def fragments(self, numbers: Iterable[int]) -> list[str]:
        """The last field alone (usually empty) of each of ``numbers``, in that order."""
        return [
            packed[packed.rfind(b"\0") + 1 :].decode("utf-8", "surrogatepass")
            for packed in self._packed_many(numbers)
        ]

    def ends(self) -> array[int]:
        """Where each packed variant ends in :meth:`chunks`' bytes, end to end (8 bytes each)."""
        return self._absolute(0, len(self._ends))

    @property
    def count(self) -> int:
        """Variants numbered so far."""
        return len(self._ends)

    @property
    def size(self) -> int:
        """Bytes of packed variants so far (in memory and spilled): :meth:`chunks`' length."""
        return self._base + len(self._data)

    def ends_in_chunks(self, count: int, first: int = 0) -> Iterator[array[int]]:
        """:meth:`ends` from variant ``first`` on, ``count`` at a time (a copy of one chunk
        at a time)."""
        for start in range(first, len(self._ends), count):
            yield self._absolute(start, min(start + count, len(self._ends)))

    def _absolute(self, start: int, stop: int) -> array[int]:
        ends = array("Q", self._ends[start:stop])
        for wrap in self._wraps:  # (none below 4 GiB of text)
            for index in range(max(wrap, start), stop):
                ends[index - start] += self._SPAN
        return ends

    def chunks(self, size: int, start: int = 0) -> Iterator[bytes]:
        """The packed variants from byte ``start`` on, ``size`` bytes at a time (a copy of
        one chunk at a time)."""
        if self._spill is not None and start < self._base:
            yield from self._spill.text(size, start)
        for offset in range(max(0, start - self._base), len(self._data), size):
            yield bytes(self._data[offset : offset + size])

    def spill_to(self, spill: Spill) -> None:
        """Move the bytes held in memory to ``spill`` (read back from there by offset)."""
        if self._spill is None:
            self._spill = spill
        assert spill is self._spill and spill.text_size == self._base
        spill.write_text(self._data)
        self._base += len(self._data)
        self._data = bytearray()  # a new buffer: the old one's memory goes back at once


def _little_endian(rows: array[int]) -> bytes:
    """Occurrence numbers as a resume point keeps them: little-endian, whatever the machine."""
    if sys.byteorder == "big":
        rows = array("I", rows)
        rows.byteswap()
    return rows.tobytes()


def _from_little_endian(data: bytes) -> array[int]:
    rows = array("I")
    rows.frombytes(data)
    if sys.byteorder == "big":
        rows.byteswap()
    return rows


def _rows_of(pieces: list[bytes]) -> array[int]:
    rows = array("I")
    rows.frombytes(b"".join(pieces))
    return rows


def variant_flags(
    packed: bytes | bytearray, start: int = 0, end: int | None = None, url: str | None = None
) -> int:
    """The flags the table keeps for the variant packed at ``start:end`` (all of ``packed``
    by default): _FRAGMENT when its fragment is not empty, _ABSOLUTE when its href is an
    http(s):// URL, and _AS_RESOLVED when that URL's :func:`href_form` is ``url``, the one
    it resolved to (the digester knows it; nobody else need). A digester notes them as it
    packs its new variants, so that the crawler's process, which takes every page's, does
    not."""
    end = len(packed) if end is None else end
    flags = _FRAGMENT if packed[end - 1] else 0  # the last field, the fragment, is not empty
    href_end = packed.find(b"\0", start, end)
    if packed.find(b"://", start, href_end) >= 0:
        href = packed[start:href_end].decode("utf-8", "surrogatepass")
        if is_absolute_http(href):
            flags |= _ABSOLUTE
            if href_form(href) == url:
                flags |= _AS_RESOLVED
    return flags


def is_absolute_http(href: str) -> bool:
    """Whether an href, as written, is an http:// or https:// URL."""
    return href.strip().lower().startswith(("http://", "https://"))


def href_form(absolute_href: str) -> str:
    """The form an absolute href writes its URL in: as written, without the fragment (the
    site-wide consistency check compares them)."""
    return absolute_href.strip().split("#", 1)[0]


def pack_variant(variant: Variant) -> bytes:
    """A variant as the table keeps it (a NUL inside a field is shown as U+FFFD, as browsers do)."""
    packed = _SEPARATOR.join(variant)
    if packed.count(_SEPARATOR) != 4:
        packed = _SEPARATOR.join(field.replace(_SEPARATOR, "\ufffd") for field in variant)
    return packed.encode("utf-8", "surrogatepass")


class OccurrenceTables:
    """One run's page and variant tables: its occurrences name their page and their variant
    (how the link is written) by a number in these.

    They belong to the run (STYLE.md: "state belongs to a run"): a second run in the same
    process — a test, a library user, a long-lived worker — starts with empty tables, and
    the first run's occurrences keep reading theirs (each :class:`Occurrences` holds the
    tables it was made with).
    """

    __slots__ = ("_holding", "held", "in_memory", "pages", "spill", "variants")

    def __init__(self, in_memory: int = 0) -> None:
        self.pages = _PageTable()
        # Occurrences held in memory, at most (0: no limit): past it, every link's
        # occurrences and the variants' bytes so far move to the run's spill file (see
        # linkcheck.store.spill), and are read back from there, in order, when asked for.
        # The variants' bytes also go on their own past VARIANT_BYTES_PER_OCCURRENCE for
        # each occurrence kept: so the rows can be kept in larger rounds (each round writes
        # a batch for every link holding rows: with small rounds, a large site's content
        # links, each found a few times a round, made a batch of one or two occurrences
        # each, and the rounds' cost grew with the site; bench/README.md) without the
        # variants' text growing with them.
        self.in_memory = in_memory or sys.maxsize
        budget = in_memory * VARIANT_BYTES_PER_OCCURRENCE if in_memory else sys.maxsize
        self.variants = _VariantTable(budget, self._spill_variants)
        self.held = 0  # occurrences in memory now
        self.spill: Spill | None = None
        self._holding: list[Occurrences] = []  # those with occurrences in memory

    def hold(self, occurrences: Occurrences, rows: array[int]) -> None:
        """Append ``rows`` (three numbers an occurrence) to those ``occurrences`` holds in
        memory (:meth:`Occurrences.add` does the same inline, for one)."""
        if not occurrences._rows:
            self._holding.append(occurrences)
        occurrences._rows.extend(rows)
        self.held += len(rows) // 3
        if self.held > self.in_memory:
            self.spill_all()

    def add_page(
        self,
        page: int,
        owners: Sequence[Occurrences],
        lines: Iterable[int],
        variants: Iterable[int],
    ) -> None:
        """One page's occurrences, by numbers in these tables: ``owners[i]`` is written on the
        page at ``lines[i]`` as variant ``variants[i]``. The crawl's hot path, a page at a
        time (:meth:`Occurrences.add` is one occurrence): held occurrences are spilled before
        the page's would pass ``in_memory``."""
        if self.held and self.held + len(owners) > self.in_memory:
            self.spill_all()
        holding = self._holding
        for occurrences, line, variant in zip(owners, lines, variants, strict=True):
            rows = occurrences._rows
            if not rows:
                holding.append(occurrences)
            rows.extend((page, line, variant))
        self.held += len(owners)
        if self.held > self.in_memory:  # one page with more than all of it
            self.spill_all()

    def add_rows(
        self, page: str, links: Sequence[Link], variants: Sequence[int], rows: Sequence[int]
    ) -> None:
        """A digested page's occurrences (:class:`~linkcheck.digest.PageDigest`'s ``rows``:
        link id, line, variant id for each), the ids those of one digester: ``links[id]`` is
        the Link a link id stands for, ``variants[id]`` a variant id's number here."""
        self.add_page(
            self.pages.number(page),
            [links[link_id].occurrences for link_id in rows[0::3]],
            rows[1::3],
            map(variants.__getitem__, rows[2::3]),
        )

    def spill_all(self) -> None:
        """Move every occurrence held in memory, and the variants' bytes, to the spill file."""
        spill = self.spill_file()
        number = spill.next_batch
        batches = []
        for occurrences in self._holding:  # (one may be listed twice: its rows once)
            if occurrences._rows and occurrences.tables is self:
                batches.append((occurrences._last, occurrences._rows.tobytes()))
                occurrences._rows_spilled(number)
                number += 1
        spill.write_rows(batches)
        self._holding = []
        self.held = 0
        self.variants.spill_to(spill)

    def _spill_variants(self) -> None:
        self.variants.spill_to(self.spill_file())

    def spill_file(self) -> Spill:
        """The run's spill file, made on first use."""
        if self.spill is None:
            from linkcheck.store.spill import Spill  # the store imports this module

            self.spill = Spill()
        return self.spill

    def reading_copy(self, file: IO[bytes]) -> tuple[int, int]:
        """Write to ``file`` what another process needs to read these tables
        (:meth:`read_copy`), and return the descriptors it must be started with
        (``pass_fds``). What is held in memory goes to the spill file first, so the other
        process reads the same files: only the page URLs and where each variant ends are
        written (4 bytes a variant). For tables that spilled (a large run's)."""
        self.spill_all()
        spill, variants = self.spill_file(), self.variants
        header = {"pages": self.pages.urls, "variants": variants.count, "wraps": variants._wraps}
        pickle.dump(header, file, protocol=pickle.HIGHEST_PROTOCOL)
        variants._ends.tofile(file)
        return spill.reading_copy(file)

    @classmethod
    def read_copy(cls, file: IO[bytes], descriptors: tuple[int, int]) -> OccurrenceTables:
        """The tables :meth:`reading_copy` wrote, in the process started with its
        descriptors: for reading occurrences, page URLs and variants by number, and only
        that (no page is found by URL, no variant's flags are kept: the other process holds
        as little as it can)."""
        from linkcheck.store.spill import Spill  # the store imports this module

        header = pickle.load(file)
        tables = cls()
        tables.pages.urls = header["pages"]
        variants = tables.variants
        variants._ends.fromfile(file, header["variants"])
        variants._wraps = header["wraps"]
        tables.spill = variants._spill = Spill.read_copy(file, descriptors)
        variants._base = tables.spill.text_size
        return tables

    def page_ranks(self) -> array[int]:
        """Each page number's place among all pages sorted by URL."""
        urls = self.pages.urls
        ranks = array("I", bytes(4 * len(urls)))
        for rank, number in enumerate(sorted(range(len(urls)), key=urls.__getitem__)):
            ranks[number] = rank
        return ranks

    def rename_pages(self, rename: Callable[[str], str]) -> array[int] | None:
        """Give every page the name ``rename`` gives it, the whole table at once (renaming
        link by link looked a page up once per link that names it).

        When no two pages get one name, the pages are renamed where they are: every
        occurrence keeps its page number (nothing is copied or read back from the spill
        file) and None is returned. Otherwise the table keeps the old names and gains the
        new ones, and the result is, for each page number, the number of its page renamed,
        for :meth:`Occurrences.with_pages_renumbered` (two pages that became one are then
        one number)."""
        pages = self.pages
        names = [rename(url) for url in pages.urls]
        if len(set(names)) == len(names):
            pages.rename(names)
            return None
        return array("I", [pages.number(name) for name in names])


# The tables of the run going on in this context: set by the runner for the whole run, and
# seen by every asyncio task it starts (a task copies its creator's context, PEP 567).
_run_tables: ContextVar[OccurrenceTables] = ContextVar("linkcheck_occurrence_tables")


def current_tables() -> OccurrenceTables:
    """The tables of the run going on in this context. Outside a run (a library user's own
    :class:`Link`), tables are made on first use and kept for this context."""
    tables = _run_tables.get(None)
    if tables is None:
        tables = OccurrenceTables()
        _run_tables.set(tables)
    return tables


@contextmanager
def run_tables(in_memory: int = 0) -> Iterator[OccurrenceTables]:
    """New, empty tables for the run in this block (and the tasks it starts); the context's
    earlier tables are back after it. Occurrences made in the block keep these tables; past
    ``in_memory`` of them (0: no limit) they go to the run's spill file."""
    tables = OccurrenceTables(in_memory)
    token = _run_tables.set(tables)
    try:
        yield tables
    finally:
        _run_tables.reset(token)


class Occurrences(Sequence[Occurrence]):
    """Where one link occurs, stored compactly; reads as a sequence of :class:`Occurrence`.

    A crawl keeps one occurrence per link per page — millions on a large site — and nearly
    all of a nav link's occurrences differ only by page and line. So each is three numbers
    in an array: the page, the line, and the variant (href, text, tag, attr, fragment),
    the page and the variant numbered in the run's :class:`OccurrenceTables` (``tables``,
    the context's :func:`current_tables` unless given): a few bytes an occurrence instead
    of a tuple and its strings. Past the tables' ``in_memory``, the numbers move to the
    run's spill file: the first ``_spilled`` occurrences are read from there, in order.
    """

    __slots__ = ("_last", "_rows", "_spilled", "tables")

    def __init__(
        self, items: Iterable[Occurrence] = (), tables: OccurrenceTables | None = None
    ) -> None:
        # Bound once, when the link is made: a report written after the run (outside its
        # context) still reads this run's tables.
        self.tables = tables if tables is not None else current_tables()
        # (page number, line, variant number) for each occurrence held in memory, one after
        # the other: one array per link rather than three (a large crawl has tens of
        # thousands of links)
        self._rows = array("I")
        self._spilled = 0  # occurrences before those in _rows, in the spill file
        self._last = 0  # the last batch of them there (0: none spilled yet)
        for item in items:
            self.append(item)

    def _all_rows(self) -> array[int]:
        """Every occurrence's three numbers, the spilled ones read back first."""
        if not self._spilled:
            return self._rows
        spill = self.tables.spill
        assert spill is not None
        rows = array("I")
        rows.frombytes(spill.read_rows(self._last))
        rows.extend(self._rows)
        return rows

    def _rows_spilled(self, batch: int) -> None:
        """The rows held in memory were written to the spill file as ``batch``."""
        self._spilled += len(self._rows) // 3
        self._rows = array("I")
        self._last = batch

    @property
    def _pages(self) -> array[int]:
        return self._all_rows()[0::3]

    @property
    def _kinds(self) -> array[int]:
        return self._all_rows()[2::3]

    def append(self, item: Occurrence) -> None:
        page, href, text, tag, attr, line, fragment = item
        tables = self.tables
        self.add(
            tables.pages.number(page),
            line,
            tables.variants.number((href, text, tag, attr, fragment)),
        )

    def add(self, page_number: int, line: int, variant_number: int) -> None:
        """Append one occurrence by numbers in :attr:`tables` (the crawl adds a page's at
        once: :meth:`OccurrenceTables.add_page`)."""
        self.tables.add_page(page_number, (self,), (line,), (variant_number,))

    def extend(self, items: Iterable[Occurrence]) -> None:
        if isinstance(items, Occurrences) and items.tables is self.tables:  # numbers to numbers
            self.tables.hold(self, items._all_rows())
            return
        for item in items:
            self.append(item)

    def bound_to(self, tables: OccurrenceTables) -> Occurrences:
        """These occurrences numbered in ``tables``: itself when they already are."""
        return self if self.tables is tables else Occurrences(self, tables)

    def _with_rows(self, rows: array[int]) -> Occurrences:
        made = Occurrences(tables=self.tables)
        if rows:
            self.tables.hold(made, rows)
        return made

    def with_pages_renumbered(self, numbers: Sequence[int]) -> Occurrences:
        """A copy whose page ``n`` is page ``numbers[n]`` (see
        :meth:`OccurrenceTables.rename_pages`)."""
        rows = array("I", self._all_rows())
        rows[0::3] = array("I", map(numbers.__getitem__, rows[0::3]))
        return self._with_rows(rows)

    def split_by_variant(self, groups: Mapping[int, K]) -> tuple[dict[K, Occurrences], Occurrences]:
        """These occurrences split by variant number: those whose variant is a key of
        ``groups`` go to that group's copy, the others to the rest, each in the same order;
        no occurrence built, no variant looked up, the rows read once. The rows that move
        are usually few (the fragment check's, among a link's occurrences): the others are
        copied a stretch at a time, not one by one."""
        rows = self._all_rows()
        kinds = rows[2::3]
        moved = [index for index, kind in enumerate(kinds) if kind in groups]
        if not moved:
            return {}, self._with_rows(array("I", rows))
        data = memoryview(rows).cast("B")
        size = 3 * rows.itemsize  # bytes of one occurrence
        parts: dict[K, list[bytes]] = {}
        rest: list[bytes] = []
        start = 0
        for index in moved:
            rest.append(data[start : index * size].tobytes())
            start = (index + 1) * size
            parts.setdefault(groups[kinds[index]], []).append(data[index * size : start].tobytes())
        rest.append(data[start:].tobytes())
        data.release()
        split = {group: self._with_rows(_rows_of(pieces)) for group, pieces in parts.items()}
        return split, self._with_rows(_rows_of(rest))

    def variants_in_order(self) -> list[int]:
        """The distinct variants it is written with, by number in :attr:`tables`, in the
        order of their first occurrence."""
        return list(dict.fromkeys(self._kinds))

    def on_pages_other_than(self, url: str) -> bool:
        """Whether the link occurs on any page but ``url`` (links to itself do not count)."""
        own = self.tables.pages.find(url)
        return any(page != own for page in self._pages)

    def page_urls(self) -> set[str]:
        """The pages it occurs on (one look at each page number, no occurrence built)."""
        urls = self.tables.pages.urls
        return {urls[number] for number in set(self._pages)}

    def hrefs(self) -> set[str]:
        """The distinct hrefs it is written with (one look at each variant)."""
        variants = self.tables.variants
        return set(variants.hrefs(set(self._kinds)))

    def absolute_forms(self, url: str) -> set[str]:
        """The forms (:func:`href_form`) of the http(s):// hrefs it is written with, once
        each, when it is the link to ``url`` (the site-wide consistency check's question:
        the hrefs read that are not written as ``url``)."""
        return self.tables.variants.absolute_forms(set(self._kinds), url)

    def href_counts(self) -> dict[str, int]:
        """How often each href is written, counted without building the occurrences."""
        variants = self.tables.variants
        counts: dict[str, int] = {}
        by_kind = Counter(self._kinds)
        for href, count in zip(variants.hrefs(by_kind), by_kind.values(), strict=True):
            counts[href] = counts.get(href, 0) + count
        return counts

    @property
    def fragments(self) -> set[str]:
        """The distinct #fragments used (cheap: one look at each variant that has one)."""
        variants = self.tables.variants
        return set(variants.fragments(variants.with_fragment(set(self._kinds))))

    def in_page_order(self) -> list[Occurrence]:
        """The occurrences by page URL, then line: the order every report lists them in."""
        return [
            Occurrence(page, href, text, tag, attr, line, fragment)
            for page, line, (href, text, tag, attr, fragment) in self.rows_in_page_order()
        ]

    def rows_in_page_order(self) -> list[tuple[str, int, Variant]]:
        """(page URL, line, variant) by page URL, then line: for writing large reports."""
        rows = self.numbers_in_page_order()
        variants = self.tables.variants.by_number(row[2] for row in rows)
        return [(page, line, variants[kind]) for page, line, kind in rows]

    def numbers_by_page(self, ranks: Sequence[int]) -> list[tuple[int, int, int, int]]:
        """(page rank, line, variant number, page number), sorted: ranks from
        :meth:`OccurrenceTables.page_ranks` follow the page URLs, so this is
        :meth:`numbers_in_page_order` compared as integers."""
        rows = self._all_rows()
        pages = rows[0::3]
        return sorted(
            zip(map(ranks.__getitem__, pages), rows[1::3], rows[2::3], pages, strict=True)
        )

    def numbers_in_page_order(self) -> list[tuple[str, int, int]]:
        """(page URL, line, variant number) by page URL, then line (numbers in :attr:`tables`)."""
        urls = self.tables.pages.urls
        rows = self._all_rows()
        pages = [urls[page] for page in rows[0::3]]
        return sorted(zip(pages, rows[1::3], rows[2::3], strict=True))

    def _make(self, rows: array[int], position: int) -> Occurrence:
        page, line, kind = rows[3 * position : 3 * position + 3]
        href, text, tag, attr, fragment = self.tables.variants[kind]
        return Occurrence(self.tables.pages.urls[page], href, text, tag, attr, line, fragment)

    def __len__(self) -> int:
        return self._spilled + len(self._rows) // 3

    def __bool__(self) -> bool:
        return bool(self._spilled or self._rows)

    def to_bytes(self) -> bytes:
        """The numbers, little-endian (see :meth:`from_bytes`): a resume point's form."""
        return _little_endian(self._all_rows())

    def held_state(self) -> tuple[int, int, bytes]:
        """How many occurrences are in the spill file, the last batch of them there, and the
        numbers held in memory (little-endian): a resume point's form when the spill file's
        rows are stored beside it (see linkcheck.checkpoint.new_parts)."""
        return self._spilled, self._last, _little_endian(self._rows)

    @classmethod
    def from_held_state(
        cls, tables: OccurrenceTables, spilled: int, last: int, held: bytes
    ) -> Occurrences:
        """:meth:`held_state` read back into ``tables``, whose spill holds the same batches
        (the page and variant numbers the same)."""
        made = cls(tables=tables)
        made._spilled, made._last = spilled, last
        rows = _from_little_endian(held)
        if rows:
            tables.hold(made, rows)
        return made

    @classmethod
    def from_bytes(
        cls, data: bytes, pages: Sequence[int], variant_offset: int, tables: OccurrenceTables
    ) -> Occurrences:
        """Read :meth:`to_bytes` from another process: its page number ``n`` is now
        ``pages[n]``, and its variant ``k`` is now ``k + variant_offset``, in ``tables``."""
        rows = _from_little_endian(data)
        rows[0::3] = array("I", [pages[page] for page in rows[0::3]])
        rows[2::3] = array("I", [kind + variant_offset for kind in rows[2::3]])
        return cls(tables=tables)._with_rows(rows)

    @overload
    def __getitem__(self, index: int) -> Occurrence: ...

    @overload
    def __getitem__(self, index: slice) -> list[Occurrence]: ...

    def __getitem__(self, index: int | slice) -> Occurrence | list[Occurrence]:
        rows = self._all_rows()
        if isinstance(index, slice):
            return [self._make(rows, position) for position in range(len(self))[index]]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("occurrence index out of range")
        return self._make(rows, index)

    def __iter__(self) -> Iterator[Occurrence]:
        urls = self.tables.pages.urls
        all_rows = self._all_rows()
        variants = self.tables.variants.by_number(all_rows[2::3])
        rows = iter(all_rows)
        for page, line, kind in zip(rows, rows, rows, strict=True):
            href, text, tag, attr, fragment = variants[kind]
            yield Occurrence(urls[page], href, text, tag, attr, line, fragment)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Occurrences | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Occurrences({list(self)!r})"


# Each type below converts to and from a dict once, here: the JSON report, the report loader,
# the checkpoint, the Redis queue and the result cache all use the same shape (the report's,
# documented in README.md "JSON report"; tests/report/schemas holds its JSON schema).


@dataclass(frozen=True, slots=True)
class RedirectHop:
    url: str
    status: int

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "status": self.status}

    @classmethod
    def from_dict(cls, item: dict[str, Any]) -> RedirectHop:
        return cls(str(item["url"]), int(item["status"]))


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of checking one unique URL."""

    url: str
    verdict: Verdict
    status: int | None = None
    final_url: str | None = None
    redirects: tuple[RedirectHop, ...] = ()
    error: ErrorKind | None = None
    message: str = ""  # a human-readable detail: the reason for an error, skip or exclusion
    checked_url: str | None = None  # the URL actually requested when a remap rule applied
    elapsed: float = 0.0  # seconds spent checking, retries included
    from_cache: bool = False  # reused from an earlier run's result (see [cache])

    @property
    def redirect_kind(self) -> RedirectKind | None:
        """Permanent when every hop is permanent: only then is the final URL a safe replacement."""
        if self.verdict is not Verdict.REDIRECTED or not self.redirects:
            return None
        if all(hop.status in PERMANENT_REDIRECT_STATUSES for hop in self.redirects):
            return RedirectKind.PERMANENT
        return RedirectKind.TEMPORARY

    def renamed(self, name: Callable[[str], str], message: str) -> CheckResult:
        """This result with its URLs (its own, its final URL's, its hops') named by ``name``
        and ``message`` in place of its own: a folder's files named where a crawl names
        URLs. Built field by field, not with dataclasses.replace: a large folder's every
        link is renamed, and replace costs several times the constructor."""
        redirects = self.redirects
        if redirects:
            redirects = tuple(RedirectHop(name(hop.url), hop.status) for hop in redirects)
        final_url = self.final_url
        return CheckResult(
            name(self.url),
            self.verdict,
            self.status,
            name(final_url) if final_url else None,
            redirects,
            self.error,
            message,
            self.checked_url,
            self.elapsed,
            self.from_cache,
        )

    def to_dict(self) -> dict[str, Any]:
        """The result as the JSON report writes it (``redirect_kind`` is derived, never read
        back; ``elapsed_seconds`` to the millisecond)."""
        kind = self.redirect_kind
        return {
            "url": self.url,
            "verdict": self.verdict.value,
            "status": self.status,
            "final_url": self.final_url,
            "redirect_kind": kind.value if kind else None,
            "redirects": [hop.to_dict() for hop in self.redirects],
            "error": self.error.value if self.error else None,
            "message": self.message or None,
            "checked_url": self.checked_url,
            "elapsed_seconds": round(self.elapsed, 3),
            "from_cache": self.from_cache,
        }

    @classmethod
    def from_dict(cls, item: dict[str, Any]) -> CheckResult:
        """Read :meth:`to_dict` (or a JSON report's link); the keys the report's schema
        does not require take their defaults."""
        return cls(
            url=item["url"],
            verdict=Verdict(item["verdict"]),
            status=item["status"],
            final_url=item["final_url"],
            redirects=tuple(RedirectHop.from_dict(hop) for hop in item["redirects"]),
            error=ErrorKind(item["error"]) if item["error"] else None,
            message=item.get("message") or "",
            checked_url=item.get("checked_url"),
            elapsed=float(item.get("elapsed_seconds") or 0.0),
            from_cache=bool(item.get("from_cache")),
        )


@dataclass(slots=True)
class Link:
    """A unique URL found during the run, with every place it occurs and its check result."""

    url: str
    internal: bool
    occurrences: Occurrences = field(default_factory=Occurrences)
    result: CheckResult | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.occurrences, Occurrences):  # a library user's plain list
            self.occurrences = Occurrences(self.occurrences)


@dataclass(frozen=True, slots=True)
class Page:
    """A page that was fetched and parsed (in crawl scope)."""

    url: str
    depth: int
    title: str
    status: int | None
    links_found: int
    # other addresses of the same document (dir/index.html beside dir/, a page whose
    # <link rel=canonical> names this one): listed here, not as pages of their own
    aliases: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "url": self.url,
            "title": self.title,
            "status": self.status,
            "depth": self.depth,
            "links": self.links_found,
        }
        if self.aliases:  # an optional key: a report without aliases reads as before
            item["aliases"] = list(self.aliases)
        return item

    @classmethod
    def from_dict(cls, item: dict[str, Any]) -> Page:
        return cls(
            item["url"],
            int(item["depth"]),
            item["title"],
            item["status"],
            int(item["links"]),
            tuple(item.get("aliases") or ()),
        )


@dataclass(frozen=True, slots=True)
class Finding:
    """A content-quality problem that is not a dead link: advice for an editor.

    ``severity`` is "error" (mixed content, a malformed mailto:) or "warning" (an insecure
    link, unhelpful link text, a soft 404's neighbours). ``page`` is "" for site-wide ones.
    ``targets``: the addresses one link text leads to on the page (same-text-different-
    targets, sorted; empty for every other kind), whose message is made from them and the
    text when asked for, not kept: a large site has such a finding on nearly every page,
    and each one's message, listing every address, was most of what its findings held.
    """

    kind: FindingKind
    severity: str
    url: str
    page: str
    href: str
    text: str
    line: int
    note: str  # the message, when it is not made from the targets
    targets: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        """What is wrong and what to do, in plain language."""
        if not self._made:
            return self.note
        return f"{self._lead} ({', '.join(self.targets)}); {_SAME_TEXT_ADVICE}"

    @property
    def brief(self) -> str:
        """The message without the addresses, for a report that lists :attr:`targets`
        apart (the HTML report: a list is easier to read than a sentence of URLs)."""
        if not self._made:
            return self.note
        return f"{self._lead}; {_SAME_TEXT_ADVICE}"

    @property
    def _made(self) -> bool:
        """The message is made from the text and the targets (see from_dict)."""
        return bool(self.targets) and self.kind is FindingKind.SAME_TEXT_DIFFERENT_TARGETS

    @property
    def _lead(self) -> str:
        return f"“{self.text}” links to {len(self.targets)} different addresses on this page"

    def renamed(self, name: Callable[[str], str]) -> Finding:
        """This finding with its URLs (its own, its page's, its targets') named by ``name``
        (see CheckResult.renamed)."""
        targets = self.targets
        return Finding(
            self.kind,
            self.severity,
            name(self.url),
            name(self.page),
            self.href,
            self.text,
            self.line,
            self.note,
            tuple(name(target) for target in targets) if targets else targets,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "severity": self.severity,
            "url": self.url,
            "page": self.page or None,
            "href": self.href,
            "text": self.text,
            "line": self.line,
            "message": self.message,
            "targets": list(self.targets),
        }

    @classmethod
    def from_dict(cls, item: dict[str, Any]) -> Finding:
        read = cls(
            FindingKind(item["kind"]),
            item["severity"],
            item["url"],
            item.get("page") or "",
            item["href"],
            item["text"],
            int(item["line"]),
            "",
            tuple(item.get("targets") or ()),
        )
        # a made message is made again (see message); any other is read as written
        return read if read._made else replace(read, note=item["message"])


_SAME_TEXT_ADVICE = "readers expect the same text to lead to the same place."


@dataclass(frozen=True, slots=True)
class LinkMemory:
    """What earlier runs and the baseline say about a link that fails now."""

    failing_runs: int  # runs in a row it has failed, this one included
    failing_since: datetime | None  # when the first of those runs started
    new: bool  # it did not fail in the previous run
    accepted_reason: str | None = None  # the baseline accepts it for now, for this reason
    accepted_until: date | None = None
    tolerated: bool = False  # failing fewer runs in a row than failures_before_broken

    @property
    def counts(self) -> bool:
        """Whether this failure should fail the run (not accepted, not tolerated yet)."""
        return self.accepted_reason is None and not self.tolerated

    def to_dict(self) -> dict[str, Any]:
        """As a link's ``history`` in the JSON report."""
        since, until = self.failing_since, self.accepted_until
        return {
            "failing_runs": self.failing_runs,
            "failing_since": since.isoformat() if since else None,
            "new": self.new,
            "accepted": self.accepted_reason,
            "accepted_until": until.isoformat() if until else None,
            "tolerated": self.tolerated,
        }

    @classmethod
    def from_dict(cls, item: dict[str, Any]) -> LinkMemory:
        since, until = item.get("failing_since"), item.get("accepted_until")
        return cls(
            failing_runs=int(item["failing_runs"]),
            failing_since=datetime.fromisoformat(since) if since else None,
            new=bool(item["new"]),
            accepted_reason=item.get("accepted"),
            accepted_until=date.fromisoformat(until) if until else None,
            tolerated=bool(item.get("tolerated")),
        )


@dataclass(slots=True, repr=False)
class RunResult:
    """Everything a report needs: results, where each link occurs, and the facts of the run."""

    start_urls: list[str]
    started_at: datetime
    finished_at: datetime
    links: dict[str, Link]
    pages: list[Page]
    limits_hit: list[str] = field(default_factory=list)  # e.g. "max pages (500) reached"
    interrupted: bool = False
    interrupted_by: str = ""  # "SIGINT", "SIGTERM" or "cancelled"
    config_summary: dict[str, object] = field(default_factory=dict)
    start_failures: list[str] = field(default_factory=list)  # one line per unusable start URL
    root: str = ""  # a checked folder (linkcheck run ./public), as the user named it
    base_url: str = ""  # the address that folder was checked as
    orphans: list[str] = field(default_factory=list)  # files in the folder no page links to
    setup_errors: list[str] = field(default_factory=list)  # e.g. a base_url that cannot be right
    findings: list[Finding] = field(default_factory=list)  # content-quality warnings and errors
    notes: list[str] = field(default_factory=list)  # facts worth knowing: sitemaps, app shells
    memory: dict[str, LinkMemory] = field(default_factory=dict)  # failing links: their history
    fixed: list[str] = field(default_factory=list)  # failed in the previous run, work now
    expired_acceptances: list[str] = field(default_factory=list)  # baseline entries past date
    cache_hits: int = 0  # external links answered from the result cache

    def __repr__(self) -> str:
        # Short on purpose: asyncio.run() formats the repr of its main task (whose result
        # this is) when it restores the SIGINT handler; a full repr of a large run's
        # occurrences made every run slower.
        return (
            f"RunResult(start_urls={self.start_urls!r}, links={len(self.links)}, "
            f"pages={len(self.pages)}, complete={self.complete})"
        )

    @property
    def complete(self) -> bool:
        return not self.interrupted and not self.limits_hit

    @property
    def duration(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def counts(self) -> dict[str, int]:
        """Unique links per verdict, every verdict present (zero when none)."""
        counts = {verdict.value: 0 for verdict in Verdict}
        for link in self.links.values():
            if link.result is not None:
                counts[link.result.verdict.value] += 1
        return counts

    def results_with(self, *verdicts: Verdict) -> list[Link]:
        return [
            link
            for link in self.links.values()
            if link.result is not None and link.result.verdict in verdicts
        ]
