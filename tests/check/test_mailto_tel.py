"""mailto: and tel: syntax by their RFCs: one row per rule, each citing where the rule is."""

from __future__ import annotations

import pytest
from yarl import URL

from linkcheck.contact import bare_address, check_address, check_mailto, check_tel
from linkcheck.decide import unfetchable
from linkcheck.models import ErrorKind, Verdict
from linkcheck.urls import resolve

LONG_LABEL = "a" * 64  # one octet over RFC 1035's 63
LONG_DOMAIN = ".".join(["a" * 63] * 4) + ".example"  # 263 octets: over RFC 5321's 255

# (mailto URL, "" when well formed or a piece of the reason)
MAILTO = [
    # RFC 6068 §2: to = addr-spec *("," addr-spec); hfields after "?"
    ("mailto:support@akiba-hobby.example", ""),
    ("MAILTO:Support@Example.COM", ""),  # RFC 3986 §3.1: the scheme is case-insensitive
    ("mailto:a@x.example,b@y.example", ""),
    ("mailto:a@x.example, b@y.example", ""),  # a space after the comma, forgiven
    ("mailto:a@x.example%2Cb@y.example", ""),  # RFC 6068 §2: the comma may be escaped
    ("mailto:a@x.example?subject=Hello%20there&body=Hi", ""),
    ("mailto:?subject=Look%20at%20this&body=https%3A%2F%2Fexample.com%2F", ""),  # share link
    ("mailto:?to=a@x.example", ""),  # RFC 6068 §2: the address in a "to" hfield
    ("mailto:?to=a@x.example&cc=b@y.example&bcc=c@z.example", ""),
    ("mailto:?cc=nobody", "'nobody' is not an e-mail address"),  # cc holds addresses too
    ("mailto:a@x.example?cc=b@@y.example", "more than one @"),
    ("mailto:", "names no address"),  # nothing at all: an empty e-mail, a template slip
    ("mailto:?", "names no address"),
    # RFC 5322 §3.2.3 dot-atom-text: atext joined by single dots
    ("mailto:first.last@example.com", ""),
    ("mailto:user+tag@example.com", ""),
    ("mailto:o'brien@example.ie", ""),
    ("mailto:%21%23%24%26%2A%3D%3F%5E%7B%7C%7D~@example.com", ""),  # atext, escaped
    ("mailto:.user@example.com", "starts with a dot"),
    ("mailto:user.@example.com", "ends with a dot"),
    ("mailto:us..er@example.com", "two dots in a row"),
    ("mailto:us%20er@example.com", "needs quoting"),  # a space is not atext
    ("mailto:a(b)@example.com", "needs quoting"),  # nor a parenthesis
    ("mailto:a%3Bb@example.com", "needs quoting"),
    # RFC 5322 §3.2.4 quoted-string local part
    ("mailto:%22john%20doe%22@example.com", ""),
    ("mailto:%22a..b%22@example.com", ""),  # dots are free inside quotes
    ("mailto:%22a%5C%22b%22@example.com", ""),  # a quoted-pair
    ("mailto:%22unclosed@example.com", "not closed"),
    # RFC 5321 §4.5.3.1.1: a local part of at most 64 octets
    ("mailto:" + "a" * 64 + "@example.com", ""),
    ("mailto:" + "a" * 65 + "@example.com", "over 64 octets"),
    ("mailto:" + "é" * 33 + "@example.com", "over 64 octets"),  # 66 octets in UTF-8
    # RFC 6531/6532: UTF-8 local parts and IDN domains are addresses
    ("mailto:%E7%94%A8%E6%88%B7@%E4%BE%8B%E5%AD%90.%E5%B9%BF%E5%91%8A", ""),  # 用户@例子.广告
    ("mailto:用户@例子.广告", ""),
    ("mailto:josé@bücher.example", ""),
    ("mailto:info@xn--bcher-kva.example", ""),
    ("mailto:a@b%FF.example", "not as UTF-8"),  # RFC 6068 §2: escapes are UTF-8 octets
    # the domain: RFC 5321 §4.1.2 sub-domain, RFC 1035 §2.3.4 lengths, RFC 3696 §2 TLDs
    ("mailto:a@sub.mail.example.co.uk", ""),
    ("mailto:a@my-shop.example", ""),
    ("mailto:a@example.com.", ""),  # a fully qualified name may end with its root dot
    ("mailto:support", "has no @"),
    ("mailto:returns(at)akiba-hobby.example", "has no @"),
    ("mailto:a@x.example;b@y.example", "commas, not semicolons"),  # RFC 6068 §2
    ("mailto:a;b", "commas, not semicolons"),
    ("mailto:two@@x.example", "more than one @"),
    ("mailto:@example.com", "nothing before the @"),
    ("mailto:user@", "nothing after the @"),
    ("mailto:support@localhost", "not a fully qualified"),  # RFC 5321 §2.3.5
    ("mailto:a@example.123", "all digits"),  # RFC 3696 §2: no all-numeric TLD
    ("mailto:a@192.168.0.1", "all digits"),  # an IP address must be a literal in brackets
    ("mailto:a@example..com", "empty label"),
    ("mailto:a@.example.com", "empty label"),
    ("mailto:a@-shop.example", "inner hyphens"),
    ("mailto:a@shop-.example", "inner hyphens"),
    ("mailto:a@sh_op.example", "inner hyphens"),
    (f"mailto:a@{LONG_LABEL}.example", "over 63 octets"),
    (f"mailto:a@{'a' * 63}.example", ""),
    (f"mailto:a@{LONG_DOMAIN}", "over 255 octets"),
    # RFC 5321 §4.1.3 address literals
    ("mailto:a@[192.0.2.1]", ""),
    ("mailto:a@[IPv6:2001:db8::1]", ""),
    ("mailto:a@[300.0.2.1]", "not an IP address literal"),
    ("mailto:a@[2001:db8::1]", "not an IP address literal"),  # needs the "IPv6:" tag
    ("mailto:a@[192.0.2.1", "not an IP address literal"),
]


@pytest.mark.parametrize(("url", "problem"), MAILTO)
def test_mailto(url: str, problem: str) -> None:
    found = check_mailto(url)
    if problem:
        assert problem in found, found
    else:
        assert found == ""


# (tel URL, "" when well formed or a piece of the reason)
TEL = [
    # RFC 3966 §5.1.4 global numbers: "+" and digits, visual separators - . ( )
    ("tel:+81-3-1234-5678", ""),
    ("tel:+81.3.1234.5678", ""),
    ("tel:+1-(555)-010-9999", ""),
    ("tel:+1 (555) 010-9999", ""),  # spaces: ITU-T E.123 §2.5 groups digits with them
    ("tel:+1%20555%20010%209999", ""),
    ("tel:+442079460000", ""),
    ("tel:+123456789012345", ""),  # E.164 §6.1: 15 digits at most
    ("tel:+1234567890123456", "at most 15"),
    ("tel:+1-800-FLOWERS", "letters are not digits"),
    ("tel:+81-3-1234-5678x12", "letters are not digits"),  # an extension is ;ext=
    ("tel:+81/3/1234/5678", "not a digit"),
    ("tel:+", "0 digits"),
    ("tel:+12", "2 digits"),
    ("tel:", "names no number"),
    ("tel:call-us", "letters are not digits"),
    # RFC 3966 §5.1.5: a local number needs ;phone-context=
    ("tel:03-1234-5678", "without ;phone-context="),
    ("tel:03.1234.5678", "without ;phone-context="),
    ("tel:03-1234-5678;phone-context=+81", ""),
    ("tel:7042;phone-context=example.com", ""),
    ("tel:863-1234;phone-context=+1-914-555", ""),
    ("tel:*21#;phone-context=+81", ""),  # * and # are local-number digits
    ("tel:1234;phone-context=+", "not + and digits"),
    ("tel:1234;phone-context=exa mple.com", "neither +digits nor a domain"),
    ("tel:1234;phone-context=123.456", "neither +digits nor a domain"),  # toplabel: a letter
    # RFC 3966 §5.1.4 extension, §5.1.3 ISDN subaddress, §3 other parameters
    ("tel:+1-201-555-0123;ext=1234", ""),
    ("tel:+1-201-555-0123;ext=12a", "not digits"),
    ("tel:+1-201-555-0123;ext=", "not digits"),
    ("tel:+1-201-555-0123;isub=1411", ""),
    ("tel:+1-201-555-0123;isub=", "subaddress is empty"),
    ("tel:+1-201-555-0123;x-carrier=acme", ""),
    ("tel:+1-201-555-0123;flag", ""),  # parameter = ";" pname ["=" pvalue]
    ("tel:+1-201-555-0123;bad_name=1", "not a parameter name"),
    ("tel:+1-201-555-0123;x=", "has '=' but no value"),
    ("TEL:+81-3-1234-5678", ""),  # the scheme is case-insensitive
    ("tel:12", "2 digits"),
]


@pytest.mark.parametrize(("url", "problem"), TEL)
def test_tel(url: str, problem: str) -> None:
    found = check_tel(url)
    if problem:
        assert problem in found, found
    else:
        assert found == ""


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://site.test/help@shop.example", "help@shop.example"),
        ("http://site.test/guide/info%40shop.example", "info@shop.example"),
        ("http://site.test/help@shop.example?x=1", "help@shop.example"),
        ("https://medium.com/@someone", ""),  # nothing before the @
        ("https://www.npmjs.com/package/lodash@4.17.21", ""),  # an all-digit "TLD"
        ("http://site.test/a@b", ""),  # no dot after the @
        ("http://site.test/help@shop.example/page", ""),  # not the last segment
        ("http://site.test/page.html", ""),
    ],
)
def test_an_address_written_as_a_relative_link(url: str, address: str) -> None:
    assert bare_address(url) == address


@pytest.mark.parametrize(
    ("address", "ok"),
    [("a@b.example", True), ("a.b@c.example", True), ("a", False), ("a@b", False)],
)
def test_check_address(address: str, ok: bool) -> None:
    assert (check_address(address) == "") is ok


@pytest.mark.parametrize(
    ("href", "mailto_tel", "verdict", "message"),
    [
        ("mailto:?subject=Share", True, Verdict.SKIPPED, "well formed"),
        ("mailto:a@example.123", True, Verdict.ERROR, "all digits (RFC 3696 §2)"),
        ("mailto:a@example.123", False, Verdict.SKIPPED, "mailto: link"),  # the check is off
        ("tel:03-1234-5678", True, Verdict.ERROR, "RFC 3966 §5.1.5"),
        ("tel:+81-3-1234-5678", True, Verdict.SKIPPED, "well formed"),
        ("file:///C:/Users/me/index.html", True, Verdict.ERROR, "author's machine"),
        ("data:text/plain,hi", True, Verdict.SKIPPED, "data: link"),
        ("javascript:void(0)", True, Verdict.SKIPPED, "javascript: link"),
    ],
)
def test_the_decision_for_an_href_with_nothing_to_fetch(
    href: str, mailto_tel: bool, verdict: Verdict, message: str
) -> None:
    result = unfetchable(href, resolve(URL("http://site.test/"), href), mailto_tel=mailto_tel)
    assert result.verdict is verdict
    assert message in result.message
    if verdict is Verdict.ERROR:
        expected = (
            ErrorKind.UNSUPPORTED_SCHEME if href.startswith("file:") else ErrorKind.INVALID_URL
        )
        assert result.error is expected
