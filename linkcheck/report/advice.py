"""Plain-language explanations and advice for each outcome, written for content editors.

An editor reading the report knows their pages, not HTTP. So each outcome gets a short label
to scan ("Not found (404)"), one sentence on what happened, and one on what to do — in the
spirit of W3C checklink's per-status advice, but worded for people who edit content. Status
codes stay visible in the label so a developer can still see the technical fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeGuard
from urllib.parse import urlsplit

from linkcheck.models import CheckResult, ErrorKind, RedirectKind, Verdict


@dataclass(frozen=True, slots=True)
class Advice:
    """What the report says about one check result."""

    label: str  # a few words to scan, with the status code or error kind
    what: str  # one sentence: what happened
    todo: str  # one sentence or two: what the editor should do
    detail: str = ""  # the checker's technical detail (error message), or ""


@dataclass(frozen=True, slots=True)
class Limits:
    """The run's settings that some sentences quote, so "in time" becomes "within 20 s"."""

    timeout: float | None = None
    max_redirects: int | None = None

    @classmethod
    def from_summary(cls, summary: dict[str, object]) -> Limits:
        """Read them from ``RunResult.config_summary`` (absent or odd values are ignored)."""
        http = summary.get("http")
        if not isinstance(http, dict):
            return cls()
        timeout = http.get("timeout")
        redirects = http.get("max_redirects")
        return cls(
            timeout=float(timeout) if _is_number(timeout) and timeout > 0 else None,
            max_redirects=int(redirects) if _is_number(redirects) else None,
        )


def _is_number(value: object) -> TypeGuard[int | float]:
    """True for real numbers; bool is an int to Python but never a setting's number here."""
    return isinstance(value, int | float) and not isinstance(value, bool)


# Status -> (label, what happened). The label names the code; the sentence says it in words.
_STATUS: dict[int, tuple[str, str]] = {
    400: ("Rejected (400)", "The server rejected the request as malformed."),
    401: ("Login required (401)", "The page is behind a login."),
    402: ("Payment required (402)", "The page is behind a paywall."),
    403: ("Forbidden (403)", "The server refuses to show this page."),
    404: ("Not found (404)", "There is no page at this address."),
    405: ("Not allowed (405)", "The server does not accept this kind of request."),
    406: ("Refused (406)", "The server would not send the page in any format offered."),
    408: ("Request timeout (408)", "The server gave up waiting for the request."),
    410: ("Gone (410)", "The site says this page was removed on purpose, for good."),
    429: ("Rate limited (429)", "The site is limiting how fast it may be asked for pages."),
    451: ("Unavailable for legal reasons (451)", "The page is blocked for legal reasons."),
    500: ("Server error (500)", "The server failed while building the page."),
    501: ("Not implemented (501)", "The server cannot handle this kind of request."),
    502: ("Bad gateway (502)", "A server in front of the site got no good answer from it."),
    503: ("Unavailable (503)", "The server is down or overloaded right now."),
    504: ("Gateway timeout (504)", "A server in front of the site waited for it in vain."),
}

_ERROR_LABEL: dict[ErrorKind, str] = {
    ErrorKind.DNS: "No such site (DNS)",
    ErrorKind.CONNECT: "Unreachable",
    ErrorKind.TLS: "Insecure connection (TLS)",
    ErrorKind.TIMEOUT: "Timed out",
    ErrorKind.PROTOCOL: "Broken answer",
    ErrorKind.TOO_MANY_REDIRECTS: "Too many redirects",
    ErrorKind.REDIRECT_LOOP: "Redirect loop",
    ErrorKind.INVALID_URL: "Invalid address",
    ErrorKind.UNSUPPORTED_SCHEME: "Cannot be checked",
}

_RECHECK_LATER = "Check again later; if it stays that way for days, remove the link."
_TRY_BROWSER = (
    "Open the link in a browser. If it works there, the site turns away automated checkers "
    "and the link is fine; if not, fix or remove it."
)


def advice_for(result: CheckResult, limits: Limits | None = None) -> Advice:
    """Label, explanation and advice for one result; ``limits`` makes the sentences exact."""
    limits = limits or Limits()
    if result.verdict is Verdict.BROKEN:
        return _broken(result)
    if result.verdict is Verdict.ERROR:
        return _error(result, limits)
    if result.verdict is Verdict.REDIRECTED:
        if result.redirect_kind is RedirectKind.PERMANENT:
            return Advice(
                "Moved permanently",
                "The page has moved for good to a new address.",
                "Replace the link with the new address.",
            )
        return Advice(
            "Temporary redirect",
            "The link works, but the site sends readers elsewhere for now.",
            "Usually nothing to do. Update it only if the new address is clearly the lasting one.",
        )
    if result.verdict is Verdict.BLOCKED:
        return Advice(
            f"Blocked{_code(result.status)}",
            "The site's bot protection answered instead of the page, so whether the link "
            "works could not be seen.",
            "Open it in a browser. If the page shows, nothing to do: the site only turns "
            "away automated checkers.",
        )
    if result.verdict is Verdict.RATE_LIMITED:
        return Advice(
            f"Rate limited{_code(result.status)}",
            "The site asked the checker to slow down, so the link could not be checked.",
            "The link probably works: open it in a browser to be sure.",
            _detail(result.message),
        )
    if result.verdict is Verdict.OK:
        return Advice("Works", "The link works.", "")
    if result.verdict is Verdict.SKIPPED:
        return Advice(
            "Not checked",
            result.message or "This kind of link is not checked.",
            "Nothing to do, or check it by hand.",
        )
    if result.verdict is Verdict.EXCLUDED:
        return Advice(
            "Excluded",
            result.message or "Left out by the settings of this run.",
            "Nothing to do.",
        )
    return Advice(result.verdict.value.capitalize(), result.message or result.verdict.value, "")


SOFT_404 = "soft 404: "
MISSING_FILE = "no such file: "


def _broken(result: CheckResult) -> Advice:
    status = result.status
    if result.message.startswith(SOFT_404):  # answered 200, but it is a "not found" page
        reason = result.message.removeprefix(SOFT_404)
        return Advice(
            "Not found (soft 404)",
            f"The address answers, but with a “not found” page: {reason}.",
            "Update the link to the page's new address, or remove it if the page is gone.",
        )
    if "#" in result.url and status is None and result.message:  # a missing #section
        return Advice(
            "Missing section",
            _detail(result.message),
            "Point the link at a section that exists (the target heading's id), or drop the "
            "#part so it opens the page at the top.",
        )
    if result.message.startswith(MISSING_FILE):  # a built folder: the file is not there
        return Advice(
            "Missing file",
            "The file does not exist in the built site.",
            "Fix the link, or add the missing page before the release.",
            _detail(result.message),
        )
    if status is None:
        return Advice("Broken", "The server answered with an error.", _TRY_BROWSER)
    label, what = _STATUS.get(status, _status_fallback(status))
    if status == 404:
        todo = (
            "Update the link to the page's new address (search that site for its title), "
            "or remove it if the page is gone."
        )
    elif status == 410:
        todo = "Remove the link, or link to another page that covers the same thing."
    elif status == 401:
        todo = "Fine if your readers have accounts there; otherwise link to a public page instead."
    elif status == 429:
        todo = (
            "The link probably works: open it in a browser to be sure. If this keeps happening, "
            "ask whoever runs the link check to check that site more slowly."
        )
    elif status >= 500:
        todo = "The fault is on that server, not on your page. " + _RECHECK_LATER
    else:  # 400, 403, 405, other 4xx: often a server that dislikes automated requests
        todo = _TRY_BROWSER
    return Advice(label, what, todo)


def _status_fallback(status: int) -> tuple[str, str]:
    if 500 <= status < 600:
        return f"Server error ({status})", "The server had a problem answering."
    if 400 <= status < 500:
        return f"Client error ({status})", "The server refused the request."
    return f"Unusual answer ({status})", "The server answered with a status that is not a page."


def _error(result: CheckResult, limits: Limits) -> Advice:
    kind = result.error
    detail = _detail(result.message)
    host = urlsplit(result.url).hostname or "the site"
    if kind is None:
        return Advice("No answer", "No usable answer came back.", _TRY_BROWSER, detail)
    label = _ERROR_LABEL.get(kind, "No answer")
    if kind is ErrorKind.PRIVATE_ADDRESS:
        label = "Private address"
        what = (
            "The link points into a private network (an intranet or this computer), which "
            "the checker may not enter."
        )
        todo = (
            "Readers outside that network cannot open it: link to a public address. If it is "
            "meant for an intranet, ask whoever runs the link check to allow it."
        )
    elif kind is ErrorKind.DNS:
        what = f"The site's name, {host}, does not exist (any more)."
        todo = (
            "Check the address for typos. If it is right, the site has probably closed: "
            "remove the link, or link to an archived copy."
        )
    elif kind is ErrorKind.CONNECT:
        what = "Nothing answered at this address: the server refused or could not be reached."
        todo = "The site may be down or gone. " + _RECHECK_LATER
    elif kind is ErrorKind.TLS:
        what = (
            "The site's secure connection failed: its HTTPS certificate is invalid, expired "
            "or for another name."
        )
        todo = (
            "Readers will see a security warning. Replace the link unless the site fixes its "
            "certificate soon."
        )
    elif kind is ErrorKind.TIMEOUT:
        within = f"within {_seconds(limits.timeout)}" if limits.timeout else "in time"
        what = f"The server did not answer {within}."
        todo = "The site may be overloaded or down. " + _RECHECK_LATER
    elif kind is ErrorKind.PROTOCOL:
        what = "The server broke off the connection or sent a garbled answer."
        todo = _RECHECK_LATER
    elif kind is ErrorKind.TOO_MANY_REDIRECTS:
        many = (
            f"more than {limits.max_redirects} redirects"
            if limits.max_redirects is not None
            else "too many redirects"
        )
        what = f"The link sends readers through {many} without arriving."
        todo = (
            "Open it in a browser; if it ends up on a page, link to that page directly, "
            "otherwise remove the link."
        )
    elif kind is ErrorKind.REDIRECT_LOOP:
        what = "The link redirects in a circle and never reaches a page."
        todo = (
            "Try it in a browser: pages behind a login sometimes loop only for checkers. If it "
            "loops there too, remove the link or tell the site's owners."
        )
    elif kind is ErrorKind.INVALID_URL:
        what = "The link is not a valid web address."
        todo = (
            "Fix the href: look for spaces, a missing or doubled slash, a stray character or "
            "a wrong host name."
        )
    elif kind is ErrorKind.UNSUPPORTED_SCHEME:
        what = "linkcheck cannot check this kind of link."
        todo = "Check it by hand."
    else:
        what = "No usable answer came back."
        todo = _TRY_BROWSER
    return Advice(label, what, todo, detail)


def _detail(message: str) -> str:
    message = message.strip().rstrip(".")
    return f"{message[:1].upper()}{message[1:]}." if message else ""


def _code(status: int | None) -> str:
    return f" ({status})" if status else ""


def _seconds(value: float) -> str:
    return f"{value:g} s"


def explain(result: CheckResult, limits: Limits | None = None) -> str:
    """What happened, in one sentence an editor understands (with the technical detail)."""
    advice = advice_for(result, limits)
    if (
        result.verdict is Verdict.BROKEN
        and result.status is not None
        and not result.message.startswith((SOFT_404, MISSING_FILE))
    ):
        return f"{advice.what.rstrip('.')} ({result.status})."
    return f"{advice.what} ({advice.detail})" if advice.detail else advice.what


def advise(result: CheckResult, limits: Limits | None = None) -> str:
    """What the editor should do about it."""
    return advice_for(result, limits).todo
