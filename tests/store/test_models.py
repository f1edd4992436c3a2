"""The compact occurrence store: numbers in, the same occurrences out, in report order."""

from __future__ import annotations

from array import array
from itertools import accumulate

import pytest

from linkcheck.models import (
    _ABSOLUTE,
    _AS_RESOLVED,
    Finding,
    FindingKind,
    Occurrence,
    Occurrences,
    OccurrenceTables,
    _VariantTable,
    current_tables,
    pack_variant,
    run_tables,
    variant_flags,
)

VARIANTS = [
    ("/a.html", "A page", "a", "href", ""),
    ("b.html#part", "Zwölf ページ", "a", "href", "part"),
    ("", "", "img", "src", ""),
    ("x\0y", "nul\0inside", "a", "href", "frag\0ment"),  # NULs are shown as U+FFFD
    ("c.html", "", "a", "href", "#"),
]
SHOWN = [tuple(field.replace("\0", "\ufffd") for field in variant) for variant in VARIANTS]


def test_variants_come_back_whole_and_field_by_field() -> None:
    variant_numbers = current_tables().variants
    for variant, shown in zip(VARIANTS, SHOWN, strict=True):
        number = variant_numbers.number(variant)
        assert variant_numbers[number] == shown
        assert variant_numbers.hrefs([number, number]) == [shown[0]] * 2
        assert variant_numbers.fragments([number]) == [shown[4]]
        assert variant_numbers.number(variant) == number  # the same number every time


def test_occurrences_in_page_order_by_numbers_and_by_url() -> None:
    pages = ["https://ex.com/z.html", "https://ex.com/a.html", "https://ex.com/m.html"]
    items = [
        Occurrence(page, *variant[:4], line, variant[4])
        for line, (page, variant) in enumerate(
            [(pages[n % 3], SHOWN[n % len(SHOWN)]) for n in range(12)], start=1
        )
    ]
    occurrences = Occurrences(reversed(items))
    expected = sorted(items, key=lambda o: (o.page, o.line))
    assert occurrences.in_page_order() == expected
    tables = occurrences.tables
    ranks = tables.page_ranks()
    by_numbers = occurrences.numbers_by_page(ranks)
    assert [(tables.pages.urls[row[3]], row[1]) for row in by_numbers] == [
        (o.page, o.line) for o in expected
    ]
    assert occurrences.fragments == {"part", "frag\ufffdment", "#"}
    assert occurrences.hrefs() == {variant[0] for variant in SHOWN}


def test_pages_renamed_in_place_unless_two_become_one() -> None:
    """A rename that keeps pages apart renames the table (occurrences keep their numbers);
    one that makes two pages one gives the numbers to renumber by, and the renumbered
    occurrences name one page where there were two."""
    with run_tables():
        items = [
            Occurrence(page, "x.html", "x", "a", "href", line, "")
            for line, page in enumerate(
                ["https://ex.com/a/", "https://ex.com/a", "https://ex.com/b"], start=1
            )
        ]
        occurrences = Occurrences(items)
        tables = occurrences.tables
        numbers_before = [tables.pages.find(item.page) for item in items]
        assert tables.rename_pages(str.upper) is None
        assert [o.page for o in occurrences] == [o.page.upper() for o in items]
        assert [tables.pages.find(item.page.upper()) for item in items] == numbers_before
        assert tables.pages.find(items[2].page) == -1  # the old name is gone

        numbers = tables.rename_pages(lambda url: url.rstrip("/").lower())
        assert numbers is not None
        merged = occurrences.with_pages_renumbered(numbers)
        assert [(o.page, o.line) for o in merged] == [
            ("https://ex.com/a", 1),
            ("https://ex.com/a", 2),
            ("https://ex.com/b", 3),
        ]
        assert len(set(merged._all_rows()[0::3])) == 2  # two page numbers now, not three


def test_the_checks_variants_are_noted_however_they_arrive() -> None:
    """Fragments and http(s) hrefs are noted as variants are added, one by one or a digest's
    worth at a time; what the site-wide checks read from them equals reading every variant."""
    page_numbers, variant_numbers = current_tables().pages, current_tables().variants
    one_by_one = [
        ("  HTTPS://ex.com/a#top", "1", "a", "href", "top"),
        ("\u00a0http://ex.com/a", "2", "a", "href", ""),  # str.strip: NBSP is whitespace
        ("ftp://ex.com/a", "3", "a", "href", ""),  # "://" but not http
        ("//ex.com/a", "4", "a", "href", ""),
    ]
    in_bulk = [
        ("http://ex.com/a", "5", "a", "href", ""),
        ("a.html#", "6", "a", "href", ""),  # an empty fragment is none
        ("a.html#x", "7", "a", "href", "x"),
        ("a.html", "8", "a", "href", ""),
    ]
    numbers = [variant_numbers.number(variant) for variant in one_by_one]
    packed = [pack_variant(variant) for variant in in_bulk]
    ends = array("I")
    total = 0
    for piece in packed:
        total += len(piece)
        ends.append(total)
    numbers += variant_numbers.add_all(b"".join(packed), ends)
    occurrences = Occurrences()
    for count, number in enumerate(numbers, start=1):
        for line in range(count):  # variant n written n times
            occurrences.add(page_numbers.number("https://ex.com/p.html"), line, number)
    assert occurrences.fragments == {"top", "x"}
    assert occurrences.absolute_forms("http://ex.com/a") == {"HTTPS://ex.com/a", "http://ex.com/a"}
    assert occurrences.href_counts()["http://ex.com/a"] == 5
    relative = Occurrences()
    relative.add(0, 1, numbers[-1])
    assert relative.absolute_forms("http://ex.com/a") == set()
    assert relative.fragments == set()


@pytest.mark.parametrize("in_memory", [0, 3])
def test_variants_past_the_span_of_an_end_come_back(
    monkeypatch: pytest.MonkeyPatch, in_memory: int
) -> None:
    """Where each variant ends is kept modulo 4 GiB: a text longer than that (here a span
    of 40 bytes stands in for it, so the text passes it many times) reads back the same, one
    by one, many at a time (a report's way) or a digest's worth at a time, from memory or from
    the spill file or both, and a resume point's copy of the ends is the whole offsets."""
    monkeypatch.setattr(_VariantTable, "_SPAN", 40)
    tables = OccurrenceTables(in_memory)
    variants = tables.variants
    expected: list[tuple[str, ...]] = []
    numbers: list[int] = []
    for round_ in range(12):
        one = (f"/p{round_}.html", "text " * (round_ % 4), "a", "href", "")
        numbers.append(variants.number(one))
        expected.append(one)
        bulk = [(f"b{round_}-{k}.html", "x" * (7 * k), "img", "src", "f") for k in range(4)]
        packed = [pack_variant(variant) for variant in bulk]
        ends = array("I", accumulate(len(piece) for piece in packed))
        numbers += variants.add_all(b"".join(packed), ends)
        expected += bulk
        if in_memory:
            tables.spill_all()  # the text moves to the spill file; its offsets stay
    # the last one short enough to stay in memory (11 bytes, within 3 occurrences' budget
    # of 12) after the spilled ones: a table of both
    for one in [("/last1.html", "1", "a", "href", ""), ("/l", "", "a", "href", "")]:
        numbers.append(variants.number(one))
        expected.append(one)
    assert bool(in_memory) == (0 < variants._base < variants._end(numbers[-1]))
    assert numbers == list(range(len(expected)))
    assert [variants[number] for number in numbers] == expected
    assert variants.hrefs(numbers) == [v[0] for v in expected]
    assert variants.fragments(numbers) == [v[4] for v in expected]
    shuffled = numbers[::-1][::2] + numbers[::2]  # out of order, some twice
    assert variants.many(shuffled) == [expected[number] for number in shuffled]
    assert variants.many([]) == []
    total = list(accumulate(len(pack_variant(variant)) for variant in expected))
    assert len(variants._wraps) > 10 and list(variants.ends()) == total
    assert [end for chunk in variants.ends_in_chunks(7) for end in chunk] == total
    assert b"".join(variants.chunks(64)) == b"".join(pack_variant(v) for v in expected)


def test_flags_noted_by_a_digester_are_the_tables_own() -> None:
    """A digester notes each new variant's flags (models.variant_flags) and the crawler's
    table takes them as they are: the same as the table notes itself."""
    written = [
        ("/a", "A", "a", "href", ""),
        ("/a#top", "A", "a", "href", "top"),
        ("HTTPS://Example.org/x", "X", "a", "href", ""),
        (" http://example.org/y#s", "Y", "a", "href", "s"),
        ("mailto:a@b.c", "M", "a", "href", ""),
        ("//example.org/z", "Z", "img", "src", ""),
        ("ftp://example.org/f", "F", "a", "href", ""),
    ]
    given, noting, numbers = _both_ways(written)
    assert noting._flags == given._flags
    assert noting.with_fragment(numbers) == [1, 3]
    assert given.absolute(numbers) == {2, 3}


@pytest.mark.parametrize(
    ("href", "resolved", "flags"),
    [
        ("https://ex.com/a", "https://ex.com/a", _ABSOLUTE | _AS_RESOLVED),
        ("https://ex.com/a#s", "https://ex.com/a", _ABSOLUTE | _AS_RESOLVED),  # form: no #
        (" https://ex.com/a\n", "https://ex.com/a", _ABSOLUTE | _AS_RESOLVED),  # stripped
        ("HTTPS://ex.com/a", "https://ex.com/a", _ABSOLUTE),  # another way to write it
        ("https://EX.com/a", "https://ex.com/a", _ABSOLUTE),
        ("https://ex.com", "https://ex.com/", _ABSOLUTE),  # RFC 9110 §4.2.3: the same URL
        ("https://ex.com/%7Ea", "https://ex.com/~a", _ABSOLUTE),  # RFC 3986 §6.2.2.2
        ("https://ex.com/a", None, _ABSOLUTE),  # resolved URL not known: not noted
        ("/a", "https://ex.com/a", 0),  # not written in full: no form to compare
        ("//ex.com/a", "https://ex.com/a", 0),
    ],
)
def test_a_variant_written_as_the_url_it_resolved_to_is_noted(
    href: str, resolved: str | None, flags: int
) -> None:
    packed = pack_variant((href, "t", "a", "href", ""))
    assert variant_flags(packed, url=resolved) == flags


def _both_ways(
    written: list[tuple[str, str, str, str, str]], url: str | None = None
) -> tuple[_VariantTable, _VariantTable, range]:
    """Two tables of the ``written`` variants, added a digest's worth at once: one given
    their flags (as a digester that resolved them to ``url`` notes them), one noting them
    itself; and their numbers."""
    packed = [pack_variant(variant) for variant in written]
    ends = array("I", accumulate(len(piece) for piece in packed))
    given, noting = _VariantTable(), _VariantTable()
    flags = bytes(variant_flags(piece, url=url) for piece in packed)
    numbers = given.add_all(b"".join(packed), ends, flags)
    noting.add_all(b"".join(packed), ends)
    return given, noting, numbers


def test_forms_written_as_the_link_are_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """The consistency check's forms: those noted as written as the link's URL count as it
    without a read of their hrefs; the others are read (the same answer either way)."""
    written = [
        ("https://ex.com/a", "1", "a", "href", ""),
        ("https://ex.com/a#s", "2", "a", "href", "s"),
        ("HTTPS://ex.com/a", "3", "a", "href", ""),
        ("/a", "4", "a", "href", ""),
    ]
    noted, unnoted, numbers = _both_ways(written, url="https://ex.com/a")
    expected = {"https://ex.com/a", "HTTPS://ex.com/a"}
    assert unnoted.absolute_forms(numbers, "https://ex.com/a") == expected
    reads: list[list[int]] = []
    hrefs = _VariantTable.hrefs

    def recorded(table: _VariantTable, asked: list[int]) -> list[str]:
        reads.append(list(asked))
        return hrefs(table, asked)

    monkeypatch.setattr(_VariantTable, "hrefs", recorded)
    assert noted.absolute_forms(numbers, "https://ex.com/a") == expected
    assert reads == [[numbers[2]]]  # only the one written otherwise


def test_each_type_converts_to_a_dict_and_back_once() -> None:
    """One to_dict/from_dict per type: the JSON report, its loader, the checkpoint, the
    Redis queue and the result cache all read what these write."""
    from datetime import UTC, date, datetime

    from linkcheck.models import (
        CheckResult,
        ErrorKind,
        Finding,
        FindingKind,
        LinkMemory,
        Page,
        RedirectHop,
        Verdict,
    )

    results = [
        CheckResult(
            "https://ex.com/old",
            Verdict.REDIRECTED,
            200,
            "https://ex.com/new",
            (RedirectHop("https://ex.com/old", 301), RedirectHop("https://ex.com/mid", 308)),
            message="moved",
            checked_url="http://127.0.0.1:1/old",
            elapsed=0.25,
            from_cache=True,
        ),
        CheckResult("https://ex.com/x", Verdict.ERROR, error=ErrorKind.TIMEOUT, elapsed=1.5),
        CheckResult("mailto:x@ex.com", Verdict.SKIPPED),
    ]
    for item in results:
        assert CheckResult.from_dict(item.to_dict()) == item
    assert results[0].to_dict()["redirect_kind"] == "permanent"
    assert results[2].to_dict()["message"] is None  # the report's null for "no message"
    page = Page("https://ex.com/", 0, "Home", 200, links_found=12)
    assert Page.from_dict(page.to_dict()) == page
    finding = Finding(
        FindingKind.GENERIC_LINK_TEXT, "warning", "https://ex.com/a", "", "/a", "here", 3, "m"
    )
    assert finding.to_dict()["kind"] == "generic-link-text" and finding.to_dict()["page"] is None
    assert Finding.from_dict(finding.to_dict()) == finding
    memory = LinkMemory(3, datetime(2026, 1, 2, tzinfo=UTC), False, "known", date(2026, 3, 1))
    assert LinkMemory.from_dict(memory.to_dict()) == memory
    occurrence = Occurrence("https://ex.com/", "/a#b", "A", "a", "href", 7, "b")
    assert Occurrence.from_dict({**occurrence._asdict(), "fragment": "b"}) == occurrence
    assert Occurrence.from_dict({**occurrence._asdict(), "fragment": None}).fragment == ""


def test_finding_kinds_are_the_reports_strings() -> None:
    assert [kind.value for kind in FindingKind] == [
        "mixed-content",
        "insecure-link",
        "image-without-alt",
        "empty-link-text",
        "generic-link-text",
        "same-text-different-targets",
        "inconsistent-link",
    ]
    assert FindingKind.INSECURE_LINK == "insecure-link"  # a StrEnum: compares as its string


@pytest.mark.parametrize(
    ("kind", "note", "targets", "message"),
    [
        # a same-text finding's message is made from its text and targets, never kept
        (
            "same-text-different-targets",
            "",
            ("https://ex.com/a", "https://ex.com/b"),
            "“More” links to 2 different addresses on this page (https://ex.com/a, "
            "https://ex.com/b); readers expect the same text to lead to the same place.",
        ),
        ("empty-link-text", "The link has no text.", (), "The link has no text."),
        # targets on another kind (not made by linkcheck) leave its note as the message
        ("generic-link-text", "Say where.", ("https://ex.com/a",), "Say where."),
        # a report written before targets were: its message read as it stands
        ("same-text-different-targets", "As written.", (), "As written."),
    ],
)
def test_a_findings_message_and_its_json_round_trip(
    kind: str, note: str, targets: tuple[str, ...], message: str
) -> None:
    finding = Finding(
        FindingKind(kind), "warning", "https://ex.com/a", "p", "a", "More", 3, note, targets
    )
    assert finding.message == message
    # the HTML report lists the targets apart, after the message without them
    brief = message.replace(" (https://ex.com/a, https://ex.com/b);", ";")
    assert finding.brief == brief and (brief != message) == bool(finding.targets and note == "")
    document = finding.to_dict()
    assert document["message"] == message and document["targets"] == list(targets)
    assert Finding.from_dict(document) == finding
    older = {key: value for key, value in document.items() if key != "targets"}
    assert Finding.from_dict(older).message == message
