"""Serve the demo guide and the carrier simulators on loopback, so ``make run`` needs no internet.

The guide's pages link to real carrier URLs (DHL, FedEx, TENSO, PayPal, Japan Post). The
default ``config.toml`` remaps those hosts to ``/carriers/<name>/`` here, where each
simulator answers the way the demo needs: a fine page, a dead page, a permanently moved page,
a temporary redirect, a redirect chain, and a server that refuses HEAD requests.
"""

from __future__ import annotations

import asyncio
from importlib.resources import files
from pathlib import Path

from aiohttp import web

DEFAULT_PORT = 8735
SITE_ROOT = Path(str(files("linkcheck.demo").joinpath("site")))

# Path on the simulator (after the remap prefix) -> (status, Location or None).
# Locations are the carriers' real addresses: the checker remaps each hop again, so the
# report shows the address an editor should use, not a loopback one.
CARRIER_ROUTES: dict[str, tuple[int, str | None]] = {
    # DHL: the insurance page moved permanently, over two hops (http -> https -> new page).
    "dhl-http/en/logistics/customs_security_and_insurance/road_freight_insurance.html": (
        301,
        "https://www.dhl.com/en/logistics/customs_security_and_insurance/road_freight_insurance.html",
    ),
    "dhl/en/logistics/customs_security_and_insurance/road_freight_insurance.html": (
        301,
        "https://www.dhl.com/en/global-forwarding/freight-insurance.html",
    ),
    "dhl/en/global-forwarding/freight-insurance.html": (200, None),
    # DHL tracking: a temporary redirect to the current tracking page.
    "dhl/en/express/tracking.html": (302, "https://www.dhl.com/en/home/tracking.html"),
    "dhl/en/home/tracking.html": (200, None),
    # FedEx: fine, but its server refuses HEAD (405), so the checker must fall back to GET.
    "fedex/en-us/customer-support.html": (200, None),
    # FedEx tracking: a chain, http -> https (permanent) -> tracking page (temporary).
    "fedex-http/fedextrack/": (301, "https://www.fedex.com/fedextrack/"),
    "fedex/fedextrack/": (302, "https://www.fedex.com/en-us/tracking.html"),
    "fedex/en-us/tracking.html": (200, None),
    # TENSO: the insurance FAQ is gone (404); the price guide is fine.
    "tenso/en/guide/price": (200, None),
    # PayPal: the help centre moved permanently; the security page is fine.
    "paypal/us/smarthelp/home": (301, "https://www.paypal.com/us/cshelp/personal"),
    "paypal/us/cshelp/personal": (200, None),
    "paypal/webapps/mpp/paypal-safety-and-security": (200, None),
}
HEAD_REFUSING_CARRIERS = ("fedex/",)

_CARRIER_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{title}</title></head><body><h1>{title}</h1>
<p>A stand-in for a carrier's page, served by the linkcheck demo.</p></body></html>"""


async def _carrier(request: web.Request) -> web.StreamResponse:
    path = request.match_info["path"]
    if request.method == "HEAD" and path.startswith(HEAD_REFUSING_CARRIERS):
        return web.Response(status=405, headers={"Allow": "GET"})
    status, location = CARRIER_ROUTES.get(path, (404, None))
    if location is not None:
        return _redirect(status, location)
    if status == 404:
        body = _CARRIER_PAGE.format(title="Page not found")
        return web.Response(status=404, text=body, content_type="text/html")
    return web.Response(text=_CARRIER_PAGE.format(title=path), content_type="text/html")


def _redirect(status: int, location: str) -> web.Response:
    return web.Response(status=status, headers={"Location": location})


async def _guide_root(request: web.Request) -> web.StreamResponse:
    raise web.HTTPMovedPermanently("/guide/")


async def _sitemap(request: web.Request) -> web.StreamResponse:
    """The sitemap names the demo's port; served on whatever port the demo runs on."""
    text = (SITE_ROOT / "sitemap.xml").read_text(encoding="utf-8")
    port = request.url.port or DEFAULT_PORT
    return web.Response(
        text=text.replace(f":{DEFAULT_PORT}/", f":{port}/"), content_type="application/xml"
    )


async def _guide_index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(SITE_ROOT / "guide" / "index.html")


def build_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/", _guide_root)
    app.router.add_get("/guide", _guide_root)
    app.router.add_get("/sitemap.xml", _sitemap)
    app.router.add_get("/guide/", _guide_index)
    app.router.add_static("/guide/", SITE_ROOT / "guide", follow_symlinks=False)
    app.router.add_route("*", "/carriers/{path:.*}", _carrier)
    return app


async def start(host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> web.AppRunner:
    """Start serving in the running event loop; returns the runner (call ``cleanup()`` to stop)."""
    runner = web.AppRunner(build_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner


def serve_forever(host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
    async def main() -> None:
        runner = await start(host, port)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    asyncio.run(main())
