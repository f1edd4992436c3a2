"""linkcheck: crawl a site, check every link, and tell editors what to fix.

The library is the product; the CLI (``linkcheck.cli``) only translates flags into a
:class:`~linkcheck.config.Config` and a :class:`~linkcheck.models.RunResult` into an exit code
(:func:`~linkcheck.outcome.judge`, which a script can call too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from linkcheck._lazy import lazy_exports
from linkcheck._version import __version__

if TYPE_CHECKING:  # the real names, for type checkers and readers
    from linkcheck.config import Config, ConfigError, load_config
    from linkcheck.models import CheckResult, ErrorKind, Occurrence, RunResult, Verdict
    from linkcheck.outcome import ExitCode, judge
    from linkcheck.runner import run_check

# Loaded on first use (PEP 562): a parse worker process imports linkcheck.parse_pool, and
# must not load the HTTP client and the rest of the crawler to do so.
_EXPORTS = {
    "CheckResult": "models",
    "Config": "config",
    "ConfigError": "config",
    "ErrorKind": "models",
    "ExitCode": "outcome",
    "Occurrence": "models",
    "RunResult": "models",
    "Verdict": "models",
    "judge": "outcome",
    "load_config": "config",
    "run_check": "runner",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "CheckResult",
    "Config",
    "ConfigError",
    "ErrorKind",
    "ExitCode",
    "Occurrence",
    "RunResult",
    "Verdict",
    "__version__",
    "judge",
    "load_config",
    "run_check",
]
