"""The command line: one module per command, assembled into ``main`` in :mod:`linkcheck.cli.group`.

Each command only parses its options, calls the library and maps the outcome to an exit
code (:class:`linkcheck.outcome.ExitCode`, the one table of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from linkcheck._lazy import lazy_exports

if TYPE_CHECKING:  # the real names, for type checkers and readers
    from linkcheck.cli.group import entry, main

# Loaded on first use (PEP 562): a distributed worker (python -m linkcheck.distributed
# worker) imports its one command, not the run's and the report writers' modules.
__getattr__ = lazy_exports(__name__, {"entry": "group", "main": "group"})

__all__ = ["entry", "main"]
