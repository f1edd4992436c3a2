"""One check shared by many workers through Redis: a coordinator and any number of workers.

The coordinator (:func:`run_coordinator`, or :func:`run_distributed` without an event loop)
seeds a run and returns the same RunResult a single ``run_check`` would; workers
(:func:`run_worker`, ``linkcheck worker``) join it from any machine. See docs/distributed.md.

Module map: ``keys`` (Redis layout), ``connection`` (connect, one-line errors), ``settings``
(config as JSON), ``queue`` (stream, leases, atomic commits), ``politeness`` (cluster-wide
per-host limits), ``pipeline`` (one task's work), ``worker``, ``assemble`` (records back
into a crawl), ``coordinator``, ``status``, ``identity`` (a run Redis lost is refused).
The commands are in :mod:`linkcheck.cli`
(``worker``, ``status``, ``run --redis``; ``coordinator`` for ``python -m linkcheck.distributed``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from linkcheck._lazy import lazy_exports

if TYPE_CHECKING:  # the real names, for type checkers and readers
    from linkcheck.distributed.connection import DistributedError, display_url
    from linkcheck.distributed.coordinator import run_coordinator, run_distributed
    from linkcheck.distributed.keys import DEFAULT_LEASE, SCHEMA_VERSION, new_run_id
    from linkcheck.distributed.status import RunStatus, read_status
    from linkcheck.distributed.worker import WorkerSummary, run_worker

# Loaded on first use (PEP 562): importing a submodule (the CLI's commands) must not load
# Redis's client and the coordinator for a plain `linkcheck run`.
_EXPORTS = {
    "DEFAULT_LEASE": "keys",
    "SCHEMA_VERSION": "keys",
    "DistributedError": "connection",
    "RunStatus": "status",
    "WorkerSummary": "worker",
    "display_url": "connection",
    "new_run_id": "keys",
    "read_status": "status",
    "run_coordinator": "coordinator",
    "run_distributed": "coordinator",
    "run_worker": "worker",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "DEFAULT_LEASE",
    "SCHEMA_VERSION",
    "DistributedError",
    "RunStatus",
    "WorkerSummary",
    "display_url",
    "new_run_id",
    "read_status",
    "run_coordinator",
    "run_distributed",
    "run_worker",
]
