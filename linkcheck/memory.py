"""Remember between runs: what a finished run learns from the store and the baseline.

For each failing link: since when it fails and how many runs in a row, whether it is new
since the last run, whether the baseline accepts it for now, and whether it is still
"tolerated" because it has failed fewer than ``failures_before_broken`` runs in a row (a
flaky carrier should not page anyone). Links that failed last time and work now are
"fixed". The run is then recorded, so the next run can say the same.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import date

from linkcheck.baseline import Baseline
from linkcheck.config import Config
from linkcheck.models import LinkMemory, RunResult, Verdict
from linkcheck.store import Store, StoreError

log = logging.getLogger(__name__)


def cache_context(config: Config) -> str:
    """A fingerprint of the settings that decide a verdict: a cached result from a run with
    other accept codes, remap rules, methods or host profiles is not reused."""
    decisive = {
        "accept": config.http.accept,
        "method": config.http.external_method,
        "max_redirects": config.http.max_redirects,
        "remap": [(rule.pattern.pattern, rule.replace) for rule in config.remap],
        "hosts": {profile.key: profile.summary() for profile in config.hosts},
        "soft_404": config.checks.soft_404,
    }
    return hashlib.sha256(json.dumps(decisive, sort_keys=True).encode()).hexdigest()[:16]


def remember_run(
    run: RunResult,
    store: Store | None,
    baseline: Baseline,
    *,
    failures_before_broken: int = 1,
    today: date | None = None,
) -> None:
    """Fill in ``run.memory`` and ``run.fixed`` and record the run in the store."""
    today = today or date.today()
    failing = [
        link.url
        for link in run.links.values()
        if link.result is not None and link.result.verdict.failed
    ]
    previous: dict[str, Verdict] = {}
    streaks = {}
    if store is not None:
        try:
            previous = store.previous_run_verdicts()
            store.record_run(run)
            streaks = store.streaks(failing)
        except StoreError as exc:
            log.warning("run history not updated: %s", exc)
    had_history = bool(previous)
    for url in failing:
        streak = streaks.get(url)
        runs = streak.failing_runs if streak is not None and streak.failing_runs else 1
        accepted = baseline.accepts(url, today)
        run.memory[url] = LinkMemory(
            failing_runs=runs,
            failing_since=streak.failing_since if streak is not None else None,
            new=had_history and not _failed(previous.get(url)),
            accepted_reason=accepted.reason if accepted else None,
            accepted_until=accepted.expires if accepted else None,
            tolerated=runs < failures_before_broken,
        )
    if had_history and run.complete:
        run.fixed = sorted(
            url
            for url, verdict in previous.items()
            if verdict.failed
            and url in run.links
            and (result := run.links[url].result) is not None
            and result.verdict.works
        )
    run.expired_acceptances = [entry.url for entry in baseline.expired(today)]


def _failed(verdict: Verdict | None) -> bool:
    return verdict is not None and verdict.failed
