"""Our IBAN and BIC checks give python-stdnum's verdict, with the same reason, for every country."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import example, given, settings, strategies as st
from stdnum import bic as stdnum_bic, iban as stdnum_iban, numdb
from stdnum.exceptions import InvalidChecksum, InvalidComponent, ValidationError

from mco_newsletter.bank_codes import BIC_LAYOUT, InvalidBankCode, checked_bic, checked_iban
from mco_newsletter.iban_formats import BIC_COUNTRIES, IBAN_FORMATS

REGISTRY = {prefix: (props["country"], props["bban"]) for _, prefix, _, props, _ in numdb.get("iban").prefixes}
PIECE = re.compile(r"([0-9]+)!([nac])")
KIND = {"n": string.digits, "a": string.ascii_uppercase, "c": string.ascii_uppercase + string.digits}
# What people paste: separators and spaces both cleanings remove, and characters both refuse or fold alike.
NOISE = " -.\u00a0\u2009\u2010\u2011\u2013\u2014\u2212\uff11éÄß/_\t\x00\u200b\u202e"


def stdnum_says(value: str) -> str | None:
    """The reason python-stdnum gives, checked in the order bank_codes names them (None: valid)."""
    number = stdnum_iban.compact(value)
    if not number:
        return "it is empty"
    if not (number.isascii() and number.isalnum()):
        return "it may hold only letters, digits and spaces"
    if len(number) < 5 or not number[:2].isalpha() or not number[2:4].isdigit():
        return "it must start with a two-letter country code and two check digits, e.g. FI35"
    country = numdb.get("iban").info(number)[0][1]
    if not country:
        return f"{number[:2]!r} is not the code of a country that uses IBANs"
    length = 4 + sum(int(count) for count, _ in PIECE.findall(country["bban"]))
    if len(number) != length:
        return f"an IBAN of {country['country']} has {length} characters, this one has {len(number)}"
    try:
        stdnum_iban.validate(number, check_country=False)
    except InvalidChecksum:
        return "its check digits do not match the rest (a typing error?)"
    except ValidationError:
        return f"the account part is not laid out as in an IBAN of {country['country']}"
    try:
        stdnum_iban.validate(number)
    except InvalidChecksum:
        return "the account number's own check digits do not match (a typing error?)"
    except InvalidComponent:
        pass  # Belgium's bank list: bank_codes does not hold it (a bank may be newer than the list)
    return None


def stdnum_says_bic(value: str) -> str | None:
    """python-stdnum's verdict on a BIC in bank_codes' words (None: valid)."""
    code = stdnum_bic.compact(value)
    if len(code) not in (8, 11):
        return f"it has {len(code)} characters; a BIC has 8 or 11"
    try:
        stdnum_bic.validate(code)
    except InvalidComponent:
        return f"{code[4:6]!r} (its 5th and 6th characters) is not a country code"
    except ValidationError:
        return BIC_LAYOUT
    return None


def ours(check, value: str) -> str | None:
    try:
        check(value)
    except InvalidBankCode as exc:
        return str(exc)
    return None


@st.composite
def ibans(draw):
    """A valid IBAN of any registry country (check digits computed by stdnum), then maybe mutated."""
    code = draw(st.sampled_from(sorted(REGISTRY)))
    bban = "".join(draw(st.text(KIND[kind], min_size=int(count), max_size=int(count)))
                   for count, kind in PIECE.findall(REGISTRY[code][1]))
    number = list(code + stdnum_iban.calc_check_digits(code + "00" + bban) + bban)
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(number)))
        change = draw(st.sampled_from(["replace", "delete", "insert", "swap", "noise"]))
        character = draw(st.sampled_from(string.ascii_letters + string.digits))
        if change == "replace" and at < len(number):
            number[at] = character
        elif change == "delete" and at < len(number):
            del number[at]
        elif change == "insert":
            number.insert(at, character)
        elif change == "swap" and at + 1 < len(number):
            number[at], number[at + 1] = number[at + 1], number[at]
        elif change == "noise":
            number.insert(at, draw(st.sampled_from(NOISE)))
    return "".join(number)


def test_registry_is_stdnums():
    """Every country, name and account layout of the IBAN registry, and every BIC country, is stdnum's."""
    assert IBAN_FORMATS == REGISTRY
    assert BIC_COUNTRIES == stdnum_bic._country_codes


@settings(max_examples=800, deadline=None)
@given(value=ibans())
@example("BE31435411161155")
@example("ES7921000813610123456789")
@example("NO9386011117947")
@example("ME25505000012345678951")
@example("NO0500001234566")
@example("NO7500001234567")
@example("be31 4354 1116 1155")
@example("BE68 5390 0754 7034")
@example("\u00a0FI35\u20098146\u20139710 3001 03 ")
def test_iban_verdict_and_reason_are_stdnums(value):
    """For generated and mutated IBANs of every country, our verdict and reason are stdnum's."""
    assert ours(checked_iban, value) == stdnum_says(value), value
    if ours(checked_iban, value) is None:
        assert checked_iban(value) == stdnum_iban.compact(value)


@settings(max_examples=600, deadline=None)
@given(value=st.text(string.ascii_letters + string.digits + NOISE, max_size=14)
       | st.builds(lambda bank, country, rest: bank + country + rest,
                   st.text(string.ascii_uppercase + string.digits, min_size=4, max_size=4),
                   st.sampled_from(sorted(BIC_COUNTRIES | {"XX", "QQ", "1A"})),
                   st.sampled_from(["", "HH", "2X", "HHXXX", "HH123", "H"])))
@example("DABAFIHH")
@example("deut-de-ff")
@example("DABAXXHH")
@example("DAB1FIHH")
def test_bic_verdict_and_reason_are_stdnums(value):
    """For generated BICs, valid or not, our verdict and reason are stdnum's."""
    assert ours(checked_bic, value) == stdnum_says_bic(value), value


@pytest.mark.parametrize("value", ["GB82 WEST 1234 5698 7654 32", "DE89 3704 0044 0532 0130 00", "FI3581469710300103"])
def test_known_ibans_are_valid(value):
    """IBANs printed in the registry's examples are valid and come back compact."""
    assert checked_iban(value) == value.replace(" ", "")


def test_pasted_forms_are_folded():
    """Full-width digits and non-breaking spaces from a web page give the plain IBAN."""
    assert checked_iban("FI35\u00a0８１４６ 9710 3001 03") == "FI3581469710300103"
