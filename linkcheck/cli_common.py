"""What every command line entry shares: logging levels and the one-line failure."""

from __future__ import annotations

import logging
import sys
from typing import NoReturn

import click

EXIT_USAGE = 2


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


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """One line on stderr and the exit code: never a traceback for a user's mistake."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)
