"""``linkcheck cache stats|clear``: look into or clear the results remembered between runs."""

from __future__ import annotations

from pathlib import Path

import click

from linkcheck.cli.common import cache_option, guard, open_store
from linkcheck.cli.text import age, plural, size, when
from linkcheck.config import DEFAULT_CACHE_PATH


@click.group(
    help=f"Look into or clear what linkcheck remembers between runs ({DEFAULT_CACHE_PATH})."
)
def cache() -> None:
    pass


@cache.command("stats")
@cache_option
def cache_stats(cache_path: Path) -> None:
    """Show what the cache file holds: cached results, recorded runs, resume checkpoints."""
    if not cache_path.exists():
        click.echo(f"No cache at {cache_path} yet: nothing is remembered.")
        return
    with open_store(cache_path) as store:
        stats = guard(store.cache_stats)
    click.echo(f"Cache file: {stats['path']} ({size(stats['file_size'])})")
    if stats["entries"]:
        newest, oldest = age(stats["newest_age"]), age(stats["oldest_age"])
        span = newest if newest == oldest else f"between {newest} and {oldest}"
        click.echo(f"Cached results: {stats['entries']:,}, checked {span} ago")
    else:
        click.echo("Cached results: none")
    if stats["runs"]:
        click.echo(
            f"Runs recorded: {stats['runs']:,}, the latest started {when(stats['latest_run'])}"
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
    with open_store(cache_path) as store:
        cleared = guard(store.clear_cache)
    click.echo(
        f"Cleared {plural(cleared, 'cached result')} from {cache_path} "
        "(run history and resume checkpoints kept)."
    )
