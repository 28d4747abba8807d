"""The donation footer's bank codes: an IBAN and a BIC checked with python-stdnum, with reasons a person can act on.

stdnum says only "invalid checksum" or "invalid format"; the checks here run in the order that names the
first thing to fix (the characters, the country, the length, then the check digits), as the bank would.
"""

from __future__ import annotations

import re

# In the IBAN registry's layout of an account part ("3!n11!n"), the lengths of its pieces.
_PIECE_LENGTHS = re.compile(r"([0-9]+)!")
BIC_LAYOUT = ("a BIC is 4 letters for the bank, 2 for its country, 2 letters or digits for the place "
              "and optionally 3 more for the branch")


class InvalidBankCode(ValueError):
    """An IBAN or BIC that is not one; the message says why."""


def checked_iban(value: str) -> str:
    """The IBAN in its compact form (no spaces, capitals), or InvalidBankCode saying what is wrong."""
    from stdnum import iban, numdb
    from stdnum.exceptions import InvalidChecksum, ValidationError

    number = iban.compact(value)
    if not number:
        raise InvalidBankCode("it is empty")
    if not (number.isascii() and number.isalnum()):
        raise InvalidBankCode("it may hold only letters, digits and spaces")
    if len(number) < 5 or not number[:2].isalpha() or not number[2:4].isdigit():
        raise InvalidBankCode("it must start with a two-letter country code and two check digits, e.g. FI35")
    country = numdb.get("iban").info(number)[0][1]
    if not country:
        raise InvalidBankCode(f"{number[:2]!r} is not the code of a country that uses IBANs")
    length = 4 + sum(int(piece) for piece in _PIECE_LENGTHS.findall(country.get("bban", "")))
    if len(number) != length:
        raise InvalidBankCode(f"an IBAN of {country.get('country', number[:2])} has {length} characters, "
                              f"this one has {len(number)}")
    try:
        iban.validate(number, check_country=False)
    except InvalidChecksum:
        raise InvalidBankCode("its check digits do not match the rest (a typing error?)") from None
    except ValidationError:
        raise InvalidBankCode(f"the account part is not laid out as in an IBAN of "
                              f"{country.get('country', number[:2])}") from None
    try:
        iban.validate(number)
    except InvalidChecksum:
        raise InvalidBankCode("the account number's own check digits do not match (a typing error?)") from None
    except ValidationError:
        pass  # a bank missing from stdnum's list of a country's banks: the list may be older than the bank
    return number


def checked_bic(value: str) -> str:
    """The BIC in its compact form, or InvalidBankCode saying what is wrong."""
    from stdnum import bic
    from stdnum.exceptions import InvalidComponent, ValidationError

    code = bic.compact(value)
    if len(code) not in (8, 11):
        raise InvalidBankCode(f"it has {len(code)} characters; a BIC has 8 or 11")
    try:
        return bic.validate(code)
    except InvalidComponent:
        raise InvalidBankCode(f"{code[4:6]!r} (its 5th and 6th characters) is not a country code") from None
    except ValidationError:
        raise InvalidBankCode(BIC_LAYOUT) from None

