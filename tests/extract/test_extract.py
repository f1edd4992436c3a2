"""Extraction: a golden HTML file in, the expected links (text, tag, attribute, line) out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linkcheck.extract import decode, is_html, parse_page, parse_srcset

FIXTURES = Path(__file__).parent / "fixtures"


def test_golden_page() -> None:
    parsed = parse_page((FIXTURES / "links.html").read_text(encoding="utf-8"))
    got = [[link.href, link.text, link.tag, link.attr, link.line] for link in parsed.links]
    expected = json.loads((FIXTURES / "links.expected.json").read_text(encoding="utf-8"))
    assert got == expected
    assert parsed.title == "Golden page"
    assert parsed.base_href is None


def test_base_href_is_reported() -> None:
    parsed = parse_page('<html><head><base href="/docs/"><base href="/ignored/"></head></html>')
    assert parsed.base_href == "/docs/"


def test_repeated_links_get_their_own_lines() -> None:
    html = "<a href='x.html'>1</a>\n<p>x.html</p>\n<a href='x.html'>2</a>\n\n<a href='x.html'>3</a>"
    assert [link.line for link in parse_page(html).links] == [1, 3, 5]


@pytest.mark.parametrize(
    ("value", "urls"),
    [
        ("a.png 1x, b.png 2x", ["a.png", "b.png"]),
        ("a.png,b.png", ["a.png,b.png"]),  # the spec: commas inside a URL belong to it
        ("a.png, b.png", ["a.png", "b.png"]),
        ("  a.png  480w ,  b.png 800w  ", ["a.png", "b.png"]),
        ("single.png", ["single.png"]),
        ("", []),
        ("img,with,commas.png 1x", ["img,with,commas.png"]),
    ],
)
def test_parse_srcset(value: str, urls: list[str]) -> None:
    assert parse_srcset(value) == urls


def test_decode_order_header_then_meta_then_utf8() -> None:
    japanese = "ページが見つかりません"
    sjis = f'<meta charset="shift_jis"><a href="x">{japanese}</a>'.encode("cp932")
    assert japanese in decode(sjis, None)  # from <meta charset>
    assert japanese in decode(japanese.encode("cp932"), "Shift_JIS")  # from the header
    assert japanese in decode(japanese.encode("utf-8"), None)  # default UTF-8
    assert "\ufffd" in decode(b"bad \xff\xfe bytes", None)  # never fails
    assert decode(b"caf\xe9", "iso-8859-1") == "café"
    assert decode("x".encode("utf-16"), None) == "x"  # BOM wins
    assert decode(b"ok", "no-such-charset") == "ok"


@pytest.mark.parametrize(
    ("content_type", "body", "html"),
    [
        ("text/html; charset=utf-8", b"", True),
        ("application/xhtml+xml", b"", True),
        ("application/pdf", b"<html>", False),
        (None, b"  <!DOCTYPE html><html>", True),
        (None, b"%PDF-1.7", False),
    ],
)
def test_is_html(content_type: str | None, body: bytes, html: bool) -> None:
    assert is_html(content_type, body) is html


def test_hostile_markup_still_yields_links() -> None:
    deep = "<div>" * 100_000 + "<a href='deep.html'>deep</a>" + "</div>" * 100_000
    assert [link.href for link in parse_page(deep).links] == ["deep.html"]
    huge = (
        "<a href='big.html' title='" + "x" * 1_000_000 + "'>big</a>\x00<a href='after.html'>a</a>"
    )
    assert [link.href for link in parse_page(huge).links] == ["big.html", "after.html"]


def test_heading_is_the_first_h1_even_when_empty() -> None:
    assert parse_page("<h1>Not <b>found</b></h1><h1>Other</h1>").heading == "Not found"
    assert parse_page("<h1> </h1><h1>Not found</h1>").heading == ""
    assert parse_page("<h1>Not found</h1>", heading=False).heading == ""
    assert parse_page("<h2>Not found</h2>").heading == ""
