"""Resolve and normalise URLs so that each destination is known by exactly one string.

Normalisation (by yarl, which aiohttp already depends on): lower-case scheme and host,
IDNA-encoded host, no default port, dot segments removed, percent-encoding made canonical.
The fragment is split off: it is never sent to a server, but the editor needs to see it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import quote, unquote, unquote_to_bytes

from yarl import URL

FETCHABLE_SCHEMES = frozenset({"http", "https"})
# Schemes that are legitimate in a page but never fetched; recorded as skipped.
NON_FETCHED_SCHEMES = frozenset({"mailto", "tel", "javascript", "data", "sms", "callto"})
MAX_URL_LENGTH = 8_000
# A file: URL opens a file on the computer the page is read on: it worked for its author only.
FILE_LINK_REASON = (
    "unsupported scheme 'file:': a file: link opens a file on the reader's own computer, so "
    "it works only on the author's machine; link to the web address instead"
)

_HOST_CHARS = re.compile(r"^[A-Za-z0-9.\-_:\[\]%]+$")
_WHITESPACE_AND_CONTROLS = re.compile(r"[\x00-\x20\x7f]")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-._~/]+\Z")
# scheme://authority of a plain absolute URL (one with a backslash or a space in it is not)
_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^/?#\\\s]*(?=[/?#]|\Z)")
# WHATWG URL: the fragment percent-encode set is C0 controls, space, " < > ` and non-ASCII
_FRAGMENT_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"<>`')
_FRAGMENT_AS_IS = re.compile(r"[!#-;=?-_a-~]*\Z")  # printable ASCII but " < > `
# WHATWG URL "forbidden domain code point": not in a host name, even percent-encoded
_FORBIDDEN_DOMAIN = frozenset("\x00\t\n\r #/:<>?@[\\]^|%\x7f") | frozenset(map(chr, range(32)))
_LAST_LABEL_HEX = re.compile(r"(?:^|\.)0[xX][0-9A-Fa-f]*\.?\Z")
_WRITTEN_AUTHORITY = re.compile(r"[^/?#\\]*")  # RFC 3986 §3.2: up to the next / ? or #
_ORIGIN_PARTS: dict[str, tuple[str, str | None, int | None]] = {}
MAX_ORIGIN_PARTS = 10_000  # hosts remembered (a crawl's external links name a few thousand)
_HOSTS_AS_WRITTEN: set[str] = set()  # authorities (yarl's raw_authority) _checked_host passed


class InvalidURL(ValueError):
    """The string cannot be an http(s) URL; the message says why in a few words."""


class ResolvedLink(NamedTuple):
    """An href resolved against its page; ``url`` is None when it is not fetched (``reason``).

    A named tuple: a crawl makes one per href it has not met in that folder, millions on a
    large site, and a frozen dataclass's ``__init__`` (a call to ``object.__setattr__`` per
    field) was ~4.5% of the parse workers' samples (bench/README.md, "Session 18")."""

    url: str | None
    fragment: str
    scheme: str
    reason: str = ""  # why it is not fetched: "mailto link", "invalid URL: ...", ...


def normalize_url(url: str) -> str:
    """Return the canonical absolute form of an http(s) URL, without its fragment."""
    parsed = _parse_absolute(url.strip())
    return _canonical(parsed)


def resolve(base: URL, href: str, max_length: int = MAX_URL_LENGTH) -> ResolvedLink:
    """Resolve ``href`` as written on a page whose base URL is ``base``.

    Whitespace inside the href (a copy-paste slip that browsers forgive) is tolerated at the
    ends only, as browsers do; everything else that cannot be a URL is reported as invalid.
    """
    raw = href.strip()
    match = _SCHEME.match(raw)
    scheme = match.group(1).lower() if match else base.scheme
    if scheme in NON_FETCHED_SCHEMES:
        return ResolvedLink(None, "", scheme, f"{scheme}: link (not fetched)")
    if scheme == "file":
        return ResolvedLink(None, "", scheme, FILE_LINK_REASON)
    if scheme not in FETCHABLE_SCHEMES:
        return ResolvedLink(None, "", scheme, f"unsupported scheme '{scheme}:'")
    if len(raw) > max_length:
        return ResolvedLink(None, "", scheme, f"invalid URL: longer than {max_length} characters")
    if "\\" in raw:
        raw = _backslashes_as_slashes(raw)
    fragment = _fragment(raw)
    try:
        # yarl reads "http://" as "http:" (no authority): it would resolve to the page itself
        _check_written_host(raw, match.end() if match else 0)
        joined = _join(base, URL(raw))
        joined = _checked_host(joined)
        canonical = _canonical(joined)
        if len(canonical) > max_length:
            raise InvalidURL(f"longer than {max_length} characters once resolved")
        return ResolvedLink(canonical, fragment, scheme)
    except (ValueError, TypeError) as exc:  # InvalidURL, or yarl's (it parses lazily)
        return ResolvedLink(None, fragment, scheme, f"invalid URL: {_reason(exc)}")


def _join(base: URL, reference: URL) -> URL:
    """``base.join(reference)`` (RFC 3986 §5.2), the base's percent-escapes kept.

    yarl 1.25 merges a relative path with the *decoded* segments of a base whose path does
    not end in ``/`` (aio-libs/yarl#1774): ``/a%20b/c`` + ``d`` gave ``/a b/d``, and an
    escaped ``%2F`` or ``%3F`` in a folder's name split the path or started a query. Such a
    merge only needs the base's folder (§5.2.3), which yarl joins without decoding.
    """
    raw_path = base.raw_path
    if (
        not reference.absolute
        and reference.raw_path
        and not reference.raw_path.startswith("/")
        and not raw_path.endswith("/")
        and "%" in raw_path
    ):
        base = base.with_path(raw_path[: raw_path.rfind("/") + 1], encoded=True)
    return base.join(reference)


class CachedResolver:
    """:func:`resolve` with a cache keyed by what the result really depends on.

    A site's navigation repeats the same hrefs on every page, but each page has its own URL;
    keying on the part of the base that matters (nothing for absolute URLs, the origin for
    ``/root`` links, the folder for ``relative`` ones) lets pages share the cache.
    """

    def __init__(self, max_entries: int = 100_000, max_url_length: int = MAX_URL_LENGTH) -> None:
        self._cache: dict[tuple[str, str], ResolvedLink] = {}
        self._plain: dict[str, bool] = {}  # by folder: canonical, so plain joins are safe
        self._max_entries = max_entries
        self._max_url_length = max_url_length

    def resolve(self, base: str, href: str) -> ResolvedLink:
        return self.for_page(base)(href)

    def for_page(self, base: str) -> Callable[[str], ResolvedLink]:
        """A resolver for one page's links: the base's origin and folder are worked out once.

        Which prefix of the base a link depends on (RFC 3986 §5.2): nothing for an absolute
        URL, the origin for ``/root``, the folder for ``relative``, all of it for ``?q``/``#f``.
        """
        scheme_end = base.find("://") + 3
        path_start = base.find("/", scheme_end)
        if path_start < 0:
            origin = folder = base
        else:
            origin = base[: path_start + 1]
            path = base.split("?", 1)[0].split("#", 1)[0]
            folder = path[: path.rfind("/") + 1]
        cache, limit, scheme_of = self._cache, self._max_url_length, _SCHEME.match
        scheme = base[: scheme_end - 3].lower()
        plain = self._plain.get(folder)  # canonical: then plain joins may be used
        if plain is None:
            plain = self._plain[folder] = _is_canonical(folder)

        itself: list[str | None] = []  # the page's own URL, if canonical: worked out once

        def page_itself() -> str | None:
            """What ``#fragment`` resolves to (RFC 3986 §5.2.2: the base, its query kept)."""
            if not itself:
                own = base.split("#", 1)[0]
                itself.append(own if _is_canonical(own) else None)
            return itself[0]

        def resolve_href(href: str) -> ResolvedLink:
            raw = href.strip()
            if not raw or raw[0] in "?#":
                context = base
            elif raw[0] == "/" and not raw.startswith("//"):
                context = origin
            elif scheme_of(raw) or raw.startswith("//"):
                context = "" if not raw.startswith("//") else origin
            else:
                context = folder
            key = (context, href)
            found = cache.get(key)
            if found is None:
                if len(cache) >= self._max_entries:
                    cache.clear()
                    self._plain.clear()
                if context is base:
                    joined = page_itself() if raw[:1] == "#" else None
                elif plain and context in (folder, origin):
                    joined = _plain_join(context, raw)
                elif not context and raw.startswith(("http://", "https://")):
                    joined = self._plain_absolute(raw)
                else:
                    joined = None
                if joined is not None and len(joined) <= limit:
                    fragment = _fragment(raw) if "#" in raw else ""
                    own = scheme if context else raw[: raw.find(":")]  # an absolute URL's
                    found = ResolvedLink(joined, fragment, own)
                else:
                    found = resolve(URL(context or base), href, limit)
                cache[key] = found
            return found

        return resolve_href

    def _plain_absolute(self, raw: str) -> str | None:
        """An absolute http(s) URL with a plain path on a canonical ``scheme://authority``:
        the path's dot segments removed, as :func:`_plain_join` does for a /root link."""
        authority = authority_of(raw)
        if authority is None or len(authority) == len(raw) or raw[len(authority)] != "/":
            return None
        root = authority + "/"
        plain = self._plain.get(root)
        if plain is None:
            plain = self._plain[root] = _is_canonical(root)
        return _plain_join(root, raw[len(authority) :]) if plain else None


def _is_canonical(url: str) -> bool:
    try:
        return normalize_url(url) == url
    except (InvalidURL, ValueError, TypeError):
        return False


def _plain_join(context: str, raw: str) -> str | None:
    """What RFC 3986 resolution gives for a plain path on a canonical ``context``, else None.

    Most links on a site are plain paths (``p12.html``, ``../guide/a.html#setup``,
    ``/help/x``): letters, digits and ``-._~/``, maybe dot segments and a plain fragment, no
    query. Their resolution is string work — the reference merged with the context's folder
    (§5.2.3) and its dot segments removed (§5.2.4) — and yarl (much slower per link) is kept
    for everything else. The fragment is the caller's (it never changes the URL).
    """
    if not context.endswith("/"):
        return None
    hash_at = raw.find("#")
    if hash_at >= 0:
        if not _FRAGMENT_AS_IS.match(raw, hash_at + 1):
            return None
        raw = raw[:hash_at]
    path_at = context.find("/", context.find("://") + 3)
    if raw.startswith("/"):
        if raw.startswith("//"):
            return None
        raw = raw[1:]
        context = context[: path_at + 1]  # the origin (a /root link replaces the whole path)
    if not raw or not _PLAIN_PATH.match(raw) or "//" in raw:
        return None
    if "." not in raw or ("./" not in raw and not raw.endswith((".", ".."))):
        return context + raw  # no dot segment (a dot only inside names): a concatenation
    segments = context[path_at + 1 : -1].split("/") if len(context) > path_at + 1 else []
    parts = raw.split("/")
    for part in parts:
        if part == "..":
            if segments:
                segments.pop()
        elif part != ".":
            segments.append(part)
    if parts[-1] in (".", ".."):
        segments.append("")  # "a/.." is the folder "/", not the file "" (§5.2.4, rule 2C)
    return context[: path_at + 1] + "/".join(segments)


def page_base(page_url: str, base_href: str | None) -> URL:
    """The URL that relative links on a page resolve against, honouring ``<base href>``."""
    base = URL(page_url)
    if base_href:
        try:
            candidate = _join(base, URL(base_href.strip()))
            if candidate.scheme in FETCHABLE_SCHEMES and candidate.host:
                return candidate
        except (ValueError, TypeError):
            pass
    return base


def join(base: str, location: str) -> str:
    """Resolve a redirect's Location header against the URL that sent it."""
    resolved = resolve(URL(base), location)
    if resolved.url is None:
        raise InvalidURL(resolved.reason)
    return resolved.url


def origin(url: str) -> str:
    """scheme://host:port — the unit that credentials, limits and politeness apply to."""
    scheme, host, port = origin_parts(url)
    return f"{scheme}://{host}:{port}"


def host_of(url: str) -> str:
    return origin_parts(url)[1] or ""


def authority_of(url: str) -> str | None:
    """``scheme://authority`` of a plain absolute URL (None for anything else)."""
    match = _AUTHORITY.match(url)
    return match.group() if match else None


def origin_parts(url: str) -> tuple[str, str | None, int | None]:
    """(scheme, host, port) as yarl reads them, parsed once per ``scheme://authority``.

    A crawl asks for them several times per request (host rules, politeness, robots.txt,
    the soft-404 probe), and a look-up costs a fraction of what yarl takes to parse a URL."""
    authority = authority_of(url)
    if authority is None:  # not a plain absolute URL: parsed as it is, every time
        parsed = URL(url)
        return parsed.scheme, parsed.raw_host, parsed.port
    parts = _ORIGIN_PARTS.get(authority)
    if parts is None:
        if len(_ORIGIN_PARTS) >= MAX_ORIGIN_PARTS:
            _ORIGIN_PARTS.clear()
        parsed = URL(authority)  # the path, query and fragment change none of the three
        parts = _ORIGIN_PARTS[authority] = (parsed.scheme, parsed.raw_host, parsed.port)
    return parts


# RFC 6454 §4: a URL that names no port has its scheme's default port (RFC 9110 §4.2.1, §4.2.2)
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_PORT = 65_535


def origin_key(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of ``url``, the port filled in: two URLs share an origin
    (RFC 6454 §5) exactly when their keys are equal."""
    scheme, host, port = origin_parts(url)
    return scheme, (host or "").lower(), port or DEFAULT_PORTS.get(scheme, 0)


@dataclass(frozen=True, slots=True)
class OriginPattern:
    """An origin as a configuration writes it: ``host``, ``host:port`` or
    ``scheme://host[:port]``.

    RFC 6454: an origin is scheme, host and port, so a pattern never matches another port
    of its host. A part left out is filled in as a browser would: no port means the
    scheme's default port (80 or 443), no scheme means http or https."""

    host: str
    scheme: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> OriginPattern:
        """Raises :class:`InvalidURL` with a message that says what to write instead."""
        scheme: str | None = None
        rest = text.strip().lower()
        if "://" in rest:
            scheme, _, rest = rest.partition("://")
            if scheme not in DEFAULT_PORTS:
                raise InvalidURL("only http:// or https:// can be named")
        rest = rest.rstrip("/")
        if "/" in rest or "@" in rest or not rest:
            raise InvalidURL("name a host, host:port or scheme://host:port")
        host, port_text = rest, None
        if rest.startswith("["):  # RFC 3986 §3.2.2: an IPv6 address is written [::1]:port
            host, _, after = rest[1:].partition("]")
            if after:
                if not after.startswith(":"):
                    raise InvalidURL(f"{rest!r}: write an IPv6 address as [::1] or [::1]:port")
                port_text = after[1:]
        elif rest.count(":") == 1:
            host, _, port_text = rest.partition(":")
        port = None
        if port_text is not None:
            # ASCII digits only: str.isdigit() also takes "²", which int() refuses
            if not (port_text.isascii() and port_text.isdigit()) or not (
                0 < int(port_text) <= MAX_PORT
            ):
                raise InvalidURL(f"{port_text!r} is not a port number (1 to {MAX_PORT})")
            port = int(port_text)
        try:
            host = URL.build(scheme="http", host=host).raw_host or ""
        except (ValueError, TypeError) as exc:  # IDNA errors are ValueErrors (UnicodeError)
            raise InvalidURL(f"{host!r}: {_reason(exc)}") from None
        if not host:
            raise InvalidURL("name a host, host:port or scheme://host:port")
        return cls(host=host, scheme=scheme, port=port)

    def matches(self, scheme: str, host: str, port: int) -> bool:
        """Whether the origin (scheme, host, port), as :func:`origin_key` gives it, is this."""
        if host != self.host or (self.scheme is not None and scheme != self.scheme):
            return False
        return port == (self.port if self.port is not None else DEFAULT_PORTS.get(scheme))

    def matches_url(self, url: str) -> bool:
        return self.matches(*origin_key(url))


def display_host(url: str) -> str:
    """The host as a reader knows it: Unicode for IDN hosts (``bücher.de``)."""
    return URL(url).host or ""


def directory_prefix(url: str) -> str:
    """``http://h/guide/index.html`` → ``http://h/guide/``: a start URL's default scope."""
    canonical = normalize_url(url)
    without_query = canonical.split("?", 1)[0]
    return without_query[: without_query.rfind("/") + 1]


# Query parameters that say who sent the reader or which session they are in, never which
# page: dropped from the crawl key, so a site that writes a fresh session id or campaign tag
# into every link is one page per address, not an endless crawl. By name (compared
# case-insensitively, so PHPSESSID and phpsessid are one) and by prefix.
SESSION_PARAMETERS = frozenset(
    {
        "sid",
        "sessionid",
        "session_id",
        "phpsessid",  # PHP
        "jsessionid",  # Java servlets (also written as a ;jsessionid= path parameter)
        "aspsessionid",
        "cfid",  # ColdFusion
        "cftoken",
        "zenid",  # Zen Cart
        "oscsid",  # osCommerce
    }
)
TRACKING_PARAMETERS = frozenset(
    {
        "gclid",  # Google Ads
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "fbclid",  # Facebook
        "msclkid",  # Microsoft Ads
        "yclid",  # Yandex
        "twclid",  # X (Twitter)
        "ttclid",  # TikTok
        "li_fat_id",  # LinkedIn
        "igshid",  # Instagram
        "mc_cid",  # Mailchimp
        "mc_eid",
        "_ga",  # Google Analytics cross-domain
        "_gl",
        "_hsenc",  # HubSpot
        "_hsmi",
    }
)
TRACKING_PREFIXES = ("utm_",)  # utm_source, utm_medium, utm_campaign, utm_term, ...
_PATH_SESSION = re.compile(r";(?:jsessionid|phpsessid|sid)=[^/?;]*", re.IGNORECASE)


def dropped_parameter(name: str) -> bool:
    """Whether a query parameter names a session or a campaign, not a page."""
    name = name.lower()
    return (
        name in SESSION_PARAMETERS
        or name in TRACKING_PARAMETERS
        or name.startswith(TRACKING_PREFIXES)
    )


def crawl_key(url: str) -> str:
    """``url`` without session and tracking parameters (see :data:`SESSION_PARAMETERS`):
    the address a page is crawled under, so ``/p?utm_source=mail`` and ``/p`` are one page.

    ``url`` is normalised (:func:`normalize_url`); the parameters left keep their order.
    """
    if "?" not in url and ";" not in url:
        return url  # nearly every URL: nothing to drop
    path, mark, query = url.partition("?")
    key_path = _PATH_SESSION.sub("", path) if ";" in path else path
    if mark:
        pairs = query.split("&")
        kept = [pair for pair in pairs if not dropped_parameter(unquote(pair.partition("=")[0]))]
        if len(kept) == len(pairs):
            return url if key_path is path else f"{key_path}?{query}"
        query = "&".join(kept)
    return f"{key_path}?{query}" if query else key_path


# The names a web server answers a folder's address with (its "directory index"): dir/ and
# dir/index.html are one file when they answer the same bytes.
INDEX_NAMES = frozenset(
    {
        "index.html",
        "index.htm",
        "index.shtml",
        "index.xhtml",
        "index.php",
        "index.asp",
        "index.aspx",
        "index.jsp",
        "default.htm",
        "default.html",
        "default.asp",
        "default.aspx",
    }
)


def document_key(url: str) -> str:
    """The address two URLs must share to be one document when they answer the same bytes:
    the URL without its query and without a directory index name (``dir/`` for
    ``dir/index.html?x=1``). Pages of other addresses that answer the same bytes (a site's
    empty placeholders) are pages of their own."""
    path = url.partition("?")[0]
    slash = path.rfind("/")
    return path[: slash + 1] if path[slash + 1 :].lower() in INDEX_NAMES else path


def _parse_absolute(url: str) -> URL:
    if not url:
        raise InvalidURL("empty URL")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidURL(f"longer than {MAX_URL_LENGTH} characters")
    try:
        parsed = URL(url)
    except (ValueError, TypeError) as exc:
        raise InvalidURL(f"{url!r} is not a valid URL ({exc})") from None
    if parsed.scheme not in FETCHABLE_SCHEMES:
        raise InvalidURL(f"{url!r} is not an http:// or https:// URL")
    return _checked_host(parsed)


def _reason(exc: Exception) -> str:
    """yarl's message without its "Invalid URL: " prefix (the caller says "invalid URL")."""
    text = str(exc)
    return text[len("Invalid URL: ") :] if text.startswith("Invalid URL: ") else text


def _backslashes_as_slashes(raw: str) -> str:
    """WHATWG URL: in an http(s) URL a backslash before the query is a slash (browsers
    follow ``..\\page.html`` to ``../page.html``); in the query and fragment it stays."""
    end = len(raw)
    for delimiter in "?#":
        found = raw.find(delimiter)
        if 0 <= found < end:
            end = found
    return raw[:end].replace("\\", "/") + raw[end:]


def _fragment(raw: str) -> str:
    """The fragment as the WHATWG URL parser keeps it (fragment state): tabs and newlines
    dropped, the fragment percent-encode set and non-ASCII encoded, escapes left as written.

    Not yarl's form: yarl decodes ``%3A`` to ``:``, and HTML's "find a potential indicated
    element" (HTML §7.4.6.4) looks for the id as written first, then decoded.
    """
    hash_at = raw.find("#")
    if hash_at < 0:
        return ""
    fragment = raw[hash_at + 1 :]
    if _FRAGMENT_AS_IS.match(fragment):
        return fragment  # the common case: nothing to encode
    fragment = fragment.replace("\t", "").replace("\n", "").replace("\r", "")
    return quote(fragment, safe=_FRAGMENT_SAFE, errors="surrogatepass")


def _check_written_host(raw: str, after_scheme: int) -> None:
    """An href with an authority (``http://…``, ``//…``) must name a host in it.

    RFC 9110 §4.2.1: an http(s) URI with an empty host is invalid and must be rejected;
    WHATWG URL fails to parse one too ("host-missing"). yarl instead drops an empty
    authority, so ``http://`` would resolve to the page it is written on.
    """
    if not raw.startswith("//", after_scheme):
        return
    authority = _WRITTEN_AUTHORITY.match(raw, after_scheme + 2)  # always matches
    host = authority.group().rpartition("@")[2] if authority else ""
    if host.startswith("["):  # RFC 3986 §3.2.2 IP-literal; WHATWG URL IPv6 parser
        literal = host[1 : host.find("]")] if "]" in host else None
        try:
            if literal is None or "%" in literal:  # WHATWG URL has no zone identifiers
                raise ValueError
            ipaddress.IPv6Address(literal)
        except ValueError:
            raise InvalidURL(f"{host!r} is not an IPv6 address in brackets") from None
        return
    host = host.partition(":")[0]
    if not host:
        raise InvalidURL("no host name after // (RFC 9110 §4.2.1: an http(s) URL names a host)")


def _checked_host(parsed: URL) -> URL:
    """``parsed`` with its host checked by the WHATWG URL host parser's rules, and written
    as a browser sends it (percent-escapes decoded, IPv4 numbers in dotted decimal)."""
    # A site's links name few hosts: one that passed as written is not parsed again.
    authority = parsed.raw_authority
    if authority in _HOSTS_AS_WRITTEN:
        return parsed
    checked = _check_host(parsed)
    if checked is parsed:
        if len(_HOSTS_AS_WRITTEN) >= MAX_ORIGIN_PARTS:
            _HOSTS_AS_WRITTEN.clear()
        _HOSTS_AS_WRITTEN.add(authority)
    return checked


def _check_host(parsed: URL) -> URL:
    host = parsed.raw_host
    if not host:
        raise InvalidURL("no host name")
    if "%" in host and not host.startswith("["):
        # WHATWG URL §3.5 host parsing: the host is percent-decoded, then checked
        decoded = unquote(host, errors="strict") if _valid_escapes(host) else None
        if decoded is None or "%" in decoded:
            raise InvalidURL(f"host {host!r} has percent-escapes that are not a host name")
        bad = next((char for char in decoded if char in _FORBIDDEN_DOMAIN), None)
        if bad is not None:
            raise InvalidURL(f"host {decoded!r} has {bad!r}, which a host name cannot have")
        try:
            parsed = parsed.with_host(decoded)
        except (ValueError, UnicodeError) as exc:
            raise InvalidURL(f"host {decoded!r}: {_reason(exc)}") from None
        host = parsed.raw_host or ""
    if not _HOST_CHARS.match(host) or _WHITESPACE_AND_CONTROLS.search(host):
        bad = next((char for char in host if not _HOST_CHARS.match(char) or char in " \t\n\r"), "")
        raise InvalidURL(f"host {host!r} has {bad!r}, which a host name cannot have")
    tail = host[-2:-1] if host.endswith(".") else host[-1]
    if tail.isdigit() or (("0x" in host or "0X" in host) and _LAST_LABEL_HEX.search(host)):
        address = _ipv4(host)  # WHATWG URL §3.5: a host that ends in a number is IPv4
        if address != host:
            parsed = parsed.with_host(address)
    try:
        parsed.port  # noqa: B018 - yarl validates the port lazily
    except ValueError as exc:
        raise InvalidURL(_reason(exc)) from None
    return parsed


def _valid_escapes(host: str) -> bool:
    try:
        unquote_to_bytes(host).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _ipv4(host: str) -> str:
    """WHATWG URL §3.5 IPv4 parser: a host whose last label is a number is an IPv4 address
    (``0x7f.1`` is 127.0.0.1); one that is not a valid address is not a host at all."""
    if host.startswith("["):
        return host
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()  # one trailing dot is allowed
    if not _ends_in_number(parts[-1]):
        return host
    if len(parts) > 4:
        raise InvalidURL(f"host {host!r} ends in a number but has more than 4 parts (IPv4)")
    numbers = []
    for part in parts:
        number = _ipv4_number(part)
        if number is None:
            raise InvalidURL(f"host {host!r} ends in a number but {part!r} is not one (IPv4)")
        numbers.append(number)
    last = numbers.pop()
    if any(number > 255 for number in numbers) or last >= 256 ** (4 - len(numbers)):
        raise InvalidURL(f"host {host!r} is not an IPv4 address: a part is out of range")
    address = last
    for index, number in enumerate(numbers):
        address += number * 256 ** (3 - index)
    return ".".join(str((address >> shift) & 255) for shift in (24, 16, 8, 0))


def _ends_in_number(label: str) -> bool:
    return (label.isdigit() and label.isascii()) or _ipv4_number(label) is not None


def _ipv4_number(part: str) -> int | None:
    """WHATWG URL "IPv4 number parser": decimal, 0x hexadecimal, or 0-led octal."""
    if not part or not part.isascii():
        return None
    radix = 10
    if part[:2].lower() == "0x":
        part, radix = part[2:], 16
    elif len(part) > 1 and part[0] == "0":
        part, radix = part[1:], 8
    if not part:
        return 0
    try:
        return int(part, radix) if part.isalnum() else None
    except ValueError:
        return None


def _canonical(parsed: URL) -> str:
    parsed = parsed.with_fragment(None)
    if parsed.raw_path in ("", "/") and not parsed.raw_query_string:
        parsed = parsed.with_path("/")  # yarl prints "http://h" for "http://h/": keep the slash
    return str(parsed)
