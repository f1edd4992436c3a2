"""The table of URL-valued attributes: it covers the HTML standard's, says why for each row
that is not checked, and docs/links.md shows every row to users."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkcheck.extract import LINK_TABLE, LinkAttribute, Split, parse_page

DOC = Path(__file__).parents[2] / "docs" / "links.md"

# The HTML standard's attribute index: every attribute whose value is a URL (or a list of
# them), and the obsolete ones browsers still act on (HTML §16).
HTML_URL_ATTRIBUTES = {
    ("a", "href"), ("a", "ping"), ("area", "href"), ("area", "ping"), ("link", "href"),
    ("link", "imagesrcset"), ("img", "src"), ("img", "srcset"), ("source", "src"),
    ("source", "srcset"), ("script", "src"), ("iframe", "src"), ("embed", "src"),
    ("object", "data"), ("video", "src"), ("video", "poster"), ("audio", "src"),
    ("track", "src"), ("input", "src"), ("input", "formaction"), ("button", "formaction"),
    ("form", "action"), ("blockquote", "cite"), ("q", "cite"), ("del", "cite"),
    ("ins", "cite"), ("html", "manifest"), ("img", "longdesc"), ("img", "usemap"),
    ("object", "usemap"), ("frame", "src"), ("body", "background"), ("meta", "content"),
}  # fmt: skip


def test_the_table_covers_the_standard() -> None:
    rows = {(row.tag, row.attr) for row in LINK_TABLE}
    assert rows >= HTML_URL_ATTRIBUTES
    assert len(rows) == len(LINK_TABLE)  # each row once


def test_a_row_not_checked_says_why() -> None:
    for row in LINK_TABLE:
        assert row.not_checked == "" or len(row.not_checked) > 20, row


@pytest.mark.parametrize("row", LINK_TABLE, ids=lambda row: f"{row.tag}-{row.attr}")
def test_the_docs_show_every_row(row: LinkAttribute) -> None:
    assert f"| `{row.tag}` | `{row.attr}` |" in DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "row",
    [row for row in LINK_TABLE if row.split is Split.URL],
    ids=lambda row: f"{row.tag}-{row.attr}",
)
def test_every_single_url_row_is_read(row: LinkAttribute) -> None:
    tag, attr, reason = row.tag, row.attr, row.not_checked
    extra = ' type="image"' if tag == "input" and attr == "src" else ""
    extra += ' href="h.html"' if attr == "ping" else ""
    if tag == "html":
        html = f'<html {attr}="u.x"><title>t</title></html>'
    elif tag in ("body", "frame"):
        html = (
            f'<html><frameset><{tag} {attr}="u.x"></frameset></html>'
            if tag == "frame"
            else f'<body {attr}="u.x">'
        )
    elif tag in ("thead", "tbody", "tfoot", "tr", "td", "th", "table"):
        inner = {
            "table": "",
            "thead": "<thead{}>",
            "tbody": "<tbody{}>",
            "tfoot": "<tfoot{}>",
            "tr": "<tr{}>",
            "td": "<tr><td{}>",
            "th": "<tr><th{}>",
        }[tag]
        html = (
            f'<table {attr}="u.x">'
            if tag == "table"
            else "<table>" + inner.format(f' {attr}="u.x"')
        )
    else:
        html = f'<{tag}{extra} {attr}="u.x"></{tag}>'
    found = [link for link in parse_page(html).links if link.attr == attr]
    assert [(link.href, link.tag, link.not_checked) for link in found] == [("u.x", tag, reason)]
