"""The baseline file: known link problems accepted for now, each with a reason and an expiry.

``linkcheck-baseline.toml`` lets a team adopt linkcheck on a site with old dead links, or wait
for a carrier to fix its pages, without a red CI job every night and without hiding new
problems::

    [[accepted]]
    url = "https://www.fedex.com/old-page"
    reason = "FedEx is moving its help pages; recheck in January"
    expires = 2027-01-31      # optional TOML date; accepted up to and including that day

An expired entry accepts nothing, so an acceptance cannot be forgotten for ever. The file is
read strictly (a typo must not silently accept nothing) and written with ``tomli-w``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import tomli_w

from linkcheck.config import DEFAULT_FAIL_ON, ConfigError, closest
from linkcheck.models import RunResult, Verdict
from linkcheck.report import write_atomic
from linkcheck.urls import InvalidURL, normalize_url

ENTRY_KEYS = ("url", "reason", "expires")
TOP_LEVEL_KEYS = ("accepted",)

_HEADER = """\
# linkcheck baseline: known link problems accepted for now.
# Each [[accepted]] entry has a url, a reason and an optional expires date (2027-01-31);
# an expired entry accepts nothing. `linkcheck baseline update` rewrites this file sorted by
# url and does not keep comments.

"""


@dataclass(frozen=True, slots=True)
class Accepted:
    """One accepted problem: this URL may fail, for this reason, until ``expires`` (inclusive)."""

    url: str
    reason: str
    expires: date | None = None

    def expired(self, today: date) -> bool:
        return self.expires is not None and today > self.expires


class Baseline:
    """The entries of one baseline file, looked up by URL (as written or normalised)."""

    def __init__(self, entries: Iterable[Accepted] = (), path: Path | None = None) -> None:
        self.path = path
        self.entries = tuple(entries)
        self._by_url: dict[str, Accepted] = {}
        for entry in self.entries:
            self._by_url.setdefault(entry.url, entry)
            self._by_url.setdefault(_normalized(entry.url), entry)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Accepted]:
        return iter(self.entries)

    def find(self, url: str) -> Accepted | None:
        """The entry for ``url``, expired or not."""
        return self._by_url.get(url) or self._by_url.get(_normalized(url))

    def accepts(self, url: str, today: date) -> Accepted | None:
        """The entry that accepts ``url`` today, or None (no entry, or it has expired)."""
        entry = self.find(url)
        return entry if entry is not None and not entry.expired(today) else None

    def expired(self, today: date) -> list[Accepted]:
        """Entries past their date: each needs a decision (fix the link, or extend)."""
        return [entry for entry in self.entries if entry.expired(today)]


def load_baseline(path: str | Path) -> Baseline:
    """Read a baseline file; a missing file is an empty baseline.

    Anything malformed raises :class:`ConfigError` with one line naming the file and the
    entry: a silently ignored entry would make the baseline accept less than the team thinks.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Baseline(path=file)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ConfigError(f"{file}: cannot be read: {reason}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    _reject_unknown(document, TOP_LEVEL_KEYS, f"{file}")
    raw = document.get("accepted", [])
    if not isinstance(raw, list):
        raise ConfigError(f"{file}: 'accepted' must be a list of [[accepted]] tables")
    entries = [_entry(item, file, number) for number, item in enumerate(raw, start=1)]
    seen: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        key = _normalized(entry.url)
        if key in seen:
            raise ConfigError(
                f"{file}: [[accepted]] #{number} ({entry.url}): this URL is already accepted "
                f"by entry #{seen[key]}"
            )
        seen[key] = number
    return Baseline(entries, path=file)


def update_baseline(
    path: str | Path,
    run: RunResult,
    *,
    reason: str,
    failing: Iterable[str] = DEFAULT_FAIL_ON,
) -> tuple[int, int]:
    """Accept the run's current problems in the baseline file; returns (added, kept).

    Problems already listed keep their reason and expiry; new ones get ``reason`` and no
    expiry. An entry is dropped only when this run proves its link works again (ok or
    redirected): an accepted problem that came back must not be accepted silently. Entries
    the run says nothing about (not linked, not checked, an interrupted run) are kept.
    The file is replaced atomically; a malformed file raises ConfigError and is left alone.
    """
    reason = reason.strip()
    if not reason:
        raise ValueError("a baseline entry needs a reason")
    failing_verdicts = {Verdict(name) for name in failing}
    file = Path(path)
    baseline = load_baseline(file)
    entries: dict[str, Accepted] = {}  # by normalised URL
    kept = added = 0
    for entry in baseline:
        link = run.links.get(entry.url) or run.links.get(_normalized(entry.url))
        # a working link (Verdict.works) proves the accepted problem is gone: drop its entry
        if link is not None and link.result is not None and link.result.verdict.works:
            continue
        entries[_normalized(entry.url)] = entry
        kept += 1
    for url, link in run.links.items():
        if link.result is None or link.result.verdict not in failing_verdicts:
            continue
        if _normalized(url) not in entries:
            entries[_normalized(url)] = Accepted(url, reason)
            added += 1
    write_atomic(file, _render(sorted(entries.values(), key=_sort_key)))
    return added, kept


def _render(entries: list[Accepted]) -> Iterator[str]:
    """The file: one ``[[accepted]]`` block per entry, every value written by tomli-w.

    ``tomli_w.dumps({"accepted": [...]})`` would pick an inline array of inline tables when
    the entries are short, which is awkward to edit by hand (adding an ``expires``); so each
    entry's keys are dumped as a table of their own under a fixed ``[[accepted]]`` header.
    """
    yield _HEADER
    for number, entry in enumerate(entries):
        yield ("\n" if number else "") + "[[accepted]]\n" + tomli_w.dumps(_as_table(entry))


def _entry(item: Any, file: Path, number: int) -> Accepted:
    where = f"{file}: [[accepted]] #{number}"
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: must be a table with url and reason")
    url = item.get("url")
    if isinstance(url, str) and url.strip():
        where = f"{where} ({url.strip()})"
    _reject_unknown(item, ENTRY_KEYS, where)
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"{where}: missing 'url' (the link's address, as in the report)")
    reason = item.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ConfigError(f"{where}: missing 'reason' (why this problem is accepted for now)")
    expires = item.get("expires")
    # tomllib reads 2027-01-31 as a date and 2027-01-31T00:00:00 as a datetime (a subclass).
    if expires is not None and (isinstance(expires, datetime) or not isinstance(expires, date)):
        raise ConfigError(
            f"{where}: expires must be a TOML date such as 2027-01-31 (no quotes, no time), "
            f"got {expires!r}"
        )
    return Accepted(url.strip(), reason.strip(), expires)


def _reject_unknown(table: dict[str, Any], valid: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in valid:
            close = closest(key, valid)
            hint = f"did you mean '{close}'?" if close else f"valid: {', '.join(valid)}"
            raise ConfigError(f"{where}: unknown key '{key}' ({hint})")


def _as_table(entry: Accepted) -> dict[str, Any]:
    table: dict[str, Any] = {"url": entry.url, "reason": entry.reason}
    if entry.expires is not None:
        table["expires"] = entry.expires
    return table


def _sort_key(entry: Accepted) -> str:
    return entry.url


def _normalized(url: str) -> str:
    """The URL as reports write it, so `https://Example.com` matches `https://example.com/`."""
    try:
        return normalize_url(url)
    except InvalidURL:  # e.g. an invalid-url problem: matched as written
        return url
