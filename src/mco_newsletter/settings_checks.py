"""Checks on the values of newsletter.toml that need more than a type: languages, addresses, bank details."""

from __future__ import annotations

from typing import Iterator
from urllib.parse import urlsplit

from .localized import check_localized
from .schema import Finding

# Every reader-visible text that may be given per language: (key path, must it be one line).
LOCALIZED_KEYS = ((("name",), True), (("identity",), False), (("sender", "name"), True),
                  (("postal_address",), False), (("donation", "note"), False))
# What the bank matches exactly: one value, whatever the reader's language.
BANK_KEYS = ("iban", "bic", "holder", "purpose", "currency")


def check_settings_values(data: dict) -> Iterator[Finding]:
    """Yield (key path, message, hint) for every value that is well-typed but wrong."""
    yield from _check_languages(data)
    for key_path, one_line in LOCALIZED_KEYS:
        yield from check_localized(data, key_path, one_line=one_line)
    yield from _check_addresses(data)
    yield from _check_base_url(data["base_url"])
    yield from _check_donation(data["donation"])
    fallback = data.get("fallback_language")
    if fallback is not None and fallback not in data["languages"]:
        yield ("fallback_language",), f"fallback_language {fallback!r} is not in languages", \
            f"pick one of {', '.join(map(str, data['languages']))}"


def known_language(code: str) -> bool:
    """True when babel knows the language code (en, de, ru, …)."""
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(code)
    except (UnknownLocaleError, ValueError, TypeError):
        return False
    return True


def _check_languages(data: dict) -> Iterator[Finding]:
    languages = data["languages"]
    if not languages:
        yield ("languages",), "'languages' is empty", 'list at least one, e.g. languages = ["en", "de", "ru"]'
    for code in languages:
        if not isinstance(code, str) or not known_language(code):
            yield ("languages",), f"unknown language code {code!r}", "use ISO 639-1 codes such as en, de, ru"
    if len(set(map(str, languages))) != len(languages):
        yield ("languages",), "a language is listed twice", None
    source = data["source_language"]
    if source not in languages:
        yield ("source_language",), f"source_language {source!r} is not in languages", \
            f"pick one of {', '.join(map(str, languages))}"


def _check_addresses(data: dict) -> Iterator[Finding]:
    from email_validator import EmailNotValidError, validate_email

    sender = data["sender"]
    for key in ("address", "reply_to"):
        if key not in sender:
            continue
        try:
            validate_email(sender[key], check_deliverability=False)
        except EmailNotValidError as exc:
            yield ("sender", key), f"sender.{key} {sender[key]!r} is not a valid address: {exc}", \
                "write a plain address such as digest@example.org"


def _check_base_url(url: str) -> Iterator[Finding]:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        yield ("base_url",), f"base_url {url!r} is not an http(s) address", \
            'write the web archive\'s address, e.g. base_url = "https://digest.example.org"'


def _check_donation(donation: dict) -> Iterator[Finding]:
    from babel.numbers import is_currency
    from schwifty import BIC, IBAN
    from schwifty.exceptions import SchwiftyException

    for key in BANK_KEYS:
        if isinstance(donation[key], dict):
            yield ("donation", key), f"donation.{key} must be the same in every language", \
                "the bank matches it exactly: write one string (the label and explanation around it are translated)"
            return
    iban = bic = None
    try:
        iban = IBAN(donation["iban"])
    except SchwiftyException as exc:
        yield ("donation", "iban"), f"donation.iban {donation['iban']!r} is not a valid IBAN: {exc}", \
            "copy the IBAN from the bank's statement; spaces are fine"
    try:
        bic = BIC(donation["bic"])
    except SchwiftyException as exc:
        yield ("donation", "bic"), f"donation.bic {donation['bic']!r} is not a valid BIC/SWIFT code: {exc}", \
            "a BIC has 8 or 11 letters and digits, e.g. DABAFIHH"
    if iban is not None and bic is not None and iban.country_code != bic.country_code:
        yield ("donation", "bic"), \
            f"donation.bic is for country {bic.country_code} but the IBAN is for {iban.country_code}", \
            "check that both belong to the same account"
    if not is_currency(donation["currency"]):
        yield ("donation", "currency"), f"donation.currency {donation['currency']!r} is not an ISO 4217 code", \
            "e.g. EUR"
