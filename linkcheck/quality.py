"""Content-quality checks beyond "does it resolve": pure functions over what the crawl found.

Each returns findings — warnings for editors, or errors — with advice in plain words:
soft 404s (a "not found" page that answers 200), insecure links and mixed content, link
text that tells a reader (or a screen reader) nothing, and the same destination written in
several forms.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from urllib.parse import urlsplit

# mailto:/tel: syntax is linkcheck.contact's; named here too, where it was first
from linkcheck.contact import check_mailto as check_mailto
from linkcheck.contact import check_tel as check_tel
from linkcheck.extract import RawLink
from linkcheck.models import Finding, FindingKind, Link, href_form, is_absolute_http

# What the title or main heading of a "not found" page says, in the languages a shop's guide
# and its carriers use: one row per language, each a tuple of phrases, matched in lowercased
# text. linkcheck.soft404 judges other sites' pages with the same table.
NOT_FOUND_PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "English",
        (
            "not found",  # "Page not found", "404 Not Found", "Product not found"
            "no longer available",
            "no longer exists",
            "does not exist",
            "cannot be found",
            "can't be found",
            "can\u2019t be found",
            "couldn't find",
            "could not be found",
        ),
    ),
    # ページが見つかりません, お探しのページは見つかりませんでした, 指定されたページは存在しません
    (
        "Japanese",
        ("ページが見つかりません", "お探しのページ", "見つかりませんでした", "存在しません"),
    ),
    ("German", ("seite nicht gefunden", "nicht gefunden")),
    ("French", ("page introuvable", "introuvable", "n'existe pas", "n\u2019existe pas")),
    ("Spanish", ("página no encontrada", "no encontrad", "no existe")),
    ("Italian", ("pagina non trovata", "non trovata")),
    # 页面未找到 / 找不到页面 (simplified), 頁面不存在 / 找不到網頁 (traditional)
    ("Chinese", ("未找到", "找不到", "页面不存在", "頁面不存在", "无法找到", "無法找到")),
    ("Korean", ("페이지를 찾을 수 없", "찾을 수 없")),  # 페이지를 찾을 수 없습니다
)
_PHRASES = tuple(phrase for _, phrases in NOT_FOUND_PHRASES for phrase in phrases)
# "404" alone says "not found" only where a not-found page puts it: first and followed by
# nothing, a separator or a not-found word ("404", "404 | Shop", "404 Not Found"), last after
# a separator ("Shop - 404"), or after "error"; "Guide page 404: DHL" is page 404 and "404
# Camera Review" a product's name. For titles and headings only.
NOT_FOUND_404 = (
    r"^\s*404\s*($|[-:|.!/\u2013\u2014\u00b7\u30fb]|not\b|error|page|エラー|ページ)",
    r"[-:|\u2013\u2014]\s*404\s*$|\b(error|erreur|fehler|http)\s*404\b|エラー\s*404",
    r"\b404\s*error",
)
# searched in lowercased text: faster than re.IGNORECASE over so many alternatives
_NOT_FOUND = re.compile("|".join([*NOT_FOUND_404, *map(re.escape, _PHRASES)]))
_QUOTED = re.compile('“[^”]*”|"[^"]*"|「[^」]*」|『[^』]*』|\u2018[^\u2019]*\u2019')
_LOGIN_PATH = re.compile(
    r"/(log-?in|sign-?in|signon|auth|account/login|users/sign_in|sso)\b", re.IGNORECASE
)

DEFAULT_GENERIC_TEXTS: tuple[str, ...] = (
    "click here",
    "here",
    "more",
    "read more",
    "learn more",
    "link",
    "this link",
    "this page",
    "details",
    "more info",
    "continue",
    "go",
    "click",
    "こちら",
    "ここ",
    "こちらをクリック",
    "詳しくはこちら",
    "詳細",
    "詳細はこちら",
    "クリック",
    "hier",
    "ici",
    "aquí",
)

# Elements whose http:// source is blocked or marked insecure by browsers on an https page.
ACTIVE_CONTENT_TAGS = frozenset({"img", "script", "link", "iframe", "source", "video", "audio"})


def looks_not_found(title: str, heading: str) -> str:
    """The title or main heading that says "not found", or "" for a real page.

    Only the title and the first heading count: a real page that mentions "not found" in its
    text (say, a help topic about error messages) is not a "not found" page.
    """
    for text in (title, heading):
        # a quoted phrase is being talked about ("What “Item not found” means"), not said
        if text and len(text) <= 120 and _NOT_FOUND.search(_QUOTED.sub("", text).lower()):
            return text
    return ""


def mentions_not_found(text: str) -> bool:
    """Whether ``text`` (a page's visible text) says "not found" anywhere: not a verdict
    (a help page may explain the phrase), only a reason to look closer. Substring tests,
    not the title's regex: a page's text is long, and this runs for every page checked."""
    lowered = _QUOTED.sub("", text).lower()
    return any(phrase in lowered for phrase in _PHRASES)


def redirect_dead_end(url: str, final_url: str | None) -> str:
    """A deep link that lands on the site's home page or a login page: the target is gone."""
    if not final_url or final_url == url:
        return ""
    start, end = urlsplit(url), urlsplit(final_url)
    deep = start.path.strip("/") != "" or bool(start.query)
    if not deep:
        return ""
    if end.path in ("", "/") and not end.query:
        return "it redirects to the site's home page"
    if _LOGIN_PATH.search(end.path) and not _LOGIN_PATH.search(start.path):
        return "it redirects to a login page"
    return ""


def similar(a: str, b: str) -> float:
    """How alike two page texts are (0..1), by shared word 3-shingles: cheap and robust."""

    def shingles(text: str) -> set[tuple[str, ...]]:
        words = text.lower().split()
        return {tuple(words[i : i + 3]) for i in range(max(len(words) - 2, 1))}

    left, right = shingles(a), shingles(b)
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)


def insecure_links(links: Iterable[Link], secure_pages: set[str]) -> list[Finding]:
    """http:// links on https:// pages: mixed content (an error) or an insecure link (a warning)."""
    findings: list[Finding] = []
    if not secure_pages:  # an http-only site: nothing to look at in its occurrences
        return findings
    for link in links:
        if not link.url.startswith("http://"):
            continue
        for occurrence in link.occurrences:
            if occurrence.page not in secure_pages:
                continue
            if occurrence.tag in ACTIVE_CONTENT_TAGS:
                findings.append(
                    Finding(
                        FindingKind.MIXED_CONTENT,
                        "error",
                        link.url,
                        occurrence.page,
                        occurrence.href,
                        occurrence.text,
                        occurrence.line,
                        f"This secure (https) page loads a {occurrence.tag} over insecure http; "
                        "browsers block or flag it. Load it over https.",
                    )
                )
            elif occurrence.tag == "a":
                findings.append(
                    Finding(
                        FindingKind.INSECURE_LINK,
                        "warning",
                        link.url,
                        occurrence.page,
                        occurrence.href,
                        occurrence.text,
                        occurrence.line,
                        "A secure (https) page links to an insecure http address.",
                    )
                )
    return findings


# What text_target says of a link whose text page_link_text_findings reports on its own.
TEXT_PROBLEM = ("", "")
_GENERIC_TRIM = " .!:>»→"  # "Click here!", "More »": still generic


def text_target(
    text: str, text_issue: str, url: str, generic: frozenset[str]
) -> tuple[str, str] | None:
    """One <a> link as :func:`page_link_text_findings` sees it: None when its text is not
    checked (``javascript:``), :data:`TEXT_PROBLEM` when the link alone is a finding, else
    (casefolded text, URL). A page has no finding when no link is a problem and no text
    leads to two URLs: worked out per way of writing a link, that is a set comparison per
    page instead of a look at each of its links."""
    if url.startswith("javascript:"):
        return None
    text = text.strip()
    if text_issue or not text:
        return TEXT_PROBLEM
    folded = text.casefold()
    return TEXT_PROBLEM if folded.strip(_GENERIC_TRIM) in generic else (folded, url)


def page_link_text_findings(
    page: str, links: Iterable[tuple[RawLink, str]], generic: frozenset[str]
) -> list[Finding]:
    """Link text on one page that tells readers (and screen readers) nothing, or two things.

    ``links`` are the page's links with the URL each resolves to; ``generic`` the casefolded
    texts that name no target ("click here", "こちら").
    """
    findings = []
    targets_by_text: dict[str, dict[str, RawLink]] = {}
    for raw, url in links:
        if raw[2] not in ("a", "area") or url.startswith("javascript:"):  # raw.tag
            continue
        text = raw[1].strip()  # raw.text; by position, as this runs once per link
        if raw[6]:  # raw.text_issue: an image without alt text is the only one
            findings.append(
                _text_warning(
                    FindingKind.IMAGE_WITHOUT_ALT,
                    page,
                    url,
                    raw,
                    "",
                    "The link is an image with no alt text: screen readers read out the address "
                    "instead. Give the image an alt text that names the target.",
                )
            )
        elif not text:
            findings.append(
                _text_warning(
                    FindingKind.EMPTY_LINK_TEXT,
                    page,
                    url,
                    raw,
                    "",
                    "The link has no text: readers and screen readers cannot tell where it goes. "
                    "Give it text that names its target.",
                )
            )
        elif (folded := text.casefold()).strip(_GENERIC_TRIM) in generic:
            findings.append(
                _text_warning(
                    FindingKind.GENERIC_LINK_TEXT,
                    page,
                    url,
                    raw,
                    text,
                    f"“{text}” does not say where the link goes; readers scanning the page (and "
                    "screen-reader users) need text that names the target.",
                )
            )
        else:
            targets = targets_by_text.get(folded)
            if targets is None:
                targets_by_text[folded] = {url: raw}
            elif url not in targets:
                targets[url] = raw
    for targets in targets_by_text.values():
        if len(targets) < 2:
            continue
        urls = sorted(targets)
        first = targets[urls[0]]
        findings.append(
            Finding(
                FindingKind.SAME_TEXT_DIFFERENT_TARGETS,
                "warning",
                urls[0],
                page,
                first.href,
                first.text,
                first.line,
                "",  # made from the text and the targets (Finding.message)
                tuple(urls),
            )
        )
    return findings


def _text_warning(
    kind: FindingKind, page: str, url: str, raw: RawLink, text: str, message: str
) -> Finding:
    """A link-text warning, located where the link is written on ``page``."""
    return Finding(kind, "warning", url, page, raw.href, text, raw.line, message)


def inconsistent_links(links: Iterable[Link]) -> list[Finding]:
    """One destination written in several forms: http and https, with and without "/", or
    a host in different letter case. A tidy-up list for the whole site."""
    groups: dict[str, list[Link]] = defaultdict(list)
    for link in links:
        if link.url.startswith(("http://", "https://")) and link.occurrences:
            groups[link.url.split("://", 1)[1].rstrip("/")].append(link)
    findings = []
    for variants in groups.values():
        if len(variants) >= 2:
            forms = {link.url: len(link.occurrences) for link in variants}
        else:
            occurrences = variants[0].occurrences
            # the URL its variants resolved to (a missing #fragment's link is page#fragment)
            if len(occurrences.absolute_forms(variants[0].url.split("#", 1)[0])) < 2:
                continue  # the common case: written in one http(s) form, or none
            written: dict[str, int] = defaultdict(int)
            for href, count in occurrences.href_counts().items():
                if is_absolute_http(href):
                    written[href_form(href)] += count
            forms = dict(written)
        if len(forms) < 2:
            continue
        ordered = sorted(forms, key=lambda form: (-forms[form], form))
        listed = "; ".join(f"{form} ({forms[form]} times)" for form in ordered)
        first = variants[0].occurrences[0]
        findings.append(
            Finding(
                FindingKind.INCONSISTENT_LINK,
                "warning",
                variants[0].url,
                first.page,
                first.href,
                first.text,
                first.line,
                f"The same page is linked in {len(forms)} forms: {listed}. Use one form "
                f"everywhere (preferably {_preferred(ordered)}).",
            )
        )
    return findings


def _preferred(forms: list[str]) -> str:
    secure = [form for form in forms if form.lower().startswith("https://")]
    return (secure or forms)[0]
