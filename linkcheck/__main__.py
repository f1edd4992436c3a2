"""``python -m linkcheck`` and the ``linkcheck`` script: parse workers first, then the CLI.

The workers start before the CLI's own imports so that both import at once, on two cores
(see :mod:`linkcheck.prestart`).
"""

import sys

from linkcheck import prestart


def run() -> None:
    prestart.start(prestart.wanted(sys.argv[1:]))
    from linkcheck.cli import entry

    entry()


if __name__ == "__main__":
    run()
