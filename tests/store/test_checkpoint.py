"""Resume points: the encoded state reads back whole into the run's tables, the parts that only
grow are stored once across a run's saves, and a resume point of another version is refused
(the run then starts afresh) instead of misread."""

from __future__ import annotations

import random
import zlib
from datetime import UTC, datetime
from functools import partial
from itertools import accumulate
from pathlib import Path
from typing import Any

import pytest

from linkcheck.checkpoint import (
    STATE_VERSION,
    STREAMS,
    Tables,
    decode,
    encode,
    new_parts,
    occurrences_from_state,
    occurrences_to_state,
    page_from_state,
    page_to_state,
    stream_sizes,
    tables_to_state,
)
from linkcheck.crawl_state import CrawlState
from linkcheck.models import Occurrence, Occurrences, OccurrenceTables, Page, run_tables
from linkcheck.runner import ResumePoints
from linkcheck.store import Store, StoreError
from linkcheck.store.compression import decompress

ITEMS = [
    Occurrence("https://ex.com/", "/a", "A", "a", "href", 3),
    Occurrence("https://ex.com/b", "/a#top", "Top", "a", "href", 9, "top"),
]


def test_a_state_reads_back_into_another_runs_tables() -> None:
    saved = OccurrenceTables()
    occurrences = Occurrences(ITEMS, saved)
    OccurrenceTables().pages.number("https://elsewhere/")  # another run's numbers differ
    header, variant_lines = tables_to_state(saved)
    page = Page("https://ex.com/", 0, "Home", 200, links_found=2)
    state = {
        "version": STATE_VERSION,
        "tables": header,
        "pages": [page_to_state(page, frozenset({"top", "main"}))],
    }
    links = [["https://ex.com/a", True, None, occurrences_to_state(occurrences)]]
    read = decode(b"".join(encode(state, [*variant_lines, *links])))

    resumed = OccurrenceTables()
    resumed.pages.number("https://ex.com/zzz")  # the resuming run has numbered a page already
    tables = Tables(read["tables"], into=resumed)
    back = occurrences_from_state(read["links"][0][3], tables)
    assert back.tables is resumed and list(back) == ITEMS
    assert page_from_state(read["pages"][0]) == (page, frozenset({"top", "main"}))
    # a distributed run assembles occurrences as lists of strings: read into the same tables
    lists = occurrences_from_state([list(item) for item in ITEMS], tables)
    assert lists.tables is resumed and list(lists) == ITEMS


@pytest.mark.parametrize("version", [None, 1, 2, STATE_VERSION + 1])
def test_a_state_of_another_version_is_refused(version: int | None) -> None:
    blob = b"".join(encode({"version": version}, []))
    with pytest.raises(ValueError, match="checkpoint version"):
        decode(blob)


def _variants(tables: OccurrenceTables, first: int, count: int) -> None:
    for n in range(first, first + count):
        tables.variants.number((f"/page/{n}", f"Page {n} — テキスト", "a", "href", ""))


def _resumed(store: Store, key: str) -> tuple[dict[str, Any], OccurrenceTables]:
    """The resume point saved under ``key``, decoded with its stored parts, and the tables a
    resuming run would read it into."""
    blob = store.load_checkpoint_blob(key)
    assert blob is not None
    read = decode(blob, partial(store.load_checkpoint_stream, key))
    resumed = OccurrenceTables()
    Tables(read["tables"], into=resumed)
    return read, resumed


def _stored_parts(store: Store) -> list[tuple[str, str, int, int]]:
    """Each stored part's run, stream, start and uncompressed length, in order."""
    rows = (
        store.db.connection()
        .execute(
            "SELECT run, stream, start, data FROM checkpoint_parts ORDER BY run, stream, start"
        )
        .fetchall()
    )
    return [(run, stream, start, len(decompress(data))) for run, stream, start, data in rows]


@pytest.mark.parametrize("in_memory", [0, 50], ids=["in memory", "spilled"])
def test_each_save_stores_only_what_the_tables_added_since_the_last(
    tmp_path: Path, in_memory: int
) -> None:
    """The variant table and the spill file's rows only grow: a resume point stores each of
    their bytes once, across all the saves of a run (encoded whole at every save, they made
    each save of a large crawl cost more than the one before), and reads back whole, into a
    resuming run's fresh tables as into tables that number pages and variants otherwise."""
    tables = OccurrenceTables(in_memory)
    pages = [tables.pages.number(f"https://ex.com/{n}") for n in range(30)]
    links = [Occurrences(tables=tables) for _ in range(3)]
    stored: dict[str, int] = {}
    with Store(tmp_path / "cache.sqlite") as store:
        for round_ in range(3):
            _variants(tables, 200 * round_, 200)
            for n in range(120):  # past in_memory: the rows spill too
                links[n % 3].add(pages[n % 30], round_ * 1000 + n, 200 * round_ + n)
            sizes = stream_sizes(tables)
            header, lines = tables_to_state(tables, parts={"run": "r1", **sizes})
            state = {"version": STATE_VERSION, "tables": header}
            items = [
                [f"https://ex.com/{n}", True, None, occurrences_to_state(link, tables)]
                for n, link in enumerate(links)
            ]
            assert all(isinstance(item[3], dict) for item in items)
            new = list(new_parts(tables, stored))
            for stream in STREAMS:  # only what this round added
                added = sum(len(data) for name, _, data in new if name == stream)
                assert added == sizes[stream] - stored.get(stream, 0)
                assert added > 0 or (stream not in ("variants", "variant_ends") and not in_memory)
            store.save_checkpoint_blob("k", encode(state, [*lines, *items]), new, "r1")
            stored = sizes
        assert (tables.spill is not None and tables.spill.rows_written > 2) == bool(in_memory)
        parts = _stored_parts(store)
        for stream in STREAMS:  # end to end, each byte once
            mine = [(start, length) for _, name, start, length in parts if name == stream]
            assert [start for start, _ in mine] == list(
                accumulate([0] + [length for _, length in mine[:-1]])
            )[: len(mine)]
            assert sum(length for _, length in mine) == stored[stream]
        blob = store.load_checkpoint_blob("k")
        assert blob is not None
        read = decode(blob, partial(store.load_checkpoint_stream, "k"))

    fresh = OccurrenceTables(in_memory)
    into_fresh = Tables(read["tables"], into=fresh)
    assert into_fresh.rows_taken == bool(in_memory)
    other = OccurrenceTables()
    other.pages.number("https://elsewhere/")  # another run's numbers differ
    into_other = Tables(read["tables"], into=other)
    assert not into_other.rows_taken
    for item, link in zip(read["links"], links, strict=True):
        assert list(occurrences_from_state(item[3], into_fresh)) == list(link)
        assert list(occurrences_from_state(item[3], into_other)) == list(link)
    assert fresh.variants.many(range(600)) == tables.variants.many(range(600))


def test_a_new_run_drops_the_parts_of_the_one_before(tmp_path: Path) -> None:
    with Store(tmp_path / "cache.sqlite") as store:
        store.save_checkpoint_blob("k", [b"one"], [("variants", 0, b"abc")], "r1")
        store.save_checkpoint_blob("other", [b"x"], [("variants", 0, b"xyz")], "r9")
        store.save_checkpoint_blob("k", [b"two"], [("variants", 0, b"de")], "r2")
        assert store.load_checkpoint_stream("k", "r1", "variants") == b""
        assert store.load_checkpoint_stream("k", "r2", "variants") == b"de"
        assert store.load_checkpoint_stream("other", "r9", "variants") == b"xyz"  # not its key
        store.clear_checkpoint("k")
        assert store.load_checkpoint_blob("k") is None
        assert [run for run, *_ in _stored_parts(store)] == ["r9"]


def test_a_state_whose_parts_are_short_or_missing_is_unreadable(tmp_path: Path) -> None:
    tables = OccurrenceTables()
    _variants(tables, 0, 10)
    sizes = stream_sizes(tables)
    header, _ = tables_to_state(tables, parts={"run": "r1", **sizes})
    blob = b"".join(encode({"version": STATE_VERSION, "tables": header}, []))
    with Store(tmp_path / "cache.sqlite") as store:
        # the ends stored, the variants' last part lost: a gap stops the stream there
        parts = list(new_parts(tables, {}))
        kept = [part for part in parts if part[0] != "variants"]
        store.save_checkpoint_blob("k", [blob], [*kept, ("variants", 5, b"later")], "r1")
        with pytest.raises(ValueError, match="unreadable checkpoint: 0 of the"):
            decode(blob, partial(store.load_checkpoint_stream, "k"))
    with pytest.raises(ValueError, match="stored apart"):
        decode(blob)


def test_a_runs_resume_points_store_the_table_once_and_read_back_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner's saver remembers what it stored: each save sends what was added since
    the last one that was stored (one that failed counts for nothing)."""
    state = CrawlState(document_of=lambda url: url)
    with run_tables() as tables, Store(tmp_path / "cache.sqlite") as store:
        points = ResumePoints(store, "k", state, datetime(2026, 1, 2, tzinfo=UTC))
        _variants(tables, 0, 100)
        points.save()
        first = stream_sizes(tables)
        assert points.stored == first
        _variants(tables, 100, 100)
        with monkeypatch.context() as patch:

            def fails(*args: object) -> None:
                raise StoreError("disk full")

            patch.setattr(store, "save_checkpoint_blob", fails)
            points.save()  # a warning, and nothing counted as stored
        assert points.stored == first
        _variants(tables, 200, 100)
        points.save()
        assert points.stored == stream_sizes(tables)
        parts = _stored_parts(store)
        read, resumed = _resumed(store, "k")
        assert resumed.variants.many(range(300)) == tables.variants.many(range(300))
    for stream in ("variants", "variant_ends"):  # (nothing spilled: no rows stored)
        assert [start for _, name, start, _ in parts if name == stream] == [0, first[stream]]
    assert {name for _, name, _, _ in parts} == {"variants", "variant_ends"}
    assert read["started_at"] == "2026-01-02T00:00:00+00:00"


def test_a_finished_runs_large_resume_point_gives_its_space_back(tmp_path: Path) -> None:
    """A large run's resume points leave most of the file free once dropped: the file is
    rebuilt then, so that a store kept between CI runs is the size of what it holds; a
    small one's free pages stay (rebuilding would cost more than they do)."""
    noise = random.Random(0).randbytes(24 << 20)  # does not compress
    with Store(tmp_path / "cache.sqlite") as store:
        store.save_checkpoint_blob("small", [b"state"], [("variants", 0, noise[: 1 << 20])], "r")
        store.clear_checkpoint("small")
        assert not store.db.give_back_free_space()  # 1 MB free: kept
        store.save_checkpoint_blob("k", [b"state"], [("variants", 0, noise)], "r")
        grown = store.db.file_size()
        assert grown > 24 << 20
        store.clear_checkpoint("k")
        assert store.db.file_size() < 4 << 20
        assert not store.db.give_back_free_space()  # nothing left to give back


def test_a_resume_point_zlib_wrote_still_resumes(tmp_path: Path) -> None:
    """Resume points were zlib streams before they were Zstandard frames: one an older
    linkcheck left (the state and its stored parts) reads back the same."""
    tables = OccurrenceTables()
    _variants(tables, 0, 40)
    sizes = stream_sizes(tables)
    header, _ = tables_to_state(tables, parts={"run": "r1", **sizes})
    state = {"version": STATE_VERSION, "tables": header}
    blob = b"".join(encode(state, []))
    old = zlib.compress(decompress(blob), 1)  # the same lines, as zlib wrote them
    with Store(tmp_path / "cache.sqlite") as store:
        store.save_checkpoint_blob("k", [old], [], "r1")
        with store.db.write() as conn:  # the parts, as zlib wrote them
            for stream, start, data in new_parts(tables, {}):
                conn.execute(
                    "INSERT INTO checkpoint_parts (key, run, stream, start, data)"
                    " VALUES (?, ?, ?, ?, ?)",
                    ("k", "r1", stream, start, zlib.compress(data, 1)),
                )
        _, resumed = _resumed(store, "k")
    assert resumed.variants.many(range(40)) == tables.variants.many(range(40))
