"""mailto: and tel: links read by their RFCs: why one is malformed, in words an editor can act on.

Pure syntax: nothing is sent, dialled or looked up (an MX query would probe someone's mail
server). Each function returns "" for a well-formed link, else the reason, citing the rule.
mailto: is RFC 6068; its addresses are RFC 5321/5322 ``addr-spec``, internationalised by
RFC 6531/6532 (UTF-8 local parts, IDN domains). tel: is RFC 3966, numbers as E.164 counts them.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote_to_bytes

from yarl import URL

# RFC 5322 §3.2.3 atext; RFC 6532 §3.2 adds every non-ASCII character (UTF8-non-ascii)
_ATEXT = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"
)
MAX_LOCAL_PART = 64  # octets, RFC 5321 §4.5.3.1.1
MAX_DOMAIN = 255  # octets, RFC 5321 §4.5.3.1.2
MAX_LABEL = 63  # octets, RFC 1035 §2.3.4
# the hfields whose values are addresses (RFC 6068 §2: "to", and the address header fields)
_ADDRESS_FIELDS = frozenset({"to", "cc", "bcc"})
_LDH_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\Z")  # RFC 5321 §4.1.2 Let-dig [Ldh-str]

MAX_E164_DIGITS = 15  # ITU-T E.164 §6.1: country code and national number together
MIN_DIGITS = 3  # no dialable number is shorter (emergency numbers: 110, 911, 112)
# RFC 3966 §3 visual-separator, plus the space ITU-T E.123 §2.5 writes between digit groups
_SEPARATORS = frozenset("-.() ")
_LOCAL_DIGITS = frozenset("0123456789abcdefABCDEF*#")  # RFC 3966 local-number-digits: HEXDIG, * #
_PNAME = re.compile(r"[A-Za-z0-9-]+\Z")  # RFC 3966 §3 pname
_DOMAINNAME = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.?\Z"
)  # RFC 3966 §3 domainname: the top label starts with a letter
_BARE_ADDRESS = re.compile(r"[^/@\s:]+@[^/@\s]+\.[^/@\s]+\Z")


def _decoded(text: str) -> str | None:
    """Percent-decoded as UTF-8 (RFC 6068 §2, RFC 3986 §2.1), or None when it is not UTF-8."""
    if "%" not in text:
        return text
    try:
        return unquote_to_bytes(text).decode("utf-8")
    except UnicodeDecodeError:
        return None


def check_mailto(url: str) -> str:
    """Why a mailto: URL is malformed (RFC 6068), or "" when every address in it is well formed.

    ``mailto:?subject=…`` names no address and is valid: a share link, the reader picks the
    recipient (RFC 6068 §2: ``to`` is optional). ``mailto:`` with nothing at all is an empty
    e-mail: a template whose variables were left empty, reported.
    """
    target, _, query = url.partition(":")[2].partition("?")
    lists = [target] if target else []  # RFC 6068 §2: to = addr-spec *("," addr-spec)
    for hfield in query.split("&") if query else ():
        name, _, value = hfield.partition("=")
        if (_decoded(name) or "").lower() in _ADDRESS_FIELDS and value:
            lists.append(value)
    if not lists:
        if query:
            return ""
        return "it names no address (and no subject or body: the link opens an empty e-mail)"
    for written in lists:
        decoded = _decoded(written)
        if decoded is None:
            return f"{written!r} is percent-encoded, but not as UTF-8 (RFC 6068 §2)"
        for address in decoded.split(","):
            address = address.strip()  # spaces around a comma are a slip readers forgive
            problem = check_address(address)
            if problem:
                return f"{address!r} is not an e-mail address: {problem}"
    return ""


def check_address(address: str) -> str:
    """Why ``address`` is not an RFC 5321/5322 addr-spec (RFC 6531 for UTF-8), or ""."""
    if not address:
        return "it is empty"
    if address.startswith('"'):
        local, end = _quoted_local(address)
        if end < 0:
            return "its quoted local part is not closed (RFC 5322 §3.2.4)"
        if address[end : end + 1] != "@":
            return "it has no @ after the quoted local part"
        domain = address[end + 1 :]
    else:
        if ";" in address and address.count("@") != 1:
            return "addresses are separated by commas, not semicolons (RFC 6068 §2)"
        if "@" not in address:
            return "it has no @ (write name@example.com)"
        local, _, domain = address.rpartition("@")
        problem = _dot_atom_problem(local)
        if problem:
            return problem
    if len(local.encode("utf-8")) > MAX_LOCAL_PART:
        return f"the part before @ is over {MAX_LOCAL_PART} octets (RFC 5321 §4.5.3.1.1)"
    return _domain_problem(domain)


def _quoted_local(address: str) -> tuple[str, int]:
    """The quoted-string local part (RFC 5322 §3.2.4) and where it ends, or (…, -1)."""
    position = 1
    while position < len(address):
        char = address[position]
        if char == "\\":
            position += 2  # quoted-pair
            continue
        if char == '"':
            return address[: position + 1], position + 1
        position += 1
    return address, -1


def _dot_atom_problem(local: str) -> str:
    """RFC 5322 §3.2.3 dot-atom-text: atoms of atext joined by single dots."""
    if not local:
        return "there is nothing before the @"
    if local.startswith("."):
        return "the part before @ starts with a dot (RFC 5322 §3.2.3)"
    if local.endswith("."):
        return "the part before @ ends with a dot (RFC 5322 §3.2.3)"
    if ".." in local:
        return "the part before @ has two dots in a row (RFC 5322 §3.2.3)"
    for char in local:
        if char not in _ATEXT and char != "." and char < "\x80":
            if char == "@":
                return "it has more than one @"
            return f"the part before @ has {char!r}, which needs quoting (RFC 5322 §3.2.3)"
    return ""


def _domain_problem(domain: str) -> str:
    """The domain after @: a fully qualified host name (RFC 5321 §2.3.5) or an address literal."""
    if not domain:
        return "there is nothing after the @"
    if domain.startswith("["):  # RFC 5321 §4.1.3 address literal: [192.0.2.1], [IPv6:…]
        literal = domain[1:-1] if domain.endswith("]") else None
        try:
            if literal is None:
                raise ValueError
            if literal[:5].lower() == "ipv6:":
                ipaddress.IPv6Address(literal[5:])
            else:
                ipaddress.IPv4Address(literal)
        except ValueError:
            return f"[{literal or domain[1:]}] is not an IP address literal (RFC 5321 §4.1.3)"
        return ""
    labels = domain.rstrip(".").split(".") if domain != "." else [""]
    if "" in labels:
        return "its domain has an empty label (two dots in a row, or a leading dot)"
    if len(labels) < 2:
        # RFC 5321 §2.3.5: only fully qualified domain names; a dotless one is a local alias
        return f"{domain!r} is not a fully qualified domain name (RFC 5321 §2.3.5)"
    if labels[-1].isdigit():
        return f"its top-level domain {labels[-1]!r} is all digits (RFC 3696 §2)"
    try:
        ascii_domain = (
            domain if domain.isascii() else URL.build(scheme="http", host=domain).raw_host
        )
    except (ValueError, UnicodeError):
        return f"{domain!r} is not a valid internationalised domain name (RFC 5890)"
    ascii_domain = (ascii_domain or "").lower().rstrip(".")
    if len(ascii_domain) > MAX_DOMAIN:
        return f"its domain is over {MAX_DOMAIN} octets (RFC 5321 §4.5.3.1.2)"
    for label in ascii_domain.split("."):
        if len(label) > MAX_LABEL:
            return f"its domain has a label over {MAX_LABEL} octets (RFC 1035 §2.3.4)"
        if not _LDH_LABEL.match(label):
            return (
                f"its domain label {label!r} is not letters, digits and inner hyphens "
                "(RFC 5321 §4.1.2)"
            )
    return ""


def check_tel(url: str) -> str:
    """Why a tel: URL is malformed (RFC 3966), or "" when it names a dialable number.

    A global number is ``+`` and at most 15 digits (E.164) with visual separators; a local
    number needs ``;phone-context=`` to say where it is dialled from (RFC 3966 §5.1.5).
    """
    decoded = _decoded(url.partition(":")[2])
    if decoded is None:
        return "it is percent-encoded, but not as UTF-8"
    number, *parameters = decoded.strip().split(";")
    if not number:
        return "it names no number"
    names: list[str] = []
    for parameter in parameters:
        name, equals, value = parameter.partition("=")
        name = name.lower()
        problem = _tel_parameter_problem(name, equals, value)
        if problem:
            return problem
        names.append(name)
    is_global = number.startswith("+")
    digits = number[1:] if is_global else number
    allowed = "0123456789" if is_global else _LOCAL_DIGITS
    count = 0
    for char in digits:
        if char in allowed:
            count += 1
        elif char not in _SEPARATORS:
            if char.isalpha():
                return f"{number!r} has the letter {char!r}: letters are not digits (RFC 3966 §3)"
            return f"{number!r} has {char!r}: not a digit, nor a separator (RFC 3966 §3)"
    if count < MIN_DIGITS:
        return f"{number!r} has {count} digits: too few to dial"
    if is_global and count > MAX_E164_DIGITS:
        return (
            f"{number!r} has {count} digits; an international number has at most "
            f"{MAX_E164_DIGITS} (E.164 §6.1)"
        )
    if not is_global and "phone-context" not in names:
        return (
            f"{number!r} is a local number without ;phone-context= (RFC 3966 §5.1.5): write it "
            "in international form, +<country code><number>, so that it dials from anywhere"
        )
    return ""


def _tel_parameter_problem(name: str, equals: str, value: str) -> str:
    """One ``;name=value`` of a tel: URL (RFC 3966 §3 par)."""
    if not _PNAME.match(name):
        return f"the parameter {name!r} is not a parameter name (RFC 3966 §3)"
    if name == "ext":
        if not value or any(c not in "0123456789" and c not in _SEPARATORS for c in value):
            return f"the extension {value!r} is not digits (RFC 3966 §5.1.4)"
    elif name == "isub":
        if not value:
            return "the ISDN subaddress is empty (RFC 3966 §5.1.3)"
    elif name == "phone-context":
        if value.startswith("+"):
            if not any(c.isdigit() for c in value) or any(
                c not in "0123456789" and c not in _SEPARATORS for c in value[1:]
            ):
                return f"the phone-context {value!r} is not + and digits (RFC 3966 §5.1.5)"
        elif not _DOMAINNAME.match(value):
            return (
                f"the phone-context {value!r} is neither +digits nor a domain name "
                "(RFC 3966 §5.1.5)"
            )
    elif equals and not value:
        return f"the parameter {name!r} has '=' but no value (RFC 3966 §3)"
    return ""


def bare_address(url: str) -> str:
    """The e-mail address a failing http(s) URL ends in, when its last path segment is one:
    ``href="name@example.com"`` was written without ``mailto:`` and resolved as a file."""
    if "@" not in url and "%40" not in url:
        return ""
    segment = url.split("?", 1)[0].split("#", 1)[0].rpartition("/")[2]
    address = _decoded(segment)
    if not address or not _BARE_ADDRESS.match(address) or check_address(address):
        return ""
    return address


def bare_address_advice(url: str) -> str:
    """Advice appended to a failing link's message when it is an address without mailto:."""
    address = bare_address(url)
    if not address:
        return ""
    return (
        f"; {address!r} looks like an e-mail address written without mailto: "
        f'(add mailto: — href="mailto:{address}")'
    )
