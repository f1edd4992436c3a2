"""``python -m linkcheck.distributed coordinator|worker|status``: the commands of a distributed
run, usable before (and besides) the main CLI's ``linkcheck run --redis``."""

from __future__ import annotations

import click

from linkcheck.distributed.commands import coordinator_command, register


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """linkcheck's distributed run: a coordinator and workers sharing one Redis."""


main.add_command(coordinator_command)
register(main)

if __name__ == "__main__":
    main()
