"""The Markdown summary: counts, dead links and changes since the last run, for a CI job summary.

Short enough for a GitHub job summary or a pull-request comment (tables are capped; the HTML
and JSON reports have everything). Anything that came from a page or a server is escaped, so
a hostile anchor text can neither add a table row nor inject HTML, links or emphasis.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from linkcheck.models import Link, RedirectKind, RunResult, Verdict
from linkcheck.report.advice import explain
from linkcheck.report.html_report import neutralize
from linkcheck.report.json_report import sorted_links

MAX_ROWS = 50  # rows per table or list; the rest is counted, not shown
MAX_TEXT = 80  # characters of anchor text shown in a cell

# Characters that start Markdown or HTML syntax inline: emphasis, code, links, images,
# strikethrough, raw HTML, entities, table cells; and the backslash that escapes them.
_SPECIAL = re.compile(r"[\\`*_\[\]<>|~&]")
_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}


def escape(value: str, limit: int | None = None) -> str:
    """``value`` as inert Markdown text on one line (optionally shortened to ``limit`` chars).

    Whitespace runs, newlines included, become one space, so nothing can end a table row;
    control and bidi-override characters are shown as code points instead of being obeyed.
    """
    text = " ".join(value.split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    visible: str = neutralize(text)
    return _SPECIAL.sub(lambda m: _ENTITIES.get(m.group(), "\\" + m.group()), visible)


def render_markdown(run: RunResult, previous: RunResult | None = None) -> Iterator[str]:
    links = sorted_links(run)
    dead = [link for link in links if link.result and link.result.verdict.failed]
    moved = [
        link
        for link in links
        if link.result and link.result.redirect_kind is RedirectKind.PERMANENT
    ]
    yield from _headline(run, dead, moved)
    yield from _completeness(run)
    if dead:
        yield from _dead_table(dead)
    if moved:
        yield from _moved_list(moved)
    if previous is not None:
        yield from _changes(run, previous)


def _headline(run: RunResult, dead: list[Link], moved: list[Link]) -> Iterator[str]:
    if dead:
        title = f"❌ linkcheck: {_plural(len(dead), 'dead link')}"
    else:
        title = "✅ linkcheck: no dead links"
    if moved:
        title += f", {_plural(len(moved), 'moved page')} to update"
    yield f"## {title}\n\n"
    counts = run.counts()
    per_verdict = " · ".join(f"{count} {verdict}" for verdict, count in counts.items() if count)
    yield (
        f"{_plural(len(run.links), 'link')} checked on {_plural(len(run.pages), 'page')} "
        f"in {run.duration:.1f} s: {per_verdict or 'nothing found'}\n\n"
    )


def _completeness(run: RunResult) -> Iterator[str]:
    if run.complete and not run.start_failures:
        yield "The crawl was complete.\n\n"
        return
    if run.complete:
        yield "⚠️ **Some start URLs could not be used:**\n\n"
    else:
        yield "⚠️ **The crawl was not complete**, so some links were not checked:\n\n"
    if run.interrupted:
        yield f"- the run was interrupted ({escape(run.interrupted_by or 'cancelled')})\n"
    for note in [*run.limits_hit, *run.start_failures]:
        yield f"- {escape(note)}\n"
    yield "\n"


def _dead_table(dead: list[Link]) -> Iterator[str]:
    yield "### Dead links\n\n"
    yield "| Link | Problem | Pages | First found on |\n"
    yield "|---|---|---:|---|\n"
    for link in dead[:MAX_ROWS]:
        assert link.result is not None
        pages = len({o.page for o in link.occurrences})
        yield (
            f"| {escape(link.url)} | {escape(explain(link.result))} | {pages} "
            f"| {_first_place(link)} |\n"
        )
    yield from _more(len(dead), "dead links")
    yield "\n"


def _first_place(link: Link) -> str:
    """The first page (in report order) with the link, and the text the editor will see."""
    if not link.occurrences:
        return "(not written on a crawled page)"
    first = min(link.occurrences, key=lambda o: (o.page, o.line))
    place = f"{escape(first.page)} line {first.line}"
    return f"{place}: “{escape(first.text, MAX_TEXT)}”" if first.text.strip() else place


def _moved_list(moved: list[Link]) -> Iterator[str]:
    yield "### Moved pages: update these links\n\n"
    for link in moved[:MAX_ROWS]:
        assert link.result is not None
        pages = len({o.page for o in link.occurrences})
        yield (
            f"- replace {escape(link.url)} with {escape(link.result.final_url or '?')} "
            f"({_plural(pages, 'page')})\n"
        )
    yield from _more(len(moved), "moved pages")
    yield "\n"


def _changes(run: RunResult, previous: RunResult) -> Iterator[str]:
    """Dead links (broken or error) new and fixed since ``previous``, compared by URL.

    Fixed means working now, or no longer linked anywhere in a complete crawl. A link this
    run did not check (excluded, blocked, or not reached by a partial run) is neither: calling
    it fixed would be a guess, so it is only counted.
    """
    now = {link.url: link for link in run.links.values() if _is_dead(link)}
    before = {link.url for link in previous.links.values() if _is_dead(link)}
    new = sorted(url for url in now if url not in before)
    fixed: list[tuple[str, str]] = []
    unknown = 0
    for url in sorted(before - now.keys()):
        current = run.links.get(url)
        verdict = current.result.verdict if current and current.result else None
        if verdict is Verdict.OK:
            fixed.append((url, "works now"))
        elif verdict is Verdict.REDIRECTED:
            fixed.append((url, "works now, through a redirect"))
        elif current is None and run.complete:
            fixed.append((url, "no longer linked"))
        else:
            unknown += 1
    when = previous.started_at.strftime("%Y-%m-%d %H:%M %Z").strip()
    yield f"### New since last run ({escape(when)})\n\n"
    if sorted(previous.start_urls) != sorted(run.start_urls):
        yield "The last run started from other URLs, so some changes may come from that.\n\n"
    if not new:
        yield "No new dead links.\n"
    for url in new[:MAX_ROWS]:
        result = now[url].result
        assert result is not None
        yield f"- {escape(url)}: {escape(explain(result))}\n"
    yield from _more(len(new), "new dead links")
    yield "\n### Fixed since last run\n\n"
    if not fixed:
        yield "No dead link was fixed.\n"
    for url, state in fixed[:MAX_ROWS]:
        yield f"- {escape(url)}: {state}\n"
    yield from _more(len(fixed), "fixed links")
    if unknown:
        yield f"\n{_plural(unknown, 'earlier dead link')} not checked again in this run.\n"
    yield "\n"


def _is_dead(link: Link) -> bool:
    return link.result is not None and link.result.verdict.failed


def _more(total: int, what: str) -> Iterator[str]:
    if total > MAX_ROWS:
        yield f"\n…and {total - MAX_ROWS} more {what}: see report.html or report.json.\n"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
