"""What a finished run means to its caller: the exit code (the one table of them) and why.

The exit codes are a contract for CI scripts (docs/cli.md, docs/ci.md): the command line
maps every ending to one of :class:`ExitCode`, and a library caller of
:func:`linkcheck.run_check` can ask :func:`judge` the same question of its RunResult.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from linkcheck.config import DEFAULT_FAIL_ON, VERDICT_NAMES
from linkcheck.models import RunResult, Verdict


class ExitCode(enum.IntEnum):
    """Every exit code linkcheck gives, with what it means (the CLI help lists this table)."""

    OK = 0
    PROBLEMS = 1
    USAGE = 2
    INTERNAL = 3
    SIGINT = 130  # 128 + the signal's number, as a shell reports a process the signal ended
    SIGTERM = 143

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]

    @classmethod
    def interrupted(cls, signal_name: str) -> ExitCode:
        """The code for a run stopped by ``signal_name`` ("SIGINT", "SIGTERM"; anything
        else, such as a cancelled task, counts as Ctrl-C)."""
        return cls.SIGTERM if signal_name == "SIGTERM" else cls.SIGINT


_MEANINGS = {
    ExitCode.OK: "no link with a failing verdict",
    ExitCode.PROBLEMS: "links with a failing verdict found (see --fail-on)",
    ExitCode.USAGE: "usage or configuration error, or nothing could be checked",
    ExitCode.INTERNAL: "internal error (a bug in linkcheck)",
    ExitCode.SIGINT: "interrupted by Ctrl-C (SIGINT); the partial report is written",
    ExitCode.SIGTERM: "stopped by SIGTERM; the partial report is written",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """A run's exit code, with the lines that explain it (``errors`` decide it)."""

    code: ExitCode
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def judge(result: RunResult, fail_on: Iterable[str] = DEFAULT_FAIL_ON) -> Outcome:
    """The exit code of a finished run, for the verdict names (and "warning") in ``fail_on``.

    Interrupted first (the partial report is what there is); then a run that could check
    nothing (setup errors, every start URL unusable, no link found); then failing links not
    accepted by the baseline or not failing long enough, then content findings.
    """
    if result.interrupted:
        return Outcome(ExitCode.interrupted(result.interrupted_by))
    if result.setup_errors:
        return Outcome(ExitCode.USAGE, errors=tuple(result.setup_errors))
    if result.start_failures and len(result.start_failures) == len(result.start_urls):
        return Outcome(ExitCode.USAGE, errors=tuple(result.start_failures))
    warnings = tuple(result.start_failures)
    if len(result.links) <= len(result.start_urls):
        nothing = (
            "no links found on the start page(s): nothing to check "
            "(is the content built by JavaScript, or the wrong URL?)"
        )
        return Outcome(ExitCode.USAGE, errors=(nothing,), warnings=warnings)
    names = set(fail_on)
    failing = {Verdict(name) for name in names if name in VERDICT_NAMES}
    for link in result.links.values():
        if link.result is None or link.result.verdict not in failing:
            continue
        memory = result.memory.get(link.url)
        if memory is None or memory.counts:  # accepted in the baseline, or not failing long
            return Outcome(ExitCode.PROBLEMS, warnings=warnings)
    # "warning" fails on every finding (warnings, and the errors above them)
    severities = {"warning", "error"} if "warning" in names else {"error"} & names
    if any(finding.severity in severities for finding in result.findings):
        return Outcome(ExitCode.PROBLEMS, warnings=warnings)
    return Outcome(ExitCode.OK, warnings=warnings)


def run_fail_on(result: RunResult) -> tuple[str, ...]:
    """The verdicts a saved run was judged by (its config's fail_on), else the default: what
    would fail that run, for the baseline to accept."""
    report = result.config_summary.get("report")
    names = report.get("fail_on") if isinstance(report, dict) else None
    if isinstance(names, list) and names and all(name in VERDICT_NAMES for name in names):
        return tuple(str(name) for name in names)
    return DEFAULT_FAIL_ON
