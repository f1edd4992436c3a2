"""``linkcheck status``: a distributed run's progress, read from Redis."""

from __future__ import annotations

import asyncio
import json

import click

from linkcheck.cli.common import fail, internal_error, redis_option, run_id_option
from linkcheck.config import ConfigError


@click.command("status")
@redis_option
@run_id_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
def status(redis_url: str, run_id: str | None, as_json: bool) -> None:
    """Show a distributed run's progress: pages, links, tasks in flight, per worker."""
    # Imported here: `linkcheck run` should not load Redis's client.
    from linkcheck.distributed.status import read_status, status_lines

    try:
        found = asyncio.run(read_status(redis_url, run_id))
    except ConfigError as exc:
        fail(str(exc))
    except Exception as exc:
        internal_error(exc, 0)
    if as_json:
        click.echo(json.dumps(found.document(), ensure_ascii=False))
        return
    for line in status_lines(found):
        click.echo(line)
