"""Occurrences past ``[crawl] occurrences_in_memory`` go to the run's spill file: a run
holds at most that many in memory, and its reports are the same as a run that kept them all.
"""

from __future__ import annotations

import base64
import os
import socket
import sys
import tempfile
from array import array
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from linkcheck import report
from linkcheck.checkpoint import Tables, tables_to_state
from linkcheck.models import (
    VARIANT_BYTES_PER_OCCURRENCE,
    Link,
    Occurrence,
    Occurrences,
    OccurrenceTables,
    RunResult,
)
from linkcheck.report import json_part, json_report, write_reports
from linkcheck.report.html_report import build_report
from linkcheck.report.json_report import render_json, to_document
from linkcheck.store.spill import Spill
from tests.conftest import crawl
from tests.server import serving_with_closed_neighbours

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
import gensite_other  # noqa: E402  (bench/ is not a package)

PAGES = 80  # ~75 links a page: ~6,000 occurrences
IN_MEMORY = 250  # far below the site's ~5,000 occurrences: the run spills many times


class _Quiet(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gensite_other's shape (deep folders, #fragments, some missing) on a loopback server;
    its other sites' ports are held shut, so their links fail at once in every run (another
    test's server on one of them would answer them in one of the two runs compared below
    and not in the other)."""
    with serving_with_closed_neighbours(_Quiet, len(gensite_other.EXT_HOSTS)) as server:
        port = server.server_address[1]
        folder = tmp_path_factory.mktemp("spill") / "site"
        gensite_other.generate(folder, PAGES, port=port)
        server.RequestHandlerClass = partial(_Quiet, directory=str(folder / "www" / "main"))  # type: ignore[assignment]
        yield f"http://127.0.0.1:{port}/docs/index.html"


def test_the_sites_other_hosts_are_refused_and_their_ports_stay_taken(site: str) -> None:
    """The fixture's promise, which the comparison below rests on: a connection to one of
    the other hosts' ports is refused, and no server can take the port meanwhile."""
    port = int(site.split(":")[2].split("/")[0])
    for neighbour in range(port + 1, port + 1 + len(gensite_other.EXT_HOSTS)):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", neighbour), timeout=2).close()
        with socket.socket() as other, pytest.raises(OSError):
            other.bind(("127.0.0.1", neighbour))


def _run(start: str, in_memory: int) -> RunResult:
    return crawl(
        start,
        crawl={"occurrences_in_memory": in_memory, "parse_workers": 0},
        http={"retries": 1, "timeout": 10.0},  # a busy machine must not lose a page
    )


def _comparable(run: RunResult) -> dict[str, Any]:
    """The JSON report less what differs between any two runs (times, the setting)."""
    document = to_document(run)
    del document["run"]["started_at"], document["run"]["finished_at"]
    del document["run"]["duration_seconds"], document["run"]["config"]
    for link in document["links"]:
        del link["elapsed_seconds"]
    return document


def _held(run: RunResult) -> int:
    """Occurrences the run's links hold in memory (not in the spill file)."""
    return sum(len(link.occurrences._rows) // 3 for link in run.links.values())


def test_a_spilling_run_holds_at_most_the_threshold_and_reports_the_same(
    site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spills, most = 0, 0
    spill_all, add, hold = OccurrenceTables.spill_all, Occurrences.add, OccurrenceTables.hold
    add_page = OccurrenceTables.add_page

    def counted(self: OccurrenceTables) -> None:
        nonlocal spills
        spills += 1
        spill_all(self)

    def added(self: Occurrences, *numbers: int) -> None:
        nonlocal most
        add(self, *numbers)
        most = max(most, self.tables.held)  # held in memory once an occurrence is in

    def held(self: OccurrenceTables, occurrences: Occurrences, rows: Any) -> None:
        nonlocal most
        hold(self, occurrences, rows)
        most = max(most, self.held)

    def page_added(self: OccurrenceTables, *args: Any) -> None:
        nonlocal most
        add_page(self, *args)
        most = max(most, self.held)

    monkeypatch.setattr(OccurrenceTables, "add_page", page_added)
    monkeypatch.setattr(OccurrenceTables, "spill_all", counted)
    monkeypatch.setattr(Occurrences, "add", added)
    monkeypatch.setattr(OccurrenceTables, "hold", held)
    kept = _run(site, 0)  # 0: no limit, all in memory
    assert spills == 0 and _held(kept) > 10 * IN_MEMORY

    most = 0
    spilled = _run(site, IN_MEMORY)
    tables = next(iter(spilled.links.values())).occurrences.tables
    assert tables.spill is not None and tables.spill.rows_written > 0 and spills > 10
    assert 0 < most <= IN_MEMORY
    assert _held(spilled) <= IN_MEMORY
    assert sum(map(len, (link.occurrences for link in spilled.links.values()))) == sum(
        map(len, (link.occurrences for link in kept.links.values()))
    )
    assert _comparable(spilled) == _comparable(kept)
    # the HTML report's groups (by page, by link, template links) from the same places
    ours, theirs = build_report(spilled), build_report(kept)
    assert [(view.page, [(row.problem.link.url, row.occurrence) for row in view.rows])
            for view in ours.pages] == [
        (view.page, [(row.problem.link.url, row.occurrence) for row in view.rows])
        for view in theirs.pages
    ]  # fmt: skip
    assert [problem.link.url for problem in ours.template] == [
        problem.link.url for problem in theirs.template
    ]


def _occurrence(page: int, line: int, variant: int) -> Occurrence:
    return Occurrence(
        f"https://example.org/p{page}", f"/t{variant}#s{variant % 3}", f"text {variant}", "a",
        "href", line, f"s{variant % 3}" if variant % 3 else "",
    )  # fmt: skip


@pytest.mark.parametrize("in_memory", [1, 7, 1000])
def test_occurrences_read_back_in_order_whatever_the_threshold(in_memory: int) -> None:
    tables, plain = OccurrenceTables(in_memory), OccurrenceTables()
    ours = [Occurrences(tables=tables) for _ in range(5)]
    theirs = [Occurrences(tables=plain) for _ in range(5)]
    for step in range(300):
        item = _occurrence(step % 17, step, step % 23)
        ours[step % 5].append(item)
        theirs[step % 5].append(item)
        assert tables.held <= in_memory
    assert (tables.spill is not None) == (in_memory < 300)
    for mine, other in zip(ours, theirs, strict=True):
        assert list(mine) == list(other) and len(mine) == len(other)
        assert mine.to_bytes() == other.to_bytes()
        assert mine.fragments == other.fragments
        assert mine.absolute_forms("https://ex.com/") == other.absolute_forms("https://ex.com/")
        assert mine.href_counts() == other.href_counts()
        assert mine.in_page_order() == other.in_page_order()
        assert mine[-1] == other[-1] and mine[3:9] == other[3:9]
        # variant n is the one of /tn (both tables numbered them in the order they came)
        groups = {number: "a" if number % 2 else "b" for number in range(0, 23, 3)}
        moved, rest = mine.split_by_variant(groups)
        wanted = {
            group: [item for item in other if groups.get(int(item.href[2:4].strip("#"))) == group]
            for group in ("a", "b")
        }
        assert {group: list(part) for group, part in moved.items()} == {
            group: items for group, items in wanted.items() if items
        }
        assert list(rest) == [
            item for item in other if int(item.href[2:4].strip("#")) not in groups
        ]
    # a resume point's copy of the variant table reads back the same variants
    header, lines = tables_to_state(tables)
    state: dict[str, Any] = {**header, "variants": b"", "variant_ends": b""}
    for line in lines:  # as checkpoint.decode gathers them
        ((key, value),) = line.items()
        state[key] += base64.b64decode(value)
    restored = Tables(state, OccurrenceTables())
    copy = Occurrences.from_bytes(
        ours[0].to_bytes(), restored.pages, restored.variant_offset, restored.into
    )
    assert list(copy) == list(theirs[0])


@pytest.mark.parametrize("in_memory", [1, 7, 1000])
def test_a_page_at_a_time_is_the_same_as_one_by_one(in_memory: int) -> None:
    """The crawl adds a page's occurrences at once (OccurrenceTables.add_page): what is held
    never passes the threshold after a page (a page with more than it is spilled at once),
    and every link reads back what adding them one by one gives."""
    tables, plain = OccurrenceTables(in_memory), OccurrenceTables()
    ours = [Occurrences(tables=tables) for _ in range(5)]
    theirs = [Occurrences(tables=plain) for _ in range(5)]
    kinds = [tables.variants.number((f"/t{k}", "t", "a", "href", "")) for k in range(9)]
    assert kinds == [plain.variants.number((f"/t{k}", "t", "a", "href", "")) for k in range(9)]
    step = 0
    for page in range(60):
        size = 1 + page % 9  # 1 to 9 links on a page, some twice
        owners = [step + n for n in range(size)]
        lines = [10 + n for n in range(size)]
        variants = [kinds[(page + n) % 9] for n in range(size)]
        url = f"https://example.org/p{page}"
        number = tables.pages.number(url)
        assert number == plain.pages.number(url)
        tables.add_page(number, [ours[o % 5] for o in owners], lines, variants)
        for owner, line, variant in zip(owners, lines, variants, strict=True):
            theirs[owner % 5].add(number, line, variant)
        assert tables.held <= in_memory
        step += size
    assert (tables.spill is not None) == (in_memory < step)
    for mine, other in zip(ours, theirs, strict=True):
        assert mine.to_bytes() == other.to_bytes() and list(mine) == list(other)


def test_a_link_made_with_a_plain_list_keeps_it() -> None:
    link = Link("https://example.org/", internal=True, occurrences=[_occurrence(1, 2, 3)])  # type: ignore[arg-type]
    assert list(link.occurrences) == [_occurrence(1, 2, 3)]


def test_the_variants_text_spills_on_its_own_budget() -> None:
    """Rows may be kept in large rounds while the text of the ways links are written stays
    within VARIANT_BYTES_PER_OCCURRENCE for each occurrence kept: it moves on its own."""
    in_memory = 100
    budget = in_memory * VARIANT_BYTES_PER_OCCURRENCE
    tables, plain = OccurrenceTables(in_memory), OccurrenceTables()
    ours, theirs = Occurrences(tables=tables), Occurrences(tables=plain)
    longest = 0
    for step in range(90):  # fewer occurrences than in_memory: no row is spilled
        item = _occurrence(step % 7, step, step)  # every one written its own way
        ours.append(item)
        theirs.append(item)
        longest = max(longest, len(tables.variants._data))
    assert tables.spill is not None and tables.spill.rows_written == 0
    assert tables.spill.text_size > budget  # the text went, several times
    assert longest <= budget + 100  # never more than the budget and one variant
    assert list(ours) == list(theirs) and ours.to_bytes() == theirs.to_bytes()
    assert ours.href_counts() == theirs.href_counts() and ours.fragments == theirs.fragments


def test_each_links_batches_read_back_as_one_chain() -> None:
    """The spill file keeps a chain of batches per link: read back in the order written,
    whether the batches are apart (other links wrote between them) or next to each other."""
    spill = Spill()
    try:
        spill.write_rows([(0, b"a1"), (0, b"b1")])  # batches 1, 2
        first = spill.next_batch
        spill.write_rows([(1, b"a2")])  # 3: a's second, right after b's first
        spill.write_rows([(3, b"a3"), (2, b"b2")])  # 4 follows 3 in the file: one read
        assert first == 3 and spill.rows_written == 5
        assert spill.read_rows(4) == b"a1a2a3"
        assert spill.read_rows(5) == b"b1b2"
        assert spill.read_rows(0) == b""
    finally:
        spill.close()


def test_a_link_held_twice_is_spilled_once() -> None:
    """Holding no rows lists a link among those holding rows; listed again when it gets
    some, its rows still go to the spill file once."""
    tables, plain = OccurrenceTables(4), OccurrenceTables()
    ours, theirs = Occurrences(tables=tables), Occurrences(tables=plain)
    tables.hold(ours, array("I"))
    for step in range(12):
        item = _occurrence(step % 3, step, step % 2)
        ours.append(item)
        theirs.append(item)
    assert tables.spill is not None and len(ours) == len(theirs) == 12
    assert list(ours) == list(theirs)


def test_the_text_is_read_by_offset_as_it_grows() -> None:
    """Spilled text is read by offset: text written after a read reads back too, and text
    above ``base`` from the bytes kept in memory."""
    spill = Spill()
    try:
        spill.write_text(b"abc")
        assert spill.read_spans([(0, 3), (1, 2)], 3, bytearray()) == [b"abc", b"b"]
        spill.write_text(b"defg")
        kept = bytearray(b"xyz")  # the bytes from offset 7 on, still in memory
        assert spill.read_spans([(3, 7), (0, 3), (7, 9)], 7, kept) == [b"defg", b"abc", b"xy"]
    finally:
        spill.close()


def test_tables_read_by_another_process_read_back_the_same() -> None:
    """A large run's JSON report is written in part by a process of its own, which reads the
    run's tables through :meth:`OccurrenceTables.reading_copy`: what is held in memory goes
    to the spill file first, and the copy, over the same files (here through descriptors of
    this process's own, as the other process inherits them), reads every link's
    occurrences, the page URLs and every variant as the tables do."""
    tables = OccurrenceTables(7)
    links = [Occurrences(tables=tables) for _ in range(5)]
    for step in range(300):
        links[step % 5].append(_occurrence(step % 17, step, step % 23))
    assert tables.spill is not None and tables.held > 0  # some rows still in memory
    expected = [list(occurrences) for occurrences in links]
    variants = tables.variants.many(range(tables.variants.count))
    with tempfile.TemporaryFile() as request:
        rows, text = tables.reading_copy(request)
        assert tables.held == 0 and not tables.variants._data  # all of it in the files now
        request.seek(0)
        copy = OccurrenceTables.read_copy(request, (os.dup(rows), os.dup(text)))
        assert request.read() == b""  # the copy read all it was written, and no more
    assert copy.pages.urls == tables.pages.urls
    assert copy.variants.many(range(copy.variants.count)) == variants
    for occurrences, wanted in zip(links, expected, strict=True):
        assert list(occurrences) == wanted  # still read in this process, from the files
        read = Occurrences.from_held_state(copy, *occurrences.held_state())
        assert list(read) == wanted
        assert read.numbers_by_page(copy.page_ranks()) == occurrences.numbers_by_page(
            tables.page_ranks()
        )
    assert copy.spill is not None
    copy.spill.close()  # its own descriptors: the run's files are still read
    assert [list(occurrences) for occurrences in links] == expected


@pytest.fixture(scope="module")
def spilled_run(site: str) -> RunResult:
    return _run(site, IN_MEMORY)


def _parts_started(monkeypatch: pytest.MonkeyPatch) -> list[json_part.Part | None]:
    """Every process :mod:`linkcheck.report.json_part` starts from now on (at any size)."""
    started: list[json_part.Part | None] = []
    start = json_part.start

    def starting(*args: Any) -> json_part.Part | None:
        started.append(start(*args))
        return started[-1]

    monkeypatch.setattr(json_part, "AT_LEAST_OCCURRENCES", 0)
    monkeypatch.setattr(json_part, "start", starting)
    return started


def test_a_spilled_runs_json_report_is_the_same_written_in_two_processes(
    spilled_run: RunResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large run's JSON report is written in two processes (see linkcheck.report.json_part):
    the same bytes as written in one; and when the other process fails (its request cut
    short), this process writes its part."""
    one = b"".join(render_json(spilled_run))
    started = _parts_started(monkeypatch)
    answers: list[bool] = []
    written = json_part.Part.written

    def waited(self: json_part.Part) -> bool:
        answers.append(written(self))
        return answers[-1]

    monkeypatch.setattr(json_part.Part, "written", waited)
    assert b"".join(render_json(spilled_run)) == one
    assert len(started) == 1 and started[0] is not None and answers == [True]

    request = json_report._write_request

    def cut_short(*args: Any) -> tuple[int, int]:
        descriptors = request(*args)
        args[0].truncate(args[0].tell() - 8)  # (the file handed over, args[0], is the request)
        return descriptors

    monkeypatch.setattr(json_report, "_write_request", cut_short)
    assert b"".join(render_json(spilled_run)) == one
    assert len(started) == 2 and answers == [True, False]


def test_a_report_given_up_stops_the_other_process(
    spilled_run: RunResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report that stops being written (an error, Ctrl-C) stops the process writing its
    second part: nothing is left running."""
    started = _parts_started(monkeypatch)
    chunks = render_json(spilled_run)
    while not started:
        next(chunks)
    chunks.close()
    (part,) = started
    assert part is not None and part._process.returncode is not None


def test_the_other_process_starts_before_the_head_and_findings_are_written(
    spilled_run: RunResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process writing the second part works while this one writes the report's head
    and findings (before the links), not after them."""
    started = _parts_started(monkeypatch)
    chunks = render_json(spilled_run)
    assert next(chunks) == b"{\n" and len(started) == 1
    chunks.close()
    assert started[0] is not None and started[0]._process.returncode is not None


def test_other_formats_are_written_while_the_json_reports_other_process_works(
    spilled_run: RunResult, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With the JSON report's second part in a process of its own, the other formats are
    written meanwhile (at json_report.PAUSE, before it is waited for), and every file is
    the one written without that process."""
    formats = ["html", "json", "csv"]
    monkeypatch.setattr(json_part, "AT_LEAST_OCCURRENCES", 10**12)  # no other process
    alone = {
        path.name: path.read_bytes() for path in write_reports(spilled_run, formats, tmp_path / "a")
    }
    started = _parts_started(monkeypatch)
    events: list[str] = []
    write, written = report._write, json_part.Part.written

    def writing(run: RunResult, previous: RunResult | None, fmt: str, path: Path) -> None:
        events.append(fmt)
        write(run, previous, fmt, path)

    def waited(self: json_part.Part) -> bool:
        events.append("waited")
        return written(self)

    monkeypatch.setattr(report, "_write", writing)
    monkeypatch.setattr(json_part.Part, "written", waited)
    both = {
        path.name: path.read_bytes() for path in write_reports(spilled_run, formats, tmp_path / "b")
    }
    assert len(started) == 1 and started[0] is not None
    assert events == ["html", "csv", "waited"]
    assert both.keys() == alone.keys() and both["report.json"] == alone["report.json"]
    assert both["report.csv"] == alone["report.csv"]
    assert both["report.html"] == alone["report.html"]
