"""The end-of-run summary on the terminal: counts, the worst offenders, where reports are."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from linkcheck.models import RunResult, Verdict
from linkcheck.report.advice import explain

WORST_SHOWN = 10


def summary_lines(run: RunResult, written: Sequence[Path]) -> list[str]:
    counts = run.counts()
    lines = [
        f"linkcheck: {len(run.pages)} pages crawled, {len(run.links)} unique links "
        f"in {run.duration:.1f} s" + ("" if run.complete else " (partial)"),
        "  " + " · ".join(f"{name} {counts[name]}" for name in (v.value for v in Verdict)),
    ]
    if run.interrupted:
        lines.append(
            f"  interrupted ({run.interrupted_by}): the report covers what was checked so far"
        )
    lines += [f"  note: {note}" for note in run.limits_hit]
    lines += [f"  note: {note}" for note in run.notes]
    if run.memory or run.fixed:
        new = sum(1 for memory in run.memory.values() if memory.new)
        accepted = sum(1 for memory in run.memory.values() if memory.accepted_reason)
        tolerated = sum(1 for memory in run.memory.values() if memory.tolerated)
        parts = [f"{new} new", f"{len(run.fixed)} fixed since the last run"]
        if accepted:
            parts.append(f"{accepted} accepted in the baseline")
        if tolerated:
            parts.append(f"{tolerated} tolerated (failing fewer runs than failures_before_broken)")
        lines.append("  history: " + ", ".join(parts))
    if run.cache_hits:
        lines.append(f"  {run.cache_hits} external link(s) answered from the result cache")
    if run.findings:
        errors = sum(1 for f in run.findings if f.severity == "error")
        warnings = len(run.findings) - errors
        kinds = sorted({f.kind for f in run.findings})
        lines.append(f"  content: {errors} error(s), {warnings} warning(s) ({', '.join(kinds)})")
    if run.orphans:
        shown = ", ".join(run.orphans[:5]) + (" …" if len(run.orphans) > 5 else "")
        lines.append(f"  {len(run.orphans)} file(s) no page links to: {shown}")
    dead = [link for link in run.links.values() if link.result and link.result.verdict.failed]
    if dead:
        dead.sort(key=lambda link: (-len({o.page for o in link.occurrences}), link.url))
        lines.append("Worst offenders:")
        for link in dead[:WORST_SHOWN]:
            assert link.result is not None
            pages = len({o.page for o in link.occurrences})
            code = str(link.result.status or link.result.error or "")
            memory = run.memory.get(link.url)
            since = ""
            if memory is not None and memory.failing_runs > 1:
                since = f", failing {memory.failing_runs} runs in a row"
            elif memory is not None and memory.new:
                since = ", new"
            if memory is not None and memory.accepted_reason:
                since += ", accepted"
            lines.append(
                f"  {code:>7}  {link.url}  (on {pages} page{'s' if pages != 1 else ''}{since})"
            )
            lines.append(f"           {explain(link.result)}")
        if len(dead) > WORST_SHOWN:
            lines.append(f"  … and {len(dead) - WORST_SHOWN} more in the report")
    if written:
        lines.append("Reports: " + ", ".join(str(path) for path in written))
    return lines
