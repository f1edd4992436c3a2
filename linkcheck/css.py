"""Read the URLs a stylesheet loads (url(), src(), image-set() and @import), by CSS Syntax 3.

tinycss2 tokenizes as browsers do (CSS Syntax 3 §4), so comments, escapes (``u\\72l(``),
quoted and unquoted ``url(`` and strings come out right where a regular expression would
not. The links of a fetched stylesheet resolve against the stylesheet's own URL; those of a
``<style>`` block or a ``style=""`` attribute against the page's base URL (CSS Values 4
§4.5.1): the caller resolves, this module only finds them, with their line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import tinycss2
from tinycss2 import ast
from tinycss2.bytes import decode_stylesheet_bytes

CSS_CONTENT_TYPES = frozenset({"text/css"})
# A stylesheet is read up to this many characters: tinycss2 is pure Python (about 2 MB a
# second), and a body larger than real stylesheets (a mislabelled file, a hostile one) must
# not hold up a run; past it, the rest of the stylesheet is not read.
MAX_CSS_CHARS = 1_000_000
# CSS Images 4 §2.2: a string inside image-set() is a URL, as url() would be.
_IMAGE_SET = frozenset({"image-set", "-webkit-image-set"})
# CSS Values 4 §4.5.1: url() and src() are the URL functions (src() takes a string only)
_URL_FUNCTIONS = frozenset({"url", "src"})
_SKIPPED = frozenset({"whitespace", "comment"})


class CssLink(NamedTuple):
    """A URL written in CSS: as written (escapes decoded), its 1-based line in the CSS text,
    and what loads it (the property, ``src`` in @font-face, or ``@import``)."""

    url: str
    line: int
    where: str


def is_stylesheet(content_type: str | None) -> bool:
    """True for a Content-Type that names CSS (parameters such as charset ignored)."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() in CSS_CONTENT_TYPES


def decode_stylesheet(body: bytes, charset: str | None) -> str:
    """A stylesheet's text by CSS Syntax 3 §3.2: BOM, Content-Type charset, ``@charset``,
    then UTF-8; undecodable bytes become U+FFFD, never an error."""
    text, _ = decode_stylesheet_bytes(
        body[: MAX_CSS_CHARS * 4], protocol_encoding=charset, environment_encoding=None
    )
    return text


def might_have_links(css: str) -> bool:
    """False when ``css`` cannot hold a URL: each URL form needs a literal ``(`` (url(),
    image-set()) or ``@`` (@import): neither can be written with an escape (CSS Syntax 3
    §4.3.4, §4.3.11). Spares the tokenizer for ``style="color: red"``."""
    return "(" in css or "@" in css


def css_links(css: str, *, local_fragments: bool) -> list[CssLink]:
    """Every URL ``css`` loads, in source order.

    An empty ``url()`` is left out: it names no resource (CSS Values 4 §4.5.1). A
    fragment-only ``url(#id)`` names an element of the document that uses the CSS (ibid.):
    kept only for inline CSS (``local_fragments``), where that document is the page.
    """
    if not might_have_links(css):
        return []
    tokens = tinycss2.parse_component_value_list(css[:MAX_CSS_CHARS], skip_comments=True)
    found: list[CssLink] = []
    _walk(tokens, found, "", local_fragments)
    return found


def _walk(
    tokens: Iterable[ast.Node], found: list[CssLink], where: str, local_fragments: bool
) -> None:
    """Collect URLs from a list of component values; ``where`` is the property they are in."""
    ident = ""  # the last identifier: a property name if a ':' follows
    after_import = False  # the next string or url() is @import's
    in_namespace = False  # @namespace's URL names a namespace, it is not loaded
    for token in tokens:
        if token.type in _SKIPPED:
            continue
        if in_namespace:
            in_namespace = not (isinstance(token, ast.LiteralToken) and token.value == ";")
            continue
        if isinstance(token, ast.IdentToken):
            ident = token.lower_value
            continue
        if isinstance(token, ast.AtKeywordToken):
            after_import = token.lower_value == "import"
            in_namespace = token.lower_value == "namespace"
            ident = ""
            continue
        place = "@import" if after_import else where
        if isinstance(token, ast.LiteralToken):
            if token.value == ":" and ident:
                where = ident
            elif token.value in (";", "}"):
                where = ""
            ident = ""
            after_import = False
            continue
        ident = ""
        if isinstance(token, ast.URLToken):
            _add(found, token.value, token.source_line, place, local_fragments)
        elif isinstance(token, ast.StringToken):
            if after_import:  # @import "x.css" (CSS Cascade 4 §2.1)
                _add(found, token.value, token.source_line, place, local_fragments)
        elif isinstance(token, ast.FunctionBlock):
            name = token.lower_name
            if name in _URL_FUNCTIONS:
                for argument in token.arguments:
                    if isinstance(argument, ast.StringToken):
                        _add(found, argument.value, argument.source_line, place, local_fragments)
                        break
            elif name in _IMAGE_SET:
                for argument in token.arguments:
                    if isinstance(argument, ast.StringToken):
                        _add(found, argument.value, argument.source_line, place, local_fragments)
                _walk(token.arguments, found, place, local_fragments)
            else:  # var() fallbacks, cross-fade(), ...: any url() inside still loads
                _walk(token.arguments, found, place, local_fragments)
        elif isinstance(token, ast.CurlyBracketsBlock):
            _walk(token.content, found, "", local_fragments)
            where = ""
        elif isinstance(token, (ast.ParenthesesBlock, ast.SquareBracketsBlock)):
            _walk(token.content, found, place, local_fragments)
        after_import = False


def _add(found: list[CssLink], url: str, line: int, where: str, local_fragments: bool) -> None:
    url = url.strip()
    if not url or (url[0] == "#" and not local_fragments):
        return
    found.append(CssLink(url, line, where))
