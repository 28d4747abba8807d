"""Addresses as they travel: an internationalised domain in its ASCII (IDNA) form whenever possible.

The list may hold `reader@пример.рф` (it shows better); the envelope and the To header carry
`reader@xn--e1afmkfd.xn--p1ai`, which every server can take. Only an address whose local part is
not ASCII needs a server with SMTPUTF8.
"""

from __future__ import annotations

from functools import lru_cache


def ascii_address(email: str) -> str:
    """The address with its domain in IDNA form (unchanged when already ASCII or not convertible)."""
    if email.isascii():
        return email
    local, _, domain = email.rpartition("@")
    return f"{local}@{ascii_domain(domain)}"


@lru_cache(maxsize=4096)
def ascii_domain(domain: str) -> str:
    """A domain in IDNA (punycode) form, as the address check computes it; the domain itself if it cannot be."""
    if domain.isascii():
        return domain.lower()
    from ..email_addresses import InvalidAddress, checked_domain

    try:
        return checked_domain(domain)[1]
    except InvalidAddress:
        return domain


def address_key(email: str) -> str:
    """What makes two spellings of one address equal: case-insensitive, the domain in IDNA form."""
    local, _, domain = email.strip().rpartition("@")
    return f"{local.casefold()}@{ascii_domain(domain).casefold()}"
