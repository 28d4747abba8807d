"""The donation footer's bank codes: an IBAN and a BIC checked, with reasons a person can act on.

The checks run in the order that names the first thing to fix (the characters, the country, the length,
then the check digits), as the bank would. The formats are SWIFT's registries (iban_formats.py); the
verdicts are python-stdnum's, which the tests compare them with (tests/test_bank_codes.py).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from .iban_formats import BIC_COUNTRIES, IBAN_FORMATS

# In the IBAN registry's layout of an account part ("3!n11!n"): the length and kind of each piece.
_PIECE = re.compile(r"([1-9][0-9]*)!([nac])")
_KIND = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Za-z0-9]"}
_BIC = re.compile(r"[A-Z]{4}[A-Z]{2}[0-9A-Z]{2}(?:[0-9A-Z]{3})?")
BIC_LAYOUT = (
    "a BIC is 4 letters for the bank, 2 for its country, 2 letters or digits for the place "
    "and optionally 3 more for the branch"
)


class InvalidBankCode(ValueError):
    """An IBAN or BIC that is not one; the message says why."""


def checked_iban(value: str) -> str:
    """The IBAN in its compact form (no spaces, capitals), or InvalidBankCode saying what is wrong."""
    number = _compact(value, separators="-.")
    if not number:
        raise InvalidBankCode("it is empty")
    if not (number.isascii() and number.isalnum()):
        raise InvalidBankCode("it may hold only letters, digits and spaces")
    if len(number) < 5 or not number[:2].isalpha() or not number[2:4].isdigit():
        raise InvalidBankCode("it must start with a two-letter country code and two check digits, e.g. FI35")
    if number[:2] not in IBAN_FORMATS:
        raise InvalidBankCode(f"{number[:2]!r} is not the code of a country that uses IBANs")
    country, layout = IBAN_FORMATS[number[:2]]
    length, pattern = _bban_layout(layout)
    if len(number) != 4 + length:
        raise InvalidBankCode(f"an IBAN of {country} has {4 + length} characters, this one has {len(number)}")
    if _mod97(number[4:] + number[:4]) != 1:
        raise InvalidBankCode("its check digits do not match the rest (a typing error?)")
    if not pattern.fullmatch(number[4:]):
        raise InvalidBankCode(f"the account part is not laid out as in an IBAN of {country}")
    national = _NATIONAL_CHECKS.get(number[:2])
    if national is not None and not national(number[4:]):
        raise InvalidBankCode("the account number's own check digits do not match (a typing error?)")
    return number


def checked_bic(value: str) -> str:
    """The BIC in its compact form, or InvalidBankCode saying what is wrong."""
    code = _compact(value, separators="-")
    if len(code) not in (8, 11):
        raise InvalidBankCode(f"it has {len(code)} characters; a BIC has 8 or 11")
    if not _BIC.fullmatch(code):
        raise InvalidBankCode(BIC_LAYOUT)
    if code[4:6] not in BIC_COUNTRIES:
        raise InvalidBankCode(f"{code[4:6]!r} (its 5th and 6th characters) is not a country code")
    return code


def _compact(value: str, *, separators: str) -> str:
    # Copied from a statement or a web page, a code may carry no-break or thin spaces, typographic
    # dashes and full-width digits: NFKC turns those into their plain forms, then spaces and separators go.
    text = unicodedata.normalize("NFKC", value)
    kept = (c for c in text if not (c in separators or c == "\u2212" or unicodedata.category(c) in ("Zs", "Pd")))
    return "".join(kept).strip().upper()


@cache
def _bban_layout(layout: str) -> tuple[int, re.Pattern[str]]:
    pieces = _PIECE.findall(layout)
    pattern = "".join(f"{_KIND[kind]}{{{count}}}" for count, kind in pieces)
    return sum(int(count) for count, _ in pieces), re.compile(pattern)


def _mod97(text: str) -> int:
    # ISO 7064 MOD 97-10: letters count as 10 (A) to 35 (Z).
    return int("".join(str(int(c, 36)) for c in text)) % 97


def _belgian(bban: str) -> bool:
    # The last two digits are the first ten modulo 97 (97 for 0).
    return int(bban[-2:]) == (int(bban[:-2]) % 97 or 97)


def _spanish(bban: str) -> bool:
    # The CCC's two control digits: one over bank and branch, one over the account number.
    def digit(part: str) -> str:
        check = sum(int(n) * 2**i for i, n in enumerate(part)) % 11
        return str(check if check < 2 else 11 - check)

    return bban[8:10] == digit("00" + bban[:8]) + digit(bban[10:])


def _montenegrin(bban: str) -> bool:
    return int(bban) % 97 == 1


def _norwegian(bban: str) -> bool:
    # A postgiro account (bank code 0000) is 7 digits with a Luhn check digit; the others have a MOD 11 one.
    if bban.startswith("0000"):
        digits = [int(n) for n in reversed(bban[4:])]
        return (sum(digits[0::2]) + sum(sum(divmod(2 * n, 10)) for n in digits[1::2])) % 10 == 0
    weights = (6, 7, 8, 9, 4, 5, 6, 7, 8, 9)
    return str(sum(w * int(n) for w, n in zip(weights, bban, strict=False)) % 11) == bban[-1]


# The countries whose account numbers carry their own check digits that stdnum checks too. Belgium's
# bank list is not: a bank missing from a list may be newer than the list.
_NATIONAL_CHECKS = {"BE": _belgian, "ES": _spanish, "ME": _montenegrin, "NO": _norwegian}
