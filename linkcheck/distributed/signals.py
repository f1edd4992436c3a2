"""SIGINT/SIGTERM cancel one task, not the process: the one routine is linkcheck.lifecycle's,
named here for the distributed worker."""

from __future__ import annotations

from linkcheck.lifecycle import cancel_on_signals

__all__ = ["cancel_on_signals"]
