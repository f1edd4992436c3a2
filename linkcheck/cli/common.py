"""What the commands share: logging levels, the one-line failure, the options they repeat."""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from linkcheck.config import DEFAULT_CACHE_PATH, ConfigError
from linkcheck.outcome import ExitCode, Outcome
from linkcheck.store import Store, StoreError

T = TypeVar("T")

REDIS_ENV = "LINKCHECK_REDIS"  # read by every command that takes --redis


def setup_logging(verbose: int, quiet: bool) -> None:
    """-v logs each check, -vv each request, -q only errors; all to stderr."""
    level = logging.WARNING
    if verbose == 1:
        level = logging.INFO
    elif verbose > 1:
        level = logging.DEBUG
    if quiet:
        level = logging.ERROR
    logging.basicConfig(level=level, format="%(levelname)s %(message)s", stream=sys.stderr)


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    """One line on stderr and the exit code: never a traceback for a user's mistake."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def internal_error(exc: Exception, verbose: int) -> NoReturn:
    """A bug: one line for the user, the traceback with -v."""
    if verbose:
        raise exc
    fail(
        f"internal error: {type(exc).__name__}: {exc} (run with -v for details)", ExitCode.INTERNAL
    )


def exit_codes_help() -> str:
    """The exit-code table as a help epilog (Click keeps a paragraph's lines after \\b)."""
    lines = (f"  {code.value:<4} {code.meaning}" for code in ExitCode)
    return "\b\nExit codes:\n" + "\n".join(lines)


def explain(outcome: Outcome) -> ExitCode:
    """Say why a run ends with its exit code (warnings first), and give the code."""
    for warning in outcome.warnings:
        click.echo(f"warning: {warning}", err=True)
    for error in outcome.errors:
        click.echo(f"error: {error}", err=True)
    return outcome.code


class SafePath(click.Path):
    """``click.Path`` whose odd values are usage errors: a path with a NUL byte makes
    ``os.stat`` raise ValueError, which Click does not catch (a traceback, exit 1)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except ValueError as exc:
            self.fail(f"{value!r} is not a usable path: {exc}", param, ctx)


verbose_option = click.option(
    "-v", "--verbose", count=True, help="Log each check (-vv: and each request)."
)


def open_store(path: Path) -> Store:
    """The cache file opened; one that cannot be is the user's one-line error."""
    try:
        return Store(path)
    except StoreError as exc:
        fail(str(exc))


def guard(call: Callable[[], T]) -> T:
    """Run a store call; a StoreError becomes the one-line error and exit code 2."""
    try:
        return call()
    except StoreError as exc:
        fail(str(exc))


cache_option = click.option(
    "--cache",
    "cache_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_CACHE_PATH,
    show_default=True,
    help="The cache file.",
)

redis_option = click.option(
    "--redis",
    "redis_url",
    required=True,
    metavar="URL",
    envvar=REDIS_ENV,
    show_envvar=True,
    help="The Redis that holds the run: redis://host:6379/0, or rediss://:PASSWORD@host:6380/0 "
    "for TLS.",
)
run_id_option = click.option(
    "--run",
    "run_id",
    metavar="ID",
    help="The run to use (default: the run most recently started on this Redis).",
)


def check_seconds(option: str, value: float | None, *, zero: bool = False) -> None:
    """A duration option that is not a finite number above 0 (or from 0, ``zero``) is the
    user's one-line ConfigError. Click's FloatRange lets ``nan`` and ``inf`` through."""
    if value is None:
        return
    problem = seconds_problem(value, zero=zero)
    if problem is not None:
        raise ConfigError(f"{option} {value}: {problem}")


def seconds_problem(value: float, *, zero: bool = False) -> str | None:
    """What is wrong with ``value`` as a duration, or None (pure: table-tested)."""
    if not math.isfinite(value):
        return "is not a finite number of seconds"
    if value < 0 or (value == 0 and not zero):
        return "must be more than 0 seconds" if not zero else "must be 0 seconds or more"
    return None
