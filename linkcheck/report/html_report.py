"""The editors' HTML report: one self-contained file, rendered by Jinja2 with autoescape on.

Everything shown comes from crawled pages and is hostile until proven otherwise: text is
escaped by Jinja2, control and bidi-override characters are made visible by ``finalize``,
only http(s) URLs become clickable, and a Content-Security-Policy forbids any script.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, PackageLoader

from linkcheck._version import __version__
from linkcheck.models import Link, RedirectKind, RunResult, Verdict
from linkcheck.report.advice import advise, explain
from linkcheck.report.json_report import sorted_links

# C0/C1 controls (except tab and newline) and Unicode bidi controls that can reorder text.
_UNSAFE_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def neutralize(value: Any) -> Any:
    """Show dangerous invisible characters as visible code points instead of obeying them."""
    if isinstance(value, str):
        return _UNSAFE_CHARS.sub(lambda m: f"\u2039U+{ord(m.group()):04X}\u203a", value)
    return value


def http_href(url: str | None) -> str | None:
    """The URL if it may be a clickable link in the report (http or https only), else None."""
    if url and url.lower().startswith(("http://", "https://")):
        return url
    return None


_environment = Environment(
    loader=PackageLoader("linkcheck.report", "templates"),
    autoescape=True,  # explicit: select_autoescape() would not cover a *.j2 template
    finalize=neutralize,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters["http_href"] = http_href


# A dead link on at least this share of crawled pages (and on TEMPLATE_MIN_PAGES or more)
# sits in the shared navigation, header or footer: it is fixed once, in the template, so the
# report names it once instead of on every page.
TEMPLATE_SHARE = 0.5
TEMPLATE_MIN_PAGES = 3


@dataclass(slots=True)
class ProblemView:
    link: Link
    what: str
    todo: str
    text: str  # the anchor text most pages show for it
    pages: list[tuple[str, str]] = field(default_factory=list)  # (url, title)
    site_wide: bool = False


def render_html(run: RunResult, previous: RunResult | None = None) -> Iterator[str]:
    titles = {page.url: page.title for page in run.pages}
    links = sorted_links(run)
    dead = [
        _problem(link, titles)
        for link in links
        if link.result and link.result.verdict in (Verdict.BROKEN, Verdict.ERROR)
    ]
    redirected = [
        _problem(link, titles)
        for link in links
        if link.result and link.result.verdict is Verdict.REDIRECTED
    ]
    permanent = [
        p
        for p in redirected
        if p.link.result and p.link.result.redirect_kind is RedirectKind.PERMANENT
    ]
    temporary = [p for p in redirected if p not in permanent]
    template_pages = max(TEMPLATE_MIN_PAGES, TEMPLATE_SHARE * len(run.pages))
    for problem in dead:
        problem.site_wide = len(problem.pages) >= template_pages
    by_page: dict[str, list[tuple[ProblemView, Any]]] = defaultdict(list)
    for problem in dead:
        if problem.site_wide:
            continue
        for occurrence in problem.link.occurrences:
            by_page[occurrence.page].append((problem, occurrence))
    template = _environment.get_template("report.html.j2")
    return template.generate(
        run=run,
        counts=run.counts(),
        version=__version__,
        dead=dead,
        site_wide=[problem for problem in dead if problem.site_wide],
        permanent=permanent,
        temporary=temporary,
        by_page=sorted(by_page.items()),
        titles=titles,
        skipped=[
            link
            for link in links
            if link.result and link.result.verdict in (Verdict.SKIPPED, Verdict.EXCLUDED)
        ],
    )


def _problem(link: Link, titles: dict[str, str]) -> ProblemView:
    assert link.result is not None
    pages = sorted({o.page for o in link.occurrences})
    texts = Counter(o.text for o in link.occurrences if o.text)
    return ProblemView(
        link=link,
        what=explain(link.result),
        todo=advise(link.result),
        text=texts.most_common(1)[0][0] if texts else "",
        pages=[(page, titles.get(page, "")) for page in pages],
    )
