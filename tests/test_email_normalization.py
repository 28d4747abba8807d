"""The fast path of address normalization gives exactly email-validator's answer."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings, strategies as st

from mco_newsletter.subscribers.csv_import import normalize_email

ATOM = st.text(alphabet="abcXYZ019._%+-'!#~", min_size=1, max_size=12)
LABEL = st.text(alphabet="abcDEF019-", min_size=1, max_size=10)
DOMAIN = st.lists(LABEL, min_size=1, max_size=4).map(".".join) | st.sampled_from(
    ["example.org", "EXAMPLE.ORG", "localhost", "mail.local", "x.test", "пример.рф", "a..b", "-a.org", "a.invalid"])


def reference(address: str):
    try:
        return validate_email(address, check_deliverability=False).normalized, None
    except EmailNotValidError:
        return address, "invalid"


@settings(max_examples=1500, deadline=None)
@given(local=ATOM, domain=DOMAIN)
def test_same_result_as_email_validator(local, domain):
    """For any local part and domain, valid/invalid and the normalized form match email-validator."""
    address = f"{local}@{domain}"
    normalized, problem = normalize_email(address)
    expected, expected_problem = reference(address)
    assert (problem is None) == (expected_problem is None), address
    if problem is None:
        assert normalized == expected


def test_examples():
    """Typical cases: lowercase domain, kept local part, special-use domains refused."""
    assert normalize_email("Anna.K@Example.ORG") == ("Anna.K@example.org", None)
    assert normalize_email("anna@localhost")[1] is not None
    assert normalize_email("no-at-sign")[1] is not None
    assert normalize_email("анна@пример.рф")[0] == "анна@пример.рф"
