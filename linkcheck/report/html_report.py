"""The editors' HTML report: one self-contained file, rendered by Jinja2 with autoescape on.

An editor opens it from a CI artifact or an e-mail, with no network, and must see what to
fix and where without help. So the report is organised by page (editors fix pages), names
each link by the text a reader sees, says what happened and what to do in plain words, and
groups the links of the shared site template once instead of on every page.

Everything shown comes from crawled pages and is hostile until proven otherwise: text is
escaped by Jinja2, control and bidi-override characters are made visible by ``finalize``,
only http(s) URLs become clickable, and a Content-Security-Policy allows exactly one inline
script and one inline style sheet, each by the SHA-256 hash of its text — never
``'unsafe-inline'``. The script only adds filters, search, sorting and tabs: with
JavaScript off, every section and every row is still there.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from jinja2 import BytecodeCache, Environment, FileSystemBytecodeCache, PackageLoader
from jinja2.bccache import Bucket
from markupsafe import Markup

from linkcheck._version import __version__
from linkcheck.models import (
    CheckResult,
    Link,
    LinkMemory,
    Occurrence,
    RedirectKind,
    RunResult,
    Verdict,
)
from linkcheck.report.advice import Advice, Limits, advice_for
from linkcheck.report.json_report import sorted_links
from linkcheck.urls import authority_of, display_host

# C0/C1 controls (except tab and newline) and Unicode bidi controls that can reorder text.
_UNSAFE_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    return f"\u2039U+{ord(match.group()):04X}\u203a"


def _in_chunks(pieces: Iterator[str], size: int = 1 << 16) -> Iterator[str]:
    """Jinja2 yields many pieces per link; written one by one, each was an encode and a write."""
    batch: list[str] = []
    length = 0
    for piece in pieces:
        batch.append(piece)
        length += len(piece)
        if length >= size:
            yield "".join(batch)
            batch, length = [], 0
    if batch:
        yield "".join(batch)


def neutralize(value: Any) -> Any:
    """Show dangerous invisible characters as visible code points instead of obeying them.

    Markup keeps its type: Jinja2 builds Markup from page text too (``a ~ b`` escapes and
    joins), so it must be cleaned as well — and turning it into a plain str would make
    autoescape escape it a second time. The replacement contains no HTML-special character,
    so it is safe inside markup.
    """
    if not isinstance(value, str) or _UNSAFE_CHARS.search(value) is None:
        return value  # nearly every value: nothing to show, nothing copied
    if isinstance(value, Markup):
        return Markup(_UNSAFE_CHARS.sub(_visible, str(value)))
    return _UNSAFE_CHARS.sub(_visible, value)


def idn_host(url: str | None) -> str:
    """The Unicode form of an internationalised host (``xn--bcher-kva.de`` → ``bücher.de``),
    shown beside the URL so readers see both; "" for every other URL."""
    if not url:
        return ""
    parts = url.split("/", 3)  # scheme:, "", authority, path
    if len(parts) < 3 or "xn--" not in parts[2].lower():
        return ""
    try:
        host = display_host(url)
    except (ValueError, UnicodeError):
        return ""
    return host if host and "xn--" not in host else ""


def http_href(url: str | None) -> str | None:
    """The URL if it may be a clickable link in the report (http or https only), else None."""
    if url and url.lower().startswith(("http://", "https://")):
        return url
    return None


class _QuietBytecodeCache(FileSystemBytecodeCache):
    """The compiled template, kept between runs: compiling it cost every run that writes an
    html report far more than loading it does. Jinja2's own folder (in the temporary
    directory, private to the user, checked to be theirs) and its own checks (the template's
    checksum, the Python and Jinja2 versions) decide whether a copy is used. A cache that
    cannot be read or written is simply not used: the template is compiled as before."""

    def load_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().load_bytecode(bucket)

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _bytecode_cache() -> BytecodeCache | None:
    try:
        return _QuietBytecodeCache()
    except (OSError, RuntimeError):  # no private folder could be made for it
        return None


_environment = Environment(
    loader=PackageLoader("linkcheck.report", "templates"),
    bytecode_cache=_bytecode_cache(),
    autoescape=True,  # explicit: select_autoescape() would not cover a *.j2 template
    finalize=neutralize,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters["http_href"] = http_href
_environment.filters["idn_host"] = idn_host


# A problem link on at least this share of crawled pages (and on TEMPLATE_MIN_PAGES or more)
# sits in the shared navigation, header or footer: it is fixed once, in the template, so the
# report names it once instead of on every page.
TEMPLATE_SHARE = 0.5
TEMPLATE_MIN_PAGES = 3

# Lists that could grow with the size of the site are cut here, with "and N more": a link on
# thousands of pages must not repeat thousands of rows in every section. The By page view is
# never cut — every page with a problem is listed there.
PAGES_LISTED = 25  # pages named under one link (By link, Redirects)
TEMPLATE_PAGES_LISTED = 10  # pages named under one template link
CHANGES_LISTED = 50  # links named under "new" and "fixed"
UNCHECKED_LISTED = 300  # skipped and excluded links named

# The problem kinds, in the order the filter offers them, with the filter's words.
KIND_LABELS = {
    "broken": "Broken",
    "error": "Unreachable",
    "blocked": "Blocked",
    "rate-limited": "Rate limited",
    "moved": "Moved",
}

# How an element's link is named when its text alone would not say what it is.
ELEMENT_NAMES = {
    "img": "image",
    "source": "image or media source",
    "video": "video",
    "audio": "audio",
    "iframe": "embedded frame",
    "script": "script",
    "link": "page resource",
    "area": "image-map area",
    "meta": "automatic redirect",
}

# Verdict -> (what the summary calls it, colour class). Unknown future verdicts show their
# own name in a neutral colour rather than breaking the report.
VERDICT_CARDS = {
    "broken": ("broken", "bad"),
    "error": ("unreachable", "bad"),
    "blocked": ("blocked", "warn"),
    "rate-limited": ("rate limited", "warn"),
    "redirected": ("redirected", "warn"),
    "ok": ("fine", "ok"),
    "skipped": ("skipped", "info"),
    "excluded": ("excluded", "info"),
}


@dataclass(frozen=True, slots=True)
class PageRef:
    url: str
    title: str


@dataclass(slots=True)
class Problem:
    """One problem URL (dead, or moved for good), with everything every view shows about it."""

    link: Link
    result: CheckResult
    kind: str  # the filter key: a key of KIND_LABELS
    advice: Advice
    host: str  # the display host, "" when the URL has none
    text: str  # the anchor text most pages show for it
    href: str  # the href as most pages write it
    line: int  # the line most pages have it on (for template links)
    pages: list[PageRef]
    template: bool = False
    new: bool = False  # dead now, not dead in the previous run
    history: str = ""  # from the run history and the baseline: "failing 5 runs in a row"

    @property
    def scope(self) -> str:
        return "internal" if self.link.internal else "external"

    @property
    def dead(self) -> bool:
        return self.result.verdict.failed


@dataclass(frozen=True, slots=True)
class Row:
    """One place a problem link is written, as its page's table shows it."""

    problem: Problem
    occurrence: Occurrence


@dataclass(slots=True)
class PageView:
    page: PageRef
    rows: list[Row]
    aliases: tuple[str, ...] = ()  # its other addresses (see models.Page.aliases)


@dataclass(frozen=True, slots=True)
class Move:
    """One line of the ready-to-use replacement list: ``old -> new``."""

    old: str
    new: str


@dataclass(slots=True)
class HostView:
    """One external host: how many of the links to it are dead, moved, blocked or fine."""

    host: str
    links: int = 0
    dead: int = 0
    moved: int = 0
    blocked: int = 0
    fine: int = 0
    unchecked: int = 0
    pages: set[str] = field(default_factory=set)
    problems: bool = False  # has rows in By page / By link to show


@dataclass(frozen=True, slots=True)
class Fixed:
    url: str
    was: str  # the old problem's label
    now: str  # what it is now, in words


@dataclass(slots=True)
class Changes:
    """What changed since the previous run: dead links compared by URL."""

    previous_started: datetime
    new: list[Problem]
    fixed: list[Fixed]
    not_reached: int  # earlier problems this (partial) run did not check
    same_start: bool
    comparable: bool  # False when the previous run crawled no page: every link would be "new"


@dataclass(slots=True)
class Report:
    """Everything the template shows, computed once so the template only lays it out."""

    run: RunResult
    counts: dict[str, int]
    problems: list[Problem]  # dead, unverified and moved, in verdict order
    dead: list[Problem]
    moved: list[Problem]
    unverified: list[Problem]  # blocked or rate limited: check by hand
    temporary: list[Problem]
    template: list[Problem]  # problems in the shared template, named once
    pages: list[PageView]  # every page with a problem outside the template
    moves: list[Move]
    hosts: list[HostView]
    problem_hosts: list[tuple[str, int]]  # (host, problems) for the host filter
    unchecked: list[Link]
    unchecked_total: int
    changes: Changes | None
    crawled: int
    external_links: int

    @property
    def other_work(self) -> list[str]:
        """The headline's work besides dead links, e.g. "2 moved links to update"."""
        work = []
        if self.moved:
            work.append(_plural(len(self.moved), "moved link") + " to update")
        if self.unverified:
            work.append(_plural(len(self.unverified), "link") + " to check by hand")
        return work

    @property
    def kind_counts(self) -> dict[str, int]:
        """Problems per kind, in the filter's order, only the kinds that occur."""
        counts = Counter(problem.kind for problem in self.problems)
        return {kind: counts[kind] for kind in KIND_LABELS if counts[kind]}


def render_html(run: RunResult, previous: RunResult | None = None) -> Iterator[str]:
    """The report as chunks of HTML; ``previous`` adds what is new and what was fixed."""
    report = build_report(run, previous)
    template = _environment.get_template("report.html.j2")
    style, script = _asset("report.css"), _asset("report.js")
    return _in_chunks(
        template.generate(
            r=report,
            version=__version__,
            style=Markup(style),
            script=Markup(script),
            # Our own text (keywords and base64), with no quote mark: left unescaped so the
            # policy reads as written in the file.
            csp=Markup(content_security_policy(style, script)),
            element_names=ELEMENT_NAMES,
            kind_labels=KIND_LABELS,
            verdict_cards=VERDICT_CARDS,
            pages_listed=PAGES_LISTED,
            template_pages_listed=TEMPLATE_PAGES_LISTED,
            changes_listed=CHANGES_LISTED,
            titles={page.url: page.title for page in run.pages},
        )
    )


def content_security_policy(style: str, script: str) -> str:
    """Nothing may load; only this exact style sheet and this exact script may run.

    A hash, not ``'unsafe-inline'``: should page text ever slip through unescaped, a
    ``<script>`` it brought would not match and would not run.
    """
    return (
        f"default-src 'none'; style-src {csp_hash(style)}; script-src {csp_hash(script)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


def csp_hash(text: str) -> str:
    """The CSP source expression for an inline element whose content is exactly ``text``."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


@cache
def _asset(name: str) -> str:
    """An inline asset's text; it must not be able to close its own element early."""
    text = resources.files("linkcheck.report").joinpath("templates", name).read_text("utf-8")
    if re.search(r"</(script|style)", text, re.IGNORECASE):
        raise ValueError(f"{name} contains a closing </script> or </style> tag")
    return text


def build_report(run: RunResult, previous: RunResult | None = None) -> Report:
    """Group the run's results the ways editors look at them."""
    limits = Limits.from_summary(run.config_summary)
    titles = {page.url: page.title for page in run.pages}
    aliases = {page.url: page.aliases for page in run.pages if page.aliases}
    # a link written on an alias alone is shown on it, under its page's title
    titles.update((alias, titles[url]) for url, names in aliases.items() for alias in names)
    links = [link for link in sorted_links(run) if link.result is not None]
    was_dead = _dead_urls(previous) if previous is not None else None
    # A previous run that crawled nothing (it could not start) is no baseline.
    comparable = was_dead is not None and previous is not None and bool(previous.pages)

    problems: list[Problem] = []
    temporary: list[Problem] = []
    for link in links:
        assert link.result is not None
        kind = _kind(link.result)
        if kind is None:
            if link.result.redirect_kind is RedirectKind.TEMPORARY:
                temporary.append(_problem(link, link.result, "temporary", limits, titles))
            continue
        problem = _problem(link, link.result, kind, limits, titles)
        problem.new = comparable and problem.dead and link.url not in (was_dead or {})
        problem.history = history_text(run.memory.get(link.url))
        problems.append(problem)

    template_pages = max(TEMPLATE_MIN_PAGES, TEMPLATE_SHARE * len(run.pages))
    by_page: dict[str, list[Row]] = defaultdict(list)
    for problem in problems:
        problem.template = len(problem.pages) >= template_pages
        if problem.template:
            continue
        for occurrence in problem.link.occurrences:
            by_page[occurrence.page].append(Row(problem, occurrence))
    pages = [
        PageView(
            PageRef(url, titles.get(url, "")), sorted(rows, key=_row_order), aliases.get(url, ())
        )
        for url, rows in sorted(by_page.items())
    ]

    unchecked = [
        link for link in links if link.result is not None and not link.result.verdict.checked
    ]
    hosts = _hosts(links, problems)
    dead = [problem for problem in problems if problem.dead]
    return Report(
        run=run,
        counts=run.counts(),
        problems=problems,
        dead=dead,
        moved=[problem for problem in problems if problem.kind == "moved"],
        unverified=[problem for problem in problems if problem.result.verdict.unverified],
        temporary=temporary,
        template=[problem for problem in problems if problem.template],
        pages=pages,
        moves=_moves(problems),
        hosts=hosts,
        problem_hosts=sorted(Counter(p.host for p in problems if p.host).items()),
        unchecked=unchecked[:UNCHECKED_LISTED],
        unchecked_total=len(unchecked),
        changes=_changes(run, previous, dead, was_dead, limits)
        if previous is not None and was_dead is not None
        else None,
        crawled=len(run.pages),
        external_links=sum(1 for link in links if not link.internal),
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _kind(result: CheckResult) -> str | None:
    """The filter key of a problem, or None when the link needs no edit."""
    # dead, or the checker was turned away (not known to be dead: to be checked by hand)
    if result.verdict.failed or result.verdict.unverified:
        return result.verdict.value
    if result.redirect_kind is RedirectKind.PERMANENT:
        return "moved"
    return None


def history_text(memory: LinkMemory | None) -> str:
    """What the run history and the baseline say about a failing link, in a few words."""
    if memory is None:
        return ""
    parts = []
    if memory.failing_runs > 1:
        since = f" since {memory.failing_since:%Y-%m-%d}" if memory.failing_since else ""
        parts.append(f"Failing{since}, {memory.failing_runs} runs in a row.")
    if memory.accepted_reason:
        until = f" until {memory.accepted_until:%Y-%m-%d}" if memory.accepted_until else ""
        parts.append(f"Accepted in the baseline{until}: {memory.accepted_reason}.")
    if memory.tolerated:
        parts.append("Tolerated for now: it has not failed enough runs in a row to count.")
    return " ".join(parts)


def _problem(
    link: Link, result: CheckResult, kind: str, limits: Limits, titles: dict[str, str]
) -> Problem:
    # In page order, so that a tie (two texts, each on one page) is broken the same way on
    # every run, whatever order the crawl found the pages in.
    occurrences = link.occurrences.in_page_order()
    texts = Counter(o.text for o in occurrences if o.text)
    hrefs = Counter(o.href for o in occurrences)
    lines = Counter(o.line for o in occurrences)
    pages = sorted({o.page for o in occurrences})
    return Problem(
        link=link,
        result=result,
        kind=kind,
        advice=advice_for(result, limits),
        host=_display_host(link.url),
        text=texts.most_common(1)[0][0] if texts else "",
        href=hrefs.most_common(1)[0][0] if hrefs else link.url,
        line=lines.most_common(1)[0][0] if lines else 0,
        pages=[PageRef(page, titles.get(page, "")) for page in pages],
    )


def _row_order(row: Row) -> tuple[int, str]:
    return row.occurrence.line, row.problem.link.url


def _display_host(url: str) -> str:
    """The host as readers know it, with the port when it is not the default one.

    URLs are normalised before they get here, so a port still in the URL is a non-default
    one — and two sites on one host name but different ports are different sites.
    """
    if not url.lower().startswith(("http://", "https://")):
        return ""
    return _host_with_port(authority_of(url) or url)


@lru_cache(maxsize=4096)
def _host_with_port(url: str) -> str:
    """_display_host's work, once per ``scheme://authority`` (a report names each host often)."""
    try:
        host = display_host(url)
        port = urlsplit(url).port
    except (ValueError, UnicodeError):  # an invalid URL is still reported, just hostless
        return ""
    if port is None or not host:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _hosts(links: list[Link], problems: list[Problem]) -> list[HostView]:
    """One row per external host, the hosts with the most dead links first."""
    hosts: dict[str, HostView] = {}
    for link in links:
        host = _display_host(link.url)
        if link.internal or not host or link.result is None:
            continue
        view = hosts.setdefault(host, HostView(host))
        view.links += 1
        view.pages.update(link.occurrences.page_urls())
        result = link.result
        if result.verdict.failed:
            view.dead += 1
        elif result.redirect_kind is RedirectKind.PERMANENT:
            view.moved += 1
        elif result.verdict.works:
            view.fine += 1
        elif result.verdict is Verdict.BLOCKED:  # the site refuses checkers
            view.blocked += 1
        else:
            view.unchecked += 1
    for problem in problems:
        if problem.host in hosts and not problem.link.internal:
            hosts[problem.host].problems = True
    return sorted(hosts.values(), key=lambda h: (-h.dead, -h.moved, -h.blocked, -h.links, h.host))


def _moves(problems: list[Problem]) -> list[Move]:
    """``old -> new`` for every permanently moved link, as a search-and-replace list.

    ``old`` is the href as written when it is absolute (so a text search finds it); a
    relative href could mean different pages on different pages, so the absolute URL
    stands in for it. A fragment carries over to the new address.
    """
    moves: set[Move] = set()
    for problem in problems:
        final = problem.result.final_url
        if problem.kind != "moved" or not final:
            continue
        for occurrence in problem.link.occurrences:
            href = occurrence.href.strip()
            absolute = href.lower().startswith(("http://", "https://"))
            fragment = f"#{occurrence.fragment}" if occurrence.fragment else ""
            old = href if absolute else problem.link.url + fragment
            moves.add(Move(_one_line(old), _one_line(final + fragment)))
    return sorted(moves, key=lambda move: (move.old, move.new))


def _one_line(text: str) -> str:
    """A line break inside an href would split the line-per-move list; show it instead."""
    return re.sub(r"[\r\n\t]", _visible, text)


def _dead_urls(run: RunResult) -> dict[str, CheckResult]:
    return {
        url: link.result
        for url, link in run.links.items()
        if link.result is not None and link.result.verdict.failed
    }


def _changes(
    run: RunResult,
    previous: RunResult,
    dead: list[Problem],
    was_dead: dict[str, CheckResult],
    limits: Limits,
) -> Changes:
    """New: dead now, not before. Fixed: dead before, and now working or no longer linked.

    A link this run did not check (excluded, or never reached because the run stopped early)
    is neither: claiming it fixed would be a guess.
    """
    fixed: list[Fixed] = []
    not_reached = 0
    for url, before in sorted(was_dead.items()):
        link = run.links.get(url)
        now = link.result if link is not None else None
        was = advice_for(before, limits).label
        if now is None:
            if run.complete:
                fixed.append(Fixed(url, was, "no longer linked"))
            else:
                not_reached += 1
        elif now.verdict is Verdict.OK:
            fixed.append(Fixed(url, was, "works"))
        elif now.verdict is Verdict.REDIRECTED:
            fixed.append(Fixed(url, was, "works, through a redirect"))
        elif not now.verdict.failed:
            not_reached += 1
    return Changes(
        previous_started=previous.started_at,
        new=[problem for problem in dead if problem.new],
        fixed=fixed,
        not_reached=not_reached,
        same_start=sorted(previous.start_urls) == sorted(run.start_urls),
        comparable=bool(previous.pages),
    )
