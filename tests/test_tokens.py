"""Unsubscribe tokens and keys: round trip, tampering, no address inside, owner-only key files."""

from __future__ import annotations

import base64
import stat

import pytest

from mco_newsletter.errors import NewsletterError
from mco_newsletter.subscribers.tokens import (
    SECRET_ENV, erasure_hash, make_token, read_token, unsubscribe_secret,
)


@pytest.mark.stores
def test_round_trip_to_the_subscriber(run, settings):
    """A token turns back into its subscriber; the token does not contain the address."""
    from mco_newsletter.subscribers.store import open_store

    run("subscribers", "add", "reader@example.org", "--language", "ru")
    store = open_store(settings.store)
    subscriber = store.get("reader@example.org")
    secret = unsubscribe_secret(settings.private_dir)
    token = make_token(secret, subscriber.id, store.nonce(subscriber.id))
    assert store.by_id(read_token(secret, token, nonce_of=store.nonce)) == subscriber
    decoded = base64.b32decode(token.upper())
    assert b"reader" not in decoded and "reader" not in token
    store.close()


NONCES = {42: b"n" * 16, 43: b"m" * 16}


@pytest.mark.parametrize("change", ["flip_mac", "flip_block", "truncate", "extend", "garbage", "empty", "upper",
                                    "wrong_key", "other_nonce", "padding", "base64"])
def test_tampered_tokens_are_refused(change):
    """Any change to a token, another key, another nonce for the id, or another spelling gives None."""
    secret = b"k" * 32
    token = make_token(secret, 42, NONCES[42])
    raw = bytearray(base64.b32decode(token.upper()))
    if change == "flip_mac":
        raw[-1] ^= 1
    elif change == "flip_block":
        raw[3] ^= 1
    candidates = {
        "flip_mac": base64.b32encode(bytes(raw)).decode().lower(),
        "flip_block": base64.b32encode(bytes(raw)).decode().lower(),
        "truncate": token[:-1],
        "extend": token + "a",
        "garbage": "!" * 40,
        "empty": "",
        "upper": token.upper(),
        "wrong_key": token,
        "other_nonce": token,
        "padding": token + "=",
        "base64": base64.urlsafe_b64encode(bytes(raw)).decode(),
    }
    key = b"other key that is long enough!!!!" if change == "wrong_key" else secret
    nonces = {42: b"x" * 16} if change == "other_nonce" else NONCES
    assert read_token(secret, token, nonce_of=NONCES.get) == 42
    assert read_token(key, candidates[change], nonce_of=nonces.get) is None


def v2_token(secret: bytes, subscriber_id: int, nonce: bytes, purpose: int = 1) -> str:
    """A link as the tool wrote it before ids were encrypted: base64url of purpose, id and an 18-byte MAC."""
    import hashlib
    import hmac

    head = bytes((purpose,)) + subscriber_id.to_bytes(8, "big")
    mac = hmac.new(secret, b"mco-newsletter reader token v2\x00" + head + nonce, hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(head + mac).decode("ascii")


def test_links_sent_before_ids_were_encrypted_still_work():
    """A v2 link already in readers' mailboxes opens its reader's page, for its purpose only; a changed one does not."""
    secret = b"k" * 32
    old = v2_token(secret, 42, NONCES[42])
    assert read_token(secret, old, nonce_of=NONCES.get) == 42
    assert read_token(secret, old, nonce_of={42: b"x" * 16}.get) is None
    assert read_token(secret, old, nonce_of=NONCES.get, purpose=2) is None
    assert read_token(secret, v2_token(secret, 42, NONCES[42], purpose=2), nonce_of=NONCES.get, purpose=2) == 42
    assert read_token(secret, old[:-1] + ("A" if old[-1] != "A" else "B"), nonce_of=NONCES.get) is None


def test_plus_and_slash_are_never_accepted():
    """Of many v2 tokens, those holding - or _ are refused when spelled with + or / (one alphabet only)."""
    secret = b"k" * 32
    nonces = {number: bytes([number % 256]) * 16 for number in range(1, 300)}
    tokens = [v2_token(secret, number, nonces[number]) for number in nonces]
    assert all(read_token(secret, token, nonce_of=nonces.get) for token in tokens)
    variants = [t.replace("-", "+").replace("_", "/") for t in tokens if "-" in t or "_" in t]
    assert len(variants) > 100
    assert all(read_token(secret, variant, nonce_of=nonces.get) is None for variant in variants)


def test_a_token_opens_only_its_purpose():
    """A token made for another purpose (a later preferences or confirmation link) is not an unsubscribe token."""
    secret = b"k" * 32
    other = make_token(secret, 42, NONCES[42], purpose=2)
    assert read_token(secret, other, nonce_of=NONCES.get) is None
    assert read_token(secret, other, nonce_of=NONCES.get, purpose=2) == 42


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
    assert read_token(b"n" * 32, make_token(b"o" * 32, 42, NONCES[42]), nonce_of=NONCES.get) is None


def test_erasure_hash_is_keyed():
    """The erasure hash depends on the key, so the database alone cannot confirm an address."""
    assert erasure_hash(b"a" * 32, "x@example.org") != erasure_hash(b"b" * 32, "x@example.org")
    assert len(erasure_hash(b"a" * 32, "x@example.org")) == 64


@pytest.mark.stores
@pytest.mark.sqlite_only("an old schema exists only in SQLite files (a PostgreSQL store is made at the newest)")
def test_migration_keeps_every_subscriber_tag_and_delivery(tmp_path):
    """A database of the previous schema is rebuilt with ids that are never reused, keeping every row and tag."""
    import sqlite3

    from mco_newsletter.storage.migrations import MIGRATIONS
    from mco_newsletter.subscribers.store import open_store

    path = tmp_path / "private" / "subscribers.sqlite3"
    path.parent.mkdir(mode=0o700)
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("PRAGMA foreign_keys = ON")
    for step in MIGRATIONS[:3]:
        old.executescript(step.sqlite)
    old.execute("PRAGMA user_version = 3")
    for number in (1, 2, 3):
        old.execute("INSERT INTO subscribers (id, email, email_key, language, consent_source, consent_at, created_at,"
                    " updated_at) VALUES (?, ?, ?, 'en', 'test', 't', 't', 't')",
                    (number, f"r{number}@example.org", f"r{number}@example.org"))
        old.execute("INSERT INTO subscriber_tags VALUES (?, 'press')", (number,))
    old.execute("INSERT INTO campaigns (issue_id, segment, settings_snapshot, started_at) VALUES ('x', 'all', '{}', 't')")
    old.execute("INSERT INTO deliveries (campaign_id, subscriber_id, language, state) VALUES (1, 3, 'en', 'sent')")
    old.execute("DELETE FROM subscribers WHERE id = 3")  # erased before the upgrade
    old.close()
    store = open_store(path)
    assert [s.id for s in store.subscribers()] == [1, 2]
    assert all(s.tags == ("press",) for s in store.subscribers())
    assert store.db.execute("SELECT id, state FROM deliveries").fetchall() == [(1, "sent")]
    with store.transaction():
        newcomer = store.add(email="new@example.org", name=None, language="en", tags=(), consent_source="test")
        store.db.execute("DELETE FROM subscribers WHERE id = ?", (newcomer,))
        again = store.add(email="again@example.org", name=None, language="en", tags=(), consent_source="test")
    assert newcomer > 2 and again > newcomer  # never an id that was in use at or after the upgrade
    assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []
    secret = b"s" * 32
    nonces = {sid: nonce for sid, nonce in store.db.execute("SELECT id, nonce FROM subscribers")}
    assert len(set(nonces.values())) == len(nonces) and all(len(n) == 16 for n in nonces.values())
    legacy_max = store.legacy_token_max_id()
    # A link sent before the upgrade still unsubscribes its own reader, never a newcomer.
    assert read_token(secret, legacy_token(secret, 1), nonce_of=nonces.get, legacy_max_id=legacy_max) == 1
    assert read_token(secret, legacy_token(secret, newcomer), nonce_of=nonces.get, legacy_max_id=legacy_max) is None
    assert read_token(secret, legacy_token(secret, again), nonce_of=nonces.get, legacy_max_id=legacy_max) is None
    store.close()


def legacy_token(secret: bytes, subscriber_id: int) -> str:
    """A link as the tool wrote it before tokens carried a purpose and the reader's nonce."""
    import hashlib
    import hmac

    payload = subscriber_id.to_bytes(8, "big")
    mac = hmac.new(secret, b"mco-newsletter unsubscribe v1\x00" + payload, hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(payload + mac).decode("ascii").rstrip("=")


def decodings(token: str) -> list[bytes]:
    """The bytes a token could stand for, in every alphabet a token has been written in."""
    found = []
    for decode, text in ((base64.urlsafe_b64decode, token + "=" * (-len(token) % 4)),
                         (base64.b32decode, token.upper() + "=" * (-len(token) % 8))):
        try:
            found.append(decode(text))
        except ValueError:
            pass
    return found


def test_no_token_shows_the_readers_id():
    """A link's token holds its reader's id encrypted: neither the id's bytes nor its order can be read from it,
    for any purpose (one-click and preferences links, sign-up confirmations)."""
    secret = b"k" * 32
    for purpose in (1, 2):
        tokens = {number: make_token(secret, number, b"n" * 16, purpose) for number in (41, 42, 43)}
        for number, token in tokens.items():
            assert decodings(token), token
            assert all(number.to_bytes(8, "big")[-3:] not in raw for raw in decodings(token))
        # Neighbouring ids give tokens that share no more than chance would.
        shared = sum(a == b for a, b in zip(tokens[41], tokens[42]))
        assert shared < 8
