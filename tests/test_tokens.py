"""Unsubscribe tokens and keys: round trip, tampering, no address inside, owner-only key files."""

from __future__ import annotations

import base64
import stat

import pytest

from mco_newsletter.errors import NewsletterError
from mco_newsletter.subscribers.tokens import (
    SECRET_ENV, erasure_hash, make_token, read_token, unsubscribe_secret,
)


def test_round_trip_to_the_subscriber(run, settings):
    """A token turns back into its subscriber; the token does not contain the address."""
    from mco_newsletter.subscribers.store import open_store

    run("subscribers", "add", "reader@example.org", "--language", "ru")
    store = open_store(settings.database_path)
    subscriber = store.get("reader@example.org")
    secret = unsubscribe_secret(settings.private_dir)
    token = make_token(secret, subscriber.id)
    assert store.by_id(read_token(secret, token)) == subscriber
    decoded = base64.urlsafe_b64decode(token + "=")
    assert b"reader" not in decoded and "reader" not in token
    store.close()


@pytest.mark.parametrize("change", ["flip_mac", "flip_id", "truncate", "extend", "garbage", "empty", "wrong_key"])
def test_tampered_tokens_are_refused(change):
    """Any change to a token, or another key, gives None."""
    secret = b"k" * 32
    token = make_token(secret, 42)
    raw = bytearray(base64.urlsafe_b64decode(token + "="))
    if change == "flip_mac":
        raw[-1] ^= 1
    elif change == "flip_id":
        raw[7] ^= 1
    candidates = {
        "flip_mac": base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("="),
        "flip_id": base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("="),
        "truncate": token[:-1],
        "extend": token + "A",
        "garbage": "!" * 35,
        "empty": "",
        "wrong_key": token,
    }
    key = b"other key that is long enough!!!!" if change == "wrong_key" else secret
    assert read_token(secret, token) == 42
    assert read_token(key, candidates[change]) is None


def test_secret_file_generated_owner_only(tmp_path, monkeypatch):
    """Without the environment variable a 0600 key file is generated once and reused."""
    monkeypatch.delenv(SECRET_ENV, raising=False)
    folder = tmp_path / "private"
    first = unsubscribe_secret(folder)
    assert stat.S_IMODE((folder / "unsubscribe.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert unsubscribe_secret(folder) == first and len(first) >= 32


def test_secret_from_environment_and_checks(tmp_path, monkeypatch):
    """The environment wins; a short secret or a key file readable by others is refused."""
    monkeypatch.setenv(SECRET_ENV, "e" * 40)
    assert unsubscribe_secret(tmp_path) == b"e" * 40
    assert not (tmp_path / "unsubscribe.key").exists()
    monkeypatch.setenv(SECRET_ENV, "short")
    with pytest.raises(NewsletterError, match="too short"):
        unsubscribe_secret(tmp_path)
    monkeypatch.delenv(SECRET_ENV)
    unsubscribe_secret(tmp_path)
    (tmp_path / "unsubscribe.key").chmod(0o644)
    with pytest.raises(NewsletterError, match="readable by others"):
        unsubscribe_secret(tmp_path)


def test_rotating_the_secret_invalidates_tokens():
    """A token made under an old secret is not accepted under a new one."""
    assert read_token(b"n" * 32, make_token(b"o" * 32, 7)) is None


def test_erasure_hash_is_keyed():
    """The erasure hash depends on the key, so the database alone cannot confirm an address."""
    assert erasure_hash(b"a" * 32, "x@example.org") != erasure_hash(b"b" * 32, "x@example.org")
    assert len(erasure_hash(b"a" * 32, "x@example.org")) == 64
