"""Plain-language explanations and advice for each outcome, written for content editors."""

from __future__ import annotations

from linkcheck.models import CheckResult, ErrorKind, RedirectKind, Verdict

_STATUS_TEXT = {
    400: "The server rejected the request as malformed (400).",
    401: "The page needs a login (401).",
    403: "The server refuses to show this page (403).",
    404: "The page no longer exists (404).",
    405: "The server does not allow this kind of request (405).",
    410: "The page was removed for good (410).",
    429: "The site is rate-limiting automated checks (429).",
    500: "The server had an internal error (500).",
    502: "The server's gateway failed (502).",
    503: "The server is unavailable right now (503).",
    504: "The server's gateway timed out (504).",
}

_ERROR_TEXT = {
    ErrorKind.DNS: "The site's name does not exist (DNS lookup failed).",
    ErrorKind.CONNECT: "The server could not be reached.",
    ErrorKind.TLS: "The site's secure connection (HTTPS certificate) is broken.",
    ErrorKind.TIMEOUT: "The server did not answer in time.",
    ErrorKind.PROTOCOL: "The server sent a broken answer.",
    ErrorKind.TOO_MANY_REDIRECTS: "The link sends readers through too many redirects.",
    ErrorKind.REDIRECT_LOOP: "The link redirects in a circle and never arrives.",
    ErrorKind.INVALID_URL: "The link is not a valid web address.",
    ErrorKind.UNSUPPORTED_SCHEME: "This kind of link cannot be checked.",
}


def explain(result: CheckResult) -> str:
    """What happened, in one sentence an editor understands."""
    if result.verdict is Verdict.BROKEN and result.status is not None:
        return _STATUS_TEXT.get(
            result.status,
            f"The server answered with an error ({result.status}).",
        )
    if result.verdict is Verdict.ERROR and result.error is not None:
        message = result.message.rstrip(".")
        detail = f" ({message[:1].upper()}{message[1:]}.)" if message else ""
        return _ERROR_TEXT[result.error] + detail
    if result.verdict is Verdict.REDIRECTED:
        if result.redirect_kind is RedirectKind.PERMANENT:
            return "The page has moved permanently."
        return "The link redirects elsewhere for now (temporary redirect)."
    if result.verdict is Verdict.OK:
        return "Works."
    return result.message or result.verdict.value


def advise(result: CheckResult) -> str:
    """What the editor should do about it."""
    if result.verdict is Verdict.BROKEN:
        if result.status in (404, 410):
            return "Remove the link, or point it to the page's new address."
        if result.status in (401, 403):
            return "Check the link by hand in a browser; if readers cannot open it, remove it."
        if result.status is not None and result.status >= 500:
            return (
                "The fault is on that server; check again later, remove the link if it stays down."
            )
        return "Open the link in a browser; fix or remove it."
    if result.verdict is Verdict.ERROR:
        if result.error in (ErrorKind.DNS, ErrorKind.INVALID_URL):
            return "Check the address for typos; the site may have closed."
        if result.error in (ErrorKind.CONNECT, ErrorKind.TIMEOUT, ErrorKind.PROTOCOL):
            return (
                "The site may be down; check again later, remove the link if it stays unreachable."
            )
        return "Open the link in a browser; fix or remove it."
    if result.verdict is Verdict.REDIRECTED:
        if result.redirect_kind is RedirectKind.PERMANENT:
            return "Replace the link with its new address."
        return "Usually fine to keep; replace it if the new address is the lasting one."
    return ""
