"""The golden corpus: each case a page or stylesheet and the exact links the crawler records.

A case is two files in ``corpus/<topic>/``: ``<name>.html`` (or ``.css``), the bytes as
served, and ``<name>.json``: ``about`` (what it checks, citing the standard), ``url`` (where it
was served), ``content_type`` (optional; the Content-Type header), ``links`` (the exact list,
in order, of ``[URL as recorded, tag, attribute, line]``) and ``verdicts`` (optional: for links
decided without a request, the verdict, error kind and a piece of the message).

Each case runs through the crawler's own stage: :class:`linkcheck.digest.Digester` (decoding,
extraction, CSS, resolution, as a crawl, a parse worker and a distributed worker do) and, for
links with no URL to fetch, :func:`linkcheck.decide.unfetchable`. The cases are written from
the standards (HTML, CSS Syntax 3, RFC 3986, WHATWG URL, RFC 6068, RFC 3966), not from what
any checker outputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from linkcheck.decide import unfetchable
from linkcheck.digest import Digester, DigestSettings, unpack_variants
from linkcheck.urls import ResolvedLink
from tests.conftest import make_config

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(CORPUS.glob("*/*.json"))
FIELDS = {"about", "url", "content_type", "links", "verdicts"}
VERDICT_FIELDS = {"verdict", "error", "message_contains"}
MIN_CASES = 200  # issue #19: the corpus proves the reading with at least this many cases
SETTINGS = DigestSettings.from_config(make_config("http://site.test/"))


def _source(case: Path) -> Path:
    sources = [case.with_suffix(suffix) for suffix in (".html", ".css")]
    found = [source for source in sources if source.exists()]
    assert len(found) == 1, f"{case.name}: one .html or .css file beside it, found {found}"
    return found[0]


def _digest(case: Path) -> tuple[dict[str, Any], list[list[Any]], dict[str, ResolvedLink]]:
    """The case's spec, the links the crawler records, and each link's resolution."""
    spec = json.loads(case.read_text(encoding="utf-8"))
    source = _source(case)
    content_type = spec.get("content_type") or (
        "text/css" if source.suffix == ".css" else "text/html"
    )
    digester = Digester(SETTINGS)  # a fresh one: link and variant ids start at 0
    digest = digester.digest(spec["url"], source.read_bytes(), content_type)
    variants = unpack_variants(digest.new_variants, digest.variant_ends)
    rows = iter(digest.rows)
    links = [
        [digester.link_key(link_id), variants[variant][2], variants[variant][3], line]
        for link_id, line, variant in zip(rows, rows, rows, strict=True)
    ]
    resolved = {digester.link_key(n): new.resolved for n, new in enumerate(digest.new_links)}
    return spec, links, resolved


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= MIN_CASES, f"{len(CASES)} cases in {CORPUS}"


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.parent.name}/{case.stem}")
def test_case(case: Path) -> None:
    spec, links, resolved = _digest(case)
    assert set(spec) <= FIELDS, f"unknown fields: {set(spec) - FIELDS}"
    assert spec["about"].strip(), "say what the case checks, citing the standard"
    assert links == spec["links"]
    for key, expected in spec.get("verdicts", {}).items():
        assert set(expected) <= VERDICT_FIELDS, f"unknown fields: {set(expected) - VERDICT_FIELDS}"
        assert key in resolved, f"{key!r} is not one of the case's links"
        link = resolved[key]
        assert link.url is None, f"{key!r} is fetched: its verdict needs the network"
        result = unfetchable(key, link, mailto_tel=True)
        assert result.verdict.value == expected["verdict"], result.message
        if "error" in expected:
            assert (result.error.value if result.error else None) == expected["error"]
        assert expected.get("message_contains", "") in result.message
