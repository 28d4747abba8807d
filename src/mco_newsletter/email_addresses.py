"""What a valid e-mail address is here, and its normal form: the syntax check of every address we keep.

The rules are email-validator's with the options this tool always used (internationalised local parts
allowed; no quoted local parts, IP literals, display names or special-use domains; the RFC's 64-character
local part): tests/test_email_normalization.py compares the verdicts. Nothing is looked up in DNS.
The normal form keeps the local part as written (NFC; RFC 2142 role names such as postmaster in small
letters) and gives the domain in small letters, Unicode (for showing) and IDNA "xn--" form (for sending).
Below, the forms an address travels in (ascii_address) and what makes two spellings one address (address_key).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .wording import counted

_ATEXT = r"a-zA-Z0-9_!#\$%&'\*\+\-/=\?\^`\{\|\}~"
_DOT_ATOM = re.compile(f"[{_ATEXT}]+(?:\\.[{_ATEXT}]+)*")
# RFC 6531: an internationalised local part may also hold any character from U+0080 up, written as "not
# ASCII": a class spanning U+0080–U+10FFFF costs Python's regex compiler ~9 ms, paid by every command's start.
_NOT_ASCII = "[^\\x00-\\x7f]"
_INTL_ATOM = f"(?:[{_ATEXT}]|{_NOT_ASCII})+"
_DOT_ATOM_INTL = re.compile(f"{_INTL_ATOM}(?:\\.{_INTL_ATOM})*")
_LOCAL_CHARACTER = re.compile(f"[.{_ATEXT}]|{_NOT_ASCII}")
_DOMAIN_CHARACTER = re.compile(f"[a-zA-Z0-9.\\-]|{_NOT_ASCII}")
_LABEL = r"(?:(?:[a-zA-Z0-9][a-zA-Z0-9\-]*)?[a-zA-Z0-9])"
_HOSTNAME = re.compile(f"{_LABEL}(?:\\.{_LABEL})*")
# RFC 2142's role mailboxes, which are case-insensitive by definition.
_ROLE_NAMES = {
    "info",
    "marketing",
    "sales",
    "support",
    "abuse",
    "noc",
    "security",
    "postmaster",
    "hostmaster",
    "usenet",
    "news",
    "webmaster",
    "www",
    "uucp",
    "ftp",
}
# No mail is delivered to these anywhere (RFC 6761, 6762, 7686; arpa is reverse lookups).
_SPECIAL_USE = ("arpa", "invalid", "local", "localhost", "onion", "test")
MAX_LENGTH, MAX_LOCAL, MAX_DOMAIN, MAX_LABEL = 254, 64, 253, 63


class InvalidAddress(ValueError):
    """Not an address mail can be sent to; the message says why."""


@dataclass(frozen=True)
class Address:
    """A valid address: its normal form and its domain in IDNA form."""

    normalized: str
    ascii_domain: str


def checked_address(text: str) -> Address:
    """The address in its normal form, or InvalidAddress saying what to fix."""
    if "@" not in text:
        for other, name in (("＠", 'the "full-width" at-sign (＠)'), ("﹫", 'the "small commercial at" (﹫)')):
            if other in text:
                raise InvalidAddress(f"The email address has {name} instead of a regular at-sign.")
        raise InvalidAddress("An email address must have an @-sign.")
    local, _, domain_part = text.partition("@")
    if '"' in local or "<" in local:
        raise InvalidAddress("Write the address alone: no name, angle brackets or quotes around it.")
    local = _checked_local(local)
    if not domain_part:
        raise InvalidAddress("There must be something after the @-sign.")
    if domain_part.startswith("[") and domain_part.endswith("]"):
        raise InvalidAddress("A bracketed IP address after the @-sign is not allowed here.")
    domain, ascii_domain = checked_domain(domain_part)
    normalized = f"{local}@{domain}"
    # As written, as kept and as sent: each must fit in 254 bytes (plain ASCII is all three at once).
    forms = (text,) if domain is ascii_domain else (text, normalized, f"{local}@{ascii_domain}")
    for form in forms:
        if (extra := len(form.encode("utf-8")) - MAX_LENGTH) > 0:
            raise InvalidAddress(f"The email address is too long ({counted(extra, 'byte')} too many).")
    return Address(normalized, ascii_domain)


def _checked_local(local: str) -> str:
    if not local:
        raise InvalidAddress("There must be something before the @-sign.")
    if (extra := len(local) - MAX_LOCAL) > 0:
        raise InvalidAddress(
            f"The email address is too long before the @-sign ({counted(extra, 'character')} too many)."
        )
    if not _DOT_ATOM.fullmatch(local):
        _check_dot_atom_intl(local)
        normalized = unicodedata.normalize("NFC", local)
        if normalized != local:
            try:
                _check_dot_atom_intl(normalized)
            except InvalidAddress as exc:
                raise InvalidAddress(f"After Unicode normalization: {exc}") from None
            local = normalized
    return local.lower() if local.isascii() and local.lower() in _ROLE_NAMES else local


def _check_dot_atom_intl(local: str) -> None:
    if not _DOT_ATOM_INTL.fullmatch(local):
        if bad := {c for c in local if not _LOCAL_CHARACTER.match(c)}:
            raise InvalidAddress(f"The email address contains invalid characters before the @-sign: {_shown(bad)}.")
        _check_dots(
            local,
            "An email address cannot start with a {}.",
            "An email address cannot have a {} immediately before the @-sign.",
        )
        raise InvalidAddress("The email address contains invalid characters before the @-sign.")
    _check_safe(local)
    try:
        local.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidAddress("The email address contains an invalid character.") from None


@lru_cache(maxsize=65536)
def checked_domain(domain: str) -> tuple[str, str]:
    """A mail domain's Unicode and IDNA forms (both in small letters), or InvalidAddress saying why."""
    # Readers share a few thousand domains at most: each is checked once, not once per address.
    import idna  # IDNA 2008 with UTS 46; Python's own codec is IDNA 2003

    after = "The part after the @-sign"
    if (extra := len(domain) - MAX_DOMAIN) > 0:
        raise InvalidAddress(
            f"The email address is too long after the @-sign ({counted(extra, 'character')} too many)."
        )
    if bad := {c for c in domain if not _DOMAIN_CHARACTER.match(c) or not _uts46_valid(c)}:
        raise InvalidAddress(f"{after} contains invalid characters: {_shown(bad)}.")
    _check_safe(domain)
    try:
        mapped = idna.uts46_remap(domain, std3_rules=False, transitional=False)
    except idna.IDNAError as exc:
        raise InvalidAddress(f"{after} contains invalid characters ({exc}).") from None
    if bad := {c for c in mapped if not _DOMAIN_CHARACTER.match(c)}:
        raise InvalidAddress(f"{after} contains invalid characters after Unicode normalization: {_shown(bad)}.")
    _check_dots(
        mapped,
        "An email address cannot have a {} immediately after the @-sign.",
        "An email address cannot end with a {}.",
        hyphens=True,
    )
    if any(re.match(r"(?!xn)..--", label, re.I) for label in mapped.split(".")):
        raise InvalidAddress(
            f"{after} cannot have two letters followed by two hyphens at the start of a "
            "part (only Punycode, xn--, may)."
        )
    ascii_domain = mapped
    if not _HOSTNAME.fullmatch(mapped):
        try:
            ascii_domain = ".".join(idna.alabel(label).decode("ascii") for label in mapped.split("."))
        except idna.IDNAError as exc:
            raise InvalidAddress(f"{after} is invalid ({exc}).") from None
        if not _HOSTNAME.fullmatch(ascii_domain):
            raise InvalidAddress(f"{after} contains invalid characters after IDNA encoding.")
    if (extra := len(ascii_domain) - MAX_DOMAIN) > 0:
        raise InvalidAddress(
            f"The email address is too long after the @-sign ({counted(extra, 'byte')} too many after IDNA encoding)."
        )
    if long := [label for label in ascii_domain.split(".") if len(label) > MAX_LABEL]:
        raise InvalidAddress(
            f"After the @-sign, a part between periods has {len(long[0])} characters; at most {MAX_LABEL} are allowed."
        )
    if "." not in ascii_domain:
        raise InvalidAddress(f"{after} is not valid. It should have a period.")
    if not ascii_domain[-1].isalpha():
        raise InvalidAddress(f"{after} is not valid. It is not within a valid top-level domain.")
    if any(ascii_domain == name or ascii_domain.endswith("." + name) for name in _SPECIAL_USE):
        raise InvalidAddress(f"{after} is a special-use or reserved name that cannot be used with email.")
    if "xn--" not in ascii_domain:
        return ascii_domain, ascii_domain
    return _unicode_domain(ascii_domain, idna), ascii_domain


def _unicode_domain(ascii_domain: str, idna) -> str:
    # A domain written in xn-- form must decode to one that would encode back to it (no bidi tricks).
    after = "The part after the @-sign"
    try:
        domain = idna.decode(ascii_domain.encode("ascii"))
    except idna.IDNAError as exc:
        raise InvalidAddress(f"{after} is not valid IDNA ({exc}).") from None
    if bad := {c for c in domain if not _DOMAIN_CHARACTER.match(c)}:
        raise InvalidAddress(f"{after} contains invalid characters: {_shown(bad)}.")
    _check_safe(domain)
    try:
        if any(unicodedata.bidirectional(c) in ("R", "AL", "AN") for c in domain):
            for label in domain.split("."):
                idna.check_bidi(label, check_ltr=True)
        idna.encode(domain)
    except idna.IDNAError as exc:
        raise InvalidAddress(f"{after} is not valid IDNA ({exc}).") from None
    return domain


def _check_dots(text: str, at_start: str, at_end: str, *, hyphens: bool = False) -> None:
    for mark, name in ((".", "period"), ("-", "hyphen")) if hyphens else ((".", "period"),):
        if text.endswith(mark):
            raise InvalidAddress(at_end.format(name))
        if text.startswith(mark):
            raise InvalidAddress(at_start.format(name))
        if mark == "." and ".." in text:
            raise InvalidAddress("An email address cannot have two periods in a row.")
    if hyphens and (".-" in text or "-." in text):
        raise InvalidAddress("An email address cannot have a period and a hyphen next to each other.")


def _check_safe(text: str) -> None:
    # Letters, numbers, punctuation and symbols; a combining mark only after something to combine with.
    # Spaces, controls, format characters (bidi overrides, zero-width joiners) and unassigned ones never.
    bad = {
        c
        for i, c in enumerate(text)
        if not (unicodedata.category(c)[0] in "LNPS" or (unicodedata.category(c)[0] == "M" and i > 0))
    }
    if bad:
        raise InvalidAddress(f"The email address contains unsafe characters: {_shown(bad)}.")


def _uts46_valid(character: str) -> bool:
    # Characters IDNA's mapping would silently drop or turn into a period are refused instead.
    c = ord(character)
    if 0x80 <= c <= 0x9F:
        return False
    if (
        (0x2010 <= c <= 0x2060 and not 0x2024 <= c <= 0x2026 and not 0x2028 <= c <= 0x202E)
        or c in (0x00AD, 0x2064, 0xFF0E)
        or 0x200B <= c <= 0x200D
        or 0x1BCA0 <= c <= 0x1BCA3
    ):
        return True
    if unicodedata.category(character) in ("Cf", "Cn", "Co", "Cs", "Zs", "Zl", "Zp"):
        return False
    return "002E" not in unicodedata.decomposition(character).split(" ")


def _shown(characters: set[str]) -> str:
    # Visible characters quoted; invisible ones by their Unicode name, so a person can find them.
    def one(c: str) -> str:
        if unicodedata.category(c)[0] in "LNPS":
            return repr(c)
        return unicodedata.name(c, f"U+{ord(c):04X}")

    return ", ".join(sorted(one(c) for c in characters))


# Addresses as they travel: an internationalised domain in its ASCII (IDNA) form whenever possible. The list may
# hold `reader@пример.рф` (it shows better); the envelope and the To header carry `reader@xn--e1afmkfd.xn--p1ai`,
# which every server can take. Only an address whose local part is not ASCII needs a server with SMTPUTF8.


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
    try:
        return checked_domain(domain)[1]
    except InvalidAddress:
        return domain


def address_key(email: str) -> str:
    """What makes two spellings of one address equal: case-insensitive, the domain in IDNA form."""
    local, _, domain = email.strip().rpartition("@")
    return f"{local.casefold()}@{ascii_domain(domain).casefold()}"
