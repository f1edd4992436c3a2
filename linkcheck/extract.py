"""Turn a page's bytes into the links written on it, with anchor text and source line.

Decoding follows the order a browser uses: a byte-order mark, the Content-Type charset, a
``<meta charset>`` near the top, then UTF-8 with replacement characters. Parsing is
selectolax's Lexbor engine: a real HTML5 parser, so malformed markup still yields links.
What is read is :data:`LINK_TABLE`, the HTML standard's URL-valued attributes, each checked or
not (with the reason); the url()s of inline CSS are read with :mod:`linkcheck.css`, and so are
those of a fetched stylesheet (:func:`stylesheet_links`).
"""

from __future__ import annotations

import codecs
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from sys import intern
from typing import NamedTuple

from selectolax.lexbor import LexborHTMLParser, LexborNode

from linkcheck.css import CssLink, css_links, might_have_links


class Split(enum.Enum):
    """How an attribute's value holds its URLs."""

    URL = "one URL"  # a valid URL potentially surrounded by spaces (HTML §2.4.1)
    SRCSET = "srcset"  # image candidate strings: "URL [descriptor], ..." (HTML §4.8.4.3)
    TOKENS = "space-separated URLs"  # a set of space-separated tokens (HTML §2.3.7), e.g. ping
    CSS = "CSS"  # a style="" attribute: its url()s (CSS Style Attributes §2)
    REFRESH = "refresh"  # <meta http-equiv=refresh content="5; url=...">  (HTML §4.2.5.3)


@dataclass(frozen=True, slots=True)
class LinkAttribute:
    """One row of the table of URL-valued attributes: an empty ``not_checked`` means its URLs
    are checked; otherwise each is recorded as skipped with that reason (the report's "Not
    checked" tab says it)."""

    tag: str
    attr: str
    split: Split
    not_checked: str = ""


_OBSOLETE_NOT_FOLLOWED = "obsolete (HTML §16.2) and not followed by browsers"
_FORM_TARGET = (
    "where a form is submitted, usually with POST and the form's data: fetching it without "
    "them proves nothing and may change something"
)
# The HTML standard's URL-valued attributes (its attribute index, and §16 for obsolete ones
# that browsers still render), in one place: extraction, the docs (docs/links.md) and the
# tests read this table. <link rel=preconnect|dns-prefetch|pingback> and <input src> depend
# on another attribute: see _LINK_REL_NOT_CHECKED and _input_is_image.
LINK_TABLE: tuple[LinkAttribute, ...] = (
    LinkAttribute("a", "href", Split.URL),
    LinkAttribute(
        "a",
        "ping",
        Split.TOKENS,
        "a ping URL is sent a POST when the link is "
        "followed: fetching it would report a visit that never happened",
    ),
    LinkAttribute("area", "href", Split.URL),
    LinkAttribute(
        "area",
        "ping",
        Split.TOKENS,
        "a ping URL is sent a POST when the link is "
        "followed: fetching it would report a visit that never happened",
    ),
    LinkAttribute("link", "href", Split.URL),
    LinkAttribute("link", "imagesrcset", Split.SRCSET),
    LinkAttribute("img", "src", Split.URL),
    LinkAttribute("img", "srcset", Split.SRCSET),
    LinkAttribute("img", "longdesc", Split.URL, _OBSOLETE_NOT_FOLLOWED),
    LinkAttribute(
        "img",
        "usemap",
        Split.URL,
        "a hash-name reference to a <map name> on the same page (HTML §2.6.3), not a URL",
    ),
    LinkAttribute("source", "src", Split.URL),
    LinkAttribute("source", "srcset", Split.SRCSET),
    LinkAttribute("script", "src", Split.URL),
    LinkAttribute("iframe", "src", Split.URL),
    LinkAttribute("iframe", "longdesc", Split.URL, _OBSOLETE_NOT_FOLLOWED),
    LinkAttribute("frame", "src", Split.URL),  # obsolete, but a <frameset> page loads it
    LinkAttribute("frame", "longdesc", Split.URL, _OBSOLETE_NOT_FOLLOWED),
    LinkAttribute("embed", "src", Split.URL),
    LinkAttribute("object", "data", Split.URL),
    LinkAttribute(
        "object",
        "usemap",
        Split.URL,
        "a hash-name reference to a <map name> on the same page (HTML §2.6.3), not a URL",
    ),
    LinkAttribute("video", "src", Split.URL),
    LinkAttribute("video", "poster", Split.URL),
    LinkAttribute("audio", "src", Split.URL),
    LinkAttribute("track", "src", Split.URL),
    LinkAttribute("input", "src", Split.URL),  # only on <input type=image> (HTML §4.10.5.1.20)
    LinkAttribute("input", "formaction", Split.URL, _FORM_TARGET),
    LinkAttribute("button", "formaction", Split.URL, _FORM_TARGET),
    LinkAttribute("form", "action", Split.URL, _FORM_TARGET),
    LinkAttribute(
        "blockquote",
        "cite",
        Split.URL,
        "a citation for machines: browsers neither load it nor offer it as a link (HTML §4.4.4)",
    ),
    LinkAttribute(
        "q",
        "cite",
        Split.URL,
        "a citation for machines: browsers neither load it nor offer it as a link (HTML §4.5.7)",
    ),
    LinkAttribute(
        "del",
        "cite",
        Split.URL,
        "a citation for machines: browsers neither load it nor offer it as a link (HTML §4.7.3)",
    ),
    LinkAttribute(
        "ins",
        "cite",
        Split.URL,
        "a citation for machines: browsers neither load it nor offer it as a link (HTML §4.7.3)",
    ),
    LinkAttribute(
        "html",
        "manifest",
        Split.URL,
        "the application cache was removed from HTML (§16.2) and browsers ignore the manifest",
    ),
    LinkAttribute("meta", "content", Split.REFRESH),  # http-equiv=refresh only
    # Obsolete, but rendered: HTML §15.3.4 maps background to background-image.
    LinkAttribute("body", "background", Split.URL),
    LinkAttribute("table", "background", Split.URL),
    LinkAttribute("thead", "background", Split.URL),
    LinkAttribute("tbody", "background", Split.URL),
    LinkAttribute("tfoot", "background", Split.URL),
    LinkAttribute("tr", "background", Split.URL),
    LinkAttribute("td", "background", Split.URL),
    LinkAttribute("th", "background", Split.URL),
    LinkAttribute("*", "style", Split.CSS),  # any element's inline CSS, and <style> blocks
)
# <link> types that name an origin or an endpoint, not a document to load (HTML §4.6.7):
# a 404 at the origin's root is not a broken link.
_LINK_REL_NOT_CHECKED = {
    "preconnect": "<link rel=preconnect> names an origin to connect to early, not a document",
    "dns-prefetch": "<link rel=dns-prefetch> names a host to resolve early, not a document",
    "pingback": "<link rel=pingback> names an XML-RPC endpoint that answers POST only",
}
_ATTRS_BY_TAG: dict[str, tuple[LinkAttribute, ...]] = {}
for _row in LINK_TABLE:
    if _row.split is not Split.CSS and _row.split is not Split.REFRESH:
        _ATTRS_BY_TAG[_row.tag] = (*_ATTRS_BY_TAG.get(_row.tag, ()), _row)
# One walk of the tree, in document order (so each value's line is found after the previous
# one's), with one :is() selector: Lexbor tries its entries on an element only until one
# matches and returns the element once (a plain list is tried in full on every element, and
# returns an element twice when two entries match). The cost is elements x entries, and an
# [attribute] entry costs more than one by tag: Lexbor looks its name up again for every
# element (except the few names it knows by heart, such as style and href). So the table's
# elements are selected by tag (tag[attr] when one attribute of the tag is read), but an
# attribute that many elements carry by one [attr] entry; inline CSS by <style> and [style].
_BY_ATTRIBUTE = ("background", "cite")
_ROWS = {tag: rows for tag, rows in _ATTRS_BY_TAG.items() if tag != "a"}
_BY_TAG = {
    tag: [row.attr for row in rows if row.attr not in _BY_ATTRIBUTE] for tag, rows in _ROWS.items()
}
# An element's rows by attribute: its attributes are read in the order they are written.
_ROWS_BY_ATTR = {tag: {row.attr: row for row in rows} for tag, rows in _ATTRS_BY_TAG.items()}
_ROWS_BY_ATTR["a"] = {row.attr: row for row in _ATTRS_BY_TAG["a"] if row.attr != "href"}
_NO_ROWS: dict[str, LinkAttribute] = {}
_SELECTOR = ":is({})".format(
    ", ".join(
        [
            "a[href]",  # a[ping] alone pings nothing (HTML §4.6.5): an <a> is read for its href
            *(
                f"{tag}[{attrs[0]}]" if len(attrs) == 1 else tag
                for tag, attrs in _BY_TAG.items()
                if attrs
            ),
            *(f"[{attr}]" for attr in _BY_ATTRIBUTE),
            "style",
            "[style]",
            "meta[http-equiv]",
            "meta[name]",
            "base[href]",
            "h1",  # the first is the page's heading, found in this walk, not a second one
            "[id]",  # fragment targets, as the rest: one walk costs less than two
            "a[name]",
        ]
    )
)
# Elements whose links survive the flattening of a hostile page's nesting: the ones that are
# never nested deep (not <table>, <td>, <body>: those nest, and are flattened like <div>).
_KEEP_WHEN_FLATTENING = frozenset(_ATTRS_BY_TAG) - {
    "body",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "td",
    "th",
    "html",
    "form",
    "blockquote",
    "q",
    "del",
    "ins",
    "button",
    "object",
}
_SPACES = " \t\n\f\r"  # ASCII whitespace (HTML's "space characters"; not Unicode's)
_ASCII_WHITESPACE = str.maketrans("\t\n\f\r", "    ")

# The HTML5 tree builder scans the stack of open elements for many start tags, so a hostile
# page of deeply nested <div>s takes quadratic time to parse. Pages with more than
# _FLATTEN_ABOVE_TAGS tags get their nesting flattened below MAX_NESTING first; real pages
# never come close.
MAX_NESTING = 512
_FLATTEN_ABOVE_TAGS = 10_000
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^>]*?(/?)>")
_VOID_TAGS = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    ]
)

HTML_CONTENT_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.IGNORECASE
)
_REFRESH_URL = re.compile(r"""^\s*\d*(?:\.\d*)?\s*[;,]?\s*(?:url\s*=\s*)?["']?([^"']*)""", re.I)
# WHATWG encoding labels that name a superset in practice: decode as the superset.
_ENCODING_ALIASES = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "euc-jp": "euc_jp",
    "gb2312": "gb18030",
    "gbk": "gb18030",
}
MAX_PAGE_TEXT = 20_000  # enough of a page's text to compare it with a "not found" page
MAX_TEXT_LENGTH = 300  # anchor text is for recognising a link, not for storing whole paragraphs


class RawLink(NamedTuple):
    """A URL as written on the page, before resolution (a tuple: one per link per page)."""

    href: str
    text: str
    tag: str
    attr: str
    line: int
    nofollow: bool = False  # rel="nofollow": check the link, but do not crawl on from it
    text_issue: str = ""  # "image-without-alt" for an <a> whose only content is such an image
    not_checked: str = ""  # why this URL is recorded but not checked (see LINK_TABLE)


_tuple = tuple.__new__


@dataclass(frozen=True, slots=True)
class ParsedPage:
    title: str
    base_href: str | None
    links: list[RawLink]
    nofollow: bool = False  # <meta name="robots" content="nofollow">: crawl on from none
    ids: frozenset[str] = frozenset()  # fragment targets: every id, and <a name>
    heading: str = ""  # the first <h1>, for recognising "not found" pages
    text: str = ""  # the visible text (capped), for comparing with a host's "not found" page


def is_html(content_type: str | None, body: bytes) -> bool:
    """True for HTML by Content-Type, or by sniffing the start when the server sent none."""
    if content_type:
        return content_type.split(";", 1)[0].strip().lower() in HTML_CONTENT_TYPES
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def decode(body: bytes, header_charset: str | None) -> str:
    """Decode a page to text the way a browser would, never failing."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if body.startswith(bom):
            return body.decode(encoding, errors="replace")
    codec = _codec_for(header_charset) or _codec_for(_meta_charset(body))  # meta: only if need be
    return body.decode(codec or "utf-8", errors="replace")


def parse_page(text: str, *, heading: bool = True, page_text: bool = True) -> ParsedPage:
    """Every link on the page in document order, with its text and 1-based source line.

    ``heading`` and ``page_text`` (the first <h1>, the visible text) are for soft-404 judging
    only: a crawl that does not judge a page skips them."""
    if "\r" in text:  # HTML §13.2.3.5: CR LF and lone CR are one newline, as the parser sees
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.count("<") > _FLATTEN_ABOVE_TAGS:
        text = flatten_deep_nesting(text)
    tree = LexborHTMLParser(text)
    title_node = tree.css_first("title")
    title = _clean(title_node.text()) if title_node is not None else ""
    lines = _LineFinder(text)
    line_of = lines.find
    links: list[RawLink] = []
    add = links.append
    base_href: str | None = None
    page_nofollow = False
    first_heading: str | None = None
    id_values: list[str | None] = []  # each [id] and a[name]'s id and name (None if it has none)
    # Interned: a site's nav repeats the same hrefs and texts on every page, and a crawl keeps
    # one occurrence per link per page, millions on a large site - one copy of each string.
    for node in tree.css(_SELECTOR):
        tag = node.tag or ""
        attributes = node.attributes
        if tag == "a" and "href" in attributes:  # the fast path: nearly every link on a page
            href = attributes["href"] or ""  # None for <a href> with no value: ""
            text_of_node = " ".join(node.text(deep=True, separator=" ").split())
            if len(text_of_node) > MAX_TEXT_LENGTH:
                text_of_node = _clean(text_of_node)
            if not text_of_node:
                text_of_node = _link_text(node, tag)
            issue = ""
            if not text_of_node and node.css_first("img") is not None:
                issue = "image-without-alt"
            rel = attributes.get("rel")
            nofollow = rel is not None and "nofollow" in rel.lower()
            # tuple.__new__: a NamedTuple's own __new__ is a Python call, once per link
            add(
                _tuple(
                    RawLink,
                    (
                        intern(href),
                        intern(text_of_node),
                        "a",
                        "href",
                        line_of(href, "href"),
                        nofollow,
                        issue,
                        "",
                    ),
                )
            )
            if len(attributes) > 1:  # more than its href: maybe an id, a ping, a style
                if "id" in attributes or "name" in attributes:
                    id_values += (attributes.get("id"), attributes.get("name"))
                if "ping" in attributes or "style" in attributes:
                    _element_links(node, "a", _ROWS_BY_ATTR["a"], add, line_of)  # href: done
            continue
        if "id" in attributes or (tag == "a" and "name" in attributes):
            id_values += (attributes.get("id"), attributes.get("name"))
        tag = intern(tag)
        if tag == "h1":
            if heading and first_heading is None:  # the first <h1>, even an empty one
                first_heading = _clean(node.text(deep=True, separator=" "))
        elif tag == "base":
            if base_href is None:
                base_href = attributes.get("href")
        elif tag == "meta":
            if (attributes.get("name") or "").strip().lower() == "robots":
                directives = {
                    d.strip() for d in (attributes.get("content") or "").lower().split(",")
                }
                page_nofollow = page_nofollow or bool(directives & {"nofollow", "none"})
            elif url := _refresh_url(attributes):
                add(RawLink(url, "meta refresh", "meta", "content", line_of(url)))
        else:
            _element_links(node, tag, _ROWS_BY_ATTR.get(tag, _NO_ROWS), add, line_of)
            if tag == "style":
                _style_block_links(node, add, lines)
            continue
        if "style" in attributes:  # <h1>, <base>, <meta>: their style="" only
            _element_links(node, tag, _NO_ROWS, add, line_of)
    ids = frozenset(filter(None, id_values))
    visible = ""
    if page_text and (body := tree.body) is not None:
        visible = body.text(deep=True, separator=" ", strip=True)[:MAX_PAGE_TEXT]
    return ParsedPage(
        title=title,
        base_href=base_href,
        links=links,
        nofollow=page_nofollow,
        ids=ids,
        heading=first_heading or "",
        text=visible,
    )


def summarize_page(text: str) -> ParsedPage:
    """A page's title, first <h1> and visible text, without its links: what judging another
    site's page for a soft 404 needs (its links are never followed, so none is read)."""
    if "\r" in text:  # HTML §13.2.3.5, as parse_page
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.count("<") > _FLATTEN_ABOVE_TAGS:
        text = flatten_deep_nesting(text)
    tree = LexborHTMLParser(text)
    title_node = tree.css_first("title")
    heading_node = tree.css_first("h1")
    body = tree.body
    return ParsedPage(
        title=_clean(title_node.text()) if title_node is not None else "",
        base_href=None,
        links=[],
        heading=_clean(heading_node.text(deep=True, separator=" ")) if heading_node else "",
        text=body.text(deep=True, separator=" ", strip=True)[:MAX_PAGE_TEXT] if body else "",
    )


def flatten_deep_nesting(text: str, max_depth: int = MAX_NESTING) -> str:
    """Drop start and end tags that would nest deeper than ``max_depth`` (their content stays)."""
    pieces: list[str] = []
    depth = 0
    dropped: dict[str, int] = {}
    position = 0
    for match in _TAG.finditer(text):
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        if name in _VOID_TAGS or self_closing:
            continue
        if closing:
            if name in _KEEP_WHEN_FLATTENING:
                continue
            if dropped.get(name):
                dropped[name] -= 1
                pieces.append(text[position : match.start()])
                position = match.end()
            else:
                depth = max(depth - 1, 0)
            continue
        if name in _KEEP_WHEN_FLATTENING:
            continue  # link-bearing elements always stay (uncounted: they are shallow)
        if depth >= max_depth:
            dropped[name] = dropped.get(name, 0) + 1
            pieces.append(text[position : match.start()])
            position = match.end()
        else:
            depth += 1
    if not pieces:
        return text
    pieces.append(text[position:])
    return "".join(pieces)


def parse_srcset(value: str) -> list[str]:
    """The URLs of a ``srcset``, by HTML §4.8.4.3.10 "parse a srcset attribute": candidates
    are "URL [descriptors]" separated by commas; a URL may hold commas (not at its end), and a
    comma inside parentheses in a descriptor does not end the candidate."""
    urls = []
    position, length = 0, len(value)
    while position < length:
        while position < length and (value[position] in _SPACES or value[position] == ","):
            position += 1
        start = position
        while position < length and value[position] not in _SPACES:
            position += 1
        url = value[start:position]
        if url.endswith(","):  # no descriptors: the commas end the candidate
            url = url.rstrip(",")
        else:  # skip the descriptors, up to a comma outside parentheses
            in_parens = False
            while position < length:
                character = value[position]
                position += 1
                if in_parens:
                    in_parens = character != ")"
                elif character == "(":
                    in_parens = True
                elif character == ",":
                    break
        if url:
            urls.append(url)
    return urls


def stylesheet_links(css: str) -> list[RawLink]:
    """The links of a fetched stylesheet: tag ``css``, attribute ``url`` or ``@import``, the
    property (or ``@import``) as their text."""
    if "\r" in css or "\f" in css:  # CSS Syntax 3 §3.3: CR LF, CR and FF are one newline
        css = css.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    return [
        RawLink(found.url, found.where, "css", _css_attr(found), found.line)
        for found in css_links(css, local_fragments=False)
    ]


def _style_attribute_links(
    style: str, tag: str, add: Callable[[RawLink], None], find: Callable[[str], int]
) -> None:
    """The url()s of a style="" attribute, with their line in the page."""
    if might_have_links(style):
        line = find(style) - 1
        for link in css_links(style, local_fragments=True):
            add(RawLink(link.url, link.where, tag, "style", line + link.line))


def _style_block_links(
    node: LexborNode, add: Callable[[RawLink], None], lines: _LineFinder
) -> None:
    """The url()s and @imports of a <style> block, with their line in the page."""
    css = node.text(deep=True)
    if css and might_have_links(css):
        line = lines.find_text(css) - 1
        for link in css_links(css, local_fragments=True):
            add(RawLink(link.url, link.where, "style", _css_attr(link), line + link.line))


def _element_links(
    node: LexborNode,
    tag: str,
    rows: dict[str, LinkAttribute],
    add: Callable[[RawLink], None],
    find: Callable[[str], int],
) -> None:
    """The links of one element (other than <a href>): its attributes in the table (``rows``)
    and its style="", in the order they are written (so each value's line is found in turn)."""
    attributes = node.attributes
    node_text: str | None = None
    for attr, value in attributes.items():
        if value is None:
            continue
        if attr == "style":
            _style_attribute_links(value, tag, add, find)
            continue
        row = rows.get(attr)
        if row is None:
            continue
        not_checked = row.not_checked
        if tag == "link" and attr == "href":
            not_checked = _link_rel_not_checked(attributes.get("rel"))
        elif tag == "input" and attr == "src" and not _input_is_image(attributes):
            continue  # HTML §4.10.5.1: src is read for type=image only
        elif attr == "ping" and "href" not in attributes:
            continue  # HTML §4.6.5: only a hyperlink (with an href) pings
        if node_text is None:
            node_text = intern(_link_text(node, tag))
        split = row.split
        if split is Split.SRCSET:
            for candidate in parse_srcset(value):
                add(
                    RawLink(
                        candidate, node_text, tag, attr, find(candidate), False, "", not_checked
                    )
                )
        elif split is Split.TOKENS:
            _add_tokens(add, value, node_text, tag, attr, not_checked, find)
        elif value.strip() or (tag == "area" and not not_checked):
            nofollow = tag == "area" and "nofollow" in (attributes.get("rel") or "").lower()
            add(
                RawLink(intern(value), node_text, tag, attr, find(value), nofollow, "", not_checked)
            )


def _css_attr(link: CssLink) -> str:
    return "@import" if link.where == "@import" else "url"


def _link_rel_not_checked(rel: str | None) -> str:
    """Why a <link> is not checked: every one of its types names an origin or an endpoint."""
    if not rel:
        return ""
    kinds = rel.lower().split()
    reasons = [_LINK_REL_NOT_CHECKED[kind] for kind in kinds if kind in _LINK_REL_NOT_CHECKED]
    return reasons[0] if reasons and len(reasons) == len(kinds) else ""


def _input_is_image(attributes: dict[str, str | None]) -> bool:
    # an enumerated attribute: an ASCII case-insensitive match, no stripping (HTML §2.3.3)
    return (attributes.get("type") or "").lower() == "image"


def _add_tokens(
    add: Callable[[RawLink], None],
    value: str,
    text: str,
    tag: str,
    attr: str,
    not_checked: str,
    line_of: Callable[[str], int],
) -> None:
    """Each URL of a space-separated list (HTML §2.3.7: split on ASCII whitespace)."""
    for token in value.translate(_ASCII_WHITESPACE).split(" "):
        if token:
            add(RawLink(token, text, tag, attr, line_of(token), False, "", not_checked))


def _link_text(node: LexborNode, tag: str) -> str:
    attributes = node.attributes
    if tag == "a":
        text = _clean(node.text(deep=True, separator=" "))
        if not text:
            image = node.css_first("img[alt]")
            if image is not None:
                text = _clean(image.attributes.get("alt") or "")
        return text or _clean(attributes.get("aria-label") or attributes.get("title") or "")
    if tag in ("img", "area"):
        return _clean(attributes.get("alt") or attributes.get("title") or "")
    if tag == "link":
        return _clean(attributes.get("rel") or "")
    return _clean(attributes.get("title") or "")


def _refresh_url(attributes: dict[str, str | None]) -> str | None:
    if (attributes.get("http-equiv") or "").strip().lower() != "refresh":
        return None
    match = _REFRESH_URL.match(attributes.get("content") or "")
    url = match.group(1).strip() if match else ""
    return url or None


def _clean(text: str) -> str:
    """Whitespace runs as one space, none at the ends (str.split's whitespace is regex \\s)."""
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT_LENGTH else text[: MAX_TEXT_LENGTH - 1] + "…"


def _meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:4096])
    return match.group(1).decode("ascii", "replace") if match else None


def _codec_for(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _ENCODING_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


class _LineFinder:
    """Line numbers for attribute values, found by scanning the source forward.

    Lexbor does not report source positions, so each value is looked up in the raw text
    after the previous one (links come in document order); a value written with entities
    is also tried in its escaped form. A value still not found (``caf&eacute;``, an empty
    ``href``) gets the line of its attribute's name when that is given (for an <a href>, the
    one attribute of its element: for others, an attribute written before one read earlier
    would send the search to a later element), else the line where the search cursor stands
    (the previous link's). A value's line is where it starts.
    """

    __slots__ = ("_counted", "_cursor", "_line", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._cursor = 0
        # the cursor only moves forward: the newlines before it are counted once, in C
        self._counted = 0  # newlines counted up to here
        self._line = 1  # the line at _counted

    def find(self, value: str, attr: str = "") -> int:
        if value:
            text = self._text
            position = text.find(value, self._cursor)  # the common case, all inline
            if position > 0 and (
                text[position - 1] in _BEFORE_VALUE or text[position - 1].isspace()
            ):  # _advance, inline: this is once per link
                self._line += text.count("\n", self._counted, position)
                self._counted = position
                self._cursor = position + len(value)
                return self._line
            position = self._find_attribute(value)
            if position >= 0:
                return self._advance(position, len(value))
            # written with character references, e.g. &amp;
            for form in dict.fromkeys((escape(value, quote=False), escape(value))):
                position = self._find_attribute(form)
                if position >= 0:
                    return self._advance(position, len(form))
        if attr:  # given for an <a href> only: its one attribute, read in order
            match = _attribute_name(attr).search(self._text, self._cursor)
            if match is not None:
                return self._advance(match.start(), len(attr))
        return self._line_of_cursor()

    def find_text(self, value: str) -> int:
        """The line where ``value`` (raw text, such as a <style> block's) starts, searched
        from the cursor; the cursor's line if it is not found."""
        position = self._text.find(value, self._cursor)
        if position < 0:  # a NUL the parser replaced, say: its first line, then
            first = value.split("\n", 1)[0]
            position = self._text.find(first, self._cursor) if first else -1
        if position >= 0:
            return self._advance(position, len(value))
        return self._line_of_cursor()

    def _advance(self, position: int, length: int) -> int:
        """The line at ``position``; the cursor moves past the ``length`` characters there."""
        self._line += self._text.count("\n", self._counted, position)
        self._counted = position
        self._cursor = position + length
        return self._line

    def _line_of_cursor(self) -> int:
        """The line of the last character before the cursor."""
        self._line += self._text.count("\n", self._counted, self._cursor)
        self._counted = self._cursor
        return self._line

    def _find_attribute(self, form: str) -> int:
        """The position of ``form`` written as an attribute value (after =, ", ' or a space;
        or a comma, between srcset candidates)."""
        text, cursor = self._text, self._cursor
        while True:
            position = text.find(form, cursor)
            if position <= 0:
                return position
            before = text[position - 1]
            if before in _BEFORE_VALUE or before.isspace():
                return position
            cursor = position + 1


_BEFORE_VALUE = "\"'=,"
_ATTRIBUTE_NAMES: dict[str, re.Pattern[str]] = {}


def _attribute_name(attr: str) -> re.Pattern[str]:
    """An attribute's name as written in a tag (any case), for a value that was not found."""
    pattern = _ATTRIBUTE_NAMES.get(attr)
    if pattern is None:
        pattern = _ATTRIBUTE_NAMES[attr] = re.compile(
            rf"(?<=[\s\"'/]){re.escape(attr)}(?=[\s=>/])", re.IGNORECASE
        )
    return pattern
