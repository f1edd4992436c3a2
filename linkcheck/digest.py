"""Turn a fetched page into what the crawl records, in a form cheap to send between processes.

Parsing and resolving are most of a crawl's work, and they need nothing from the crawl but
the page: so they can run on another core (see :mod:`linkcheck.parse_pool`). A
:class:`Digester` parses a page, resolves its links and numbers what it has not seen before:
each destination (a link id) and each way of writing a link (a variant id: href, text, tag,
attribute, fragment). A :class:`PageDigest` then carries only the new ones, and the page's
occurrences as three small numbers each (link id, line, variant id) in one array: on a
guide whose nav repeats on every page, a page's digest is small.

The crawler applies digests in the order it receives them; the first time it meets a link id
it decides what happens to that destination (crawl, check, skip), as it would in process.
The distributed worker digests in process, with the same Digester, and turns the numbers
back into URLs and variants (:meth:`Digester.link_key`, :func:`unpack_variants`).
"""

from __future__ import annotations

import hashlib
from array import array
from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser

from linkcheck.config import Config
from linkcheck.css import decode_stylesheet, is_stylesheet
from linkcheck.extract import ParsedPage, decode, parse_page, stylesheet_links
from linkcheck.models import Finding, Variant, pack_variant, variant_flags
from linkcheck.pickling import by_fields
from linkcheck.quality import TEXT_PROBLEM, looks_not_found, page_link_text_findings, text_target
from linkcheck.urls import CachedResolver, ResolvedLink, document_key, page_base, resolve

# Bounds on what a digester remembers, so a large crawl does not keep every way each
# link was written: past them a memo starts again. Forgetting a variant only means it is
# sent (and numbered) once more; link ids are never forgotten (one per unique URL).
MAX_SEEN = 5_000
MAX_VARIANTS = 5_000
# Resolved hrefs by (folder or origin, href). A site's content links are each written a few
# times across the site, so the bound must hold a whole site's pairs, or a large site
# resolves its hrefs again with yarl as the cache starts over (see bench/README.md).
MAX_RESOLVED = 20_000
_WHOLE_BASE = "?# \t\n\r\f"  # an href starting so resolves against the whole base URL


@dataclass(frozen=True, slots=True)
class DigestSettings:
    """What a digester needs from the run's config (picklable: it goes to worker processes)."""

    max_links_per_page: int
    max_url_length: int
    link_text: bool
    generic_texts: frozenset[str]

    @classmethod
    def from_config(cls, config: Config) -> DigestSettings:
        return cls(
            max_links_per_page=config.crawl.max_links_per_page,
            max_url_length=config.crawl.max_url_length,
            link_text=config.checks.link_text,
            generic_texts=frozenset(t.casefold() for t in config.checks.generic_link_texts),
        )


@by_fields
@dataclass(frozen=True, slots=True)
class NewLink:
    """A destination the digester met for the first time (its id is its position)."""

    resolved: ResolvedLink
    href: str  # as written where it was first met; with no URL to fetch, the link's key
    follow: bool  # false under rel=nofollow or <meta name=robots content=nofollow>


@by_fields
@dataclass(slots=True)
class PageDigest:
    """One page, parsed and resolved: the page's facts and its occurrences by number."""

    title: str
    links_found: int  # links on the page, before max_links_per_page
    cut_short: bool  # more than max_links_per_page links: the rest were dropped
    ids: str  # fragment targets on the page (every id, and <a name>), joined by NULs
    new_links: list[NewLink] = field(default_factory=list)
    # the new variants, packed (see pack_variant) end to end, and where each ends
    new_variants: bytearray = field(default_factory=bytearray)
    variant_ends: array[int] = field(default_factory=lambda: array("I"))
    variant_flags: bytearray = field(default_factory=bytearray)  # models.variant_flags, each
    rows: array[int] = field(default_factory=lambda: array("I"))  # (link, line, variant) ...
    findings: list[Finding] = field(default_factory=list)  # link text problems
    # soft-404 judging, when asked: what the title or heading says ("Page not found"), and
    # the page's text when its title is that of the host's not-found page (to compare them)
    not_found_said: str = ""
    text: str | None = None
    # for "one page, one entry": the page's bytes hashed with the address of its document
    # (urls.document_key: dir/ for dir/index.html, the path without the query), and the URL
    # its <link rel=canonical> names, if any
    fingerprint: bytes = b""
    canonical: str = ""
    # a <meta http-equiv=refresh> that names a URL: where to, and after how many seconds
    # (None when the pragma's delay is not a number)
    refresh_to: str = ""
    refresh_delay: float | None = None


_Known = tuple[int, int, tuple[str, str] | None]  # a link's id, its variant's, its text target


def _may_have_text_findings(targets: list[tuple[str, str] | None]) -> bool:
    """Whether page_link_text_findings could find anything (see quality.text_target)."""
    distinct = {target for target in targets if target is not None}
    return TEXT_PROBLEM in distinct or len(distinct) != len({text for text, _ in distinct})


def _charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type (a bare label is taken as the charset)."""
    if not content_type or "/" not in content_type:
        return content_type
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    return None


def _fingerprint(address: str, body: bytes) -> bytes:
    """The page's bytes and its document's address (urls.document_key), hashed: equal for
    two addresses of one document."""
    digest = hashlib.blake2b(address.encode("utf-8", "surrogatepass"), digest_size=16)
    digest.update(body)
    return digest.digest()


def refresh_delay(content: str) -> float | None:
    """The seconds of a refresh pragma's ``content`` ("3; url=next.html"), or None when it
    does not start with a number (HTML §4.2.5.3 "shared declarative refresh steps": digits,
    then any digits and dots; the fraction is ignored)."""
    text = content.lstrip(" \t\n\f\r")
    digits = len(text) - len(text.lstrip("0123456789"))
    if digits == 0 and not text.startswith("."):
        return None
    return float(text[:digits] or 0)


def _refresh_delay(source: str) -> float | None:
    """The delay of the page's first refresh pragma (parsed again: only a page that has one
    comes here, and the extractor keeps only its URL)."""
    for node in LexborHTMLParser(source).css("meta[http-equiv]"):
        attributes = node.attributes
        if (attributes.get("http-equiv") or "").strip().lower() == "refresh":
            return refresh_delay(attributes.get("content") or "")
    return None


def _refresh(target: str, source: str) -> tuple[str, float | None]:
    """A refresh pragma's resolved ``target`` when it is an http(s) URL, and its delay;
    ("", None) for any other."""
    if not target.startswith(("http://", "https://")):
        return "", None
    return target, _refresh_delay(source)


def page_refresh(page_url: str, source: str) -> tuple[str, float | None]:
    """Where a page that is not digested (another site's first slice, see checker) sends
    its readers with a refresh pragma, and after how many seconds: read as a crawled page's
    is (its first refresh URL by extract, resolved against the page's base, the delay by
    _refresh_delay); ("", None) when it names no http(s) URL."""
    parsed = parse_page(source, heading=False, page_text=False)
    for raw in parsed.links:
        if raw.tag == "meta" and raw.attr == "content":  # extract reads only a refresh's
            resolved = resolve(page_base(page_url, parsed.base_href), raw.href)
            return _refresh(resolved.url or "", source)
    return "", None


def pack_ids(ids: frozenset[str]) -> str:
    """A page's ids as one string: a large crawl keeps them all until the end."""
    return "\0".join(ids)


def unpack_ids(packed: str) -> frozenset[str]:
    return frozenset(packed.split("\0")) if packed else frozenset()


def unpack_variants(packed: bytes | bytearray, ends: array[int]) -> list[Variant]:
    """A digest's new variants (see pack_variant), in the order of their ids."""
    variants: list[Variant] = []
    start = 0
    for end in ends:
        href, text, tag, attr, fragment = (
            packed[start:end].decode("utf-8", "surrogatepass").split("\0")
        )
        variants.append((href, text, tag, attr, fragment))
        start = end
    return variants


class Digester:
    """Parses pages and numbers links and variants; one per process that parses.

    Ids only grow: the crawler keeps, per digester, a list from link id to its Link and one
    from variant id to the variant tuple.
    """

    def __init__(self, settings: DigestSettings) -> None:
        self._settings = settings
        self._resolver = CachedResolver(
            max_entries=MAX_RESOLVED, max_url_length=settings.max_url_length
        )
        self._link_ids: dict[str, int] = {}
        self._variant_ids: dict[Variant, int] = {}
        self._variants_sent = 0  # the next variant id (ids are never reused)
        # (folder or base, href, text, tag, attr) -> (link id, variant id, text target)
        self._seen: dict[tuple[str, str, str, str, str], _Known] = {}
        self._link_keys: list[str] = []  # link id -> its URL (or href, when it has none)

    def link_key(self, link_id: int) -> str:
        """The URL a link id stands for (the href itself when it has no URL)."""
        return self._link_keys[link_id]

    def digest(
        self,
        page_url: str,
        body: bytes,
        content_type: str | None,
        *,
        judge: bool = False,
        probe_title: str | None = None,
    ) -> PageDigest:
        """Digest an HTML page, or a stylesheet when ``content_type`` says text/css (its
        url()s and @imports, resolved against its own URL). ``content_type`` is the
        Content-Type header; a bare charset label (``"utf-8"``) stands for HTML in it.
        ``judge``: look for the signs of a soft 404; ``probe_title``: the title of what the
        host serves for a page that does not exist, if it serves one with 200."""
        charset = _charset(content_type)
        source = ""
        if is_stylesheet(content_type):
            judge = False  # a stylesheet is no "not found" page
            css = decode_stylesheet(body, charset)
            parsed = ParsedPage(title="", base_href=None, links=stylesheet_links(css))
        else:
            source = decode(body, charset)
            parsed = parse_page(source, heading=judge, page_text=False)
        settings = self._settings
        raw_links = parsed.links
        cut_short = len(raw_links) > settings.max_links_per_page
        if cut_short:
            raw_links = raw_links[: settings.max_links_per_page]
        digest = PageDigest(
            title=parsed.title,
            links_found=len(parsed.links),
            cut_short=cut_short,
            ids=pack_ids(parsed.ids),
        )
        base = str(page_base(page_url, parsed.base_href)) if parsed.base_href else page_url
        folder = base.split("?", 1)[0].split("#", 1)[0]
        folder = folder[: folder.rfind("/") + 1]
        resolve_href = self._resolver.for_page(base)
        link_ids, variant_ids, seen = self._link_ids, self._variant_ids, self._seen
        if len(seen) > MAX_SEEN:
            seen.clear()
        if len(variant_ids) > MAX_VARIANTS:
            variant_ids.clear()  # ids keep growing: numbers are never reused
        new_links, new_variants, rows = digest.new_links, digest.new_variants, digest.rows
        variant_ends, flags = digest.variant_ends, digest.variant_flags
        page_follows = not parsed.nofollow
        link_keys, generic = self._link_keys, settings.generic_texts
        canonical = refresh_to = ""
        targets: list[tuple[str, str] | None] = []  # per link: its text_target (or None)
        check_text = settings.link_text
        # The hot loop of a crawl: once per link per page.
        # A link written as before on a page of the same folder resolves as before: one
        # look-up gives its ids (an href that starts with ? or # depends on the whole base).
        for raw in raw_links:
            href, text, tag, attr, line, nofollow, issue, not_checked = raw
            context = folder if href and href[0] not in _WHOLE_BASE else base
            known = seen.get((context, href, text, tag, attr))
            if known is None:
                resolved = resolve_href(href)
                key = resolved.url if resolved.url is not None else href.strip()
                if not_checked:
                    # Recorded with no URL to fetch, so skipped with the reason; no scheme, so
                    # nothing judges it as a mailto:, file: ... link either. Its key names the
                    # attribute: a URL never holds a space, so the key is never that of a link
                    # that is checked (<a href=X> beside <blockquote cite=X> is still checked).
                    resolved = ResolvedLink(
                        None, resolved.fragment, "", f"not checked: {not_checked}"
                    )
                    key = f"{href.strip()} ({tag} {attr})"
                link_id = link_ids.get(key)
                if link_id is None:
                    link_id = link_ids[key] = len(link_ids)
                    link_keys.append(key)
                    first = key if not_checked else href  # see NewLink.href
                    new_links.append(NewLink(resolved, first, page_follows and not nofollow))
                variant = (href, text, tag, attr, resolved.fragment)
                variant_id = variant_ids.get(variant)
                if variant_id is None:
                    variant_id = variant_ids[variant] = self._variants_sent
                    self._variants_sent += 1
                    packed = pack_variant(variant)
                    new_variants += packed
                    variant_ends.append(len(new_variants))
                    flags.append(variant_flags(packed, url=key))
                target = None
                if check_text and tag == "a" and attr == "href":
                    target = text_target(text, issue, key, generic)
                known = seen[context, href, text, tag, attr] = (link_id, variant_id, target)
            rows.extend((known[0], line, known[1]))
            targets.append(known[2])
            if tag != "a" and (tag == "link" or tag == "meta"):  # rare: one test for most
                if tag == "meta" and attr == "content" and not refresh_to:
                    refresh_to = link_keys[known[0]]  # extract reads only a refresh's
                elif tag == "link" and not canonical and "canonical" in text.lower().split():
                    canonical = link_keys[known[0]]  # a <link>'s text is its rel
        if check_text and _may_have_text_findings(targets):
            texts = [
                (raw, link_keys[link_id])
                for raw, link_id in zip(raw_links, rows[0::3], strict=True)
                if raw.tag == "a" and raw.attr == "href"
            ]
            digest.findings = page_link_text_findings(page_url, texts, generic)
        digest.fingerprint = _fingerprint(document_key(page_url), body)
        if canonical.startswith(("http://", "https://")):
            digest.canonical = canonical
        if refresh_to:
            digest.refresh_to, digest.refresh_delay = _refresh(refresh_to, source)
        if judge:
            digest.not_found_said = looks_not_found(parsed.title, parsed.heading)
            if not digest.not_found_said and parsed.title == probe_title:
                # rare (titled like the host's not-found page): parsed again for its text,
                # rather than every page's text taken out in case
                digest.text = parse_page(source, heading=False).text
        return digest
