"""A real HTTP server on loopback for tests: routes, misbehaviours, and a log of every request.

It runs in a thread (stdlib ``ThreadingHTTPServer``, HTTP/1.1 keep-alive) on an ephemeral
port, so tests exercise linkcheck's real client over real sockets and can assert on what
the server actually received (how many requests, which methods, which headers).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "text/html; charset=utf-8"
    delay: float = 0.0  # seconds before the status line is sent
    trickle: float = 0.0  # seconds between body bytes (a slow-drip server)
    drop: bool = False  # close the connection without answering

    def body_bytes(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    at: float


Route = Reply | Callable[["Seen"], Reply]


def page(html: str, **kwargs: Any) -> Reply:
    return Reply(
        200,
        f"<!DOCTYPE html><html><head><title>t</title></head><body>{html}</body></html>",
        **kwargs,
    )


def redirect(location: str, status: int = 301) -> Reply:
    return Reply(status, b"", {"Location": location}, content_type=None)


class TestServer:
    """Start with ``with TestServer(routes) as server:``; unknown paths answer 404."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        routes: dict[str, Route] | None = None,
        host: str = "127.0.0.1",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests this server was answering at once
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                seen = Seen(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    time.monotonic(),
                )
                with outer._lock:
                    outer.requests.append(seen)
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    self._answer(seen)
                finally:
                    with outer._lock:
                        outer.in_flight -= 1

            def _answer(self, seen: Seen) -> None:
                route = outer.routes.get(self.path)
                if route is None:
                    route = outer.routes.get(self.path.split("?", 1)[0], Reply(404, "not found"))
                reply = route(seen) if callable(route) else route
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                body = reply.body_bytes()
                self.send_response(reply.status)
                if reply.content_type:
                    self.send_header("Content-Type", reply.content_type)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in reply.headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command == "HEAD":
                    return
                try:
                    if reply.trickle:
                        for index in range(len(body)):
                            self.wfile.write(body[index : index + 1])
                            self.wfile.flush()
                            time.sleep(reply.trickle)
                    else:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = do_HEAD = do_POST = _serve

        class QuietServer(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients that hang up early are part of the tests, not failures

        self._server = QuietServer((host, 0), Handler)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.host = host
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> TestServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str = "/") -> str:
        return f"{self.scheme}://{self.host}:{self.port}{path}"

    def count(self, path: str, method: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.path == path and method in (None, r.method))

    def methods(self, path: str) -> list[str]:
        with self._lock:
            return [r.method for r in self.requests if r.path == path]


def closed_ports(first: int, count: int) -> list[socket.socket] | None:
    """Ports ``first`` .. ``first + count - 1`` held shut for a test: each bound by a socket
    that never listens, so a connection to it is refused, and no other server (another
    test's, on a port the system picked) can take it meanwhile. None, with nothing held,
    when one of them is in use already."""
    held: list[socket.socket] = []
    for port in range(first, first + count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            for other in held:
                other.close()
            return None
        held.append(sock)
    return held


@contextmanager
def serving_with_closed_neighbours(
    handler: type[BaseHTTPRequestHandler], neighbours: int
) -> Iterator[ThreadingHTTPServer]:
    """A server on a free loopback port, serving in a thread, whose next ``neighbours``
    ports are held shut (:func:`closed_ports`): a generated site's other hosts live there,
    and a test that expects their links refused must not meet someone else's server on one
    of them. All of it is shut on leaving."""
    for _ in range(50):
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        held = closed_ports(server.server_address[1] + 1, neighbours)
        if held is not None:
            break
        server.server_close()
    else:
        raise RuntimeError(f"no loopback port with {neighbours} free ports after it")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        for sock in held:
            sock.close()
