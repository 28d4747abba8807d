"""`translators add|list|revoke`: personal review links, kept hashed in an owner-only registry."""

from __future__ import annotations

import hashlib
import json

import pytest
from conftest import set_setting
from review_server import add_translator
from stores import db_rows

pytestmark = pytest.mark.stores


def test_add_prints_the_link_last_and_keeps_only_its_hash(run, workspace):
    """add's last line is the https link under base_url; the store's translators table holds the token's hash, not
    the token."""
    result = run("translators", "add", "Anna Petrova", "--lang", "de", "--lang", "ru", "--email", "anna@example.org")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().split("\n")
    assert lines[0] == "Added Anna Petrova <anna@example.org>: reviews de, ru."
    assert lines[-1].startswith("https://digest.example.org/review/") and len(lines[-1].rsplit("/", 1)[1]) == 43
    token = lines[-1].rsplit("/", 1)[1]
    stored = db_rows(workspace, "SELECT * FROM translators")
    assert len(stored) == 1 and hashlib.sha256(token.encode()).digest() in stored[0]
    assert token not in repr(stored) and not (workspace / "private" / "translators.sqlite3").exists()


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


OLD_REGISTRY = """
CREATE TABLE translators (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, email TEXT,
    languages TEXT NOT NULL, token_hash BLOB NOT NULL UNIQUE, form_key TEXT NOT NULL, created_at TEXT NOT NULL,
    revoked_at TEXT);
CREATE UNIQUE INDEX translators_active_name ON translators (lower(name)) WHERE revoked_at IS NULL;
"""


def test_the_old_registry_file_is_carried_into_the_store_once(run, workspace):
    """The registry's old file (private/translators.sqlite3) is carried into the store at the first open: ids,
    hashes, form keys and revocations as they were, its links still open, no id given again; then it is removed."""
    import sqlite3

    from mco_newsletter.config import load_settings
    from mco_newsletter.translators import open_registry

    (workspace / "private").mkdir(mode=0o700, exist_ok=True)  # it holds the keys already with PostgreSQL
    old = sqlite3.connect(workspace / "private" / "translators.sqlite3", isolation_level=None)
    old.executescript(OLD_REGISTRY)
    tokens = {name: f"{name[0]}" * 43 for name in ("Anna", "Boris", "Chen")}
    for number, (name, token) in enumerate(tokens.items(), start=1):
        old.execute("INSERT INTO translators VALUES (?, ?, NULL, 'de', ?, ?, '2024-01-01T00:00:00+00:00', ?)",
                    (number, name, hashlib.sha256(token.encode()).digest(), f"key-{name}",
                     "2024-02-01T00:00:00+00:00" if name == "Boris" else None))
    old.execute("UPDATE sqlite_sequence SET seq = 7 WHERE name = 'translators'")  # ids 4 to 7 were given once
    old.close()
    listed = run("translators", "list")
    assert "Anna" in listed.stdout and "Chen" in listed.stdout and "Boris" not in listed.stdout
    assert not list((workspace / "private").glob("translators.sqlite3*"))
    registry = open_registry(load_settings(workspace))
    try:
        anna = registry.by_token(tokens["Anna"])
        assert (anna.id, anna.form_key) == (1, "key-Anna") and registry.by_token(tokens["Boris"]) is None
        added, _ = registry.add(name="Dana", languages=("ru",))
        assert added.id == 8
    finally:
        registry.close()
    assert db_rows(workspace, "SELECT id, revoked_at IS NOT NULL FROM translators ORDER BY id") == \
        [(1, False), (2, True), (3, False), (8, False)]
