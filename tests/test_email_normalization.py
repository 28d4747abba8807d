"""Our address check gives email-validator's verdict and normal form (strict: the RFC's 64-character local part)."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings, strategies as st

from mco_newsletter.email_addresses import ascii_domain
from mco_newsletter.email_addresses import checked_address
from mco_newsletter.subscribers.csv_import import normalize_email

ATOM = st.text(alphabet="abcXYZ019._%+-'!#~", min_size=1, max_size=12)
LABEL = st.text(alphabet="abcDEF019-", min_size=1, max_size=10)
DOMAIN = st.lists(LABEL, min_size=1, max_size=4).map(".".join) | st.sampled_from([
    "example.org", "EXAMPLE.ORG", "localhost", "mail.local", "x.test", "пример.рф", "a..b", "-a.org",
    "a.invalid"])
# Characters people and attackers put into addresses: letters of other scripts, combining marks, look-alikes,
# controls, bidi and zero-width characters, other spaces and at-signs, quotes, brackets, line breaks.
HOSTILE = ("aéЖж日ß\u0301\u0338\u200b\u200d\u202e\u2066\u061c\u00ad\u00a0\u3000 \t\r\n\x00\x7f\"<>()[]\\,;:@"
           "＠﹫。．\u2024·İıǅﬁ\u212a\U0001d400\U000e0001\ud800-_.+=")
SCARY_DOMAINS = ["xn--80ak6aa92e.com", "аррӏе.com", "xn--pple-43d.com", "мир.рф", "ﬁ.org", "\u0661.com",
                 "a.xn--mgbh0fb", "مثال.إختبار", "xn--d1acufc.xn--p1ai", "example.org.", "a-.org", "xn--a.org",
                 "ab--c.org", "a" * 63 + ".org", "a" * 64 + ".org", ".".join(["a" * 63] * 4), "b\u200d.org"]


def reference(address: str):
    """email-validator's answer with this tool's options: (normalized, IDNA domain) or None."""
    try:
        found = validate_email(address, check_deliverability=False, strict=True)
    except EmailNotValidError:
        return None
    return found.normalized, found.ascii_domain


def ours(address: str):
    try:
        found = checked_address(address)
    except ValueError:
        return None
    return found.normalized, found.ascii_domain


@settings(max_examples=500, deadline=None)
@given(local=ATOM, domain=DOMAIN)
def test_same_result_as_email_validator(local, domain):
    """For any plain local part and domain, valid/invalid and the normalized form match email-validator."""
    address = f"{local}@{domain}"
    assert ours(address) == reference(address), address
    normalized, problem = normalize_email(address)
    assert (problem is None) == (reference(address) is not None)


@settings(max_examples=1000, deadline=None)
@given(local=st.text(HOSTILE + "abc.", min_size=0, max_size=8) | st.text(min_size=1, max_size=6),
       domain=st.lists(st.text(HOSTILE + "abcxn-", min_size=1, max_size=8) | st.sampled_from(SCARY_DOMAINS),
                       min_size=1, max_size=3).map(".".join) | st.text(max_size=10))
def test_hostile_addresses_get_email_validators_verdict(local, domain):
    """Addresses of hostile characters and look-alike domains are refused or accepted as email-validator does."""
    address = f"{local}@{domain}"
    assert ours(address) == reference(address), ascii(address)


@pytest.mark.parametrize("address", [
    "reader@example.org\r\nBcc: everyone@example.org", "reader@example.org\nX-Injected: 1", "reader\x00@example.org",
    "reader@exa\x00mple.org", "\u202ereader@example.org", "reader@\u202eexample.org", "reader@example.org.",
    "reader@" + "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".org",
    "a" * 65 + "@example.org", "a" * 64 + "@example.org", "x@" + ".".join(["a" * 60] * 4) + ".org",
    "reader@аррӏе.com", "reader@xn--80ak6aa92e.com",
    "Reader <reader@example.org>", '"reader"@example.org', "reader@[127.0.0.1]", "reader@[IPv6:::1]",
    "reader＠example.org", "reader@localhost", "reader@mail.local", "reader@x.onion", "reader@1.arpa",
    "reader@example.123", "reader@example", ".reader@example.org", "reader.@example.org", "re..ader@example.org",
    "reader@-example.org", "reader@ex--ample.org", "POSTMASTER@Example.Org", "анна@ПРИМЕР.РФ", "a\u0301@x.org",
    "\u0301a@x.org", "reader@ex\u200dample.org", "reader@bücher.example", "reader@BÜCHER.example",
    "reader@xn--bcher-kva.example", "reader@xn--bcher-KVA.example", "", "@", "a@", "@example.org",
    "reader@a\u05d0.com", "reader@\u05d01.com", "reader@\u05d0\u05d1.\u05d2\u05d3",
])
def test_hand_picked_hostile_addresses(address):
    """Header injection, NUL, bidi controls, homoglyph and over-long domains: email-validator's verdict."""
    assert ours(address) == reference(address), ascii(address)


def test_examples():
    """Typical cases: small-letter domain, kept local part, special-use domains refused, reasons one can act on."""
    assert normalize_email("Anna.K@Example.ORG") == ("Anna.K@example.org", None)
    assert normalize_email("anna@localhost")[1] is not None
    assert normalize_email("no-at-sign") == ("no-at-sign", "An email address must have an @-sign.")
    assert normalize_email("анна@пример.рф")[0] == "анна@пример.рф"
    assert "RIGHT-TO-LEFT OVERRIDE" in normalize_email("anna\u202e@example.org")[1]
    assert "65" not in normalize_email("a" * 65 + "@example.org")[1] and "1 character too many" in \
        normalize_email("a" * 65 + "@example.org")[1]
    assert ascii_domain("пример.рф") == "xn--e1afmkfd.xn--p1ai"
