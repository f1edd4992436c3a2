"""Safety: secrets stay with their host, private networks stay private, TLS is verified.

The private-address tests never open a connection to a non-loopback address, even if the
code under test were wrong: names resolve through a fake resolver, and every connection
attempt goes through a recording socket factory that refuses anything but 127.0.0.1. A
private address can therefore only ever be *seen*, never dialled; the tests assert that it
was refused before the factory was even asked.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp.abc
import pytest
import trustme

from linkcheck.checker import Checker
from linkcheck.config import Config, HttpSettings
from linkcheck.hosts import HostRules
from linkcheck.http import HttpClient
from linkcheck.models import ErrorKind, Verdict
from linkcheck.safety import AddressPolicy, is_private_address, parse_ip
from tests.conftest import crawl, result
from tests.server import Reply, TestServer, page, redirect

REPO = Path(__file__).parents[2]

# --- credentials and headers ------------------------------------------------------------


def test_secrets_go_only_to_their_origin() -> None:
    """Host A (with credentials) redirects to host B, and the page links to B: B sees none."""
    with TestServer({"/landing": Reply(200, "ok")}) as b:
        b_url = f"http://localhost:{b.port}/landing"
        routes = {
            "/": page(f'<a href="/private">p</a><a href="{b_url}">b</a>'),
            "/private": redirect(b_url, 302),
        }
        with TestServer(routes) as a:
            a_host = f"127.0.0.1:{a.port}"
            run = crawl(
                a.url("/"),
                http={"allow_private": True},
                hosts={
                    f"http://{a_host}": {
                        "username": "editor",
                        "password": "s3cret",
                        "headers": {"X-Api-Key": "k-123"},
                    }
                },
            )
            assert all(
                r.headers.get("authorization", "").startswith("Basic ")
                for r in a.requests
                if r.path != "/robots.txt"
            )
            assert all(r.headers.get("x-api-key") == "k-123" for r in a.requests)
        assert result(run, a.url("/private")).verdict is Verdict.REDIRECTED
        assert len(b.requests) == 2  # the redirect hop and the direct link
        for seen in b.requests:
            assert "authorization" not in seen.headers
            assert "x-api-key" not in seen.headers
    summary = run.config_summary["hosts"]
    assert isinstance(summary, dict)
    assert "s3cret" not in str(summary) and "k-123" not in str(summary)  # never in reports


def test_credentials_over_plain_http_need_an_explicit_http_key() -> None:
    with TestServer({"/": page('<a href="/a">a</a>'), "/a": page("")}) as site:
        crawl(site.url("/"), hosts={f"127.0.0.1:{site.port}": {"username": "u", "password": "p"}})
        assert not any("authorization" in r.headers for r in site.requests)


def test_password_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINKCHECK_TEST_PASSWORD", "from-env")
    with TestServer({"/": page('<a href="/a">a</a>'), "/a": page("")}) as site:
        crawl(
            site.url("/"),
            hosts={
                f"http://127.0.0.1:{site.port}": {
                    "username": "u",
                    "password_env": "LINKCHECK_TEST_PASSWORD",
                }
            },
        )
        import base64

        expected = "Basic " + base64.b64encode(b"u:from-env").decode()
        assert site.requests[-1].headers["authorization"] == expected


# --- private addresses --------------------------------------------------------------------


class FakeResolver(aiohttp.abc.AbstractResolver):
    """Answers from a table; a name it does not know does not exist."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[Any]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError(-2, f"Name or service not known: {host}")
        address = self.table[host]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": family,
                "proto": 0,
                "flags": 0,
            }
        ]

    async def close(self) -> None:
        pass


class RecordingSockets:
    """The socket factory of every connection attempt: records it, dials only 127.0.0.1."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def __call__(self, addr_info: Any) -> socket.socket:
        family, kind, proto, _, sockaddr = addr_info
        self.attempts.append(sockaddr[0])
        if sockaddr[0] != "127.0.0.1":
            raise ConnectionRefusedError(111, f"test refuses to dial {sockaddr[0]}")
        return socket.socket(family, kind, proto)


def check_all(
    urls: list[str], policy: AddressPolicy, table: dict[str, str], sockets: RecordingSockets
) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        settings = HttpSettings(retries=0, timeout=2)
        rules = HostRules(Config(http=settings), frozenset())
        async with HttpClient(
            settings, policy=policy, resolver=FakeResolver(table), socket_factory=sockets
        ) as client:
            checker = Checker(client, settings, rules)
            return {url: (await checker.check(url)).result for url in urls}

    return asyncio.run(run())


PRIVATE_URLS = [
    "http://intranet.example/admin",  # a name that resolves into 10/8
    "http://sneaky.example/",  # a name that resolves to an IPv4-mapped loopback address
    "http://10.0.0.5/",
    "http://172.16.3.4/",
    "http://192.168.1.1/router",
    "http://127.0.0.1:9/",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://[::1]:9/",
    "http://[fc00::1]/",
    "http://[fe80::1]/",
    "http://[::ffff:10.0.0.5]/",
    "http://0.0.0.0/",
]
TABLE = {"intranet.example": "10.1.2.3", "sneaky.example": "::ffff:127.0.0.1"}


def test_private_addresses_are_refused_before_any_connection() -> None:
    sockets = RecordingSockets()
    results = check_all(PRIVATE_URLS, AddressPolicy(), TABLE, sockets)
    for url, found in results.items():
        assert (found.verdict, found.error) == (Verdict.ERROR, ErrorKind.PRIVATE_ADDRESS), url
        assert "private address" in found.message
    assert sockets.attempts == []  # seen, never dialled


def test_the_guard_is_what_stops_them() -> None:
    """With the rule lifted, the same URLs do reach the socket factory (which refuses them)."""
    sockets = RecordingSockets()
    results = check_all(
        ["http://intranet.example/admin", "http://10.0.0.5/"],
        AddressPolicy(allow_all=True),
        TABLE,
        sockets,
    )
    assert sockets.attempts == ["10.1.2.3", "10.0.0.5"]
    assert all(found.error is ErrorKind.CONNECT for found in results.values())


def test_named_hosts_may_be_private() -> None:
    sockets = RecordingSockets()
    policy = AddressPolicy(allowed_hosts=frozenset({"intranet.example"}))
    results = check_all(
        ["http://intranet.example/", "http://other.example/"],
        policy,
        {**TABLE, "other.example": "10.9.9.9"},
        sockets,
    )
    assert sockets.attempts == ["10.1.2.3"]
    assert results["http://other.example/"].error is ErrorKind.PRIVATE_ADDRESS


def test_every_redirect_hop_is_guarded() -> None:
    with TestServer({"/hop": redirect("http://intranet.example/secret", 302)}) as server:
        sockets = RecordingSockets()
        policy = AddressPolicy(allowed_hosts=frozenset({"127.0.0.1"}))
        results = check_all([server.url("/hop")], policy, TABLE, sockets)
    found = results[server.url("/hop")]
    assert (found.verdict, found.error) == (Verdict.ERROR, ErrorKind.PRIVATE_ADDRESS)
    assert [hop.status for hop in found.redirects] == [302]
    assert sockets.attempts == ["127.0.0.1"]  # only the allowed first hop was dialled


@pytest.mark.parametrize(
    ("address", "private"),
    [
        ("10.0.0.1", True),
        ("172.31.255.255", True),
        ("172.32.0.1", False),
        ("192.168.0.1", True),
        ("127.0.0.53", True),
        ("169.254.1.1", True),
        ("100.64.0.1", True),
        ("8.8.8.8", False),
        ("::1", True),
        ("fd12::1", True),
        ("fe80::1", True),
        ("::ffff:192.168.0.1", True),
        ("2002:c0a8:0101::1", True),
        ("2606:4700::1111", False),
        ("0.0.0.0", True),
    ],
)
def test_address_classification(address: str, private: bool) -> None:
    ip = parse_ip(address)
    assert ip is not None
    assert is_private_address(ip) is private


def test_crawl_refuses_private_external_links_but_not_the_site() -> None:
    with TestServer(
        {"/": page('<a href="http://localhost:9/x">x</a><a href="/a">a</a>'), "/a": page("")}
    ) as site:
        run = crawl(site.url("/"))
        assert result(run, site.url("/a")).verdict is Verdict.OK  # the site itself may be private
        refused = result(run, "http://localhost:9/x")
        assert refused.error is ErrorKind.PRIVATE_ADDRESS


# --- TLS -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def tls_server(ca: trustme.CA, *names: str, **kwargs: Any) -> TestServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names, **kwargs).configure_cert(context)
    return TestServer({"/": page('<a href="/a">a</a>'), "/a": page("")}, tls=context)


def test_tls_failures_are_readable(ca: trustme.CA, tmp_path: Path) -> None:
    with tls_server(ca, "127.0.0.1") as untrusted, tls_server(ca, "wrong.example") as wrong_name:
        run = crawl(untrusted.url("/"))
        found = result(run, untrusted.url("/"))
        assert (found.error, found.verdict) == (ErrorKind.TLS, Verdict.ERROR)
        assert "certificate authority that is not trusted" in found.message
        bundle = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(bundle))
        mismatch = crawl(wrong_name.url("/"), http={"ca_bundle": str(bundle)})
        assert "for another" in result(mismatch, wrong_name.url("/")).message


def test_expired_certificate(ca: trustme.CA, tmp_path: Path) -> None:
    import datetime

    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    past = datetime.datetime(2020, 1, 1)
    with tls_server(
        ca, "127.0.0.1", not_before=past, not_after=past + datetime.timedelta(days=1)
    ) as old:
        run = crawl(old.url("/"), http={"ca_bundle": str(bundle)})
    assert "expired" in result(run, old.url("/")).message


def test_custom_ca_bundle_and_ssl_cert_file(
    ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "internal-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with tls_server(ca, "127.0.0.1") as staging:
        by_config = crawl(staging.url("/"), http={"ca_bundle": str(bundle)})
        assert result(by_config, staging.url("/a")).verdict is Verdict.OK
        monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
        by_environment = crawl(staging.url("/"))
        assert result(by_environment, staging.url("/a")).verdict is Verdict.OK


def test_a_fresh_process_verifies_with_the_users_trust_store(
    ca: trustme.CA, tmp_path: Path
) -> None:
    """aiohttp is imported with an empty default trust store (linkcheck._aiohttp); the
    environment is put back, and https is verified against the user's store all the same."""
    bundle = tmp_path / "internal-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    env = {**os.environ, "PYTHONPATH": str(REPO), "SSL_CERT_FILE": str(bundle)}
    env.pop("SSL_CERT_DIR", None)
    probe = (
        "import os, linkcheck.http, aiohttp; "
        "print(os.environ.get('SSL_CERT_FILE'), 'SSL_CERT_DIR' in os.environ)"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert shown.stdout.split() == [str(bundle), "False"]
    with tls_server(ca, "127.0.0.1") as staging:
        command = [sys.executable, "-m", "linkcheck", "run", staging.url("/"), "--allow-private"]
        command += ["--format", "json", "-o", str(tmp_path / "out"), "--no-cache", "-q"]
        run = subprocess.run(
            command,
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    verdicts = {link["url"]: link["verdict"] for link in report["links"]}
    assert verdicts[staging.url("/a")] == "ok"


def test_verify_false_for_one_host_only(ca: trustme.CA) -> None:
    with tls_server(ca, "127.0.0.1") as lax, tls_server(ca, "127.0.0.1") as strict:
        html = f'<a href="{lax.url("/a")}">lax</a><a href="{strict.url("/a")}">strict</a>'
        with TestServer({"/": page(html)}) as site:
            run = crawl(site.url("/"), hosts={f"127.0.0.1:{lax.port}": {"verify_tls": False}})
    assert result(run, lax.url("/a")).verdict is Verdict.OK
    assert result(run, strict.url("/a")).error is ErrorKind.TLS


def test_only_http_and_https_are_fetched(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret", encoding="utf-8")
    html = f'<a href="file://{secret}">f</a><a href="ftp://example.com/x">ftp</a>'
    with TestServer({"/": page(html)}) as site:
        run = crawl(site.url("/"))
    skipped = [link for link in run.links.values() if link.url.startswith(("file:", "ftp:"))]
    assert len(skipped) == 2
    results = {link.url.partition(":")[0]: link.result for link in skipped}
    assert results["ftp"] is not None and results["ftp"].verdict is Verdict.SKIPPED
    # issue #19: a file: link is reported (it works on the author's machine only), never read
    file_result = results["file"]
    assert file_result is not None and file_result.verdict is Verdict.ERROR
    assert file_result.error is ErrorKind.UNSUPPORTED_SCHEME and file_result.status is None
    assert "top secret" not in file_result.message
