"""``linkcheck history URL``: how one link fared in the runs the cache file recorded."""

from __future__ import annotations

from pathlib import Path

import click

from linkcheck.cli.common import cache_option, fail, guard, open_store
from linkcheck.cli.text import plural, when
from linkcheck.store import HistoryEntry, Streak
from linkcheck.urls import InvalidURL, normalize_url


@click.command()
@click.argument("url")
@cache_option
def history(url: str, cache_path: Path) -> None:
    """Show how URL fared in the recorded runs, newest first."""
    if not cache_path.exists():
        fail(f"no cache at {cache_path}: no run has been recorded there yet")
    with open_store(cache_path) as store:
        key = url
        entries = guard(lambda: store.link_history(key))
        if not entries and _normalized(url) != url:
            key = _normalized(url)
            entries = guard(lambda: store.link_history(key))
        streak = guard(lambda: store.streaks([key])).get(key)
        runs = guard(store.cache_stats)["runs"]
    if not entries or streak is None:
        click.echo(f"{url} is in none of the {plural(runs, 'recorded run')} in {cache_path}.")
        return
    click.echo(_headline(streak))
    for entry in entries:
        click.echo(_history_line(entry))


def _headline(streak: Streak) -> str:
    latest = streak.last_verdict.value
    if streak.failing_runs and streak.failing_since is not None:
        runs = "1 run" if streak.failing_runs == 1 else f"{streak.failing_runs} runs in a row"
        label = latest if streak.last_verdict.failed else "failing"
        line = f"{label} since {streak.failing_since.astimezone():%Y-%m-%d} ({runs}"
        if not streak.last_verdict.failed:
            line += f"; {latest} in the latest run"
        return line + ")"
    return f"{latest} in the latest run ({when(streak.last_seen)})"


def _history_line(entry: HistoryEntry) -> str:
    detail = entry.error.value if entry.error else str(entry.status or "")
    line = f"{when(entry.started_at)}  {entry.verdict.value:<12} {detail}".rstrip()
    return line if entry.complete else f"{line}  (partial run)"


def _normalized(url: str) -> str:
    try:
        return normalize_url(url)
    except InvalidURL:
        return url
