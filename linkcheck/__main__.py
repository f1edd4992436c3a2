"""Allow ``python -m linkcheck``."""

from linkcheck.cli import entry

entry()
