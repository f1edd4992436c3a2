"""``linkcheck serve-demo``: serve the embedded demo guide that ``make run`` checks."""

from __future__ import annotations

import click

from linkcheck.cli.common import fail
from linkcheck.config import DEFAULT_DEMO_HOST, DEFAULT_DEMO_PORT


@click.command("serve-demo")
@click.option("--host", default=DEFAULT_DEMO_HOST, show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=DEFAULT_DEMO_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on.",
)
def serve_demo(host: str, port: int) -> None:
    """Serve the embedded demo guide and its carrier simulators (until Ctrl-C).

    The default config.toml checks this server: run `linkcheck run` in another terminal,
    or simply `make run`.
    """
    # Imported here: aiohttp's server side is for this command only.
    from linkcheck.demo.server import serve_forever

    click.echo(f"Serving the demo guide on http://{host}:{port}/guide/ (Ctrl-C to stop)")
    try:
        serve_forever(host, port)
    except OSError as exc:
        fail(f"cannot serve the demo on {host}:{port}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        pass
