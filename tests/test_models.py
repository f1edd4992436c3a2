"""The compact occurrence store: numbers in, the same occurrences out, in report order."""

from __future__ import annotations

from linkcheck.models import (
    Occurrence,
    Occurrences,
    page_numbers,
    page_ranks,
    rename_pages,
    variant_numbers,
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
    for variant, shown in zip(VARIANTS, SHOWN, strict=True):
        number = variant_numbers.number(variant)
        assert variant_numbers[number] == shown
        assert variant_numbers.href(number) == shown[0]
        assert variant_numbers.fragment(number) == shown[4]
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
    ranks = page_ranks()
    by_numbers = occurrences.numbers_by_page(ranks)
    assert [(page_numbers.urls[row[3]], row[1]) for row in by_numbers] == [
        (o.page, o.line) for o in expected
    ]
    assert occurrences.fragments == {"part", "frag\ufffdment", "#"}
    assert occurrences.hrefs() == {variant[0] for variant in SHOWN}

    renamed = occurrences.with_pages_renumbered(rename_pages(lambda url: url.upper()))
    assert sorted(o.page for o in renamed) == sorted(o.page.upper() for o in items)
    assert [o.line for o in renamed] == [o.line for o in occurrences]
