"""``python -m linkcheck`` and the ``linkcheck`` script: the command line (linkcheck.cli)."""

from __future__ import annotations

from linkcheck.cli import entry


def run() -> None:
    """The ``linkcheck`` script's entry point, as pyproject.toml's [project.scripts] names it."""
    entry()


if __name__ == "__main__":
    run()
