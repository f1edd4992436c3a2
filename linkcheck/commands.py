"""Click commands for what linkcheck remembers: ``cache``, ``history`` and ``baseline``.

Register them on the main group with :func:`register`. Like the rest of the CLI they only
translate: the work is in :mod:`linkcheck.store` and :mod:`linkcheck.baseline`. A problem is
one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

import click

from linkcheck.baseline import (
    DEFAULT_BASELINE_FILE,
    DEFAULT_FAILING,
    load_baseline,
    update_baseline,
)
from linkcheck.cli_common import fail as _fail
from linkcheck.config import DEFAULT_OUTPUT, VERDICT_NAMES, ConfigError
from linkcheck.models import RunResult
from linkcheck.report import PREVIOUS_RUN_FILE
from linkcheck.report.load import ReportError, load_run
from linkcheck.store import DEFAULT_CACHE_PATH, FAILING, HistoryEntry, Store, StoreError, Streak
from linkcheck.urls import InvalidURL, normalize_url

EXIT_USAGE = 2
DEFAULT_REPORT = str(Path(DEFAULT_OUTPUT) / PREVIOUS_RUN_FILE)

T = TypeVar("T")

cache_option = click.option(
    "--cache",
    "cache_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=str(DEFAULT_CACHE_PATH),
    show_default=True,
    help="The cache file.",
)


def register(group: click.Group) -> None:
    """Add ``cache``, ``history`` and ``baseline`` to the main command group."""
    for command in (cache, history, baseline):
        group.add_command(command)


# -- cache ------------------------------------------------------------------------------------


@click.group()
def cache() -> None:
    """Look into or clear what linkcheck remembers between runs (.linkcheck/cache.sqlite)."""


@cache.command("stats")
@cache_option
def cache_stats(cache_path: Path) -> None:
    """Show what the cache file holds: cached results, recorded runs, resume checkpoints."""
    if not cache_path.exists():
        click.echo(f"No cache at {cache_path} yet: nothing is remembered.")
        return
    with _open_store(cache_path) as store:
        stats = _guard(store.cache_stats)
    click.echo(f"Cache file: {stats['path']} ({_size(stats['file_size'])})")
    if stats["entries"]:
        newest, oldest = _age(stats["newest_age"]), _age(stats["oldest_age"])
        when = newest if newest == oldest else f"between {newest} and {oldest}"
        click.echo(f"Cached results: {stats['entries']:,}, checked {when} ago")
    else:
        click.echo("Cached results: none")
    if stats["runs"]:
        click.echo(
            f"Runs recorded: {stats['runs']:,}, the latest started {_when(stats['latest_run'])}"
        )
    else:
        click.echo("Runs recorded: none")
    click.echo(f"Resume checkpoints: {stats['checkpoints']}")


@cache.command("clear")
@cache_option
def cache_clear(cache_path: Path) -> None:
    """Forget every cached result, so the next run checks every link again.

    The run history and resume checkpoints are kept; delete the file to forget everything.
    """
    if not cache_path.exists():
        click.echo(f"No cache at {cache_path}: nothing to clear.")
        return
    with _open_store(cache_path) as store:
        cleared = _guard(store.clear_cache)
    click.echo(
        f"Cleared {_plural(cleared, 'cached result')} from {cache_path} "
        "(run history and resume checkpoints kept)."
    )


# -- history ----------------------------------------------------------------------------------


@click.command()
@click.argument("url")
@cache_option
def history(url: str, cache_path: Path) -> None:
    """Show how URL fared in the recorded runs, newest first."""
    if not cache_path.exists():
        _fail(f"no cache at {cache_path}: no run has been recorded there yet")
    with _open_store(cache_path) as store:
        key = url
        entries = _guard(lambda: store.link_history(key))
        if not entries and _normalized(url) != url:
            key = _normalized(url)
            entries = _guard(lambda: store.link_history(key))
        streak = _guard(lambda: store.streaks([key])).get(key)
        runs = _guard(store.cache_stats)["runs"]
    if not entries or streak is None:
        click.echo(f"{url} is in none of the {_plural(runs, 'recorded run')} in {cache_path}.")
        return
    click.echo(_headline(streak))
    for entry in entries:
        click.echo(_history_line(entry))


def _headline(streak: Streak) -> str:
    latest = streak.last_verdict.value
    if streak.failing_runs and streak.failing_since is not None:
        runs = "1 run" if streak.failing_runs == 1 else f"{streak.failing_runs} runs in a row"
        label = latest if streak.last_verdict in FAILING else "failing"
        line = f"{label} since {streak.failing_since.astimezone():%Y-%m-%d} ({runs}"
        if streak.last_verdict not in FAILING:
            line += f"; {latest} in the latest run"
        return line + ")"
    return f"{latest} in the latest run ({_when(streak.last_seen)})"


def _history_line(entry: HistoryEntry) -> str:
    detail = entry.error.value if entry.error else str(entry.status or "")
    line = f"{_when(entry.started_at)}  {entry.verdict.value:<12} {detail}".rstrip()
    return line if entry.complete else f"{line}  (partial run)"


# -- baseline ---------------------------------------------------------------------------------


@click.group()
def baseline() -> None:
    """Manage the baseline: known problems accepted for now (linkcheck-baseline.toml)."""


@baseline.command("update")
@click.option(
    "--file",
    "baseline_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_BASELINE_FILE,
    show_default=True,
    help="The baseline file (created if missing).",
)
@click.option(
    "--reason",
    help="Why the new problems are accepted (default: 'accepted on <today>').",
)
@click.option(
    "--from",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_REPORT,
    show_default=True,
    help="The saved JSON report of the run whose problems to accept.",
)
@click.option(
    "--fail-on",
    "fail_on",
    multiple=True,
    type=click.Choice(VERDICT_NAMES),
    help="Verdicts to accept (repeatable). Default: the report's fail_on, else broken, error.",
)
def baseline_update(
    baseline_path: Path, reason: str | None, report_path: Path, fail_on: tuple[str, ...]
) -> None:
    """Accept the problems of a saved run in the baseline file.

    Entries already there keep their reason and expiry; new problems are added with --reason;
    entries whose link works again in that run are removed. Add `expires = 2027-01-31` to an
    entry by hand to have it looked at again.
    """
    today = date.today()
    try:
        run = load_run(report_path)
        before = len(load_baseline(baseline_path))
        verdicts = fail_on or _report_fail_on(run)
        added, kept = update_baseline(
            baseline_path,
            run,
            reason=reason or f"accepted on {today.isoformat()}",
            failing=verdicts,
        )
        expired = load_baseline(baseline_path).expired(today)
    except (ReportError, ConfigError, ValueError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write {baseline_path}: {exc.strerror or exc}")
    click.echo(
        f"{baseline_path}: {_plural(added, 'new problem')} accepted, {kept} kept, "
        f"{before - kept} removed (working again) — verdicts {', '.join(verdicts)}."
    )
    if not run.complete:
        click.echo("The report is from a partial run: links it did not check keep their entries.")
    for entry in expired:
        click.echo(f"expired {entry.expires}: {entry.url} ({entry.reason}) accepts nothing now")


def _report_fail_on(run: RunResult) -> tuple[str, ...]:
    """The run's own fail_on, so the baseline accepts what would fail that run."""
    report = run.config_summary.get("report")
    names = report.get("fail_on") if isinstance(report, dict) else None
    if isinstance(names, list) and names and all(name in VERDICT_NAMES for name in names):
        return tuple(str(name) for name in names)
    return DEFAULT_FAILING


# -- helpers ----------------------------------------------------------------------------------


def _open_store(path: Path) -> Store:
    try:
        return Store(path)
    except StoreError as exc:
        _fail(str(exc))


def _guard(call: Callable[[], T]) -> T:
    """Run a store call; a StoreError becomes the one-line error and exit code 2."""
    try:
        return call()
    except StoreError as exc:
        _fail(str(exc))


def _normalized(url: str) -> str:
    try:
        return normalize_url(url)
    except InvalidURL:
        return url


def _when(moment: datetime) -> str:
    """A run's time in the reader's time zone, to the minute."""
    return f"{moment.astimezone():%Y-%m-%d %H:%M}"


def _age(seconds: float) -> str:
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            return _plural(int(seconds // size), unit)
    return _plural(max(int(seconds), 0), "second")


def _size(size: int) -> str:
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} bytes"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
