"""linkcheck.css: which Content-Types are stylesheets, how one is decoded, what is read."""

from __future__ import annotations

import pytest

from linkcheck.css import (
    MAX_CSS_CHARS,
    css_links,
    decode_stylesheet,
    is_stylesheet,
    might_have_links,
)


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/css", True),
        ("text/css; charset=utf-8", True),
        (" Text/CSS ;charset=x", True),  # RFC 9110 §8.3.1: the media type is case-insensitive
        ("text/html", False),
        ("text/plain", False),
        (None, False),
        ("", False),
    ],
)
def test_is_stylesheet(content_type: str | None, expected: bool) -> None:
    assert is_stylesheet(content_type) is expected


@pytest.mark.parametrize(
    ("body", "charset", "text"),
    [
        (b"a{}", None, "a{}"),
        ("é{}".encode(), "utf-8", "é{}"),
        ("é{}".encode("latin-1"), "iso-8859-1", "é{}"),
        (b'@charset "iso-8859-1";\xe9{}', None, '@charset "iso-8859-1";é{}'),  # §3.2 step 3
        (b"\xef\xbb\xbfa{}", "windows-1252", "a{}"),  # the BOM wins
        (b"a\xff{}", "utf-8", "a\ufffd{}"),  # never an error
    ],
)
def test_decode_stylesheet(body: bytes, charset: str | None, text: str) -> None:
    assert decode_stylesheet(body, charset) == text


@pytest.mark.parametrize(
    ("css", "expected"),
    [("color: red", False), ("width: calc(1px)", True), ('@import "a.css"', True), ("", False)],
)
def test_might_have_links(css: str, expected: bool) -> None:
    assert might_have_links(css) is expected


def test_a_huge_stylesheet_is_read_up_to_the_cap() -> None:
    rule = ".a { background: url(a.png) }\n"
    css = rule * (MAX_CSS_CHARS // len(rule) + 1000)
    found = css_links(css, local_fragments=False)
    assert 0 < len(found) <= MAX_CSS_CHARS // len(rule) + 1
    assert found[-1].line <= MAX_CSS_CHARS // len(rule) + 1


def test_where_says_what_loads_the_url() -> None:
    css = '@import "x.css";\n.a { list-style-image: url(dot.gif) }\n@font-face { src: url(f.woff) }'
    assert [
        (link.url, link.line, link.where) for link in css_links(css, local_fragments=False)
    ] == [
        ("x.css", 1, "@import"),
        ("dot.gif", 2, "list-style-image"),
        ("f.woff", 3, "src"),
    ]
