"""One check shared by many workers through Redis: a coordinator and any number of workers.

The coordinator (:func:`run_coordinator`, or :func:`run_distributed` without an event loop)
seeds a run and returns the same RunResult a single ``run_check`` would; workers
(:func:`run_worker`, ``linkcheck worker``) join it from any machine. See docs/distributed.md.

Module map: ``keys`` (Redis layout), ``connection`` (connect, one-line errors), ``settings``
(config as JSON), ``queue`` (stream, leases, atomic commits), ``politeness`` (cluster-wide
per-host limits), ``pipeline`` (one task's work), ``worker``, ``assemble`` (records back
into a crawl), ``coordinator``, ``status``, ``commands`` (Click).
"""

from __future__ import annotations

from linkcheck.distributed.connection import DistributedError, display_url
from linkcheck.distributed.coordinator import DEFAULT_LEASE, run_coordinator, run_distributed
from linkcheck.distributed.keys import SCHEMA_VERSION, new_run_id
from linkcheck.distributed.status import RunStatus, read_status
from linkcheck.distributed.worker import WorkerSummary, run_worker

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
