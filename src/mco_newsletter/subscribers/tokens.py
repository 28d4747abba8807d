"""Reader tokens and erasure hashes: HMAC-SHA256 under keys that never leave the private folder.

A token is base64url(purpose + subscriber id + MAC), 1 + 8 + 18 = 27 bytes, 36 characters. The MAC
(HMAC-SHA256, cut to 18 bytes) covers the purpose, the id and the subscriber's random nonce, which is
held in the database and never sent: a link opens only the page of its purpose, only for the reader
it was made for, and stops working when that reader is erased, even if an id were ever given again.
27 bytes are a multiple of 3, so base64url has no padding and no spare bits: each token has exactly
one spelling, and anything else (another alphabet, padding, other trailing bits) is refused.

Links made before tokens had a purpose and a nonce (35 characters, "v1") stay valid for the readers
who were on the list at the upgrade, in their one canonical spelling (see docs/web.md).
Rotating the secret invalidates every link already sent (see docs/subscribers.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from functools import lru_cache
from pathlib import Path
from typing import Callable

from .keys import load_key

SECRET_ENV = "MCO_NEWSLETTER_SECRET"
SECRET_FILE = "unsubscribe.key"
ERASURE_ENV = "MCO_NEWSLETTER_ERASURE_KEY"
ERASURE_FILE = "erasure.key"
# The purpose byte. The unsubscribe and preferences pages share the reader's one link token: they sit
# side by side in every email, so whoever holds one holds the other (docs/web.md). A sign-up's
# confirmation link has its own purpose, bound to the request's nonce, not the subscriber's.
UNSUBSCRIBE = 1
CONFIRM = 2
_DOMAIN = b"mco-newsletter reader token v2\x00"
_MAC_BYTES = 18
TOKEN_LENGTH = 36  # base64url of 1 + 8 + 18 bytes
_TOKEN = re.compile(r"[A-Za-z0-9_-]{36}")
_LEGACY_DOMAIN = b"mco-newsletter unsubscribe v1\x00"
_LEGACY_LENGTH = 35
_LEGACY = re.compile(r"[A-Za-z0-9_-]{35}")


def unsubscribe_secret(private_dir: Path) -> bytes:
    """The key of reader tokens: $MCO_NEWSLETTER_SECRET or private/unsubscribe.key."""
    return load_key(SECRET_ENV, private_dir / SECRET_FILE)


def erasure_key(private_dir: Path) -> bytes:
    """The key of erasure hashes: $MCO_NEWSLETTER_ERASURE_KEY or private/erasure.key (never rotate it)."""
    return load_key(ERASURE_ENV, private_dir / ERASURE_FILE)


def make_token(secret: bytes, subscriber_id: int, nonce: bytes, purpose: int = UNSUBSCRIBE) -> str:
    """The token of a subscriber's link of one purpose."""
    head = bytes((purpose,)) + subscriber_id.to_bytes(8, "big")
    return base64.urlsafe_b64encode(head + _mac(secret, head, nonce)).decode("ascii")


@lru_cache(maxsize=8)
def _keyed(secret: bytes, domain: bytes):
    # The key schedule once per secret; each token then costs one copy and one update.
    return hmac.new(secret, domain, hashlib.sha256)


def _mac(secret: bytes, head: bytes, nonce: bytes) -> bytes:
    mac = _keyed(secret, _DOMAIN).copy()
    mac.update(head + nonce)
    return mac.digest()[:_MAC_BYTES]


def read_token(secret: bytes, token: str, *, nonce_of: Callable[[int], bytes | None], legacy_max_id: int = 0,
               purpose: int = UNSUBSCRIBE) -> int | None:
    """The subscriber id a genuine token of this purpose names, or None for anything else.

    `nonce_of(id)` gives the subscriber's nonce (None: no such subscriber). A v1 link is accepted for
    ids up to `legacy_max_id` only, and only for the unsubscribe purpose.
    """
    if not isinstance(token, str):
        return None
    if len(token) == _LEGACY_LENGTH and purpose == UNSUBSCRIBE:
        subscriber_id = _read_legacy(secret, token)
        return subscriber_id if subscriber_id is not None and subscriber_id <= legacy_max_id else None
    if not _TOKEN.fullmatch(token):
        return None
    raw = base64.urlsafe_b64decode(token)
    head, mac = raw[:9], raw[9:]
    if head[0] != purpose:
        return None
    subscriber_id = int.from_bytes(head[1:], "big")
    nonce = nonce_of(subscriber_id)
    # Compared even for an unknown id (with an empty nonce), so the time taken says nothing.
    genuine = hmac.compare_digest(mac, _mac(secret, head, nonce or b""))
    return subscriber_id if genuine and nonce is not None else None


def _read_legacy(secret: bytes, token: str) -> int | None:
    if not _LEGACY.fullmatch(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=")
    except (binascii.Error, ValueError):
        return None
    if base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") != token:
        return None  # the same bytes with other trailing bits: not the spelling that was sent
    payload, mac = raw[:8], raw[8:]
    expected = _keyed(secret, _LEGACY_DOMAIN).copy()
    expected.update(payload)
    if not hmac.compare_digest(mac, expected.digest()[:_MAC_BYTES]):
        return None
    return int.from_bytes(payload, "big")


def erasure_hash(key: bytes, email_key: str) -> str:
    """A keyed hash of an address: recognises an erased address without holding it."""
    return hmac.new(key, email_key.encode("utf-8"), hashlib.sha256).hexdigest()
