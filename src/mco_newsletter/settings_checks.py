"""Checks on the values of newsletter.toml that need more than a type: languages, addresses, bank details."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from .localized import check_localized
from .schema import Finding

# Whitespace (Unicode's too) and control characters: a URL holds none, and CR/LF would split a header.
NOT_IN_URL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
URL_SAFE = "/%:@!$&'()*+,;=-._~"
# CTranslate2's compute types, named here so that `check` need not import the engine.
COMPUTE_TYPES = (
    "default",
    "auto",
    "int8",
    "int8_float32",
    "int8_float16",
    "int8_bfloat16",
    "int16",
    "float16",
    "bfloat16",
    "float32",
)
# Every reader-visible text that may be given per language: (key path, must it be one line).
LOCALIZED_KEYS = (
    (("name",), True),
    (("identity",), False),
    (("sender", "name"), True),
    (("postal_address",), False),
    (("donation", "note"), False),
)
# What the bank matches exactly: one value, whatever the reader's language.
BANK_KEYS = ("iban", "bic", "holder", "purpose", "currency")


def check_settings_values(data: dict) -> Iterator[Finding]:
    """Yield (key path, message, hint) for every value that is well-typed but wrong."""
    yield from _check_languages(data)
    for key_path, one_line in LOCALIZED_KEYS:
        yield from check_localized(data, key_path, one_line=one_line)
    yield from _check_addresses(data)
    yield from _check_base_url(data["base_url"])
    yield from _check_translation(data)
    yield from _check_donation(data["donation"])
    yield from _check_database(data.get("database", {}))
    fallback = data.get("fallback_language")
    if fallback is not None and fallback not in data["languages"]:
        yield (
            ("fallback_language",),
            f"fallback_language {fallback!r} is not in languages",
            f"pick one of {', '.join(map(str, data['languages']))}",
        )


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
        yield (
            ("source_language",),
            f"source_language {source!r} is not in languages",
            f"pick one of {', '.join(map(str, languages))}",
        )


def _check_addresses(data: dict) -> Iterator[Finding]:
    from .email_addresses import InvalidAddress, checked_address

    sender = data["sender"]
    for key in ("address", "reply_to"):
        if key not in sender:
            continue
        try:
            checked_address(sender[key])
        except InvalidAddress as exc:
            yield (
                ("sender", key),
                f"sender.{key} {sender[key]!r} is not a valid address: {exc}",
                "write a plain address such as digest@example.org",
            )


def _check_base_url(url: str) -> Iterator[Finding]:
    # base_url goes into headers (List-Unsubscribe) and every link: it must be one ASCII address.
    example = 'write the web archive\'s address, e.g. base_url = "https://digest.example.org"'
    if NOT_IN_URL.search(url):
        yield ("base_url",), "base_url must be one address: no line breaks, spaces or control characters", example
        return
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        yield ("base_url",), f"base_url {url!r} is not an http(s) address", example
        return
    try:
        _ = parts.port  # urllib checks the port only when asked for it
    except ValueError:
        yield ("base_url",), f"base_url {url!r} has no valid port", example
        return
    if parts.query or parts.fragment or "?" in url or "#" in url:
        yield (
            ("base_url",),
            "base_url must not have a query (?…) or a fragment (#…)",
            "the archive's pages and the unsubscribe links are added after it",
        )
    elif not url.isascii():
        ascii_form = _ascii_url(parts)
        yield (
            ("base_url",),
            f"base_url {url!r} is not ASCII",
            f'write it as base_url = "{ascii_form}"'
            if ascii_form
            else "the host is not a valid internationalised domain name; write it in its IDNA (xn--…) form",
        )


def _ascii_url(parts) -> str | None:
    """The address with its host in IDNA (punycode) and its path percent-encoded, or None if the host is invalid."""
    from urllib.parse import quote

    import idna

    try:
        host = idna.encode(parts.hostname, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return None
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{quote(parts.path, safe=URL_SAFE)}"


def _check_translation(data: dict) -> Iterator[Finding]:
    translation = data.get("translation", {})
    for key in ("beam_size", "batch_size"):
        if key in translation and translation[key] < 1:
            yield ("translation", key), f"translation.{key} must be a positive whole number", None
    for key, meaning in (("threads", "0: CTranslate2 decides"), ("max_length", "0: from max_length_factor")):
        if key in translation and translation[key] < 0:
            yield ("translation", key), f"translation.{key} must not be negative", meaning
    if "max_length_factor" in translation and translation["max_length_factor"] <= 0:
        yield ("translation", "max_length_factor"), "translation.max_length_factor must be positive", "e.g. 2.0"
    if "length_penalty" in translation and translation["length_penalty"] < 0:
        yield (
            ("translation", "length_penalty"),
            "translation.length_penalty must not be negative",
            "Argos's own is 0.2 (the default); 1.0 favours longer drafts",
        )
    compute_type = translation.get("compute_type", "default")
    if compute_type not in COMPUTE_TYPES:
        yield (
            ("translation", "compute_type"),
            f"unknown translation.compute_type {compute_type!r}",
            f"use one of {', '.join(COMPUTE_TYPES)}",
        )


def _check_donation(donation: dict) -> Iterator[Finding]:
    from babel.numbers import is_currency

    from .bank_codes import InvalidBankCode, checked_bic, checked_iban

    for key in BANK_KEYS:
        if isinstance(donation[key], dict):
            yield (
                ("donation", key),
                f"donation.{key} must be the same in every language",
                "the bank matches it exactly: write one string (the label and explanation around it are translated)",
            )
            return
    iban = bic = None
    try:
        iban = checked_iban(donation["iban"])
    except InvalidBankCode as exc:
        yield (
            ("donation", "iban"),
            f"donation.iban {donation['iban']!r} is not a valid IBAN: {exc}",
            "copy the IBAN from the bank's statement; spaces are fine",
        )
    try:
        bic = checked_bic(donation["bic"])
    except InvalidBankCode as exc:
        yield (
            ("donation", "bic"),
            f"donation.bic {donation['bic']!r} is not a valid BIC/SWIFT code: {exc}",
            "a BIC has 8 or 11 letters and digits, e.g. DABAFIHH",
        )
    # An IBAN starts with its country's code; a BIC has it in its 5th and 6th characters.
    if iban is not None and bic is not None and iban[:2] != bic[4:6]:
        yield (
            ("donation", "bic"),
            f"donation.bic is for country {bic[4:6]} but the IBAN is for {iban[:2]}",
            "check that both belong to the same account",
        )
    if not is_currency(donation["currency"]):
        yield (
            ("donation", "currency"),
            f"donation.currency {donation['currency']!r} is not an ISO 4217 code",
            "e.g. EUR",
        )


def _check_database(database: dict) -> Iterator[Finding]:
    from .storage.location import has_password, looks_like_url, url_problem

    url = database.get("url")
    if url is None:
        return
    if not looks_like_url(url):
        yield (
            ("database", "url"),
            f"{url!r} is not a database URL",
            "a PostgreSQL store is postgresql://USER@HOST:PORT/DATABASE; an SQLite file is [database] path",
        )
        return
    problem = url_problem(url)
    if problem:
        yield ("database", "url"), f"database URL: {problem}", "write it as postgresql://USER@HOST:PORT/DATABASE"
    elif has_password(url):
        yield (
            ("database", "url"),
            "the database URL holds a password, and newsletter.toml is shared with the content",
            "remove it from the URL; give it in PGPASSWORD or ~/.pgpass, or the whole URL in MCO_NEWSLETTER_DB",
        )
