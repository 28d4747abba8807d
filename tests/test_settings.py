"""newsletter.toml: every key validated, every problem named with its line."""

from __future__ import annotations

import pytest

from mco_newsletter.config import find_workspace, read_settings
from mco_newsletter.errors import WorkspaceError

from conftest import set_setting


def problems_of(workspace):
    settings, problems = read_settings(workspace)
    return settings, [(p.line, p.message) for p in problems]


def line_of(workspace, needle: str) -> int:
    lines = (workspace / "newsletter.toml").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def test_sample_settings_are_valid(workspace):
    """The repository's newsletter.toml passes every check and carries the real donation details."""
    settings, problems = read_settings(workspace)
    assert problems == []
    assert settings.languages == ("en", "de", "ru")
    assert settings.donation.iban == "FI35 8146 9710 3001 03"
    assert settings.donation.bic == "DABAFIHH"
    assert settings.name_for("ru") == "Движение сознательных отказчиков"


def test_unknown_key_is_named_with_its_line(workspace):
    """A typo in a key is an error naming the key, its line and the likely intended key."""
    set_setting(workspace, "bank = ", "bnak = ")
    settings, problems = read_settings(workspace)
    assert settings is None
    messages = [p.message for p in problems]
    assert "unknown key 'donation.bnak'" in messages
    assert "missing key 'donation.bank'" in messages
    typo = next(p for p in problems if p.message == "unknown key 'donation.bnak'")
    assert typo.line == line_of(workspace, "bnak =")
    assert typo.hint == "did you mean 'bank'?"


def test_wrong_type_names_the_key(workspace):
    """A value of the wrong type names the key and both types."""
    set_setting(workspace, 'languages = ["en", "de", "ru"]', 'languages = "en"')
    _, problems = problems_of(workspace)
    assert (line_of(workspace, "languages = "), "'languages' must be a list, not a string") in problems


@pytest.mark.parametrize("old,new,message", [
    ('iban = "FI35 8146 9710 3001 03"', 'iban = "FI35 8146 9710 3001 04"', "donation.iban 'FI35 8146 9710 3001 04' is not a valid IBAN"),
    ('bic = "DABAFIHH"', 'bic = "DABA"', "donation.bic 'DABA' is not a valid BIC/SWIFT code"),
    ('bic = "DABAFIHH"', 'bic = "DEUTDEFF"', "donation.bic is for country DE but the IBAN is for FI"),
    ('address = "digest@example.org"', 'address = "digest.example.org"', "sender.address 'digest.example.org' is not a valid address"),
    ('reply_to = "advocacy@example.org"', 'reply_to = "advocacy@"', "sender.reply_to 'advocacy@' is not a valid address"),
    ('source_language = "en"', 'source_language = "fr"', "source_language 'fr' is not in languages"),
    ('languages = ["en", "de", "ru"]', 'languages = ["en", "de", "xx"]', "unknown language code 'xx'"),
    ('currency = "EUR"', 'currency = "EURO"', "donation.currency 'EURO' is not an ISO 4217 code"),
    ('base_url = "https://digest.example.org"', 'base_url = "digest.example.org"', "base_url 'digest.example.org' is not an http(s) address"),
])
def test_bad_values_are_reported_at_their_line(workspace, old, new, message):
    """Bad bank details, addresses, languages and URLs are errors at the line of their key."""
    set_setting(workspace, old, new)
    _, problems = problems_of(workspace)
    found = [(line, text) for line, text in problems if text.startswith(message)]
    assert found, problems
    assert found[0][0] == line_of(workspace, new)


IBAN = 'iban = "FI35 8146 9710 3001 03"'
BIC = 'bic = "DABAFIHH"'


@pytest.mark.parametrize("old,new,reason", [
    (IBAN, 'iban = "FI35 8146 9710 3001 04"', "its check digits do not match the rest (a typing error?)"),
    (IBAN, 'iban = "XX35 8146 9710 3001 03"', "'XX' is not the code of a country that uses IBANs"),
    (IBAN, 'iban = "FI35 8146 9710 3001 031"', "an IBAN of Finland has 18 characters, this one has 19"),
    (IBAN, 'iban = "FI35 8146 9710 3001 0Ä"', "it may hold only letters, digits and spaces"),
    (IBAN, 'iban = "358146971030010300"', "it must start with a two-letter country code and two check digits"),
    (IBAN, 'iban = "GB58 1234 6016 1331 9268 19"', "the account part is not laid out as in an IBAN of United Kingdom"),
    (IBAN, 'iban = "BE41 5390 0754 7035"', "the account number's own check digits do not match"),
    (BIC, 'bic = "DABAFIHHX"', "it has 9 characters; a BIC has 8 or 11"),
    (BIC, 'bic = "DABAXXHH"', "'XX' (its 5th and 6th characters) is not a country code"),
    (BIC, 'bic = "DAB1FIHH"', "a BIC is 4 letters for the bank, 2 for its country"),
], ids=["checksum", "country", "length", "character", "no_country", "layout", "national_checksum",
        "bic_length", "bic_country", "bic_layout"])
def test_bank_codes_say_what_to_fix(workspace, old, new, reason):
    """A wrong IBAN or BIC is reported with the first thing to fix: characters, country, length, check digits."""
    set_setting(workspace, old, new)
    _, problems = problems_of(workspace)
    key = new.split(" = ")[0]
    mine = [text for line, text in problems if line == line_of(workspace, new) and text.startswith(f"donation.{key}")]
    value = new.split(" = ")[1].strip('"')
    kind = "IBAN" if key == "iban" else "BIC/SWIFT code"
    assert len(mine) == 1 and mine[0].startswith(f"donation.{key} {value!r} is not a valid {kind}: {reason}"), problems


def test_invalid_toml_reports_the_line(workspace):
    """A TOML syntax error is one problem at the line where it happens."""
    set_setting(workspace, 'bank = "Danske Bank"', 'bank = "Danske Bank')
    _, problems = problems_of(workspace)
    assert len(problems) == 1
    assert problems[0][0] == line_of(workspace, 'bank = "Danske Bank')
    assert problems[0][1].startswith("not valid TOML")


def test_settings_not_utf8(workspace):
    """A settings file in another encoding is a clear problem, not a crash."""
    (workspace / "newsletter.toml").write_bytes("name = \"Bewegung für\"\n".encode("latin-1"))
    _, problems = problems_of(workspace)
    assert problems[0][1].startswith("not UTF-8 text")


def test_workspace_found_upward_and_by_environment(workspace, monkeypatch, tmp_path):
    """The workspace is the nearest folder above with newsletter.toml, or the one the environment names."""
    deep = workspace / "issues" / "2024-05"
    assert find_workspace(start=deep) == workspace.resolve()
    monkeypatch.setenv("MCO_NEWSLETTER_WORKSPACE", str(workspace))
    assert find_workspace(start=tmp_path) == workspace.resolve()
    monkeypatch.delenv("MCO_NEWSLETTER_WORKSPACE")
    with pytest.raises(WorkspaceError, match="no newsletter.toml"):
        find_workspace(start=tmp_path)


BASE_URL = 'base_url = "https://digest.example.org"'


@pytest.mark.parametrize("value,message", [
    (r"https://digest.example.org\r\nBcc: victim@evil.example", "base_url must be one address: no line breaks, "
                                                                 "spaces or control characters"),
    ("https://digest.example.org/ archive", "base_url must be one address: no line breaks, spaces or control"),
    (r"https://digest.example.org\u0000", "base_url must be one address"),
    ("ftp://digest.example.org", "base_url 'ftp://digest.example.org' is not an http(s) address"),
    ("https://digest.example.org:99999", "base_url 'https://digest.example.org:99999' has no valid port"),
    ("https://digest.example.org/?from=mail", "base_url must not have a query (?…) or a fragment (#…)"),
], ids=["crlf-header-injection", "space", "nul", "ftp", "port", "query"])
def test_base_url_is_one_clean_address(workspace, value, message):
    """base_url reaches email headers: line breaks, spaces and control characters are refused by check."""
    set_setting(workspace, BASE_URL, f'base_url = "{value}"')
    settings, problems = problems_of(workspace)
    assert settings is None
    assert any(text.startswith(message) and line == line_of(workspace, "base_url =") for line, text in problems), \
        problems


def test_internationalised_base_url(workspace):
    """A non-ASCII address is refused with its IDNA (punycode) form as the fix; that form is accepted."""
    set_setting(workspace, BASE_URL, 'base_url = "https://дайджест.пример.рф/архив"')
    settings, problems = read_settings(workspace)
    assert settings is None
    assert problems[0].message == "base_url 'https://дайджест.пример.рф/архив' is not ASCII"
    assert problems[0].hint == ('write it as base_url = "https://xn--80ahbeeq3di.xn--e1afmkfd.xn--p1ai/'
                                '%D0%B0%D1%80%D1%85%D0%B8%D0%B2"')
    suggested = problems[0].hint.split('"')[1]
    set_setting(workspace, 'base_url = "https://дайджест.пример.рф/архив"', f'base_url = "{suggested}"')
    settings, problems = read_settings(workspace)
    assert problems == [] and settings.base_url.startswith("https://xn--80ahbeeq3di.xn--e1afmkfd.xn--p1ai/")


@pytest.mark.parametrize("old,new,message", [
    ("beam_size = 2", "beam_size = 0", "translation.beam_size must be a positive whole number"),
    ("batch_size = 32", "batch_size = -1", "translation.batch_size must be a positive whole number"),
    ("threads = 0 ", "threads = -2 ", "translation.threads must not be negative"),
    ('compute_type = "default"', 'compute_type = "int3"', "unknown translation.compute_type 'int3'"),
    ("beam_size = 2", "beam_size = 2\nmax_length_factor = 0", "translation.max_length_factor must be positive"),
    ("beam_size = 2", "beam_size = 2\nmax_length = -5", "translation.max_length must not be negative"),
    ("beam_size = 2", "beam_size = 2\nlength_penalty = -0.5", "translation.length_penalty must not be negative"),
    ("max_age_seconds = 300", "max_age_seconds = -1", "webhook.max_age_seconds must be a number of seconds: above 0 to 86,400, not -1"),
], ids=["beam", "batch", "threads", "compute-type", "length-factor", "max-length", "length-penalty",
        "webhook-age"])
def test_numbers_outside_delivery_are_checked(workspace, old, new, message):
    """Numbers that the translation engine and the webhook need positive are refused at their line."""
    set_setting(workspace, old, new)
    settings, problems = problems_of(workspace)
    assert settings is None
    key = new.splitlines()[-1].split(" =")[0]
    assert (line_of(workspace, new.splitlines()[-1]), message) in [(line, text) for line, text in problems], problems
    assert key in message
def test_reader_visible_settings_per_language_with_one_fallback(workspace):
    """sender.name, identity, postal_address and donation.note take a table per language; a language without an
    entry gets the source language's text."""
    set_setting(workspace, 'purpose = "donation to MCO"', 'purpose = "donation to MCO"\nnote = { en = "Tax-deductible.", de = "Steuerlich absetzbar." }')
    set_setting(workspace, 'ru = "Движение сознательных отказчиков, а/я 123', '# ru = "')
    settings, problems = read_settings(workspace)
    assert problems == []
    assert settings.sender.name.of("de") == "Bewegung der Kriegsdienstverweigerer"
    assert settings.identity.of("ru").startswith("Движение сознательных отказчиков (ДСО)")
    assert settings.postal_address.of("ru") == settings.postal_address.of("en")  # no ru entry: the source's
    assert settings.donation.note.of("de") == "Steuerlich absetzbar." and settings.donation.note.of("ru") == "Tax-deductible."
    assert str(settings.sender.name) == "Movement of Conscientious Objectors"  # as a string: the source's


@pytest.mark.parametrize("old,new,message", [
    ('[identity]\nen = "', '[identity]\nfr = "x"\nen = "', "identity is given for 'fr', which is not in languages"),
    ('[identity]\nen = "Movement', '[identity]\n# en = "Movement', "identity has no entry for the source language 'en'"),
    ('[postal_address]\nen = "Movement', '[postal_address]\nen = "\\u0007Movement',
     "postal_address.en holds a control character"),
    ('purpose = "donation to MCO"', 'purpose = { en = "donation to MCO", de = "Spende an MCO" }',
     "donation.purpose must be the same in every language"),
])
def test_per_language_values_are_checked(workspace, old, new, message):
    """A per-language table names known languages, has the source language's entry, and holds plain text; the bank
    reference is refused per language (the bank matches it exactly)."""
    set_setting(workspace, old, new)
    _, problems = problems_of(workspace)
    assert [text for _, text in problems] == [message]
