"""Unsubscribe tokens and erasure hashes: HMAC-SHA256 under keys that never leave the private folder.

A token is base64url(subscriber id as 8 bytes + the first 18 bytes of HMAC-SHA256(secret, id)).
It carries no address; it is verified in constant time. Rotating the secret invalidates every
unsubscribe link already sent (see docs/subscribers.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from functools import lru_cache
from pathlib import Path

from .keys import load_key

SECRET_ENV = "MCO_NEWSLETTER_SECRET"
SECRET_FILE = "unsubscribe.key"
ERASURE_ENV = "MCO_NEWSLETTER_ERASURE_KEY"
ERASURE_FILE = "erasure.key"
_PURPOSE = b"mco-newsletter unsubscribe v1\x00"
_MAC_BYTES = 18
TOKEN_LENGTH = 35  # base64url of 8 + 18 bytes, unpadded


def unsubscribe_secret(private_dir: Path) -> bytes:
    """The key of unsubscribe tokens: $MCO_NEWSLETTER_SECRET or private/unsubscribe.key."""
    return load_key(SECRET_ENV, private_dir / SECRET_FILE)


def erasure_key(private_dir: Path) -> bytes:
    """The key of erasure hashes: $MCO_NEWSLETTER_ERASURE_KEY or private/erasure.key (never rotate it)."""
    return load_key(ERASURE_ENV, private_dir / ERASURE_FILE)


def make_token(secret: bytes, subscriber_id: int) -> str:
    """The unsubscribe token of a subscriber."""
    payload = subscriber_id.to_bytes(8, "big")
    return base64.urlsafe_b64encode(payload + _mac(secret, payload)).decode("ascii").rstrip("=")


@lru_cache(maxsize=8)
def _keyed(secret: bytes):
    # The key schedule once per secret; each token then costs one copy and one update.
    return hmac.new(secret, _PURPOSE, hashlib.sha256)


def _mac(secret: bytes, payload: bytes) -> bytes:
    mac = _keyed(secret).copy()
    mac.update(payload)
    return mac.digest()[:_MAC_BYTES]


def read_token(secret: bytes, token: str) -> int | None:
    """The subscriber id a genuine token names, or None for anything else."""
    if not isinstance(token, str) or len(token) != TOKEN_LENGTH:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=")
    except (binascii.Error, ValueError):
        return None
    payload, mac = raw[:8], raw[8:]
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        return None
    return int.from_bytes(payload, "big")


def erasure_hash(key: bytes, email_key: str) -> str:
    """A keyed hash of an address: recognises an erased address without holding it."""
    return hmac.new(key, email_key.encode("utf-8"), hashlib.sha256).hexdigest()
