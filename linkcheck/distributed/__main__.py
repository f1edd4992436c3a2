"""``python -m linkcheck.distributed coordinator|worker|status``: the commands of a distributed
run on their own, with the coordinator's options for tests and bench/distributed.py."""

from __future__ import annotations

import click

from linkcheck.cli.coordinator import coordinator
from linkcheck.cli.status import status
from linkcheck.cli.worker import worker


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """linkcheck's distributed run: a coordinator and workers sharing one Redis."""


for _command in (coordinator, worker, status):
    main.add_command(_command)

if __name__ == "__main__":
    main()
