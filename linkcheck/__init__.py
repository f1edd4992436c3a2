"""linkcheck: crawl a site, check every link, and tell editors what to fix.

The library is the product; the CLI (``linkcheck.cli``) only translates flags into a
:class:`~linkcheck.config.Config` and a :class:`~linkcheck.models.RunResult` into an exit code.
"""

from __future__ import annotations

from linkcheck._version import __version__
from linkcheck.config import Config, ConfigError, load_config
from linkcheck.models import CheckResult, ErrorKind, Occurrence, RunResult, Verdict
from linkcheck.runner import run_check

__all__ = [
    "CheckResult",
    "Config",
    "ConfigError",
    "ErrorKind",
    "Occurrence",
    "RunResult",
    "Verdict",
    "__version__",
    "load_config",
    "run_check",
]
