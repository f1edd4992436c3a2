"""Check a built site in a folder (``linkcheck run ./public``) through the same pipeline.

The folder is served as if it were deployed at ``base_url`` (by default a stand-in address
that never reaches the network): requests for URLs under it are answered from files, every
other request goes out over HTTP as usual. So extraction, scope, verdicts, reports and the
external-link rules are exactly those of a live crawl; only the transport differs. Links
resolve like on the web server — ``/a/b`` from the site root, ``../x`` relative, ``dir/`` to
its index file, ``/about`` to ``about.html`` or ``about/index.html`` — and a missing file is
reported with the paths that were looked for.
"""

from __future__ import annotations

import dataclasses
import mimetypes
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Unpack
from urllib.parse import quote, unquote

from linkcheck.config import DEFAULT_EXTENSIONS, DEFAULT_INDEX_FILES, Config
from linkcheck.contact import bare_address_advice
from linkcheck.css import is_stylesheet
from linkcheck.extract import is_html
from linkcheck.http import Outcome, RequestOptions, Response, Transport
from linkcheck.models import Link, RunResult, current_tables

# Used when no base_url is configured: a reserved name (RFC 2606) that cannot resolve, so a
# mistake could never send a request for it anywhere.
STAND_IN_BASE = "http://local.invalid/"
FILE_NOT_FOUND = 404
# Pages by their file name, besides the configured extensions: XHTML (served as
# application/xhtml+xml, parsed as HTML) is listed, crawled when unlinked and reported as an
# orphan like .html, but not tried for pretty URLs (/about does not look for about.xhtml).
PAGE_EXTENSIONS = (".xhtml",)


class _FolderIndex:
    """Every file in the folder, walked once: a build does not change during a run.

    A file found by the walk is a regular file reached through real folders only, so it is
    inside the folder by construction and needs no ``realpath`` (several system calls for
    each link of a large build). Anything else — a symlink, a path not in the
    index of a folder that has symlinks or unreadable folders — is resolved the careful way.
    """

    __slots__ = ("complete", "files", "html")

    def __init__(self, root: Path, extensions: tuple[str, ...]) -> None:
        self.files: set[str] = set()  # relative, "/"-separated
        self.html: list[str] = []  # the pages among them (and symlinked ones), relative too
        self.complete = True  # no symlinks, every folder read: a miss is a missing file
        folders = [(str(root), "")]
        while folders:
            folder, prefix = folders.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                self.complete = False
                continue
            for entry in entries:
                relative = prefix + entry.name  # one string for the files and the pages
                if entry.is_symlink():
                    self.complete = False
                    if entry.is_dir():
                        continue  # not followed, as os.walk does not
                elif entry.is_dir(follow_symlinks=False):
                    folders.append((entry.path, relative + "/"))
                    continue
                elif entry.is_file(follow_symlinks=False):
                    self.files.add(relative)
                if _suffix(entry.name).lower() in extensions:
                    self.html.append(relative)
        self.html.sort()


def _suffix(name: str) -> str:
    """A file name's extension, by pathlib's rule (".bashrc" and "a." have none)."""
    name = name.rpartition("/")[2]
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


@dataclass(frozen=True, slots=True)
class LocalSite:
    root: Path  # absolute, resolved
    base_url: str  # ends with "/"
    index_files: tuple[str, ...] = DEFAULT_INDEX_FILES
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    shown_root: str = ""  # the folder as the user wrote it, for messages and reports
    # url -> its file (relative to root), and the folder's index: each URL is looked up
    # several times (to answer it, to parse a page once, to name it in the report). Paths
    # are made when asked for, not kept: at 50,000 pages the Paths kept of every page and
    # URL were ~30 MiB of the crawl's memory
    _relatives: dict[str, str | None] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )
    _index: list[_FolderIndex] = dataclasses.field(default_factory=list, compare=False, repr=False)

    def contains(self, url: str) -> bool:
        return url.startswith(self.base_url)

    def candidates(self, url: str) -> list[Path]:
        """The files a web server would try for ``url``, in order."""
        return [self.root / relative for relative in self._relative_candidates(url)]

    def _relative_candidates(self, url: str) -> list[str]:
        relative = unquote(url[len(self.base_url) :].split("?", 1)[0])
        if relative == "" or relative.endswith("/"):
            return [relative + index for index in self.index_files]
        paths = [relative]
        if not _suffix(relative):  # a "pretty URL": /about -> about.html
            paths += [relative + extension for extension in self.extensions]
        paths += [relative + "/" + index for index in self.index_files]
        return paths

    def file_for(self, url: str) -> Path | None:
        """The file that answers ``url``, never one outside the folder (symlinks included)."""
        relative = self.relative_file(url)
        return None if relative is None else self.root / relative

    def relative_file(self, url: str) -> str | None:
        """:meth:`file_for`'s file as a "/"-separated path under the folder."""
        if url in self._relatives:
            return self._relatives[url]
        found = self._relatives[url] = self._find_file(url)
        return found

    def _folder_index(self) -> _FolderIndex:
        if not self._index:
            pages = self.extensions + tuple(e for e in PAGE_EXTENSIONS if e not in self.extensions)
            self._index.append(_FolderIndex(self.root, pages))
        return self._index[0]

    def _find_file(self, url: str) -> str | None:
        index = self._folder_index()
        for relative in self._relative_candidates(url):
            normal = posixpath.normpath(relative) if relative else "."
            if normal in index.files:
                return normal
            if index.complete:
                continue  # the walk saw every file there is
            candidate = self.root / relative
            try:
                resolved = candidate.resolve()
            except (OSError, RuntimeError):
                continue
            if resolved.is_relative_to(self.root) and resolved.is_file():
                return candidate.relative_to(self.root).as_posix()
        return None

    def shown_file(self, url: str) -> str:
        """``url``'s file as the user knows it (see shown), or the first one looked for."""
        relative = self.relative_file(url)
        if relative is None:
            return self.shown(self.candidates(url)[0])
        return self.shown_relative(relative)

    def shown_relative(self, relative: str) -> str:
        """A "/"-separated path under the folder, as the user knows it (see shown)."""
        return os.path.join(self.shown_root or str(self.root), relative)

    def shown(self, path: Path) -> str:
        """A path as the user knows it: under the folder they named."""
        text, root = str(path), str(self.root)
        if text == root:
            relative = "."
        elif text.startswith(root.rstrip(os.sep) + os.sep):
            relative = text[len(root.rstrip(os.sep)) + 1 :]
        else:
            return text
        return os.path.join(self.shown_root or root, relative)

    def missing_message(self, url: str) -> str:
        tried = [self.shown(path) for path in self.candidates(url)]
        also = f" (also tried {', '.join(tried[1:])})" if len(tried) > 1 else ""
        return f"no such file: {tried[0]}{also}"

    def url_for(self, relative: str) -> str:
        """The URL a file (a "/"-separated path under the folder) is served at (index files
        as their folder)."""
        for index in self.index_files:
            if relative == index or relative.endswith("/" + index):
                relative = relative[: -len(index)]
                break
        return self.base_url + quote(relative)

    def page_files(self) -> list[str]:
        """The folder's pages as "/"-separated paths under it, sorted (a new list each time;
        strings, not Paths: a large build's pages are listed three times a run)."""
        return list(self._folder_index().html)


class LocalTransport:
    """Answers URLs under the site's base from files; passes everything else to ``network``."""

    def __init__(self, site: LocalSite, network: Transport, max_body_bytes: int) -> None:
        self._site = site
        self._network = network
        self._max_body = max_body_bytes

    async def request(self, method: str, url: str, **options: Unpack[RequestOptions]) -> Outcome:
        if not self._site.contains(url):
            return await self._network.request(method, url, **options)
        path = self._site.file_for(url)
        if path is None:
            return _not_found(url)
        content_type = _served_type(path.name)
        body, truncated = b"", False
        if options.get("read_body", False) and method != "HEAD":
            body = read_capped(path, self._max_body)
            truncated = len(body) > self._max_body
            body = body[: self._max_body]
        return Response(url, 200, {"content-type": content_type}, body, truncated)

    def answer_now(self, url: str) -> Response | None:
        """The answer to ``url`` when it needs no request and has no body worth reading: a
        file of the folder that is not a page (its type, by its name, is neither HTML nor
        CSS), or no file at all. None for a page, or a URL not under the folder.

        The answer is the one :meth:`request` gives, without the body: the crawl records
        an image's or a missing file's result at once, with no task, slot or read spent
        on it (lychee checks a folder's files the same way, by looking them up)."""
        if not self._site.contains(url):
            return None
        relative = self._site.relative_file(url)
        if relative is None:
            return _not_found(url)
        content_type = _served_type(relative)
        if is_html(content_type, b"") or is_stylesheet(content_type):
            return None
        return Response(url, 200, {"content-type": content_type})


def _not_found(url: str) -> Response:
    return Response(url, FILE_NOT_FOUND, {"content-type": "text/plain"})


def _served_type(name: str) -> str:
    """The Content-Type a web server would send for the file, by its name; with no charset,
    so a page's <meta charset> or UTF-8 decide, as on disk. (mimetypes, looked up once per
    extension: it is the whole cost of answering an image.)"""
    suffix = _suffix(name)
    known = _TYPES.get(suffix)
    if known is None:
        known = mimetypes.guess_type(name)[0] or "application/octet-stream"
        lower = suffix.lower()
        if lower not in mimetypes.encodings_map and lower not in mimetypes.suffix_map:
            _TYPES[suffix] = known  # its type is its extension's (not so for .tar.gz)
    return known


_TYPES: dict[str, str] = {}


def read_capped(path: Path, limit: int) -> bytes:
    """At most ``limit`` + 1 bytes of the file (one more tells that it was cut).

    Asked for by the file's size, not by the cap: reading a small page with a buffer the
    size of the cap made every file read several times slower (see bench/README.md)."""
    with open(path, "rb", buffering=0) as handle:
        size = os.fstat(handle.fileno()).st_size
        body = handle.read(min(size, limit) + 1)
        if size < len(body) <= limit:  # it grew since: read on, up to the cap
            body += handle.read(limit + 1 - len(body))
        return body


def folder_argument_problem(arg: str) -> str | None:
    """Why a command-line argument meant as a folder cannot be one, or None.

    An argument is meant as a folder when it names something on disk or is written as a path
    (``./public``, ``/srv/site``, ``build/html``) rather than a URL; telling the user that
    ``./no-such-dir`` "is not an http URL" would send them looking in the wrong place."""
    if "://" in arg:
        return None
    path = Path(arg)
    if path.is_dir():
        return None
    if path.exists():
        return f"{arg}: not a folder (give the folder of the built site, or an http(s) URL)"
    if arg.startswith((".", "/", "~")) or "/" in arg or os.sep in arg:
        return f"{arg}: no such folder (a start URL starts with http:// or https://)"
    return None


def local_site(config: Config) -> LocalSite:
    local = config.local
    return LocalSite(
        root=Path(local.root).resolve(),
        base_url=local.base_url or STAND_IN_BASE,
        index_files=local.index_files,
        extensions=tuple(extension.lower() for extension in local.extensions),
        shown_root=local.root,
    )


def describe(site: LocalSite) -> str:
    """One line that says how the folder is read, so a wrong base_url is seen at once."""
    if site.base_url == STAND_IN_BASE:
        served = "the site root: '/' is the folder itself"
    else:
        served = f"{site.base_url} (links to it are checked against the files)"
    return (
        f"Checking folder {site.shown_root} ({site.root}) as {served}; index files: "
        f"{', '.join(site.index_files)}; pretty URLs try {', '.join(site.extensions)}"
    )


def as_files(run: RunResult, site: LocalSite) -> RunResult:
    """Name files where a live crawl names URLs, and list the folder's orphan files.

    The run's links are renamed where they are (their results replaced, their occurrences
    kept): the run is the crawl's last use of them, and a large site's links held twice,
    under both names, were most of a folder run's peak memory."""

    names: dict[str, str] = {}  # a file look-up once per URL, not once per occurrence

    def shown(url: str) -> str:
        name = names.get(url)
        if name is None:
            name = names[url] = _file_name(url)
        return name

    def _file_name(url: str) -> str:
        if not site.contains(url):
            return url
        base, hash_, fragment = url.partition("#")
        return site.shown_file(base) + hash_ + fragment

    problems = base_url_problems(run, site)  # read from the links' URLs, before renaming
    tables = current_tables()  # the run's: its links' occurrences are numbers in them
    renumbered = tables.rename_pages(shown)
    links: dict[str, Link] = {}
    for link in run.links.values():
        result = link.result
        if result is not None and link.internal and site.contains(link.url):
            message = result.message
            if result.status == FILE_NOT_FOUND and "#" not in link.url:
                # an address written without mailto: keeps its advice (see linkcheck.decide)
                message = site.missing_message(link.url) + bare_address_advice(link.url)
            link.result = result.renamed(shown, message)
        key = shown(link.url)
        occurrences = link.occurrences.bound_to(tables)
        if renumbered is not None:
            occurrences = occurrences.with_pages_renumbered(renumbered)
        if key in links:  # /about and /about/ are one file: one entry
            links[key].occurrences.extend(occurrences)
            continue
        link.url, link.occurrences = key, occurrences
        links[key] = link
    entry = site.relative_file(site.base_url)
    pages = {site.shown_relative(relative): relative for relative in site.page_files()}
    linked_from_elsewhere = {  # only a page's links are read back (not an image's, a file's)
        link.url
        for link in links.values()
        if link.url in pages and link.occurrences.on_pages_other_than(link.url)
    }
    orphans = [
        name
        for name, relative in pages.items()
        if name not in linked_from_elsewhere and relative != entry
    ]
    findings = [finding.renamed(shown) for finding in run.findings]
    return dataclasses.replace(
        run,
        start_urls=[shown(url) for url in run.start_urls],
        links=links,
        pages=[dataclasses.replace(page, url=shown(page.url)) for page in run.pages],
        root=site.shown_root,
        base_url="" if site.base_url == STAND_IN_BASE else site.base_url,
        orphans=orphans,
        findings=findings,
        setup_errors=problems,
    )


def base_url_problems(run: RunResult, site: LocalSite) -> list[str]:
    """Say so when most root-relative links miss, but would hit under another base path.

    The classic mistake (lychee #1265, #1896, #2000): the site is served under /docs/, the
    folder is the /docs/ folder, and base_url says https://example.com/. Then every
    ``/docs/page.html`` link looks for ``public/docs/page.html``; stripping the extra first
    segment finds ``public/page.html`` — and that is the fix to suggest.
    """
    outside = _outside_base_problem(run, site)
    if outside:
        return [outside]
    missing = [
        link.url
        for link in run.links.values()
        if link.internal
        and site.contains(link.url)
        and link.result is not None
        and link.result.status == FILE_NOT_FOUND
        and _written_root_relative(link)
    ]
    if len(missing) < 3:
        return []
    rooted = 0  # internal links written root-relative somewhere, counted while they may matter
    for link in run.links.values():
        if link.internal and _written_root_relative(link):
            rooted += 1
            if rooted > len(missing) * 2:
                return []  # most such links work: base_url is right
    segments: dict[str, int] = {}
    for url in missing:
        relative = url[len(site.base_url) :]
        first, _, rest = relative.partition("/")
        if rest and site.file_for(site.base_url + rest) is not None:
            segments[first] = segments.get(first, 0) + 1
    if not segments:
        return [
            f"{len(missing)} of {rooted} root-relative links point to files missing from "
            f"{site.shown_root}: is base_url ({site.base_url}) the address this folder is "
            "served at?"
        ]
    segment, hits = max(segments.items(), key=lambda item: item[1])
    if hits * 2 < len(missing):
        return []
    better = site.base_url + segment + "/"
    return [
        f"base_url {site.base_url} looks wrong: {hits} of {len(missing)} missing root-relative "
        f"links exist in {site.shown_root} once '{segment}/' is dropped; set "
        f'base_url = "{better}"'
    ]


def _written_root_relative(link: Link) -> bool:
    return any(href.startswith("/") for href in link.occurrences.hrefs())


def _outside_base_problem(run: RunResult, site: LocalSite) -> str:
    """Root-relative links that leave base_url's path but name files that are in the folder.

    With base_url https://example.com/docs/ and links written ``/page.html``, the files are
    there but the links point outside the folder's address: base_url has one segment too many.
    """
    origin_end = site.base_url.find("/", site.base_url.find("://") + 3) + 1
    origin = site.base_url[:origin_end]
    if origin == site.base_url:
        return ""
    at_origin = dataclasses.replace(site, base_url=origin)
    found = [
        link.url
        for link in run.links.values()
        if link.url.startswith(origin)
        and not site.contains(link.url)
        and _written_root_relative(link)
        and at_origin.file_for(link.url) is not None
    ]
    if len(found) < 3:
        return ""
    return (
        f"base_url {site.base_url} looks wrong: {len(found)} root-relative links leave it "
        f"(e.g. {found[0]}) but name files that are in {site.shown_root}; set "
        f'base_url = "{origin}"'
    )
