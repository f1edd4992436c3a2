"""The ``linkcheck`` command group (every command of linkcheck.cli) and the script's entry."""

from __future__ import annotations

import contextlib
import logging
import os
import sys

import click

from linkcheck._version import __version__
from linkcheck.allocator import collect_rarely, return_large_blocks
from linkcheck.cli import baseline, cache, demo, history, report, run, status, worker


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="linkcheck")
def main() -> None:
    """linkcheck: crawl a site, check every link, and report dead and redirected links.

    Run `linkcheck run --help` for the main command.
    """
    return_large_blocks()  # a process of its own: the allocator is ours to tune
    collect_rarely()  # and so is the collector


# The modules stay reachable under their names (linkcheck.cli.run is the module, not the command).
for _command in (
    run.run,
    report.report,
    worker.worker,
    status.status,
    history.history,
    baseline.baseline,
    cache.cache,
    demo.serve_demo,
):
    main.add_command(_command)


def entry() -> None:
    """What the ``linkcheck`` script and ``python -m linkcheck`` run: :func:`main`, then exit
    without taking the heap apart.

    A run leaves a large heap (every link, occurrence and result), and an interpreter
    exiting frees it object by object. Nothing is left to do by then: reports are renamed
    into place, the result store is closed, parse workers have exited; what is buffered in
    logging and the output streams is flushed here. A library caller of :func:`main` is not
    affected.
    """
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)  # what the interpreter does with sys.exit("message")
        code = 1
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to flush to
            stream.flush()
    os._exit(code or 0)
