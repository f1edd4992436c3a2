"""aiohttp, imported without loading the system trust store twice for nothing.

When it is imported, aiohttp builds two default TLS contexts (``aiohttp.connector``), each
loading the system's CA bundle, a cost in every run's start-up. linkcheck never uses them:
an https request always gets linkcheck's own context, or verification off
(``HttpClient._tls`` in :mod:`linkcheck.http`). So they are built while ``SSL_CERT_FILE`` and
``SSL_CERT_DIR`` name an empty store, and the environment is put back at once (nothing else
runs meanwhile: imports happen before any thread or event loop). Import aiohttp through
this module; if something imported aiohttp before, nothing changes.
"""

from __future__ import annotations

import os

_STORE_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR")
_saved = {name: os.environ.get(name) for name in _STORE_VARIABLES}
try:
    for _name in _STORE_VARIABLES:
        os.environ[_name] = os.devnull
    import aiohttp as aiohttp
    import aiohttp.abc
    import aiohttp.resolver  # noqa: F401
finally:
    for _name, _value in _saved.items():
        if _value is None:
            os.environ.pop(_name, None)
        else:
            os.environ[_name] = _value
