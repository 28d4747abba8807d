"""`translators add|list|revoke`: personal review links, kept hashed in an owner-only registry."""

from __future__ import annotations

import hashlib
import json
import stat

from conftest import set_setting
from review_server import add_translator


def test_add_prints_the_link_last_and_keeps_only_its_hash(run, workspace):
    """add's last line is the https link under base_url; the registry (0600) holds the token's hash, not the token."""
    result = run("translators", "add", "Anna Petrova", "--lang", "de", "--lang", "ru", "--email", "anna@example.org")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().split("\n")
    assert lines[0] == "Added Anna Petrova <anna@example.org>: reviews de, ru."
    assert lines[-1].startswith("https://digest.example.org/review/") and len(lines[-1].rsplit("/", 1)[1]) == 43
    token = lines[-1].rsplit("/", 1)[1]
    registry = workspace / "private" / "translators.sqlite3"
    assert stat.S_IMODE(registry.stat().st_mode) == 0o600
    stored = registry.read_bytes()
    assert token.encode() not in stored and hashlib.sha256(token.encode()).digest() in stored


def test_list_and_revoke(run):
    """list names who has a link and for which languages (never a link); revoke ends it; names are unique."""
    add_translator(run, "Anna Petrova", "de", email="anna@example.org")
    add_translator(run, "Boris", "ru")
    listed = run("translators", "list")
    assert "2 translators with a review link:" in listed.stdout
    assert "Anna Petrova <anna@example.org>  de" in listed.stdout and "Boris  ru" in listed.stdout
    assert "/review/" not in listed.stdout
    again = run("translators", "add", "anna petrova", "--lang", "ru")
    assert again.exit_code == 1 and "already has a review link" in again.stderr
    assert run("translators", "revoke", "Anna Petrova").stdout == \
        "Revoked the review link of Anna Petrova <anna@example.org>.\n"
    data = json.loads(run("translators", "list", "--json").stdout)
    assert [t["name"] for t in data["translators"]] == ["Boris"]
    add_translator(run, "Anna Petrova", "de")  # a new link after a revoked one
    unknown = run("translators", "revoke", "Nobody")
    assert unknown.exit_code == 1 and "translators with a link: Anna Petrova, Boris" in unknown.stderr


def test_bad_input_is_a_message(run):
    """An unknown language, a bad address or name is an error with exit 2, never a traceback; nothing is added."""
    language = run("translators", "add", "X", "--lang", "fr")
    assert language.exit_code == 2 and "'fr' is not one of the newsletter's languages" in language.stderr
    address = run("translators", "add", "X", "--lang", "de", "--email", "not-an-address")
    assert address.exit_code == 2 and "is not an e-mail address" in address.stderr
    name = run("translators", "add", "<script>", "--lang", "de")
    assert name.exit_code == 2 and "cannot be a translator's name" in name.stderr
    assert "No translators yet" in run("translators", "list").stdout


def test_a_plain_http_base_url_is_warned_about(run, workspace):
    """A base_url that is not https gets a warning: the link is a key and would travel unencrypted."""
    set_setting(workspace, 'base_url = "https://digest.example.org"', 'base_url = "http://digest.example.org"')
    result = run("translators", "add", "Anna", "--lang", "de")
    assert result.exit_code == 0 and "is not https" in result.stderr
