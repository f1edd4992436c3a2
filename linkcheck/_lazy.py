"""Names a package exports but loads on first use (PEP 562).

``import linkcheck`` (and a parse worker's ``import linkcheck.parse_pool``) must not load the
HTTP client, Redis's client and the crawler just because the package re-exports them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__``: ``exports`` maps each name to the submodule that defines it."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return __getattr__
