"""Resume points: the encoded state reads back whole into the run's tables, and a resume point
of another version is refused (the run then starts afresh) instead of misread."""

from __future__ import annotations

import pytest

from linkcheck.checkpoint import (
    STATE_VERSION,
    Tables,
    decode,
    encode,
    occurrences_from_state,
    occurrences_to_state,
    page_from_state,
    page_to_state,
    tables_to_state,
)
from linkcheck.models import Occurrence, Occurrences, OccurrenceTables, Page

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
