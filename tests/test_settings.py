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
